"""The road network: build it, snap points to it, and measure access along it.

Graphs are osmnx-style ``networkx.MultiDiGraph`` objects in EPSG:4326 (node ``x``/``y``
in degrees, edge ``length`` in metres), so the rest of the project can store and map
them. Everything metric (snapping, buffering) happens on a projected copy of the node
coordinates in :func:`siting.crs.metric_crs` of the graph's centre, cached on the graph.

Shortest paths run on a CSR matrix with ``scipy.sparse.csgraph.dijkstra`` (exact, with
a cutoff), never in a Python loop of networkx calls.
"""

from siting.network.access import od_matrix, service_areas
from siting.network.build import (
    NetworkReport,
    add_travel_times,
    graph_from_file,
    prepare_graph,
)
from siting.network.cache import clear_cache, graph_metric_crs
from siting.network.download import (
    graph_from_bbox,
    graph_from_place,
    graph_from_polygon,
)
from siting.network.lines import road_class, road_lines
from siting.network.settings import (
    DEFAULT_BUFFER,
    DEFAULT_MAX_SNAP,
    DEFAULT_SPEEDS,
    NETWORK_TYPES,
    SERVICE_AREA_BUFFER,
    WALK_SPEED_KMH,
)
from siting.network.snapping import SnapResult, snap
from siting.network.synthetic import grid_graph

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
    "road_class",
    "road_lines",
    "grid_graph",
]
