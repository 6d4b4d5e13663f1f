"""Arrays derived from a graph (node order, metric coordinates, KD-tree, CSR), cached on it."""

from __future__ import annotations

import weakref
from operator import itemgetter

import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy import sparse
from scipy.spatial import cKDTree

from siting.crs import WGS84, metric_crs, transform_geometries, transformer
from siting.errors import NetworkError
from siting.network.settings import _CACHE_KEY

__all__ = ["graph_cache", "clear_cache", "graph_metric_crs"]


class _GraphCache:
    """Arrays derived from a graph: node order, metric coordinates, KD-tree, CSR matrices.

    Lives in ``G.graph["siting_cache"]``; rebuilt when the number of nodes or of
    connected node pairs changes. Call :func:`clear_cache` after changing edge weights
    or adding parallel edges in place (:func:`add_travel_times` refreshes it itself).
    Coordinates and the KD-tree are computed on first use, the edge arrays by one walk
    over the adjacency (shared with :func:`add_travel_times` on graphs siting builds).
    """

    def __init__(self, G: nx.MultiDiGraph, crs=None):
        if len(G) == 0:
            raise NetworkError("The road graph is empty.", "路网为空。")
        self.signature = _signature(G)
        self.nodes = np.array(list(G._node))
        self.index = pd.Index(self.nodes)
        self.position = dict(zip(G._node, range(len(G))))
        self._crs = CRS.from_user_input(crs) if crs is not None else None
        self._xy = self._tree = None
        self._pairs = None  # (u, v, parallel-edge count) per connected node pair, adjacency order
        self.weights: dict[str, np.ndarray] = {}  # per edge, in G.edges order
        self.csr: dict[str, sparse.csr_array] = {}
        self.csr_t: dict[str, sparse.csr_array] = {}
        self.edge_lines = None
        self.road_lines = None  # siting.network.lines.road_lines
        self._graph = weakref.ref(G)  # coordinates are read lazily; a weak reference avoids a cycle through G.graph

    def __repr__(self) -> str:  # graph attributes get stringified by osmnx.save_graphml
        return f"<siting network cache: {len(self.nodes)} nodes>"

    def __getstate__(self):  # a pickled graph carries no cache worth trusting: rebuilt on use
        return {k: v for k, v in self.__dict__.items() if k != "_graph"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._graph = _orphan

    # ---------------------------------------------------------------- coordinates

    @property
    def crs(self) -> CRS:
        if self._crs is None:
            self._locate()
        return self._crs

    @property
    def xy(self) -> np.ndarray:
        if self._xy is None:
            self._locate()
        return self._xy

    @property
    def tree(self) -> cKDTree:
        if self._tree is None:
            # unbalanced: a third faster to build, and queries are a few thousand points
            self._tree = cKDTree(self.xy, balanced_tree=False)
        return self._tree

    def use_crs(self, crs) -> None:
        """Measure in ``crs`` from now on (drops the projected coordinates)."""
        self._crs = CRS.from_user_input(crs)
        self._xy = self._tree = self.edge_lines = None

    def _locate(self) -> None:
        values = self._graph()._node.values()
        try:
            lon = np.fromiter(map(itemgetter("x"), values), dtype=float, count=len(self.nodes))
            lat = np.fromiter(map(itemgetter("y"), values), dtype=float, count=len(self.nodes))
        except (KeyError, TypeError, ValueError) as exc:
            raise NetworkError(
                "Every node needs numeric 'x' and 'y' (longitude and latitude, EPSG:4326), "
                "as osmnx graphs have.",
                "每个节点都需要数值型的 'x' 和 'y'（经纬度，EPSG:4326），与 osmnx 路网一致。",
            ) from exc
        if self._crs is None:
            self._crs = _centre_crs(lon, lat)
        x, y = transformer(WGS84, self._crs).transform(lon, lat)
        self._xy = np.column_stack([x, y])

    # ---------------------------------------------------------------- edges

    def walk(self, G: nx.MultiDiGraph, weights, visit=None) -> None:
        """Read the pair structure and each of ``weights`` for every edge, in one pass.

        ``visit(data) -> data`` is called on each edge's attribute dict first (so a
        caller that sets attributes, like :func:`add_travel_times`, shares the pass).
        """
        counts, targets, multi = [], [], []
        columns = {w: [] for w in weights}
        getters = [(columns[w].extend, itemgetter(w)) for w in weights]
        for nbrs in G._adj.values():
            counts.append(len(nbrs))
            targets.extend(nbrs)
            for keyed in nbrs.values():
                multi.append(len(keyed))
                edges = keyed.values() if visit is None else list(map(visit, keyed.values()))
                for extend, get in getters:
                    extend(map(get, edges))
        pos = self.position
        u = np.fromiter(map(pos.__getitem__, G._adj), dtype=np.int64, count=len(counts))
        pairs = (
            np.repeat(u, counts),
            np.fromiter(map(pos.__getitem__, targets), dtype=np.int64, count=len(targets)),
            np.asarray(multi, dtype=np.int64),
        )
        if self._pairs is None or not all(np.array_equal(a, b) for a, b in zip(self._pairs, pairs)):
            # edges moved without changing the counts: nothing read before still lines up
            self.weights.clear()
            self.csr.clear()
            self.csr_t.clear()
            self.edge_lines = self.road_lines = None
        self._pairs = pairs
        for w, values in columns.items():
            self.weights[w] = _as_weights(values, w)
            self.csr.pop(w, None)
            self.csr_t.pop(w, None)

    def edge_weights(self, G, weight) -> np.ndarray:
        """``weight`` of every edge, in ``G.edges`` order (read on first use)."""
        if weight not in self.weights:
            try:
                self.walk(G, (weight,))
            except KeyError as exc:
                raise _missing(weight) from exc
        return self.weights[weight]

    def edge_arrays(self, G, weight):
        """u, v positions and ``weight`` of every edge, in ``G.edges`` order."""
        w = self.edge_weights(G, weight)
        u, v, multi = self._pairs
        return np.repeat(u, multi), np.repeat(v, multi), w

    def matrix(self, G: nx.MultiDiGraph, weight: str, transposed: bool = False) -> sparse.csr_array:
        """CSR of the minimum ``weight`` over parallel edges (or its transpose)."""
        if weight not in self.csr:
            w = self.edge_weights(G, weight)
            u, v, multi = self._pairs
            if len(multi) and multi.max() > 1:
                w = np.minimum.reduceat(w, np.cumsum(multi) - multi)
            keep = u != v  # a self-loop never shortens a path
            u, v, w = u[keep], v[keep], w[keep]
            if len(u) > 1 and np.any(u[1:] < u[:-1]):
                order = np.argsort(u, kind="stable")
                u, v, w = u[order], v[order], w[order]
            # explicit zero weights stay edges for csgraph
            self.csr[weight] = _csr_from_sorted(u, v, w, (len(self.nodes),) * 2)
        if not transposed:
            return self.csr[weight]
        if weight not in self.csr_t:
            self.csr_t[weight] = self.csr[weight].T.tocsr()
        return self.csr_t[weight]

    def lines(self, G):
        """Every edge's metric LineString, oriented from u to v, with u/v positions."""
        if self.edge_lines is None:
            edges = list(G.edges(data="geometry"))  # same order as edge_arrays
            u = np.array([self.position[e[0]] for e in edges], dtype=np.int64)
            v = np.array([self.position[e[1]] for e in edges], dtype=np.int64)
            geoms = np.array([e[2] for e in edges], dtype=object)
            has = np.array([g is not None for g in geoms], dtype=bool)
            lines = shapely.linestrings(np.stack([self.xy[u], self.xy[v]], axis=1))
            if has.any():
                curved = transform_geometries(geoms[has], WGS84, self.crs)
                # osmnx draws a reversed edge's geometry either way round: orient it from u
                start = shapely.get_point(curved, 0)
                end = shapely.get_point(curved, -1)
                ux = shapely.points(self.xy[u[has]])
                flip = shapely.distance(start, ux) > shapely.distance(end, ux)
                curved[flip] = shapely.reverse(curved[flip])
                lines[has] = curved
            self.edge_lines = (u, v, lines)
        return self.edge_lines


def _orphan():
    return None


def _missing(weight: str) -> NetworkError:
    return NetworkError(
        f"Some edges have no {weight!r} attribute; build the graph with siting.network "
        "(or call add_travel_times) first.",
        f"部分道路缺少 {weight!r} 属性；请先用 siting.network 构建路网（或调用 add_travel_times）。",
    )


def _as_weights(values: list, weight: str) -> np.ndarray:
    try:
        w = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:  # None or text among the values
        raise _missing(weight) from exc
    if w.ndim != 1 or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise NetworkError(
            f"Edge attribute {weight!r} must be finite and non-negative.",
            f"道路属性 {weight!r} 必须为有限的非负数。",
        )
    return w


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
    if not isinstance(cache, _GraphCache) or cache.signature != _signature(G) or cache._graph() is not G:
        cache = _GraphCache(G, crs)
        G.graph[_CACHE_KEY] = cache
    elif crs is not None and (cache._crs is None or CRS.from_user_input(crs) != cache._crs):
        cache.use_crs(crs)  # before projecting anything in a CRS nobody asked for
    return cache


def clear_cache(G: nx.MultiDiGraph) -> None:
    """Forget the cached CSR matrices and coordinates (after editing the graph in place)."""
    G.graph.pop(_CACHE_KEY, None)


def graph_metric_crs(G: nx.MultiDiGraph) -> CRS:
    """The metric CRS used for the graph: :func:`siting.crs.metric_crs` at its centre."""
    return graph_cache(G).crs
