"""The network stage: readers, components, snapping, OD matrices, service areas.

No test touches the internet: the osmnx download wrappers are tested with monkeypatched
osmnx functions.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from pyproj import CRS, Transformer

from siting import network as nw
from siting.errors import NetworkError
from siting.network.cache import graph_cache

DATA = Path(__file__).parent / "data"
RIVER = DATA / "river.osm"
DEMO = Path(__file__).parent.parent / "data" / "demo" / "roads.osm"
GK120 = CRS.from_epsg(4549)  # CGCS2000 3-degree zone, central meridian 120°E: Lanshan's


def _points(lonlat):
    lon, lat = np.asarray(lonlat, dtype=float).T
    return gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326)


def _random_points(G, n, rng, spread=60.0):
    """Points scattered up to ``spread`` metres around random nodes."""
    nodes = rng.choice(np.array(list(G.nodes)), n)
    crs = nw.graph_metric_crs(G)
    to_m = Transformer.from_crs(4326, crs, always_xy=True)
    to_ll = Transformer.from_crs(crs, 4326, always_xy=True)
    x, y = to_m.transform([G.nodes[u]["x"] for u in nodes], [G.nodes[u]["y"] for u in nodes])
    x = np.asarray(x) + rng.uniform(-spread, spread, n)
    y = np.asarray(y) + rng.uniform(-spread, spread, n)
    return _points(np.column_stack(to_ll.transform(x, y)))


def _expected(G, origins, destinations, cutoff, weight, leg_scale=1.0):
    """{(i, j): total} by networkx, one origin at a time: the reference."""
    so = nw.snap(G, origins, max_distance=np.inf)
    sd = nw.snap(G, destinations, max_distance=np.inf)
    out = {}
    for i, (o, lo) in enumerate(zip(so.node, so.distance)):
        dist = nx.single_source_dijkstra_path_length(G, o, cutoff=cutoff, weight=weight)
        for j, (d, ld) in enumerate(zip(sd.node, sd.distance)):
            if d in dist:
                total = lo * leg_scale + dist[d] + ld * leg_scale
                if total <= cutoff:
                    out[(i, j)] = total
    return out


def _entries(M):
    coo = M.tocoo()
    return {(int(i), int(j)): float(v) for i, j, v in zip(coo.row, coo.col, coo.data)}


def _assert_matches(M, expected, cutoff):
    got = _entries(M)
    assert max(got.values(), default=0) <= cutoff
    # both sides may disagree only within rounding of the cutoff itself
    missing = {k for k in expected.keys() - got.keys() if expected[k] < cutoff - 1e-6}
    extra = {k for k in got.keys() - expected.keys() if got[k] < cutoff - 1e-6}
    assert not missing and not extra
    for k in got.keys() & expected.keys():
        assert got[k] == pytest.approx(expected[k], abs=1e-6)


@pytest.fixture(scope="module")
def grid():
    # directed: 20 % one-way streets and some longer parallel edges
    return nw.grid_graph(25, 30, spacing=80, oneway_fraction=0.2, parallel_fraction=0.1, seed=1)


# ---------------------------------------------------------------------------- OD matrices


@pytest.mark.parametrize("n_o,n_d", [(40, 15), (15, 40)])  # both Dijkstra directions
@pytest.mark.parametrize("weight,cutoff", [("length", 1200.0), ("travel_time", 150.0)])
def test_od_matches_networkx(grid, n_o, n_d, weight, cutoff):
    rng = np.random.default_rng(n_o)
    origins, destinations = _random_points(grid, n_o, rng), _random_points(grid, n_d, rng)
    # a tiny chunk budget forces several Dijkstra chunks
    M = nw.od_matrix(grid, origins, destinations, cutoff, weight=weight, max_snap_distance=1e9, chunk_bytes=1)
    assert M.shape == (n_o, n_d)
    scale = 1.0 if weight == "length" else 1 / (nw.WALK_SPEED_KMH / 3.6)
    expected = _expected(grid, origins, destinations, cutoff, weight, scale)
    assert 0 < len(expected) < n_o * n_d  # the cutoff bites, and something is reachable
    _assert_matches(M, expected, cutoff)


def test_od_explicit_zero_and_cache(grid):
    node = grid.nodes[42]
    here = _points([(node["x"], node["y"])])
    M = nw.od_matrix(grid, here, here, 100.0)
    assert M.nnz == 1 and M[0, 0] == 0.0  # stored, not absent
    cache = grid.graph["siting_cache"]
    nw.od_matrix(grid, here, here, 100.0)
    assert grid.graph["siting_cache"] is cache


def test_od_accepts_snap_results_and_rebuilds_cache_on_change():
    G = nw.grid_graph(5, 5, spacing=100, seed=3)
    pts = _points([(G.nodes[0]["x"], G.nodes[0]["y"]), (G.nodes[24]["x"], G.nodes[24]["y"])])
    s = nw.snap(G, pts)
    before = nw.od_matrix(G, s, s, 10_000.0)
    G.add_edge(0, 24, length=1.0)  # a shortcut
    after = nw.od_matrix(G, nw.snap(G, pts), nw.snap(G, pts), 10_000.0)
    assert before[0, 1] > 700 and after[0, 1] == pytest.approx(1.0)


def test_od_on_file_graph_both_directions():
    G = nw.graph_from_file(RIVER, "drive", largest_component=False, simplify=False)
    xy = {n: (G.nodes[n]["x"], G.nodes[n]["y"]) for n in (3, 6)}
    M = nw.od_matrix(G, _points([xy[3], xy[6]]), _points([xy[3], xy[6]]), 5000.0)
    # one-way 3 -> 6 and nothing back to the west road
    assert M[0, 1] == pytest.approx(G[3][6][0]["length"])
    assert (1, 0) not in _entries(M)


@pytest.mark.skipif(not DEMO.exists(), reason="data/demo/roads.osm not generated")
def test_od_matches_networkx_on_demo():
    G = nw.graph_from_file(DEMO, "walk")
    rng = np.random.default_rng(7)
    origins, destinations = _random_points(G, 20, rng), _random_points(G, 30, rng)
    M = nw.od_matrix(G, origins, destinations, 2000.0, max_snap_distance=1e9)
    _assert_matches(M, _expected(G, origins, destinations, 2000.0, "length"), 2000.0)


def _reference_csr(G, weight):
    """{(u, v): min weight over parallel edges}, self-loops left out: an independent reference."""
    best = {}
    for u, v, w in G.edges(data=weight):
        if u != v:
            best[(u, v)] = min(w, best.get((u, v), np.inf))
    return best


def _as_pairs(cache, M):
    coo = M.tocoo()
    nodes = cache.nodes
    return {(nodes[i], nodes[j]): float(w) for i, j, w in zip(coo.row, coo.col, coo.data)}


@pytest.mark.parametrize("weight", ["length", "travel_time"])
def test_cache_filled_by_travel_times_equals_the_graph(weight):
    G = nw.grid_graph(6, 7, spacing=90, oneway_fraction=0.3, parallel_fraction=0.3, seed=5)
    G.add_edge(3, 3, length=0.0, highway="service")  # a self-loop is no shortcut
    G.add_edge(8, 9, length=0.0, highway="service")  # a zero-length parallel edge wins, kept as an explicit 0
    nw.add_travel_times(G, "drive")
    cache = G.graph["siting_cache"]
    assert weight in cache.weights  # filled by add_travel_times' own pass
    expected = _reference_csr(G, weight)
    assert expected[(8, 9)] == 0.0
    fwd = cache.matrix(G, weight)
    assert _as_pairs(cache, fwd) == pytest.approx(expected)
    assert _as_pairs(cache, cache.matrix(G, weight, transposed=True)) == pytest.approx(
        {(v, u): w for (u, v), w in expected.items()}
    )
    # a bare graph (no cache) builds the same matrix by its own walk
    nw.clear_cache(G)
    bare = graph_cache(G)
    assert not bare.weights
    assert _as_pairs(bare, bare.matrix(G, weight)) == pytest.approx(expected)


def test_add_travel_times_again_replaces_cached_times():
    G = nw.grid_graph(2, 3, spacing=100, detour=0.0, seed=0)  # straight 100 m blocks
    a, c = G.nodes[0], G.nodes[2]
    pts = _points([(a["x"], a["y"]), (c["x"], c["y"])])
    nw.add_travel_times(G, "drive", speeds=36.0)  # 10 m/s
    first = nw.od_matrix(G, pts, pts, 1000.0, weight="travel_time")
    nw.add_travel_times(G, "drive", speeds=72.0)  # 20 m/s: half the time, no clear_cache needed
    second = nw.od_matrix(G, pts, pts, 1000.0, weight="travel_time")
    length = sum(G[u][v][0]["length"] for u, v in ((0, 1), (1, 2)))
    assert first[0, 1] == pytest.approx(length / 10.0)
    assert second[0, 1] == pytest.approx(length / 20.0)


def test_add_travel_times_after_rewiring_with_the_same_counts_reads_the_new_edges():
    G = nw.grid_graph(2, 3, spacing=100, detour=0.0, seed=0)
    a, c = G.nodes[0], G.nodes[2]
    pts = _points([(a["x"], a["y"]), (c["x"], c["y"])])
    assert nw.od_matrix(G, pts, pts, 1000.0)[0, 1] > 199
    # swap the street 3-4 for a 1 m link 0-2: same node and pair counts, so only a fresh read can tell
    data = dict(G[3][4][0])
    G.remove_edge(3, 4)
    G.remove_edge(4, 3)
    G.add_edge(0, 2, **{**data, "length": 1.0})
    G.add_edge(2, 0, **{**data, "length": 1.0})
    nw.add_travel_times(G, "drive")
    assert nw.od_matrix(G, pts, pts, 1000.0)[0, 1] == pytest.approx(1.0)


def test_a_copy_does_not_reuse_the_originals_cache():
    G = nw.grid_graph(2, 3, spacing=100, detour=0.0, seed=0)
    a, c = G.nodes[0], G.nodes[2]
    pts = _points([(a["x"], a["y"]), (c["x"], c["y"])])
    before = nw.od_matrix(G, pts, pts, 1000.0)[0, 1]
    H = G.copy()  # shares G.graph's cache object, same node and edge counts
    for u, v in ((0, 1), (1, 2)):
        H[u][v][0]["length"] = 1.0
    assert nw.od_matrix(H, pts, pts, 1000.0)[0, 1] == pytest.approx(2.0)
    assert nw.od_matrix(G, pts, pts, 1000.0)[0, 1] == pytest.approx(before)
    assert before > 199


def test_a_pickled_graph_rebuilds_its_cache():
    import pickle

    G = nw.grid_graph(3, 3, spacing=100, seed=0)
    pts = _points([(G.nodes[0]["x"], G.nodes[0]["y"]), (G.nodes[8]["x"], G.nodes[8]["y"])])
    before = nw.od_matrix(G, pts, pts, 1000.0)
    H = pickle.loads(pickle.dumps(G))
    old = H.graph["siting_cache"]
    assert (nw.od_matrix(H, pts, pts, 1000.0) != before).nnz == 0
    assert H.graph["siting_cache"] is not old


def test_nodes_without_coordinates_and_edges_without_length_raise():
    G = nx.MultiDiGraph()
    G.add_edge(1, 2, length=10.0)
    nw.add_travel_times(G, "walk")  # needs no coordinates
    with pytest.raises(NetworkError, match="'x' and 'y'"):
        nw.snap(G, _points([(119.4, 35.1)]))
    H = nx.MultiDiGraph()
    H.add_node(1, x=119.4, y=35.1)
    H.add_node(2, x=119.401, y=35.1)
    H.add_edge(1, 2)
    with pytest.raises(NetworkError, match="'length'"):
        nw.add_travel_times(H, "walk")


def test_road_lines_draw_each_street_once():
    G = nw.grid_graph(2, 3, spacing=100, detour=0.0, oneway_fraction=0.0, seed=0)  # 7 two-way streets
    G.add_edge(0, 1, length=150.0, highway="footway")  # a parallel edge is the same street on a map
    lines = nw.road_lines(G)
    assert len(lines) == 7
    assert {tuple(sorted(p)) for p in zip(lines["u"], lines["v"])} == {(0, 1), (1, 2), (3, 4), (4, 5), (0, 3), (1, 4), (2, 5)}
    first = lines.iloc[0]
    a, b = G.nodes[first["u"]], G.nodes[first["v"]]
    assert list(first.geometry.coords) == [(a["x"], a["y"]), (b["x"], b["y"])]  # straight when there is no geometry
    assert lines.crs == "EPSG:4326" and nw.road_lines(G) is lines  # cached with the graph


# ---------------------------------------------------------------------------- snapping


@pytest.fixture
def three_nodes():
    """Nodes A, B, C 1 km apart on a metric east-west line near Lanshan."""
    to_ll = Transformer.from_crs(GK120, 4326, always_xy=True)
    x0, y0 = 500_000.0, 3_885_000.0
    G = nx.MultiDiGraph(crs="epsg:4326")
    for name, dx in (("A", 0.0), ("B", 1000.0), ("C", 2000.0)):
        lon, lat = to_ll.transform(x0 + dx, y0)
        G.add_node(name, x=lon, y=lat)
    for u, v in (("A", "B"), ("B", "C")):
        G.add_edge(u, v, length=1000.0)
        G.add_edge(v, u, length=1000.0)
    G = nw.prepare_graph(G, "walk")

    def at(dx, dy):
        return to_ll.transform(x0 + dx, y0 + dy)

    return G, at


def test_snap_known_answers(three_nodes):
    G, at = three_nodes
    s = nw.snap(G, _points([at(1000, 30), at(-40, 0), at(1990, -25)]), crs=GK120)
    assert list(s.node) == ["B", "A", "C"]
    np.testing.assert_allclose(s.distance, [30.0, 40.0, np.hypot(10, 25)], atol=1e-6)
    # the default metric CRS for a graph at 119.5°E is the same zone
    assert nw.graph_metric_crs(G) == GK120


def test_snap_polygon_uses_representative_point(three_nodes):
    G, at = three_nodes
    square = shapely.Polygon([at(950, 20), at(1050, 20), at(1050, 120), at(950, 120)])
    s = nw.snap(G, gpd.GeoDataFrame(geometry=[square], crs=4326))
    assert s.node[0] == "B" and 20 < s.distance[0] < 121


def test_entrances_override_polygon_snapping(three_nodes, caplog):
    G, at = three_nodes
    walled = shapely.Polygon([at(950, 20), at(1050, 20), at(1050, 120), at(950, 120)])
    open_ = shapely.Polygon([at(-50, 20), at(50, 20), at(50, 120), at(-50, 120)])
    compounds = gpd.GeoDataFrame(geometry=[walled, open_], index=["walled", "open"], crs=4326)
    gates = gpd.GeoSeries(
        [shapely.Point(at(1900, 50)), shapely.Point(at(1500, 400)), shapely.Point(at(0, 0))],
        index=["walled", "walled", "elsewhere"],
        crs=4326,
    )
    with caplog.at_level(logging.WARNING, logger="siting.network"):
        s = nw.snap(G, compounds, entrances=gates)
    assert list(s.node) == ["C", "A"]  # the nearer gate wins; no gate: representative point
    assert s.distance[0] == pytest.approx(np.hypot(100, 50), abs=1e-6)
    assert "1 entrance(s) name no row" in caplog.text


def test_max_distance_reported_and_excluded(three_nodes, caplog):
    G, at = three_nodes
    pts = gpd.GeoDataFrame(
        {"name": ["near", "far", "none"]},
        geometry=[shapely.Point(at(1000, 30)), shapely.Point(at(1000, 800)), None],
        index=["n", "f", "x"],
        crs=4326,
    )
    with caplog.at_level(logging.WARNING, logger="siting.network"):
        s = nw.snap(G, pts, max_distance=500)
    assert list(s.snapped) == [True, False, False]
    ex = s.excluded
    assert list(ex["index"]) == ["f", "x"] and ex["distance"].iloc[0] == pytest.approx(800, abs=1e-6)
    assert "2 of 3" in caplog.text
    M = nw.od_matrix(G, pts, pts, 1e6, max_snap_distance=500)
    assert set(_entries(M)) == {(0, 0)}  # the far and empty points get no entries at all
    assert M[0, 0] == pytest.approx(60.0)


def test_travel_time_snap_legs(three_nodes):
    G, at = three_nodes
    o, d = _points([at(0, 45)]), _points([at(2000, 0)])
    M = nw.od_matrix(G, o, d, 3600, weight="travel_time", walk_speed=4.5)
    assert M[0, 0] == pytest.approx((45 + 2000) / 1.25)
    assert nw.od_matrix(G, o, d, 1600, weight="travel_time").nnz == 0


# ---------------------------------------------------------------------------- readers


def _write_pbf(src: Path, dst: Path) -> Path:
    import osmium

    with osmium.SimpleWriter(str(dst)) as writer:
        for obj in osmium.FileProcessor(str(src)):
            writer.add(obj)
    return dst


def _edge_set(G):
    return {(u, v, round(d["length"], 6), round(d["travel_time"], 6)) for u, v, d in G.edges(data=True)}


@pytest.mark.parametrize("network_type", ["walk", "drive"])
def test_pbf_and_xml_give_the_same_graph(tmp_path, network_type):
    pbf = _write_pbf(RIVER, tmp_path / "river.osm.pbf")
    a = nw.graph_from_file(RIVER, network_type)
    b = nw.graph_from_file(pbf, network_type)
    assert dict(a.nodes(data="x")) == dict(b.nodes(data="x"))
    assert _edge_set(a) == _edge_set(b) and len(_edge_set(a)) > 0
    assert a.graph["siting_report"].dangling_refs == b.graph["siting_report"].dangling_refs == 1


def test_matches_osmnx_graph_from_xml_on_clean_roads(tmp_path):
    import osmnx as ox

    clean = tmp_path / "clean.osm"
    text = RIVER.read_text(encoding="utf-8").split("\n")
    # osmnx takes every way as a road and crashes on missing nodes: hand it only clean roads
    keep = [ln for ln in text if not any(f'way id="{w}"' in ln for w in (105, 106, 107, 108))]
    clean.write_text("\n".join(keep), encoding="utf-8")
    ours = nw.graph_from_file(clean, "walk", largest_component=False)
    theirs = ox.graph_from_xml(clean, bidirectional=True, retain_all=True)
    assert {(u, v, round(d["length"], 6)) for u, v, d in ours.edges(data=True)} == {
        (u, v, round(d["length"], 6)) for u, v, d in theirs.edges(data=True)
    }


def test_walk_network_filters_and_reports():
    G = nw.graph_from_file(RIVER, "walk", simplify=False)
    rep = G.graph["siting_report"]
    # building nodes and the motorway are not walkable roads
    assert not {51, 52, 41} & set(G) and {1, 5, 15, 16, 21} <= set(G)
    # the footway island (31-32) is the one disconnected piece
    assert (rep.components, rep.dropped_components, rep.dropped_nodes, rep.dropped_edges) == (2, 1, 2, 2)
    assert rep.nodes == len(G) and rep.edges == G.number_of_edges()
    # walking ignores oneway
    assert G.has_edge(6, 3)
    assert all(d["travel_time"] == pytest.approx(d["length"] / 1.25) for _, _, d in G.edges(data=True))


def test_disconnected_kept_on_request_and_warned(caplog):
    with caplog.at_level(logging.WARNING, logger="siting.network"):
        G = nw.graph_from_file(RIVER, "walk", largest_component=False, simplify=False)
    assert {31, 32} <= set(G) and G.graph["siting_report"].components == 2
    assert G.graph["siting_report"].dropped_components == 0
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="siting.network"):
        nw.graph_from_file(RIVER, "walk")
    assert "dropped 1 component" in caplog.text


def test_dangling_refs_dropped_and_reported(caplog):
    with caplog.at_level(logging.WARNING, logger="siting.network"):
        G = nw.graph_from_file(RIVER, "walk", simplify=False)
    rep = G.graph["siting_report"]
    assert rep.dangling_refs == 1 and rep.dangling_ways == [106]
    assert G.has_edge(12, 16) and 999 not in G
    assert "missing from the file" in caplog.text


def test_drive_respects_oneway_and_speeds():
    G = nw.graph_from_file(RIVER, "drive", largest_component=False, simplify=False)
    assert G.has_edge(3, 6) and not G.has_edge(6, 3)
    assert G.has_edge(13, 41) and not G.has_edge(1, 5)  # motorway yes, footway no
    d = G[1][2][0]
    assert d["travel_time"] == pytest.approx(d["length"] / (20 / 3.6))
    assert G[4][21][0]["speed_kph"] == 40.0
    # the one-way loop can be entered but not left: not strongly connected
    rep = nw.graph_from_file(RIVER, "drive", simplify=False).graph["siting_report"]
    assert rep.dropped_nodes == 2 and rep.dropped_edges == 3
    faster = nw.graph_from_file(RIVER, "drive", speeds={"residential": 30}, simplify=False)
    assert faster[1][2][0]["travel_time"] == pytest.approx(d["length"] / (30 / 3.6))
    with pytest.raises(NetworkError):
        nw.graph_from_file(RIVER, "drive", speeds={"residential": 0})


def test_clip_with_buffer():
    west = shapely.box(119.3995, 35.0995, 119.4015, 35.1035)
    G = nw.graph_from_file(RIVER, "walk", clip=west, buffer=0, simplify=False)
    assert set(G) == {1, 2, 3, 4, 5, 6}
    assert G.graph["siting_report"].clipped_nodes > 0
    # 100 m of buffer reaches the bridge's middle node 21 (45 m out), not the east bank (137 m+)
    wider = nw.graph_from_file(RIVER, "walk", clip=gpd.GeoSeries([west], crs=4326), buffer=100, simplify=False)
    assert set(wider) == {1, 2, 3, 4, 5, 6, 21}


def test_bad_inputs_raise_network_error(tmp_path):
    with pytest.raises(NetworkError, match="not found"):
        nw.graph_from_file(tmp_path / "nope.osm")
    with pytest.raises(NetworkError):
        nw.graph_from_file(RIVER, "bike")
    empty = tmp_path / "empty.osm"
    empty.write_text('<osm version="0.6"><node id="1" lat="35" lon="119"/></osm>')
    with pytest.raises(NetworkError, match="no usable") as err:
        nw.graph_from_file(empty)
    assert "道路" in err.value.message("zh")


# ---------------------------------------------------------------------------- downloads


def test_download_offline_raises_clear_error(monkeypatch, tmp_path):
    import osmnx as ox
    import requests

    seen = {}

    def offline(query, **kwargs):
        seen.update(kwargs, use_cache=ox.settings.use_cache, cache_folder=ox.settings.cache_folder)
        raise requests.exceptions.ConnectionError("Failed to resolve 'overpass-api.de'")

    monkeypatch.setattr(ox, "graph_from_place", offline)
    before = ox.settings.cache_folder
    with pytest.raises(NetworkError) as err:
        nw.graph_from_place("Lanshan, Rizhao", cache_folder=tmp_path)
    assert "offline" in str(err.value) and ".osm.pbf" in str(err.value) and "graph_from_file" in str(err.value)
    assert "离线" in err.value.message("zh")
    assert seen["use_cache"] is True and seen["cache_folder"] == str(tmp_path)
    assert seen["network_type"] == "walk" and seen["retain_all"] is True
    assert ox.settings.cache_folder == before


def test_download_empty_response_and_success(monkeypatch):
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError

    def nothing(polygon, **kwargs):
        raise InsufficientResponseError("No data elements in server response.")

    monkeypatch.setattr(ox, "graph_from_polygon", nothing)
    with pytest.raises(NetworkError, match="no road data"):
        nw.graph_from_polygon(shapely.box(119.4, 35.1, 119.5, 35.2))

    grid = nw.grid_graph(4, 4, seed=0)
    grid.add_node(999, x=119.0, y=35.0)  # an island osmnx kept with retain_all=True
    kwargs = {}
    monkeypatch.setattr(ox, "graph_from_bbox", lambda bbox, **kw: kwargs.update(kw, bbox=bbox) or grid)
    G = nw.graph_from_bbox((119.4, 35.1, 119.5, 35.2), "drive")
    assert kwargs["network_type"] == "drive_service" and kwargs["bbox"] == (119.4, 35.1, 119.5, 35.2)
    assert 999 not in G and G.graph["siting_report"].dropped_nodes == 1


# ---------------------------------------------------------------------------- service areas


def test_service_areas_stop_at_the_river():
    G = nw.graph_from_file(RIVER, "walk", simplify=False)
    five = (G.nodes[5]["x"], G.nodes[5]["y"])
    fac = gpd.GeoDataFrame({"name": ["托育园"]}, geometry=_points([five]).values, index=["k1"], crs=4326)
    areas = nw.service_areas(G, fac, [300, 500], buffer=30)
    assert len(areas) == 2 and areas.crs.to_epsg() == 4326
    assert list(areas.columns) == ["facility", "threshold", "weight", "snap_distance", "snapped", "geometry"]
    assert list(areas["facility"]) == ["k1", "k1"] and list(areas["threshold"]) == [300, 500]
    dist = nx.single_source_dijkstra_path_length(G, 5, weight="length")
    for _, row in areas.iterrows():
        poly = row.geometry
        for n, d in dist.items():
            pt = shapely.Point(G.nodes[n]["x"], G.nodes[n]["y"])
            if d <= row.threshold:
                assert poly.contains(pt), (n, d, row.threshold)
        # across the river: 182 m away in a straight line, about 1.2 km on foot
        assert not poly.contains(shapely.Point(G.nodes[15]["x"], G.nodes[15]["y"]))
    assert areas.geometry.iloc[0].area < areas.geometry.iloc[1].area


def test_service_areas_partial_edges_and_travel_time(three_nodes):
    G, at = three_nodes
    fac = _points([at(0, 0), at(0, 5000)])  # the second is off the network
    areas = nw.service_areas(G, fac, 600.0, weight="travel_time", buffer=10, max_snap_distance=500)
    assert list(areas["snapped"]) == [True, False] and areas.geometry.iloc[1].is_empty
    m = areas.to_crs(GK120).geometry.iloc[0]
    # 600 s at 4.5 km/h = 750 m along A -> B, plus 10 m of buffer
    minx, _, maxx, _ = m.bounds
    assert maxx - 500_000 == pytest.approx(760, abs=0.5) and minx - 500_000 == pytest.approx(-10, abs=0.5)
