"""Planning layer on the tiny project (tests/tiny.py): candidates, scenarios, proposals."""

import numpy as np
import pytest
from scipy import sparse

from siting import load_project
from siting.audit import audit
from siting.optimize import candidate_sites, optimize


@pytest.fixture
def tiny(tiny_config):
    p = load_project(tiny_config, overrides={"analysis.as_of": "2026-11-29"})
    return p, audit(p)


def test_candidates_sizes_costs_and_subsidy(tiny):
    p, r = tiny
    c = candidate_sites(p, r).set_index("id")
    # P-1: 2,000 m² → min(3 classes per site, 2,000 // 300 = 6) = 3 classes, 60 places, 3 × 600,000 yuan,
    # start-up subsidy 3 × 20,000 = 60,000 yuan.
    assert c.loc["P:P-1", ["classes", "places", "cost", "subsidy", "net_cost"]].tolist() == [3, 60, 1_800_000, 60_000, 1_740_000]
    # Township health centres: 2 classes at 250,000 yuan each.
    assert c.loc["H:H1", ["classes", "places", "cost", "subsidy"]].tolist() == [2, 40, 500_000, 40_000]
    # K1 already has 托班, so no kindergarten candidate; one generated candidate for the single unmet compound.
    assert not any(i.startswith("K:") for i in c.index)
    assert sum(i.startswith("G:") for i in c.index) == 1


def test_small_parcels_are_not_candidates(tiny_config):
    p = load_project(tiny_config, overrides={"optimize.min_parcel_area": 2500.0})
    c = candidate_sites(p)
    assert "P:P-1" not in set(c["id"]) and "P:P-2" in set(c["id"])


def test_only_a_site_within_the_catchment_serves_the_compound(tiny_config):
    # C2 needs 9.6288 places and nothing lies within its 300 m walk; without generated candidates
    # no candidate reaches it, so the optimum serves nothing.
    p = load_project(tiny_config, overrides={"optimize.generated_candidates": 0})
    r = audit(p)
    o = optimize(p, r, p=1, max_p=2)
    assert o.scenario["unmet_total"] == pytest.approx(9.6288)
    assert o.scenario["objective"] == pytest.approx(0.0)


def test_generated_site_serves_all_unmet_places(tiny):
    p, r = tiny
    o = optimize(p, r, p=1, max_p=3)
    s = o.sites.iloc[0]
    assert o.scenario["status"] == "optimal"
    assert s["rank"] == 1 and s["id"] == "G:01"
    assert s["places_served"] == pytest.approx(9.6288)
    assert s["compounds"] == "甲二小区" and s["population_covered"] == pytest.approx(2040)
    # Sized to what it serves: ceil(9.6288 / 20) = 1 class of the 3 possible, 20 places,
    # 600,000 yuan, less the 20,000 yuan start-up subsidy.
    assert (s["capacity_classes"], s["classes"], s["places"]) == (3, 1, 20)
    assert (s["cost"], s["subsidy"], s["net_cost"]) == (600_000, 20_000, 580_000)


def test_coverage_curve_is_non_decreasing_and_bounded(tiny):
    p, r = tiny
    o = optimize(p, r, p=2, max_p=5)
    served = o.curve["places_served"].to_numpy()
    assert (np.diff(served) >= -1e-9).all()
    assert (served <= o.scenario["unmet_total"] + 1e-9).all()
    assert list(o.curve["p"]) == [1, 2, 3, 4, 5]


def test_budget_below_any_site_proposes_nothing(tiny):
    p, r = tiny
    o = optimize(p, r, budget=100_000.0, max_p=3)
    assert o.scenario["kind"] == "budget" and o.scenario["p"] == 0 and len(o.sites) == 0


def test_budget_buys_the_plan_that_fits(tiny):
    p, r = tiny
    o = optimize(p, r, budget=2_000_000.0, max_p=3)
    assert o.scenario["p"] >= 1
    assert o.sites["cost"].sum() <= 2_000_000.0


