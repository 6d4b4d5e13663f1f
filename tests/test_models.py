"""Location models: hand-solved instances, properties against brute force, and spopt cross-checks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from siting.errors import ModelError
from siting.models import (
    LSCP,
    MCLP,
    CapacitatedMCLP,
    LocationResult,
    PCenter,
    PMedian,
    greedy_mclp,
    interchange,
)

# The running example. With service distance 2 (inclusive):
#   column 0 covers row 0;  column 1 covers rows 1, 3;  column 2 covers rows 0, 1, 2.
COST = np.array(
    [
        [1.0, 5.0, 2.0],
        [4.0, 1.0, 2.0],
        [9.0, 9.0, 1.0],
        [3.0, 2.0, 8.0],
    ]
)
W = np.array([5.0, 5.0, 7.0, 2.0])  # total 19

HYPO = settings(derandomize=True, max_examples=25, deadline=None)


# ----------------------------------------------------------------------------- brute force


def brute_mclp(cover, w, p, existing=()):
    m = cover.shape[1]
    free = [j for j in range(m) if j not in existing]
    best = 0.0
    for k in range(min(p, len(free)) + 1):
        for combo in itertools.combinations(free, k):
            cols = list(existing) + list(combo)
            best = max(best, float(w[cover[:, cols].any(axis=1)].sum()) if cols else 0.0)
    return best


def max_served(cover, w, cap, cols):
    """LP: the most weight the open ``cols`` can serve (split demand, within reach, capacities)."""
    pairs = [(i, j) for i in range(cover.shape[0]) for j in cols if cover[i, j]]
    if not pairs:
        return 0.0
    a = np.zeros((cover.shape[0] + len(cols), len(pairs)))
    for t, (i, j) in enumerate(pairs):
        a[i, t] = 1
        a[cover.shape[0] + cols.index(j), t] = 1
    b = np.concatenate([w, cap[cols]])
    res = linprog(-np.ones(len(pairs)), A_ub=a, b_ub=b, bounds=(0, None), method="highs")
    return -res.fun


def brute_cmclp(cover, w, cap, p, existing=()):
    free = [j for j in range(cover.shape[1]) if j not in existing]
    return max(
        max_served(cover, w, cap, list(existing) + list(combo))
        for k in range(min(p, len(free)) + 1)
        for combo in itertools.combinations(free, k)
    )


def brute_pcenter(cost, p):
    return min(cost[:, list(c)].min(axis=1).max() for c in itertools.combinations(range(cost.shape[1]), p))


def brute_pmedian(cost, w, p):
    return min((w * cost[:, list(c)].min(axis=1)).sum() for c in itertools.combinations(range(cost.shape[1]), p))


def brute_lscp(cover):
    coverable = cover.any(axis=1)
    for k in range(cover.shape[1] + 1):
        for combo in itertools.combinations(range(cover.shape[1]), k):
            if (cover[:, list(combo)].any(axis=1) >= coverable).all():
                return k
    raise AssertionError


@st.composite
def instances(draw, max_n=8, max_m=6, unreachable=True):
    n = draw(st.integers(1, max_n))
    m = draw(st.integers(1, max_m))
    cost = np.array(draw(st.lists(st.integers(0, 9), min_size=n * m, max_size=n * m)), dtype=float).reshape(n, m)
    if unreachable:
        mask = np.array(draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m))).reshape(n, m)
        cost[mask & (cost > 6)] = np.inf  # some pairs unreachable
    w = np.array(draw(st.lists(st.integers(0, 20), min_size=n, max_size=n)), dtype=float)
    return cost, w


# ----------------------------------------------------------------------------- MCLP


def test_mclp_hand_solved():
    # p = 1: column 0 covers 5, column 1 covers 5 + 2 = 7, column 2 covers 5 + 5 + 7 = 17.
    res = MCLP.from_cost_matrix(COST, W, 2, 1).solve()
    assert isinstance(res, LocationResult)
    assert res.selected.tolist() == [2] and res.objective == 17 and res.status == "optimal" and res.gap == 0.0
    assert res.covered.tolist() == [True, True, True, False]
    assert res.method == "highs-mip" or res.method == "trivial"
    # p = 2: columns 1 and 2 cover everything (19); {0, 2} only 17.
    res = MCLP.from_cost_matrix(COST, W, 2, 2).solve()
    assert res.selected.tolist() == [1, 2] and res.objective == 19


def test_mclp_service_distance_is_inclusive():
    # Just below 2 each column covers only its cost-1 row: 5, 5, 7 -> column 2 with 7.
    res = MCLP.from_cost_matrix(COST, W, 1.999, 1).solve()
    assert res.selected.tolist() == [2] and res.objective == 7
    assert MCLP.from_cost_matrix(COST, W, 2.0, 1).solve().objective == 17
    # An infinite service distance still leaves unreachable pairs uncovered.
    cost = np.where(np.arange(3) == 2, np.inf, COST)
    assert MCLP.from_cost_matrix(cost, W, np.inf, 1).solve().objective == 19
    assert MCLP.from_cost_matrix(np.full((2, 2), np.inf), [1, 1], np.inf, 1).solve().objective == 0


def test_mclp_existing_not_counted_in_p():
    # Column 1 already open covers rows 1, 3 (7); adding column 2 adds rows 0, 2 (12).
    res = MCLP.from_cost_matrix(COST, W, 2, 1, existing=[1]).solve()
    assert res.selected.tolist() == [1, 2] and res.new.tolist() == [2] and res.objective == 19
    # p = 0 keeps only the existing site.
    res = MCLP.from_cost_matrix(COST, W, 2, 0, existing=[2]).solve()
    assert res.selected.tolist() == [2] and res.objective == 17 and res.status == "optimal"


def test_mclp_sparse_explicit_zero_is_reachable():
    # Row 0 reaches column 1 at cost 0 (explicitly stored); row 1 reaches column 0 at 1; row 2 nothing.
    data, indices, indptr = np.array([5.0, 0.0, 1.0]), np.array([0, 1, 0]), np.array([0, 2, 3, 3])
    cost = sp.csr_array((data, indices, indptr), shape=(3, 2))
    assert cost.nnz == 3
    res = MCLP.from_cost_matrix(cost, [4, 3, 9], 0.0, 1).solve()
    assert res.selected.tolist() == [1] and res.objective == 4
    assert res.uncoverable.tolist() == [1, 2]  # nothing within distance 0 of rows 1 and 2
    # The same as a scipy.sparse matrix (not array) and in COO form.
    res2 = MCLP.from_cost_matrix(sp.coo_matrix(cost), [4, 3, 9], 0.0, 1).solve()
    assert res2.objective == 4
    # An explicit inf in sparse data is unreachable, not an error.
    cost_inf = sp.csr_array((np.array([np.inf, 0.0, 1.0]), indices, indptr), shape=(3, 2))
    assert MCLP.from_cost_matrix(cost_inf, [4, 3, 9], 10, 1).solve().objective == 4


def test_mclp_heuristic_reports_gap_to_lp_bound():
    rng = np.random.default_rng(3)
    pts, sites = rng.uniform(0, 10, (300, 2)), rng.uniform(0, 10, (60, 2))
    cost = np.hypot(*(pts[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    w = rng.integers(1, 50, 300).astype(float)
    model = MCLP.from_cost_matrix(cost, w, 1.5, 5)
    exact, heur = model.solve(), model.solve(method="heuristic")
    assert heur.status == "heuristic" and heur.method == "greedy+interchange"
    assert heur.objective <= exact.objective <= heur.bound + 1e-6
    assert heur.gap == pytest.approx((heur.bound - heur.objective) / heur.bound)
    assert len(heur.selected) <= 5
    assert model.solve_heuristic().objective == heur.objective


def test_greedy_and_interchange_public_helpers():
    cover = COST <= 2
    picked = greedy_mclp(cover, W, 2)
    assert picked.tolist() == [2, 1]  # 17 first, then row 3 (2)
    assert interchange(cover, W, [0]).tolist() == [2]  # swapping 0 -> 2 gains 12


def test_mclp_time_limit_reports_gap():
    # Sites on a regular grid make many near-equivalent solutions: hard to prove quickly.
    rng = np.random.default_rng(0)
    g = np.arange(20) + 0.5
    sites = np.array([(x, y) for x in g for y in g]) + rng.uniform(-0.2, 0.2, (400, 2))
    pts = rng.uniform(1.5, 18.5, (3000, 2))
    cost = np.sqrt(((pts[:, None, :] - sites[None, :, :]) ** 2).sum(axis=2))
    res = MCLP.from_cost_matrix(cost, rng.integers(1, 100, 3000), 2.4, 12).solve(time_limit=2.0)
    assert res.status == "time_limit" and "time limit (2 s)" in res.reason
    # Under load HiGHS may stop before the root LP: the bound is then weak, but still honest.
    assert 0 < res.gap <= 1 and res.objective <= res.bound
    assert res.gap == pytest.approx((res.bound - res.objective) / res.bound)
    assert len(res.new) <= 12


def test_mclp_deterministic():
    cost, w = _spopt_instance(5, n=400, m=80)
    a = MCLP.from_cost_matrix(cost, w, 1.5, 6).solve()
    b = MCLP.from_cost_matrix(cost, w, 1.5, 6).solve()
    assert a.selected.tolist() == b.selected.tolist() and a.objective == b.objective


@HYPO
@given(instances(), st.integers(0, 6), st.sampled_from([0.0, 3.0, 6.0]))
def test_mclp_matches_brute_force_and_monotone_in_p(inst, p, dist):
    cost, w = inst
    p = min(p, cost.shape[1])
    res = MCLP.from_cost_matrix(cost, w, dist, p).solve()
    cover = cost <= dist
    assert res.objective == pytest.approx(brute_mclp(cover, w, p))
    assert res.objective <= w.sum()
    assert len(res.selected) <= p
    # The reported coverage agrees with the selection.
    assert res.covered.tolist() == (cover[:, res.selected].any(axis=1)).tolist()
    if p < cost.shape[1]:
        assert MCLP.from_cost_matrix(cost, w, dist, p + 1).solve().objective >= res.objective - 1e-9


# ----------------------------------------------------------------------------- capacitated MCLP


def test_capacitated_mclp_hand_solved():
    caps = np.array([10.0, 10.0, 10.0])
    # p = 1: column 2 reaches 17 but serves only its capacity 10.
    res = CapacitatedMCLP.from_cost_matrix(COST, W, 2, 1, caps).solve()
    assert res.selected.tolist() == [2] and res.objective == 10 and res.status == "optimal"
    assert res.served.sum() == pytest.approx(10)
    assert sp.issparse(res.assignment) and res.assignment.shape == (4, 3)
    # p = 2: column 1 serves rows 1 and 3 (7), column 2 serves 10 of rows 0 and 2 (12): 17.
    res = CapacitatedMCLP.from_cost_matrix(COST, W, 2, 2, caps).solve()
    assert res.selected.tolist() == [1, 2] and res.objective == pytest.approx(17)
    amounts = res.assignment.toarray()
    assert (amounts.sum(axis=0) <= caps + 1e-9).all() and (amounts.sum(axis=1) <= W + 1e-9).all()
    assert (amounts[COST > 2] == 0).all()  # nothing served out of reach
    assert amounts[:, 0].sum() == 0  # closed sites serve nothing


def test_capacitated_mclp_existing_and_identical_rows():
    # Rows 0 and 1 have the same coverage, so they are merged inside the model and split back.
    cost = np.array([[1.0, 9.0], [1.0, 9.0], [9.0, 1.0]])
    res = CapacitatedMCLP.from_cost_matrix(cost, [3, 1, 5], 2, 0, [2, 10], existing=[0]).solve()
    assert res.selected.tolist() == [0] and res.objective == pytest.approx(2)
    assert res.served.tolist() == pytest.approx([1.5, 0.5, 0])


@HYPO
@given(instances(max_n=6, max_m=5), st.integers(0, 5), st.data())
def test_capacitated_mclp_matches_enumeration_and_is_below_uncapacitated(inst, p, data):
    cost, w = inst
    m = cost.shape[1]
    p = min(p, m)
    cap = np.array(data.draw(st.lists(st.integers(0, 25), min_size=m, max_size=m)), dtype=float)
    res = CapacitatedMCLP.from_cost_matrix(cost, w, 5.0, p, cap).solve()
    assert res.objective == pytest.approx(brute_cmclp(cost <= 5, w, cap, p), abs=1e-6)
    assert res.objective <= MCLP.from_cost_matrix(cost, w, 5.0, p).solve().objective + 1e-6


# ----------------------------------------------------------------------------- LSCP


def test_lscp_hand_solved_with_unreachable_row():
    # Row 2 needs column 2, row 3 needs column 1; row 4 is unreachable and only reported.
    cost = np.vstack([COST, [np.inf, np.inf, np.inf]])
    res = LSCP.from_cost_matrix(cost, 2).solve()
    assert res.status == "optimal" and res.selected.tolist() == [1, 2] and res.objective == 2
    assert res.uncoverable.tolist() == [4]
    assert res.covered.tolist() == [True, True, True, True, False]
    res = LSCP.from_cost_matrix(cost, 2, existing=[1]).solve()
    assert res.selected.tolist() == [1, 2] and res.objective == 2 and res.new.tolist() == [2]


def test_capacitated_lscp_hand_solved_and_infeasible():
    # With capacity 10 column 2 must serve row 2 (7) and row 0 could only add 3 of its 5:
    # column 0 is needed too, so 3 sites.
    res = LSCP.from_cost_matrix(COST, 2, capacities=[10, 10, 10], weights=W).solve()
    assert res.status == "optimal" and res.selected.tolist() == [0, 1, 2] and res.objective == 3
    assert res.served.tolist() == pytest.approx(W.tolist())
    # Capacity 1 each cannot serve 19: infeasible, with the numbers in the reason.
    res = LSCP.from_cost_matrix(COST, 2, capacities=[1, 1, 1], weights=W).solve()
    assert res.status == "infeasible" and "3" in res.reason and "19" in res.reason
    assert np.isnan(res.objective)


@HYPO
@given(instances(), st.sampled_from([0.0, 4.0, 8.0]))
def test_lscp_covers_every_coverable_row_with_fewest_sites(inst, dist):
    cost, _ = inst
    res = LSCP.from_cost_matrix(cost, dist).solve()
    cover = cost <= dist
    coverable = cover.any(axis=1)
    assert (cover[:, res.selected].any(axis=1) == coverable).all()
    assert res.uncoverable.tolist() == np.flatnonzero(~coverable).tolist()
    assert res.objective == brute_lscp(cover)


# ----------------------------------------------------------------------------- p-median


def test_pmedian_hand_solved():
    # p = 1: column 2 costs 5*2 + 5*2 + 7*1 + 2*8 = 43 (columns 0, 1: 94, 97).
    res = PMedian.from_cost_matrix(COST, W, 1).solve()
    assert res.selected.tolist() == [2] and res.objective == 43 and res.assignment.tolist() == [2, 2, 2, 2]
    # p = 2: {1, 2} costs 10 + 5 + 7 + 4 = 26 ({0, 2}: 28, {0, 1}: 77).
    res = PMedian.from_cost_matrix(COST, W, 2).solve()
    assert res.selected.tolist() == [1, 2] and res.objective == 26 and res.assignment.tolist() == [2, 1, 2, 1]


def test_pmedian_capacitated_single_source_and_split():
    caps = [10, 10, 10]
    # Single source, p = 2: loads must be {7, 2} and {5, 5}. Best: {0, 2} with rows 0, 1 -> 0
    # (5 + 20) and rows 2, 3 -> 2 (7 + 16): 48; {1, 2} gives 53 at best.
    res = PMedian.from_cost_matrix(COST, W, 2, capacities=caps).solve()
    assert res.status == "optimal" and res.selected.tolist() == [0, 2] and res.objective == 48
    assert res.assignment.tolist() == [0, 0, 2, 2]
    # Split: {0, 2}, column 2 takes row 2 (7) and 3 of row 1; column 0 the rest: 7+6+5+8+6 = 32.
    res = PMedian.from_cost_matrix(COST, W, 2, capacities=caps, single_source=False).solve()
    assert res.status == "optimal" and res.objective == pytest.approx(32)
    amounts = res.assignment.toarray()
    assert amounts.sum(axis=1) == pytest.approx(W) and (amounts.sum(axis=0) <= 10 + 1e-9).all()
    # Total capacity below demand: infeasible, not an exception.
    res = PMedian.from_cost_matrix(COST, W, 2, capacities=[8, 8, 8]).solve()
    assert res.status == "infeasible" and "16" in res.reason and "19" in res.reason


def test_pmedian_sparse_unreachable_and_existing():
    # Sparse with an explicit zero: row 0 reaches column 1 at cost 0; column 0 at 4.
    cost = sp.csr_array((np.array([4.0, 0.0, 2.0, 3.0]), np.array([0, 1, 0, 1]), np.array([0, 2, 3, 4])), shape=(3, 2))
    res = PMedian.from_cost_matrix(cost, [1, 1, 1], 1, existing=[0]).solve()
    # Column 0 is open; adding column 1 brings row 0 to 0 and row 2 to 3: 0 + 2 + 3.
    assert res.selected.tolist() == [0, 1] and res.objective == 5 and res.assignment.tolist() == [1, 0, 1]
    dense = np.array([[1.0, np.inf], [np.inf, np.inf]])
    res = PMedian.from_cost_matrix(dense, [1, 1], 1).solve()
    assert res.status == "infeasible" and "1 demand point" in res.reason


@HYPO
@given(instances(max_n=7, max_m=5, unreachable=False), st.integers(1, 5))
def test_pmedian_matches_brute_force(inst, p):
    cost, w = inst
    p = min(p, cost.shape[1])
    res = PMedian.from_cost_matrix(cost, w, p).solve()
    assert res.objective == pytest.approx(brute_pmedian(cost, w, p))
    assert len(res.selected) == p


# ----------------------------------------------------------------------------- p-center


def test_pcenter_hand_solved():
    # p = 1: column 2's worst row costs 8 (columns 0 and 1: 9). p = 2: {1, 2} -> 2.
    res = PCenter.from_cost_matrix(COST, 1).solve()
    assert res.selected.tolist() == [2] and res.objective == 8 and res.method == "bisection"
    res = PCenter.from_cost_matrix(COST, 2).solve()
    assert res.selected.tolist() == [1, 2] and res.objective == 2 and res.assignment.tolist() == [2, 1, 2, 1]
    # Existing column 0 plus one new: {0, 2} -> max(1, 2, 1, 3) = 3 beats {0, 1} (9).
    res = PCenter.from_cost_matrix(COST, 1, existing=[0]).solve()
    assert res.selected.tolist() == [0, 2] and res.objective == 3


def test_pcenter_unreachable_rows_are_infeasible():
    cost = np.vstack([COST, np.full((2, 3), np.inf)])
    res = PCenter.from_cost_matrix(cost, 2).solve()
    assert res.status == "infeasible" and "2 demand point(s)" in res.reason
    assert res.uncoverable.tolist() == [4, 5]
    # Reachable, but two sites cannot reach both rows: row 0 only column 0, row 1 only column 1.
    sparse = sp.csr_array((np.array([1.0, 1.0, 1.0]), np.array([0, 1, 2]), np.array([0, 1, 2, 3])), shape=(3, 3))
    assert PCenter.from_cost_matrix(sparse, 2).solve().status == "infeasible"
    assert PCenter.from_cost_matrix(sparse, 3).solve().objective == 1


@HYPO
@given(instances(max_n=8, max_m=6, unreachable=False), st.integers(1, 4))
def test_pcenter_bisection_matches_brute_force(inst, p):
    cost, _ = inst
    p = min(p, cost.shape[1])
    res = PCenter.from_cost_matrix(cost, p).solve()
    assert res.status == "optimal"
    assert res.objective == brute_pcenter(cost, p)


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "build, words",
    [
        (lambda: MCLP.from_cost_matrix(COST, W[:3], 2, 1), ["weights", "4"]),
        (lambda: MCLP.from_cost_matrix(COST, -W, 2, 1), ["weights", ">= 0"]),
        (lambda: MCLP.from_cost_matrix(COST, W, 2, -1), ["p must be >= 0"]),
        (lambda: MCLP.from_cost_matrix(COST, W, 2, 4), ["p = 4", "3 candidate"]),
        (lambda: MCLP.from_cost_matrix(COST, W, 2, 3, existing=[0]), ["p = 3", "2 candidate", "1 already open"]),
        (lambda: MCLP.from_cost_matrix(COST, W, 2, 1, existing=[3]), ["existing index 3", "3 columns"]),
        (lambda: MCLP.from_cost_matrix(np.where(COST > 8, np.nan, COST), W, 2, 1), ["2 NaN"]),
        (lambda: MCLP.from_cost_matrix(-COST, W, 2, 1), ["negative"]),
        (lambda: MCLP.from_cost_matrix(COST, W, -1, 1), ["service_distance"]),
        (lambda: CapacitatedMCLP.from_cost_matrix(COST, W, 2, 1, [1, 2]), ["capacities", "3"]),
        (lambda: LSCP.from_cost_matrix(COST, 2, capacities=[1, 2, -3]), ["capacities", ">= 0"]),
        (lambda: PMedian.from_cost_matrix(COST, W, 5), ["p = 5"]),
        (lambda: PCenter.from_cost_matrix(np.zeros((0, 3)), 1), ["at least one demand point"]),
        (lambda: PCenter.from_cost_matrix(np.zeros(3), 1), ["2-D"]),
        (lambda: MCLP.from_cost_matrix(COST, W, 2, 1).solve(time_limit=0), ["time_limit"]),
    ],
)
def test_validation_errors(build, words):
    with pytest.raises(ModelError) as info:
        build()
    for word in words:
        assert word in str(info.value)
    assert info.value.message("zh") != info.value.message("en")  # a Chinese message is given


# ----------------------------------------------------------------------------- spopt cross-checks


def _spopt_instance(seed, n=40, m=15):
    rng = np.random.default_rng(seed)
    pts, sites = rng.uniform(0, 10, (n, 2)), rng.uniform(0, 10, (m, 2))
    cost = np.round(np.sqrt(((pts[:, None, :] - sites[None, :, :]) ** 2).sum(axis=2)), 2)
    return cost, rng.integers(1, 30, n).astype(float)


@pytest.mark.parametrize("seed", [0, 1])
def test_cross_check_against_spopt(seed):
    pytest.importorskip("spopt")
    pulp = pytest.importorskip("pulp")
    from spopt.locate import LSCP as SLSCP
    from spopt.locate import MCLP as SMCLP
    from spopt.locate import PCenter as SPCenter
    from spopt.locate import PMedian as SPMedian

    cost, w = _spopt_instance(seed)

    def cbc():
        return pulp.PULP_CBC_CMD(msg=False)

    def value(model):
        assert model.problem.status == pulp.LpStatusOptimal
        return pulp.value(model.problem.objective)

    ours = MCLP.from_cost_matrix(cost, w, 2.5, 4).solve()
    assert ours.objective == pytest.approx(value(SMCLP.from_cost_matrix(cost, w, 2.5, p_facilities=4).solve(cbc())))
    ours = MCLP.from_cost_matrix(cost, w, 2.5, 3, existing=[0, 1]).solve()
    theirs = SMCLP.from_cost_matrix(cost, w, 2.5, p_facilities=5,
                                    predefined_facilities_arr=np.isin(np.arange(15), [0, 1])).solve(cbc())
    assert ours.objective == pytest.approx(value(theirs))

    coverable = (cost <= 3.0).any(axis=1)  # spopt's LSCP requires every row coverable
    ours = LSCP.from_cost_matrix(cost, 3.0).solve()
    assert ours.uncoverable.tolist() == np.flatnonzero(~coverable).tolist()
    assert ours.objective == pytest.approx(value(SLSCP.from_cost_matrix(cost[coverable], 3.0).solve(cbc())))

    ours = PMedian.from_cost_matrix(cost, w, 3).solve()
    assert ours.objective == pytest.approx(value(SPMedian.from_cost_matrix(cost, w, p_facilities=3).solve(cbc())))

    small = cost[:20, :8]
    ours = PCenter.from_cost_matrix(small, 2).solve()
    assert ours.objective == pytest.approx(value(SPCenter.from_cost_matrix(small, p_facilities=2).solve(cbc())))


# ----------------------------------------------------------------------------- certified statuses
#
# The driver's word is not taken: these feed each model a contradictory solver outcome (a worse
# selection than the bound allows, or one that breaks the model) and check that it is not
# reported optimal. Before certification every one of them came back "optimal".


def _tampered(monkeypatch, module, change):
    """Make ``module.solve_highs`` return HiGHS's real outcome with ``change(x)`` as its solution."""
    import siting.models._base as base

    def fake(*args, **kwargs):
        out = base.solve_highs(*args, **kwargs)
        claim = base.MipOutcome("optimal", change(out.x.copy()), out.objective, out.bound, 0.0, out.seconds)
        claim.highs_status = "Optimal"
        return claim

    monkeypatch.setattr(module, "solve_highs", fake)


