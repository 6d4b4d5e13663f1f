"""Full-compliance plan on the tiny project: every flagged compound remedied, townships at the target, gaps stated."""

import numpy as np
import pandas as pd
import pytest

from siting import load_project
from siting.audit import audit
from siting.cli import main
from siting.models.compliance import ComplianceCover
from siting.optimize import optimize


def _run(tiny_config, **overrides):
    p = load_project(tiny_config, overrides={"analysis.as_of": "2026-11-29", **overrides})
    r = audit(p)
    return p, r, optimize(p, r, p=1, max_p=2)


def test_compound_with_nothing_in_reach_gets_its_own_room(tiny_config):
    # C2 (甲二小区, delivered 2024-06-30 after the plan: a violation) needs 9.6288 places and no parcel,
    # kindergarten or health centre lies within its 300 m walk. Its own room: 1 class at 700,000 yuan,
    # less the 20,000 yuan start-up subsidy.
    _, r, o = _run(tiny_config, **{"optimize.generated_candidates": 0})
    c = o.comply
    assert c.summary["status"] == "optimal" and c.summary["flagged"] == 1
    assert list(c.sites["id"]) == ["R:C2"] and list(c.sites["classes"]) == [1]
    assert (c.summary["cost"], c.summary["subsidy"], c.summary["net_cost"]) == (700_000, 20_000, 680_000)
    row = c.compounds.set_index("id").loc["C2"]
    assert row["served"] == pytest.approx(9.6288) and row["unserved"] == 0 and row["site_id"] == "R:C2"
    assert row["compliance"] == "delivered_without_facility"


def test_unserved_compound_is_listed_with_the_reason_and_the_fix_works(tiny_config):
    _, _, o = _run(tiny_config, **{"optimize.generated_candidates": 0, "optimize.embedded_max_classes": 0})
    row = o.comply.compounds.set_index("id").loc["C2"]
    assert row["unserved"] == pytest.approx(9.6288) and row["site_id"] is None
    assert "optimize.embedded_max_classes" in row["unserved_reason"] and "embedded_max_classes" in row["unserved_reason_en"]
    assert o.comply.summary["unserved_compounds"] == 1
    # The fix the reason names: allow a room in the compound again.
    _, _, fixed = _run(tiny_config, **{"optimize.generated_candidates": 0, "optimize.embedded_max_classes": 1})
    assert fixed.comply.summary["unserved_compounds"] == 0


def test_every_township_reaches_the_target_and_the_remaining_gap_is_stated(tiny_config):
    # At 20 per 1,000: 甲街道 needs 100 places and has 80 (gap 20), 乙镇 needs 60 and has 30 (gap 30).
    _, r, o = _run(tiny_config, **{"policy.places_per_1000": 20.0})
    tw = o.comply.townships.set_index("township")
    assert tw.loc["甲街道", "gap"] == pytest.approx(20.0) and tw.loc["乙镇", "gap"] == pytest.approx(30.0)
    assert (tw["new_places"] >= tw["gap"] - 1e-6).all() and (tw["target_shortfall"] == 0).all()
    assert (tw["places_per_1000_after"] >= 20.0 - 1e-9).all()
    # The district requires 160 places and has 110; the p = 1 proposal adds its classes' places.
    g = o.gap
    added = float(o.sites["places"].sum())
    assert g["places_added"] == added > 0
    assert g["places_short_after"] == pytest.approx(max(0.0, 50.0 - added))
    assert g["per_1000_after"] == pytest.approx((110.0 + added) / 8.0)
    assert g["extra_cost"] == pytest.approx(o.comply.summary["cost"] - g["proposal_cost"])
    assert g["extra_sites"] == o.comply.summary["sites"] - g["proposal_sites"]


def test_optimize_comply_writes_the_plan(tiny_config, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["optimize", "--config", str(tiny_config), "--out", str(out), "--no-progress", "--comply"]) == 0
    assert "全面达标方案" in capsys.readouterr().out
    summary = pd.read_csv(out / "comply_summary.csv", encoding="utf-8-sig").set_index("key")
    sites = pd.read_csv(out / "comply_sites.csv", encoding="utf-8-sig")
    proposals = pd.read_csv(out / "proposals.csv", encoding="utf-8-sig")
    assert int(summary.loc["sites", "数值"]) == len(sites) == len(proposals)
    assert list(proposals["编号"]) == list(sites["编号"])
    comp = pd.read_csv(out / "comply_compounds.csv", encoding="utf-8-sig")
    assert (comp["仍无法服务托位"] == 0).all()


