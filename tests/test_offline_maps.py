"""Offline Folium maps: no network request, real rendering, deterministic and atomic writes."""

from __future__ import annotations

import importlib.util
import os

import branca.element
import folium
import pytest
from branca.element import MacroElement
from folium.plugins import MarkerCluster
from jinja2 import Template

from siting.errors import SitingError
from siting.maps import external_urls, make_self_contained, offline_map, save_map, stable_ids
from siting.maps.offline import VENDOR_DIR
from tests.browser import browser_page  # noqa: F401  (pytest fixture)

CENTER = (30.25, 120.15)
TOWNS = [  # name, gap (places), lower-left corner of a 0.04° square
    ("西湖街道", 120, (30.22, 120.08)),
    ("留下街道", 45, (30.22, 120.13)),
    ("转塘街道", 210, (30.26, 120.08)),
]


def _square(lat, lng, d=0.04):
    return [[[lng, lat], [lng + d, lat], [lng + d, lat + d], [lng, lat + d], [lng, lat]]]


def _centre(lat, lng, d=0.04):
    return lat + d / 2, lng + d / 2


class _Legend(MacroElement):
    """A fixed legend box, the way our map modules add one (branca MacroElement)."""

    _template = Template(
        """{% macro html(this, kwargs) %}
        <div id="legend" style="position:fixed;bottom:40px;right:20px;z-index:9999;background:white;
             padding:6px 10px;border:1px solid #888;font-size:14px;">
          <b>托育缺口（个）</b><br>
          <span style="background:#d73027;width:12px;height:12px;display:inline-block"></span> ≥ 150<br>
          <span style="background:#fc8d59;width:12px;height:12px;display:inline-block"></span> 50–150<br>
          <span style="background:#fee08b;width:12px;height:12px;display:inline-block"></span> &lt; 50
        </div>
        {% endmacro %}"""
    )


def _colour(gap):
    return "#d73027" if gap >= 150 else "#fc8d59" if gap >= 50 else "#fee08b"


