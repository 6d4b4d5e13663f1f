"""End to end on the tiny project: `siting run` writes its outputs and the overview map works offline."""

import hashlib

import pandas as pd
import pytest

from siting.cli import main
from siting.pipeline import run
from tests.browser import browser_page  # noqa: F401  (fixture)

COUNT_FEATURES = """
return Object.values(map._layers).filter(l => l instanceof L.GeoJSON)
  .map(g => g.getLayers().length);
"""


def _demo_config(cfg):
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('data_date = "2026-01-01"', 'data_date = "2026-01-01"\ndemo = true'),
                   encoding="utf-8")
    return cfg


def test_run_writes_every_output(tiny_config, tmp_path):
    out = tmp_path / "out"
    result = run(tiny_config, out, progress=False)
    for name in ("overview.html", "audit.gpkg", "audit.xlsx", "audit_compounds.csv", "audit_townships.csv",
                 "service_areas.gpkg", "district.html", "index.html", "proposals.csv", "briefing.pdf",
                 "comply_summary.csv", "comply_sites.csv", "comply_compounds.csv", "phases.csv", "audit_annex.csv"):
        assert (out / name).stat().st_size > 0, name
    sheets = pd.read_excel(out / "audit.xlsx", sheet_name=None)
    assert list(sheets) == ["乡镇汇总", "小区与村庄", "托育机构", "1+8+N指导体系", "托位分配", "可达性（小区）", "可达性公平",
                            "可达性洛伦兹曲线", "须整改小区清单"]
    assert "每千人口托位数" in sheets["乡镇汇总"].columns
    # the index links the briefing and says why a township above the target can still have flagged compounds
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="briefing.html"' in index and (out / "briefing.html").is_file()
    assert "为什么达标的乡镇仍有被标记的小区" in index
    assert set(sheets["小区与村庄"]["评估结果"]) <= {"已覆盖", "托位不足", "服务范围内无设施"}
    assert result.audit is not None and len(result.audit.compounds) == 4
    import geopandas as gpd

    areas = gpd.read_file(out / "service_areas.gpkg")
    assert len(areas) == 3 * 3  # 3 facilities with places × the 300 / 500 / 1,000 m defaults


def test_run_in_english_uses_english_headers(tiny_config, tmp_path):
    run(tiny_config, tmp_path / "en", lang="en", progress=False)
    table = pd.read_csv(tmp_path / "en" / "audit_compounds.csv")
    assert {"Flag", "Compliance", "Deadline", "Days left", "Rule", "Reason"} <= set(table.columns)
    assert set(table["Flag"]) <= {"covered", "under_served", "no_facility"}


def test_run_is_deterministic(tiny_config, tmp_path):
    digests = []
    for k in range(2):
        run(tiny_config, tmp_path / f"r{k}", progress=False, overrides={"analysis.as_of": "2026-11-29"})
        digests.append({n: hashlib.sha256((tmp_path / f"r{k}" / n).read_bytes()).hexdigest()
                        for n in ("overview.html", "audit_compounds.csv", "audit_townships.csv", "audit_allocation.csv")})
    assert digests[0] == digests[1]


def test_overview_map_renders_offline_with_every_layer(tiny_config, tmp_path, browser_page):  # noqa: F811
    _demo_config(tiny_config)
    run(tiny_config, tmp_path / "m", progress=False, stages=("map",))
    html = (tmp_path / "m" / "overview.html").read_text(encoding="utf-8")
    assert "演示数据（合成）" in html
    with browser_page(tmp_path / "m" / "overview.html", wait_for="window.L !== undefined") as page:
        assert page.requests == [] and page.console_errors == [] and page.page_errors == []
        sizes = page.leaflet(COUNT_FEATURES)
        # boundary 1, roads (one line per highway class: residential, tertiary) 2, townships 2, compounds 4,
        # childcare 3, health 2, parcels 2
        assert sorted(sizes) == sorted([1, 2, 2, 4, 3, 2, 2])
        assert page.evaluate("() => document.getElementById('siting-title').innerText").startswith("测试区 托育设施现状总览")
        text = page.click_popup(35.1040, 119.2030)  # 阳光幼儿园
        assert "阳光幼儿园" in text and "托位数" in text
        page.screenshot(tmp_path.parent / "overview.png")


def test_cli_validate_and_errors(tiny_config, capsys):
    assert main(["validate", "--config", str(tiny_config)]) == 0
    out = capsys.readouterr().out
    assert "compounds：4 个要素" in out and "检查通过" in out
    assert main(["--lang", "en", "validate", "--config", str(tiny_config.parent / "missing.toml")]) == 2
    assert "Error: config file not found" in capsys.readouterr().err


def test_cli_reports_bad_data_without_traceback(tiny_config, capsys):
    path = tiny_config.parent / "health.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("H2,", "H1,"), encoding="utf-8")
    assert main(["validate", "--config", str(tiny_config)]) != 0
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "编号“H1”重复" in text and "Traceback" not in text


@pytest.mark.parametrize("argv, files", [
    (["audit", "--as-of", "2026-11-29"], ["audit.xlsx", "audit_compounds.csv", "service_areas.gpkg"]),
    (["optimize", "-p", "1"], ["proposals.csv", "coverage_curve.csv"]),
    (["--lang", "en", "optimize", "--budget", "2000000"], ["proposals.csv"]),
    (["map", "--no-sites"], ["district.html", "township_01.html", "index.html"]),
    (["brief", "-p", "1"], ["briefing.pdf", "briefing.html"]),
])
def test_cli_commands_write_their_outputs(tiny_config, tmp_path, capsys, argv, files):
    out = tmp_path / "cli"
    assert main([*argv, "--config", str(tiny_config), "--out", str(out), "--no-progress"]) == 0
    for name in files:
        assert (out / name).stat().st_size > 0, name
    text = capsys.readouterr().out
    assert ("Done." in text) if "en" in argv else ("完成" in text)
