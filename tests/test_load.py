import datetime as dt
import hashlib
import json

import pytest

from siting import load_project
from siting.errors import DataError


def _load(cfg, **kw):
    return load_project(cfg, roads=False, **kw)


def test_tiny_project_loads_with_chinese_columns(tiny_config):
    p = _load(tiny_config)
    assert len(p.townships) == 2 and len(p.compounds) == 4 and len(p.childcare) == 3
    assert len(p.health) == 2 and len(p.parcels) == 2 and len(p.boundary) == 1
    assert p.crs.to_epsg() == 4549  # CGCS2000 3° GK zone, CM 120°E
    assert p.compounds.crs.to_epsg() == 4326
    c = p.compounds.set_index("id")
    assert c.loc["C1", "kind"] == "compound" and c.loc["V1", "kind"] == "village"
    assert c.loc["C2", "status"] == "new" and c.loc["C1", "status"] == "existing"
    assert c.loc["C1", "completed"] == dt.date(2010, 5, 1)
    assert c.loc["C3", "completed"] == dt.date(2018, 12, 31)  # a bare year → 31 December
    assert c.loc["V1", "completed"] is None
    assert c.loc["C1", "households"] == 400
    cc = p.childcare.set_index("id")
    assert cc.loc["N1", "kind"] == "nursery" and cc.loc["K1", "kind"] == "kindergarten"
    assert bool(cc.loc["N1", "registered"]) and not bool(cc.loc["N1", "filed"])
    assert str(cc.loc["N2", "places"]) == "<NA>"  # unknown places stay unknown
    assert set(p.health["kind"]) == {"community_health_centre", "township_health_centre"}


def test_township_filled_by_location_when_missing(tiny_config):
    p = _load(tiny_config)
    cc = p.childcare.set_index("id")
    assert cc.loc["K1", "township"] == "甲街道"
    assert cc.loc["N1", "township"] == "乙镇"


def test_parcel_area_computed_when_missing(tiny_config):
    p = _load(tiny_config)
    area = p.parcels.set_index("id")["area"]
    assert area["P-1"] == 2000
    # 0.001° × 0.001° at 35.11°N ≈ 91.0 m × 111.0 m
    assert area["P-2"] == pytest.approx(91.1 * 110.95, rel=0.01)


def test_roads_graph_is_one_connected_component(tiny_config):
    import networkx as nx

    p = load_project(tiny_config)
    assert p.roads.number_of_nodes() == 11 * 11  # every OSM node is kept (network.simplify = false)
    assert nx.is_strongly_connected(p.roads)


def _edit_csv(cfg, name, old, new):
    path = cfg.parent / name
    path.write_text(path.read_text(encoding="utf-8-sig").replace(old, new), encoding="utf-8-sig")


def test_bad_values_are_all_reported_with_row_and_column(tiny_config):
    _edit_csv(tiny_config, "childcare.csv", "K1,阳光幼儿园,幼儿园,40", "K1,阳光幼儿园,早教中心,四十")
    _edit_csv(tiny_config, "childcare.csv", "N1,贝贝托育园,托育机构,30,3,是,否", "N1,贝贝托育园,托育机构,-5,3,是,也许")
    with pytest.raises(DataError) as err:
        _load(tiny_config)
    text = str(err.value)
    assert "4 problem(s)" in text
    assert "childcare.csv, row 2, id K1 (阳光幼儿园), column '类型' (kind): value '早教中心' unknown value; allowed: 托育机构 (nursery)" in text
    assert "row 2, id K1 (阳光幼儿园), column '托位数' (places): value '四十' is not a number" in text
    assert "row 3, id N1 (贝贝托育园), column '托位数' (places): value '-5' must be at least 0" in text
    assert "row 3, id N1 (贝贝托育园), column '已备案' (filed): value '也许' must be yes/no" in text
    assert "第 2 行，编号 K1（阳光幼儿园），列“托位数”：取值 '四十' 不是数字" in err.value.zh


def test_duplicate_ids_name_every_row(tiny_config):
    _edit_csv(tiny_config, "childcare.csv", "N2,未知托位托育点", "N1,未知托位托育点")
    with pytest.raises(DataError, match="id 'N1' is used by rows 3, 4"):
        _load(tiny_config)


def test_mapping_to_a_missing_column_lists_the_columns(tiny_config):
    text = tiny_config.read_text(encoding="utf-8").replace('"托位数" = "places"', '"托位" = "places"')
    tiny_config.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as err:
        _load(tiny_config)
    assert "column '托位' named in the config is not in the file; columns are 编号, 名称, 类型, 托位数" in str(err.value)