def build_map(icons: bool = False) -> folium.Map:
    """A representative township map: polygons, clustered markers, circles, legend, title."""
    m = offline_map(CENTER, zoom_start=12, max_zoom=18, control_scale=True)
    root = m.get_root()
    root.header.add_child(folium.Element("<title>西湖区托育缺口</title>"))
    root.html.add_child(
        folium.Element(
            '<h3 id="map-title" style="position:fixed;top:8px;left:60px;z-index:9999;margin:0;'
            'background:white;padding:4px 8px;">西湖区 0–3 岁托育缺口</h3>'
        )
    )
    towns = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": name, "gap": gap},
                "geometry": {"type": "Polygon", "coordinates": _square(*corner)},
            }
            for name, gap, corner in TOWNS
        ],
    }
    folium.GeoJson(
        towns,
        name="街道",
        style_function=lambda f: {"fillColor": _colour(f["properties"]["gap"]), "color": "#333",
                                  "weight": 1, "fillOpacity": 0.6},
        tooltip=folium.GeoJsonTooltip(["name"], aliases=["街道"]),
        popup=folium.GeoJsonPopup(["name", "gap"], aliases=["街道", "缺口（个）"]),
    ).add_to(m)

    cluster = MarkerCluster(name="托育机构").add_to(m)
    for i in range(50):
        lat = 30.22 + (i % 10) * 0.008
        lng = 120.08 + (i // 10) * 0.02
        icon = folium.Icon(color="green", icon="child", prefix="fa") if icons and i % 2 else None
        folium.Marker((lat, lng), popup=f"托育机构 {i + 1}", icon=icon).add_to(cluster)

    candidates = folium.FeatureGroup(name="候选点").add_to(m)
    for i in range(5):
        folium.CircleMarker((30.31, 120.09 + i * 0.02), radius=6, color="#2166ac", fill=True,
                            popup=f"候选点 {i + 1}").add_to(candidates)
    # One default marker outside the cluster, to check Leaflet's default icon image loads.
    folium.Marker((30.315, 120.20), popup="区卫健局").add_to(m)
    if icons:
        folium.Marker((30.305, 120.20), icon=folium.Icon(icon="home", angle=45)).add_to(m)  # glyphicon

    folium.LayerControl(collapsed=False).add_to(m)
    m.add_child(_Legend())
    return m


# ---------------------------------------------------------------------------------------------
# Without a browser


def test_default_folium_page_lists_its_cdn_assets():
    html = folium.Map().get_root().render()
    urls = external_urls(html)
    assert "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js" in urls
    assert any("tile.openstreetmap.org" in u for u in urls)  # the default tile layer
    # leaflet js+css, jquery, bootstrap js+css, glyphicons, font awesome, awesome-markers js+css, rotate css
    assert len([u for u in urls if "openstreetmap" not in u]) == 10


def test_self_contained_page_has_no_external_url(tmp_path):
    path = save_map(build_map(), tmp_path / "map.html")
    html = path.read_text(encoding="utf-8")
    assert external_urls(html) == []
    assert "<script src=" not in html and "stylesheet" not in html
    assert "西湖区 0–3 岁托育缺口" in html
    # No icons used: Font Awesome and glyphicons are left out to keep the page small.
    assert "Font Awesome 6 Free" not in html and "Glyphicons" not in html and "font/woff2" not in html
    assert path.stat().st_size < 900_000


def test_icons_are_inlined_when_used(tmp_path):
    html = save_map(build_map(icons=True), tmp_path / "icons.html").read_text(encoding="utf-8")
    assert external_urls(html) == []
    assert "Font Awesome 6 Free" in html and "Glyphicons Halflings" in html
    assert ".fa-rotate-45{" in html
    # Each woff2 font is embedded once, although Font Awesome's CSS names it three times.
    assert html.count("font/woff2") == 3  # fa-solid, fa-regular, glyphicons
    assert len(html.encode()) < 1_500_000


def test_unknown_cdn_asset_raises_naming_the_url():
    html = folium.Map(tiles=None).get_root().render()
    bad = "https://unpkg.com/leaflet-heat@0.2.0/dist/leaflet-heat.js"
    html = html.replace("</head>", f'<script src="{bad}"></script></head>')
    with pytest.raises(SitingError) as err:
        make_self_contained(html)
    assert bad in str(err.value)
    assert bad in err.value.message("zh")


def test_tile_layer_raises():
    with pytest.raises(SitingError, match="tile.openstreetmap.org"):
        make_self_contained(folium.Map().get_root().render())


def test_marker_cluster_without_max_zoom_raises():
    m = folium.Map(location=CENTER, tiles=None, max_zoom=18)  # folium drops max_zoom without tiles
    MarkerCluster().add_to(m)
    with pytest.raises(SitingError, match="maxZoom"):
        make_self_contained(m.get_root().render())


def test_save_map_does_not_change_the_map(tmp_path):
    m = build_map()
    save_map(m, tmp_path / "a.html")
    # folium's render mutates the tree; save_map renders a copy, so m still renders as new.
    assert stable_ids(m.get_root().render()) == stable_ids(build_map().get_root().render())


def test_remote_image_in_popup_raises():
    m = offline_map(CENTER)
    folium.Marker(CENTER, popup='<img src="https://example.com/photo.jpg">').add_to(m)
    with pytest.raises(SitingError, match="example.com/photo.jpg"):
        make_self_contained(m.get_root().render())


def test_output_is_deterministic(tmp_path):
    a = save_map(build_map(), tmp_path / "a.html").read_bytes()
    b = save_map(build_map(), tmp_path / "b.html").read_bytes()
    m = build_map()
    c = save_map(m, tmp_path / "c.html").read_bytes()
    d = save_map(m, tmp_path / "d.html").read_bytes()
    assert a == b == c == d


def test_stable_ids_leaves_data_hashes_alone():
    html = 'var map_' + "a1" * 16 + ' = L.map("map_' + "a1" * 16 + '"); var p = {"md5": "file_' + "b2" * 16 + '"};'
    out = stable_ids(html)
    assert "map_" + "0" * 31 + "1" in out and "a1" * 16 not in out
    assert "file_" + "b2" * 16 in out


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "deep" / "folder" / "map.html"  # parents are created
    save_map(build_map(), path)
    before = path.read_bytes()

    def broken_render(self, **kwargs):
        raise RuntimeError("render failed")

    monkeypatch.setattr(branca.element.Figure, "render", broken_render)
    with pytest.raises(RuntimeError, match="render failed"):
        save_map(build_map(), path)
    monkeypatch.undo()
    assert path.read_bytes() == before

    # A failure after the temp file is written (rename refused) must remove the temp file.
    def broken_replace(src, dst):
        raise OSError("disk went away")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk went away"):
        save_map(build_map(icons=True), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["map.html"]


def test_vendored_files_match_manifest():
    spec = importlib.util.spec_from_file_location("vendor_fetch", VENDOR_DIR / "fetch.py")
    fetch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fetch)
    manifest = fetch.json.loads((VENDOR_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert fetch.check(manifest) == []
    for pkg_spec, pkg in manifest["packages"].items():
        assert pkg["license"], f"{pkg_spec} has no licence file"


# ---------------------------------------------------------------------------------------------
# In headless Chromium


def test_offline_map_renders_without_network(tmp_path, browser_page):  # noqa: F811
    path = save_map(build_map(), tmp_path / "map.html")
    with browser_page(path, wait_for="window.L !== undefined") as page:
        assert page.requests == []
        assert page.console_errors == []
        assert page.page_errors == []

        counts = page.leaflet(
            """
            const layers = Object.values(map._layers);
            const clusters = layers.filter(l => l instanceof L.MarkerClusterGroup);
            const geojson = layers.filter(l => l instanceof L.GeoJSON);
            return {
              clusters: clusters.length,
              clustered: clusters.reduce((n, c) => n + c.getLayers().length, 0),
              polygons: geojson.reduce((n, g) => n + g.getLayers().filter(f => f instanceof L.Polygon).length, 0),
              circles: layers.filter(l => l instanceof L.CircleMarker).length,
              maxZoom: map.getMaxZoom(),
            };
            """
        )
        assert counts == {"clusters": 1, "clustered": 50, "polygons": 3, "circles": 5, "maxZoom": 18}

        # The default marker icon is a data URI that really decodes (the L.Icon.Default fix).
        icon = page.evaluate(
            """() => { const img = document.querySelector('img.leaflet-marker-icon');
                       return img && {src: img.src.slice(0, 22), ok: img.complete && img.naturalWidth > 0}; }"""
        )
        assert icon == {"src": "data:image/png;base64,", "ok": True}
        assert page.evaluate("document.title") == "西湖区托育缺口"
        assert "托育缺口" in page.page.locator("#legend").inner_text()
        assert page.page.locator(".leaflet-control-scale").count() == 1
        assert page.page.locator(".leaflet-control-layers").count() == 1

        name, gap, corner = TOWNS[2]
        text = page.click_popup(*_centre(*corner))
        assert name in text and str(gap) in text and "缺口" in text
        shot = page.screenshot("offline_map.png")
        assert page.requests == [] and page.console_errors == [] and page.page_errors == []
    assert shot.stat().st_size > 10_000


def test_offline_map_with_icons_loads_fonts(tmp_path, browser_page):  # noqa: F811
    path = save_map(build_map(icons=True), tmp_path / "icons.html")
    with browser_page(path, wait_for="window.L !== undefined") as page:
        # The glyphicon marker is on screen; the fa markers sit inside clusters, so ask for the
        # Font Awesome faces explicitly. Data-URI fonts load with no request.
        loaded = page.evaluate(
            """async () => {
                 await document.fonts.load('900 16px "Font Awesome 6 Free"', '\\uf1ae');
                 await document.fonts.load('400 16px "Font Awesome 6 Free"', '\\uf005');
                 await document.fonts.ready;
                 return [...document.fonts].filter(f => f.status === 'loaded')
                          .map(f => f.family.replaceAll('"', '') + ' ' + f.weight).sort();
               }"""
        )
        assert loaded == ["Font Awesome 6 Free 400", "Font Awesome 6 Free 900", "Glyphicons Halflings normal"]
        page.screenshot("offline_map_icons.png")
        assert page.requests == []
        assert page.console_errors == [] and page.page_errors == []
