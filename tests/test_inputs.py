"""Real planners' data in, clear errors out: a battery of broken inputs, each with its exact message.

Every case starts from the tiny project (tests/tiny.py) and breaks one thing. Errors are asserted
on the English ``str(err)`` (and ``err.zh`` for some); warnings on the project's problems.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod, Transformer

from siting import load_project
from siting.config import LayerSpec
from siting.crs import bd09_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from siting.errors import ConfigError, DataError, ModelError
from siting.load import read_layer
from tests.tiny import CHILDCARE_HEADER, CHILDCARE_ROWS, HEALTH_HEADER, grid_osm

GEOD = Geod(ellps="WGS84")


# ---------------------------------------------------------------------------------------- helpers


def _load(cfg, **kw):
    return load_project(cfg, roads=kw.pop("roads", False), **kw)


def _error(cfg, **kw) -> DataError:
    with pytest.raises(DataError) as info:
        _load(cfg, **kw)
    return info.value


def _config(cfg: Path, old: str, new: str) -> None:
    text = cfg.read_text(encoding="utf-8")
    assert old in text, old
    cfg.write_text(text.replace(old, new, 1), encoding="utf-8")


def _layer_keys(cfg: Path, layer: str, path: str, *lines: str) -> None:
    """Point [layers.LAYER] at ``path`` and add ``lines`` (TOML) under it."""
    text = cfg.read_text(encoding="utf-8")
    head = f"[layers.{layer}]\npath = "
    start = text.index(head)
    end = text.index("\n", start + len(head))
    cfg.write_text(text[:start] + head + json.dumps(path, ensure_ascii=False) + "".join("\n" + x for x in lines)
                   + text[end:], encoding="utf-8")


def _edit(cfg: Path, name: str, old: str, new: str, encoding="utf-8") -> None:
    path = cfg.parent / name
    text = path.read_text(encoding="utf-8-sig")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding=encoding)


def _warnings(project, layer=None):
    return [p.en for p in project.problems if p.severity == "warning" and (layer is None or p.layer == layer)]


def _metres(a, b) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


def _health_csv(cfg: Path, rows: list[tuple], header="编号,名称,类型,x,y", encoding="utf-8") -> Path:
    path = cfg.parent / "health.csv"
    lines = [header] + [",".join(str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


# Health centres on the tiny project's road grid (road lines every 0.002°, nodes on even thousandths).
ON_ROADS = [(119.2010, 35.1040), (119.2040, 35.1070), (119.2130, 35.1100), (119.2160, 35.1150),
            (119.2090, 35.1180), (119.2060, 35.1030), (119.2180, 35.1050)]


def _on_road_health(cfg: Path, convert=None, crs_line=None, *more) -> list[tuple[float, float]]:
    rows = []
    for i, (lon, lat) in enumerate(ON_ROADS):
        if convert is not None:
            lon, lat = (float(v) for v in convert(lon, lat))
        rows.append((f"H{i}", f"卫生室{i}", "卫生室", f"{lon:.9f}", f"{lat:.9f}"))
    _health_csv(cfg, rows, header=HEALTH_HEADER)
    if crs_line or more:
        _layer_keys(cfg, "health", "health.csv", *[x for x in (crs_line, *more) if x])
    return ON_ROADS


def _gk(lonlat, epsg) -> tuple[float, float]:
    return Transformer.from_crs(4326, epsg, always_xy=True).transform(*lonlat)


# ---------------------------------------------------------------------------------------- CRS


def test_missing_crs(tiny_config):
    gdf = gpd.read_file(tiny_config.parent / "parcels.geojson").set_crs(None, allow_override=True)
    gdf.to_file(tiny_config.parent / "parcels.gpkg", driver="GPKG")
    _layer_keys(tiny_config, "parcels", "parcels.gpkg")
    f = tiny_config.parent / "parcels.gpkg"
    p = _load(tiny_config)
    (w,) = [x for x in p.problems if x.layer == "parcels"]
    assert w.format("en") == (f"{f}: the file has no coordinate reference system; the coordinates are longitude/latitude, "
                              "read as WGS84 (EPSG:4326). Fix: set crs = \"EPSG:4326\" under [layers.parcels] to confirm "
                              "(or name the right one)")
    assert w.format("zh") == (f"{f}：文件没有坐标系信息；坐标为经纬度，已按 WGS84（EPSG:4326）读取。"
                              "处理：在 [layers.parcels] 下设置 crs = \"EPSG:4326\" 以确认（或填写实际坐标系）")
    _layer_keys(tiny_config, "parcels", "parcels.gpkg", 'crs = "EPSG:4326"')  # the printed fix
    assert [x for x in _load(tiny_config).problems if x.layer == "parcels"] == []


def test_missing_crs_with_zone_prefix_names_the_likely_code(tiny_config):
    gdf = gpd.read_file(tiny_config.parent / "parcels.geojson").to_crs(4528).set_crs(None, allow_override=True)
    gdf.to_file(tiny_config.parent / "parcels.gpkg", driver="GPKG")
    _layer_keys(tiny_config, "parcels", "parcels.gpkg")
    p = _load(tiny_config)
    assert _warnings(p, "parcels") == [
        "the file has no coordinate reference system; the coordinates are Gauss-Krüger metres (a zone prefix in the "
        "eastings), read as CGCS2000 3° Gauss-Krüger zone 40 with zone prefix (EPSG:4528)"]
    assert p.parcels.set_index("id").loc["P-2", "area"] == pytest.approx(91.1 * 110.95, rel=0.01)


def test_unknown_crs_name(tiny_config):
    _layer_keys(tiny_config, "health", "health.csv", 'crs = "Beijing54-ish"')
    assert (f"ERROR {tiny_config.parent / 'health.csv'}: unknown CRS 'Beijing54-ish'. "
            "Fix: use e.g. EPSG:4326, EPSG:4490, EPSG:4549, CGCS2000-GK3, GCJ-02 or BD-09") in str(_error(tiny_config))


def test_lon_lat_swapped_columns(tiny_config):
    path = tiny_config.parent / "childcare.csv"
    path.write_text(path.read_text(encoding="utf-8-sig").replace("经度,纬度", "纬度,经度"), encoding="utf-8")
    err = _error(tiny_config)
    assert str(err) == (
        f"1 problem(s) in the input data:\nERROR {path}: longitude and latitude look swapped: the x values are latitudes "
        "(3-54) and the y values longitudes (73-135). Fix: swap them: set x = \"纬度\" and y = \"经度\" under [layers.childcare]")
    assert "经纬度似乎颠倒：x 值像纬度（3–54），y 值像经度（73–135）。处理：在 [layers.childcare] 下设置 x = \"纬度\"、y = \"经度\"" in err.zh


def test_lon_lat_swapped_in_a_geojson(tiny_config):
    path = tiny_config.parent / "compounds.geojson"
    gdf = gpd.read_file(path)
    gdf["geometry"] = shapely.transform(gdf.geometry.values, lambda c: c[:, ::-1])
    path.write_text(gdf.to_json(ensure_ascii=False), encoding="utf-8")
    assert (f"ERROR {path}: longitude and latitude look swapped: the x values are latitudes (3-54) and the y values "
            "longitudes (73-135). Fix: export the layer again with longitude as x and latitude as y") in str(_error(tiny_config))


def test_gcj02_declared_as_wgs84_is_flagged_against_the_roads(tiny_config):
    _on_road_health(tiny_config, wgs84_to_gcj02, None, 'outside = "keep"')  # shifted points may leave the district
    p = _load(tiny_config, roads=True)
    w = [x for x in _warnings(p, "health") if not x.startswith("lies ")]  # shifted points may leave the district too
    assert len(w) == 1
    assert w[0].startswith('looks like GCJ-02 coordinates declared as WGS84; set crs = "GCJ-02" (median distance to the nearest road: ')
    assert w[0].endswith(" m as declared, 0 m converted from GCJ-02)")
    zh = next(x.zh for x in p.problems if x.layer == "health" and x.en.startswith("looks like"))
    assert zh.startswith('疑似把 GCJ-02 坐标当作 WGS84，请设置 crs = "GCJ-02"')


def test_bd09_declared_as_wgs84_is_flagged_as_bd09(tiny_config):
    _on_road_health(tiny_config, wgs84_to_bd09, None, 'outside = "keep"')
    w = [x for x in _warnings(_load(tiny_config, roads=True), "health") if not x.startswith("lies ")]
    assert len(w) == 1 and w[0].startswith('looks like BD-09 coordinates declared as WGS84; set crs = "BD-09"')


def test_true_wgs84_points_on_roads_raise_no_shift_warning(tiny_config):
    _on_road_health(tiny_config)
    assert _warnings(_load(tiny_config, roads=True)) == []


def test_gcj02_declared_correctly_is_converted_and_not_flagged(tiny_config):
    truth = _on_road_health(tiny_config, convert=wgs84_to_gcj02, crs_line='crs = "GCJ-02"')
    p = _load(tiny_config, roads=True)
    assert _warnings(p) == []
    got = p.health.geometry
    assert max(_metres(t, (g.x, g.y)) for t, g in zip(truth, got)) < 0.5


def test_bd09_declared_correctly_converts_back_within_half_a_metre(tiny_config):
    truth = _on_road_health(tiny_config, convert=wgs84_to_bd09, crs_line='crs = "BD-09"')
    p = _load(tiny_config)
    assert max(_metres(t, (g.x, g.y)) for t, g in zip(truth, p.health.geometry)) < 0.5
    # and the conversion itself: Baidu's offset at Lanshan is over a kilometre
    assert _metres(truth[0], tuple(map(float, wgs84_to_bd09(*truth[0])))) > 1000
    assert _metres(truth[0], tuple(map(float, bd09_to_wgs84(*wgs84_to_bd09(*truth[0]))))) < 0.5


@pytest.mark.parametrize("epsg", [4528, 4549, 4498, 4509])
def test_gk_csv_declared_correctly_with_and_without_prefix(tiny_config, epsg):
    truth = [(119.205, 35.108), (119.216, 35.108)]
    _health_csv(tiny_config, [("H1", "甲", "卫生院", *_gk(truth[0], epsg)), ("H2", "乙", "卫生院", *_gk(truth[1], epsg))])
    _layer_keys(tiny_config, "health", "health.csv", f'crs = "EPSG:{epsg}"')
    p = _load(tiny_config)
    assert _warnings(p) == []
    assert max(_metres(t, (g.x, g.y)) for t, g in zip(truth, p.health.geometry)) < 0.01


def test_gk_wrong_variant_prefix_eastings_declared_without(tiny_config):
    truth = [(119.205, 35.108), (119.216, 35.108)]
    _health_csv(tiny_config, [("H1", "甲", "卫生院", *_gk(truth[0], 4528)), ("H2", "乙", "卫生院", *_gk(truth[1], 4528))])
    _layer_keys(tiny_config, "health", "health.csv", 'crs = "EPSG:4549"')
    p = _load(tiny_config)
    assert _warnings(p) == [
        "the config is CGCS2000 3° Gauss-Krüger CM 120°E without zone prefix (EPSG:4549) but the eastings are with a zone "
        "prefix: read as CGCS2000 3° Gauss-Krüger zone 40 with zone prefix (EPSG:4528)"]
    assert max(_metres(t, (g.x, g.y)) for t, g in zip(truth, p.health.geometry)) < 0.01


def test_gk_wrong_variant_plain_eastings_declared_with_prefix(tiny_config):
    gdf = gpd.read_file(tiny_config.parent / "parcels.geojson").to_crs(4549).set_crs(4528, allow_override=True)
    gdf.to_file(tiny_config.parent / "parcels.gpkg", driver="GPKG")
    _layer_keys(tiny_config, "parcels", "parcels.gpkg")
    p = _load(tiny_config)
    assert _warnings(p) == [
        "the file is CGCS2000 3° Gauss-Krüger zone 40 with zone prefix (EPSG:4528) but the eastings are without a zone "
        "prefix: read as CGCS2000 3° Gauss-Krüger CM 120°E without zone prefix (EPSG:4549)"]
    assert p.parcels.set_index("id").loc["P-2", "area"] == pytest.approx(91.1 * 110.95, rel=0.01)


@pytest.mark.parametrize("alias,epsg", [("CGCS2000-GK3", 4528), ("CGCS2000-GK3", 4549), ("CGCS2000-GK6", 4509),
                                        ("cgcs2000_gk6", 4498)])
def test_gk_alias_works_out_the_zone_from_prefix_or_district(tiny_config, alias, epsg):
    truth = [(119.205, 35.108), (119.216, 35.108)]
    _health_csv(tiny_config, [("H1", "甲", "卫生院", *_gk(truth[0], epsg)), ("H2", "乙", "卫生院", *_gk(truth[1], epsg))])
    _layer_keys(tiny_config, "health", "health.csv", f'crs = "{alias}"')
    p = _load(tiny_config)
    assert max(_metres(t, (g.x, g.y)) for t, g in zip(truth, p.health.geometry)) < 0.01


def test_gk_alias_for_the_boundary_itself_needs_a_prefix(tiny_config):
    gdf = gpd.read_file(tiny_config.parent / "boundary.geojson").to_crs(4549).set_crs(None, allow_override=True)
    gdf.to_file(tiny_config.parent / "boundary.gpkg", driver="GPKG")
    _layer_keys(tiny_config, "boundary", "boundary.gpkg", 'crs = "CGCS2000-GK3"')
    assert (f"ERROR {tiny_config.parent / 'boundary.gpkg'}: crs = \"CGCS2000-GK3\": the eastings have no zone prefix and the "
            "district is not known yet, so the zone cannot be worked out. Fix: name the EPSG code, e.g. crs = \"EPSG:4549\" "
            "(3° zone, CM 120°E)") in str(_error(tiny_config))


def test_gk_csv_without_crs_is_recognised_by_its_prefix(tiny_config):
    truth = (119.205, 35.108)
    _health_csv(tiny_config, [("H1", "甲", "卫生院", *_gk(truth, 4528))])
    p = _load(tiny_config)
    assert _warnings(p) == ["no CRS given; the eastings carry a zone prefix, read as CGCS2000 3° Gauss-Krüger zone 40 "
                            "with zone prefix (EPSG:4528)"]
    assert _metres(truth, (p.health.geometry[0].x, p.health.geometry[0].y)) < 0.01


@pytest.mark.parametrize("epsg,crs_line,expected", [
    (4498, 'crs = "CGCS2000-GK3"',  # a 6° prefix under a 3° alias
     "crs = \"CGCS2000-GK3\" but the eastings carry the prefix of CGCS2000 6° Gauss-Krüger zone 20 with zone prefix "
     "(EPSG:4498). Fix: set crs = \"EPSG:4498\""),
    (4549, 'crs = "EPSG:4508"',  # metres of the 3° zone declared as the 6° zone: the points land ~250 km away
     "health.csv, row 2, id H1 (甲): lies "),
    (4549, 'crs = "EPSG:4326"',  # metres declared as degrees
     "health.csv: the config says WGS 84 (degrees) but the coordinates are not longitude/latitude (e.g. 427520.6, "
     "3886863.8). Fix: set crs = \"CGCS2000-GK3\" (or the right projected CRS) under [layers.health]"),
], ids=["gk6-prefix-under-gk3", "gk-wrong-zone", "metres-declared-wgs84"])
def test_gk_coordinates_with_a_missing_or_wrong_crs(tiny_config, epsg, crs_line, expected):
    _health_csv(tiny_config, [("H1", "甲", "卫生院", *_gk((119.205, 35.108), epsg))])
    if crs_line:
        _layer_keys(tiny_config, "health", "health.csv", crs_line)
    assert expected in str(_error(tiny_config))


# ---------------------------------------------------------------------------------------- encodings and readers


def _shapefile_without_cpg(cfg: Path, encoding: str) -> Path:
    """The compounds' polygons as compounds.shp in ``encoding`` with no .cpg, as ArcGIS on Chinese Windows writes it."""
    d = cfg.parent
    gdf = gpd.read_file(d / "compounds.geojson")
    gdf[gdf.geometry.geom_type == "Polygon"].to_file(d / "compounds.shp", encoding=encoding)
    for cpg in d.glob("compounds.[cC][pP][gG]"):
        cpg.unlink()
    _layer_keys(cfg, "compounds", "compounds.shp")
    return d


