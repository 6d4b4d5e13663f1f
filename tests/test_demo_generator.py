"""Tests of the synthetic demo district generator (siting.demo) and of the committed data/demo files.

A full generation takes about 5 s, so the committed files are compared with a fresh full run
(no reduced "scale" mode is needed).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, shape

from siting import demo

DEMO = demo.DEMO_DIR
GENERATED = (
    "boundary.geojson", "townships.geojson", "compounds.geojson", "roads.osm", "waterways.geojson",
    "childcare.csv", "health.csv", "parcels.geojson", "README.md", "PROVENANCE.md", "LICENSE-boundary.txt",
    "siting.toml",
)


def _features(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def _metric(geom):
    return demo.to_metric(geom)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo_a")
    demo.generate(out, seed=2024)
    return out


@pytest.fixture(scope="module")
def graph():
    import osmnx as ox

    return ox.graph_from_xml(DEMO / "roads.osm", bidirectional=True, retain_all=True)


def test_generate_returns_all_files(fresh):
    assert sorted(p.name for p in fresh.iterdir()) == sorted(GENERATED)


def test_a_project_file_of_the_users_own_is_never_touched(fresh, tmp_path):
    mine = "# my own\n[project]\nname = \"我的项目\"\n"
    (tmp_path / "siting.toml").write_text(mine, encoding="utf-8")
    written = demo.generate(tmp_path, seed=2024)
    assert (tmp_path / "siting.toml").read_text(encoding="utf-8") == mine
    assert tmp_path / "siting.toml" not in written and len(written) == len(GENERATED) - 1


def test_same_seed_gives_identical_bytes(fresh, tmp_path):
    demo.generate(tmp_path, seed=2024)
    for name in GENERATED:
        assert (tmp_path / name).read_bytes() == (fresh / name).read_bytes(), name


def test_other_seed_differs(fresh, tmp_path):
    demo.generate(tmp_path, seed=7)
    assert (tmp_path / "compounds.geojson").read_bytes() != (fresh / "compounds.geojson").read_bytes()
    assert (tmp_path / "boundary.geojson").read_bytes() == (fresh / "boundary.geojson").read_bytes()


def test_committed_demo_equals_fresh_full_generation(fresh):
    for name in GENERATED:
        assert (DEMO / name).read_bytes() == (fresh / name).read_bytes(), (
            f"data/demo/{name} is stale: run python -m siting.demo --out data/demo --seed 2024"
        )


def test_missing_shared_outline_falls_back_to_committed_boundary(fresh, tmp_path):
    demo.generate(tmp_path, seed=2024, outline=tmp_path / "no-such-outline.geojson")
    for name in ("boundary.geojson", "townships.geojson", "compounds.geojson"):
        assert (tmp_path / name).read_bytes() == (fresh / name).read_bytes(), name


def test_boundary_is_wgs84_conversion_of_shared_outline():
    feats = _features(DEMO / "boundary.geojson")
    assert len(feats) == 1
    props = feats[0]["properties"]
    assert props["name"] == "岚山区" and props["adcode"] == "371103"
    assert "GCJ-02" in props["crs_note"]
    geom = shape(feats[0]["geometry"])
    assert geom.is_valid
    minx, miny, maxx, maxy = geom.bounds
    assert 118.8 < minx < maxx < 119.5 and 35.0 < miny < maxy < 35.5
    if demo.DEFAULT_OUTLINE.exists():
        gcj = shape(json.loads(demo.DEFAULT_OUTLINE.read_text(encoding="utf-8")))
        # The GCJ-02 offset at Lanshan is about 500 m, mostly towards the north-east.
        shift = np.array(gcj.centroid.coords[0]) - np.array(geom.centroid.coords[0])
        assert 0.002 < np.hypot(*shift) < 0.01
    assert "Clarmy" in (DEMO / "LICENSE-boundary.txt").read_text(encoding="utf-8")


def test_townships_partition_the_mainland():
    feats = _features(DEMO / "townships.geojson")
    assert [f["properties"]["名称"] for f in feats] == [t.name for t in demo.TOWNSHIPS]
    kinds = {f["properties"]["名称"]: f["properties"]["类型"] for f in feats}
    assert kinds["安东卫街道"] == kinds["岚山头街道"] == "街道"
    assert sum(k == "镇" for k in kinds.values()) == 6
    polys = [_metric(shape(f["geometry"])) for f in feats]
    assert all(p.is_valid and p.geom_type == "Polygon" for p in polys)
    mainland = _metric(demo.largest_polygon(shape(_features(DEMO / "boundary.geojson")[0]["geometry"])))
    union = shapely.union_all(polys)
    assert union.symmetric_difference(mainland).area / mainland.area < 0.001
    overlap = sum(p.area for p in polys) - union.area
    assert overlap / mainland.area < 0.001
    pops = [f["properties"]["常住人口"] for f in feats]
    assert all(isinstance(p, int) for p in pops)
    assert 380_000 <= sum(pops) <= 420_000
    for f in feats:
        lo, hi = (100_000, 140_000) if f["properties"]["类型"] == "街道" else (20_000, 45_000)
        assert lo <= f["properties"]["常住人口"] <= hi


def test_compounds_counts_fields_and_population():
    feats = _features(DEMO / "compounds.geojson")
    assert 350 <= len(feats) <= 600
    props = pd.DataFrame([f["properties"] for f in feats])
    assert list(props.columns) == ["编号", "名称", "所属乡镇", "类型", "户数", "人口", "竣工日期", "状态"]
    assert props["编号"].is_unique and props["名称"].is_unique
    assert set(props["类型"]) == {"小区", "村"}
    assert set(props["状态"]) == {"现状", "新建", "规划"}
    comp = props[props["类型"] == "小区"]
    vill = props[props["类型"] == "村"]
    assert len(comp) >= 150 and len(vill) >= 150
    assert comp["人口"].notna().all()
    assert 0.05 <= vill["人口"].isna().mean() <= 0.25
    ratio = comp["人口"] / comp["户数"]
    assert ratio.between(2.3, 2.8).all()
    vratio = (vill["人口"] / vill["户数"]).dropna()
    assert vratio.between(2.55, 3.05).all()
    dates = pd.to_datetime(comp["竣工日期"], format="%Y-%m-%d")
    new = dates >= "2024-04-17"
    assert 0.08 <= new.mean() <= 0.20
    assert (comp.loc[~new, "状态"] == "现状").all()
    assert comp.loc[new, "状态"].isin(["新建", "规划"]).all()
    planned = comp[comp["状态"] == "规划"]
    assert len(planned) >= 3 and pd.to_datetime(planned["竣工日期"]).dt.year.isin([2027, 2028]).all()
    assert 0.08 <= (comp["状态"] == "新建").mean() <= 0.15
    assert ((dates.dt.year >= 1995) & (dates.dt.year <= 2023)).sum() / (~new).sum() > 0.85
    assert vill["竣工日期"].dropna().str.fullmatch(r"\d{4}").all()
    # Residents per township add up to its 常住人口 (±10 %).
    town = {f["properties"]["名称"]: f["properties"]["常住人口"] for f in _features(DEMO / "townships.geojson")}
    pop = props["人口"].fillna(props["户数"] * 2.8)
    by = pop.groupby(props["所属乡镇"]).sum()
    for name, target in town.items():
        assert abs(by[name] - target) / target <= 0.10, name


def test_compound_geometry_inside_own_township_and_disjoint():
    town = {f["properties"]["名称"]: shape(f["geometry"]) for f in _features(DEMO / "townships.geojson")}
    polys, points = [], []
    for f in _features(DEMO / "compounds.geojson"):
        g = shape(f["geometry"])
        p = f["properties"]
        if p["类型"] == "小区":
            assert g.geom_type == "Polygon" and g.is_valid
            assert g.within(town[p["所属乡镇"]]), p["编号"]
            polys.append(_metric(g))
        else:
            assert g.geom_type == "Point"
            assert town[p["所属乡镇"]].contains(g), p["编号"]
            points.append(_metric(g))
    tree = shapely.STRtree(polys)
    a, _b = tree.query(polys, predicate="overlaps")
    assert len(a) == 0
    for p in polys:
        r = shapely.minimum_rotated_rectangle(p)
        c = np.array(r.exterior.coords)
        e = np.linalg.norm(np.diff(c, axis=0), axis=1)[:2]
        assert 90 <= e.min() and e.max() <= 440


def test_childcare_table():
    raw = (DEMO / "childcare.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    df = pd.read_csv(DEMO / "childcare.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(df.columns) == ["编号", "名称", "类型", "托位数", "托班数", "已登记", "已备案", "普惠", "在托人数",
                                "保育人员数", "最大班额", "班型", "所在楼层", "经度", "纬度"]
    assert df["编号"].is_unique
    counts = df["类型"].value_counts()
    assert 60 <= counts["幼儿园"] <= 120
    assert 20 <= counts["托育机构"] <= 60
    assert 2 <= counts["单位自办"] <= 6 and 2 <= counts["社区托育点"] <= 8
    kg = df[df["类型"] == "幼儿园"]
    cls = kg["托班数"].astype(int)
    assert 0.25 <= (cls > 0).mean() <= 0.45 and cls.max() <= 3
    assert (kg["托位数"].astype(int) == cls * 20).all()
    nur = df[df["类型"] == "托育机构"]
    assert (nur["托位数"] == "").sum() >= 2
    places = nur.loc[nur["托位数"] != "", "托位数"].astype(int)
    assert places.between(20, 150).all()
    assert nur["托班数"].astype(int).between(2, 8).all()
    reg = set(zip(nur["已登记"], nur["已备案"]))
    assert {("是", "是"), ("是", "否"), ("否", "否")} <= reg
    assert set(nur["普惠"]) == {"是", "否"}
    # Some nurseries break the national standard on purpose.
    assert ((nur["班型"] == "托大班") & (nur["最大班额"].replace("", "0").astype(int) > 20)).any()
    assert (nur["所在楼层"].replace("", "0").astype(int) > 3).any()
    # Coordinates: WGS84, 6 decimals.
    assert df["经度"].str.fullmatch(r"1(18|19)\.\d{6}").all() and df["纬度"].str.fullmatch(r"35\.\d{6}").all()
    # Too few places: about 3 per 1,000 residents, well below the 4.72 target.
    total = df["托位数"].replace("", "0").astype(int).sum()
    pop = sum(f["properties"]["常住人口"] for f in _features(DEMO / "townships.geojson"))
    assert 2.5 <= total / pop * 1000 <= 3.5


def test_health_table():
    df = pd.read_csv(DEMO / "health.csv", encoding="utf-8-sig", dtype=str)
    assert list(df.columns) == ["编号", "名称", "类型", "经度", "纬度"]
    c = df["类型"].value_counts()
    assert c["妇幼保健计划生育服务中心"] == 1
    assert df.loc[df["类型"] == "妇幼保健计划生育服务中心", "名称"].item() == "岚山区妇幼保健计划生育服务中心"
    assert c["乡镇卫生院"] == 6 and c["社区卫生服务中心"] == 2
    assert 3 <= c["医院"] <= 5
    assert 10 <= c.get("诊所", 0) + c.get("卫生室", 0) <= 20
    town = {f["properties"]["名称"]: shape(f["geometry"]) for f in _features(DEMO / "townships.geojson")}
    mch = df[df["类型"] == "妇幼保健计划生育服务中心"].iloc[0]
    assert town["安东卫街道"].contains(shapely.Point(float(mch["经度"]), float(mch["纬度"])))


def test_parcels():
    feats = _features(DEMO / "parcels.geojson")
    assert 30 <= len(feats) <= 80
    props = pd.DataFrame([f["properties"] for f in feats])
    assert list(props.columns) == ["地块编码", "面积", "现状用途", "状态", "权属"]
    assert props["地块编码"].str.fullmatch(r"LS-2024-\d{3}").all() and props["地块编码"].is_unique
    assert set(props["状态"]) <= {"闲置", "低效"} and set(props["权属"]) <= {"国有", "集体"}
    polys = [_metric(shape(f["geometry"])) for f in feats]
    for p, area in zip(polys, props["面积"]):
        assert p.is_valid and 800 <= area <= 12_000 and abs(p.area - area) <= 1
    compounds = [_metric(shape(f["geometry"])) for f in _features(DEMO / "compounds.geojson")
                 if f["properties"]["类型"] == "小区"]
    tree = shapely.STRtree(compounds)
    a, _ = tree.query(polys, predicate="intersects")
    assert len(a) == 0


def test_everything_says_synthetic():
    for name in ("townships.geojson", "compounds.geojson", "parcels.geojson", "waterways.geojson"):
        assert "SYNTHETIC" in json.loads((DEMO / name).read_text(encoding="utf-8"))["description"]
    assert "SYNTHETIC" in (DEMO / "roads.osm").read_text(encoding="utf-8")[:400]
    readme = (DEMO / "README.md").read_text(encoding="utf-8")
    assert "合成" in readme and "synthetic" in readme and "--seed 2024" in readme


def test_roads_file_size_and_spacing():
    path = DEMO / "roads.osm"
    assert path.stat().st_size < 4 * 1024 * 1024
    head = path.read_text(encoding="utf-8")[:300]
    assert '<osm version="0.6" generator="siting.demo">' in head


def test_road_graph_is_one_strongly_connected_component(graph):
    import networkx as nx

    assert nx.number_weakly_connected_components(graph) == 1
    assert nx.number_strongly_connected_components(graph) == 1
    kinds = set()
    for _, _, d in graph.edges(data=True):
        hw = d["highway"]
        kinds.update(hw if isinstance(hw, list) else [hw])
    assert {"primary", "secondary", "tertiary", "residential", "service", "footway", "unclassified", "track"} <= kinds


def test_raw_node_count_and_spacing():
    import osmnx as ox

    G = ox.graph_from_xml(DEMO / "roads.osm", bidirectional=True, retain_all=True, simplify=False)
    assert 15_000 <= G.number_of_nodes() <= 40_000
    lengths = [d["length"] for _, _, d in G.edges(data=True)]
    assert max(lengths) <= 100.0


def test_every_village_is_near_a_road(graph):
    import osmnx as ox

    edges = ox.graph_to_gdfs(graph, nodes=False).to_crs(demo.METRIC_EPSG)
    lines = shapely.STRtree(edges.geometry.values)
    for f in _features(DEMO / "compounds.geojson"):
        if f["properties"]["类型"] == "村":
            p = _metric(shape(f["geometry"]))
            k = lines.nearest(p)
            assert edges.geometry.values[k].distance(p) <= 150, f["properties"]["编号"]


def test_river_makes_network_distance_differ_from_straight_line(graph):
    """Two compounds about 200 m apart across the river are far apart by road (few bridges)."""
    import networkx as nx
    import osmnx as ox

    river = _metric(shape(_features(DEMO / "waterways.geojson")[0]["geometry"]))
    feats = [f for f in _features(DEMO / "compounds.geojson") if f["properties"]["类型"] == "小区"]
    polys = [_metric(shape(f["geometry"])) for f in feats]
    cents = np.array([p.centroid.coords[0] for p in polys])
    wgs = np.array([shape(f["geometry"]).centroid.coords[0] for f in feats])
    nodes = ox.distance.nearest_nodes(graph, wgs[:, 0], wgs[:, 1])
    found = []
    tree = shapely.STRtree(polys)
    for i, j in zip(*tree.query(polys, predicate="dwithin", distance=300)):
        if i < j and LineString([cents[i], cents[j]]).intersects(river):
            d = nx.shortest_path_length(graph, nodes[i], nodes[j], weight="length")
            found.append((polys[i].distance(polys[j]), d))
    assert found, "no compounds face each other across the river"
    gap, road = max(found, key=lambda t: t[1] / max(t[0], 1))
    assert gap < 300 and road > 1500


def test_command_line_generates_another_district(tmp_path, capsys):
    outline = tmp_path / "outline.geojson"
    box = shapely.box(119.0, 35.55, 119.25, 35.70)  # about 23 x 17 km, taken as GCJ-02 like AMap outlines
    outline.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(box)}),
                       encoding="utf-8")
    out = tmp_path / "wulian"
    code = demo.main(["--out", str(out), "--seed", "5", "--outline", str(outline), "--no-verify",
                      "--name", "五莲县", "--population", "90000", "--townships", "城东街道,城西街道,甲镇"])
    assert code == 0
    printed = capsys.readouterr().out.split()
    assert str(out / "compounds.geojson") in printed
    towns = [f["properties"] for f in _features(out / "townships.geojson")]
    assert [t["名称"] for t in towns] == ["城东街道", "城西街道", "甲镇"]
    assert sum(t["常住人口"] for t in towns) == 90_000
    assert "五莲县" in (out / "README.md").read_text(encoding="utf-8")


def test_the_project_file_quotes_any_district_name(tmp_path):
    import tomllib

    import shapely

    hostile = '测试"县\n[project]\nname = "注入'
    demo.generate(tmp_path, seed=5, outline=shapely.box(118.5, 35.0, 118.8, 35.24), name=hostile, population=150_000,
                  townships=3)
    project = tomllib.loads((tmp_path / "siting.toml").read_text(encoding="utf-8"))["project"]
    assert project["district"] == hostile and project["name"] == hostile + "（演示）"
