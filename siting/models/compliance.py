"""Full compliance: the least-cost sites and classes that serve every required demand point in full.

A capacitated, cost-weighted set cover with modular capacity (Church & Murray's CLSCP-SO with the
cost of each module in the objective): each site j opens ``y_j`` of its ``K_j`` modules (classes),
each of ``q_j = capacity_j / K_j`` places at ``cost_j / K_j`` yuan; demand may be split among the
open sites within reach. Optional minimums of new capacity per group of sites (places per
township, for a places-per-1,000 target).

What cannot be met is never dropped silently: when no set of sites can serve some demand in full
(nothing in reach, or too little capacity in reach), the model serves the most that can be served
(a max-flow with every module open, solved first) at the least cost and says, per demand point,
how much is left; a group minimum above what its sites can hold is lowered to that and reported.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from siting.models._base import (
    CostMatrix,
    LocationResult,
    _err,
    _vector,
    check_capacities,
    check_distance,
    check_solve_args,
    check_weights,
    certify,
    remaining,
    solve_highs,
    status_reason,
)
from siting.models.coverage import _groups, _max_flow

__all__ = ["ComplianceCover", "Modular", "check_modules"]

_TOL = 1e-6
_FLOW_TOL = 1e-4  # HiGHS meets rows to its feasibility tolerance after scaling: 2e-5 of a 20-place class seen


def check_modules(modules, m: int) -> np.ndarray:
    k = _vector(modules, m, "modules", "模块数", "site")
    if np.any(k < 1) or np.any(k != np.round(k)):
        raise _err("modules must be whole numbers >= 1 (e.g. classes per site).",
                   "模块数必须是不小于 1 的整数（如每处的托班数）。")
    return k.astype(np.int64)


@dataclass(frozen=True)
class _Arrays:
    rows: np.ndarray  # original demand rows in the model
    group_of: np.ndarray  # group of each of ``rows``
    weight: np.ndarray  # per group
    cols: np.ndarray  # original columns of the site variables
    pairs: sp.coo_array  # groups × kept sites
    lower: np.ndarray  # least each group must be served
    total: float  # least served in all (the max-flow value)
    minimums: dict  # group label -> places (lowered to what its sites hold)


class Modular:
    """Sites of ``capacities`` and ``costs`` split into ``modules`` equal classes."""

    def _set_sites(self, cover, weights, capacities, costs, modules) -> tuple[int, int]:
        """Check and keep the inputs every modular model shares; returns (n, m)."""
        self.cover = sp.csr_array(cover, dtype=bool)
        self.cover.sort_indices()
        n, m = self.cover.shape
        self.weights = check_weights(weights, n)
        self.capacities = check_capacities(capacities, m)
        self.costs = _vector(costs, m, "costs", "投资", "site")
        self.modules = np.ones(m, dtype=np.int64) if modules is None else check_modules(modules, m)
        return n, m

    @property
    def module_size(self) -> np.ndarray:
        return self.capacities / self.modules

    @property
    def module_cost(self) -> np.ndarray:
        return self.costs / self.modules


class ComplianceCover(Modular):
    """Least-cost sites and classes serving every demand point in full within reach.

    Parameters
    ----------
    cover : bool matrix, shape (n, m)
        ``cover[i, j]`` when site j is within demand point i's reach (catchment).
    weights : array, shape (n,)
        Demand to serve in full (places).
    capacities : array, shape (m,)
        Places at each site with all its modules open.
    costs : array, shape (m,)
        Cost of each site with all its modules open (a module costs ``costs / modules``).
    modules : array of int, shape (m,), optional
        Modules (classes) per site; default 1 (a site opens whole).
    group_of : array, shape (m,), optional
        A label per site (e.g. its township), for ``min_capacity``.
    min_capacity : dict, optional
        ``{label: places}``: new capacity to open at least in each group.

    Notes
    -----
    After :meth:`solve`, ``group_shortfall`` holds ``{label: places}`` for every minimum its
    sites cannot reach even with every module open (the model met the rest).
    """

    name = "comply"

    def __init__(self, cover, weights, capacities, costs, modules=None, group_of=None, min_capacity=None):
        n, m = self._set_sites(cover, weights, capacities, costs, modules)
        self.min_capacity = {k: float(v) for k, v in (min_capacity or {}).items() if float(v) > 0}
        self.group_of = None if group_of is None else np.asarray(group_of, dtype=object)
        if self.min_capacity and (self.group_of is None or len(self.group_of) != m):
            raise _err(f"min_capacity needs group_of with one group per site ({m}).",
                       f"按组设定最低新增托位时，须为每个候选点（共 {m} 个）给出所属组 group_of。")
        self.group_shortfall: dict = {}

    @classmethod
    def from_cost_matrix(cls, cost, weights, service_distance: float, capacities, costs, modules=None,
                         group_of=None, min_capacity=None) -> ComplianceCover:
        """Build from a cost matrix (dense: ``np.inf`` unreachable; sparse: absent unreachable)."""
        cm = CostMatrix(cost)
        return cls(cm.within(check_distance(service_distance)), weights, capacities, costs, modules,
                   group_of, min_capacity)

    # ------------------------------------------------------------------ model
    def _arrays(self) -> _Arrays:
        m = self.cover.shape[1]
        keep_empty = bool(self.min_capacity)  # a site reaching no demand may still count for a minimum
        b, gw, cols, rows, group_of = _groups(self.cover, np.flatnonzero(self.capacities > 0), self.weights > 0,
                                             self.weights, keep_empty=keep_empty)
        demand = float(gw.sum())
        best = _max_flow(b, gw, self.capacities[cols]) if b.nnz else 0.0
        full = best >= demand - _TOL * max(1.0, demand)
        minimums = {}
        self.group_shortfall = {}
        for label, amount in sorted(self.min_capacity.items(), key=lambda kv: str(kv[0])):
            most = float(self.capacities[(self.group_of == label) & (self.capacities > 0)].sum()) if m else 0.0
            if amount > most + _TOL:
                self.group_shortfall[label] = amount - most
            minimums[label] = min(amount, most)
        return _Arrays(rows, group_of, gw, cols, b.tocoo(), gw.copy() if full else np.zeros(len(gw)),
                       demand if full else best, minimums)

    def _lp(self, arr: _Arrays):
        """Columns: y (k modules per site), z (t flows). Rows: groups, capacities, total, minimums."""
        k, t, g = len(arr.cols), arr.pairs.nnz, len(arr.weight)
        q = self.module_size[arr.cols]
        gi, sj = arr.pairs.row, arr.pairs.col
        zcol = k + np.arange(t)
        r, c, v = [gi, g + sj, g + np.arange(k)], [zcol, zcol, np.arange(k)], [np.ones(t), np.ones(t), -q]
        lo = [arr.lower, np.full(k, -np.inf)]
        hi = [arr.weight, np.zeros(k)]
        n_rows = g + k
        # The total served, when less than everything can be: the max-flow value (else implied by the group rows).
        if arr.lower.sum() < arr.total - _TOL:
            r.append(np.full(t, n_rows))
            c.append(zcol)
            v.append(np.ones(t))
            lo.append([arr.total - 1e-9 * max(1.0, arr.total)])
            hi.append([np.inf])
            n_rows += 1
        groups = self.group_of[arr.cols] if self.group_of is not None else None
        for label, amount in arr.minimums.items():
            mine = np.flatnonzero(groups == label)
            r.append(np.full(len(mine), n_rows))
            c.append(mine)
            v.append(q[mine])
            lo.append([amount - 1e-9 * max(1.0, amount)])
            hi.append([np.inf])
            n_rows += 1
        a = sp.csc_array((np.concatenate(v), (np.concatenate(r), np.concatenate(c))), shape=(n_rows, k + t))
        cost = np.concatenate([self.module_cost[arr.cols], np.zeros(t)])
        col_lo = np.zeros(k + t)
        col_hi = np.concatenate([self.modules[arr.cols].astype(float), np.minimum(arr.weight[gi], q[sj] * self.modules[arr.cols][sj])])
        integer = np.concatenate([np.ones(k, dtype=bool), np.zeros(t, dtype=bool)])
        return cost, a, np.concatenate([np.asarray(x, float) for x in lo]), np.concatenate([np.asarray(x, float) for x in hi]), col_lo, col_hi, integer

    # ------------------------------------------------------------------ checks
    def cost_of(self, modules) -> float:
        """Cost of opening ``modules`` (per original column)."""
        return float(np.dot(self.module_cost, np.asarray(modules, dtype=float)))

    def check(self, modules, assignment) -> list[str]:
        """Every way a plan breaks the model's rules (empty when feasible).

        ``modules``: classes per original column; ``assignment``: sparse (n × m) places served.
        Checks whole modules within limits, flows only within reach, capacity, each demand point's
        service (in full where the model requires it, never above its demand) and the minimums.
        """
        problems = []
        y = np.asarray(modules, dtype=float)
        if np.any(np.abs(y - np.round(y)) > _TOL) or np.any(y < -_TOL) or np.any(y > self.modules + _TOL):
            problems.append("modules are not whole numbers within 0..modules")
        z = sp.coo_array(assignment)
        if z.nnz:
            if (z.data < -_TOL).any():
                problems.append("a negative flow")
            reach = np.asarray(self.cover[z.row, z.col]).ravel()
            if not reach[z.data > _TOL].all():
                problems.append("a flow between a demand point and a site out of its reach")
        load = np.bincount(z.col, weights=z.data, minlength=self.cover.shape[1])
        over = load - self.module_size * y
        if (over > _FLOW_TOL * np.maximum(1.0, load)).any():
            problems.append(f"site {int(np.argmax(over))} serves more than its open classes hold")
        served = np.bincount(z.row, weights=z.data, minlength=self.cover.shape[0])
        if (served > self.weights + _FLOW_TOL * np.maximum(1.0, self.weights)).any():
            problems.append("a demand point is served more than its demand")
        arr = self._arrays()
        need = np.zeros(self.cover.shape[0])
        need[arr.rows] = arr.lower[arr.group_of] * np.where(arr.weight[arr.group_of] > 0,
                                                            self.weights[arr.rows] / np.maximum(arr.weight[arr.group_of], 1e-300), 0)
        short = served < need - _FLOW_TOL * np.maximum(1.0, need)
        if short.any():
            problems.append(f"{int(short.sum())} demand point(s) not served in full")
        if served.sum() < arr.total - _FLOW_TOL * max(1.0, arr.total):
            problems.append(f"serves {served.sum():g} places, fewer than the {arr.total:g} that can be served")
        for label, amount in arr.minimums.items():
            got = float((self.module_size * y)[self.group_of == label].sum())
            if got < amount - _FLOW_TOL * max(1.0, amount):
                problems.append(f"group {label}: {got:g} new places, below the minimum {amount:g}")
        return problems

    # ------------------------------------------------------------------ solve
    def solve(self, time_limit: float | None = None, mip_gap: float = 0.0, options: dict | None = None) -> LocationResult:
        """Solve with HiGHS (no MIP start) and certify the answer.

        The objective is the total cost of the classes opened, recomputed from them. The status comes
        from :func:`siting.models._base.certify`: ``"optimal"`` only when the plan passes :meth:`check`
        and the solver's bound meets the recomputed cost; a plan that breaks the model raises
        :class:`~siting.errors.ModelError`.
        """
        time_limit, mip_gap = check_solve_args(time_limit, mip_gap)
        t0 = time.perf_counter()
        n, m = self.cover.shape
        arr = self._arrays()
        k, t = len(arr.cols), arr.pairs.nnz
        uncoverable = np.flatnonzero(np.diff(self.cover.indptr) == 0)
        if k == 0 or (t == 0 and not arr.minimums):
            return LocationResult(selected=np.zeros(0, dtype=np.int64), objective=0.0, status="optimal", method="trivial",
                                  solve_time=time.perf_counter() - t0, assignment=sp.csr_array((n, m)),
                                  served=np.zeros(n), uncoverable=uncoverable, bound=0.0,
                                  new=np.zeros(0, dtype=np.int64), modules=np.zeros(m, dtype=np.int64))
        c, a, rlo, rhi, clo, chi, integer = self._lp(arr)
        # The limit counts from the call, max-flow and model building included.
        out = solve_highs(c, a, rlo, rhi, clo, chi, integer, time_limit=remaining(time_limit, t0), mip_gap=mip_gap,
                          options=options)
        if out.x is None:
            status = "infeasible" if out.status == "infeasible" else "time_limit"
            reason = ("no set of sites meets the minimums and serves what can be served"
                      if status == "infeasible" else status_reason(out.status, time_limit))
            return LocationResult(selected=np.zeros(0, dtype=np.int64), objective=float("nan"), status=status,
                                  gap=float("inf"), reason=reason, solve_time=time.perf_counter() - t0,
                                  uncoverable=uncoverable, bound=out.bound)
        y = np.zeros(m, dtype=np.int64)
        y[arr.cols] = np.round(out.x[:k]).astype(np.int64)
        zg = np.maximum(out.x[k:k + t], 0.0)
        z_grp = sp.csr_array((zg, (arr.pairs.row, arr.pairs.col)), shape=(len(arr.weight), k))
        share = self.weights[arr.rows] / arr.weight[arr.group_of]
        spread = sp.csr_array((share, (arr.rows, arr.group_of)), shape=(n, len(arr.weight)))
        to_orig = sp.csr_array((np.ones(k), (np.arange(k), arr.cols)), shape=(k, m))
        amounts = sp.csr_array(spread @ z_grp @ to_orig)
        amounts.eliminate_zeros()
        objective = self.cost_of(y)
        selected = np.flatnonzero(y > 0)
        status = out.status if out.status != "no_solution" else "time_limit"
        res = LocationResult(selected=selected, objective=objective, status=status, gap=out.gap,
                             reason=status_reason(out.status, time_limit), method="highs-mip",
                             solve_time=time.perf_counter() - t0, assignment=amounts, covered=None,
                             served=np.asarray(amounts.sum(axis=1)).ravel(), uncoverable=uncoverable, bound=out.bound,
                             new=selected, modules=y)
        # the status is decided from the plan's own cost and constraints, not from HiGHS's word
        return certify(res, objective, self.check(y, amounts), maximize=False, mip_gap=mip_gap,
                       highs_status=out.highs_status)
