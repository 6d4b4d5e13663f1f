"""Maps for township heads (siting.maps.district) in real headless Chromium, offline.

Tiny project for the details (fast); one test on the bundled demo district when it is there.
Screenshots go to test-artifacts/maps/.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

import siting
from siting.audit import audit
from siting.crs import wgs84_to_gcj02
from siting.errors import ConfigError
from siting.maps import external_urls, make_self_contained, save_map
from siting.maps.district import district_map, resolve_basemap, walk_service_areas, write_maps
from siting.optimize import optimize
from tests.browser import browser_page  # noqa: F401  (pytest fixture)
from tests.tiny import write_tiny_project

ROOT = Path(__file__).resolve().parent.parent
DEMO_ROADS = ROOT / "data" / "demo" / "roads.osm"
WAIT = "window.L !== undefined"

# Features on the page per properties.layer (hidden layers are not on the map), plus numbered sites.
COUNT = """
const c = {};
map.eachLayer(l => { if (l.feature && l.feature.properties && l.feature.properties.layer) {
  const k = l.feature.properties.layer; c[k] = (c[k] || 0) + 1; } });
c.sites = document.querySelectorAll('.siting-site').length;
return c;
"""
COMPOUND_TOWNSHIPS = """
const t = [];
map.eachLayer(l => { if (l.feature && l.feature.properties.layer === 'compound') t.push(l.feature.properties.township); });
return t;
"""


def _popup_at(page, lat: float, lng: float, zoom: int | None = None) -> str:
    """Close any popup, centre the map on the point (so no fixed box covers it) and click it."""
    page.leaflet(f"map.closePopup(); map.setView([{lat}, {lng}], {zoom or 'map.getZoom()'}, {{animate: false}});")
    # Leaflet fades a closed popup out before removing it; wait, or popup_text would read the old one.
    page.page.wait_for_function("() => !document.querySelector('.leaflet-popup')")
    page.page.wait_for_timeout(100)
    return page.click_popup(lat, lng)


def _text(page, selector: str) -> str:
    return page.evaluate(f"() => document.querySelector({selector!r}).innerText")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    cfg = write_tiny_project(tmp_path_factory.mktemp("tiny"))
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('data_date = "2026-01-01"',
                                                           'data_date = "2026-01-01"\ndemo = true'), encoding="utf-8")
    project = siting.load_project(cfg, overrides={"analysis.as_of": "2026-11-29"})
    result = audit(project)
    return project, result, optimize(project, result)


@pytest.fixture(scope="module")
def tiny_maps(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("maps")
    return write_maps(*tiny, out)


def test_write_maps_writes_every_file_and_index_links_resolve(tiny_maps):
    assert list(tiny_maps) == ["overview", "district", "township_01", "township_02", "index"]
    for key, path in tiny_maps.items():
        assert path.name == f"{key}.html" and path.name.isascii() and path.stat().st_size > 0
    index = tiny_maps["index"].read_text(encoding="utf-8")
    links = re.findall(r'href="([^"]+)"', index)
    assert sorted(links) == sorted(p.name for k, p in tiny_maps.items() if k != "index")
    assert all((tiny_maps["index"].parent / link).is_file() for link in links)
    # one line per township, in project order, with its figures
    assert index.index("甲街道") < index.index("乙镇")
    assert "每千人口托位 16.00（目标 4.72）；问题小区 1 个；建议点位 1 个" in index
    assert "演示数据（合成）" in index
    for path in tiny_maps.values():
        assert external_urls(path.read_text(encoding="utf-8")) == []


def test_write_maps_is_deterministic(tiny, tiny_maps, tmp_path):
    again = write_maps(*tiny, tmp_path)
    for key in ("overview", "district", "township_01", "township_02", "index"):
        assert hashlib.sha256(again[key].read_bytes()).digest() == hashlib.sha256(tiny_maps[key].read_bytes()).digest(), key


def test_district_map_in_browser(tiny, tiny_maps, browser_page):  # noqa: F811
    opt = tiny[2]
    with browser_page(tiny_maps["district"], wait_for=WAIT) as page:
        assert page.requests == [] and page.console_errors == [] and page.page_errors == []
        counts = page.leaflet(COUNT)
        assert {k: counts.get(k) for k in ("compound", "childcare", "health", "parcel", "sites", "township")} == {
            "compound": 4, "childcare": 3, "health": 2, "parcel": 2, "sites": 1, "township": 2}
        assert "service_area" not in counts  # hidden until switched on
        title = _text(page, "#siting-title")
        assert title.startswith("测试区 托育服务评估与选址建议") and "数据日期：2026-01-01" in title
        assert "演示数据（合成）" in title
        legend = _text(page, "#siting-legend")
        for label in ("图例", "已覆盖", "托位不足", "服务范围内无设施", "交付未配套或逾期未整改", "幼儿园（有托班）",
                      "幼儿园（无托班）", "医疗卫生机构", "闲置与低效用地", "建议新增托育点位"):
            assert label in legend
        assert page.evaluate("() => !!document.querySelector('.leaflet-control-scale')")
        # 甲二小区: a new compound delivered without a nursery — its violation and the date behind it
        text = _popup_at(page, 35.111, 119.207)
        assert "甲二小区" in text and "交付未配套（违规）" in text and "2024-06-30" in text
        assert "需求托位\t10" in text and "依据" in text
        page.screenshot("maps/tiny_district_popup.png")
        site = opt.sites.iloc[0]
        text = _popup_at(page, site.geometry.y, site.geometry.x)
        assert "建议点位 1" in text and "覆盖小区" in text and "净投入" in text and "万元" in text
        page.leaflet("map.closePopup(); map.setView([35.11, 119.21], 15, {animate: false});")
        page.page.locator(".leaflet-control-layers label", has_text="步行服务范围").click()
        assert page.leaflet(COUNT).get("service_area") == 3  # 300 / 500 / 1000 m
        page.screenshot("maps/tiny_district.png")


def test_popups_near_the_top_pan_clear_of_the_title_box(tiny, tiny_maps, browser_page):  # noqa: F811
    with browser_page(tiny_maps["district"], wait_for=WAIT) as page:
        box = page.evaluate("() => { const r = document.getElementById('siting-title').getBoundingClientRect();"
                            " return [r.left, r.top, r.right, r.bottom]; }")
        # A popup whose tip sits just below the title would rise over it; the map pans it clear instead.
        page.leaflet(f"const ll = map.containerPointToLatLng([{(box[0] + box[2]) / 2}, {box[3] + 20}]);"
                     "L.popup().setLatLng(ll).setContent('<div style=height:120px;width:200px>弹窗</div>')"
                     ".openOn(map); return 0;")
        page.page.wait_for_timeout(600)  # the pan animation
        top = page.evaluate("() => document.querySelector('.leaflet-popup').getBoundingClientRect().top")
        assert top >= box[3]


def test_real_data_maps_credit_openstreetmap_and_the_demo_does_not(tiny, tiny_maps, tmp_path, browser_page):  # noqa: F811
    cfg = write_tiny_project(tmp_path / "real")  # not marked as the demo: its roads count as OSM data
    project = siting.load_project(cfg)
    path = save_map(district_map(project, audit(project)), tmp_path / "real.html")
    credit = "() => document.querySelector('.leaflet-control-attribution').innerText.includes('OpenStreetMap contributors')"
    with browser_page(path, wait_for=WAIT) as page:
        page.page.wait_for_function(credit, timeout=5000)  # added on the load event; times out if never
    with browser_page(tiny_maps["district"], wait_for=WAIT) as page:
        page.page.wait_for_timeout(300)
        assert not page.evaluate(credit)


def test_township_map_lists_only_its_compounds(tiny, tiny_maps, browser_page):  # noqa: F811
    with browser_page(tiny_maps["township_01"], wait_for=WAIT) as page:
        assert page.requests == [] and page.console_errors == [] and page.page_errors == []
        assert page.leaflet(COMPOUND_TOWNSHIPS) == ["甲街道", "甲街道"]
        title = _text(page, "#siting-title")
        assert title.startswith("甲街道 托育服务评估与选址建议")
        assert "每千人口托位 16.00（目标 4.72）；问题小区 1 个；建议点位 1 个" in title
        page.screenshot("maps/tiny_township_01.png")


def test_english_map(tiny, tmp_path):
    html = save_map(district_map(*tiny, lang="en"), tmp_path / "en.html").read_text(encoding="utf-8")
    assert "Legend" in html and "No facility in reach" in html and "Demo data (synthetic)" in html
    assert "childcare audit and proposed sites" in html and "图例" not in html


def test_amap_shifts_every_overlay_to_gcj02(tiny, tmp_path):
    project, _, opt = tiny
    bm = resolve_basemap(project, "amap")
    html = save_map(district_map(*tiny, basemap="amap"), tmp_path / "amap.html", allow=bm.allow).read_text(encoding="utf-8")
    assert "叠加图层已转换为 GCJ-02 以对齐高德底图" in html
    urls = external_urls(html)
    assert len(urls) == 1 and urls[0].startswith("https://webrd0{s}.is.autonavi.com/appmaptile?")
    for lon, lat in [(119.205, 35.108), (119.215, 35.106)]:  # health centre H1, nursery N1
        glon, glat = (round(float(v), 5) for v in wgs84_to_gcj02(lon, lat))
        assert 0.003 < abs(glon - lon) + abs(glat - lat) < 0.01  # a few hundred metres at Lanshan
        assert f"[{glon}, {glat}]" in html
        assert f"[{lon}, {lat}]" not in html
    site = opt.sites.iloc[0].geometry
    glon, glat = (round(float(v), 5) for v in wgs84_to_gcj02(site.x, site.y))
    assert f"[{glat}, {glon}]" in html  # the numbered marker (lat, lng)
    # an offline page keeps WGS84
    plain = save_map(district_map(*tiny), tmp_path / "plain.html").read_text(encoding="utf-8")
    assert "[119.205, 35.108]" in plain and "GCJ-02" not in plain


def test_tianditu_needs_a_token(tiny, tmp_path):
    project = tiny[0]
    with pytest.raises(ConfigError, match="maps.tianditu_token") as err:
        district_map(*tiny, basemap="tianditu")
    assert "天地图" in err.value.message("zh")
    with pytest.raises(ConfigError):
        write_maps(*tiny, tmp_path / "t", basemap="tianditu")
    assert not (tmp_path / "t").exists()  # failed before writing anything
    with pytest.raises(ConfigError, match="unknown basemap"):
        resolve_basemap(project, "google")
    with pytest.raises(ConfigError, match="unknown township"):
        district_map(*tiny, township="丙乡")


def test_online_basemaps_keep_assets_inline(tiny, tmp_path):
    files = write_maps(*tiny, tmp_path, basemap="osm", township_maps=False, overview=False)
    html = files["district"].read_text(encoding="utf-8")
    assert external_urls(html) == ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"]
    assert "<script src=" not in html
    assert "需联网" in files["index"].read_text(encoding="utf-8")
    # without allow the same page is refused, naming the tile URL
    with pytest.raises(siting.errors.SitingError, match="tile.openstreetmap.org"):
        make_self_contained(html)


def test_service_areas_are_dissolved_per_distance(tiny):
    project, result, _ = tiny
    areas = walk_service_areas(project, result)
    assert areas["threshold"].tolist() == [1000.0, 500.0, 300.0]
    metric = areas.to_crs(project.crs)
    assert np.all(np.diff(metric.area.to_numpy()) < 0)  # nested: larger distance, larger area
    assert metric.geometry.iloc[1].buffer(20).contains(metric.geometry.iloc[2])  # simplified by 8 m each


@pytest.mark.skipif(not DEMO_ROADS.exists(), reason="bundled demo not generated yet (data/demo/roads.osm)")
def test_demo_district_and_township_maps(tmp_path, browser_page):  # noqa: F811
    project = siting.load_project(overrides={"analysis.as_of": "2026-11-29"})
    result = audit(project)
    opt = optimize(project, result)
    areas = walk_service_areas(project, result)
    district = save_map(district_map(project, result, opt, service_areas=areas), tmp_path / "district.html")
    assert district.stat().st_size < 6_000_000
    comp = result.compounds
    with browser_page(district, wait_for=WAIT) as page:
        assert page.requests == [] and page.console_errors == [] and page.page_errors == []
        counts = page.leaflet(COUNT)
        assert counts["compound"] == len(comp) and counts["childcare"] == len(result.childcare)
        assert counts["health"] == len(project.health) and counts["parcel"] == len(project.parcels)
        assert counts["sites"] == len(opt.sites) and counts["township"] == len(project.townships)
        assert "演示数据（合成）" in _text(page, "#siting-title")
        assert page.page.title() == f"{project.name} 托育服务评估与选址建议"
        # At district zoom no numbered site hides another (the dense core moves icons apart) ...
        centres = page.evaluate("() => [...document.querySelectorAll('.siting-site')].map(e => {"
                                " const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2,"
                                " r.width]; })")
        assert len(centres) == len(opt.sites)
        assert all(np.hypot(a[0] - b[0], a[1] - b[1]) >= a[2] for i, a in enumerate(centres) for b in centres[i + 1:])
        # ... and violations are drawn after (over) every other compound.
        order = page.leaflet("const v = []; map.eachLayer(l => { if (l.feature && l.feature.properties.layer === 'compound')"
                             " v.push(l.feature.properties.compliance); }); return v;")
        bad = [c in ("delivered_without_facility", "overdue") for c in order]
        assert any(bad) and bad == sorted(bad)
        page.screenshot("maps/demo_district.png")
        # a flagged existing compound: its deadline and the days left
        flagged = comp[comp["compliance"] == "remediate_by_deadline"].iloc[0]
        pt = flagged.geometry.representative_point()
        text = _popup_at(page, pt.y, pt.x, zoom=18)
        assert flagged["name"] in text and "整改期限" in text and str(flagged["deadline"])[:10] in text
        assert "剩余天数" in text
        # the nearest facility, both distances and why it does not count
        assert f"最近托育设施\t{flagged['nearest_facility']}" in text
        assert f"沿道路 {flagged['nearest_road_m']:,.0f} 米 · 直线 {flagged['nearest_straight_m']:,.0f} 米" in text
        assert flagged["nearest_reason"] in text
        page.screenshot("maps/demo_compound_popup.png")
    # the township with the most proposed sites
    name = opt.sites["township"].value_counts().index[0]
    town = save_map(district_map(project, result, opt, township=name, service_areas=areas), tmp_path / "town.html")
    with browser_page(town, wait_for=WAIT) as page:
        assert page.requests == [] and page.console_errors == [] and page.page_errors == []
        assert set(page.leaflet(COMPOUND_TOWNSHIPS)) == {name}
        assert len(page.leaflet(COMPOUND_TOWNSHIPS)) == int((comp["township"] == name).sum())
        assert page.leaflet(COUNT)["sites"] >= int((opt.sites["township"] == name).sum())
        page.screenshot("maps/demo_township.png")


def test_overview_reads_as_people_read(tiny, tiny_maps, browser_page):  # noqa: F811
    """overview.html: a <title>, Chinese category values, 是/否, whole numbers (人口 1,000, not 1000.0 or "existing")."""
    from siting.i18n import t

    with browser_page(tiny_maps["overview"], wait_for=WAIT) as page:
        assert page.page.title() == t("map.title", "zh", name=tiny[0].name)
        props = page.leaflet("const v = []; map.eachLayer(l => { if (l.feature) v.push(l.feature.properties); }); return v;")
    comp = [p for p in props if p.get("kind_label") in ("小区", "村")]
    care = [p for p in props if "registered" in p]
    assert len(comp) == 4 and len(care) == 3
    assert {p["status"] for p in comp} == {"现状", "新建"} and {p["population"] for p in comp} >= {"1,000", "780"}
    assert {p["registered"] for p in care} == {"是", "否"} and {p["places"] for p in care} == {"40", "30", "—"}
    assert not [v for p in props for v in p.values() if isinstance(v, str) and re.fullmatch(r"[\d,]+\.0", v)]
