"""siting.access: the floating catchment area family, by hand and against PySAL ``access``.

``access`` (PyPI, a dev extra) is the reference implementation; the equality tests run it on its
own test fixtures (its tests/util.py grids and hospital example) and on demo-sized cases, and
require the same numbers to 1e-9.
"""

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from access import Access, weights
from access.tests import util as access_util

import siting
from siting.access import decay_weights, fca2, fca3
from siting.errors import ModelError
from tests.browser import browser_page  # noqa: F401  (pytest fixture)

RTOL, ATOL = 1e-9, 1e-12


def _csr(rows, cols, data, shape):
    return sp.csr_array((np.asarray(data, float), (np.asarray(rows), np.asarray(cols))), shape=shape)


# --------------------------------------------------------------------------- known answers


def test_fca2_hand_computed():
    # Point 0 has 100 children, point 1 50; facility 0 10 places, facility 1 20 places.
    cost = _csr([0, 0, 1], [0, 1, 1], [100.0, 400.0, 200.0], (2, 2))
    demand, supply = [100.0, 50.0], [10.0, 20.0]
    # 300 m: facility 0 serves point 0 only (R = 10/100), facility 1 point 1 only (R = 20/50).
    np.testing.assert_allclose(fca2(cost, demand, supply, 300.0), [100.0, 400.0], rtol=1e-12)
    # 400 m, inclusive: facility 1 now shares 20 places among 150 children.
    r1 = 20.0 / 150.0
    np.testing.assert_allclose(fca2(cost, demand, supply, 400.0, per=1.0), [0.1 + r1, r1], rtol=1e-12)
    # One catchment per demand point: point 0 reaches 400 m, point 1 only 100 m (nothing).
    np.testing.assert_allclose(fca2(cost, demand, supply, [400.0, 100.0], per=1.0), [0.1 + 0.2, 0.0], rtol=1e-12)


def test_fca2_gaussian_hand_computed():
    # Dai (2010): w(d) = (exp(-(d/d0)^2 / 2) - exp(-1/2)) / (1 - exp(-1/2)).
    e = math.exp(-0.5)
    w_half = (math.exp(-0.125) - e) / (1 - e)
    got = decay_weights(np.array([0.0, 150.0, 300.0, 301.0]), 300.0, "gaussian")
    np.testing.assert_allclose(got, [1.0, w_half, 0.0, 0.0], rtol=1e-12, atol=1e-15)
    # One point with 60 children 150 m from 12 places: R = 12 / (60 w), A = R w = 0.2.
    cost = _csr([0], [0], [150.0], (1, 1))
    assert fca2(cost, [60.0], [12.0], 300.0, "gaussian", per=1.0)[0] == pytest.approx(0.2, rel=1e-12)
    # Two points sharing it at 0 m and 150 m: R = 12 / (60 + 60 w).
    cost = _csr([0, 1], [0, 0], [0.0, 150.0], (2, 1))
    r = 12.0 / (60.0 + 60.0 * w_half)
    np.testing.assert_allclose(fca2(cost, [60.0, 60.0], [12.0], 300.0, "gaussian", per=1.0), [r, r * w_half],
                               rtol=1e-12)


def test_e2sfca_steps_and_gravity_hand_computed():
    # Luo & Qi (2009) steps: weight of the smallest bound >= cost, 0 beyond the last.
    steps = {10: 1.0, 20: 0.68, 30: 0.22}
    np.testing.assert_allclose(decay_weights(np.array([0, 10, 10.5, 20, 25, 30, 31.0]), np.inf, steps),
                               [1, 1, 0.68, 0.68, 0.22, 0.22, 0])
    cost = _csr([0, 1, 1], [0, 0, 1], [5.0, 25.0, 15.0], (2, 2))
    # Facility 0: 10 places, demand 100·1 + 50·0.22 = 111; facility 1: 20 places, demand 50·0.68 = 34.
    r0, r1 = 10.0 / 111.0, 20.0 / 34.0
    np.testing.assert_allclose(fca2(cost, [100.0, 50.0], [10.0, 20.0], 30.0, steps, per=1.0),
                               [r0, 0.22 * r0 + 0.68 * r1], rtol=1e-12)
    # Gravity, beta 2, min cost 10: weights 1/100 (5 → 10), 1/625, 1/225.
    g = fca2(cost, [100.0, 50.0], [10.0, 20.0], 30.0, "gravity", beta=2.0, min_cost=10.0, per=1.0)
    w00, w10, w11 = 1 / 100, 1 / 625, 1 / 225
    r0, r1 = 10.0 / (100 * w00 + 50 * w10), 20.0 / (50 * w11)
    np.testing.assert_allclose(g, [r0 * w00, r0 * w10 + r1 * w11], rtol=1e-12)


