"""Phased plan: budgets and class limits hold, lateness is least (brute force), earlier deadlines go first."""

import datetime as dt
import itertools

import numpy as np
import pytest

from siting import load_project
from siting.audit import audit
from siting.models.phased import PhasedCover
from siting.optimize import optimize
from siting.phases import phase_calendar


def _late(due, starts, ends, tail):
    late = np.zeros((len(due), len(starts) + 1))
    for i, d in enumerate(due):
        for s, (a, b) in enumerate(zip(starts, ends)):
            late[i, s] = max(0, b - max(a, d))
        late[i, -1] = tail
    return late


def test_calendar_quarters_to_the_deadline_then_years():
    p = load_project(None)
    cal = phase_calendar(dt.date(2026, 12, 4), dt.date(2027, 4, 17), p.config)
    assert [str(d) for d in cal["end"]] == ["2027-03-04", "2027-04-17", "2028-04-17", "2029-04-17"]
    assert list(cal["kind"]) == ["quarter", "quarter", "year", "year"]
    # the short quarter (44 of 92 days) gets its share of the quarter's budget and classes
    assert cal["budget"].iloc[1] == pytest.approx(10_000_000 * 44 / 92)
    assert cal["classes"].tolist() == [30, 14, 120, 120]


def _brute_late(reach_site, w, late, cost, budgets, limits):
    """Least weighted place-days late over every opening phase per site (one class each, never = T)."""
    m, T = len(cost), len(budgets)
    best = None
    for when in itertools.product(range(T + 1), repeat=m):
        when = np.array(when)
        if any(cost[when == s].sum() > budgets[s] + 1e-9 or (when == s).sum() > limits[s] for s in range(T)):
            continue
        total = 0.0
        for s in range(T + 1):
            # during phase s the sites opened in phases < s serve; each site's 20 places go to its
            # rows with the most late days first (a fractional knapsack: optimal for one site)
            for j in range(m):
                rows = np.flatnonzero(reach_site == j)
                left = 20.0 if when[j] < s else 0.0
                for i in rows[np.argsort(-late[rows, s], kind="stable")]:
                    got = min(left, w[i])
                    left -= got
                    total += (w[i] - got) * late[i, s]
        best = total if best is None else min(best, total)
    return best


def _instance(seed):
    rng = np.random.default_rng(seed)
    m, T = int(rng.integers(2, 4)), int(rng.integers(1, 3))
    n = int(rng.integers(m, 6))
    reach_site = np.concatenate([np.arange(m), rng.integers(0, m, n - m)])
    cover = np.zeros((n, m), bool)
    cover[np.arange(n), reach_site] = True
    w = rng.uniform(1, 15, n).round(1)
    cost = rng.integers(1, 5, m) * 100.0
    budgets = rng.integers(1, 6, T) * 100.0
    limits = rng.integers(0, 3, T)
    late = _late(rng.integers(0, 30, n), np.arange(T) * 10, np.arange(1, T + 1) * 10, 10)
    return reach_site, cover, w, cost, budgets, limits, late


@pytest.mark.parametrize("seed", range(12))
def test_random_plans_respect_budgets_and_limits_and_match_brute_force(seed):
    reach_site, cover, w, cost, budgets, limits, late = _instance(seed)
    m = len(cost)
    model = PhasedCover(cover, w, np.full(m, 20.0), cost, np.ones(m, int), late, budgets, limits)
    res = model.solve()
    assert res["status"] == "optimal", res["reason"]
    built = np.diff(np.hstack([np.zeros((m, 1)), res["modules"]]), axis=1)
    assert (cost @ built <= budgets + 1e-9).all()
    assert (built.sum(axis=0) <= limits).all()
    assert model.check(res["modules"], res["assignment"]) == []
    assert res["late_days"] == pytest.approx(_brute_late(reach_site, w, late, cost, budgets, limits), abs=1e-6)


def _greedy_schedule(cost, budgets, limits, rng):
    """Some schedule that keeps every rule: sites in random order, each in the first phase with room."""
    m, T = len(cost), len(budgets)
    y = np.zeros((m, T), dtype=int)
    spent, built = np.zeros(T), np.zeros(T)
    for j in rng.permutation(m):
        for s in range(T):
            if spent[s] + cost[j] <= budgets[s] and built[s] < limits[s]:
                spent[s] += cost[j]
                built[s] += 1
                y[j, s:] = 1
                break
    return y


