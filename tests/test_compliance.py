"""Full-compliance model: least cost equals brute-force enumeration; nothing unmet is dropped silently."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.csgraph import maximum_flow

from siting.models.compliance import ComplianceCover

INF = np.inf


def _flow(reach, weights, capacity) -> int:
    """Max places served (integer data) by sites of the given capacities, by scipy's max-flow (no HiGHS)."""
    n, m = reach.shape
    src, sink = n + m, n + m + 1
    rows, cols, caps = [], [], []
    for i in range(n):
        rows.append(src), cols.append(i), caps.append(int(weights[i]))
        for j in np.flatnonzero(reach[i]):
            rows.append(i), cols.append(n + j), caps.append(10**6)
    for j in range(m):
        rows.append(n + j), cols.append(sink), caps.append(int(capacity[j]))
    g = sp.csr_array((np.array(caps, dtype=np.int32), (rows, cols)), shape=(n + m + 2, n + m + 2))
    return maximum_flow(g, src, sink).flow_value


def _brute(reach, weights, size, cost, modules, groups=None, minimums=None):
    """Most places servable, then the least cost among plans serving that many (and meeting minimums)."""
    m = reach.shape[1]
    best_flow = _flow(reach, weights, size * modules)
    minimums = minimums or {}
    most = {g: float((size * modules)[groups == g].sum()) for g in minimums}
    best = None
    for y in itertools.product(*[range(k + 1) for k in modules]):
        y = np.array(y)
        if _flow(reach, weights, size * y) < best_flow:
            continue
        if any((size * y)[groups == g].sum() < min(v, most[g]) for g, v in minimums.items()):
            continue
        c = float((cost * y).sum())
        best = c if best is None else min(best, c)
    return best_flow, best


def test_hand_case():
    # Demand 30, 15, 25 places. Site 0 (parcel, 2 classes of 20 at 600 each) reaches 0 and 1; site 1
    # (kindergarten, 2 × 20 at 150) reaches 1 and 2; site 2 (embedded room at compound 0, 1 × 20 at 700).
    # Compound 0 needs 30: site 0 with 2 classes (1,200) or site 0 ×1 + room (1,300). Then 15 + 25 = 40
    # from site 1 ×2 (300) if site 0 serves only compound 0. By hand the optimum is 1,200 + 300 = 1,500.
    reach = np.array([[1, 0, 1], [1, 1, 0], [0, 1, 0]], dtype=bool)
    cost = np.where(reach, 0.5, INF)
    w = np.array([30.0, 15.0, 25.0])
    modules = np.array([2, 2, 1])
    size = np.array([20.0, 20.0, 20.0])
    per_class = np.array([600.0, 150.0, 700.0])
    res = ComplianceCover.from_cost_matrix(cost, w, 1.0, size * modules, per_class * modules, modules).solve()
    assert res.status == "optimal", res.reason
    assert res.objective == pytest.approx(1500.0)
    assert list(res.modules) == [2, 2, 0]
    assert res.served == pytest.approx(w)
    assert _brute(reach, w, size, per_class, modules)[1] == 1500.0


def test_unservable_demand_is_reported_not_dropped():
    # Compound 1 has nothing in reach; compound 0 needs 50 but its only site holds 40.
    reach = np.array([[1], [0]], dtype=bool)
    w = np.array([50.0, 10.0])
    res = ComplianceCover(reach, w, capacities=[40.0], costs=[200.0], modules=[2]).solve()
    assert res.status == "optimal"
    assert list(res.modules) == [2] and res.objective == pytest.approx(200.0)
    assert res.served == pytest.approx([40.0, 0.0])
    assert list(res.uncoverable) == [1]


def test_township_minimum_opens_classes_that_serve_nobody_and_reports_what_cannot_be_met():
    reach = np.array([[1, 0, 0]], dtype=bool)
    w = np.array([10.0])
    groups = np.array(["A", "B", "C"], dtype=object)
    model = ComplianceCover(reach, w, capacities=[20.0, 40.0, 20.0], costs=[100.0, 300.0, 80.0], modules=[1, 2, 1],
                            group_of=groups, min_capacity={"B": 30.0, "C": 50.0})
    res = model.solve()
    assert res.status == "optimal"
    # A: 1 class for the compound; B: 2 classes (30 places need two of 20); C: all it has (20 of 50).
    assert list(res.modules) == [1, 2, 1] and res.objective == pytest.approx(100 + 300 + 80)
    assert model.group_shortfall == {"C": pytest.approx(30.0)}


def test_check_catches_a_broken_plan():
    reach = np.array([[1, 0], [0, 1]], dtype=bool)
    model = ComplianceCover(reach, [10.0, 10.0], capacities=[20.0, 20.0], costs=[100.0, 100.0])
    good = sp.csr_array(np.array([[10.0, 0.0], [0.0, 10.0]]))
    assert model.check([1, 1], good) == []
    assert model.check([1, 0], good)  # site 1 serves with no class open
    assert model.check([1, 1], sp.csr_array(np.array([[0.0, 10.0], [0.0, 10.0]])))  # out of reach, compound 0 unserved
    assert model.check([1, 1], sp.csr_array(np.array([[5.0, 0.0], [0.0, 10.0]])))  # not in full


@pytest.mark.parametrize("seed", range(40))
def test_random_instances_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(2, 6)), int(rng.integers(2, 5))
    reach = rng.random((n, m)) < 0.5
    w = rng.integers(1, 45, n).astype(float)
    modules = rng.integers(1, 3, m)
    size = rng.choice([10.0, 20.0], m)
    per_class = rng.integers(1, 9, m) * 100.0
    groups = rng.choice(["A", "B"], m).astype(object)
    minimums = {"A": float(rng.integers(0, 50))} if seed % 3 == 0 else None
    best_flow, best_cost = _brute(reach, w, size, per_class, modules, groups, minimums)
    model = ComplianceCover(reach, w, size * modules, per_class * modules, modules, group_of=groups,
                            min_capacity=minimums)
    res = model.solve()
    assert res.status == "optimal", res.reason
    assert res.served.sum() == pytest.approx(best_flow)
    assert res.objective == pytest.approx(best_cost)
    assert model.check(res.modules, res.assignment) == []