def test_fca3_hand_computed():
    # Point 0 (100 children) reaches facilities 0 and 1 at weights 1 and 0.5; point 1 (50) reaches 1 at 1.
    cost = _csr([0, 0, 1], [0, 1, 1], [5.0, 15.0, 5.0], (2, 2))
    steps = {10: 1.0, 20: 0.5}
    # Selection weights: point 0 splits 2/3 : 1/3; point 1 sends everything to facility 1.
    g00, g01, g11 = 2 / 3, 1 / 3, 1.0
    r0 = 10.0 / (100 * g00 * 1.0)
    r1 = 20.0 / (100 * g01 * 0.5 + 50 * g11 * 1.0)
    want = [g00 * 1.0 * r0 + g01 * 0.5 * r1, g11 * 1.0 * r1]
    np.testing.assert_allclose(fca3(cost, [100.0, 50.0], [10.0, 20.0], 20.0, steps, per=1.0), want, rtol=1e-12)
    # All places are handed out: demand-weighted access sums to the supply.
    got = fca3(cost, [100.0, 50.0], [10.0, 20.0], 20.0, steps, per=1.0)
    assert got @ [100.0, 50.0] == pytest.approx(30.0, rel=1e-12)


def test_explicit_zero_counts_and_unreachable_gets_zero():
    # A compound at its facility's node (cost stored as an explicit 0) is within reach.
    cost = sp.csr_array((np.array([0.0]), np.array([0]), np.array([0, 1, 1])), shape=(2, 1))
    assert cost.nnz == 1
    np.testing.assert_allclose(fca2(cost, [40.0, 10.0], [8.0], 300.0), [200.0, 0.0])
    np.testing.assert_allclose(fca3(cost, [40.0, 10.0], [8.0], 300.0), [200.0, 0.0])
    # No facilities at all: no access, not an error.
    assert fca2(sp.csr_array((3, 0)), [1.0, 2.0, 3.0], np.zeros(0), 300.0).tolist() == [0.0, 0.0, 0.0]


def test_bad_input_messages_and_their_fixes():
    cost = np.array([[0.0, np.inf], [np.inf, 100.0]])  # point 0 sits at facility 0: a real 0
    with pytest.raises(ModelError, match="scipy.sparse") as err:
        fca2(cost, [10.0, 10.0], [5.0, 5.0], 300.0)
    assert "coo_array" in err.value.message("zh")
    # The fix the message suggests keeps the 0 as reachable.
    r, c = np.nonzero(np.isfinite(cost))
    cost = sp.coo_array((cost[r, c], (r, c)), shape=cost.shape)
    np.testing.assert_allclose(fca2(cost, [10.0, 10.0], [5.0, 5.0], 300.0), [500.0, 500.0])

    zero = _csr([0], [0], [0.0], (1, 1))
    with pytest.raises(ModelError, match="min_cost"):
        fca2(zero, [10.0], [5.0], 1.0, "gravity")
    assert fca2(zero, [10.0], [5.0], 1.0, "gravity", min_cost=0.1)[0] == pytest.approx(500.0)

    with pytest.raises(ModelError, match="numpy.vectorize"):
        fca2(zero, [10.0], [5.0], 1.0, lambda d: 1.0)
    assert fca2(zero, [10.0], [5.0], 1.0, np.vectorize(lambda d: 1.0))[0] == pytest.approx(500.0)

    with pytest.raises(ModelError, match=r"catchment\[1\] = -1"):
        fca2(_csr([0], [0], [1.0], (2, 1)), [1.0, 1.0], [1.0], [1.0, -1.0])
    with pytest.raises(ModelError, match="demand must have one value per demand point"):
        fca2(zero, [1.0, 2.0], [1.0], 1.0)
    with pytest.raises(ModelError, match="unknown decay 'gauss'"):
        fca2(zero, [1.0], [1.0], 1.0, "gauss")


