"""Issue 17: planners' files as they really are. Each fault of the issue has its exact file, built here,
and a test that failed before the fix; every fix a message prints is applied and the file then loads.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from siting import load_project
from siting.errors import DataError
from tests.tiny import CHILDCARE_HEADER, CHILDCARE_ROWS


def _layer_keys(cfg: Path, layer: str, *lines: str) -> None:
    """Add TOML ``lines`` under [layers.LAYER] (right after its path)."""
    text = cfg.read_text(encoding="utf-8")
    head = f"[layers.{layer}]\npath = "
    end = text.index("\n", text.index(head) + len(head))
    cfg.write_text(text[:end] + "".join("\n" + x for x in lines) + text[end:], encoding="utf-8")


def _townships(cfg: Path) -> pd.DataFrame:
    from siting.audit import audit

    return audit(load_project(cfg)).townships


# ---------------------------------------------------------------------------------------- 1. points outside the district

BEIJING = [(116.3975, 39.9087), (116.4074, 39.9042)]


def _childcare_with(cfg: Path, extra: list[tuple[float, float]], without: str = "N1") -> Path:
    """The tiny childcare list without ``without`` (乙镇's only nursery, so 乙镇 has 0 places) plus
    nurseries at ``extra`` with no township: as in the issue, where they were given the nearest one."""
    rows = [r for r in CHILDCARE_ROWS if not r.startswith(without + ",")]
    rows += [f"X{k},远方托育园{k},托育机构,20,1,是,是,是,{lon},{lat}" for k, (lon, lat) in enumerate(extra, 1)]
    path = cfg.parent / "childcare.csv"
    path.write_text("\n".join([CHILDCARE_HEADER, *rows]) + "\n", encoding="utf-8-sig")
    return path


def test_beijing_points_are_an_error_naming_file_row_id_name_and_distance(tiny_config):
    path = _childcare_with(tiny_config, BEIJING)
    with pytest.raises(DataError) as info:
        load_project(tiny_config, roads=False)
    errors = [p for p in info.value.problems if p.severity == "error"]
    assert [(p.file, p.row, p.id, p.name) for p in errors] == [(str(path), 4, "X1", "远方托育园1"), (str(path), 5, "X2", "远方托育园2")]
    text = str(info.value)
    assert f"ERROR {path}, row 4, id X1 (远方托育园1): lies 586," in text and " m outside the district boundary" in text
    assert "第 4 行，编号 X1（远方托育园1）：位于行政区边界外 586," in info.value.zh


def test_points_outside_can_never_change_a_townships_figures(tiny_config):
    _childcare_with(tiny_config, [])
    before = _townships(tiny_config)
    town = before.set_index("township").loc["乙镇"]
    assert town["places_inside"] == 0 and not town["meets_target"]  # 乙镇 has no childcare: the verdict at stake
    _childcare_with(tiny_config, BEIJING)
    _layer_keys(tiny_config, "childcare", 'outside = "drop"')
    p = load_project(tiny_config, roads=False)
    assert list(p.childcare["id"]) == ["K1", "N2"]
    dropped = [x for x in p.problems if x.layer == "childcare" and "left out" in x.en]
    assert [(x.row, x.id, x.name) for x in dropped] == [(4, "X1", "远方托育园1"), (5, "X2", "远方托育园2")]
    pd.testing.assert_frame_equal(_townships(tiny_config), before)
    # "keep" is the planner's explicit choice: the Beijing nurseries then count, in the nearest township
    text = tiny_config.read_text(encoding="utf-8").replace('outside = "drop"', 'outside = "keep"')
    tiny_config.write_text(text, encoding="utf-8")
    kept = _townships(tiny_config).set_index("township")
    assert kept.loc["全区合计", "places_inside"] == before.set_index("township").loc["全区合计", "places_inside"] + 40


@pytest.mark.parametrize("where", [(119.2300, 35.1080), (35.1080, 119.2160), (121.0, 31.2), (-0.1276, 51.5072)],
                         ids=["900m-east", "swapped", "shanghai", "london"])
def test_dropped_points_anywhere_leave_every_township_unchanged(tiny_config, where):
    _childcare_with(tiny_config, [])
    before = _townships(tiny_config)
    _childcare_with(tiny_config, [where])
    with pytest.raises(DataError, match="outside the district boundary"):
        load_project(tiny_config, roads=False)
    _layer_keys(tiny_config, "childcare", 'outside = "drop"')
    pd.testing.assert_frame_equal(_townships(tiny_config), before)


def test_outside_takes_only_error_drop_or_keep(tiny_config):
    from siting.errors import ConfigError

    _layer_keys(tiny_config, "childcare", 'outside = "ignore"')
    with pytest.raises(ConfigError, match="'layers.childcare.outside' must be one of error, drop, keep, got 'ignore'"):
        load_project(tiny_config, roads=False)


def test_dropped_points_are_listed_in_the_outputs(tiny_config):
    from siting.pipeline import run

    _childcare_with(tiny_config, BEIJING[:1])
    _layer_keys(tiny_config, "childcare", 'outside = "drop"')
    out = tiny_config.parent / "out"
    result = run(tiny_config, out, lang="en", stages=("audit",), progress=False)
    notes = pd.read_csv(result.outputs["input_notes_csv"], encoding="utf-8-sig", dtype=str)
    row = notes[notes["id"] == "X1"].iloc[0]
    assert (row["layer"], row["row"], row["name"]) == ("childcare", "4", "远方托育园1")
    assert row["message"].startswith("lies 586,") and row["message"].endswith('left out (outside = "drop")')
    assert set(pd.read_csv(out / "audit_childcare.csv", dtype=str)["ID"]) == {"K1", "N2"}


# ---------------------------------------------------------------------------------------- 2. units

def _parcels_stated(cfg: Path, values: list) -> None:
    path = cfg.parent / "parcels.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    for feature, value in zip(data["features"], values):
        feature["properties"]["面积"] = value
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_parcel_areas_in_mu_are_converted_with_a_warning(tiny_config):
    # the issue: 16.69 (亩) read as m² for a parcel of about 11,100 m², which then fell below the minimum area
    measured = load_project(tiny_config, roads=False).parcels.to_crs(4549).area.to_numpy()
    _parcels_stated(tiny_config, [round(m / 666.667, 2) for m in measured])
    p = load_project(tiny_config, roads=False)
    (w,) = [x for x in p.problems if x.layer == "parcels"]
    assert w.severity == "warning" and w.column == "面积"
    assert w.en.startswith("the stated areas are about 1/666.67 of the polygons' areas (2 parcels): read as mu (亩) and "
                           "converted to m² (e.g. 3.03 亩 = 2,020 m²)")
    assert "已按亩读取并换算为平方米" in w.zh
    assert p.parcels["area"].to_numpy() == pytest.approx(measured, rel=0.01)
    # the printed fix: confirm the unit, and the warning goes
    _layer_keys(tiny_config, "parcels", 'area_unit = "亩"')
    p = load_project(tiny_config, roads=False)
    assert [x for x in p.problems if x.layer == "parcels"] == []
    assert p.parcels["area"].to_numpy() == pytest.approx(measured, rel=0.01)


@pytest.mark.parametrize("unit,factor", [("公顷", 1e-4), ("km²", 1e-6)])
def test_parcel_areas_in_hectares_or_km2_are_converted(tiny_config, unit, factor):
    measured = load_project(tiny_config, roads=False).parcels.to_crs(4549).area.to_numpy()
    _parcels_stated(tiny_config, [m * factor for m in measured])
    p = load_project(tiny_config, roads=False)
    (w,) = [x.en for x in p.problems if x.layer == "parcels"]
    assert f"read as {'hectares (公顷)' if unit == '公顷' else 'km²'} and converted to m²" in w
    assert p.parcels["area"].to_numpy() == pytest.approx(measured, rel=1e-6)


def test_a_parcel_area_far_from_its_polygon_is_reported_with_both_numbers(tiny_config):
    _parcels_stated(tiny_config, [2000, 50_000])  # P-2 measures about 10,100 m²
    p = load_project(tiny_config, roads=False)
    (w,) = [x for x in p.problems if x.layer == "parcels"]
    assert (w.row, w.id, w.severity) == (2, "P-2", "warning")
    assert w.en.startswith("stated area 50,000 m² but the polygon measures 10,1") and w.en.endswith(
        "(ratio 4.94); the stated area is used")
    assert p.parcels.set_index("id").loc["P-2", "area"] == 50_000


def _compound_values(cfg: Path, key: str, values: list) -> None:
    path = cfg.parent / "compounds.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    for feature, value in zip(data["features"], values):
        feature["properties"][key] = value
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_population_against_households(tiny_config):
    # C1: 400 households × 2.55 = 1,020, stated 5,000
    _compound_values(tiny_config, "人口", [5000, None, 780, 560])
    p = load_project(tiny_config, roads=False)
    (w,) = [x for x in p.problems if x.layer == "compounds"]
    assert (w.row, w.id, w.name, w.column) == (1, "C1", "甲一小区", "人口")
    assert w.en == "population 5,000 but 400 households × 2.55 persons = 1,020 (ratio 4.90); the stated population is used"
    assert w.format("zh").startswith(f"{tiny_config.parent / 'compounds.geojson'}，第 1 行，编号 C1（甲一小区），列“人口”：人口 5,000")


def test_population_in_wan_is_converted(tiny_config):
    _compound_values(tiny_config, "人口", [0.1, None, 0.078, 0.056])
    p = load_project(tiny_config, roads=False)
    (w,) = [x.en for x in p.problems if x.layer == "compounds"]
    assert w.startswith("the stated populations are about 1/10,000 of households × 2.55 (3 compounds): read as 万人")
    assert p.compounds.set_index("id").loc["C1", "population"] == pytest.approx(1000)


# ---------------------------------------------------------------------------------------- 3. empty layers

def _drop_layer(cfg: Path, layer: str) -> None:
    import re

    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(re.sub(rf"\[layers\.{layer}\]\n(.*\n)+?\n", "", text, count=1), encoding="utf-8")


def test_an_empty_geojson_layer_gives_exactly_one_message(tiny_config):
    # what `siting run --osm` wrote for an extract without kindergartens: a GeoJSON with no features and no columns
    (tiny_config.parent / "childcare.geojson").write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    text = tiny_config.read_text(encoding="utf-8").replace('path = "childcare.csv"', 'path = "childcare.geojson"')
    tiny_config.write_text(text, encoding="utf-8")
    p = load_project(tiny_config, roads=False)
    assert [x.format("en") for x in p.problems] == [
        f"{tiny_config.parent / 'childcare.geojson'}: the layer has no features. Fix: check the file and the sheet or layer name"]
    assert len(p.childcare) == 0 and "kind" in p.childcare


def test_an_unreadable_layer_gives_exactly_one_message(tiny_config):
    (tiny_config.parent / "childcare.csv").write_bytes(b"\x00\x01\x02 not a table")
    with pytest.raises(DataError) as info:
        load_project(tiny_config, roads=False)
    assert len([p for p in info.value.problems if p.layer == "childcare"]) == 1


def test_no_childcare_parcels_or_health_runs_end_to_end(tiny_config):
    from siting.pipeline import run

    for layer in ("childcare", "health", "parcels"):
        _drop_layer(tiny_config, layer)
    result = run(tiny_config, tiny_config.parent / "out", lang="en", stages=("audit", "optimize"), progress=False)
    notes = [x.en for x in result.project.problems]
    assert notes == ["no childcare layer: no existing places are counted, so every compound is flagged",
                     "no health layer: no health centres are offered as candidate sites",
                     "no parcels layer: where there is no land, only generated candidate sites are proposed"]
    assert set(result.audit.compounds["flag"]) == {"no_facility"}  # everything flagged
    sites = result.optimize.sites
    assert len(sites) and all(i.startswith("G:") for i in sites["id"])  # only generated candidates


TOWN = Path(__file__).parent / "data" / "town.osm"


def _extract_without(tmp_path: Path, *values: str) -> Path:
    """tests/data/town.osm without the features tagged with any of ``values`` (one element per line there)."""
    lines = [line for line in TOWN.read_text(encoding="utf-8").splitlines() if not any(f'v="{v}"' in line for v in values)]
    path = tmp_path / "extract.osm"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("removed", [("kindergarten", "childcare"), ("brownfield", "greenfield", "construction")],
                         ids=["no-kindergarten", "no-parcels"])
def test_an_osm_project_without_kindergartens_or_parcels_loads_and_proposes(tmp_path, removed):
    from siting.audit import audit
    from siting.optimize import optimize
    from siting.osm import project_from_osm

    cfg = project_from_osm(_extract_without(tmp_path, *removed), tmp_path / "p")
    p = load_project(cfg)
    layer = "childcare" if "childcare" in removed else "parcels"
    assert len(p.layer(layer)) == 0 and f"no {layer} in the extract" in cfg.read_text(encoding="utf-8")
    assert [x.severity for x in p.problems] == ["note"]
    assert len(optimize(p, audit(p)).sites) > 0


def test_run_osm_without_kindergartens_and_parcels_writes_maps_and_a_briefing(tmp_path, capsys):
    from siting.cli import main

    osm = _extract_without(tmp_path, "kindergarten", "childcare", "brownfield", "greenfield", "construction")
    out = tmp_path / "out"
    assert main(["--lang", "en", "run", "--osm", str(osm), "--out", str(out), "--no-progress"]) == 0
    assert (out / "index.html").exists() and (out / "briefing.html").exists() and (out / "audit_compounds.csv").exists()
    assert "Done." in capsys.readouterr().out


# ---------------------------------------------------------------------------------------- 4. files as planners keep them

def test_a_compounds_list_as_planners_keep_it_loads(tiny_config):
    # name, township, households and completion year only (and where it is): no id, no kind
    rows = pd.DataFrame({
        "小区名称": ["甲一小区", "甲二花园", "乙镇东山村", "乙镇社区", "西苑"],
        "所属乡镇": ["甲街道", "甲街道", "乙镇", "乙镇", "甲街道"],
        "户数": [400, 800, 200, 150, 90],
        "竣工年份": [2010, 2024, None, 2019, 2001],
        "经度": [119.2030, 119.2070, 119.2185, 119.2150, 119.2040],
        "纬度": [35.1030, 35.1110, 35.1175, 35.1050, 35.1150],
    })
    rows.to_excel(tiny_config.parent / "compounds.xlsx", index=False)
    text = tiny_config.read_text(encoding="utf-8")
    start = text.index("[layers.compounds]")
    end = text.index("\n\n", start)
    tiny_config.write_text(text[:start] + '[layers.compounds]\npath = "compounds.xlsx"' + text[end:], encoding="utf-8")
    p = load_project(tiny_config, roads=False)
    c = p.compounds
    assert list(c["id"]) == ["compounds-2", "compounds-3", "compounds-4", "compounds-5", "compounds-6"]  # the Excel rows
    assert list(c["kind"]) == ["compound", "compound", "village", "village", "compound"]
    assert c["completed"].iloc[0].isoformat() == "2010-12-31" and list(c["households"]) == [400, 800, 200, 150, 90]
    msgs = {x.severity: x for x in p.problems if x.layer == "compounds"}
    assert msgs["note"].en == ("no id column: ids generated from the layer and the row (compounds-2, compounds-3, "
                               "compounds-4, …); the outputs use them")
    assert msgs["warning"].en == ("kind inferred for 5 compound(s): 3 小区 (compound), 2 村 (village) "
                                  "(5 from the name, 0 from the township's kind, 0 by default)")
    # the printed fix: a 类型 column overrides the inference (and an 编号 column the generated ids)
    rows.insert(0, "编号", ["A", "B", "C", "D", "E"])
    rows["类型"] = ["小区", "小区", "村", "小区", "小区"]
    rows.to_excel(tiny_config.parent / "compounds.xlsx", index=False)
    p = load_project(tiny_config, roads=False)
    assert [x for x in p.problems if x.layer == "compounds"] == []
    assert list(p.compounds["kind"]) == ["compound", "compound", "village", "compound", "compound"]
    assert list(p.compounds["id"]) == ["A", "B", "C", "D", "E"]


@pytest.mark.parametrize("name,township,expected", [
    ("张家庄", "甲街道", ("village", "name")), ("李家屯", None, ("village", "name")),
    ("阳光花园", "乙镇", ("compound", "name")), ("东风社区", "乙镇", ("village", "name")),
    ("东风社区", "甲街道", ("compound", "name")), ("金岸", "乙镇", ("village", "township")),
    ("金岸", "甲街道", ("compound", "township")), ("金岸", None, ("compound", "default")),
])
def test_compound_kind_rules(name, township, expected):
    from siting.infer import _township_kind, compound_kind

    assert compound_kind(name, _township_kind(township, {"甲街道": "street", "乙镇": "town"})) == expected


# ---------------------------------------------------------------------------------------- 5. every fix a message prints works

HEALTH = "编号,名称,类型,经度,纬度\nH1,甲街道社区卫生服务中心,社区卫生服务中心,119.2050,35.1080\nH2,乙镇卫生院,乡镇卫生院,119.2160,35.1080\n"


def _health_keys(cfg: Path, path: str, *lines: str) -> None:
    text = cfg.read_text(encoding="utf-8")
    start = text.index("[layers.health]")
    end = text.index("\n\n", start)
    cfg.write_text(text[:start] + f'[layers.health]\npath = "{path}"' + "".join("\n" + x for x in lines) + text[end:],
                   encoding="utf-8")


def test_utf8_bom_with_a_gbk_body_is_read_and_said(tiny_config):
    path = tiny_config.parent / "health.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HEALTH.encode("gbk"))
    p = load_project(tiny_config, roads=False)
    assert list(p.health["name"]) == ["甲街道社区卫生服务中心", "乙镇卫生院"]
    assert [x.format("en") for x in p.problems] == [
        f"{path}: the file starts with a UTF-8 byte-order mark but its text is not UTF-8: read as GB18030 (GBK). "
        "Fix: to confirm, set encoding = \"gb18030\" under [layers.health], or save the file as UTF-8"]
    _health_keys(tiny_config, "health.csv", 'encoding = "gb18030"')  # the printed fix
    p = load_project(tiny_config, roads=False)
    assert p.problems == [] and list(p.health["name"]) == ["甲街道社区卫生服务中心", "乙镇卫生院"]


def test_a_wrongly_declared_encoding_gets_a_fix_that_works(tiny_config):
    path = tiny_config.parent / "health.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HEALTH.encode("gbk"))
    _health_keys(tiny_config, "health.csv", 'encoding = "utf-8"')
    with pytest.raises(DataError, match='set encoding = "gb18030"'):
        load_project(tiny_config, roads=False)
    _health_keys(tiny_config, "health.csv", 'encoding = "gb18030"')
    assert list(load_project(tiny_config, roads=False).health["id"]) == ["H1", "H2"]


_HTML = """<html><head><meta charset="utf-8"><title>导出</title></head><body>
<table border="1"><tr><th>编号</th><th>名称</th><th>类型</th><th>经度</th><th>纬度</th></tr>
<tr><td>007</td><td>甲街道社区卫生服务中心</td><td>社区卫生服务中心</td><td>119.2050</td><td>35.1080</td></tr>
<tr><td>H2</td><td>乙镇卫生院</td><td>乡镇卫生院</td><td>119.2160</td><td>35.1080</td></tr></table></body></html>"""


@pytest.mark.parametrize("suffix", [".xlsx", ".xls"])
def test_an_html_page_saved_as_excel_is_recognised_and_read(tiny_config, suffix):
    path = tiny_config.parent / f"health{suffix}"
    path.write_text(_HTML, encoding="utf-8")
    _health_keys(tiny_config, path.name)
    p = load_project(tiny_config, roads=False)
    assert list(p.health["id"]) == ["007", "H2"]  # text kept as text: the leading zero survives
    assert list(p.health["kind"]) == ["community_health_centre", "township_health_centre"]
    assert [x.en for x in p.problems] == [
        f"the file is an HTML page saved as {suffix} (as web systems export tables), not a workbook: read its table of 2 rows"]


def test_an_excel_value_error_names_the_excel_row_the_record_and_the_chinese_column(tiny_config):
    # "约300" in 户数: the message names the row as Excel shows it, the compound, and the file's own column
    df = pd.DataFrame({"小区名称": ["甲一小区", "乙一小区"], "所属乡镇": ["甲街道", "乙镇"], "户数": [400, "约300"],
                       "经度": [119.2030, 119.2150], "纬度": [35.1030, 35.1050]})
    df.to_excel(tiny_config.parent / "compounds.xlsx", index=False)
    text = tiny_config.read_text(encoding="utf-8")
    start = text.index("[layers.compounds]")
    end = text.index("\n\n", start)
    tiny_config.write_text(text[:start] + '[layers.compounds]\npath = "compounds.xlsx"' + text[end:], encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_project(tiny_config, roads=False)
    f = tiny_config.parent / "compounds.xlsx"
    assert (f"ERROR {f}, row 3, id compounds-3 (乙一小区), column '户数' (households): value '约300' is not a number. "
            "Fix: correct the cell") in str(info.value)
    assert f"错误 {f}，第 3 行，编号 compounds-3（乙一小区），列“户数”：取值 '约300' 不是数字。处理：更正该单元格" in info.value.zh
    import openpyxl  # the printed fix, applied in the cell Excel shows at row 3

    book = openpyxl.load_workbook(f)
    sheet = book.active
    assert sheet.cell(row=3, column=3).value == "约300"
    sheet.cell(row=3, column=3).value = 300
    book.save(f)
    assert list(load_project(tiny_config, roads=False).compounds["households"]) == [400, 300]


def _health_shapefile(cfg: Path, epsg: int | None, encoding: str = "utf-8", prj: bool = False) -> Path:
    import geopandas as gpd

    gdf = gpd.read_file(cfg.parent / "health.csv", encoding="utf-8")
    gdf = gpd.GeoDataFrame(gdf.drop(columns=["经度", "纬度"]).rename(columns={"编号": "id", "名称": "name", "类型": "kind"}),
                           geometry=gpd.points_from_xy(gdf["经度"].astype(float), gdf["纬度"].astype(float)), crs=4326)
    if epsg is not None:
        gdf = gdf.to_crs(epsg)
    path = cfg.parent / "health.shp"
    gdf.to_file(path, encoding=encoding)
    for part in ("prj", "cpg"):
        if not (part == "prj" and prj):
            path.with_suffix("." + part).unlink(missing_ok=True)
    _health_keys(cfg, "health.shp")
    return path


@pytest.mark.parametrize("epsg,label", [
    (4549, "Gauss-Krüger metres (metres that fall in the district in this zone only), read as CGCS2000 3° Gauss-Krüger "
           "CM 120°E without zone prefix (EPSG:4549)"),
    (4528, "Gauss-Krüger metres (a zone prefix in the eastings), read as CGCS2000 3° Gauss-Krüger zone 40 with zone "
           "prefix (EPSG:4528)"),
    (4509, "Gauss-Krüger metres (metres that fall in the district in this zone only), read as CGCS2000 6° Gauss-Krüger "
           "CM 117°E without zone prefix (EPSG:4509)"),
    (4498, "Gauss-Krüger metres (a zone prefix in the eastings), read as CGCS2000 6° Gauss-Krüger zone 20 with zone "
           "prefix (EPSG:4498)"),
    (None, "longitude/latitude, read as WGS84 (EPSG:4326)"),
], ids=["gk3", "gk3-prefix", "gk6", "gk6-prefix", "lonlat"])
def test_a_shapefile_without_prj_gets_its_crs_from_the_coordinates_and_says_which(tiny_config, epsg, label):
    path = _health_shapefile(tiny_config, epsg)
    assert not path.with_suffix(".prj").exists()
    p = load_project(tiny_config, roads=False)
    (w,) = [x for x in p.problems if x.layer == "health"]
    code = epsg or 4326
    assert w.format("en") == (f"{path}: the file has no coordinate reference system; the coordinates are {label}. "
                              f"Fix: set crs = \"EPSG:{code}\" under [layers.health] to confirm (or name the right one)")
    got = p.health.geometry
    assert list(zip(got.x.round(6), got.y.round(6))) == [(119.205, 35.108), (119.216, 35.108)]
    _health_keys(tiny_config, "health.shp", f'crs = "EPSG:{code}"')  # the printed fix
    p = load_project(tiny_config, roads=False)
    assert p.problems == [] and list(zip(p.health.geometry.x.round(6), p.health.geometry.y.round(6)))[0] == (119.205, 35.108)


def test_gk_metres_for_the_boundary_itself_get_advice_that_works(tiny_config):
    import geopandas as gpd

    gpd.read_file(tiny_config.parent / "boundary.geojson").to_crs(4549).to_file(tiny_config.parent / "boundary.shp")
    (tiny_config.parent / "boundary.prj").unlink()
    text = tiny_config.read_text(encoding="utf-8").replace('path = "boundary.geojson"', 'path = "boundary.shp"')
    tiny_config.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_project(tiny_config, roads=False)
    assert "e.g. EPSG:4549 for central meridian 120°E" in str(info.value)
    tiny_config.write_text(text.replace('path = "boundary.shp"', 'path = "boundary.shp"\ncrs = "EPSG:4549"'), encoding="utf-8")
    assert load_project(tiny_config, roads=False).boundary.geometry.iloc[0].bounds == pytest.approx(
        (119.2, 35.1, 119.22, 35.12), abs=1e-6)


def test_a_gbk_shapefile_without_cpg_says_which_encoding_was_assumed(tiny_config):
    path = _health_shapefile(tiny_config, None, encoding="gbk", prj=True)
    assert "乙镇卫生院".encode("gbk") in path.with_suffix(".dbf").read_bytes()
    p = load_project(tiny_config, roads=False)
    assert list(p.health["name"]) == ["甲街道社区卫生服务中心", "乙镇卫生院"]
    assert [x.format("en") for x in p.problems] == [
        f"{path}: no .cpg file says the shapefile's text encoding: read the .dbf as GB18030 (GBK), detected from its "
        "bytes. Fix: to confirm, set encoding = \"gb18030\" under [layers.health] (or add a .cpg file containing GBK)"]
    _health_keys(tiny_config, "health.shp", 'encoding = "gb18030"')  # the printed fix
    p = load_project(tiny_config, roads=False)
    assert p.problems == [] and list(p.health["name"]) == ["甲街道社区卫生服务中心", "乙镇卫生院"]


# ---------------------------------------------------------------------------------------- output folder faults

def _run_cli(cfg: Path, out: Path) -> int:
    from siting.cli import main

    return main(["--lang", "en", "run", "--config", str(cfg), "--out", str(out), "--no-progress"])


def _no_partial_files(out: Path) -> bool:
    return not out.exists() or not [f for f in out.rglob("*") if ".tmp" in f.name or f.name.startswith(".siting-probe")]


def test_a_read_only_output_folder_is_one_line_and_exit_1(tiny_config, capsys, monkeypatch):
    import errno
    import tempfile

    out = tiny_config.parent / "out"

    def denied(*a, **k):  # what a folder without write permission answers (tests run as root, so chmod would not)
        raise PermissionError(errno.EACCES, "Permission denied", str(out / ".siting-probe-x"))

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", denied)
    monkeypatch.setattr(tempfile, "mkstemp", denied)
    assert _run_cli(tiny_config, out) == 1
    err = capsys.readouterr().err
    assert err == (f"Error: permission denied writing {out / '.siting-probe-x'}: choose a folder you can write with --out, "
                   "or change its permissions\n")
    assert _no_partial_files(out) and not list(out.glob("*.csv"))


def test_a_full_disk_is_one_line_exit_1_and_nothing_half_written(tiny_config, capsys, monkeypatch):
    import errno
    import os

    out = tiny_config.parent / "out"
    real_fsync = os.fsync
    calls = []

    def full(fd):
        calls.append(fd)
        if len(calls) > 2:  # the third output file meets a full disk
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    assert _run_cli(tiny_config, out) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("Error: the disk is full writing ") and "Traceback" not in err
    assert _no_partial_files(out)
    written = sorted(f.name for f in out.iterdir())
    assert len(written) == 2  # the two complete files; the third was never renamed into place


@pytest.mark.parametrize("how", ["ebusy", "windows-sharing-violation"])
def test_a_locked_output_file_is_one_line_and_exit_1(tiny_config, capsys, monkeypatch, how):
    import errno
    import os

    out = tiny_config.parent / "out"
    target = out / "audit.xlsx"
    real_replace = os.replace

    def locked(src, dst, *a, **k):
        if Path(dst).name == "audit.xlsx":  # open in Excel
            if how == "ebusy":
                raise OSError(errno.EBUSY, "Device or resource busy", str(dst))
            exc = PermissionError(errno.EACCES, "The process cannot access the file", str(dst))
            exc.winerror = 32
            raise exc
        return real_replace(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", locked)
    assert _run_cli(tiny_config, out) == 1
    assert capsys.readouterr().err == (f"Error: {target} is locked by another program (open in Excel or WPS?): "
                                       "close it and run again\n")
    assert _no_partial_files(out) and not target.exists()


# ---------------------------------------------------------------------------------------- 6. region-aware defaults

def _moved_extract(tmp_path: Path, lon: float, lat: float, relation: bool = True) -> Path:
    """tests/data/town.osm moved to (lon, lat) (it lies at about 119.30E 35.20N), optionally without its admin relation,
    with a place=town node "Kallio" and a place=city node "Helsinki" in it."""
    import re

    text = TOWN.read_text(encoding="utf-8")
    text = re.sub(r'lat="([0-9.]+)"', lambda m: f'lat="{float(m.group(1)) - 35.20 + lat:.5f}"', text)
    text = re.sub(r'lon="([0-9.]+)"', lambda m: f'lon="{float(m.group(1)) - 119.30 + lon:.5f}"', text)
    text = text.replace('v="测试县"', 'v="Helsingin seutu"')
    if not relation:
        start = text.index('  <relation id="900">')
        text = text[:start] + text[text.index("</relation>", start) + len("</relation>\n"):]
    places = (f'  <node id="7001" lat="{lat + 0.004:.5f}" lon="{lon + 0.004:.5f}"><tag k="place" v="town"/>'
              f'<tag k="name" v="Kallio"/><tag k="population" v="90000"/></node>\n'
              f'  <node id="7002" lat="{lat + 0.005:.5f}" lon="{lon + 0.005:.5f}"><tag k="place" v="city"/>'
              f'<tag k="name" v="Helsinki"/></node>\n')
    text = text.replace("  <way ", places + "  <way ", 1)
    path = tmp_path / "abroad.osm"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("relation,name", [(True, "Helsingin seutu"), (False, "Helsinki")], ids=["admin-relation", "largest-place"])
def test_osm_outside_china_uses_the_areas_own_name_and_warns_about_lanshans_targets(tmp_path, relation, name):
    from siting.osm import project_from_osm

    cfg = project_from_osm(_moved_extract(tmp_path, 24.94, 60.17, relation), tmp_path / "p")
    p = load_project(cfg)
    assert p.name == name and p.boundary["name"].iloc[0] == name and "研究区" not in cfg.read_text(encoding="utf-8")
    (w,) = [x for x in p.problems if x.layer == "policy"]
    assert w.severity == "warning" and w.en == (
        "the study area lies outside China, but the policy targets (4.72 places per 1,000 residents, remediation by "
        "2027-04-17 under 岚政办字〔2024〕5号) and the costs (yuan) are Lanshan's defaults")
    assert w.fix_en == 'give your district\'s own under [policy] and [optimize], or all in one file: [policy] preset = "policy.toml"'
    # the printed fix: one preset file with the area's own targets and costs
    (tmp_path / "p" / "policy.toml").write_text(
        '[policy]\nplan_id = "Local plan 2025"\nplaces_per_1000 = 30.0  # an invented target (unverified)\n\n'
        "[optimize]\ncost_per_class_parcel = 90000.0\n", encoding="utf-8")
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("[project]", '[policy]\npreset = "policy.toml"\n\n[project]'),
                   encoding="utf-8")
    p = load_project(cfg)
    assert [x for x in p.problems if x.layer == "policy"] == []
    assert p.config["policy.places_per_1000"] == 30.0 and p.config["optimize.cost_per_class_parcel"] == 90000.0
    assert p.config.source("policy.places_per_1000") == "an invented target (unverified) [preset policy.toml]"


def test_a_policy_preset_loads_under_the_project_file(tiny_config):
    (tiny_config.parent / "wulian.toml").write_text(
        '[policy]\nplaces_per_1000 = 5.5\nremediation_years = 2\n\n[optimize]\ncost_per_class_parcel = 1000000.0\n',
        encoding="utf-8")
    tiny_config.write_text(tiny_config.read_text(encoding="utf-8") + '\n[policy]\npreset = "wulian.toml"\nremediation_years = 4\n',
                           encoding="utf-8")
    from siting.config import load_config

    config = load_config(tiny_config)
    assert config["policy.places_per_1000"] == 5.5 and config["optimize.cost_per_class_parcel"] == 1e6
    assert config["policy.remediation_years"] == 4  # the project's own file wins over its preset
    assert config.source("policy.places_per_1000") == "preset wulian.toml"
    assert load_project(tiny_config, roads=False).problems == []  # inside China: no warning either way


def test_a_missing_or_wrong_preset_is_a_config_error(tiny_config):
    from siting.config import load_config
    from siting.errors import ConfigError

    base = tiny_config.read_text(encoding="utf-8")
    tiny_config.write_text(base + '\n[policy]\npreset = "nope.toml"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="policy.preset file not found: .*nope.toml"):
        load_config(tiny_config)
    (tiny_config.parent / "bad.toml").write_text("[policy]\nplaces_per_thousand = 5\n", encoding="utf-8")
    tiny_config.write_text(base + '\n[policy]\npreset = "bad.toml"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown config key 'policy.places_per_thousand'. Did you mean 'places_per_1000'"):
        load_config(tiny_config)


# ---------------------------------------------------------------------------------------- 7. no offset alarm on correct WGS84 data

HELSINKI = Path(__file__).parent / "data" / "helsinki-centre.osm.pbf"  # real OSM data, ODbL: see tests/data/README.md


def test_a_real_extract_without_kindergartens_loads_with_no_offset_alarm(tmp_path):
    from siting.osm import project_from_osm

    p = load_project(project_from_osm(HELSINKI, tmp_path / "p"))
    assert p.name == "Helsinki" and len(p.childcare) == 0 and len(p.health) >= 5 and len(p.compounds) > 0
    kinds = sorted({(x.layer, x.severity) for x in p.problems})
    assert kinds == [("childcare", "note"), ("policy", "warning"), ("roads", "warning")]  # no offset warning for health
    assert not [x for x in p.problems if "looks like" in x.en]


@pytest.mark.parametrize("seed,population,townships,size", [(3, 600_000, 60, 0.6)], ids=["60-townships"])
def test_generated_wgs84_districts_raise_no_offset_alarm(tmp_path, seed, population, townships, size):
    # seed 3 is a case that cried wolf: its health centres, set back ~40 m from a dense grid, came closer to some
    # road after the GCJ-02 inverse (gain 0.34, 62 % closer) but as much after the same shift turned other ways
    import shapely

    from siting import demo

    box = shapely.box(118.5, 35.0, 118.5 + size, 35.0 + size * 0.8)
    demo.generate(tmp_path, seed=seed, outline=box, name="测试\"县", population=population, townships=townships)
    p = load_project(tmp_path / "siting.toml")  # the generator's own project file
    assert p.name == '测试"县（演示）'
    assert len(p.health) >= 5 and len(p.childcare) >= 5
    assert [x.en for x in p.problems if "looks like" in x.en] == []