def test_missing_crs_is_inferred_from_lon_lat_ranges_and_said(tiny_config):
    path = tiny_config.parent / "parcels.gpkg"
    import geopandas as gpd

    gdf = gpd.read_file(tiny_config.parent / "parcels.geojson").set_crs(None, allow_override=True)
    gdf.to_file(path, driver="GPKG")
    tiny_config.write_text(tiny_config.read_text(encoding="utf-8").replace("parcels.geojson", "parcels.gpkg"), encoding="utf-8")
    p = _load(tiny_config)  # lon/lat ranges: read as WGS84, and said so
    assert any(x.en.startswith("the file has no coordinate reference system; the coordinates are longitude/latitude")
               for x in p.problems)
    assert p.parcels.set_index("id").loc["P-2", "area"] == pytest.approx(91.1 * 110.95, rel=0.01)


def test_self_intersecting_polygon_is_an_error_unless_repair(tiny_config):
    path = tiny_config.parent / "parcels.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["features"][0]["geometry"]["coordinates"] = [[[119.2085, 35.1125], [119.2095, 35.1135], [119.2095, 35.1125],
                                                      [119.2085, 35.1135], [119.2085, 35.1125]]]
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(DataError, match=r"parcels.geojson, row 1, id P-1: invalid geometry: Self-intersection"):
        _load(tiny_config)
    tiny_config.write_text(tiny_config.read_text(encoding="utf-8").replace('path = "parcels.geojson"',
                                                                           'path = "parcels.geojson"\nrepair = true'),
                           encoding="utf-8")
    p = _load(tiny_config)
    assert p.parcels.geometry.is_valid.all() and len(p.parcels) == 2
    assert any("invalid geometry repaired" in w.en for w in p.problems)


def test_empty_geometry_and_missing_coordinates(tiny_config):
    _edit_csv(tiny_config, "health.csv", "119.2160,35.1080", ",")
    with pytest.raises(DataError, match=r"health.csv, row 3, column '经度/纬度': coordinates missing or not numbers"):
        _load(tiny_config)


def test_point_outside_district_is_an_error(tiny_config):
    _edit_csv(tiny_config, "health.csv", "119.2160,35.1080", "35.1080,119.2160")  # lon/lat swapped
    with pytest.raises(DataError) as err:
        _load(tiny_config)
    (w,) = [x for x in err.value.problems if x.layer == "health"]
    assert w.severity == "error" and (w.row, w.id, w.name) == (3, "H2", "乙镇卫生院")
    assert w.en == "lies far outside the district boundary" and "swapped lon/lat" in w.fix_en


def test_gbk_csv_is_detected(tiny_config):
    path = tiny_config.parent / "health.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("gbk"))
    p = _load(tiny_config)
    assert "乙镇卫生院" in set(p.health["name"])


def test_gcj02_declared_points_are_shifted_back(tiny_config):
    from siting.crs import wgs84_to_gcj02

    lon, lat = wgs84_to_gcj02(119.2050, 35.1080)
    _edit_csv(tiny_config, "health.csv", "119.2050,35.1080", f"{float(lon):.8f},{float(lat):.8f}")
    cfg = tiny_config.read_text(encoding="utf-8").replace('path = "health.csv"', 'path = "health.csv"\ncrs = "GCJ-02"')
    tiny_config.write_text(cfg, encoding="utf-8")
    p = _load(tiny_config)
    # H2 was really WGS84 but declared GCJ-02 with the file: it moves; H1 comes back to its true place.
    h1 = p.health.set_index("id").geometry["H1"]
    assert h1.x == pytest.approx(119.2050, abs=1e-7) and h1.y == pytest.approx(35.1080, abs=1e-7)


def test_loading_never_changes_input_files(tiny_config):
    before = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in tiny_config.parent.iterdir()}
    load_project(tiny_config)
    after = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in tiny_config.parent.iterdir()}
    assert before == after


def test_configured_walking_speed_sets_the_walk_roads_times(tiny_config):
    # the same speed for the road edges as for the snap legs: 9 km/h is 2.5 m/s
    from siting import load_project

    G = load_project(tiny_config, overrides={"network.walk_speed_kmh": 9.0}).network("walk")
    times = [(d["length"], d["travel_time"]) for _, _, d in G.edges(data=True)]
    assert times and all(t == pytest.approx(length / 2.5) for length, t in times)