# --------------------------------------------------------------------------- equality with PySAL access


def _long(cost):
    coo = sp.coo_array(cost)
    return pd.DataFrame({"origin": coo.row, "dest": coo.col, "cost": coo.data})


def _reference(method, cost, demand, supply, max_cost, weight_fn):
    """PySAL access on the same pairs; NaN (no facility in reach) read as 0, as siting gives."""
    n, m = cost.shape
    a = Access(demand_df=pd.DataFrame({"geoid": np.arange(n), "pop": demand}), demand_index="geoid",
               demand_value="pop", supply_df=pd.DataFrame({"geoid": np.arange(m), "places": supply}),
               supply_index="geoid", supply_value="places", cost_df=_long(cost), cost_origin="origin",
               cost_dest="dest", cost_name="cost")
    getattr(a, method)(name="x", max_cost=max_cost, weight_fn=weight_fn)
    return a.access_df["x_places"].reindex(np.arange(n)).fillna(0.0).to_numpy()


def _grid_case(random_values=False, seed=44):
    """access's own fixture (tests/util.py): a 5 × 5 grid, 5 demand cells, Euclidean costs between all cells."""
    grid = access_util.create_nxn_grid(5, random_values=random_values, seed=seed)
    demand = grid.sample(5, random_state=1)
    costs = access_util.create_cost_matrix(grid, "euclidean")
    pos = {gid: i for i, gid in enumerate(grid["id"])}
    dpos = {gid: i for i, gid in enumerate(demand["id"])}
    costs = costs[costs["origin"].isin(dpos)]
    cost = _csr(costs["origin"].map(dpos), costs["dest"].map(pos), costs["cost"], (len(demand), len(grid)))
    supply = grid["value"].to_numpy(float)
    # access's supply values equal its demand values in the fixture; make them differ.
    return cost, demand["value"].to_numpy(float), supply * np.arange(1, len(grid) + 1)


def _dai(d0):
    e = math.exp(-0.5)
    return lambda d: (np.exp(-0.5 * (np.asarray(d) / d0) ** 2) - e) / (1 - e)


