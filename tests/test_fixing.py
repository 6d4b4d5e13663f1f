"""Sites fixed by the MCLP's Lagrangian bound (siting.models._fixing), against brute force."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from siting.models._fixing import fix_sites, lagrangian_bound
from tests.test_models_crosscheck import _subsets


def _values(b: np.ndarray, w: np.ndarray, p: int):
    """Every plan of at most ``p`` sites (bool rows) and the weight it covers."""
    plans = _subsets(b.shape[1])
    plans = plans[plans.sum(axis=1) <= p]
    return plans, ((plans.astype(int) @ b.T.astype(int)) > 0) @ w


def test_lagrangian_bound_by_hand():
    # groups: g0 covered by site 0, g1 by sites 0 and 1, g2 by site 1; weights 4, 3, 2; one site.
    b = sp.csr_array(np.array([[1, 0], [1, 1], [0, 1]], dtype=bool))
    w = np.array([4.0, 3.0, 2.0])
    # u = (4, 0, 2), mu = 3: d = (4 + 0 - 3, 0 + 2 - 3) = (1, -1); L = 3 + (0 + 3 + 0) + 1 = 7
    bound, d = lagrangian_bound(b, w, 1, np.array([4.0, 0.0, 2.0]), 3.0)
    assert bound == 7.0 and d.tolist() == [1.0, -1.0]
    # the incumbent {0} covers 7: site 1 open caps a plan at 6, site 0 shut at 6 as well
    fixing = fix_sites(b, w, 1, np.array([4.0, 0.0, 2.0, 3.0]), np.array([True, False]))
    assert fixing.bound == 7.0 and fixing.shut.tolist() == [False, True] and fixing.opened.tolist() == [True, False]
    # negative multipliers are no multipliers: they count as 0, and the bound stays valid (all weight, 9)
    assert lagrangian_bound(b, w, 1, np.array([-5.0, -5.0, -5.0]), -1.0)[0] == 9.0


def _random_case(rng):
    g, m = int(rng.integers(3, 14)), int(rng.integers(2, 9))
    b = rng.random((g, m)) < rng.uniform(0.15, 0.5)
    b[np.arange(g), rng.integers(0, m, g)] = True  # every group coverable
    return b, rng.integers(1, 20, g).astype(float), int(rng.integers(1, m))


def test_any_multipliers_give_a_valid_bound_and_valid_fixings_on_300_instances():
    rng = np.random.default_rng(11)
    wrong = []
    for k in range(300):
        b, w, p = _random_case(rng)
        plans, values = _values(b, w, p)
        u = rng.uniform(0, 25, len(w)) * (rng.random(len(w)) < 0.7)
        mu = float(rng.uniform(0, 30))
        bound, d = lagrangian_bound(sp.csr_array(b), w, p, u, mu)
        if bound < values.max() - 1e-9:
            wrong.append((k, "bound", bound, values.max()))
        # every site's forced bounds hold too
        for j in range(b.shape[1]):
            with_j, without_j = values[plans[:, j]], values[~plans[:, j]]
            if len(with_j) and with_j.max() > bound + min(d[j], 0) + 1e-9:
                wrong.append((k, "open", j))
            if without_j.max() > bound - max(d[j], 0) + 1e-9:
                wrong.append((k, "shut", j))
    assert wrong == []


def test_lp_duals_fix_only_sites_no_better_plan_needs_on_300_instances():
    rng = np.random.default_rng(12)
    wrong, fixed = [], 0
    for k in range(300):
        b, w, p = _random_case(rng)
        g, m = b.shape
        plans, values = _values(b, w, p)
        # the LP relaxation by scipy's own interface, with its duals (marginals) in scipy's convention
        a = np.vstack([np.hstack([-b.astype(float), np.eye(g)]), np.r_[np.ones(m), np.zeros(g)]])
        lp = linprog(np.r_[np.zeros(m), -w], A_ub=a, b_ub=np.r_[np.zeros(g), p], bounds=(0, 1), method="highs")
        # the best plan, or any: fixings are only against its value
        incumbent = plans[int(np.argmax(values)) if k % 2 else int(rng.integers(len(plans)))]
        value = float(values[np.flatnonzero((plans == incumbent).all(axis=1))[0]])
        fixing = fix_sites(sp.csr_array(b), w, p, lp.ineqlin.marginals, incumbent)
        if abs(fixing.bound - -lp.fun) > 1e-6 * max(1.0, -lp.fun):  # optimal duals: the LP bound itself
            wrong.append((k, "bound", fixing.bound, -lp.fun))
        for j in np.flatnonzero(fixing.shut):
            if values[plans[:, j]].max() > value:
                wrong.append((k, "shut", j))
        for j in np.flatnonzero(fixing.opened):
            if values[~plans[:, j]].max() > value:
                wrong.append((k, "opened", j))
        fixed += int(fixing.shut.sum() + fixing.opened.sum())
    assert wrong == []
    assert fixed > 100  # the scan is not empty: sites do get fixed


@pytest.mark.parametrize("seed", range(3))
def test_mclp_with_fixing_matches_the_model_without_it(seed, monkeypatch):
    # the same instances solved with the LP, cores and fixing, and with them switched off
    import siting.models.coverage as coverage
    from tests.test_models_process import _uniform_mclp

    model = _uniform_mclp(1_500, 250, 9_000.0, 900.0, 12, seed=seed)
    res = model.solve()
    monkeypatch.setattr(coverage, "_stage_limit", lambda time_limit, t0: 0.0)
    plain = _uniform_mclp(1_500, 250, 9_000.0, 900.0, 12, seed=seed).solve()
    assert res.optimal and plain.optimal
    assert res.objective == plain.objective == model.weights[res.covered].sum()
    assert res.bound == pytest.approx(res.objective)