def test_lscp_worse_cover_with_tighter_bound_is_not_optimal(monkeypatch):
    import siting.models.coverage as coverage

    # Rows 0..3; columns {0,1}, {2,3}, {1,2}, {0,3}: two sites suffice, no column dominates another.
    cover = np.array([[1, 0, 0, 1], [1, 0, 1, 0], [0, 1, 1, 0], [0, 1, 0, 1]], dtype=bool)
    assert LSCP(cover).solve().objective == 2
    _tampered(monkeypatch, coverage, lambda x: np.ones_like(x))  # all four open, bound still 2
    res = LSCP(cover).solve()
    assert res.status == "feasible" and not res.optimal
    assert res.objective == 4 and res.bound == 2 and res.gap == pytest.approx(0.5)
    assert "Optimal" in res.reason and "4" in res.reason


def test_mclp_worse_selection_is_not_optimal(monkeypatch):
    import siting.models.coverage as coverage

    assert MCLP.from_cost_matrix(COST, W, 2, 1).solve().objective == 17

    def worst(x):  # keep the solver's claim, open the other reduced column instead
        x[:2] = x[:2][::-1]
        return x

    _tampered(monkeypatch, coverage, worst)
    # the greedy start is the optimum here: it stands in for HiGHS's worse plan, checked against the bound
    res = MCLP.from_cost_matrix(COST, W, 2, 1).solve()
    assert res.objective == 17 and res.status == "optimal" and res.selected.tolist() == [2]
    # with a start no better, nothing checked can stand in: the claim is only "feasible"
    monkeypatch.setattr(MCLP, "_heuristic_cols", lambda self, red: np.array([0]))
    res = MCLP.from_cost_matrix(COST, W, 2, 1).solve()
    assert res.objective == 7 and res.status == "feasible" and res.gap == pytest.approx(10 / 17)


