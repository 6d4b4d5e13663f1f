"""Recompute a model's objective from the returned selection and list the constraints it breaks.

Plain numpy on the model's original inputs (cover matrix, weights, costs, capacities), never
on the reduced model the solver saw nor on the solver's own objective value: these are the
independent half of :func:`siting.models._base.certify`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# Amounts served are continuous solver values: allow HiGHS's feasibility tolerance per unit. HiGHS
# meets rows to its tolerance on the *scaled* model: 1.45e-5 of a place on a closed site (the demo with
# hostile names, p-curve) and 2e-5 of a 20-place class (the phased plan) were seen, so 1e-6 raised on
# correct plans; 1e-4 of a place is still far below anything a table shows.
_AMOUNT_TOL = 1e-4


def _slack(scale) -> np.ndarray:
    return _AMOUNT_TOL * np.maximum(1.0, np.abs(scale))


def covered(cover: sp.csr_array, selected: np.ndarray) -> np.ndarray:
    """Whether each row is covered by at least one selected column."""
    is_open = np.zeros(cover.shape[1], dtype=bool)
    is_open[np.asarray(selected, dtype=np.int64)] = True
    rows = np.repeat(np.arange(cover.shape[0]), np.diff(cover.indptr))
    hit = np.zeros(cover.shape[0], dtype=bool)
    hit[rows[is_open[cover.indices] & cover.data.astype(bool)]] = True
    return hit


def sites(selected: np.ndarray, existing: np.ndarray, m: int, p: int | None, exactly: bool = False) -> list[str]:
    """Selected columns are valid, include every existing site, and open at most (or exactly) ``p`` new ones."""
    selected = np.asarray(selected, dtype=np.int64)
    out = []
    if selected.size and (selected.min() < 0 or selected.max() >= m or len(np.unique(selected)) != len(selected)):
        out.append("selected columns out of range or repeated")
    missing = np.setdiff1d(existing, selected)
    if missing.size:
        out.append(f"existing site {int(missing[0])} not open")
    new = len(np.setdiff1d(selected, existing))
    if p is not None and (new > p or (exactly and new != p)):
        out.append(f"{new} new sites opened, p = {p}")
    return out


def set_cover(cover: sp.csr_array, selected: np.ndarray) -> list[str]:
    """Every row that some column covers is covered by a selected one."""
    coverable = np.diff(cover.indptr) > 0
    left = np.flatnonzero(coverable & ~covered(cover, selected))
    return [f"{len(left)} coverable demand point(s) left uncovered (row {int(left[0])})"] if len(left) else []


def flows(cover: sp.csr_array, weights: np.ndarray, amounts: sp.sparray, selected: np.ndarray,
          capacity: np.ndarray, must_serve: bool) -> tuple[float, list[str]]:
    """Served total of a split assignment and its violations.

    ``amounts[i, j]`` is weight of row i served by column j: only within reach of an open
    column, at most the row's weight (all of it for coverable rows when ``must_serve``), at
    most ``capacity[j]`` per column.
    """
    n, m = cover.shape
    a = sp.coo_array(amounts)
    out = []
    if a.nnz and a.data.min() < -_AMOUNT_TOL:
        out.append("negative amount served")
    is_open = np.zeros(m, dtype=bool)
    is_open[np.asarray(selected, dtype=np.int64)] = True
    live = a.data > _AMOUNT_TOL
    r, c = a.row[live], a.col[live]
    if (~is_open[c]).any():
        out.append(f"closed site {int(c[~is_open[c]][0])} serves demand")
    reach = sp.csr_array(cover, dtype=bool)
    in_reach = np.asarray(reach[r, c]).ravel().astype(bool) if len(r) else np.zeros(0, dtype=bool)
    if (~in_reach).any():
        out.append(f"demand point {int(r[~in_reach][0])} served out of reach")
    row_sum = np.bincount(a.row, weights=a.data, minlength=n)
    col_sum = np.bincount(a.col, weights=a.data, minlength=m)
    over = np.flatnonzero(row_sum > weights + _slack(weights))
    if len(over):
        out.append(f"demand point {int(over[0])} served {row_sum[over[0]]:g} > its weight {weights[over[0]]:g}")
    full = np.flatnonzero(col_sum > capacity + _slack(capacity))
    if len(full):
        out.append(f"site {int(full[0])} serves {col_sum[full[0]]:g} > its capacity {capacity[full[0]]:g}")
    if must_serve:
        need = (np.diff(cover.indptr) > 0) & (weights > 0)
        short = np.flatnonzero(need & (row_sum < weights - _slack(weights)))
        if len(short):
            out.append(f"demand point {int(short[0])} served {row_sum[short[0]]:g} of {weights[short[0]]:g}")
    return float(row_sum.sum()), out


def assignment(cost: sp.csr_array, weights: np.ndarray, selected: np.ndarray, assign,
               capacities: np.ndarray | None) -> tuple[float, list[str]]:
    """Total weighted cost of an assignment (per-row column, or split amounts) and its violations."""
    n, m = cost.shape
    out = []
    is_open = np.zeros(m, dtype=bool)
    is_open[np.asarray(selected, dtype=np.int64)] = True
    if sp.issparse(assign):
        a = sp.coo_array(assign)
        live = a.data > _AMOUNT_TOL
        r, c, v = a.row[live], a.col[live], a.data[live]
        row_sum = np.bincount(a.row, weights=a.data, minlength=n)
        short = np.flatnonzero(np.abs(row_sum - weights) > _slack(weights))
        if len(short):
            out.append(f"demand point {int(short[0])} served {row_sum[short[0]]:g} of {weights[short[0]]:g}")
        load = np.bincount(c, weights=v, minlength=m)
    else:
        assign = np.asarray(assign, dtype=np.int64)
        r = np.flatnonzero(weights > 0)
        c = assign[r]
        if (c < 0).any():
            out.append(f"demand point {int(r[c < 0][0])} not assigned")
            r, c = r[c >= 0], c[c >= 0]
        v = weights[r]
        load = np.bincount(c, weights=v, minlength=m)
    if (~is_open[c]).any():
        out.append(f"demand assigned to closed site {int(c[~is_open[c]][0])}")
    d = _entries(cost, r, c)
    if not np.isfinite(d).all():
        out.append(f"demand point {int(r[~np.isfinite(d)][0])} assigned out of reach")
    if capacities is not None:
        full = np.flatnonzero(load > capacities + _slack(capacities))
        if len(full):
            out.append(f"site {int(full[0])} serves {load[full[0]]:g} > its capacity {capacities[full[0]]:g}")
    return float((v * d).sum()), out


def _entries(csr: sp.csr_array, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``csr[rows[t], cols[t]]``, with ``inf`` where no entry is stored (a stored 0 is a cost of 0)."""
    if len(rows) == 0:
        return np.zeros(0)
    stored = sp.csr_array((np.ones(len(csr.data)), csr.indices, csr.indptr), shape=csr.shape)
    values = np.asarray(csr[rows, cols]).ravel().astype(float)
    values[np.asarray(stored[rows, cols]).ravel() == 0] = np.inf
    return values


def radius(cost: sp.csr_array, selected: np.ndarray) -> tuple[float, list[str]]:
    """Largest cost from a demand point to its nearest selected column."""
    n, m = cost.shape
    is_open = np.zeros(m, dtype=bool)
    is_open[np.asarray(selected, dtype=np.int64)] = True
    rows = np.repeat(np.arange(n), np.diff(cost.indptr))
    keep = is_open[cost.indices]
    best = np.full(n, np.inf)
    np.minimum.at(best, rows[keep], cost.data[keep])
    far = np.flatnonzero(~np.isfinite(best))
    out = [f"demand point {int(far[0])} reaches no open site"] if len(far) else []
    return float(best.max()), out
