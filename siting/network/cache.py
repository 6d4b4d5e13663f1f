"""Arrays derived from a graph (node order, metric coordinates, KD-tree, CSR), cached on it."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy import sparse
from scipy.spatial import cKDTree

from siting.crs import WGS84, metric_crs
from siting.errors import NetworkError
from siting.network.settings import _CACHE_KEY

__all__ = ["graph_cache", "clear_cache", "graph_metric_crs"]


class _GraphCache:
    """Arrays derived from a graph: node order, metric coordinates, KD-tree, CSR matrices.

    Lives in ``G.graph["siting_cache"]``; rebuilt when the number of nodes or of
    connected node pairs changes. Call :func:`clear_cache` after changing edge weights
    or adding parallel edges in place.
    """

    def __init__(self, G: nx.MultiDiGraph, crs):
        if len(G) == 0:
            raise NetworkError("The road graph is empty.", "路网为空。")
        self.signature = _signature(G)
        self.nodes = np.array(list(G.nodes))
        self.index = pd.Index(self.nodes)
        self.position = {n: i for i, n in enumerate(G.nodes)}
        lon = np.fromiter((d["x"] for d in G._node.values()), dtype=float, count=len(G))
        lat = np.fromiter((d["y"] for d in G._node.values()), dtype=float, count=len(G))
        self.crs = CRS.from_user_input(crs) if crs is not None else _centre_crs(lon, lat)
        x, y = Transformer.from_crs(WGS84, self.crs, always_xy=True).transform(lon, lat)
        self.xy = np.column_stack([x, y])
        self.tree = cKDTree(self.xy)
        self.csr: dict[str, tuple[sparse.csr_array, sparse.csr_array]] = {}
        self.edge_lines = None

    def __repr__(self) -> str:  # graph attributes get stringified by osmnx.save_graphml
        return f"<siting network cache: {len(self.nodes)} nodes, {self.crs.to_string()}>"

    def matrices(self, G: nx.MultiDiGraph, weight: str):
        """(forward, transposed) CSR of the minimum ``weight`` over parallel edges."""
        if weight not in self.csr:
            u, v, w = self.edge_arrays(G, weight)
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

    def edge_arrays(self, G, weight):
        """u, v positions and ``weight`` of every edge, in ``G.edges`` order."""
        pos = self.position
        u, v, w = [], [], []
        # straight over the adjacency dicts: networkx's edge views cost ~1 µs per edge more
        for a, nbrs in G._adj.items():
            for b, keyed in nbrs.items():
                for d in keyed.values():
                    u.append(pos[a])
                    v.append(pos[b])
                    w.append(d.get(weight))
        if any(x is None for x in w):
            raise NetworkError(
                f"Some edges have no {weight!r} attribute; build the graph with siting.network "
                "(or call add_travel_times) first.",
                f"部分道路缺少 {weight!r} 属性；请先用 siting.network 构建路网（或调用 add_travel_times）。",
            )
        w = np.asarray(w, dtype=float)
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise NetworkError(
                f"Edge attribute {weight!r} must be finite and non-negative.",
                f"道路属性 {weight!r} 必须为有限的非负数。",
            )
        return np.asarray(u, dtype=np.int32), np.asarray(v, dtype=np.int32), w

    def lines(self, G):
        """Every edge's metric LineString, oriented from u to v, with u/v positions."""
        if self.edge_lines is None:
            edges = list(G.edges(data="geometry"))  # same order as _edge_arrays
            u = np.array([self.position[e[0]] for e in edges], dtype=np.int64)
            v = np.array([self.position[e[1]] for e in edges], dtype=np.int64)
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
    # nodes and adjacent pairs: G.number_of_edges() walks every multi-edge in Python
    # (0.3 s at 800k edges), too slow to check on each call
    return (len(G), sum(map(len, G._adj.values())))


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


def graph_cache(G: nx.MultiDiGraph, crs=None) -> _GraphCache:
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
    return graph_cache(G).crs
