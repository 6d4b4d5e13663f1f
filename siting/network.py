"""The road network: build it, snap points to it, and measure access along it.

Graphs are osmnx-style ``networkx.MultiDiGraph`` objects in EPSG:4326 (node ``x``/``y``
in degrees, edge ``length`` in metres), so the rest of the project can store and map
them. Everything metric (snapping, buffering) happens on a projected copy of the node
coordinates in :func:`siting.crs.metric_crs` of the graph's centre, cached on the graph.

Shortest paths run on a CSR matrix with ``scipy.sparse.csgraph.dijkstra`` (exact, with
a cutoff), never in a Python loop of networkx calls.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from shapely.ops import substring

from siting.crs import WGS84, metric_crs
from siting.errors import NetworkError

__all__ = [
    "NETWORK_TYPES",
    "DEFAULT_SPEEDS",
    "WALK_SPEED_KMH",
    "DEFAULT_BUFFER",
    "DEFAULT_MAX_SNAP",
    "SERVICE_AREA_BUFFER",
    "NetworkReport",
    "SnapResult",
    "graph_from_file",
    "graph_from_place",
    "graph_from_polygon",
    "graph_from_bbox",
    "prepare_graph",
    "add_travel_times",
    "graph_metric_crs",
    "clear_cache",
    "snap",
    "od_matrix",
    "service_areas",
    "grid_graph",
]

logger = logging.getLogger(__name__)

NETWORK_TYPES = ("walk", "drive")

# km/h by OSM highway class; "_link" classes fall back to their parent class, anything
# unlisted to "default". Walking speed does not depend on the road class.
DEFAULT_SPEEDS: dict[str, dict[str, float]] = {
    "walk": {"default": 4.5},
    "drive": {
        "motorway": 80.0,
        "trunk": 60.0,
        "primary": 50.0,
        "secondary": 40.0,
        "tertiary": 30.0,
        "unclassified": 25.0,
        "residential": 20.0,
        "living_street": 10.0,
        "service": 15.0,
        "default": 20.0,
    },
}
WALK_SPEED_KMH = 4.5  # converts snap legs (walked straight to the road) to seconds
DEFAULT_BUFFER = 500.0  # metres kept around a clip polygon, so paths may leave and re-enter it
DEFAULT_MAX_SNAP = 500.0  # metres: farther from any road than this is a data problem, not access
SERVICE_AREA_BUFFER = 35.0  # metres either side of a reached road: about a block face
CHUNK_BYTES = 128 * 2**20  # bound on scipy's dense (sources x nodes) distance block
MAX_CHUNK = 256
_CACHE_KEY = "siting_cache"
REPORT_KEY = "siting_report"

# Way filters mirroring osmnx's "walk" and "drive_service" Overpass filters, so a graph
# read from a file matches one downloaded for the same area.
_EXCLUDE_HIGHWAY = {
    "walk": {
        "abandoned", "bus_guideway", "construction", "cycleway", "motorway", "motorway_link",
        "no", "planned", "platform", "proposed", "raceway", "razed", "rest_area", "services",
    },
    "drive": {
        "abandoned", "bridleway", "bus_guideway", "construction", "corridor", "cycleway",
        "elevator", "escalator", "footway", "no", "path", "pedestrian", "planned", "platform",
        "proposed", "raceway", "razed", "rest_area", "services", "steps", "track",
    },
}
_EXCLUDE_TAGS = {
    "walk": {
        "foot": {"no"},
        "service": {"private"},
        "sidewalk": {"separate"},
        "sidewalk:both": {"separate"},
        "sidewalk:left": {"separate"},
        "sidewalk:right": {"separate"},
    },
    "drive": {
        "motor_vehicle": {"no"},
        "motorcar": {"no"},
        "service": {"emergency_access", "parking", "parking_aisle", "private"},
    },
}
_ALLOWED_VALUES = {"yes", "designated", "permissive", "destination"}
_OSMNX_NETWORK_TYPE = {"walk": "walk", "drive": "drive_service"}
_ONEWAY_VALUES = {"yes", "true", "1", "-1", "reverse", "T", "F"}
_REVERSED_VALUES = {"-1", "reverse", "T"}


@dataclass
class NetworkReport:
    """What building the graph kept and dropped; stored as ``G.graph["siting_report"]``.

    ``dangling_refs`` counts way→node references to nodes missing from the file (clipped
    extracts); the road pieces touching them are dropped. ``clipped_nodes`` counts road
    nodes outside the buffered clip polygon. ``dropped_*`` describe the components removed
    to keep the largest strongly connected one.
    """

    source: str
    network_type: str
    nodes: int = 0
    edges: int = 0
    ways: int = 0
    dangling_refs: int = 0
    dangling_ways: list[int] = field(default_factory=list)
    clipped_nodes: int = 0
    components: int = 1
    dropped_components: int = 0
    dropped_nodes: int = 0
    dropped_edges: int = 0


# ---------------------------------------------------------------------------- building


def _check_network_type(network_type: str) -> None:
    if network_type not in NETWORK_TYPES:
        raise NetworkError(
            f"Unknown network_type {network_type!r}: use one of {', '.join(NETWORK_TYPES)}.",
            f"未知的路网类型 {network_type!r}：请使用 {'、'.join(NETWORK_TYPES)} 之一。",
        )


def _way_usable(tags: dict[str, str], network_type: str) -> bool:
    highway = tags.get("highway")
    if highway is None or highway in _EXCLUDE_HIGHWAY[network_type]:
        return False
    if tags.get("area") == "yes":
        return False
    if tags.get("access") in ("private", "no"):
        # a specific permission overrides the general access tag
        keys = ("foot",) if network_type == "walk" else ("motor_vehicle", "motorcar")
        if not any(tags.get(k) in _ALLOWED_VALUES for k in keys):
            return False
    return all(tags.get(k) not in bad for k, bad in _EXCLUDE_TAGS[network_type].items())


def _is_oneway(tags: dict[str, str], network_type: str) -> bool:
    # osmnx's rules: walking ignores oneway; roundabouts are implicitly oneway.
    if network_type == "walk":
        return False
    return tags.get("oneway") in _ONEWAY_VALUES or tags.get("junction") == "roundabout"


def _clip_polygon(clip, buffer: float):
    """The clip area as one shapely geometry in EPSG:4326, grown by ``buffer`` metres."""
    if isinstance(clip, (gpd.GeoDataFrame, gpd.GeoSeries)):
        clip = clip.to_crs(WGS84).union_all() if clip.crs is not None else clip.union_all()
    if not buffer:
        return clip
    centre = clip.centroid
    series = gpd.GeoSeries([clip], crs=WGS84)
    crs = metric_crs(centre.x, centre.y)
    return series.to_crs(crs).buffer(buffer).to_crs(WGS84).iloc[0]


def _read_ways(path: Path, network_type: str):
    """Usable highway ways and the locations of their nodes, via pyosmium (.osm or .pbf)."""
    import osmium
    import osmnx as ox

    way_tags = set(ox.settings.useful_tags_way)
    node_tag_keys = list(ox.settings.useful_tags_node)
    fp = (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.KeyFilter(*node_tag_keys).enable_for(osmium.osm.NODE))
        .with_filter(osmium.filter.KeyFilter("highway").enable_for(osmium.osm.WAY))
    )
    coords: dict[int, tuple[float, float]] = {}
    node_tags: dict[int, dict[str, str]] = {}
    ways: list[tuple[int, dict[str, str], list[int]]] = []
    dangling_refs = 0
    dangling_ways: list[int] = []
    try:
        for obj in fp:
            if obj.is_node():
                node_tags[obj.id] = {k: v for k, v in obj.tags if k in node_tag_keys}
                continue
            tags = dict(obj.tags)
            if not _way_usable(tags, network_type):
                continue
            refs = []
            missing = 0
            for nd in obj.nodes:
                if nd.location.valid():
                    coords[nd.ref] = (nd.lon, nd.lat)
                    refs.append(nd.ref)
                else:
                    missing += 1
                    refs.append(None)  # a break: no edge may span a missing node
            if missing:
                dangling_refs += missing
                dangling_ways.append(obj.id)
            ways.append((obj.id, {k: v for k, v in tags.items() if k in way_tags}, refs))
    except RuntimeError as exc:
        raise NetworkError(
            f"Cannot read OSM file {path}: {exc}. Expected an .osm (XML) or .osm.pbf extract.",
            f"无法读取 OSM 文件 {path}：{exc}。需要 .osm（XML）或 .osm.pbf 格式的数据。",
        ) from exc
    return coords, node_tags, ways, dangling_refs, dangling_ways


def graph_from_file(
    path,
    network_type: str = "walk",
    clip=None,
    buffer: float = DEFAULT_BUFFER,
    speeds: dict[str, float] | float | None = None,
    *,
    largest_component: bool = True,
    simplify: bool = True,
) -> nx.MultiDiGraph:
    """Build the road graph from an OSM extract (.osm XML or .osm.pbf), offline.

    Only ``highway=*`` ways usable by ``network_type`` become edges (the same filters
    as osmnx's "walk" and "drive_service" downloads). References to nodes missing
    from the file (clipped extracts) are dropped with the road pieces touching them,
    and reported rather than raised.

    Parameters
    ----------
    path : str or Path
        The extract; pyosmium reads both formats.
    network_type : {"walk", "drive"}
        "walk": every highway class usable on foot, in both directions.
        "drive": motor roads incl. service roads, respecting ``oneway``.
    clip : shapely geometry, GeoSeries or GeoDataFrame, optional
        Study area (EPSG:4326 if a bare geometry); road nodes farther than ``buffer``
        metres outside it are dropped.
    buffer : float
        Metres kept around ``clip``.
    speeds : dict or float, optional
        Overrides of :data:`DEFAULT_SPEEDS` (km/h by highway class), see
        :func:`add_travel_times`.
    largest_component : bool
        Keep only the largest strongly connected component (reported either way).
    simplify : bool
        Merge interstitial nodes with ``osmnx.simplify_graph``.

    Returns
    -------
    networkx.MultiDiGraph
        With ``length`` and ``travel_time`` on every edge and a :class:`NetworkReport`
        in ``G.graph["siting_report"]``.
    """
    import osmnx as ox

    _check_network_type(network_type)
    path = Path(path)
    if not path.is_file():
        raise NetworkError(
            f"OSM file not found: {path}.",
            f"找不到 OSM 文件：{path}。",
        )
    coords, node_tags, ways, dangling_refs, dangling_ways = _read_ways(path, network_type)
    report = NetworkReport(
        source=str(path),
        network_type=network_type,
        ways=len(ways),
        dangling_refs=dangling_refs,
        dangling_ways=dangling_ways,
    )
    if dangling_refs:
        logger.warning(
            "%s: %d reference(s) in %d way(s) point to nodes missing from the file "
            "(clipped extract?); those road pieces were dropped.",
            path, dangling_refs, len(dangling_ways),
        )

    inside = None
    if clip is not None:
        area = _clip_polygon(clip, buffer)
        ids = np.fromiter(coords.keys(), dtype=np.int64, count=len(coords))
        xy = np.array(list(coords.values()), dtype=float).reshape(-1, 2)
        shapely.prepare(area)
        mask = shapely.contains_xy(area, xy[:, 0], xy[:, 1])
        inside = set(ids[mask].tolist())
        report.clipped_nodes = int((~mask).sum())

    G = nx.MultiDiGraph(crs="epsg:4326", created_with="siting.network", network_type=network_type)
    for way_id, tags, refs in ways:
        oneway = _is_oneway(tags, network_type)
        if oneway and tags.get("oneway") in _REVERSED_VALUES:
            refs = refs[::-1]
        refs = [r for r, _ in groupby(refs)]  # repeated consecutive refs make self-loops
        pairs = [
            (a, b)
            for a, b in zip(refs[:-1], refs[1:])
            if a is not None and b is not None and (inside is None or (a in inside and b in inside))
        ]
        if not pairs:
            continue
        attrs = {"osmid": way_id, **tags, "oneway": oneway}
        G.add_edges_from(pairs, **attrs, reversed=False)
        if not oneway:
            G.add_edges_from([(b, a) for a, b in pairs], **attrs, reversed=True)
    if len(G) == 0:
        raise NetworkError(
            f"{path} contains no usable {network_type} roads"
            + (" inside the clip area" if clip is not None else "")
            + ". Check the file covers the study area.",
            f"{path} 中没有可用的{'步行' if network_type == 'walk' else '车行'}道路"
            + ("（在裁剪范围内）" if clip is not None else "")
            + "。请检查文件是否覆盖研究区域。",
        )
    for node, data in G.nodes(data=True):
        data["x"], data["y"] = coords[node]
        data.update(node_tags.get(node, {}))
    G = ox.distance.add_edge_lengths(G)
    if simplify:
        # remove_rings=False: isolated rings are components, dropped (and reported) below
        G = ox.simplify_graph(G, remove_rings=False)
    return prepare_graph(
        G, network_type, speeds=speeds, largest_component=largest_component, report=report
    )


def prepare_graph(
    G: nx.MultiDiGraph,
    network_type: str = "walk",
    speeds: dict[str, float] | float | None = None,
    *,
    largest_component: bool = True,
    report: NetworkReport | None = None,
) -> nx.MultiDiGraph:
    """Finish any osmnx-style graph: travel times, largest component, report.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        With ``length`` (metres) on every edge.
    network_type : {"walk", "drive"}
        Chooses the speed table.
    speeds : dict or float, optional
        Speed overrides, see :func:`add_travel_times`.
    largest_component : bool
        Keep only the largest strongly connected component; a warning is logged
        and the numbers are reported when anything is dropped.
    report : NetworkReport, optional
        Filled in and stored as ``G.graph["siting_report"]``.

    Returns
    -------
    networkx.MultiDiGraph
    """
    _check_network_type(network_type)
    report = report or NetworkReport(source=G.graph.get("created_with", "graph"), network_type=network_type)
    components = sorted(nx.strongly_connected_components(G), key=len, reverse=True)
    report.components = len(components)
    if largest_component and len(components) > 1:
        before_n, before_e = len(G), G.number_of_edges()
        G = G.subgraph(components[0]).copy()
        report.dropped_components = len(components) - 1
        report.dropped_nodes = before_n - len(G)
        report.dropped_edges = before_e - G.number_of_edges()
        logger.warning(
            "%s: kept the largest strongly connected component; dropped %d component(s) "
            "with %d node(s) and %d edge(s).",
            report.source, report.dropped_components, report.dropped_nodes, report.dropped_edges,
        )
    G = add_travel_times(G, network_type, speeds)
    report.nodes, report.edges = len(G), G.number_of_edges()
    G.graph[REPORT_KEY] = report
    G.graph["network_type"] = network_type
    clear_cache(G)
    return G


def _speed_table(network_type: str, speeds) -> dict[str, float]:
    table = dict(DEFAULT_SPEEDS[network_type])
    if isinstance(speeds, (int, float)):
        table = {"default": float(speeds)}
    elif speeds:
        table.update({k: float(v) for k, v in speeds.items()})
    if any(v <= 0 for v in table.values()):
        raise NetworkError(
            f"Speeds must be positive km/h, got {table}.",
            f"速度必须为正数（公里/小时），实际为 {table}。",
        )
    return table


def add_travel_times(
    G: nx.MultiDiGraph, network_type: str = "walk", speeds: dict[str, float] | float | None = None
) -> nx.MultiDiGraph:
    """Set ``speed_kph`` and ``travel_time`` (seconds) on every edge, in place.

    Parameters
    ----------
    G : networkx.MultiDiGraph
    network_type : {"walk", "drive"}
        Picks the defaults in :data:`DEFAULT_SPEEDS`.
    speeds : dict or float, optional
        km/h by highway class merged over the defaults (e.g. ``{"residential": 25}``),
        or one number for every class. Edges merged from several classes by
        simplification get the mean of their classes' speeds (as osmnx does).

    Returns
    -------
    networkx.MultiDiGraph
        The same graph.
    """
    table = _speed_table(network_type, speeds)

    def speed_of(highway) -> float:
        if isinstance(highway, list):
            return float(np.mean([speed_of(h) for h in highway]))
        if highway in table:
            return table[highway]
        if isinstance(highway, str) and highway.endswith("_link"):
            return table.get(highway[: -len("_link")], table["default"])
        return table["default"]

    for _, _, data in G.edges(data=True):
        kph = speed_of(data.get("highway"))
        data["speed_kph"] = kph
        data["travel_time"] = data["length"] / (kph / 3.6)
    return G


# ---------------------------------------------------------------------------- downloads


def _download(fetch, what: str, network_type, speeds, cache_folder, largest_component, **kwargs):
    import osmnx as ox
    import requests
    from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError

    _check_network_type(network_type)
    saved = (ox.settings.use_cache, ox.settings.cache_folder)
    ox.settings.use_cache = True
    if cache_folder is not None:
        ox.settings.cache_folder = str(cache_folder)
    hint_en = (
        " If you are offline or the Overpass API is unavailable, download an OSM extract "
        "(.osm or .osm.pbf, e.g. from Geofabrik) and use graph_from_file(path, clip=study_area)."
    )
    hint_zh = "如处于离线状态或 Overpass 服务不可用，请下载 OSM 数据文件（.osm 或 .osm.pbf，如 Geofabrik），并使用 graph_from_file(path, clip=研究区)。"
    try:
        G = fetch(network_type=_OSMNX_NETWORK_TYPE[network_type], simplify=True, retain_all=True, **kwargs)
    except (requests.RequestException, ResponseStatusCodeError, ConnectionError, TimeoutError) as exc:
        raise NetworkError(
            f"Could not download the road network for {what}: {exc}.{hint_en}",
            f"无法下载{what}的路网：{exc}。{hint_zh}",
        ) from exc
    except InsufficientResponseError as exc:
        raise NetworkError(
            f"OpenStreetMap returned no road data for {what}: {exc}.{hint_en}",
            f"OpenStreetMap 未返回{what}的道路数据：{exc}。{hint_zh}",
        ) from exc
    finally:
        ox.settings.use_cache, ox.settings.cache_folder = saved
    report = NetworkReport(source=f"osmnx download: {what}", network_type=network_type)
    return prepare_graph(G, network_type, speeds, largest_component=largest_component, report=report)


def graph_from_place(query, network_type: str = "walk", speeds=None, *, cache_folder=None, largest_component=True, **kwargs):
    """Download the road graph of a named place with osmnx (cache on).

    Parameters
    ----------
    query : str or dict
        A Nominatim query, e.g. ``"Lanshan District, Rizhao, Shandong, China"``.
    network_type, speeds, largest_component
        As in :func:`graph_from_file`.
    cache_folder : str or Path, optional
        osmnx's HTTP cache folder (default: ``osmnx.settings.cache_folder``).
    **kwargs
        Passed to ``osmnx.graph_from_place``.

    Raises
    ------
    NetworkError
        When offline, Overpass/Nominatim fails or returns nothing; the message points
        to :func:`graph_from_file`.
    """
    import osmnx as ox

    return _download(lambda **kw: ox.graph_from_place(query, **kw), f"place {query!r}", network_type, speeds, cache_folder, largest_component, **kwargs)


def graph_from_polygon(polygon, network_type: str = "walk", speeds=None, *, cache_folder=None, largest_component=True, **kwargs):
    """Download the road graph inside a shapely (Multi)Polygon in EPSG:4326; see :func:`graph_from_place`."""
    import osmnx as ox

    return _download(lambda **kw: ox.graph_from_polygon(polygon, **kw), "the polygon", network_type, speeds, cache_folder, largest_component, **kwargs)


def graph_from_bbox(bbox, network_type: str = "walk", speeds=None, *, cache_folder=None, largest_component=True, **kwargs):
    """Download the road graph in ``bbox = (west, south, east, north)`` degrees; see :func:`graph_from_place`."""
    import osmnx as ox

    return _download(lambda **kw: ox.graph_from_bbox(tuple(bbox), **kw), f"bbox {tuple(bbox)}", network_type, speeds, cache_folder, largest_component, **kwargs)


# ---------------------------------------------------------------------------- graph cache


class _GraphCache:
    """Arrays derived from a graph: node order, metric coordinates, KD-tree, CSR matrices.

    Lives in ``G.graph["siting_cache"]``; rebuilt when the node or edge count changes.
    Call :func:`clear_cache` after changing edge weights in place.
    """

    def __init__(self, G: nx.MultiDiGraph, crs):
        if len(G) == 0:
            raise NetworkError("The road graph is empty.", "路网为空。")
        self.signature = _signature(G)
        self.nodes = np.array(list(G.nodes))
        self.index = pd.Index(self.nodes)
        lon = np.fromiter((d["x"] for _, d in G.nodes(data=True)), dtype=float, count=len(G))
        lat = np.fromiter((d["y"] for _, d in G.nodes(data=True)), dtype=float, count=len(G))
        self.lonlat = np.column_stack([lon, lat])
        self.crs = CRS.from_user_input(crs) if crs is not None else _centre_crs(lon, lat)
        pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=WGS84).to_crs(self.crs)
        self.xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
        self.tree = cKDTree(self.xy)
        self.csr: dict[str, tuple[sparse.csr_array, sparse.csr_array]] = {}
        self.edge_lines = None

    def __repr__(self) -> str:  # graph attributes get stringified by osmnx.save_graphml
        return f"<siting network cache: {len(self.nodes)} nodes, {self.crs.to_string()}>"

    def matrices(self, G: nx.MultiDiGraph, weight: str):
        """(forward, transposed) CSR of the minimum ``weight`` over parallel edges."""
        if weight not in self.csr:
            u, v, w = self._edge_arrays(G, weight)
            loop = u == v  # a self-loop never shortens a path
            u, v, w = u[~loop], v[~loop], w[~loop]
            # sort by (u, v, w) and keep the first of each (u, v): the shortest parallel edge
            order = np.lexsort((w, v, u))
            u, v, w = u[order], v[order], w[order]
            first = np.ones(len(u), dtype=bool)
            first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
            n = len(self.nodes)
            # from (u, v) pairs sorted by u: explicit zero weights stay edges for csgraph
            fwd = _csr_from_sorted(u[first], v[first], w[first], (n, n))
            self.csr[weight] = (fwd, fwd.T.tocsr())
        return self.csr[weight]

    def _edge_arrays(self, G, weight):
        m = G.number_of_edges()
        try:
            w = np.fromiter((d[weight] for _, _, d in G.edges(data=True)), dtype=float, count=m)
        except KeyError:
            raise NetworkError(
                f"Some edges have no {weight!r} attribute; build the graph with siting.network "
                "(or call add_travel_times) first.",
                f"部分道路缺少 {weight!r} 属性；请先用 siting.network 构建路网（或调用 add_travel_times）。",
            ) from None
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise NetworkError(
                f"Edge attribute {weight!r} must be finite and non-negative.",
                f"道路属性 {weight!r} 必须为有限的非负数。",
            )
        u = self.index.get_indexer(np.fromiter((e[0] for e in G.edges), dtype=self.nodes.dtype, count=m))
        v = self.index.get_indexer(np.fromiter((e[1] for e in G.edges), dtype=self.nodes.dtype, count=m))
        return u.astype(np.int32), v.astype(np.int32), w

    def lines(self, G):
        """Every edge's metric LineString, oriented from u to v, with u/v positions."""
        if self.edge_lines is None:
            edges = list(G.edges(data="geometry"))
            u = self.index.get_indexer([e[0] for e in edges])
            v = self.index.get_indexer([e[1] for e in edges])
            geoms = np.array([e[2] for e in edges], dtype=object)
            has = np.array([g is not None for g in geoms], dtype=bool)
            lines = shapely.linestrings(np.stack([self.xy[u], self.xy[v]], axis=1))
            if has.any():
                curved = gpd.GeoSeries(geoms[has], crs=WGS84).to_crs(self.crs).to_numpy()
                # osmnx draws a reversed edge's geometry either way round: orient it from u
                start = shapely.get_point(curved, 0)
                end = shapely.get_point(curved, -1)
                ux = shapely.points(self.xy[u[has]])
                flip = shapely.distance(start, ux) > shapely.distance(end, ux)
                curved[flip] = shapely.reverse(curved[flip])
                lines[has] = curved
            self.edge_lines = (u, v, lines)
        return self.edge_lines


def _signature(G) -> tuple[int, int]:
    return (len(G), G.number_of_edges())


def _centre_crs(lon, lat) -> CRS:
    return metric_crs((lon.min() + lon.max()) / 2, (lat.min() + lat.max()) / 2)


def _csr_from_sorted(rows, cols, vals, shape) -> sparse.csr_array:
    """CSR from entries sorted by row, keeping explicit zeros (absent means unreachable)."""
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    idx_dtype = np.int32 if max(shape) < 2**31 and len(vals) < 2**31 else np.int64
    return sparse.csr_array(
        (np.asarray(vals, dtype=float), np.asarray(cols, dtype=idx_dtype), indptr.astype(idx_dtype)),
        shape=shape,
    )


def _cache(G: nx.MultiDiGraph, crs=None) -> _GraphCache:
    cache = G.graph.get(_CACHE_KEY)
    wanted = CRS.from_user_input(crs) if crs is not None else None
    if (
        not isinstance(cache, _GraphCache)
        or cache.signature != _signature(G)
        or (wanted is not None and wanted != cache.crs)
    ):
        cache = _GraphCache(G, crs)
        G.graph[_CACHE_KEY] = cache
    return cache


def clear_cache(G: nx.MultiDiGraph) -> None:
    """Forget the cached CSR matrices and coordinates (after editing the graph in place)."""
    G.graph.pop(_CACHE_KEY, None)


def graph_metric_crs(G: nx.MultiDiGraph) -> CRS:
    """The metric CRS used for the graph: :func:`siting.crs.metric_crs` at its centre."""
    return _cache(G).crs


# ---------------------------------------------------------------------------- snapping


@dataclass
class SnapResult:
    """Points matched to their nearest network node.

    Attributes
    ----------
    index : pandas.Index
        The input's index labels, in input order.
    node : numpy.ndarray
        Nearest node id per point (None for a missing or empty geometry).
    distance : numpy.ndarray
        Straight-line metres from the point (a polygon's representative point) to the
        node, in the graph's metric CRS; NaN for a missing geometry.
    max_distance : float
        Points farther than this are not snapped: they get no OD entries.
    crs : pyproj.CRS
        The metric CRS the distances were measured in.
    """

    index: pd.Index
    node: np.ndarray
    distance: np.ndarray
    max_distance: float
    crs: CRS

    def __len__(self) -> int:
        return len(self.index)

    @property
    def snapped(self) -> np.ndarray:
        """Boolean mask of points within ``max_distance`` of a node."""
        with np.errstate(invalid="ignore"):
            return self.distance <= self.max_distance

    @property
    def excluded(self) -> pd.DataFrame:
        """Points left out of reachability: position, index label and snap distance."""
        out = ~self.snapped
        return pd.DataFrame(
            {"position": np.flatnonzero(out), "index": self.index[out], "distance": self.distance[out]}
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per input point: node, distance, snapped."""
        return pd.DataFrame(
            {"node": self.node, "distance": self.distance, "snapped": self.snapped}, index=self.index
        )


def _as_geoseries(points) -> gpd.GeoSeries:
    if isinstance(points, gpd.GeoDataFrame):
        points = points.geometry
    if not isinstance(points, gpd.GeoSeries):
        points = gpd.GeoSeries(points)
    if points.crs is None:
        logger.warning("Points have no CRS; assuming EPSG:4326.")
        points = points.set_crs(WGS84)
    return points


def snap(G: nx.MultiDiGraph, points, max_distance: float = DEFAULT_MAX_SNAP, *, crs=None) -> SnapResult:
    """Match each point (or polygon) to its nearest network node.

    Parameters
    ----------
    G : networkx.MultiDiGraph
    points : GeoDataFrame or GeoSeries
        Points or polygons (in any CRS; EPSG:4326 assumed if unset). A polygon snaps
        from its representative point, which always lies inside it.
    max_distance : float
        Metres. Farther points are reported in ``SnapResult.excluded`` (and a warning
        is logged) and get no OD entries or service areas.
    crs : optional
        Metric CRS override (default: :func:`graph_metric_crs`).

    Returns
    -------
    SnapResult
    """
    cache = _cache(G, crs)
    geoms = _as_geoseries(points)
    metric = geoms.to_crs(cache.crs).to_numpy()
    missing = shapely.is_missing(metric) | shapely.is_empty(metric)
    is_point = shapely.get_type_id(metric) == 0
    pts = np.where(is_point | missing, metric, shapely.point_on_surface(np.where(missing, None, metric)))
    distance = np.full(len(metric), np.nan)
    node = np.empty(len(metric), dtype=object if missing.any() else cache.nodes.dtype)
    if missing.any():
        node[:] = None
    ok = ~missing
    if ok.any():
        xy = np.column_stack([shapely.get_x(pts[ok]), shapely.get_y(pts[ok])])
        distance[ok], pos = cache.tree.query(xy)
        node[ok] = cache.nodes[pos]
    result = SnapResult(geoms.index, node, distance, float(max_distance), cache.crs)
    n_out = int((~result.snapped).sum())
    if n_out:
        logger.warning(
            "%d of %d point(s) are farther than %.0f m from the network (or have no geometry) "
            "and are excluded from reachability.",
            n_out, len(result), max_distance,
        )
    return result


def _legs(G, points, weight: str, max_snap_distance: float, walk_speed: float, crs):
    """Snapped positions and snap-leg costs (in ``weight`` units) of the usable points."""
    if weight not in ("length", "travel_time"):
        raise NetworkError(
            f"weight must be 'length' or 'travel_time', got {weight!r}.",
            f"weight 必须为 'length' 或 'travel_time'，实际为 {weight!r}。",
        )
    result = points if isinstance(points, SnapResult) else snap(G, points, max_snap_distance, crs=crs)
    cache = _cache(G, crs)
    which = np.flatnonzero(result.snapped)
    pos = cache.index.get_indexer(result.node[which])
    if (pos < 0).any():
        raise NetworkError(
            "A SnapResult refers to nodes not in this graph: snap against the same graph.",
            "吸附结果中的节点不在此路网中：请对同一路网进行吸附。",
        )
    leg = result.distance[which]
    if weight == "travel_time":
        leg = leg / (walk_speed / 3.6)
    return result, which, pos, leg


# ---------------------------------------------------------------------------- OD matrices


def _groups(keys: np.ndarray, n_keys: int):
    """Members of each key as (order, starts, counts), for vectorised expansion."""
    order = np.argsort(keys, kind="stable")
    counts = np.bincount(keys, minlength=n_keys)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return order, starts, counts


def _expand(keys: np.ndarray, groups) -> tuple[np.ndarray, np.ndarray]:
    """For each entry of ``keys``, every member of its group: (entry, member) arrays."""
    order, starts, counts = groups
    n = counts[keys]
    entry = np.repeat(np.arange(len(keys)), n)
    offset = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    return entry, order[starts[keys][entry] + offset]


def _reach(csr, src_pos, src_leg, tgt_pos, tgt_leg, cutoff, chunk_bytes):
    """(source point, target point, total) triples with total <= cutoff.

    Dijkstra runs once per distinct source node, in chunks that bound scipy's dense
    (chunk x nodes) output to ``chunk_bytes``.
    """
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
    if len(src_pos) == 0 or len(tgt_pos) == 0:
        return empty
    usrc, s_key = np.unique(src_pos, return_inverse=True)
    utgt, t_key = np.unique(tgt_pos, return_inverse=True)
    s_groups, t_groups = _groups(s_key, len(usrc)), _groups(t_key, len(utgt))
    src_min = np.full(len(usrc), np.inf)
    np.minimum.at(src_min, s_key, src_leg)
    tgt_min = tgt_leg.min()
    n = csr.shape[0]
    chunk = int(max(1, min(MAX_CHUNK, chunk_bytes // (8 * n))))
    out = []
    for start in range(0, len(usrc), chunk):
        sl = slice(start, start + chunk)
        limit = cutoff - src_min[sl].min() - tgt_min
        if limit < 0:
            continue
        dist = dijkstra(csr, directed=True, indices=usrc[sl], limit=limit)[:, utgt]
        r, c = np.nonzero(dist <= limit)
        base = dist[r, c]
        del dist
        pair, t_pt = _expand(c, t_groups)
        r, base = r[pair] + start, base[pair] + tgt_leg[t_pt]
        pair, s_pt = _expand(r, s_groups)
        # same order as networkx users write it: snap leg + path + snap leg
        total = src_leg[s_pt] + base[pair]
        keep = total <= cutoff
        out.append((s_pt[keep], t_pt[pair][keep], total[keep]))
    if not out:
        return empty
    return tuple(np.concatenate(a) for a in zip(*out))


def od_matrix(
    G: nx.MultiDiGraph,
    origins,
    destinations,
    cutoff: float,
    weight: str = "length",
    *,
    max_snap_distance: float = DEFAULT_MAX_SNAP,
    walk_speed: float = WALK_SPEED_KMH,
    crs=None,
    chunk_bytes: int = CHUNK_BYTES,
) -> sparse.csr_array:
    """Network distances (or times) from every origin to every destination within a cutoff.

    Each total is ``origin snap leg + shortest path between the snapped nodes +
    destination snap leg``: the exact shortest path (equal to networkx's on the same
    graph; parallel edges count with their minimum weight) plus the straight-line legs.
    For ``weight="travel_time"`` the legs are walked at ``walk_speed``.

    Parameters
    ----------
    G : networkx.MultiDiGraph
    origins, destinations : GeoDataFrame, GeoSeries or SnapResult
        Geometries are snapped with :func:`snap` (``max_snap_distance``); points too far
        from the network get empty rows/columns.
    cutoff : float
        Largest total kept, in metres (``length``) or seconds (``travel_time``),
        snap legs included.
    weight : {"length", "travel_time"}
    max_snap_distance : float
        Metres, for snapping geometries.
    walk_speed : float
        km/h for the snap legs when ``weight="travel_time"``.
    crs : optional
        Metric CRS override for snapping.
    chunk_bytes : int
        Memory bound for one block of Dijkstra output.

    Returns
    -------
    scipy.sparse.csr_array
        Shape ``(len(origins), len(destinations))`` in input order. Stored entries are
        the reachable pairs; **absent means unreachable within the cutoff**, and a
        stored 0.0 (same node, zero snap legs) is an explicit zero that is kept: use
        ``.indices``/``.data`` or ``.nonzero()`` on ``M != M + 1``, never ``.toarray()``
        alone, to tell them apart. Arithmetic that prunes zeros (``eliminate_zeros``)
        loses them.

    Notes
    -----
    Dijkstra runs from whichever side has fewer distinct nodes (on the transposed graph
    when starting from destinations, so one-way streets are respected), with a
    limit of ``cutoff`` minus the smallest snap legs. The CSR matrices are cached in
    ``G.graph["siting_cache"]``.
    """
    if not cutoff >= 0:
        raise NetworkError(f"cutoff must be >= 0, got {cutoff}.", f"cutoff 必须大于等于 0，实际为 {cutoff}。")
    o_res, o_idx, o_pos, o_leg = _legs(G, origins, weight, max_snap_distance, walk_speed, crs)
    d_res, d_idx, d_pos, d_leg = _legs(G, destinations, weight, max_snap_distance, walk_speed, crs)
    fwd, rev = _cache(G, crs).matrices(G, weight)
    if len(np.unique(o_pos)) <= len(np.unique(d_pos)):
        s, t, total = _reach(fwd, o_pos, o_leg, d_pos, d_leg, cutoff, chunk_bytes)
        rows, cols = o_idx[s], d_idx[t]
    else:
        s, t, total = _reach(rev, d_pos, d_leg, o_pos, o_leg, cutoff, chunk_bytes)
        rows, cols = o_idx[t], d_idx[s]
    order = np.lexsort((cols, rows))
    return _csr_from_sorted(rows[order], cols[order], total[order], (len(o_res), len(d_res)))


# ---------------------------------------------------------------------------- service areas


def service_areas(
    G: nx.MultiDiGraph,
    facilities,
    thresholds,
    weight: str = "length",
    *,
    buffer: float = SERVICE_AREA_BUFFER,
    max_snap_distance: float = DEFAULT_MAX_SNAP,
    walk_speed: float = WALK_SPEED_KMH,
    crs=None,
) -> gpd.GeoDataFrame:
    """The area reachable from each facility within each threshold, one polygon each.

    The roads reached within ``threshold`` (minus the facility's snap leg), with edges
    reached part-way cut where the budget runs out, plus the snap leg, buffered by
    ``buffer`` metres in the metric CRS. Polygons are not merged across facilities.

    Parameters
    ----------
    G : networkx.MultiDiGraph
    facilities : GeoDataFrame, GeoSeries or SnapResult
    thresholds : float or sequence of float
        Metres for ``weight="length"`` (e.g. 300, 500, 1000), seconds for
        ``"travel_time"`` (e.g. 600, 900).
    weight : {"length", "travel_time"}
    buffer : float
        Metres either side of a reached road.
    max_snap_distance, walk_speed, crs
        As in :func:`od_matrix`.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, columns ``facility`` (index label), ``threshold``, ``weight``,
        ``snap_distance``, ``snapped``, ``geometry``; one row per facility and
        threshold. A facility beyond ``max_snap_distance`` gets empty polygons.
    """
    thresholds = sorted(np.atleast_1d(np.asarray(thresholds, dtype=float)).tolist())
    res, idx, pos, leg = _legs(G, facilities, weight, max_snap_distance, walk_speed, crs)
    cache = _cache(G, crs)
    fwd, _ = cache.matrices(G, weight)
    eu, ev, lines = cache.lines(G)
    w = cache._edge_arrays(G, weight)[2]
    snapped_at = dict(zip(idx.tolist(), zip(pos.tolist(), leg.tolist())))
    origin_pts = _as_geoseries(facilities).to_crs(cache.crs).to_numpy() if not isinstance(facilities, SnapResult) else None
    empty = shapely.Polygon()
    rows = []
    for i, label in enumerate(res.index):
        if i not in snapped_at:
            rows += [(label, t, weight, res.distance[i], False, empty) for t in thresholds]
            continue
        p, lg = snapped_at[i]
        node_pt = shapely.points(cache.xy[p])
        origin = node_pt if origin_pts is None else shapely.point_on_surface(origin_pts[i])
        dist = dijkstra(fwd, directed=True, indices=p, limit=max(thresholds[-1] - lg, 0.0))
        du_all = dist[eu]
        candidates = np.flatnonzero(np.isfinite(du_all))
        for t in thresholds:
            budget = t - lg
            if budget < 0:
                rows.append((label, t, weight, res.distance[i], True, empty))
                continue
            e = candidates[du_all[candidates] <= budget]
            with np.errstate(divide="ignore", invalid="ignore"):
                frac = np.where(w[e] > 0, (budget - du_all[e]) / w[e], 1.0)
            full = e[frac >= 1]
            part = e[frac < 1]
            pieces = list(lines[full])
            pieces += [substring(lines[k], 0, f, normalized=True) for k, f in zip(part, frac[frac < 1])]
            pieces.append(shapely.LineString([origin, node_pt]) if res.distance[i] > 0 else origin)
            area = shapely.buffer(shapely.GeometryCollection(pieces), buffer)
            rows.append((label, t, weight, res.distance[i], True, area))
    out = gpd.GeoDataFrame(
        rows, columns=["facility", "threshold", "weight", "snap_distance", "snapped", "geometry"], crs=cache.crs
    )
    return out.to_crs(WGS84)


# ---------------------------------------------------------------------------- synthetic grids


def grid_graph(
    rows: int,
    cols: int,
    spacing: float = 100.0,
    origin: tuple[float, float] = (119.45, 35.10),
    *,
    detour: float = 0.2,
    oneway_fraction: float = 0.0,
    parallel_fraction: float = 0.0,
    seed: int = 0,
) -> nx.MultiDiGraph:
    """An osmnx-style street grid for tests and benchmarks (not a real network).

    Parameters
    ----------
    rows, cols : int
        Grid size; node ids are ``row * cols + col``.
    spacing : float
        Metres between neighbours in the metric CRS at ``origin``.
    origin : (lon, lat)
        South-west corner, degrees.
    detour : float
        Each edge's ``length`` is its straight-line length times ``1 + detour * U(0, 1)``,
        so shortest paths are unique and never shorter than the crow flies.
    oneway_fraction : float
        Share of streets kept in one direction only.
    parallel_fraction : float
        Share of edges given a second, longer parallel edge.
    seed : int

    Returns
    -------
    networkx.MultiDiGraph
        EPSG:4326 ``x``/``y``, ``length`` (metres), ``highway`` and ``travel_time``.
    """
    rng = np.random.default_rng(seed)
    crs = metric_crs(*origin)
    x0, y0 = gpd.GeoSeries(gpd.points_from_xy([origin[0]], [origin[1]]), crs=WGS84).to_crs(crs).iloc[0].coords[0]
    jj, ii = np.meshgrid(np.arange(cols), np.arange(rows))
    mx, my = x0 + jj.ravel() * spacing, y0 + ii.ravel() * spacing
    ll = gpd.GeoSeries(gpd.points_from_xy(mx, my), crs=crs).to_crs(WGS84)
    ids = np.arange(rows * cols)
    horiz = np.column_stack([ids[(ids % cols) < cols - 1], ids[(ids % cols) < cols - 1] + 1])
    vert = np.column_stack([ids[ids < (rows - 1) * cols], ids[ids < (rows - 1) * cols] + cols])
    pairs = np.concatenate([horiz, vert])
    length = np.hypot(mx[pairs[:, 0]] - mx[pairs[:, 1]], my[pairs[:, 0]] - my[pairs[:, 1]])
    length = length * (1 + detour * rng.random(len(pairs)))
    classes = np.array(["primary", "secondary", "tertiary", "residential", "service"])
    highway = classes[rng.integers(0, len(classes), len(pairs))]
    oneway = rng.random(len(pairs)) < oneway_fraction
    G = nx.MultiDiGraph(crs="epsg:4326", created_with="siting.network.grid_graph")
    G.add_nodes_from((int(n), {"x": float(x), "y": float(y)}) for n, x, y in zip(ids, ll.x, ll.y))
    edges = []
    for (a, b), ln, hw, ow in zip(pairs.tolist(), length.tolist(), highway.tolist(), oneway.tolist()):
        edges.append((a, b, {"length": ln, "highway": hw, "oneway": ow}))
        if not ow:
            edges.append((b, a, {"length": ln, "highway": hw, "oneway": ow}))
    extra = rng.random(len(edges)) < parallel_fraction
    edges += [(a, b, {**d, "length": d["length"] * 1.5}) for (a, b, d), x in zip(edges, extra) if x]
    G.add_edges_from(edges)
    return add_travel_times(G, "drive")
