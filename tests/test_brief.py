"""The printable briefing: PDF pages, Chinese text, headings, demo notice, no missing glyphs.

Skips (with the reason) when poppler-utils (pdftotext/pdfinfo), WeasyPrint or a CJK font is missing:
``scripts/install-system-deps.sh`` installs them. The demo tests also render pages to PNG under
``test-artifacts/brief/`` for a person to look at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pandas as pd
import pytest

from siting import charts
from siting.project import DEMO_CONFIG
from tests.tiny import write_tiny_project

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "brief"


def _require_tools():
    missing = [t for t in ("pdftotext", "pdfinfo") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not found: install poppler-utils (scripts/install-system-deps.sh)")
    try:
        charts.find_cjk_font()
    except charts.FontMissingError as err:
        pytest.skip(err.message("zh"))
    pytest.importorskip("weasyprint", reason="WeasyPrint not installed: pip install 'siting[pdf]'")


def pdf_pages(path: Path) -> int:
    out = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))


def pdf_text(path: Path, page: int | None = None) -> str:
    args = ["pdftotext", "-enc", "UTF-8"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    return subprocess.run(args + [str(path), "-"], capture_output=True, text=True, check=True).stdout


def _write(project, audit, opt, out, lang):
    from siting.brief import write_briefing

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=r".*Glyph .* missing from.*")
        return write_briefing(project, audit, opt, out, lang=lang)


def _run(config, overrides=None):
    from siting import load_project
    from siting.audit import audit
    from siting.optimize import optimize

    project = load_project(config, overrides)
    result = audit(project)
    return project, result, optimize(project, result)


def _heading_pages(pdf: Path, headings) -> dict[str, int]:
    """The page each heading is on, requiring it to open the page (within its first lines after the running header)."""
    found = {}
    for page in range(1, pdf_pages(pdf) + 1):
        lines = [ln.strip() for ln in pdf_text(pdf, page).splitlines() if ln.strip()]
        for h in headings:
            if h in lines[:3] and h not in found:
                found[h] = page
    return found


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    _require_tools()
    root = tmp_path_factory.mktemp("brief")
    cfg = write_tiny_project(root / "tiny")
    run = _run(cfg, {"analysis.as_of": "2026-06-30"})
    return root, run


@pytest.fixture(scope="module")
def tiny_zh(tiny):
    root, (project, audit, opt) = tiny
    out = root / "zh"
    paths = _write(project, audit, opt, out, "zh")
    return out, paths, project, audit, opt


def test_tiny_briefing_files_and_pages(tiny_zh):
    out, paths, *_ = tiny_zh
    assert set(paths) == {"briefing_html", "briefing_pdf"}
    assert paths["briefing_pdf"].stat().st_size > 10_000
    # atomic writes leave no temporaries behind
    assert sorted(p.name for p in out.iterdir()) == ["briefing.html", "briefing.pdf"]
    pdf = paths["briefing_pdf"]
    assert len(tiny_zh[4].sites) >= 1
    headings = ["一、全区托位现状", "二、选址建议", "三、选址点位图", "附件：须整改小区清单（按乡镇）", "附录：方法与参数"]
    pages = _heading_pages(pdf, headings)
    assert list(pages) == headings, f"each section should open a page, found {pages}"
    assert pages["一、全区托位现状"] == 2, "the cover is one page"
    n = pdf_pages(pdf)
    # cover + 5 sections (the list of compounds to remedy is one page here), the annex's parameter
    # table, which says what each parameter means, runs over 3 pages; nothing else should spill
    assert pages["附录：方法与参数"] == pages["附件：须整改小区清单（按乡镇）"] + 1
    assert pages["附录：方法与参数"] <= n <= pages["附录：方法与参数"] + 3
    assert 6 <= n <= 11


def test_tiny_briefing_chinese_text(tiny_zh):
    out, paths, project, audit, opt = tiny_zh
    text = pdf_text(paths["briefing_pdf"])
    for word in ("托位", "整改期限", "选址建议", "每千人口", "岚政办字〔2024〕5号", "“1+8+N”指导体系", "覆盖曲线",
                 "预算能买到什么", "参数及其来源", "测试区", "2026-06-30", "2027-04-17", "在岗人数未填报"):
        assert word in text, word
    assert not re.search(r"\bnan\b", text, re.I), "a missing value printed as nan"
    assert len(opt.sites) >= 1
    for r in opt.sites.itertuples():
        # parcels and facilities by their code; demand clusters (no land yet) by name
        expected = r.name if r.kind == "generated" else r.source_id
        assert expected in text, f"site {expected} missing from the PDF"
    # parameters with their sources, e.g. the target and its seed status
    assert "policy.places_per_1000" in text and "(seed)" in text
    assert "演示数据" not in text, "the tiny project is not the demo"


def test_html_is_single_self_contained_file(tiny_zh):
    _, paths, *_ = tiny_zh
    html = paths["briefing_html"].read_text(encoding="utf-8")
    assert 'src="http' not in html and "<link" not in html and "<script" not in html
    assert html.count('src="data:image/png;base64,') >= 3  # township chart, coverage curve, a site map
    # the stylesheet is inline and not HTML-escaped (escaped quotes would silently drop the font list)
    assert "@page" in html and "&#34;" not in html.split("</style>")[0]


def test_briefing_html_deterministic(tiny):
    from siting.brief import briefing_html

    _, (project, audit, opt) = tiny
    assert briefing_html(project, audit, opt, "zh") == briefing_html(project, audit, opt, "zh")


def test_english_briefing(tiny):
    root, (project, audit, opt) = tiny
    paths = _write(project, audit, opt, root / "en", "en")
    text = pdf_text(paths["briefing_pdf"])
    for heading in ("1. District summary", "2. Proposed sites", "3. Site maps", "Annex: methods and parameters",
                    "Remediation deadlines and compliance", "What the budget buys", "Parameters and their sources"):
        assert heading in text, heading
    assert "一、全区托位现状" not in text and "选址建议" not in text
    assert "测试区" in text  # place names stay as in the data


def test_briefing_without_optimisation(tiny):
    from siting.brief import write_briefing

    root, (project, audit, _) = tiny
    paths = write_briefing(project, audit, None, root / "audit-only")
    text = pdf_text(paths["briefing_pdf"])
    assert "未运行选址优化" in text and "整改期限" in text


def test_briefing_with_no_proposed_site(tiny):
    """Without cluster candidates no candidate reaches the unmet compound: the briefing says so and still renders."""
    from siting.brief import write_briefing

    root, _ = tiny
    project, audit, opt = _run(root / "tiny" / "siting.toml",
                               {"optimize.generated_candidates": 0, "analysis.as_of": "2026-06-30"})
    assert len(opt.sites) == 0
    paths = write_briefing(project, audit, opt, root / "no-sites")
    text = pdf_text(paths["briefing_pdf"])
    assert "选址建议" in text and "三、选址点位图" not in text


def test_charts_have_no_missing_glyphs():
    try:
        charts.find_cjk_font()
    except charts.FontMissingError as err:
        pytest.skip(err.message("zh"))
    towns = pd.DataFrame({"township": ["安东卫街道", "岚山头街道", "中楼镇", "全区合计"],
                          "kind": ["street", "street", "town", "district"], "places_per_1000": [6.5, 4.1, 0.0, 3.7]})
    curve = pd.DataFrame({"p": [1, 2, 3], "places_served": [60.0, 100.0, 130.0], "cost": [1.8e6, 2.1e6, 3.9e6],
                          "net_cost": [1.74e6, 2.0e6, 3.7e6]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figs = [charts.township_chart(towns, 4.72), charts.coverage_chart(curve, 2),
                charts.township_chart(towns, 4.72, lang="en")]
        pngs = [charts.to_png(f, dpi=80) for f in figs]
    glyphs = [str(w.message) for w in caught if "Glyph" in str(w.message)]
    assert not glyphs, glyphs
    assert all(p.startswith(b"\x89PNG") for p in pngs)
    # reproducible bytes: no dates or software versions in the PNG
    assert charts.to_png(charts.township_chart(towns, 4.72), dpi=80) == charts.to_png(charts.township_chart(towns, 4.72), dpi=80)


def test_missing_font_is_a_clear_error(monkeypatch):
    from matplotlib import font_manager

    charts.find_cjk_font.cache_clear()
    monkeypatch.setattr(charts, "_KNOWN", ())
    monkeypatch.setattr(charts.shutil, "which", lambda name: None)
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [])
    try:
        with pytest.raises(charts.FontMissingError) as info:
            charts.find_cjk_font()
        assert "未找到中文字体" in info.value.message("zh") and "fonts-wqy-microhei" in info.value.message("zh")
        assert "install-system-deps.sh" in str(info.value)
    finally:
        charts.find_cjk_font.cache_clear()


def test_budget_levels_take_the_best_plan_within_each_budget():
    from siting.brief import budget_frontier, budget_levels

    curve = pd.DataFrame({"p": [1, 2, 3, 4], "places_served": [60.0, 100.0, 120.0, 130.0],
                          "share_of_unmet": [0.3, 0.5, 0.6, 0.65], "cost": [1.8e6, 2.1e6, 4.0e6, 3.9e6],
                          "net_cost": [1.7e6, 2.0e6, 3.8e6, 3.7e6]})
    front = budget_frontier(curve)
    assert front["p"].tolist() == [1, 2, 4]  # p = 3 costs more than p = 4 and serves less
    levels = budget_levels(curve, levels=4)
    assert levels["budget"].tolist() == [1e6, 2e6, 3e6, 4e6]
    assert pd.isna(levels.loc[0, "p"])
    assert levels["p"].tolist()[1:] == [1, 2, 4]


# ----------------------------------------------------------------------------- the bundled demo

demo_only = pytest.mark.skipif(not (DEMO_CONFIG.parent / "roads.osm").exists(), reason="bundled demo data not present")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    _require_tools()
    out = tmp_path_factory.mktemp("demo-brief")
    project, audit, opt = _run(None)
    paths = _write(project, audit, opt, out, "zh")
    return paths, project, audit, opt


@demo_only
def test_demo_briefing(demo):
    paths, project, audit, opt = demo
    pdf = paths["briefing_pdf"]
    assert project.demo
    n = pdf_pages(pdf)
    cards_pages = -(-len(opt.sites) // 6)  # six site maps a page
    flagged = int(audit.compounds["compliance"].isin(["remediate_by_deadline", "overdue",
                                                      "delivered_without_facility"]).sum())
    annex_pages = -(-flagged // 55)  # the list of compounds to remedy: about 55 rows a page, by township
    assert 5 + cards_pages + annex_pages <= n <= 12 + annex_pages + 1, n
    # page 1 states the ask
    ask = pdf_text(pdf, 1)
    for word in ("决策要点", "本方案", "仍缺", "全面达标", "第一阶段", "两个缺口口径不同"):
        assert word in ask, word
    assert pdf.stat().st_size < 3_000_000
    first = pdf_text(pdf, 1)
    assert "演示数据：边界真实，其余内容为合成数据" in first
    assert "岚政办字〔2024〕5号" in first and "2027-04-17" in first and str(audit.as_of) in first
    text = pdf_text(pdf)
    assert "演示数据（合成）" in pdf_text(pdf, 2), "running header marks every page as demo"
    for word in ("托位", "整改期限", "选址建议", "安东卫街道", "中楼镇"):
        assert word in text, word
    parcels = opt.sites[opt.sites["kind"] == "parcel"]
    for code in list(parcels["source_id"]) + list(opt.sites.loc[opt.sites["kind"] != "generated", "source_id"]):
        assert code in text, code
    # keep page images for a human check of the layout
    if shutil.which("pdftoppm"):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for page in (1, 2, _heading_pages(pdf, ["三、选址点位图"]).get("三、选址点位图", 5)):
            subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", "-f", str(page), "-l", str(page), str(pdf),
                            str(ARTIFACTS / f"demo-page-{page}")], check=True)


def test_townships_meeting_the_ratio_with_places_out_of_reach_are_named():
    from types import SimpleNamespace

    from siting.brief import _concentrated_sentence, concentrated_townships

    townships = pd.DataFrame({"township": ["甲街道", "乙镇", "丙镇", "全区"], "kind": ["street", "town", "town", "district"],
                              "meets_target": [True, True, False, False], "flagged_compounds": [3, 1, 3, 7]})
    # 甲: 3 of 4 flagged (75 %); 乙: 1 of 5 (20 %, under the 25 % line); 丙 misses the ratio anyway
    flags = ["no_facility", "under_served", "no_facility", "covered"] + ["no_facility"] + ["covered"] * 4 + ["no_facility"] * 3
    compounds = pd.DataFrame({"township": ["甲街道"] * 4 + ["乙镇"] * 5 + ["丙镇"] * 3, "flag": flags})
    audit = SimpleNamespace(townships=townships, compounds=compounds)
    conc = concentrated_townships(audit)
    assert conc[["township", "flagged", "compounds"]].values.tolist() == [["甲街道", 3, 4]]
    assert conc["share"].tolist() == [0.75]
    assert _concentrated_sentence(audit, "zh").startswith("甲街道（3/4 个）虽已达到每千人口托位目标")
    assert "甲街道 (3 of 4 compounds flagged) meets the places-per-1,000 target" in _concentrated_sentence(audit, "en")
    audit.compounds = compounds.assign(flag="covered")
    audit.townships = townships.assign(flagged_compounds=0)  # as the audit's township table would then say
    assert _concentrated_sentence(audit, "zh") == ""


@demo_only
def test_demo_briefing_says_where_the_ratio_hides_distance(demo):
    paths, project, audit, opt = demo
    text = re.sub(r"\s+", "", pdf_text(paths["briefing_pdf"]))
    assert "岚山头街道（141/158个）虽已达到每千人口托位目标" in text


def test_briefing_body_speaks_plainly_and_the_annex_explains_every_parameter(tiny_zh):
    """No solver or config jargon before the annex; every parameter there is said in Chinese, its key in small type."""
    import re

    from siting.brief import _params

    _, paths, project, _, _ = tiny_zh
    page = paths["briefing_html"].read_text(encoding="utf-8")
    body, annex = page.split("<body", 1)[1].split('<section class="annex">', 1)
    text = re.sub(r"<[^>]+>", " ", body)
    for jargon in ("最优性差距", "optimize.", "policy.", "catchment.", "[guidance]", "walk", "capacitated", "e+0", "p = "):
        assert jargon not in text, jargon
    for group in _params(project.config, "zh"):
        for r in group["rows"]:
            assert re.search(r"[\u4e00-\u9fff]", r["label"]), \
                f"{r['key']} has no Chinese meaning: add \"param.{r['key']}\" to siting/i18n.py"
            assert f"{r['label']} <small>{r['key']}</small>" in annex
            assert "e+0" not in r["value"]
