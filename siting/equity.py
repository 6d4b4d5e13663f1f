"""How evenly access is spread: demand-weighted Gini coefficient, Lorenz curve, share below a threshold.

Each compound is a group of children who all have its access value, so the Lorenz curve is
the polygon through the groups sorted by access, and the Gini coefficient is one minus twice
the area under it (exact for grouped data, no interpolation within a compound):

.. math::  G = 1 - \\sum_i p_i (L_{i-1} + L_i)

where :math:`p_i` is group *i*'s share of the children and :math:`L_i` the cumulative share of
access up to it; equivalently :math:`G = \\sum_i \\sum_j w_i w_j |x_i - x_j| / (2 W^2 \\mu)`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import DataError

__all__ = ["gini", "lorenz", "share_below", "equity_table"]


def _clean(values, weights) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    if x.shape != w.shape or x.ndim != 1:
        raise DataError(f"values and weights must be 1-D of the same length, got {x.shape} and {w.shape}.",
                        f"数值与权重必须是等长一维数组，实际为 {x.shape} 和 {w.shape}。")
    bad = ~np.isfinite(x) | ~np.isfinite(w) | (w < 0) | (x < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"access values and weights must be finite and >= 0; item {i} has value {float(x[i])}, weight {float(w[i])}.",
                        f"可达性数值与权重必须为有限非负数；第 {i} 项数值为 {float(x[i])}，权重为 {float(w[i])}。")
    keep = w > 0  # a compound without children does not move the curve
    return x[keep], w[keep]


def lorenz(values, weights) -> pd.DataFrame:
    """The Lorenz curve of ``values`` over ``weights`` (e.g. access per compound over its children).

    Returns
    -------
    DataFrame
        ``population_share`` and ``access_share``, cumulative, from (0, 0) to (1, 1), one row per
        group with positive weight in ascending order of value (plus the origin). Empty curve
        (only the origin) when there is no weight; ``access_share`` is NaN when all values are 0.
    """
    x, w = _clean(values, weights)
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    total_w, total = w.sum(), (w * x).sum()
    pop = np.concatenate([[0.0], np.cumsum(w) / total_w]) if total_w > 0 else np.zeros(1)
    acc = np.concatenate([[0.0], np.cumsum(w * x) / total if total > 0 else np.full(len(x), np.nan)])
    return pd.DataFrame({"population_share": pop, "access_share": acc})


def gini(values, weights) -> float:
    """Weighted Gini coefficient in [0, 1): 0 when everyone has the same access.

    NaN when there is no weight or nobody has any access (the ratio is undefined).
    """
    curve = lorenz(values, weights)
    if len(curve) < 2 or curve["access_share"].isna().any():
        return float("nan")
    p = np.diff(curve["population_share"].to_numpy())
    cum = curve["access_share"].to_numpy()
    return float(max(0.0, 1.0 - np.sum(p * (cum[:-1] + cum[1:]))))


def share_below(values, weights, threshold: float) -> float:
    """Share of the weight (children) whose value is strictly below ``threshold``; NaN with no weight."""
    x, w = _clean(values, weights)
    return float(w[x < threshold].sum() / w.sum()) if w.sum() > 0 else float("nan")


def equity_table(frame: pd.DataFrame, value: str, weight: str, threshold: float, by: str = "township",
                 total_label: str = "全区合计") -> pd.DataFrame:
    """Per group (township) and for the whole frame: weighted mean, Gini and share below a threshold.

    Returns
    -------
    DataFrame
        ``by``, ``children`` (sum of ``weight``), ``access_mean`` (weighted), ``access_min``,
        ``access_max``, ``gini``, ``share_below``, ``children_below``; the whole frame last, as
        ``total_label``. Groups are sorted by name.
    """
    rows = []

    def row(label, part):
        x, w = _clean(part[value].to_numpy(), part[weight].to_numpy())
        children = float(w.sum())
        below = share_below(x, w, threshold)
        rows.append({by: label, "children": children,
                     "access_mean": float((w * x).sum() / children) if children > 0 else np.nan,
                     "access_min": float(x.min()) if len(x) else np.nan,
                     "access_max": float(x.max()) if len(x) else np.nan,
                     "gini": gini(x, w), "share_below": below,
                     "children_below": float(w[x < threshold].sum())})

    for label, part in frame.groupby(frame[by].fillna(""), sort=True):
        row(label, part)
    row(total_label, frame)
    return pd.DataFrame(rows)
