"""Maps stay small as districts grow (issue 14): a big district's map is drawn at district scale.

Above ``maps.district_detail_max`` compounds and villages the district map shades the townships
by places per 1,000 and draws compounds and facilities as light points (violations as black
rings on top, proposed sites as always); the township maps keep every popup. Sizes are checked
as bytes per compound on the tiny project copied many times over (the benchmark,
benchmarks/map_size.py, measures real sizes up to 20,000 compounds).
"""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.affinity

import siting
from siting.access import access_index
from siting.audit import audit
from siting.maps import save_map
from siting.maps.district import district_map
from siting.maps.overview import overview_map
from siting.maps.offline import literal_unicode
from siting.maps.popups import compact_popups
from siting.optimize import optimize
from tests.browser import browser_page  # noqa: F401  (pytest fixture)
from tests.tiny import write_tiny_project

WAIT = "window.L !== undefined"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    cfg = write_tiny_project(tmp_path_factory.mktemp("tiny"))
    project = siting.load_project(cfg, overrides={"analysis.as_of": "2026-11-29", "maps.district_detail_max": 3})
    result = audit(project)
    return project, result, optimize(project, result)


def _copies(result, k: int):
    """The audit with ``k`` copies of every compound, each moved by up to ±200 m (fixed seed)."""
    rng = np.random.default_rng(0)
    comp = result.compounds
    parts = [comp]
    for i in range(1, k):
        c = comp.copy()
        dx, dy = rng.uniform(-0.002, 0.002, (2, len(c)))
        c["geometry"] = [shapely.affinity.translate(g, x, y) for g, x, y in zip(c.geometry, dx, dy)]
        c["id"] = c["id"].astype(str) + f"-{i}"
        c["name"] = c["name"].astype(str) + f"{i}号"
        parts.append(c)
    return dataclasses.replace(result, compounds=type(comp)(pd.concat(parts, ignore_index=True), crs=comp.crs))


def _size(project, result, opt, tmp_path, township=None) -> int:
    return save_map(district_map(project, result, opt, township=township),
                    tmp_path / f"{township or 'district'}.html").stat().st_size


def test_district_scale_map_draws_every_compound_lightly(tiny, tmp_path, browser_page):  # noqa: F811
    project, result, opt = tiny
    path = save_map(district_map(*tiny), tmp_path / "district.html")
    html = path.read_text(encoding="utf-8")
    assert "服务半径类别" not in html  # no compound popups at district scale
    count = """
      const c = {};
      map.eachLayer(l => { const p = l.feature && l.feature.properties; if (!p || !p.layer) return;
        c[p.layer] = (c[p.layer] || 0) + (p.n || 1); if (p._k && p._k.startsWith('v|')) c.violation = (c.violation || 0) + p.n; });
      c.sites = document.querySelectorAll('.siting-site').length;
      return c;"""
    with browser_page(path, wait_for=WAIT) as page:
        assert page.requests == [] and page.console_errors == [] and page.page_errors == []
        counts = page.leaflet(count)
        violations = int(result.compounds["compliance"].isin(["delivered_without_facility", "overdue"]).sum())
        assert violations == 1
        assert {k: counts.get(k) for k in ("compound", "violation", "childcare", "health", "parcel", "township_ratio",
                                           "sites")} == {"compound": 4, "violation": violations, "childcare": 3,
                                                         "health": 2, "parcel": 2, "township_ratio": 2, "sites": 1}
        assert "每千人口托位" in page.evaluate("() => document.getElementById('siting-legend').innerText")
        # a click on a township shows its figures
        text = page.click_popup(35.118, 119.203)
        assert text.startswith("甲街道") and "每千人口托位\t16.00" in text and "问题小区\t1" in text
        page.screenshot("maps/district_scale.png")
    # the access choropleths too: every compound a point, in each scenario, and no popups
    acc = access_index(*tiny)
    with_access = save_map(district_map(*tiny, access=acc), tmp_path / "access.html").read_text(encoding="utf-8")
    for scenario in acc.scenarios:
        n = re.findall(rf'"layer": "access_{scenario}", "n": (\d+)', with_access)
        assert sum(map(int, n)) == 4, scenario
    assert "服务半径类别" not in with_access
    # the overview (every input layer) draws the compounds as points too
    overview = save_map(overview_map(project), tmp_path / "overview.html").read_text(encoding="utf-8")
    assert '"_k": "compound", "layer": "compound", "n": 3' in overview and '"_k": "village", "layer": "compound", "n": 1' \
        in overview and "户数" not in overview
    # the township map keeps every popup
    town = save_map(district_map(*tiny, township="甲街道"), tmp_path / "town.html").read_text(encoding="utf-8")
    assert "服务半径类别" in town and "甲二小区" in town


def test_maps_grow_by_few_bytes_per_compound(tiny, tmp_path):
    project, result, opt = tiny
    small, big = result, _copies(result, 250)
    n = len(big.compounds) - len(small.compounds)
    # district scale: a compound is a point of a MultiPoint (~20 bytes)
    per_point = (_size(project, big, opt, tmp_path) - _size(project, small, opt, tmp_path)) / n
    assert per_point <= 30, per_point
    # township maps: every compound with its popup
    per_popup = (_size(project, big, opt, tmp_path, "甲街道") - _size(project, small, opt, tmp_path, "甲街道")) \
        / (n / 2)
    assert per_popup <= 600, per_popup  # 2,160 before popups were written compactly


def test_compact_popups_keep_each_popup_and_write_recurring_values_once():
    row = "<tr><th>{}</th><td>{}</td></tr>".format
    a = f'<div class="sp"><b>甲 &lt;1&gt;</b><table>{row("乡镇", "甲街道")}{row("说明", "长的说明")}</table></div>'
    b = f'<div class="sp"><b>乙</b><table>{row("乡镇", "甲街道")}{row("人口", "12")}</table></div>'
    odd = "<p>其他形式</p>"
    labels, common, out = compact_popups([a, b, odd])
    assert labels == ["乡镇", "说明", "人口"] and common == ["甲街道"]
    assert out == [{"t": "甲 &lt;1&gt;", "v": [0, "长的说明"]}, {"t": "乙", "v": [0, None, "12"]}, odd]


def test_literal_unicode_changes_bytes_not_strings():
    page = ('<p>\\u5c0f</p><script>var a = "\\u5c0f\\\\u5c0f\\u003c/script\\u003e\\u2028\\ud83d\\ude00";</script>')
    out = literal_unicode(page)
    assert out == '<p>\\u5c0f</p><script>var a = "小\\\\u5c0f\\u003c/script\\u003e\\u2028\\ud83d\\ude00";</script>'
    script = lambda html: html.split("<script>")[1].split("</script>")[0].split(" = ")[1].rstrip(";")  # noqa: E731
    assert json.loads(script(out)) == json.loads(script(page))  # the same string in JavaScript (JSON) terms