def test_gbk_shapefile_without_cpg_loads_chinese_names(tiny_config):
    d = _shapefile_without_cpg(tiny_config, "gbk")
    raw = (d / "compounds.dbf").read_bytes()
    assert "甲一小区".encode("gbk") in raw and "甲一小区".encode() not in raw  # really GBK, and no .cpg
    p = _load(tiny_config)
    assert list(p.compounds["name"]) == ["甲一小区", "甲二小区", "乙一小区"]
    assert list(p.compounds["kind"]) == ["compound"] * 3 and p.compounds.set_index("id").loc["C1", "township"] == "甲街道"


def test_utf8_shapefile_without_cpg_loads_chinese_names(tiny_config):
    d = _shapefile_without_cpg(tiny_config, "utf-8")
    # UTF-8 Chinese takes 3 bytes a character: the .dbf's 10-byte field names cut 所属乡镇 and 竣工日期 mid-character
    err = _error(tiny_config)
    f = d / "compounds.shp"
    assert (f"ERROR {f}, column '所属乡镇': column '所属乡镇' named in the config is not in the file; columns are 编号, 名称, "
            "所属乡, 类型, 户数, 人口, 竣工日, 状态. Fix: correct layers.compounds.columns in the config") in str(err)
    _config(tiny_config, '"所属乡镇" = "township"', '"所属乡" = "township"')
    _config(tiny_config, '"竣工日期" = "completed"', '"竣工日" = "completed"')
    p = _load(tiny_config)
    assert list(p.compounds["name"]) == ["甲一小区", "甲二小区", "乙一小区"]
    assert _warnings(p, "compounds") == ["field names cut mid-character by the .dbf's 10-byte limit, read as: 所属乡, 竣工日"]
    assert list(f.parent.glob("compounds.*")) and not (d / "compounds.cpg").exists()  # the input was not "fixed"


