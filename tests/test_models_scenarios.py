"""Budget and minimum-per-group scenarios of the capacitated MCLP, on hand-solvable instances."""

import itertools

import numpy as np
import pytest

from siting.errors import ModelError
from siting.models import CapacitatedMCLP

# 4 demand points × 3 sites; reachable pairs have cost 1, the rest are unreachable (inf).
#   site 0 reaches demand 0, 1      (weights 10 + 5 = 15)
#   site 1 reaches demand 1, 2, 3   (weights 5 + 8 + 4 = 17)
#   site 2 reaches demand 3         (weight 4)
INF = np.inf
COST = np.array([[1, INF, INF], [1, 1, INF], [INF, 1, INF], [INF, 1, 1]], dtype=float)
W = np.array([10.0, 5.0, 8.0, 4.0])
BIG = np.full(3, W.sum())  # capacities that never bind: the plain MCLP


def _brute(costs, budget):
    """Best covered weight over every subset of sites within the budget."""
    best = 0.0
    for r in range(4):
        for subset in itertools.combinations(range(3), r):
            if sum(costs[j] for j in subset) > budget:
                continue
            covered = np.isfinite(COST[:, list(subset)]).any(axis=1) if subset else np.zeros(4, bool)
            best = max(best, W[covered].sum())
    return best


# Site costs 100, 250, 50. By hand: {2} covers 4 for 50; {0} 15 for 100; {0, 2} 19 for 150;
# {1} 17 for 250; {1, 2} 17 for 300; {0, 1} 27 for 350.
@pytest.mark.parametrize("budget, expected", [
    (0.0, 0.0), (49.0, 0.0), (50.0, 4.0), (100.0, 15.0), (150.0, 19.0), (300.0, 19.0), (350.0, 27.0), (400.0, 27.0),
])
def test_budget_known_answers(budget, expected):
    costs = np.array([100.0, 250.0, 50.0])
    assert _brute(costs, budget) == expected
    res = CapacitatedMCLP.from_cost_matrix(COST, W, 1.0, p=None, capacities=BIG, costs=costs, budget=budget).solve()
    assert res.status == "optimal"
    assert res.objective == pytest.approx(expected)
    assert costs[res.selected].sum() <= budget


def test_budget_hand_case():
    # Budget 150: {0, 2} covers 10 + 5 + 4 = 19 for 150, better than {0} (15) or {2} (4).
    costs = np.array([100.0, 250.0, 50.0])
    res = CapacitatedMCLP.from_cost_matrix(COST, W, 1.0, p=None, capacities=BIG, costs=costs, budget=150.0).solve()
    assert list(res.selected) == [0, 2] and res.objective == pytest.approx(19.0)


def test_budget_and_p_together():
    # Budget 400 allows all three, but p = 1 leaves only the best single site: site 1 (17).
    costs = np.array([100.0, 250.0, 50.0])
    res = CapacitatedMCLP.from_cost_matrix(COST, W, 1.0, p=1, capacities=BIG, costs=costs, budget=400.0).solve()
    assert list(res.selected) == [1] and res.objective == pytest.approx(17.0)


def test_capacities_bind_under_a_budget():
    # Site 1 can serve only 6 of the 17 it reaches; with budget 350 the best is {0, 1}: 15 + 6 = 21.
    costs = np.array([100.0, 250.0, 50.0])
    caps = np.array([27.0, 6.0, 27.0])
    res = CapacitatedMCLP.from_cost_matrix(COST, W, 1.0, p=None, capacities=caps, costs=costs, budget=350.0).solve()
    assert res.objective == pytest.approx(21.0)
    served_by = np.asarray(res.assignment.sum(axis=0)).ravel()
    assert (served_by <= caps + 1e-9).all()


def test_minimum_new_capacity_per_group():
    # Sites 0 and 1 are in 甲, site 2 in 乙. With p = 2 and no minimum the best is {0, 1} (27);
    # at least 5 new places in 乙 forces site 2 in: {1, 2} covers 17, {0, 2} 19 → {0, 2}.
    groups = ["甲", "甲", "乙"]
    caps = np.array([30.0, 30.0, 5.0])
    res = CapacitatedMCLP.from_cost_matrix(COST, W, 1.0, p=2, capacities=caps, group_of=groups,
                                           min_capacity={"乙": 5}).solve()
    assert list(res.selected) == [0, 2] and res.objective == pytest.approx(19.0)


def test_infeasible_minimum_is_reported_not_raised():
    res = CapacitatedMCLP.from_cost_matrix(COST, W, 1.0, p=1, capacities=np.array([30.0, 30.0, 5.0]),
                                           group_of=["甲", "甲", "乙"], min_capacity={"乙": 50}).solve()
    assert res.status == "infeasible" and "minimum" in res.reason


def test_budget_needs_costs_and_p_or_budget():
    with pytest.raises(ModelError, match="a budget needs the cost of each site"):
        CapacitatedMCLP.from_cost_matrix(COST, W, 1.0, p=None, capacities=BIG, budget=10.0)
    with pytest.raises(ModelError, match="give p, a budget, or both"):
        CapacitatedMCLP.from_cost_matrix(COST, W, 1.0, p=None, capacities=BIG)
    with pytest.raises(ModelError, match="costs must be >= 0"):
        CapacitatedMCLP.from_cost_matrix(COST, W, 1.0, p=None, capacities=BIG, costs=[1, -1, 1], budget=5.0)


