"""p-median: minimise total weighted cost from demand points to their assigned open site."""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from siting.models import _check
from siting.models._base import (
    CostMatrix,
    LocationResult,
    certify,
    check_capacities,
    check_existing,
    check_p,
    check_solve_args,
    check_weights,
    solve_highs,
    status_reason,
)

__all__ = ["PMedian", "nearest_open"]


def nearest_open(costs: sp.csr_array, open_cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the open column with the lowest cost (lowest index on ties) and that cost.

    Rows that reach no open column get -1 and ``inf``.
    """
    n, m = costs.shape
    is_open = np.zeros(m, dtype=bool)
    is_open[np.asarray(open_cols, dtype=np.int64)] = True
    row_of = np.repeat(np.arange(n), np.diff(costs.indptr))
    keep = is_open[costs.indices]
    r, c, d = row_of[keep], costs.indices[keep], costs.data[keep]
    order = np.lexsort((c, d, r))
    r, c, d = r[order], c[order], d[order]
    first = np.ones(len(r), dtype=bool)
    first[1:] = r[1:] != r[:-1]
    assign = np.full(n, -1, dtype=np.int64)
    best = np.full(n, np.inf)
    assign[r[first]] = c[first]
    best[r[first]] = d[first]
    return assign, best


class PMedian:
    """p-median problem (optionally capacitated).

    Open ``p`` new sites (plus ``existing``) and assign every demand point to an open
    site within reach, minimising ``sum_i w_i d_ij``. Variables exist only for reachable
    pairs, so a sparse cost matrix (e.g. a cut-off travel-time matrix) gives a small model.

    Parameters
    ----------
    cost : CostMatrix
    weights : array, shape (n,)
    p : int
    capacities : array, shape (m,), optional
        Most weight a site can serve.
    existing : array of int, optional
    single_source : bool
        With capacities, whether each demand point goes to one site (default) or may be
        split. Without capacities every point goes to its nearest open site anyway.
    """

    name = "p-median"

    def __init__(self, cost: CostMatrix, weights, p: int, capacities=None, existing=None, single_source: bool = True):
        self.cost = cost
        n, m = cost.shape
        self.weights = check_weights(weights, n)
        self.existing = check_existing(existing, m)
        self.p = check_p(p, m, len(self.existing))
        self.capacities = None if capacities is None else check_capacities(capacities, m)
        self.single_source = bool(single_source)

    @classmethod
    def from_cost_matrix(cls, cost, weights, p: int, capacities=None, existing=None,
                         single_source: bool = True) -> PMedian:
        """Build from a cost matrix.

        Parameters
        ----------
        cost : ndarray or scipy.sparse matrix, shape (n, m)
            Dense: ``np.inf`` = unreachable. Sparse: absent = unreachable, a stored 0 costs 0.
        weights : array, shape (n,)
        p : int
            New sites to open (exactly ``p``), not counting ``existing``.
        capacities : array, shape (m,), optional
        existing : array of int, optional
        single_source : bool, default True
        """
        return cls(CostMatrix(cost), weights, p, capacities, existing, single_source)

    def _infeasible(self, reason: str, t0: float) -> LocationResult:
        return LocationResult(selected=np.zeros(0, dtype=np.int64), objective=float("nan"), status="infeasible",
                              gap=float("inf"), reason=reason, method="highs-mip",
                              solve_time=time.perf_counter() - t0,
                              uncoverable=np.flatnonzero(np.diff(self.cost.csr.indptr) == 0))

    def solve(self, time_limit: float | None = None, mip_gap: float = 0.0,
              options: dict | None = None) -> LocationResult:
        """Solve with HiGHS.

        Parameters
        ----------
        time_limit : float, optional
            Seconds; as for :meth:`siting.models.MCLP.solve`, the call returns within the limit
            plus 5 % and 1 s with the best solution and its proven ``gap``.
        mip_gap : float, default 0 (prove optimality)
        options : dict, optional
            Extra HiGHS options.
        """
        time_limit, mip_gap = check_solve_args(time_limit, mip_gap)
        t0 = time.perf_counter()
        csr = self.cost.csr
        n, m = csr.shape
        w = self.weights
        unreachable = np.flatnonzero(np.diff(csr.indptr) == 0)
        if len(unreachable):
            return self._infeasible(
                f"{len(unreachable)} demand point(s) cannot reach any site (rows {_head(unreachable)}); "
                "every demand point must be assigned", t0)
        cap = self.capacities
        fixed = np.zeros(m, dtype=bool)
        fixed[self.existing] = True
        if cap is not None:
            best_cap = cap[fixed].sum() + np.sort(cap[~fixed])[::-1][: self.p].sum()
            if best_cap < w.sum() - 1e-9 * max(1.0, w.sum()):
                return self._infeasible(
                    f"total capacity of the {len(self.existing)} existing and the {self.p} largest new sites is "
                    f"{best_cap:g}, less than the total demand {w.sum():g}", t0)

        # Zero-weight rows cost nothing wherever they go; leave them out and assign them afterwards.
        rows = np.flatnonzero(w > 0)
        sub = sp.csr_array(csr[rows])
        coo = sub.tocoo()
        pi, pj, pd = coo.row, coo.col, coo.data
        t, g = len(pi), len(rows)
        z = m + np.arange(t)
        # Columns: x (m) then z (t, fraction of row i served by j). Rows: assign (g), link (t), p (1), capacity.
        r = [pi, g + np.arange(t), g + np.arange(t), np.full(m - len(self.existing), g + t)]
        c = [z, z, pj, np.flatnonzero(~fixed)]
        v = [np.ones(t), np.ones(t), -np.ones(t), np.ones(m - len(self.existing))]
        row_lo = np.concatenate([np.ones(g), np.full(t, -np.inf), [self.p]])
        row_hi = np.concatenate([np.ones(g), np.zeros(t), [self.p]])
        n_rows = g + t + 1
        if cap is not None:
            r += [n_rows + pj, n_rows + np.arange(m)]
            c += [z, np.arange(m)]
            v += [w[rows][pi], -cap]
            row_lo = np.concatenate([row_lo, np.full(m, -np.inf)])
            row_hi = np.concatenate([row_hi, np.zeros(m)])
            n_rows += m
        a = sp.csc_array((np.concatenate(v), (np.concatenate(r), np.concatenate(c))), shape=(n_rows, m + t))
        obj = np.concatenate([np.zeros(m), w[rows][pi] * pd])
        integer = np.zeros(m + t, dtype=bool)
        integer[:m] = True
        split = cap is not None and not self.single_source
        if cap is not None and self.single_source:
            integer[m:] = True
        out = solve_highs(obj, a, row_lo, row_hi, np.concatenate([fixed.astype(float), np.zeros(t)]),
                          np.ones(m + t), integer, time_limit=time_limit, mip_gap=mip_gap, options=options)
        if out.status == "infeasible":
            return self._infeasible(
                f"no choice of p = {self.p} new site(s) plus {len(self.existing)} existing can serve every "
                "demand point within reach" + (" and capacity" if cap is not None else ""), t0)
        status = out.status if out.status != "no_solution" else "time_limit"
        if out.x is None:
            return LocationResult(selected=np.asarray(self.existing), objective=float("nan"), status=status,
                                  gap=float("inf"), reason=status_reason(out.status, time_limit),
                                  method="highs-mip", solve_time=time.perf_counter() - t0)
        selected = np.union1d(self.existing, np.flatnonzero(out.x[:m] > 0.5)).astype(np.int64)
        frac = np.clip(out.x[m:], 0.0, 1.0)
        if split:
            amounts = sp.csr_array((w[rows][pi] * frac, (rows[pi], pj)), shape=(n, m))
            amounts.eliminate_zeros()
            objective = float((amounts.multiply(_cost_at(csr, amounts))).sum())
            assignment = amounts
        else:
            if cap is None:
                # Any optimum assigns to the nearest open site; take it rather than the LP's tie-break.
                assignment, best = nearest_open(csr, selected)
            else:
                assignment = np.full(n, -1, dtype=np.int64)
                pick = frac > 0.5
                assignment[rows[pi[pick]]] = pj[pick]
                zero_rows = np.flatnonzero(w == 0)
                assignment[zero_rows] = nearest_open(sp.csr_array(csr[zero_rows]), selected)[0]
                best = np.full(n, np.inf)
                ok = assignment >= 0
                best[ok] = _lookup(csr, np.flatnonzero(ok), assignment[ok])
            objective = float((w[w > 0] * best[w > 0]).sum())
        res = LocationResult(
            selected=selected,
            objective=objective,
            status=status,
            gap=out.gap,
            reason=status_reason(out.status, time_limit),
            method="highs-mip",
            solve_time=time.perf_counter() - t0,
            assignment=assignment,
            served=w.copy() if split or cap is not None else None,
            bound=out.bound,
            new=np.setdiff1d(selected, self.existing),
        )
        return self._certify(res, mip_gap, out.highs_status)

    def _certify(self, res: LocationResult, mip_gap: float, highs_status: str = "") -> LocationResult:
        total, violations = _check.assignment(self.cost.csr, self.weights, res.selected, res.assignment,
                                              self.capacities)
        violations += _check.sites(res.selected, self.existing, self.cost.shape[1], self.p, exactly=True)
        return certify(res, total, violations, maximize=False, mip_gap=mip_gap, highs_status=highs_status)


def _head(idx: np.ndarray, k: int = 5) -> str:
    shown = ", ".join(str(int(i)) for i in idx[:k])
    return shown + (", ..." if len(idx) > k else "")


def _lookup(csr: sp.csr_array, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Cost of the stored entries (rows[t], cols[t]); entries must exist."""
    out = np.empty(len(rows))
    for t, (i, j) in enumerate(zip(rows, cols)):
        lo, hi = csr.indptr[i], csr.indptr[i + 1]
        pos = lo + np.searchsorted(csr.indices[lo:hi], j)
        out[t] = csr.data[pos]
    return out


def _cost_at(csr: sp.csr_array, pattern: sp.csr_array) -> sp.csr_array:
    coo = pattern.tocoo()
    vals = _lookup(csr, coo.row, coo.col)
    return sp.csr_array((vals, (coo.row, coo.col)), shape=pattern.shape)