@pytest.mark.parametrize("random_values", [False, True])
@pytest.mark.parametrize("max_cost", [0.9, 1.5, 2.5, None])
def test_fca2_equals_access_on_its_grid_fixture(random_values, max_cost):
    cost, demand, supply = _grid_case(random_values)
    limit = np.inf if max_cost is None else max_cost
    ref = _reference("two_stage_fca", cost, demand, supply, max_cost, None)
    np.testing.assert_allclose(fca2(cost, demand, supply, limit, per=1.0), ref, rtol=RTOL, atol=ATOL)
    steps = {1.0: 1.0, 2.0: 0.68, 3.0: 0.22}
    ref = _reference("enhanced_two_stage_fca", cost, demand, supply, max_cost, weights.step_fn(steps))
    np.testing.assert_allclose(fca2(cost, demand, supply, limit, steps, per=1.0), ref, rtol=RTOL, atol=ATOL)
    ref = _reference("two_stage_fca", cost, demand, supply, max_cost, weights.gaussian(1.2))
    np.testing.assert_allclose(fca2(cost, demand, supply, limit, weights.gaussian(1.2), per=1.0), ref,
                               rtol=RTOL, atol=ATOL)
    ref = _reference("two_stage_fca", cost, demand, supply, max_cost, weights.gravity(1, -1.5, min_dist=0.5))
    np.testing.assert_allclose(fca2(cost, demand, supply, limit, "gravity", beta=1.5, min_cost=0.5, per=1.0), ref,
                               rtol=RTOL, atol=ATOL)
    if max_cost is not None:
        ref = _reference("two_stage_fca", cost, demand, supply, max_cost, _dai(max_cost))
        np.testing.assert_allclose(fca2(cost, demand, supply, limit, "gaussian", per=1.0), ref, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("random_values", [False, True])
@pytest.mark.parametrize("max_cost", [0.9, 1.5, 2.5, None])
def test_fca3_equals_access_on_its_grid_fixture(random_values, max_cost):
    cost, demand, supply = _grid_case(random_values)
    limit = np.inf if max_cost is None else max_cost
    for fn, mine in [(weights.step_fn({10: 25}), {10: 25}), (weights.gaussian(1.2), weights.gaussian(1.2)),
                     (weights.step_fn({1.0: 0.962, 2.0: 0.704, 3.0: 0.377}), {1.0: 0.962, 2.0: 0.704, 3.0: 0.377})]:
        ref = _reference("three_stage_fca", cost, demand, supply, max_cost, fn)
        # access shares the selection weights over every pair of its cost table.
        got = fca3(cost, demand, supply, limit, mine, per=1.0, selection="all")
        np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL)
    # The paper's selection (within the catchment) is access on the table cut at the catchment.
    coo = sp.coo_array(cost)
    keep = coo.data <= limit
    inside = _csr(coo.row[keep], coo.col[keep], coo.data[keep], cost.shape)
    ref = _reference("three_stage_fca", inside, demand, supply, max_cost, weights.gaussian(1.2))
    np.testing.assert_allclose(fca3(cost, demand, supply, limit, weights.gaussian(1.2), per=1.0), ref,
                               rtol=RTOL, atol=ATOL)


def _hospital_scenarios():
    """access's tests/test_hospital_example.py: three tracts, four traffic scenarios."""
    out = []
    own = [(1, 1, 1), (2, 2, 1), (3, 3, 1)]
    for inbound, outbound, cross in [(40, 40, 80), (20, 40, 80), (40, 20, 80), (20, 20, 40)]:
        rows = own + [(1, 3, inbound), (2, 3, inbound), (3, 1, outbound), (3, 2, outbound), (1, 2, cross),
                      (2, 1, cross)]
        r, c, d = zip(*rows)
        out.append(_csr(np.array(r) - 1, np.array(c) - 1, d, (3, 3)))
    return out


@pytest.mark.parametrize("scenario", range(4))
def test_equals_access_on_its_hospital_example(scenario):
    cost = _hospital_scenarios()[scenario]
    pop, docs = np.array([100.0, 50.0, 10.0]), np.array([15.0, 20.0, 100.0])
    gravity = weights.gravity(1, -1)
    ref = _reference("two_stage_fca", cost, pop, docs, 61, gravity)
    np.testing.assert_allclose(fca2(cost, pop, docs, 61, "gravity", beta=1.0, per=1.0), ref, rtol=RTOL, atol=ATOL)
    ref = _reference("three_stage_fca", cost, pop, docs, 61, gravity)
    np.testing.assert_allclose(fca3(cost, pop, docs, 61, "gravity", beta=1.0, per=1.0, selection="all"), ref,
                               rtol=RTOL, atol=ATOL)
    assert ref.min() > 0


@pytest.fixture(scope="module")
def demo_case():
    """The bundled demo district: compounds × facilities with places, costs as shares of each compound's
    own catchment (street 300 m walk, town 1 km walk, village 10 min drive), children as demand."""
    from siting.audit import catchment_of
    from siting.demand import compound_demand, facility_supply
    from siting.optimize import cost_matrix

    project = siting.load_project()
    compounds = project.compounds.copy()
    compounds["catchment"] = catchment_of(compounds, project.townships).to_numpy()
    childcare = project.childcare.join(facility_supply(project.childcare, project.config))
    facilities = childcare[childcare["places_supply"] > 0]
    cost = cost_matrix(project, compounds, facilities, project.config)
    children = compound_demand(compounds, project.config)["population"].fillna(0).to_numpy() * 0.019
    return cost, children, facilities["places_supply"].to_numpy(float)


