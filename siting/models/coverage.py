"""Coverage models: maximal covering (MCLP), its capacitated variant, and set covering (LSCP).

Formulations are sparse: one coverage row per group of demand points, ``y_g <= sum_{j in N_g} x_j``,
never a dense demand × site variable block. Before solving, demand points with identical
coverage sets are merged (their weights summed), sites that cover nothing are dropped and, for
the uncapacitated models, sites whose coverage set is contained in another site's are dropped.

The MCLP then goes to HiGHS in stages: greedy + interchange; the LP relaxation; two small MIPs
over a core of promising sites for a better incumbent; the sites the LP duals fix against that
incumbent (:mod:`siting.models._fixing`); and the MIP over the sites left, with the groups
merged and sites dominated again. Every stage's plan is checked, and the bound reported is the
final MIP's or the Lagrangian one, never more than all coverable weight.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from siting.models import _check, heuristics
from siting.models._base import (
    PROOF_TOL,
    CostMatrix,
    LocationResult,
    MipOutcome,
    _err,
    _rel_gap,
    _vector,
    certify,
    check_capacities,
    check_distance,
    check_existing,
    check_p,
    check_solve_args,
    check_weights,
    merge_identical_rows,
    remaining,
    solve_highs,
    status_reason,
    undominated_columns,
)
from siting.models._fixing import fix_sites
from siting.models._guard import GRACE_SECONDS, GRACE_SHARE

__all__ = ["LSCP", "MCLP", "CapacitatedMCLP"]

# Above this many coverage entries the LP solves are faster by interior point: on
# 5,000 × 1,000 (68k entries) the LP relaxation took 4.7 s by dual simplex and 0.47 s by
# IPM, and the whole MIP 7.6 s against 2.7 s (benchmarks/models.py).
_IPM_NNZ = 10_000

# The second core MIP that improves the MCLP incumbent before sites are fixed (MCLP._improve): sites
# within 30 % of the LP gap. On benchmarks/models.py's hard instances it found the optimum where the
# LP's own sites did not (uniform seed 2), for 0.4-1.4 s; 50 % found it too but cost more. Sites with
# a Lagrangian profit of 0 or more, instead of the LP's sites, made a core twice as large and slower.
_CORE_SHARE = 0.3

# Under a time limit, the LP and each core MIP get at most this share of the time left.
_STAGE_SHARE = 0.2

# HiGHS's own primal heuristics, off where the greedy + interchange start already gives HiGHS an
# incumbent within about 1.5 %: they spent up to half of the hard solves re-finding it. Quiet
# machine, 5,000 × 1,000, p = 30, every seed of benchmarks/models.py's three families faster with
# them off (grid seed 1 9.8 s -> 4.4 s, uniform seed 2 13.2 s -> 7.4 s; docs/performance.md).
# Switching only RINS and RENS off gained a third as much; mip_heuristic_effort = 0 did not do it.
_HEURISTICS_OFF = {"mip_heuristic_run_rins": False, "mip_heuristic_run_rens": False,
                   "mip_heuristic_run_root_reduced_cost": False, "mip_heuristic_run_feasibility_jump": False}


@dataclass
class _Reduced:
    """Coverage restricted to what the solver needs to see."""

    b: sp.csr_array  # groups × kept candidates, boolean
    weight: np.ndarray  # per group
    cols: np.ndarray  # original column index of each kept candidate
    rows: np.ndarray  # original rows in the model
    group_of: np.ndarray  # group of each of ``rows``
    pre_covered: np.ndarray  # bool per original row: covered by an existing site


def _reduce(cover: sp.csr_array, weights: np.ndarray, existing: np.ndarray, dominance: bool) -> _Reduced:
    m = cover.shape[1]
    is_existing = np.zeros(m, dtype=bool)
    is_existing[existing] = True
    pre = (cover @ is_existing.astype(np.float64)) > 0
    free = np.flatnonzero(~is_existing)
    b, weight, cols, rows, group_of = _groups(cover, free, ~pre & (weights > 0), weights)
    if dominance and len(cols):
        keep = undominated_columns(b)
        cols, b = cols[keep], sp.csr_array(b[:, keep])
    b.sort_indices()
    return _Reduced(b, weight, cols, rows, group_of, pre)


def _groups(cover: sp.csr_array, cols: np.ndarray, row_ok: np.ndarray, weights: np.ndarray, keep_empty: bool = False):
    """Coverage of ``row_ok`` rows by ``cols``, identical rows merged, empty columns dropped (unless ``keep_empty``).

    Returns ``(b, group_weight, kept_cols, rows, group_of)``.
    """
    sub = sp.csr_array(cover[:, cols])
    rows = np.flatnonzero(row_ok & (np.diff(sub.indptr) > 0))
    sub = sp.csr_array(sub[rows])
    sub.sort_indices()
    group_of, reps = merge_identical_rows(sub)
    weight = np.bincount(group_of, weights=weights[rows], minlength=len(reps)) if len(reps) else np.zeros(0)
    b = sp.csr_array(sub[reps]) if len(reps) else sp.csr_array((0, len(cols)), dtype=bool)
    if keep_empty:
        return b, weight, cols, rows, group_of
    used = np.flatnonzero(np.bincount(b.indices, minlength=b.shape[1]) > 0)
    return sp.csr_array(b[:, used]), weight, cols[used], rows, group_of


def _covered_by(cover: sp.csr_array, open_cols: np.ndarray) -> np.ndarray:
    indicator = np.zeros(cover.shape[1])
    indicator[open_cols] = 1.0
    return (cover @ indicator) > 0


def _open_set(existing: np.ndarray, new_cols) -> np.ndarray:
    return np.union1d(existing, np.asarray(new_cols, dtype=np.int64)).astype(np.int64)


def _highs_options(nnz: int, options: dict | None, lp: bool = False) -> dict:
    opts = {("solver" if lp else "mip_lp_solver"): "ipm"} if nnz >= _IPM_NNZ else {}
    opts.update(options or {})
    return opts


class MCLP:
    """Maximal covering location problem.

    Open ``p`` new sites to maximise the demand weight within ``service_distance``
    of an open site (existing sites are open for free).

    Parameters
    ----------
    cover : bool matrix, shape (n, m)
        ``cover[i, j]`` when site j covers demand point i. Usually built by
        :meth:`from_cost_matrix`.
    weights : array, shape (n,)
    p : int
    existing : array of int, optional

    Notes
    -----
    The model opens at most ``p`` new sites: when fewer already cover every coverable
    demand point, the extra sites would add nothing and are not reported.
    """

    name = "mclp"

    def __init__(self, cover, weights, p: int, existing=None):
        self.cover = sp.csr_array(cover, dtype=bool)
        self.cover.sort_indices()
        n, m = self.cover.shape
        self.weights = check_weights(weights, n)
        self.existing = check_existing(existing, m)
        self.p = check_p(p, m, len(self.existing))

    @classmethod
    def from_cost_matrix(cls, cost, weights, service_distance: float, p: int, existing=None) -> MCLP:
        """Build from a cost matrix.

        Parameters
        ----------
        cost : ndarray or scipy.sparse matrix, shape (n, m)
            Demand points × candidate sites. Dense: ``np.inf`` = unreachable. Sparse:
            absent = unreachable, a stored 0 is reachable at cost 0.
        weights : array, shape (n,)
            Demand at each point (e.g. children aged 0-3).
        service_distance : float
            A point is covered when ``cost <= service_distance`` (inclusive).
        p : int
            New sites to open, not counting ``existing``.
        existing : array of int, optional
            Columns of sites already open.
        """
        cm = CostMatrix(cost)
        return cls(cm.within(check_distance(service_distance)), weights, p, existing)

    # ------------------------------------------------------------------ internals
    def _reduced(self) -> _Reduced:
        if not hasattr(self, "_red"):
            self._red = _reduce(self.cover, self.weights, self.existing, dominance=True)
        return self._red

    def _arrays(self, red: _Reduced):
        return _mclp_arrays(red.b, red.weight, self.p)

    def _offset(self, red: _Reduced) -> float:
        return float(self.weights[red.pre_covered].sum())

    def _heuristic_cols(self, red: _Reduced) -> np.ndarray:
        start = heuristics.greedy_mclp(red.b, red.weight, self.p)
        local = heuristics.interchange(red.b, red.weight, start)
        return local

    def _result(self, local_cols, status, gap, method, t0, bound=float("nan"), reason="") -> LocationResult:
        red = self._reduced()
        new = red.cols[np.asarray(local_cols, dtype=np.int64)]
        selected = _open_set(self.existing, new)
        covered = _covered_by(self.cover, selected)
        return LocationResult(
            selected=selected,
            objective=float(self.weights[covered].sum()),
            status=status,
            gap=gap,
            reason=reason,
            method=method,
            solve_time=time.perf_counter() - t0,
            covered=covered,
            uncoverable=np.flatnonzero(np.diff(self.cover.indptr) == 0),
            bound=bound,
            new=np.setdiff1d(selected, self.existing),
        )

    def lp_bound(self) -> float:
        """Upper bound on the covered weight from the LP relaxation (HiGHS)."""
        red = self._reduced()
        g, k = red.b.shape
        if g == 0 or k == 0 or self.p == 0:
            return self._offset(red)
        if self.p >= k:
            return self._offset(red) + float(red.weight.sum())
        c, a, rlo, rhi, clo, chi = self._arrays(red)
        out = solve_highs(c, a, rlo, rhi, clo, chi, None, maximize=True, offset=self._offset(red),
                          options=_highs_options(red.b.nnz, None, lp=True))
        return out.objective

    # ------------------------------------------------------------------ public
    def solve(self, time_limit: float | None = None, mip_gap: float = 0.0, method: str = "exact",
              options: dict | None = None) -> LocationResult:
        """Solve the model.

        Parameters
        ----------
        time_limit : float, optional
            Seconds; on expiry the best solution is returned with status ``"time_limit"``
            and the proven relative ``gap``. The call returns within the limit plus 5 % and
            1 s: large models are solved in a separate process (:mod:`siting.models._guard`).
        mip_gap : float
            Relative gap at which to stop; 0 (default) means prove optimality.
        method : {"exact", "heuristic"}
            ``"heuristic"`` runs greedy + interchange only and reports the gap to the
            LP relaxation bound (for instances too large to prove).
        options : dict, optional
            Extra HiGHS options (e.g. ``{"mip_lp_solver": "simplex"}``).
        """
        time_limit, mip_gap = check_solve_args(time_limit, mip_gap)
        if method == "heuristic":
            return self.solve_heuristic()
        if method != "exact":
            raise ValueError(f"method must be 'exact' or 'heuristic', got {method!r}")
        res, highs_status = self._solve_exact(time_limit, mip_gap, options)
        return self._certify(res, mip_gap, highs_status)

    def _certify(self, res: LocationResult, mip_gap: float, highs_status: str = "") -> LocationResult:
        objective = float(self.weights[_check.covered(self.cover, res.selected)].sum())
        violations = _check.sites(res.selected, self.existing, self.cover.shape[1], self.p)
        return certify(res, objective, violations, maximize=True, mip_gap=mip_gap, highs_status=highs_status)

    def _solve_exact(self, time_limit, mip_gap, options) -> tuple[LocationResult, str]:
        t0 = time.perf_counter()
        red = self._reduced()
        g, k = red.b.shape
        if g == 0 or k == 0 or self.p == 0:
            return self._result([], "optimal", 0.0, "trivial", t0, bound=self._offset(red)), ""
        if self.p >= k:
            return self._result(np.arange(k), "optimal", 0.0, "trivial", t0,
                                bound=self._offset(red) + float(red.weight.sum())), ""
        p = min(self.p, k)
        opts = _highs_options(red.b.nnz, {**_HEURISTICS_OFF, **(options or {})})
        best = np.zeros(k, dtype=bool)
        best[self._heuristic_cols(red)] = True
        shut, opened = np.zeros(k, dtype=bool), np.zeros(k, dtype=bool)
        ceiling = float(red.weight.sum())  # no plan covers more than all coverable weight
        limit = _stage_limit(time_limit, t0)
        lp = None if limit == 0.0 else solve_highs(*_mclp_arrays(red.b, red.weight, p), None, maximize=True,
                                                   time_limit=limit, options=_highs_options(red.b.nnz, options, lp=True))
        if lp is not None and lp.status == "optimal" and lp.row_dual is not None:
            best = self._improve(red, p, lp.x[:k] > 1e-6, lp.row_dual, best, time_limit, t0, opts)
            fixing = fix_sites(red.b, red.weight, p, lp.row_dual, best)
            shut, opened, ceiling = fixing.shut, fixing.opened, min(ceiling, fixing.bound)
        # HiGHS only sees the sites that can still be in a better plan (on the hard 5,000 × 1,000
        # instances of benchmarks/models.py, a quarter to a half of them).
        value = _plan_value(red, best)
        if ceiling - value <= PROOF_TOL * max(1.0, abs(value)):  # the LP bound proves the incumbent
            out = _Restricted("optimal", best, value, ceiling, "")
        else:
            out = _solve_restricted(red, p, ~shut, opened, best, remaining(time_limit, t0), mip_gap, opts)
        if out.plan is None or out.value < value:
            # Stopped before HiGHS had a (better) solution: the incumbent is still a checked one.
            out.plan, out.value = best, value
        # A plan with a fixed site the other way covers less than the incumbent; stopped before
        # HiGHS had a bound, the Lagrangian bound (or all coverable weight) is one.
        offset = self._offset(red)
        bound = offset + (min(max(out.bound, value), ceiling) if np.isfinite(out.bound) else ceiling)
        objective = offset + out.value
        status = "time_limit" if out.status == "no_solution" else out.status
        gap = _rel_gap(objective, bound)
        if status == "optimal":
            status, gap = ("optimal", 0.0) if gap <= PROOF_TOL else ("feasible", gap)
        return (self._result(np.flatnonzero(out.plan), status, gap, "highs-mip", t0, bound=bound,
                             reason=status_reason(status, time_limit)), out.highs_status)

    def _improve(self, red: _Reduced, p: int, lp_support: np.ndarray, row_dual: np.ndarray, best: np.ndarray,
                 time_limit, t0, opts: dict) -> np.ndarray:
        """A better incumbent from two core MIPs, each followed by interchange.

        The cores are the incumbent's sites with, first, the sites the LP relaxation opens and,
        then, those whose Lagrangian profit is within 30 % of the gap between the LP bound and the
        incumbent. The better the incumbent, the more sites :func:`fix_sites` fixes: on uniform
        seed 2 of benchmarks/models.py (5,000 × 1,000) the optimum fixed 473 of 959 sites against
        302 for greedy + interchange, and the MIP left took 2-3 s instead of 5-8 s.
        """
        for share in (None, _CORE_SHARE):
            fixing = fix_sites(red.b, red.weight, p, row_dual, best)
            value = _plan_value(red, best)
            if fixing.bound - value <= PROOF_TOL * max(1.0, abs(value)):
                break  # the incumbent meets the LP bound: nothing to improve
            core = (lp_support if share is None else fixing.d >= -share * (fixing.bound - value)) | best
            limit = _stage_limit(time_limit, t0)
            if limit == 0.0 or 2 * int(core.sum()) > len(best):
                break  # no time, or a core as large as the MIP it should shorten
            sub = _solve_restricted(red, p, core, np.zeros_like(best), best, limit, 0.0, opts)
            if sub.plan is not None and sub.value > value:
                best = np.zeros_like(best)
                best[heuristics.interchange(red.b, red.weight, np.flatnonzero(sub.plan))] = True
        return best

    def solve_heuristic(self) -> LocationResult:
        """Greedy + interchange, with the gap to the LP relaxation bound (status ``"heuristic"``)."""
        t0 = time.perf_counter()
        red = self._reduced()
        cols = self._heuristic_cols(red) if red.b.shape[0] and red.b.shape[1] else np.zeros(0, dtype=np.int64)
        bound = self.lp_bound()
        res = self._result(cols, "heuristic", 0.0, "greedy+interchange", t0, bound=bound)
        return _replace(self._certify(res, 0.0), solve_time=time.perf_counter() - t0)


def _stage_limit(time_limit, t0: float) -> float | None:
    """Seconds for a stage that only helps the final solve: a share of what is left, or 0 to skip it.

    A large solve may overrun its limit by the guard's grace (:mod:`siting.models._guard`); the
    share leaves room for that, so the final solve still ends within the caller's limit and grace.
    """
    left = remaining(time_limit, t0)
    if left is None:
        return None
    limit = (_STAGE_SHARE * left - GRACE_SECONDS) / (1.0 + GRACE_SHARE)
    return limit if limit >= 0.1 else 0.0


def _mclp_arrays(b: sp.csr_array, weight: np.ndarray, p: int):
    """HiGHS arrays of the MCLP on groups × sites coverage ``b``: columns are the sites x_j, then the groups y_g."""
    g, k = b.shape
    coo = b.tocoo()
    rows = np.concatenate([coo.row, np.arange(g), np.full(k, g)])
    cols = np.concatenate([coo.col, k + np.arange(g), np.arange(k)])
    vals = np.concatenate([-np.ones(coo.nnz), np.ones(g), np.ones(k)])
    a = sp.csc_array((vals, (rows, cols)), shape=(g + 1, k + g))
    c = np.concatenate([np.zeros(k), weight])
    row_lo = np.full(g + 1, -np.inf)
    row_hi = np.concatenate([np.zeros(g), [min(p, k)]])
    return c, a, row_lo, row_hi, np.zeros(k + g), np.ones(k + g)


def _plan_value(red: _Reduced, plan: np.ndarray) -> float:
    return float(red.weight[(red.b @ plan.astype(np.float64)) > 0].sum())


@dataclass
class _Restricted:
    status: str
    plan: np.ndarray | None  # bool per site of ``red``
    value: float  # weight of the groups ``plan`` covers
    bound: float  # on the value of any plan that keeps ``opened`` open and only uses ``free`` sites
    highs_status: str


def _solve_restricted(red: _Reduced, p: int, free: np.ndarray, opened: np.ndarray, start: np.ndarray,
                      time_limit, mip_gap: float, options: dict) -> _Restricted:
    """The MCLP on ``red`` with the ``opened`` sites open and only the ``free`` ones besides.

    The groups the open sites cover leave the model (their weight is counted), and so do the
    groups no free site covers. ``start`` (bool per site) goes in as the MIP start where it fits.
    """
    opened_weight = _plan_value(red, opened)
    rest = ~((red.b @ opened.astype(np.float64)) > 0)
    cols = np.flatnonzero(free & ~opened)
    if len(cols) == red.b.shape[1]:  # nothing fixed: ``red`` is merged and reduced already
        b, weight = red.b, red.weight
    else:
        # Without the fixed sites more groups have the same coverage, and more sites are dominated;
        # the start's sites stay, so that it still fits.
        b, weight, cols, _, _ = _groups(red.b, cols, rest, red.weight)
        if len(cols):
            keep = np.union1d(undominated_columns(b), np.flatnonzero(start[cols]))
            cols, b = cols[keep], sp.csr_array(b[:, keep])
            b.sort_indices()
    p_left = p - int(opened.sum())
    g, m = b.shape
    if g == 0 or m == 0 or p_left <= 0 or p_left >= m:
        plan = opened.copy()
        if p_left > 0:
            plan[cols] = True
        value = _plan_value(red, plan)
        return _Restricted("optimal", plan, value, value, "")
    x0 = np.zeros(m + g)
    x0[:m] = start[cols]
    if x0[:m].sum() > p_left:  # the start does not fit: give HiGHS none
        x0 = None
    else:
        x0[m:] = (b @ x0[:m]) > 0
    c, a, rlo, rhi, clo, chi = _mclp_arrays(b, weight, p_left)
    integer = np.concatenate([np.ones(m, dtype=bool), np.zeros(g, dtype=bool)])
    # The start goes in with presolve off (solve_highs does that): with presolve on HiGHS 1.16
    # mishandles starts; off, 5,000 × 1,000 solved in 4.9 s against 16.5 s without a start and
    # 24.8 s with start and presolve (benchmarks/models.py family).
    out = solve_highs(c, a, rlo, rhi, clo, chi, integer, maximize=True, time_limit=time_limit, mip_gap=mip_gap,
                      start=x0, options=options)
    bound = opened_weight + out.bound if np.isfinite(out.bound) else float("inf")
    if out.x is None:
        return _Restricted(out.status, None, float("nan"), bound, out.highs_status)
    plan = opened.copy()
    plan[cols[out.x[:m] > 0.5]] = True
    return _Restricted(out.status, plan, _plan_value(red, plan), bound, out.highs_status)


def _replace(res: LocationResult, **changes) -> LocationResult:
    from dataclasses import replace

    return replace(res, **changes)


class CapacitatedMCLP:
    """Maximal covering with capacities: maximise the demand actually served.

    Each open site serves at most its capacity (same units as ``weights``); a demand
    point may be split among the open sites within ``service_distance``.

    Variables: ``x_j`` (open), ``z_gj`` (amount of group g served by j) only for pairs
    within reach, with ``sum_j z_gj <= W_g``, ``sum_g z_gj <= c_j x_j`` and the
    strengthening ``z_gj <= min(W_g, c_j) x_j`` that tightens the LP bound.

    Planning scenarios add rows, all optional: a budget ``sum_j cost_j x_j <= budget``
    over new sites (then ``p`` may be ``None``: no limit on the count), and a minimum
    of new capacity per group of sites (e.g. per township) ``sum_{j in t} c_j x_j >= min_t``.
    With infinite capacities the model is the MCLP, so a budgeted MCLP is this class too.

    Modular capacity (``modules``): a site may open with 1 to ``K_j`` equal modules (e.g.
    托班 classes of 20 places), its capacity and cost in proportion. An integer ``y_j`` with
    ``x_j <= y_j <= K_j x_j`` replaces ``c_j x_j`` by ``(c_j / K_j) y_j`` in the capacity row
    and ``cost_j x_j`` by ``(cost_j / K_j) y_j`` in the budget and minimum rows, so a budget
    buys the classes the places need rather than every site at its largest size.
    """

    name = "cmclp"

    def __init__(self, cover, weights, p: int | None, capacities, existing=None, *, costs=None, budget=None,
                 group_of=None, min_capacity=None, modules=None):
        self.cover = sp.csr_array(cover, dtype=bool)
        self.cover.sort_indices()
        n, m = self.cover.shape
        self.weights = check_weights(weights, n)
        self.capacities = check_capacities(capacities, m)
        self.existing = check_existing(existing, m)
        if p is None and budget is None:
            raise _err("give p, a budget, or both.", "请给出 p（设施数）或预算，或两者都给。")
        self.p = None if p is None else check_p(p, m, len(self.existing))
        self.budget = None
        self.costs = None
        if budget is not None:
            if costs is None:
                raise _err("a budget needs the cost of each site (costs=).", "给出预算时须同时给出每个候选点的投资（costs=）。")
            self.costs = _vector(costs, m, "costs", "投资", "site")
            if not (np.isfinite(budget) and budget >= 0):
                raise _err(f"budget must be a number >= 0, got {budget!r}.", f"预算必须是不小于 0 的数，实际为 {budget!r}。")
            self.budget = float(budget)
        self.min_capacity = dict(min_capacity or {})
        self.group_of = None if group_of is None else np.asarray(group_of, dtype=object)
        if self.min_capacity and (self.group_of is None or len(self.group_of) != m):
            raise _err(f"min_capacity needs group_of with one group per site ({m}).",
                       f"按组设定最低新增托位时，须为每个候选点（共 {m} 个）给出所属组 group_of。")
        self.modules = None
        if modules is not None:
            k = _vector(modules, m, "modules", "模块数", "site")
            if np.any(k < 1) or np.any(k != np.round(k)):
                raise _err("modules must be whole numbers >= 1 (e.g. classes per site).",
                           "模块数必须是不小于 1 的整数（如每处的托班数）。")
            self.modules = k.astype(np.int64)

    @classmethod
    def from_cost_matrix(cls, cost, weights, service_distance: float, p: int | None, capacities,
                         existing=None, *, costs=None, budget=None, group_of=None,
                         min_capacity=None, modules=None) -> CapacitatedMCLP:
        """Build from a cost matrix (see :meth:`MCLP.from_cost_matrix`).

        Parameters
        ----------
        capacities : array, shape (m,)
            Most demand weight each site can serve (the total weight for "no limit").
        costs : array, shape (m,), optional
            Cost of opening each site; needed with ``budget``.
        budget : float, optional
            Most that the new sites may cost together.
        group_of : array, shape (m,), optional
            A label per site (e.g. its township), for ``min_capacity``.
        min_capacity : dict, optional
            ``{label: amount}``: new capacity to open at least in each group. Infeasible
            combinations are reported with status "infeasible", not raised.
        modules : array of int, shape (m,), optional
            Equal modules each site's capacity and cost divide into (e.g. classes); the
            model then opens each site with as many as pay off (``result.modules``).
        """
        cm = CostMatrix(cost)
        return cls(cm.within(check_distance(service_distance)), weights, p, capacities, existing, costs=costs,
                   budget=budget, group_of=group_of, min_capacity=min_capacity, modules=modules)

    def _extra_rows(self) -> list[tuple[np.ndarray, float, float]]:
        """Scenario rows over the original columns: (coefficients per site, lower, upper)."""
        rows = []
        if self.budget is not None:
            rows.append((self.costs, -np.inf, self.budget))
        for label, amount in sorted(self.min_capacity.items(), key=lambda kv: str(kv[0])):
            coef = np.where(self.group_of == label, self.capacities, 0.0)
            rows.append((coef, float(amount), np.inf))
        return rows

    def solve(self, time_limit: float | None = None, mip_gap: float = 0.0,
              options: dict | None = None) -> LocationResult:
        """Solve with HiGHS; see :meth:`MCLP.solve` for the parameters."""
        time_limit, mip_gap = check_solve_args(time_limit, mip_gap)
        t0 = time.perf_counter()
        out, flow = _capacitated_flow(self.cover, self.weights, self.capacities, self.existing,
                                      p=self.p, must_serve=False, time_limit=time_limit, mip_gap=mip_gap,
                                      options=options, extra_rows=self._extra_rows(), modules=self.modules)
        status = out.status if out.status != "no_solution" else "time_limit"
        reason = status_reason(out.status, time_limit)
        if out.status == "infeasible":
            reason = "no set of sites meets the budget and the minimum new places per group together"
        res = _flow_result(self.cover, self.weights, self.existing, out, flow, status,
                           objective=lambda served: float(served.sum()), t0=t0, reason=reason)
        if self.modules is not None:
            chosen = np.zeros(len(self.modules), dtype=np.int64)
            chosen[self.existing] = self.modules[self.existing]
            if out.x is not None and flow.modules_at is not None:
                y = np.round(out.x[flow.modules_at]).astype(np.int64)
                chosen[flow.cols] = np.where(out.x[:len(flow.cols)] > 0.5, y, 0)
            res = _replace(res, modules=chosen)
        return self._certify(res, mip_gap, out.highs_status)

    def _certify(self, res: LocationResult, mip_gap: float, highs_status: str = "") -> LocationResult:
        if res.assignment is None or not np.isfinite(res.objective):
            return res
        m = self.cover.shape[1]
        share = np.zeros(m)  # share of each site's capacity (and cost) that is open
        share[res.selected] = 1.0
        tol = 0.0
        if self.modules is not None:
            share = np.where(share > 0, res.modules / self.modules, 0.0)
            tol = _MODULE_PENALTY * float(self.modules.sum())  # the tie-break the solver's objective carries
        served, violations = _check.flows(self.cover, self.weights, res.assignment, res.selected,
                                          self.capacities * share, must_serve=False)
        violations += _check.sites(res.selected, self.existing, m, self.p)
        new = np.setdiff1d(res.selected, self.existing)
        if self.budget is not None:
            spent = float((self.costs[new] * share[new]).sum())
            if spent > self.budget + 1e-6 * max(1.0, self.budget):
                violations.append(f"new sites cost {spent:g} > budget {self.budget:g}")
        for label, amount in self.min_capacity.items():
            have = float((self.capacities * share)[self.group_of == label].sum())
            if have < amount - 1e-6 * max(1.0, amount):
                violations.append(f"group {label!r} gets {have:g} places < minimum {amount:g}")
        return certify(res, served, violations, maximize=True, mip_gap=mip_gap, highs_status=highs_status, tol=tol)


class LSCP:
    """Location set covering: the fewest sites such that every coverable demand point is covered.

    Demand points that no site (candidate or existing) can reach are reported in
    ``result.uncoverable`` and left out. With ``capacities`` (the CLSCP-SO of Church &
    Murray), every coverable point's weight must be served in full by open sites within
    reach, split as needed, within each site's capacity.

    ``objective`` counts every open site, existing ones included.
    """

    name = "lscp"

    def __init__(self, cover, capacities=None, weights=None, existing=None):
        self.cover = sp.csr_array(cover, dtype=bool)
        self.cover.sort_indices()
        n, m = self.cover.shape
        self.existing = check_existing(existing, m)
        self.capacities = None if capacities is None else check_capacities(capacities, m)
        self.weights = np.ones(n) if weights is None else check_weights(weights, n)

    @classmethod
    def from_cost_matrix(cls, cost, service_distance: float, capacities=None, weights=None,
                         existing=None) -> LSCP:
        """Build from a cost matrix (see :meth:`MCLP.from_cost_matrix`).

        Parameters
        ----------
        capacities : array, shape (m,), optional
            Site capacities; when given, demand must be served in full.
        weights : array, shape (n,), optional
            Demand to serve (only used with ``capacities``; default 1 per point).
        """
        cm = CostMatrix(cost)
        return cls(cm.within(check_distance(service_distance)), capacities, weights, existing)

    def solve(self, time_limit: float | None = None, mip_gap: float = 0.0,
              options: dict | None = None) -> LocationResult:
        """Solve with HiGHS; see :meth:`MCLP.solve` for the parameters."""
        time_limit, mip_gap = check_solve_args(time_limit, mip_gap)
        t0 = time.perf_counter()
        if self.capacities is not None:
            return self._solve_capacitated(time_limit, mip_gap, options, t0)
        chosen, out = set_cover(self.cover, self.existing, time_limit=time_limit, mip_gap=mip_gap, options=options)
        uncoverable = np.flatnonzero(np.diff(self.cover.indptr) == 0)
        selected = _open_set(self.existing, chosen if chosen is not None else [])
        covered = _covered_by(self.cover, selected)
        status = out.status if out.status != "no_solution" else "time_limit"
        res = LocationResult(
            selected=selected,
            objective=float(len(selected)) if chosen is not None else float("nan"),
            status=status,
            gap=out.gap,
            reason=status_reason(out.status, time_limit),
            method=out.method,
            solve_time=time.perf_counter() - t0,
            covered=covered,
            uncoverable=uncoverable,
            bound=out.bound + len(self.existing),
            new=np.setdiff1d(selected, self.existing),
        )
        return self._certify(res, mip_gap, out.highs_status)

    def _certify(self, res: LocationResult, mip_gap: float, highs_status: str = "") -> LocationResult:
        if not np.isfinite(res.objective):
            return res
        violations = _check.sites(res.selected, self.existing, self.cover.shape[1], None)
        if self.capacities is None:
            violations += _check.set_cover(self.cover, res.selected)
        else:
            open_cap = np.zeros(self.cover.shape[1])
            open_cap[res.selected] = self.capacities[res.selected]
            violations += _check.flows(self.cover, self.weights, res.assignment, res.selected, open_cap,
                                       must_serve=True)[1]
        return certify(res, float(len(res.selected)), violations, maximize=False, mip_gap=mip_gap,
                       highs_status=highs_status)

    def _solve_capacitated(self, time_limit, mip_gap, options, t0) -> LocationResult:
        out, flow = _capacitated_flow(self.cover, self.weights, self.capacities, self.existing,
                                      p=None, must_serve=True, time_limit=time_limit, mip_gap=mip_gap,
                                      options=options)
        if out.status == "infeasible":
            return LocationResult(
                selected=np.zeros(0, dtype=np.int64), objective=float("nan"), status="infeasible",
                gap=float("inf"), reason=flow.reason, method="highs-mip", solve_time=time.perf_counter() - t0,
                uncoverable=np.flatnonzero(np.diff(self.cover.indptr) == 0),
            )
        status = out.status if out.status != "no_solution" else "time_limit"
        res = _flow_result(self.cover, self.weights, self.existing, out, flow, status,
                           objective=None, t0=t0, reason=status_reason(out.status, time_limit))
        res = _replace(res, objective=float(len(res.selected)) if out.x is not None else float("nan"),
                       bound=out.bound + len(self.existing))
        return self._certify(res, mip_gap, out.highs_status)


# ---------------------------------------------------------------------------- shared solvers


@dataclass
class _CoverOutcome:
    status: str
    gap: float
    bound: float
    method: str
    highs_status: str = ""


def set_cover(cover: sp.csr_array, existing: np.ndarray, time_limit=None, mip_gap=0.0, options=None,
              max_sites: int | None = None):
    """Fewest new columns covering every row that some column covers (existing columns are free).

    With ``max_sites`` the answer is only needed when it is at most that many sites:
    a greedy cover that fits, or an LP bound that does not, settles it without the MIP.

    Returns ``(new_columns or None, outcome)``.
    """
    n = cover.shape[0]
    red = _reduce(cover, np.ones(n), existing, dominance=True)
    g, k = red.b.shape
    if g == 0:
        return np.zeros(0, dtype=np.int64), _CoverOutcome("optimal", 0.0, 0.0, "trivial")
    greedy = heuristics.greedy_mclp(red.b, None, k)
    greedy = _drop_redundant(red.b, greedy)
    if max_sites is not None and len(greedy) <= max_sites and not _check.set_cover(red.b, greedy):
        return red.cols[greedy], _CoverOutcome("optimal", 0.0, float("nan"), "greedy")
    coo = red.b.tocoo()
    a = sp.csc_array((np.ones(coo.nnz), (coo.row, coo.col)), shape=(g, k))
    c, rlo, rhi = np.ones(k), np.ones(g), np.full(g, np.inf)
    if max_sites is not None:
        lp = solve_highs(c, a, rlo, rhi, np.zeros(k), np.ones(k), None, options=_highs_options(red.b.nnz, None, lp=True))
        if lp.status == "optimal" and np.ceil(lp.objective - 1e-6) > max_sites:
            return None, _CoverOutcome("infeasible", float("inf"), lp.objective, "lp-bound")
    start = np.zeros(k)
    start[greedy] = 1.0
    out = solve_highs(c, a, rlo, rhi, np.zeros(k), np.ones(k), np.ones(k, dtype=bool),
                      time_limit=time_limit, mip_gap=mip_gap, start=start,
                      options=_highs_options(red.b.nnz, options))
    if out.x is None:
        return None, _CoverOutcome(out.status, out.gap, out.bound, "highs-mip", out.highs_status)
    local = np.flatnonzero(out.x > 0.5)
    status = out.status
    # Callers decide infeasibility from this claim (p-center's bisection): check it here.
    broken = _check.set_cover(red.b, local)
    if broken:
        raise _err(f"HiGHS (model status: {out.highs_status}) returned a set that is not a cover: {broken[0]}.",
                   f"HiGHS（模型状态：{out.highs_status}）返回的方案未覆盖全部需求点：{broken[0]}。")
    if status == "optimal" and len(local) > np.ceil(out.bound - 1e-6):
        status = "feasible"
    return red.cols[local], _CoverOutcome(status, out.gap, out.bound, "highs-mip", out.highs_status)


def _drop_redundant(b: sp.csr_array, cols: np.ndarray) -> np.ndarray:
    """Remove columns of a cover whose rows are all covered by the others (last picked first)."""
    cols = list(cols)
    bc = sp.csc_array(b)
    count = np.asarray(bc[:, cols].sum(axis=1)).ravel() if cols else np.zeros(b.shape[0])
    for j in reversed(list(cols)):
        rows = bc.indices[bc.indptr[j]:bc.indptr[j + 1]]
        if (count[rows] >= 2).all():
            count[rows] -= 1
            cols.remove(j)
    return np.asarray(cols, dtype=np.int64)


_MODULE_PENALTY = 1e-6  # objective weight per module: breaks ties towards fewer modules, never trades places


@dataclass
class _Flow:
    rows: np.ndarray  # original rows in the model
    group_of: np.ndarray
    group_weight: np.ndarray
    cols: np.ndarray  # original columns of the site variables
    pairs: sp.coo_array  # groups × sites, pair t = entry t
    reason: str = ""
    modules_at: np.ndarray | None = None  # model columns of the y_j (modules per site), if any


def _capacitated_flow(cover, weights, capacities, existing, p, must_serve, time_limit, mip_gap, options,
                      extra_rows=(), modules=None):
    """Shared model of the capacitated MCLP (maximise served) and capacitated LSCP (serve all, fewest sites).

    ``extra_rows``: (coefficient per original column, lower, upper) rows over the new sites' x_j,
    or, with ``modules``, over their modules y_j (coefficient / modules each).
    """
    m = cover.shape[1]
    is_existing = np.zeros(m, dtype=bool)
    is_existing[existing] = True
    # A minimum of new capacity may be met by sites that reach no demand: keep them then.
    minimums = any(lo > -np.inf for _, lo, _ in extra_rows)
    b, gw, cols, rows, group_of = _groups(cover, np.flatnonzero(capacities > 0), weights > 0, weights, keep_empty=minimums)
    pairs = b.tocoo()
    flow = _Flow(rows, group_of, gw, cols, pairs)
    g, k, t = b.shape[0], b.shape[1], pairs.nnz
    cap = capacities[cols]
    fixed = is_existing[cols]

    if must_serve:
        # Feasible iff everything can be served with every site open: one LP (a max-flow).
        demand = float(weights[(weights > 0) & (np.diff(cover.indptr) > 0)].sum())
        best = _max_flow(b, gw, cap) if t else 0.0
        if best < demand - 1e-6 * max(1.0, demand):
            flow.reason = (f"capacities cannot serve all coverable demand within reach: at most {best:g} of "
                           f"{demand:g} can be served even with all {m} sites open "
                           f"(total capacity {capacities.sum():g})")
            return MipOutcome("infeasible", None, float("nan"), float("nan"), float("inf"), 0.0), flow
    if t == 0 and not minimums:
        return MipOutcome("optimal", np.zeros(k), 0.0, 0.0, 0.0, 0.0), flow

    # Columns: x (k), z (t), then y (k, with modules). Rows: group (g), capacity (k), linking (t),
    # with modules y <= K x and x <= y (2k), then p (1, if any) and the extra rows.
    gi, sj = pairs.row, pairs.col
    zcol = k + np.arange(t)
    r_group = gi
    r_cap_z, r_cap_x = g + sj, g + np.arange(k)
    r_link = g + k + np.arange(t)
    link_coef = np.minimum(gw[gi], cap[sj])
    entries_r = [r_group, r_cap_z, r_link, r_link]
    entries_c = [zcol, zcol, zcol, sj]
    entries_v = [np.ones(t), np.ones(t), np.ones(t), -link_coef]
    n_rows = g + k + t
    row_lo = np.concatenate([gw if must_serve else np.full(g, -np.inf), np.full(k + t, -np.inf)])
    row_hi = np.concatenate([gw, np.zeros(k + t)])
    n_cols = k + t
    size = None
    if modules is None:
        entries_r.append(r_cap_x)
        entries_c.append(np.arange(k))
        entries_v.append(-cap)
    else:
        size = np.asarray(modules, dtype=float)[cols]
        ycol = n_cols + np.arange(k)
        flow.modules_at = ycol
        n_cols += k
        r_upper, r_lower = n_rows + np.arange(k), n_rows + k + np.arange(k)
        entries_r += [r_cap_x, r_upper, r_upper, r_lower, r_lower]
        entries_c += [ycol, ycol, np.arange(k), np.arange(k), ycol]
        entries_v += [-cap / size, np.ones(k), -size, np.ones(k), -np.ones(k)]
        row_lo = np.concatenate([row_lo, np.full(2 * k, -np.inf)])
        row_hi = np.concatenate([row_hi, np.zeros(2 * k)])
        n_rows += 2 * k
    if p is not None:
        free = np.flatnonzero(~fixed)
        entries_r.append(np.full(len(free), n_rows))
        entries_c.append(free)
        entries_v.append(np.ones(len(free)))
        row_lo = np.append(row_lo, -np.inf)
        row_hi = np.append(row_hi, p)
        n_rows += 1
    for coef, lo, hi in extra_rows:
        free = np.flatnonzero(~fixed)
        local = np.asarray(coef, dtype=float)[cols][free]
        entries_r.append(np.full(len(free), n_rows))
        if size is None:
            entries_c.append(free)
            entries_v.append(local)
        else:
            entries_c.append(flow.modules_at[free])
            entries_v.append(local / size[free])
        # Existing sites are open already: their part of a minimum counts, and they cost nothing new.
        fixed_part = float(np.asarray(coef, dtype=float)[cols][fixed].sum()) if lo > -np.inf else 0.0
        row_lo = np.append(row_lo, lo - fixed_part)
        row_hi = np.append(row_hi, hi)
        n_rows += 1
    a = sp.csc_array((np.concatenate(entries_v), (np.concatenate(entries_r), np.concatenate(entries_c))),
                     shape=(n_rows, n_cols))
    col_lo = np.concatenate([fixed.astype(float), np.zeros(t)])
    col_hi = np.concatenate([np.ones(k), link_coef])
    if must_serve:
        c = np.concatenate([(~fixed).astype(float), np.zeros(t)])
        maximize = False
    else:
        c = np.concatenate([np.zeros(k), np.ones(t)])
        maximize = True
    integer = np.concatenate([np.ones(k, dtype=bool), np.zeros(t, dtype=bool)])
    if size is not None:  # existing sites keep every module
        col_lo = np.concatenate([col_lo, np.where(fixed, size, 0.0)])
        col_hi = np.concatenate([col_hi, size])
        # no module that serves nothing: a module must add more than _MODULE_PENALTY of weight to pay
        c = np.concatenate([c, np.full(k, _MODULE_PENALTY if must_serve else -_MODULE_PENALTY)])
        integer = np.concatenate([integer, np.ones(k, dtype=bool)])
    out = solve_highs(c, a, row_lo, row_hi, col_lo, col_hi, integer, maximize=maximize,
                      time_limit=time_limit, mip_gap=mip_gap, options=options)
    if out.status == "infeasible" and must_serve:
        flow.reason = "no set of sites serves all coverable demand within capacity"
    return out, flow


def _max_flow(b: sp.csr_array, gw: np.ndarray, cap: np.ndarray) -> float:
    g, k = b.shape
    pairs = b.tocoo()
    t = pairs.nnz
    a = sp.csc_array((np.ones(2 * t), (np.concatenate([pairs.row, g + pairs.col]),
                                       np.concatenate([np.arange(t), np.arange(t)]))), shape=(g + k, t))
    out = solve_highs(np.ones(t), a, np.full(g + k, -np.inf), np.concatenate([gw, cap]),
                      np.zeros(t), np.full(t, np.inf), None, maximize=True)
    return out.objective


def _flow_result(cover, weights, existing, out, flow: _Flow, status, objective, t0, reason="") -> LocationResult:
    n, m = cover.shape
    k = len(flow.cols)
    if out.x is None:
        selected = np.asarray(existing, dtype=np.int64)
        amounts = sp.csr_array((n, m))
    else:
        selected = _open_set(existing, flow.cols[np.flatnonzero(out.x[:k] > 0.5)])
        z = np.maximum(out.x[k:k + flow.pairs.nnz], 0.0)
        z_grp = sp.csr_array((z, (flow.pairs.row, flow.pairs.col)), shape=(len(flow.group_weight), k))
        # Merged demand points share their group's service in proportion to their weight.
        share = weights[flow.rows] / flow.group_weight[flow.group_of]
        spread = sp.csr_array((share, (flow.rows, flow.group_of)), shape=(n, len(flow.group_weight)))
        to_orig = sp.csr_array((np.ones(k), (np.arange(k), flow.cols)), shape=(k, m))
        amounts = sp.csr_array(spread @ z_grp @ to_orig)
        amounts.eliminate_zeros()
    served = np.asarray(amounts.sum(axis=1)).ravel()
    covered = _covered_by(cover, selected)
    value = objective(served) if objective is not None and out.x is not None else float("nan")
    return LocationResult(
        selected=selected,
        objective=value,
        status=status,
        gap=out.gap,
        reason=reason,
        method="highs-mip",
        solve_time=time.perf_counter() - t0,
        assignment=amounts,
        covered=covered,
        served=served,
        uncoverable=np.flatnonzero(np.diff(cover.indptr) == 0),
        bound=out.bound,
        new=np.setdiff1d(selected, existing),
    )
