"""Road graphs from OSM extracts (.osm XML or .osm.pbf, read with pyosmium), offline."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from siting.crs import WGS84, metric_crs
from siting.errors import NetworkError
from siting.network.cache import clear_cache, graph_cache
from siting.network.settings import (
    _ALLOWED_VALUES,
    _EXCLUDE_HIGHWAY,
    _EXCLUDE_TAGS,
    _ONEWAY_VALUES,
    _REVERSED_VALUES,
    DEFAULT_BUFFER,
    DEFAULT_SPEEDS,
    NETWORK_TYPES,
    REPORT_KEY,
)

__all__ = ["NetworkReport", "graph_from_file", "prepare_graph", "add_travel_times"]

logger = logging.getLogger(__name__)


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
    clear_cache(G)
    G = add_travel_times(G, network_type, speeds)
    report.nodes, report.edges = len(G), G.number_of_edges()
    G.graph[REPORT_KEY] = report
    G.graph["network_type"] = network_type
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

    The same pass stores both weights in the graph's cache (see
    :func:`siting.network.od_matrix`), so graphs built by siting are ready to route.

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

    def visit(data: dict) -> dict:
        kph = speed_of(data.get("highway"))
        data["speed_kph"] = kph
        data["travel_time"] = data["length"] / (kph / 3.6)
        return data

    if len(G) == 0:
        return G
    # the same pass fills the graph's cache, so od_matrix needs no walk of its own
    try:
        graph_cache(G).walk(G, ("length", "travel_time"), visit=visit)
    except KeyError as exc:
        raise NetworkError(
            "Some edges have no 'length' (metres): add it first, e.g. with osmnx.distance.add_edge_lengths.",
            "部分道路缺少 'length'（米）：请先添加，例如使用 osmnx.distance.add_edge_lengths。",
        ) from exc
    return G