@pytest.mark.parametrize("seed", range(15))
def test_no_flagged_compound_is_left_unserved_when_each_has_its_own_room(seed):
    # Random shared sites plus one room per compound big enough for it: everything is served in full.
    rng = np.random.default_rng(100 + seed)
    n, m = int(rng.integers(3, 9)), int(rng.integers(1, 5))
    shared = rng.random((n, m)) < 0.4
    reach = np.hstack([shared, np.eye(n, dtype=bool)])
    w = rng.uniform(0.5, 40, n)
    modules = np.concatenate([rng.integers(1, 4, m), np.full(n, 2)])
    caps = modules * 20.0
    costs = modules * np.concatenate([rng.integers(1, 7, m) * 1e5, np.full(n, 7e5)])
    res = ComplianceCover(reach, w, caps, costs, modules).solve()
    assert res.status == "optimal"
    assert res.served == pytest.approx(w)


def test_run_writes_the_annex_sheet_the_phase_popup_and_page_one_states_the_ask(tiny_config, tmp_path):
    import json

    import openpyxl

    from siting.brief import briefing_html
    from siting.maps.district import district_map
    from siting.pipeline import run

    out = tmp_path / "run"
    res = run(tiny_config, out, stages=("audit", "optimize"), progress=False,
              overrides={"analysis.as_of": "2026-11-29", "optimize.generated_candidates": 0})
    # the annex: C2, its room, phase 1 — as a sheet in audit.xlsx and as a CSV
    sheet = openpyxl.load_workbook(out / "audit.xlsx")["须整改小区清单"]
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]]))
    assert sheet.max_row == 2 and row["编号"] == "C2" and row["整改站点编号"] == "R:C2" and row["实施阶段"] == 1
    assert (out / "audit_annex.csv").exists()
    # the township map's popup shows the phase
    html = district_map(res.project, res.audit, res.optimize, township="甲街道").get_root().render()
    assert json.dumps("第 1 阶段")[1:-1] in html and "R:C2" in html
    # page 1: the decision, in Chinese by default and in English
    zh = briefing_html(res.project, res.audit, res.optimize)
    first = zh[zh.index('class="cover"'):zh.index('class="summary"')]
    assert "决策要点" in first and "全面达标" in first and "68 万元" in first and "第一阶段" in first
    assert "两个缺口口径不同" in first
    en = briefing_html(res.project, res.audit, res.optimize, lang="en")
    first = en[en.index('class="cover"'):en.index('class="summary"')]
    assert "Full compliance" in first and "680,000 yuan net of subsidy" in first and "Phase 1" in first
    assert "甲二小区" in en[en.index('class="annex-list"'):]


def test_page_one_says_when_full_compliance_is_not_proven(tiny_config):
    from siting import brief_ask

    p, r, o = _run(tiny_config, **{"optimize.generated_candidates": 0})
    o.comply.summary.update(status="time_limit", gap=0.059)
    text = " ".join(brief_ask.decision(p, r, o, "zh"))
    assert "求解未证明最优" in text and "5.9%" in text
    o.comply.summary.update(status="optimal", gap=0.0)
    assert "求解未证明最优" not in " ".join(brief_ask.decision(p, r, o, "zh"))


@pytest.mark.parametrize("lang, words", [("zh", ["全面达标还需追加", "阶段末仍逾期小区数"]),
                                         ("en", ["full compliance needs", "Compounds late at the phase's end"])])
def test_optimize_states_the_remaining_gap_and_writes_the_phases(tiny_config, tmp_path, capsys, lang, words):
    out = tmp_path / lang
    assert main(["--lang", lang, "optimize", "--config", str(tiny_config), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert words[0] in printed
    phases = pd.read_csv(out / "phases.csv", encoding="utf-8-sig")
    assert words[1] in phases.columns and len(phases) >= 2


def test_page_one_reads_places_served_as_a_whole_number(tiny_config):
    # Served places come from an LP and are fractional; people read whole places (issue 14).
    from siting import brief_ask

    p, r, o = _run(tiny_config)
    assert len(o.sites)
    o.sites["places_served"] = 0.0
    o.sites.loc[o.sites.index[0], "places_served"] = 12.4
    zh = " ".join(brief_ask.decision(p, r, o, "zh"))
    en = " ".join(brief_ask.decision(p, r, o, "en"))
    assert "可服务未满足托位 12 个" in zh and "12.4" not in zh
    assert "serving 12 unmet places" in en and "12.4" not in en