def _grid_network_case():
    """A generated 25 × 25 street grid: 400 demand points, 40 facilities, 900 m along roads."""
    import geopandas as gpd
    import shapely

    from siting.network import grid_graph, od_matrix

    graph = grid_graph(25, 25, spacing=100.0, seed=3)
    rng = np.random.default_rng(7)
    nodes = np.array(list(graph.nodes))
    xy = np.array([(graph.nodes[v]["x"], graph.nodes[v]["y"]) for v in nodes])
    jitter = rng.normal(scale=0.0002, size=(440, 2))
    pts = gpd.GeoSeries(shapely.points(xy[rng.integers(0, len(nodes), 440)] + jitter), crs="EPSG:4326")
    cost = od_matrix(graph, pts.iloc[:400], pts.iloc[400:], cutoff=900.0)
    return cost, rng.integers(0, 60, 400).astype(float), rng.integers(10, 80, 40).astype(float)


@pytest.mark.parametrize("case", ["demo", "grid"])
def test_equals_access_on_demo_sized_cases(case, request):
    if case == "demo":
        cost, demand, supply = request.getfixturevalue("demo_case")
        limit, dai = 1.0, _dai(1.0)
    else:
        cost, demand, supply = _grid_network_case()
        limit, dai = 900.0, _dai(900.0)
    assert cost.nnz > 300
    steps = {limit / 3: 1.0, 2 * limit / 3: 0.68, limit: 0.22}
    for mine, theirs in [(None, None), (steps, weights.step_fn(steps)), ("gaussian", dai),
                         ("gravity", weights.gravity(1, -1, min_dist=limit / 10))]:
        ref = _reference("two_stage_fca", cost, demand, supply, limit, theirs)
        got = fca2(cost, demand, supply, limit, mine, beta=1.0, min_cost=limit / 10, per=1.0)
        np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL)
        assert (got > 0).sum() > 10
        if mine is not None:
            ref = _reference("three_stage_fca", cost, demand, supply, limit, theirs)
            got = fca3(cost, demand, supply, limit, mine, beta=1.0, min_cost=limit / 10, per=1.0)
            np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- the index for a project


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from siting.pipeline import run
    from tests.tiny import write_tiny_project

    root = tmp_path_factory.mktemp("tiny_access")
    config = write_tiny_project(root / "tiny", config_extra='\n[access]\ndecay = "step"\n')
    return run(config, root / "out", progress=False, stages=("audit", "optimize", "access"),
               overrides={"analysis.as_of": "2026-11-29", "optimize.p": 1})


def _pairs_by_hand(run_result, sites=None):
    """(compound, facility, places) within each compound's catchment, from the audit's own pairs."""
    from siting.audit import catchment_pairs

    project, audit = run_result.project, run_result.audit
    fac = audit.childcare[audit.childcare["places_supply"] > 0]
    places = list(fac["places_supply"])
    geoms = list(fac.geometry)
    if sites is not None:
        places += list(sites["places"])
        geoms += list(sites.geometry)
    import geopandas as gpd

    facilities = gpd.GeoDataFrame({"places": places}, geometry=geoms, crs="EPSG:4326")
    pairs = catchment_pairs(project, audit.compounds, facilities, audit.compounds["catchment"], project.config)
    pairs["places"] = facilities["places"].to_numpy()[pairs["col"].to_numpy(int)]
    return pairs


def _step_2sfca_by_hand(pairs, children, n):
    """Luo & Wang (2003) with pandas group sums over the pair list: R_j = S_j / Σ P, A_i = Σ R_j."""
    pairs = pairs.assign(children=children[pairs["row"].to_numpy(int)])
    ratio = pairs.groupby("col")["places"].first() / pairs.groupby("col")["children"].sum()
    access = pairs.assign(r=ratio.reindex(pairs["col"]).to_numpy()).groupby("row")["r"].sum()
    return access.reindex(range(n)).fillna(0.0).to_numpy() * 1000.0