def test_employer_facilities_are_candidates(tiny_config):
    csv = tiny_config.parent / "childcare.csv"
    csv.write_text(csv.read_text(encoding="utf-8-sig") + "E1,港务公司托育室,单位自办,15,1,是,是,否,119.2120,35.1110\n",
                   encoding="utf-8")
    p = load_project(tiny_config)
    c = candidate_sites(p).set_index("id")
    # 1 class at 200,000 yuan, less the 20,000 yuan start-up subsidy.
    assert c.loc["E:E1", ["kind", "classes", "places", "cost", "net_cost"]].tolist() == ["employer", 1, 20, 200_000, 180_000]


def test_nothing_unmet_gives_an_empty_result_not_an_error(tiny_config):
    # With a 600 m street catchment every compound is served by an existing facility.
    p = load_project(tiny_config, overrides={"catchment.street_limit": 600.0, "catchment.town_limit": 2000.0})
    r = audit(p)
    assert (r.compounds["flag"] == "covered").all()
    o = optimize(p, r, p=2)
    assert o.scenario["status"] == "nothing_to_do" and o.scenario["p"] == 0
    assert len(o.sites) == 0 and "compound_ids" in o.sites.columns and len(o.curve) == 0


def test_sites_list_the_ids_of_the_compounds_they_serve(tiny):
    p, r = tiny
    s = optimize(p, r, p=1, max_p=1).sites.iloc[0]
    assert s["compound_ids"] == "C2"


def test_budget_scenario_is_the_optimum_within_the_budget(tiny):
    p, r = tiny
    # The only candidate that reaches C2 is the generated one: 1,800,000 yuan for 3 classes at full size,
    # 600,000 a class. One class (20 places) serves all 9.6288 places, so a budget of 599,999 buys
    # nothing that helps and 600,000 buys everything.
    assert optimize(p, r, budget=599_999.0, max_p=1).scenario["objective"] == 0.0
    o = optimize(p, r, budget=600_000.0, max_p=1)
    assert o.scenario["status"] == "optimal" and o.scenario["objective"] == pytest.approx(9.6288)
    assert list(o.sites["id"]) == ["G:01"]
    site = o.sites.iloc[0]
    assert (site["classes"], site["places"], site["cost"], site["capacity_classes"]) == (1, 20, 600_000.0, 3)


def test_minimum_places_per_township(tiny_config):
    # At least 40 new places in every township with candidates: 乙镇 only has H2 (40 places) and P-2 (60)
    # reaching nobody, so the plan must open one of them besides the site serving C2.
    p = load_project(tiny_config, overrides={"optimize.min_places_per_township": 40.0})
    o = optimize(p, audit(p), p=3, max_p=3)
    assert o.scenario["status"] == "optimal"
    assert o.scenario["objective"] == pytest.approx(9.6288)
    for township in ("甲街道", "乙镇"):
        # the classes proposed, not the candidates' full size, meet the minimum
        assert o.sites.loc[o.sites["township"] == township, "places"].sum() >= 40


def test_impossible_minimum_is_reported(tiny_config):
    p = load_project(tiny_config, overrides={"optimize.min_places_per_township": 500.0})
    o = optimize(p, audit(p), p=2, max_p=2)
    assert o.scenario["status"] == "infeasible" and "minimum" in o.scenario["reason"] and len(o.sites) == 0


def test_marginal_order_known_answer():
    from siting.optimize import marginal_order

    # Site 0 reaches demand 0, 1 (10 + 5); site 1 reaches 1, 2, 3 (5 + 8 + 4); site 2 reaches 3 (4).
    # Greedy marginal coverage: site 1 first (17), then site 0 adds only demand 0 (10), site 2 adds 0.
    cost = sparse.csr_array(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1]], dtype=float))
    order, gains = marginal_order(cost, np.array([10.0, 5.0, 8.0, 4.0]), np.full(3, 27.0), [0, 1, 2])
    assert list(order) == [1, 0, 2] and gains.tolist() == pytest.approx([17.0, 10.0, 0.0])


def test_ranks_follow_marginal_coverage(tiny):
    p, r = tiny
    o = optimize(p, r, p=3, max_p=3)
    gains = o.sites["marginal_places"].to_numpy()
    assert list(o.sites["rank"]) == list(range(1, len(o.sites) + 1))
    assert (np.diff(gains) <= 1e-9).all() and gains.sum() == pytest.approx(o.scenario["objective"])