def test_selection_that_breaks_the_model_raises_naming_highs_status(monkeypatch):
    import siting.models.coverage as coverage
    import siting.models.median as median

    cover = np.array([[1, 0, 0, 1], [1, 0, 1, 0], [0, 1, 1, 0], [0, 1, 0, 1]], dtype=bool)
    _tampered(monkeypatch, coverage, lambda x: np.zeros_like(x))  # nothing open: not a cover
    with pytest.raises(ModelError, match="Optimal.*not a cover"):
        LSCP(cover).solve()
    _tampered(monkeypatch, median, lambda x: np.where(np.arange(len(x)) < 3, 1.0, x))  # 3 sites for p = 2
    with pytest.raises(ModelError, match="Optimal.*3 new sites opened, p = 2"):
        PMedian.from_cost_matrix(COST, W, 2).solve()


def test_capacitated_mclp_minimum_without_any_capacity_is_infeasible_not_a_crash():
    # No site has capacity, so the model HiGHS gets has no columns ("Empty"): a minimum of 5 new
    # places cannot be met, a minimum of 0 is met by opening nothing. The old driver crashed here.
    build = lambda minimum: CapacitatedMCLP.from_cost_matrix(  # noqa: E731
        COST, W, 2, 2, [0, 0, 0], group_of=["a", "a", "b"], min_capacity={"a": minimum})
    res = build(5).solve()
    assert res.status == "infeasible" and "minimum" in res.reason and np.isnan(res.objective)
    res = build(0).solve()
    assert res.status == "optimal" and res.objective == 0 and res.selected.tolist() == []