def test_shapefile_without_dbf(tiny_config):
    d = tiny_config.parent
    gpd.read_file(d / "parcels.geojson").to_file(d / "parcels.shp", encoding="utf-8")
    (d / "parcels.dbf").unlink()
    _layer_keys(tiny_config, "parcels", "parcels.shp")
    assert (f"ERROR {d / 'parcels.shp'}: the shapefile has no .dbf file beside it (attributes missing). Fix: copy all parts "
            "of the shapefile (.shp, .shx, .dbf, .prj, .cpg)") in str(_error(tiny_config))


def test_gb18030_csv(tiny_config):
    # 䶮 (U+4DAE) is in GB18030 but not in GBK
    rows = [r.replace("阳光幼儿园", "䶮光幼儿园") for r in CHILDCARE_ROWS]
    (tiny_config.parent / "childcare.csv").write_bytes(("\n".join([CHILDCARE_HEADER, *rows]) + "\n").encode("gb18030"))
    p = _load(tiny_config)
    assert p.childcare.set_index("id").loc["K1", "name"] == "䶮光幼儿园"


def test_wrong_declared_encoding(tiny_config):
    path = tiny_config.parent / "health.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("gbk"))
    _layer_keys(tiny_config, "health", "health.csv", 'encoding = "utf-8"')
    assert f"ERROR {path}: cannot decode the text as utf-8: 'utf-8' codec can't decode byte" in str(_error(tiny_config))