def test_access_index_on_the_tiny_project(tiny_run):
    acc, audit = tiny_run.access, tiny_run.audit
    assert acc.scenarios == ["existing", "plan", "comply"]  # optimize.full_compliance is on by default
    n = len(audit.compounds)
    children = audit.compounds["population"].fillna(0).to_numpy(float) * 0.019
    np.testing.assert_allclose(acc.compounds["children"], children)
    pairs = _pairs_by_hand(tiny_run)
    assert len(pairs) > 0
    want = _step_2sfca_by_hand(pairs, children, n)
    np.testing.assert_allclose(acc.compounds["access_existing"], want, rtol=1e-9)
    assert (want > 0).any()
    # Every place of a facility someone reaches is shared out: Σ children × access / 1000 = those places.
    reached = pairs.drop_duplicates("col")["places"].sum()
    assert (children * acc.compounds["access_existing"]).sum() / 1000 == pytest.approx(reached, rel=1e-9)
    # With the proposed site; 2SFCA never lowers anyone's access when a facility is added.
    sites = tiny_run.optimize.sites
    assert len(sites) == 1
    want_plan = _step_2sfca_by_hand(_pairs_by_hand(tiny_run, sites), children, n)
    np.testing.assert_allclose(acc.compounds["access_plan"], want_plan, rtol=1e-9)
    assert (acc.compounds["access_plan"] >= acc.compounds["access_existing"] - 1e-9).all()
    assert (acc.compounds["access_plan"] > acc.compounds["access_existing"] + 1).any()
    # With the full-compliance plan's sites (siting.plan) instead.
    comply = tiny_run.optimize.comply.sites
    assert len(comply) >= 1
    want_comply = _step_2sfca_by_hand(_pairs_by_hand(tiny_run, comply), children, n)
    np.testing.assert_allclose(acc.compounds["access_comply"], want_comply, rtol=1e-9)
    # The target in places per 1,000 children: 4.72 per 1,000 residents ÷ 0.019.
    assert acc.threshold == pytest.approx(4.72 / 0.019)
    district = acc.district("existing")
    weights = children
    from siting.equity import gini, share_below

    assert district["gini"] == pytest.approx(gini(acc.compounds["access_existing"], weights))
    assert district["share_below"] == pytest.approx(share_below(acc.compounds["access_existing"], weights,
                                                                acc.threshold))


def test_access_outputs_in_audit_files(tiny_run):
    import geopandas as gpd
    import openpyxl

    out = tiny_run.out_dir
    sheets = openpyxl.load_workbook(out / "audit.xlsx", read_only=True).sheetnames
    assert {"可达性（小区）", "可达性公平", "可达性洛伦兹曲线", "小区与村庄"} <= set(sheets)
    table = pd.read_csv(out / "audit_access.csv")
    assert {"可达性：现状（每千名婴幼儿托位）", "可达性：建议方案实施后", "婴幼儿数（需求）"} <= set(table.columns)
    np.testing.assert_allclose(table["可达性：现状（每千名婴幼儿托位）"],
                               tiny_run.access.compounds["access_existing"].round(1))
    equity = pd.read_csv(out / "audit_access_equity.csv")
    assert set(equity["情景"]) == {"现状", "建议方案实施后", "全部合规后"}
    assert "全区合计" in set(equity["乡镇（街道）"])
    layer = gpd.read_file(out / "audit.gpkg", layer="access")
    assert len(layer) == len(tiny_run.audit.compounds)
    np.testing.assert_allclose(layer["access_plan"], tiny_run.access.compounds["access_plan"])
    lorenz = pd.read_csv(out / "audit_access_lorenz.csv")
    assert lorenz.groupby("情景")["婴幼儿累计占比"].max().tolist() == [1.0, 1.0, 1.0]


def test_comply_plan_is_a_third_scenario(tiny_run):
    from types import SimpleNamespace

    from siting.access import access_index

    sites = tiny_run.optimize.sites
    comply = SimpleNamespace(sites=sites.assign(places=sites["places"] * 2))
    acc = access_index(tiny_run.project, tiny_run.audit, SimpleNamespace(sites=sites, comply=comply))
    assert acc.scenarios == ["existing", "plan", "comply"]
    assert (acc.compounds["access_comply"] >= acc.compounds["access_plan"] - 1e-9).all()
    assert (acc.compounds["access_comply"] > acc.compounds["access_plan"]).any()
    assert set(acc.equity["scenario"]) == {"existing", "plan", "comply"}