@pytest.mark.parametrize("seed", range(40))
def test_a_start_is_improved_to_the_brute_force_optimum(seed):
    # the "all candidates" plan starts from the compliance plan's schedule: any schedule keeping the rules,
    # and one breaking them (ignored), must still end at the least lateness
    reach_site, cover, w, cost, budgets, limits, late = _instance(seed)
    model = PhasedCover(cover, w, np.full(len(cost), 20.0), cost, np.ones(len(cost), int), late, budgets, limits)
    rng = np.random.default_rng(1000 + seed)
    start = _greedy_schedule(cost, budgets, limits, rng)
    assert model.check(start, [np.zeros(cover.shape)] * len(budgets)) == []
    best = _brute_late(reach_site, w, late, cost, budgets, limits)
    for given in (start, np.ones_like(start) * 9):  # 9 classes of a 1-class site: broken, so not used
        res = model.solve(start=given)
        assert res["status"] == "optimal", res["reason"]
        assert model.check(res["modules"], res["assignment"]) == []
        assert res["late_days"] == pytest.approx(best, rel=1e-7, abs=1e-6)  # flows meet HiGHS's tolerance


@pytest.mark.parametrize("seed", range(30))
def test_earlier_deadline_is_never_scheduled_after_a_later_one_at_the_same_cost(seed):
    # n compounds, each with its own equal site (same cost, same places, same demand); one class a phase.
    rng = np.random.default_rng(50 + seed)
    n = int(rng.integers(3, 7))
    due = rng.choice(np.arange(0, 10 * n + 10), n, replace=False)
    starts, ends = np.arange(n) * 10, np.arange(1, n + 1) * 10
    late = _late(due, starts, ends, 10)
    model = PhasedCover(np.eye(n, dtype=bool), np.full(n, 12.0), np.full(n, 20.0), np.full(n, 300.0), np.ones(n, int),
                        late, np.full(n, np.inf), np.ones(n), priority=1.0 / (1.0 + due))
    res = model.solve()
    assert res["status"] == "optimal"
    opened = np.argmax(res["modules"] > 0, axis=1)  # every site opens: each cuts lateness
    assert (res["modules"][:, -1] == 1).all()
    order = np.argsort(due)
    assert (np.diff(opened[order]) >= 0).all(), (due, opened)


def test_demo_like_plan_on_tiny_project_schedules_the_compliance_sites(tiny_config):
    p = load_project(tiny_config, overrides={"analysis.as_of": "2026-11-29", "optimize.generated_candidates": 0})
    o = optimize(p, audit(p), p=1, max_p=2)
    t = o.phases.table
    assert o.phases.summary["status"] == "optimal"
    # C2's room (1 class, 700,000 yuan) opens in the first quarter: it is a violation, late every day.
    assert t["sites_opened"].iloc[0] == 1 and t["cost"].iloc[0] == pytest.approx(700_000)
    assert t["compounds_remedied"].sum() == 1 and t["compounds_late"].iloc[0] == 0
    row = o.phases.compounds.set_index("id").loc["C2"]
    assert row["phase"] == 1 and row["phase_site_id"] == "R:C2"
    # the township targets at each phase's end: the room's 20 places land in C2's township from phase 1 on
    tw = o.comply.townships.set_index("township")
    before = tw["places_inside"].sum() * 1000 / tw["population"].sum()
    assert t["district_per_1000"].iloc[0] == pytest.approx(before + 20 * 1000 / tw["population"].sum())
    town = o.comply.sites.set_index("id").loc["R:C2", "township"]
    per = (tw.loc[town, "places_inside"] + 20) * 1000 / tw.loc[town, "population"]
    target = p.config["policy.places_per_1000"]
    assert (f"{town}（{per:.2f}）" in t["townships_below_list"].iloc[0]) == (per < target)
    assert t["townships_below_target"].iloc[0] == sum(
        (tw.loc[x, "places_inside"] + (20 if x == town else 0)) * 1000 / tw.loc[x, "population"] < target for x in tw.index)


def test_all_candidates_plan_is_never_later_than_the_compliance_schedule(tiny_config):
    over = {"analysis.as_of": "2026-11-29", "optimize.generated_candidates": 0, "optimize.phase_budget_quarter": 700_000}
    p = load_project(tiny_config, overrides=over)
    a = audit(p)
    comply = optimize(p, a, p=1, max_p=2).phases
    p_all = load_project(tiny_config, overrides={**over, "optimize.phase_sites": "all"})
    every = optimize(p_all, audit(p_all), p=1, max_p=2).phases
    assert every.summary["status"] == "optimal"
    assert every.summary["late_place_days"] <= comply.summary["late_place_days"] + 1e-6