def test_excel_with_chinese_headers_and_sheet(tiny_config):
    d = tiny_config.parent
    df = pd.read_csv(d / "health.csv")
    with pd.ExcelWriter(d / "health.xlsx") as xw:
        pd.DataFrame({"说明": ["封面"]}).to_excel(xw, sheet_name="封面", index=False)
        df.to_excel(xw, sheet_name="医疗机构", index=False)
    _layer_keys(tiny_config, "health", "health.xlsx", 'sheet = "医疗机构"')
    assert list(_load(tiny_config).health["name"]) == ["甲街道社区卫生服务中心", "乙镇卫生院"]


def test_excel_sheet_that_does_not_exist(tiny_config):
    d = tiny_config.parent
    pd.read_csv(d / "health.csv").to_excel(d / "health.xlsx", sheet_name="Sheet1", index=False)
    _layer_keys(tiny_config, "health", "health.xlsx", 'sheet = "医疗"')
    err = _error(tiny_config)
    assert (f"ERROR {d / 'health.xlsx'}: the workbook has no sheet '医疗'; sheets are Sheet1. "
            "Fix: set sheet = \"…\" to one of those names") in str(err)
    assert "工作簿中没有名为“医疗”的工作表；现有工作表：Sheet1" in err.zh


def test_empty_file(tiny_config):
    (tiny_config.parent / "health.csv").write_bytes(b"")
    assert (f"ERROR {tiny_config.parent / 'health.csv'}: the file is empty. Fix: export the layer again"
            in str(_error(tiny_config)))


