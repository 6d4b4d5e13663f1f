"""The maps on a 390 × 844 phone and a 1400 × 900 PC, in headless Chromium (siting.maps.screen).

On both: at least 60 % of the map is visible (not under the title, legend or controls), every
control can be clicked where it is drawn, and popups opened near the top edge and near the
side edges lie wholly inside the screen, clear of every box drawn over the map. On the phone:
the layer list and the legend are buttons and the title box is one line.
Screenshots go to test-artifacts/maps/screen_*.png.
"""

from __future__ import annotations

import pytest

import siting
from siting.audit import audit
from siting.maps.district import write_maps
from siting.optimize import optimize
from tests.browser import browser_page  # noqa: F401  (pytest fixture)
from tests.tiny import write_tiny_project

WAIT = "window.L !== undefined"
PHONE, PC = (390, 844), (1400, 900)

# Share of a 10 px grid over the screen where the topmost element is the map itself.
VISIBLE = """() => {
  const map = document.querySelector('.leaflet-container'); let seen = 0, n = 0;
  for (let x = 5; x < innerWidth; x += 10) for (let y = 5; y < innerHeight; y += 10) {
    n++; const e = document.elementFromPoint(x, y);
    if (e && map.contains(e) && !e.closest('.leaflet-control-container')) seen++;
  }
  return seen / n; }"""
# Every box over the map (controls and their buttons, title, legend): its rectangle and the element hit at its centre.
BOXES = """() => [...document.querySelectorAll(
    '.leaflet-control-container .leaflet-control, .leaflet-bar a, #siting-title, #siting-legend')]
    .filter(e => e.getClientRects().length).map(e => {
  const r = e.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return {name: e.id || e.className, rect: [r.left, r.top, r.right, r.bottom],
          hit: !!hit && (hit === e || e.contains(hit))}; })"""
# Move the first clickable point feature (every one has a popup) to container point (x, y); its screen position and
# what is drawn there.
MOVE_FEATURE = """([x, y]) => {
  const map = Object.keys(window).map(k => window[k]).find(v => window.L && v instanceof L.Map);
  let ll = null;
  map.eachLayer(l => { if (!ll && l.feature && l.getLatLng && l.options.interactive !== false) ll = l.getLatLng(); });
  map.closePopup();
  map.setZoom(16, {animate: false});
  const p = map.latLngToContainerPoint(ll);
  map.panBy([p.x - x, p.y - y], {animate: false});
  const q = map.latLngToContainerPoint(ll), r = map.getContainer().getBoundingClientRect();
  const e = document.elementFromPoint(r.left + q.x, r.top + q.y);
  return [r.left + q.x, r.top + q.y, !!e && map.getContainer().contains(e) && !e.closest('.leaflet-control-container')];
}"""
POPUP_RECT = "() => { const r = document.querySelector('.leaflet-popup').getBoundingClientRect();" \
             " return [r.left, r.top, r.right, r.bottom]; }"


@pytest.fixture(scope="module")
def tiny_maps(tmp_path_factory):
    cfg = write_tiny_project(tmp_path_factory.mktemp("tiny"))
    project = siting.load_project(cfg, overrides={"analysis.as_of": "2026-11-29"})
    result = audit(project)
    return write_maps(project, result, optimize(project, result), tmp_path_factory.mktemp("maps"))


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _open_popup(page, x: float, y: float) -> list[float]:
    page.leaflet("map.closePopup();")
    page.page.wait_for_function("() => !document.querySelector('.leaflet-popup')")  # faded out
    sx, sy, on_map = page.evaluate(MOVE_FEATURE, [x, y])
    assert on_map, f"the feature at ({x:.0f}, {y:.0f}) is under a box: the test cannot click it"
    page.page.mouse.click(sx, sy)
    page.popup_text()
    page.page.wait_for_timeout(400)  # the pan animation
    return page.evaluate(POPUP_RECT)


@pytest.mark.parametrize("key,size", [("district", PHONE), ("district", PC), ("township_01", PHONE),
                                      ("overview", PHONE), ("overview", PC)])
def test_map_fits_the_screen(tiny_maps, key, size, browser_page):  # noqa: F811
    width, height = size
    with browser_page(tiny_maps[key], width=width, height=height, wait_for=WAIT) as page:
        assert page.requests == [] and page.console_errors == [] and page.page_errors == []
        page.screenshot(f"maps/screen_{key}_{width}.png")
        assert page.evaluate(VISIBLE) >= 0.6
        boxes = page.evaluate(BOXES)
        names = " ".join(b["name"] for b in boxes)
        for control in ("leaflet-control-zoom", "leaflet-control-zoom-fullscreen", "leaflet-control-layers",
                        "siting-title", "siting-legend"):
            assert control in names
        for b in boxes:
            r = b["rect"]
            assert b["hit"] and r[0] >= 0 and r[1] >= 0 and r[2] <= width and r[3] <= height, b
        title = next(b["rect"] for b in boxes if b["name"] == "siting-title")
        layers = next(b["rect"] for b in boxes if "leaflet-control-layers" in b["name"])
        expanded = "() => document.querySelector('.leaflet-control-layers').classList.contains(" \
                   "'leaflet-control-layers-expanded')"
        legend_open = "() => document.getElementById('siting-legend').open"
        if width < 600:
            assert not page.evaluate(expanded) and not page.evaluate(legend_open)
            assert title[3] - title[1] < 40  # one line
            assert layers[2] - layers[0] < 60 and layers[3] - layers[1] < 60  # a button
            page.page.click(".leaflet-control-layers-toggle")
            page.page.click("#siting-legend > summary")
            assert page.evaluate(expanded) and page.evaluate(legend_open)
            page.screenshot(f"maps/screen_{key}_{width}_open.png")
            page.page.mouse.click(width / 2, height * 0.4)  # a tap on the map folds them again
            page.page.wait_for_timeout(300)
            assert not page.evaluate(expanded) and not page.evaluate(legend_open)
        else:
            assert page.evaluate(expanded) and page.evaluate(legend_open)
        # popups near the top (under the title box), the right edge (under the layer list) and the left edge
        covers = [b["rect"] for b in page.evaluate(BOXES)]
        for where, (x, y) in {"top": ((title[0] + title[2]) / 2, title[3] + 12),
                              "right": (width - 12, layers[3] + 12),
                              "left": (12, height * 0.45)}.items():
            rect = _open_popup(page, x, y)
            page.screenshot(f"maps/screen_{key}_{width}_popup_{where}.png")
            assert rect[0] >= 0 and rect[1] >= 0 and rect[2] <= width and rect[3] <= height, (where, rect)
            assert not any(_overlap(rect, box) for box in covers), (where, rect, covers)