def test_minimum_can_be_met_by_a_site_that_reaches_no_demand():
    # A fourth site (in 丙) reaches nobody; requiring 5 new places in 丙 must open it, not be infeasible.
    cost = np.column_stack([COST, np.full(4, INF)])
    res = CapacitatedMCLP.from_cost_matrix(cost, W, 1.0, p=2, capacities=np.array([30.0, 30.0, 5.0, 5.0]),
                                           group_of=["甲", "甲", "乙", "丙"], min_capacity={"丙": 5}).solve()
    assert res.status == "optimal" and list(res.selected) == [1, 3] and res.objective == pytest.approx(17.0)


# ---------------------------------------------------------------------------- modular capacity (classes)
# Two kindergartens, each able to open 1 or 2 classes of 20 places at 150,000 yuan a class.
#   site 0 reaches demand 0 (18 places); site 1 reaches demand 1 (15 places) and demand 2 (12 places)
CLASS_COST = np.array([[1, INF], [INF, 1], [INF, 1]], dtype=float)
CLASS_W = np.array([18.0, 15.0, 12.0])
TWO_CLASSES = np.array([40.0, 40.0])
FULL_COST = np.array([300_000.0, 300_000.0])


def test_a_budget_buys_classes_not_whole_sites():
    # 300,000 yuan: all-or-nothing opens one two-class site (site 1: 27 places);
    # with classes it opens one class at each site and serves 18 + 20 = 38.
    whole = CapacitatedMCLP.from_cost_matrix(CLASS_COST, CLASS_W, 1.0, None, TWO_CLASSES, costs=FULL_COST,
                                             budget=300_000).solve()
    assert whole.objective == pytest.approx(27.0) and list(whole.selected) == [1] and whole.modules is None
    modular = CapacitatedMCLP.from_cost_matrix(CLASS_COST, CLASS_W, 1.0, None, TWO_CLASSES, costs=FULL_COST,
                                               budget=300_000, modules=[2, 2]).solve()
    assert modular.status == "optimal" and modular.objective == pytest.approx(38.0)
    assert list(modular.selected) == [0, 1] and modular.modules.tolist() == [1, 1]
    # 450,000 yuan: the third class goes where 7 more places wait
    more = CapacitatedMCLP.from_cost_matrix(CLASS_COST, CLASS_W, 1.0, None, TWO_CLASSES, costs=FULL_COST,
                                            budget=450_000, modules=[2, 2]).solve()
    assert more.objective == pytest.approx(45.0) and more.modules.tolist() == [1, 2]


def test_modules_are_the_fewest_that_serve_and_existing_sites_keep_theirs():
    res = CapacitatedMCLP.from_cost_matrix(CLASS_COST, CLASS_W, 1.0, 2, TWO_CLASSES, modules=[2, 2]).solve()
    assert res.objective == pytest.approx(45.0) and res.modules.tolist() == [1, 2]  # 18 needs one class, 27 two
    kept = CapacitatedMCLP.from_cost_matrix(CLASS_COST, CLASS_W, 1.0, 1, TWO_CLASSES, existing=[0],
                                            modules=[2, 2]).solve()
    assert kept.modules.tolist() == [2, 2]  # the existing site counts whole, the new one needs two classes


def test_a_minimum_counts_the_classes_opened():
    # 50 new places in group "a" (site 1 only, 27 places of demand): three classes are not possible,
    # 40 places is the most, so the minimum cannot be met; 40 can, with both classes though 27 need two.
    groups = np.array(["b", "a"], dtype=object)
    bad = CapacitatedMCLP.from_cost_matrix(CLASS_COST, CLASS_W, 1.0, 2, TWO_CLASSES, group_of=groups,
                                           min_capacity={"a": 50}, modules=[2, 2]).solve()
    assert bad.status == "infeasible"
    ok = CapacitatedMCLP.from_cost_matrix(CLASS_COST, CLASS_W, 1.0, 2, TWO_CLASSES, group_of=groups,
                                          min_capacity={"a": 21}, modules=[2, 2]).solve()
    assert ok.objective == pytest.approx(45.0) and ok.modules.tolist() == [1, 2]
    one_class = CapacitatedMCLP.from_cost_matrix(CLASS_COST[:, :1], CLASS_W, 1.0, 1, TWO_CLASSES[:1],
                                                 group_of=groups[:1], min_capacity={"b": 40}, modules=[2]).solve()
    assert one_class.objective == pytest.approx(18.0) and one_class.modules.tolist() == [2]  # 18 alone needs one


def test_modules_must_be_whole_and_positive():
    with pytest.raises(ModelError, match="modules"):
        CapacitatedMCLP.from_cost_matrix(CLASS_COST, CLASS_W, 1.0, 1, TWO_CLASSES, modules=[0, 2])
    with pytest.raises(ModelError, match="modules"):
        CapacitatedMCLP.from_cost_matrix(CLASS_COST, CLASS_W, 1.0, 1, TWO_CLASSES, modules=[1.5, 2])