def test_header_only_is_a_warning_for_an_optional_layer_and_an_error_for_compounds(tiny_config):
    (tiny_config.parent / "health.csv").write_text(HEALTH_HEADER + "\n", encoding="utf-8")
    assert _warnings(_load(tiny_config), "health") == ["the layer has no features"]
    (tiny_config.parent / "compounds.geojson").write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    assert f"ERROR {tiny_config.parent / 'compounds.geojson'}: the layer has no features" in str(_error(tiny_config))


def test_garbage_geojson(tiny_config):
    (tiny_config.parent / "parcels.geojson").write_text("{not json", encoding="utf-8")
    assert f"ERROR {tiny_config.parent / 'parcels.geojson'}: cannot read the file: " in str(_error(tiny_config))


def test_geopackage_layer_that_does_not_exist(tiny_config):
    d = tiny_config.parent
    gpd.read_file(d / "parcels.geojson").to_file(d / "data.gpkg", layer="地块", driver="GPKG")
    _layer_keys(tiny_config, "parcels", "data.gpkg", 'layer = "parcels"')
    assert (f"ERROR {d / 'data.gpkg'}: no layer 'parcels' in the file; layers are 地块. Fix: set layer = \"…\" "
            "to one of those names") in str(_error(tiny_config))


def test_geopackage_with_several_layers_and_none_named(tiny_config):
    d = tiny_config.parent
    gpd.read_file(d / "parcels.geojson").to_file(d / "data.gpkg", layer="地块", driver="GPKG")
    gpd.read_file(d / "boundary.geojson").to_file(d / "data.gpkg", layer="边界", driver="GPKG")
    _layer_keys(tiny_config, "parcels", "data.gpkg")
    p = _load(tiny_config)
    assert _warnings(p, "parcels") == ["the file has 2 layers (地块, 边界); reading '地块'"] and len(p.parcels) == 2


