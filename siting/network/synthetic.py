"""Generated street grids for tests and benchmarks."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np

from siting.crs import WGS84, metric_crs
from siting.network.build import add_travel_times

__all__ = ["grid_graph"]


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
