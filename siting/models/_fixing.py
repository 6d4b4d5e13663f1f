"""Sites fixed open or shut by a Lagrangian bound, before the MCLP goes to the MIP solver.

Relax the MCLP's coverage rows ``y_g <= sum_{j in N_g} x_j`` with multipliers ``u_g >= 0``
and its ``sum_j x_j <= p`` row with ``mu >= 0``. Every plan then covers at most

    L = mu * p + sum_g max(0, w_g - u_g) + sum_j max(0, d_j),   d_j = sum_{g : j in N_g} u_g - mu,

and with site j forced open at most ``L - max(0, d_j) + d_j``, forced shut ``L - max(0, d_j)``.
A site whose forced bound is below an incumbent's value is not in (or not out of) any better
plan, so the MIP only needs the other sites. The bound holds for any ``u, mu >= 0``; the LP
relaxation's duals make it the LP bound. It is computed here from the model's own arrays,
so a solver's sign conventions or tolerances cannot make a fixing wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class Fixing:
    bound: float  # L: no plan covers more (groups' weight, existing sites' coverage not included)
    shut: np.ndarray  # bool per site: in no plan better than the incumbent
    opened: np.ndarray  # bool per site: in every plan better than the incumbent
    d: np.ndarray  # each site's Lagrangian profit d_j


def lagrangian_bound(b: sp.csr_array, weight: np.ndarray, p: int, u: np.ndarray, mu: float):
    """``(L, d)`` for coverage ``b`` (groups × sites), group ``weight`` and at most ``p`` sites."""
    u = np.maximum(np.asarray(u, dtype=np.float64), 0.0)
    mu = max(float(mu), 0.0)
    d = np.asarray(b.T.astype(np.float64) @ u).ravel() - mu
    bound = mu * p + float(np.maximum(weight - u, 0.0).sum()) + float(np.maximum(d, 0.0).sum())
    return bound, d


def fix_sites(b: sp.csr_array, weight: np.ndarray, p: int, row_dual: np.ndarray, incumbent: np.ndarray) -> Fixing:
    """Sites the LP duals ``row_dual`` (one per coverage row, then the ``p`` row) fix against ``incumbent``.

    ``incumbent`` is a bool per site, a plan of at most ``p`` sites. Either sign convention of
    the duals gives a valid bound; the tighter one is used.
    """
    covered = (b @ incumbent.astype(np.float64)) > 0
    value = float(weight[covered].sum())
    candidates = [lagrangian_bound(b, weight, p, sign * row_dual[:-1], sign * row_dual[-1]) for sign in (1.0, -1.0)]
    bound, d = min(candidates, key=lambda c: c[0])
    # strictly below the incumbent, with room for rounding in the sums above
    below = value - 1e-9 * max(1.0, abs(value), abs(bound))
    shut = (bound + np.minimum(d, 0.0) < below) & ~incumbent
    opened = (bound - np.maximum(d, 0.0) < below) & incumbent
    return Fixing(bound, shut, opened, d)