def test_catchment_scale_widens_every_kind(tiny_run):
    from siting.access import access_index
    from siting.config import load_config

    config = load_config(tiny_run.project.config.path, {"access.decay": "step", "access.catchment_scale": 3.0})
    wide = access_index(tiny_run.project, tiny_run.audit, None, config)
    assert wide.scenarios == ["existing"]
    reached = lambda a: int((a.compounds["access_existing"] > 0).sum())  # noqa: E731
    assert reached(wide) > reached(tiny_run.access)


def test_steps_config_errors_name_the_keys():
    from siting.access import access_decay
    from siting.config import load_config
    from siting.errors import ConfigError

    bad = load_config(None, {"access.decay": "steps", "access.step_bounds": [0.5, 1.0], "access.step_weights": [1.0]})
    with pytest.raises(ConfigError, match="access.step_bounds and access.step_weights"):
        access_decay(bad)
    good = load_config(None, {"access.decay": "steps", "access.step_bounds": [0.5, 1.0],
                              "access.step_weights": [1.0, 0.5]})
    assert access_decay(good) == {0.5: 1.0, 1.0: 0.5}
    assert access_decay(load_config(None)) == "gaussian"


def test_cli_access_prints_the_index(tiny_config, tmp_path, capsys):
    from siting.cli import main

    assert main(["access", "--config", str(tiny_config), "--out", str(tmp_path / "o"), "--no-progress",
                 "--decay", "step", "-p", "1"]) == 0
    out = capsys.readouterr().out
    assert "现状：平均" in out and "建议方案实施后：平均" in out and "全部合规后：平均" in out and "基尼系数" in out
    assert (tmp_path / "o" / "audit_access.csv").exists()
    assert main(["--lang", "en", "access", "--config", str(tiny_config), "--out", str(tmp_path / "e"),
                 "--no-progress", "--method", "3sfca", "-p", "1"]) == 0
    out = capsys.readouterr().out
    assert "today: mean" in out and "places per 1,000 children" in out
    assert "Access: today (places per 1,000 children)" in pd.read_csv(tmp_path / "e" / "audit_access.csv").columns


def test_briefing_states_access_before_and_after(tiny_run):
    from siting import charts
    from siting.brief import briefing_html
    from siting.tables import number

    acc = tiny_run.access
    html = briefing_html(tiny_run.project, tiny_run.audit, tiny_run.optimize, "zh", access=acc)
    assert "沿路可达性与公平性" in html and "图3 婴幼儿托育可达性的洛伦兹曲线" in html
    before, after = acc.district("existing"), acc.district("comply")
    sentence = html[html.index("按两步移动搜索法（2SFCA）"):].split("</p>")[0]
    assert sentence.startswith("按两步移动搜索法（2SFCA）、无距离衰减，")  # the tiny run uses access.decay = "step"
    assert "（每千名婴幼儿托位数）" in sentence
    assert f"现状 {number(before['access_mean'], 1)}" in sentence
    assert f"由 {number(before['gini'], 3)} 变为 {number(after['gini'], 3)}" in sentence
    assert f"低于目标 {number(acc.threshold, 1)}" in sentence
    en = briefing_html(tiny_run.project, tiny_run.audit, tiny_run.optimize, "en", access=acc)
    assert "Access along roads and how evenly it is spread" in en and "the Gini coefficient goes from" in en
    assert "沿路可达性" not in briefing_html(tiny_run.project, tiny_run.audit, tiny_run.optimize, "zh")
    fig = charts.lorenz_chart(acc.lorenz, {"existing": "现状", "plan": "规划"}, "zh")
    lines = fig.axes[0].get_lines()
    assert len(lines) == 3  # equality, existing, plan
    part = acc.lorenz[acc.lorenz["scenario"] == "plan"]
    np.testing.assert_allclose(lines[2].get_ydata(), part["access_share"])