def test_unexpected_reader_failure_names_the_file(tiny_config, monkeypatch):
    import siting.load

    def boom(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(siting.load, "_conform", boom)
    assert (f"ERROR {tiny_config.parent / 'boundary.geojson'}: cannot read the layer (RuntimeError: boom). "
            "Fix: check the file opens in GIS; report the message if it does") in str(_error(tiny_config))


# ---------------------------------------------------------------------------------------- geometry


def _set_geometry(cfg, name, index, geometry):
    path = cfg.parent / name
    data = json.loads(path.read_text(encoding="utf-8"))
    data["features"][index]["geometry"] = geometry
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_self_intersecting_polygon(tiny_config):
    _set_geometry(tiny_config, "compounds.geojson", 0, {"type": "Polygon", "coordinates": [
        [[119.2025, 35.1025], [119.2035, 35.1035], [119.2035, 35.1025], [119.2025, 35.1035], [119.2025, 35.1025]]]})
    err = _error(tiny_config)
    assert (f"ERROR {tiny_config.parent / 'compounds.geojson'}, row 1, id C1 (甲一小区): invalid geometry: Self-intersection[119.203 35.103]. "
            "Fix: fix it in GIS, or set repair = true under [layers.compounds]") in str(err)
    assert "第 1 行，编号 C1（甲一小区）：几何无效：Self-intersection[119.203 35.103]" in err.zh


def test_invalid_ring_too_few_points(tiny_config):
    _set_geometry(tiny_config, "parcels.geojson", 1, {"type": "Polygon", "coordinates": [
        [[119.2165, 35.1125], [119.2175, 35.1135], [119.2165, 35.1125], [119.2165, 35.1125]]]})
    text = str(_error(tiny_config))
    assert f"ERROR {tiny_config.parent / 'parcels.geojson'}, row 2, id P-2: invalid geometry: Too few points" in text


def test_empty_geometry(tiny_config):
    _set_geometry(tiny_config, "compounds.geojson", 1, None)
    assert (f"ERROR {tiny_config.parent / 'compounds.geojson'}, row 2, id C2 (甲二小区): geometry is missing or empty. "
            "Fix: draw the feature or delete the row") in str(_error(tiny_config))


def test_points_in_the_parcels_layer(tiny_config):
    _set_geometry(tiny_config, "parcels.geojson", 0, {"type": "Point", "coordinates": [119.209, 35.113]})
    err = _error(tiny_config)
    assert (f"ERROR {tiny_config.parent / 'parcels.geojson'}, row 1, id P-1: geometry is Point; expected Polygon or "
            "MultiPolygon. Fix: export the layer with the right geometry type") in str(err)
    assert "几何类型为 Point，应为 Polygon 或 MultiPolygon" in err.zh


def test_points_outside_the_district_are_an_error_unless_dropped_or_kept(tiny_config):
    _edit(tiny_config, "health.csv", "119.2160,35.1080", "119.2300,35.1080")  # ~900 m east of the border
    f = tiny_config.parent / "health.csv"
    err = _error(tiny_config)
    assert str(err) == (
        f"1 problem(s) in the input data:\nERROR {f}, row 3, id H2 (乙镇卫生院): lies 912 m outside the district boundary. "
        "Fix: check its coordinates (swapped lon/lat? another coordinate system?) or delete the row; to leave such features "
        "out set outside = \"drop\" under [layers.health], to count them anyway outside = \"keep\"")
    assert "第 3 行，编号 H2（乙镇卫生院）：位于行政区边界外 912 米" in err.zh
    # the fix, applied both ways
    _layer_keys(tiny_config, "health", "health.csv", 'outside = "keep"')
    p = _load(tiny_config)
    assert [x.format("en") for x in p.problems if x.layer == "health"] == [
        f"{f}, row 3, id H2 (乙镇卫生院): lies 912 m outside the district boundary: kept (outside = \"keep\"). "
        "Fix: check its coordinates (swapped lon/lat? another coordinate system?)"]
    assert list(p.health["id"]) == ["H1", "H2"]
    _config(tiny_config, 'outside = "keep"', 'outside = "drop"')
    p = _load(tiny_config)
    assert [x.format("en") for x in p.problems if x.layer == "health"] == [
        f"{f}, row 3, id H2 (乙镇卫生院): lies 912 m outside the district boundary: left out (outside = \"drop\")"]
    assert list(p.health["id"]) == ["H1"]


def test_duplicated_ids(tiny_config):
    _edit(tiny_config, "health.csv", "H2,", "H1,")
    err = _error(tiny_config)
    assert (f"ERROR {tiny_config.parent / 'health.csv'}, id H1, column 'id': id 'H1' is used by rows 2, 3. "
            "Fix: give each feature its own id") in str(err)
    assert "编号“H1”重复，出现在第 2、3 行" in err.zh


def test_config_maps_to_an_unknown_field(tiny_config):
    _config(tiny_config, '"托班数" = "classes"', '"托班数" = "class_count"')
    with pytest.raises(ConfigError) as err:
        _load(tiny_config)
    assert str(err.value) == (
        f"{tiny_config}: layers.childcare.columns maps '托班数' to unknown field 'class_count'; fields are id, name, kind, "
        "township, places, classes, registered, filed, inclusive, enrolled, caregivers, largest_class, class_type, floor. "
        "Did you mean 'class_type'?")


def test_config_names_a_column_the_file_lacks(tiny_config):
    _config(tiny_config, '"类型" = "kind"}\n\n[layers.parcels]', '"种类" = "kind"}\n\n[layers.parcels]')
    text = str(_error(tiny_config))
    f = tiny_config.parent / "health.csv"
    assert (f"ERROR {f}, column '种类': column '种类' named in the config is not in the file; columns are 编号, 名称, 类型. "
            "Fix: correct layers.health.columns in the config") in text


def test_required_field_missing(tiny_config):
    _edit(tiny_config, "health.csv", "编号,名称,类型,", "编号,名称,分类,")
    text = str(_error(tiny_config))
    assert (f"ERROR {tiny_config.parent / 'health.csv'}, column 'kind': required field 'kind' (类型) is missing; columns "
            "are 编号, 名称, 分类. Fix: map the right column to it: [layers.health.columns] \"源列名\" = \"kind\"") in text


def _compound_prop(cfg, index, key, value):
    path = cfg.parent / "compounds.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["features"][index]["properties"][key] = value
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_negative_population(tiny_config):
    _compound_prop(tiny_config, 0, "人口", -100)
    err = _error(tiny_config)
    assert (f"ERROR {tiny_config.parent / 'compounds.geojson'}, row 1, id C1 (甲一小区), column '人口' (population): value -100.0 must be at "
            "least 0. Fix: correct the cell") in str(err)
    assert "第 1 行，编号 C1（甲一小区），列“人口”：取值 -100.0 不能小于 0" in err.zh


def test_text_population(tiny_config):
    _compound_prop(tiny_config, 2, "人口", "约八百")
    assert (f"ERROR {tiny_config.parent / 'compounds.geojson'}, row 3, id C3 (乙一小区), column '人口' (population): value '约八百' is not a "
            "number. Fix: correct the cell") in str(_error(tiny_config))


def test_population_with_thousands_separator_is_fine(tiny_config):
    _compound_prop(tiny_config, 2, "人口", "1,200")
    assert _load(tiny_config).compounds.set_index("id").loc["C3", "population"] == 1200


def test_unknown_category_value(tiny_config):
    _edit(tiny_config, "health.csv", "乡镇卫生院", "药店")
    err = _error(tiny_config)
    assert (f"ERROR {tiny_config.parent / 'health.csv'}, row 3, id H2 (乙镇卫生院), column '类型' (kind): value '药店' unknown value; allowed: "
            "妇幼保健计划生育服务中心 (mch_centre), 乡镇卫生院 (township_health_centre), 社区卫生服务中心 "
            "(community_health_centre), 医院 (hospital), 诊所 (clinic). Fix: correct the cell or add it under "
            "[layers.health.values.kind]") in str(err)


def test_unknown_category_value_mapped_in_the_config(tiny_config):
    _edit(tiny_config, "health.csv", "乡镇卫生院", "中心卫生院")
    _layer_keys(tiny_config, "health", "health.csv", 'values = { kind = { "中心卫生院" = "township_health_centre" } }')
    assert _load(tiny_config).health.set_index("id").loc["H2", "kind"] == "township_health_centre"


def test_bad_date(tiny_config):
    _compound_prop(tiny_config, 0, "竣工日期", "去年")
    _compound_prop(tiny_config, 1, "竣工日期", "2024-13-45")
    text = str(_error(tiny_config))
    f = tiny_config.parent / "compounds.geojson"
    assert (f"ERROR {f}, row 1, id C1 (甲一小区), column '竣工日期' (completed): value '去年' is not a date (YYYY-MM-DD or a year). "
            "Fix: correct the cell") in text
    assert f"ERROR {f}, row 2, id C2 (甲二小区), column '竣工日期' (completed): value '2024-13-45' is not a date (YYYY-MM-DD or a year)" in text


def test_bad_yes_no(tiny_config):
    _edit(tiny_config, "childcare.csv", "K1,阳光幼儿园,幼儿园,40,2,是,是,是", "K1,阳光幼儿园,幼儿园,40,2,是,待定,是")
    assert (f"ERROR {tiny_config.parent / 'childcare.csv'}, row 2, id K1 (阳光幼儿园), column '已备案' (filed): value '待定' must be yes/no (是/否)"
            in str(_error(tiny_config)))


def test_all_problems_are_reported_together(tiny_config):
    _edit(tiny_config, "health.csv", "乡镇卫生院", "药店")
    _compound_prop(tiny_config, 0, "人口", -1)
    _set_geometry(tiny_config, "parcels.geojson", 0, {"type": "Point", "coordinates": [119.209, 35.113]})
    text = str(_error(tiny_config))
    assert text.startswith("3 problem(s) in the input data:")
    assert "health.csv" in text and "compounds.geojson" in text and "parcels.geojson" in text


# ---------------------------------------------------------------------------------------- config and roads


def test_config_path_that_does_not_exist(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_project(tmp_path / "nope.toml")
    assert str(err.value) == f"config file not found: {tmp_path / 'nope.toml'}"
    assert err.value.zh == f"找不到配置文件：{tmp_path / 'nope.toml'}"


def test_missing_roads_file(tiny_config):
    (tiny_config.parent / "roads.osm").unlink()
    err = _error(tiny_config, roads=True)
    assert str(err) == (f"1 problem(s) in the input data:\nERROR {tiny_config.parent / 'roads.osm'}: file not found. "
                        "Fix: check layers.roads.path in the config, or get an extract with `siting fetch`")


def test_roads_file_that_is_not_osm(tiny_config):
    shutil.copy(tiny_config.parent / "parcels.geojson", tiny_config.parent / "roads.geojson")
    _layer_keys(tiny_config, "roads", "roads.geojson")
    assert (f"ERROR {tiny_config.parent / 'roads.geojson'}: not an OpenStreetMap extract (.osm or .osm.pbf). "
            "Fix: export the roads from OSM (e.g. Geofabrik) or run `siting fetch`") in str(_error(tiny_config, roads=True))


def test_broken_osm_xml(tiny_config):
    (tiny_config.parent / "roads.osm").write_text("<osm><node id=", encoding="utf-8")
    text = str(_error(tiny_config, roads=True))
    assert f"ERROR {tiny_config.parent / 'roads.osm'}: Cannot read OSM file {tiny_config.parent / 'roads.osm'}: " in text


def test_road_network_in_pieces_reports_what_was_dropped(tiny_config):
    island = ('<node id="90001" lat="35.1190" lon="119.2010"/><node id="90002" lat="35.1190" lon="119.2015"/>'
              '<node id="90003" lat="35.1195" lon="119.2015"/>'
              '<way id="90100"><nd ref="90001"/><nd ref="90002"/><nd ref="90003"/><tag k="highway" v="footway"/></way>')
    (tiny_config.parent / "roads.osm").write_text(grid_osm().replace("</osm>", island + "</osm>"), encoding="utf-8")
    p = _load(tiny_config, roads=True)
    report = p.roads.graph["siting_report"]
    n, e = p.roads.number_of_nodes(), p.roads.number_of_edges()
    # with network.simplify the footway's middle node is merged away: 2 nodes and 2 edges, else 3 and 4
    dropped = "2 nodes and 2 edges" if report.dropped_nodes == 2 else "3 nodes and 4 edges"
    assert _warnings(p, "roads") == [
        f"the road network is in 2 pieces: kept the largest ({n} nodes, {e} edges), dropped 1 piece(s) with {dropped}"]
    assert n in (117, 121)


# ---------------------------------------------------------------------------------------- models


def test_p_larger_than_the_candidates_is_a_model_error():
    from siting.models import MCLP

    cost = np.array([[100.0, 200.0, 300.0], [50.0, np.inf, 80.0]])
    with pytest.raises(ModelError) as err:
        MCLP.from_cost_matrix(cost, [1.0, 2.0], 300.0, p=5)
    assert str(err.value) == "p = 5 is larger than the 3 candidate sites available (3 columns, 0 already open)."
    assert err.value.zh == "p = 5 超过可选候选点数 3（共 3 列，其中 0 个已开放）。"


def test_budget_below_any_site_cost_proposes_nothing(tiny_config):
    from siting.audit import audit
    from siting.optimize import optimize

    project = load_project(tiny_config)
    result = optimize(project, audit(project), budget=1.0)
    assert result.scenario["p"] == 0 and result.scenario["kind"] == "budget" and len(result.sites) == 0


# ---------------------------------------------------------------------------------------- property-based loaders

_names = st.text(alphabet=st.sampled_from(list("甲乙丙丁幼儿园托育中心卫生院abcXYZ-_ 0123")), min_size=1, max_size=12).map(str.strip).filter(bool)
_point_rows = st.lists(
    st.tuples(_names,
              st.floats(min_value=119.2005, max_value=119.2195, allow_nan=False),
              st.floats(min_value=35.1005, max_value=35.1195, allow_nan=False),
              st.sampled_from(["卫生院", "医院", "诊所", "社区卫生服务中心", "clinic"])),
    min_size=1, max_size=8)
_KINDS = {"卫生院": "township_health_centre", "医院": "hospital", "诊所": "clinic", "社区卫生服务中心": "community_health_centre",
          "clinic": "clinic"}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_point_rows, fmt=st.sampled_from(["csv-utf8", "csv-gb18030", "xlsx"]))
def test_random_point_tables_round_trip(tmp_path, rows, fmt):
    df = pd.DataFrame({"编号": [f"H{i}" for i in range(len(rows))], "名称": [r[0] for r in rows],
                       "类型": [r[3] for r in rows], "经度": [r[1] for r in rows], "纬度": [r[2] for r in rows]})
    path = tmp_path / ("health.xlsx" if fmt == "xlsx" else "health.csv")
    if fmt == "xlsx":
        df.to_excel(path, index=False)
    else:
        path.write_bytes(df.to_csv(index=False, float_format="%.10f").encode("gb18030" if fmt == "csv-gb18030" else "utf-8"))
    gdf = read_layer(LayerSpec(name="health", path=path))
    assert list(gdf["id"]) == list(df["编号"]) and list(gdf["name"]) == list(df["名称"])
    assert list(gdf["kind"]) == [_KINDS[k] for k in df["类型"]]
    assert np.allclose(gdf.geometry.x, df["经度"], atol=1e-9) and np.allclose(gdf.geometry.y, df["纬度"], atol=1e-9)


# ---------------------------------------------------------------------------------------- the CLI


def test_validate_prints_every_problem_and_fails(tiny_config, capsys):
    from siting.cli import main

    _edit(tiny_config, "health.csv", "乡镇卫生院", "药店")
    _edit(tiny_config, "childcare.csv", "119.2150,35.1060", "119.2350,35.1060")  # a warning too, kept as configured
    _layer_keys(tiny_config, "childcare", "childcare.csv", 'outside = "keep"')
    code = main(["--lang", "en", "validate", "--config", str(tiny_config)])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("1 error(s), 1 warning(s):\n")
    assert f"ERROR {tiny_config.parent / 'health.csv'}, row 3, id H2 (乙镇卫生院), column '类型' (kind): value '药店' unknown value" in out
    assert f"WARNING {tiny_config.parent / 'childcare.csv'}, row 3, id N1 (贝贝托育园): lies " in out


def test_validate_ok_prints_warnings_and_roads(tiny_config, capsys):
    from siting.cli import main

    _edit(tiny_config, "childcare.csv", "119.2150,35.1060", "119.2350,35.1060")
    _layer_keys(tiny_config, "childcare", "childcare.csv", 'outside = "keep"')
    assert main(["--lang", "en", "validate", "--config", str(tiny_config)]) == 0
    out = capsys.readouterr().out
    assert "Road network: " in out and "1 warning(s):" in out and "All checks passed" in out


def test_validate_reports_a_missing_roads_file_with_the_layers(tiny_config, capsys):
    from siting.cli import main

    (tiny_config.parent / "roads.osm").unlink()
    _edit(tiny_config, "health.csv", "乡镇卫生院", "药店")
    assert main(["--lang", "zh", "validate", "--config", str(tiny_config)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("2 个错误，0 个警告：")
    assert f"错误 {tiny_config.parent / 'roads.osm'}：找不到文件" in out


def test_bad_input_never_ends_in_a_traceback(tiny_config, capsys):
    from siting.cli import main

    (tiny_config.parent / "parcels.geojson").write_text("{not json", encoding="utf-8")
    assert main(["--lang", "en", "run", "--config", str(tiny_config), "--out", str(tiny_config.parent / "out"),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Error: 1 problem(s) in the input data:") and "Traceback" not in err
    assert not (tiny_config.parent / "out").exists() or not any((tiny_config.parent / "out").iterdir())


def _hashes(folder: Path) -> dict[str, str]:
    return {str(f.relative_to(folder)): hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(folder.rglob("*")) if f.is_file()}


def test_a_full_run_never_changes_the_input_files(tiny_config):
    from siting.cli import main

    d = _shapefile_without_cpg(tiny_config, "gbk")
    before = _hashes(d)
    out = d.parent / "out"
    assert main(["--lang", "en", "run", "--config", str(tiny_config), "--out", str(out), "--no-progress"]) == 0
    assert _hashes(d) == before
    assert (out / "overview.html").exists() and not list(out.glob(".*.tmp*"))
