"""A project from OpenStreetMap alone: `siting run --osm FILE` and `siting fetch` (osmnx mocked, never online)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pytest
import requests

from siting import load_project
from siting.cli import main
from siting.errors import DataError, NetworkError
from siting.osm import (
    FEATURE_TAGS,
    boundary_from_features,
    features_to_layers,
    fetch,
    project_from_osm,
    read_osm_features,
)

TOWN = Path(__file__).parent / "data" / "town.osm"
PLACE = "测试县, 测试市, 山东省, 中国"


def _ids(gdf) -> list[str]:
    return sorted(gdf["id"])


def test_features_to_layers_from_the_fixture():
    features, road_xy = read_osm_features(TOWN)
    layers = features_to_layers(features, boundary_from_features(features, road_xy))
    assert list(layers["boundary"]["name"]) == ["测试县"]
    assert layers["townships"][["name", "kind"]].values.tolist() == [["测试县", "town"]]
    c = layers["compounds"].set_index("id")
    assert c.loc["w502", ["name", "kind", "population_source"]].tolist() == ["幸福小区", "compound", "osm buildings"]
    # 3 footprints of 0.0005° × 0.0003° (≈ 1,516 m²) × (6 + 11 + 6 default) storeys ÷ 33 m² a person
    assert c.loc["w502", "population"] == pytest.approx(1516 * 23 / 33, rel=0.01)
    assert c.loc["w506", "population_source"] == "default density"  # residential land without buildings
    assert c.loc["w507", ["name", "kind"]].tolist() == ["李家村", "village"]  # village point names the unnamed land
    assert c.loc["n1031", ["name", "population", "population_source"]].tolist() == ["北山村", 8600.0, "osm population tag"]
    assert c.loc["n1030", "population_source"] == "osm buildings"  # two houses near the hamlet, 2 storeys by default
    assert "n1029" not in c.index  # 李家村 became its land
    cc = layers["childcare"].set_index("id")
    assert cc["kind"].to_dict() == {"n1040": "kindergarten", "w510": "nursery"}  # the one outside the county is left out
    assert cc.loc["w510", "places"] == 45
    assert layers["health"].set_index("id")["kind"].to_dict() == {
        "n1045": "hospital", "n1046": "clinic", "n1047": "township_health_centre", "n1048": "clinic"}  # no pharmacy
    parcels = layers["parcels"].set_index("id")
    assert parcels["land_use"].to_dict() == {"w511": "brownfield", "w512": "construction"}
    assert parcels.loc["w511", "status"] == "idle" and parcels["status"].isna().tolist() == [False, True]


def test_boundary_falls_back_to_the_roads_hull(tmp_path):
    text = TOWN.read_text(encoding="utf-8")
    start = text.index('  <relation id="900">')
    no_admin = tmp_path / "no-admin.osm"
    no_admin.write_text(text[:start] + text[text.index("</relation>", start) + len("</relation>\n"):], encoding="utf-8")
    features, road_xy = read_osm_features(no_admin)
    boundary = boundary_from_features(features, road_xy)
    assert boundary.geometry.iloc[0].bounds == pytest.approx((119.300, 35.200, 119.310, 35.210))


def test_run_osm_needs_no_other_input_and_leaves_the_file_alone(tmp_path, capsys):
    osm = tmp_path / "town.osm"
    osm.write_bytes(TOWN.read_bytes())
    before = hashlib.sha256(osm.read_bytes()).hexdigest()
    out = tmp_path / "out"
    assert main(["--lang", "en", "run", "--osm", str(osm), "--out", str(out), "--no-progress"]) == 0
    assert hashlib.sha256(osm.read_bytes()).hexdigest() == before
    assert (out / "overview.html").exists() and (out / "audit_compounds.csv").exists() and (out / "proposals.csv").exists()
    config = out / "osm-project" / "siting.toml"
    assert 'name = "测试县"' in config.read_text(encoding="utf-8")
    assert "Done." in capsys.readouterr().out


def test_run_osm_reads_pbf(tmp_path):
    import osmium

    pbf = tmp_path / "town.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(TOWN)):
            writer.add(obj)
    project = load_project(project_from_osm(pbf, tmp_path / "p"))
    assert len(project.compounds) == 5 and len(project.health) == 4 and project.roads.number_of_nodes() >= 32


def test_run_osm_missing_file(tmp_path, capsys):
    assert main(["--lang", "en", "run", "--osm", str(tmp_path / "nope.osm"), "--out", str(tmp_path / "o"), "--no-progress"]) == 2
    assert capsys.readouterr().err == f"Error: OSM file not found: {tmp_path / 'nope.osm'}\n"


# ---------------------------------------------------------------------------------------- fetch, offline


@pytest.fixture
def fake_osmnx(monkeypatch):
    """osmnx's download functions answered from the fixture file (recorded data, no network)."""
    import osmnx as ox

    calls = []
    features, road_xy = read_osm_features(TOWN)
    outline = boundary_from_features(features, road_xy)

    def geocode_to_gdf(query, *a, **k):
        calls.append(("geocode", query))
        return outline.assign(display_name=query)

    def graph_from_polygon(polygon, **kw):
        calls.append(("graph", kw.get("network_type")))
        assert kw["simplify"] is False and ox.settings.all_oneway is True  # what save_graph_xml needs
        G = ox.graph_from_xml(TOWN, simplify=False, retain_all=True)
        G.remove_edges_from([(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if "highway" not in d])
        G.remove_nodes_from(list(nx.isolates(G)))
        return G

    def features_from_polygon(polygon, tags):
        calls.append(("features", tuple(sorted(tags))))
        return ox.features_from_xml(TOWN, tags=tags)

    monkeypatch.setattr(ox, "geocode_to_gdf", geocode_to_gdf)
    monkeypatch.setattr(ox, "graph_from_polygon", graph_from_polygon)
    monkeypatch.setattr(ox, "features_from_polygon", features_from_polygon)
    return calls


def test_fetch_writes_a_project_that_loads_offline(tmp_path, fake_osmnx, capsys):
    import osmnx as ox

    out = tmp_path / "lanshan"
    assert main(["--lang", "en", "fetch", "--place", PLACE, "--out", str(out)]) == 0
    assert fake_osmnx == [("geocode", PLACE), ("graph", "all"), ("features", tuple(sorted(FEATURE_TAGS)))]
    assert ox.settings.all_oneway is False  # settings restored
    assert sorted(p.name for p in out.iterdir()) == ["boundary.geojson", "childcare.geojson", "compounds.geojson",
                                                     "health.geojson", "parcels.geojson", "roads.osm", "siting.toml",
                                                     "townships.geojson"]
    assert f"Wrote the project config: {out / 'siting.toml'}" in capsys.readouterr().out
    fetched = load_project(out / "siting.toml")
    from_file = load_project(project_from_osm(TOWN, tmp_path / "from-file"))
    for layer in ("compounds", "childcare", "health", "parcels"):
        assert _ids(fetched.layer(layer)) == _ids(from_file.layer(layer)), layer
    assert fetched.roads.number_of_nodes() == from_file.roads.number_of_nodes() >= 32
    assert fetched.compounds["population"].sum() == pytest.approx(from_file.compounds["population"].sum())
    assert gpd.read_file(out / "health.geojson").crs.to_epsg() == 4326


def test_fetch_by_bbox_and_polygon(tmp_path, fake_osmnx):
    fetch(tmp_path / "a", bbox="119.2995,35.1995,119.3105,35.2105")
    assert len(load_project(tmp_path / "a" / "siting.toml", roads=False).compounds) == 5
    poly = tmp_path / "area.geojson"
    gpd.read_file(tmp_path / "a" / "boundary.geojson").to_file(poly)
    fetch(tmp_path / "b", polygon=poly)
    assert len(load_project(tmp_path / "b" / "siting.toml", roads=False).childcare) == 2
    assert [c[0] for c in fake_osmnx] == ["graph", "features", "graph", "features"]  # no geocoding for these


def test_fetch_offline_gives_a_clear_error(tmp_path, monkeypatch, capsys):
    import osmnx as ox

    def offline(*a, **k):
        raise requests.exceptions.ConnectionError("Failed to resolve 'nominatim.openstreetmap.org'")

    monkeypatch.setattr(ox, "geocode_to_gdf", offline)
    monkeypatch.setattr(ox, "graph_from_polygon", offline)
    monkeypatch.setattr(ox, "features_from_polygon", offline)
    with pytest.raises(NetworkError) as err:
        fetch(tmp_path / "x", place=PLACE)
    assert str(err.value) == (
        f"could not download the outline of '{PLACE}' from OpenStreetMap (ConnectionError: Failed to resolve "
        "'nominatim.openstreetmap.org'). If you are offline or the Overpass/Nominatim services are unavailable, download "
        "an extract (.osm or .osm.pbf, e.g. from Geofabrik) and run `siting run --osm FILE`.")
    assert main(["--lang", "zh", "fetch", "--bbox", "119.3,35.2,119.31,35.21", "--out", str(tmp_path / "y")]) == 2
    assert capsys.readouterr().err.startswith("错误：无法从 OpenStreetMap 下载道路（ConnectionError：")
    assert not (tmp_path / "y").exists()


@pytest.mark.parametrize("bbox", ["119.3,35.2,119.31", "east,south,west,north", "119.31,35.2,119.3,35.21"])
def test_fetch_bad_bbox(tmp_path, bbox):
    with pytest.raises(DataError, match="--bbox must be W,S,E,N"):
        fetch(tmp_path, bbox=bbox)