def test_access_classes_against_the_target():
    from siting.maps.district import ACCESS_COLOURS, _access_class, access_classes

    target = 248.4
    got = [_access_class(v, target) for v in (0.0, 1.0, 124.19, 124.2, 248.39, 248.4, 496.79, 496.8, 1e6)]
    assert got == [0, 1, 1, 2, 2, 3, 3, 4, 4]
    labels = [text for _, text in access_classes(target, "zh")]
    assert labels == ["无可达托位", "低于目标一半（< 124）", "低于目标（124–248）", "达到目标（248–497）", "目标两倍以上（≥ 497）"]
    assert [c for c, _ in access_classes(target, "en")] == list(ACCESS_COLOURS)


COUNT_LAYERS = """
const c = {};
map.eachLayer(l => { if (l.feature && l.feature.properties && l.feature.properties.layer) {
  const k = l.feature.properties.layer; c[k] = (c[k] || 0) + 1; } });
return c;
"""


def test_maps_show_the_access_layer_on_request(tiny_run, tmp_path, browser_page):  # noqa: F811
    from siting.maps import save_map
    from siting.maps.district import district_map

    acc = tiny_run.access
    args = (tiny_run.project, tiny_run.audit, tiny_run.optimize)
    path = save_map(district_map(*args, access=acc), tmp_path / "district.html")
    with browser_page(path, wait_for="window.L !== undefined") as page:
        assert page.requests == [] and page.console_errors == [] and page.page_errors == []
        counts = page.leaflet(COUNT_LAYERS)
        assert counts["compound"] == 4 and not any(k.startswith("access") for k in counts)  # hidden by default
        legend = page.evaluate("() => document.querySelector('#siting-legend').innerText")
        assert "托育可达性（每千名婴幼儿托位数；在图层列表中勾选显示）" in legend and "达到目标（248–497）" in legend
        page.page.locator(".leaflet-control-layers label", has_text="托育可达性：全部合规后").click()
        assert page.leaflet(COUNT_LAYERS)["access_comply"] == 4
        assert "access_existing" not in page.leaflet(COUNT_LAYERS)
        # each compound's class colour follows its access
        fills = page.leaflet("const f = {}; map.eachLayer(l => { if (l.feature && l.feature.properties.layer === "
                             "'access_comply') f[l.feature.properties.id] = l.options.fillColor; }); return f;")
        from siting.maps.district import ACCESS_COLOURS, _access_class

        want = {r.id: ACCESS_COLOURS[_access_class(r.access_comply, acc.threshold)]
                for r in acc.compounds.itertuples()}
        assert fills == want
    town = save_map(district_map(*args, township="乙镇", access=acc), tmp_path / "town.html")
    with browser_page(town, wait_for="window.L !== undefined") as page:
        page.page.locator(".leaflet-control-layers label", has_text="托育可达性：现状").click()
        assert page.leaflet(COUNT_LAYERS)["access_existing"] == int((acc.compounds["township"] == "乙镇").sum())


def test_access_layer_escapes_names(tiny_run):
    import json
    import re

    from siting.maps.district import district_map

    acc = tiny_run.access
    hostile = "<img src=x onerror=alert(1)>`${x}`"
    compounds = acc.compounds.copy()
    compounds.loc[compounds.index[0], "name"] = hostile
    page = district_map(tiny_run.project, tiny_run.audit, tiny_run.optimize,
                        access=type(acc)(compounds, acc.equity, acc.lorenz, acc.scenarios, acc.threshold, acc.settings)
                        ).get_root().render()
    tips = [json.loads(f'"{m}"') for m in re.findall(r'"_tip": "((?:[^"\\]|\\.)*)"', page)]
    tips = [tip for tip in tips if "onerror" in tip]
    assert len(tips) == len(acc.scenarios)  # one hover label per access layer, each escaped
    assert all(tip.startswith("&lt;img src=x onerror=alert(1)&gt;") for tip in tips)
