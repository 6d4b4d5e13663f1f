"""The roads as lines for drawing: each street once, with its highway class."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from siting.crs import WGS84
from siting.network.cache import graph_cache

__all__ = ["road_class", "road_lines"]


def road_class(data: dict) -> str:
    """The OSM highway class of an edge (the first one when osmnx merged several)."""
    hw = data.get("highway", "")
    return str(hw[0] if isinstance(hw, list) and hw else hw)


def road_lines(G: nx.MultiDiGraph) -> gpd.GeoDataFrame:
    """One EPSG:4326 line per connected node pair, a two-way street once, with ``highway``.

    Edges without a ``geometry`` are drawn straight between their nodes. Computed once per
    graph and cached with its other arrays (see :func:`siting.network.od_matrix`); maps of a
    run draw the same roads many times.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``u``, ``v``, ``highway``, ``geometry``, in the graph's edge order.
    """
    cache = graph_cache(G)
    if cache.road_lines is None:
        us, vs, classes, geoms = [], [], [], []
        seen = set()
        for u, v, data in G.edges(data=True):
            key = (min(u, v), max(u, v))
            if key in seen:
                continue
            seen.add(key)
            us.append(u)
            vs.append(v)
            classes.append(road_class(data))
            geoms.append(data.get("geometry"))
        geoms = _objects(geoms)
        straight = np.flatnonzero([g is None for g in geoms])
        if len(straight):
            node = G._node
            ends = np.array([[(node[us[i]]["x"], node[us[i]]["y"]), (node[vs[i]]["x"], node[vs[i]]["y"])]
                             for i in straight], dtype=float)
            geoms[straight] = shapely.linestrings(ends)
        cache.road_lines = gpd.GeoDataFrame({"u": us, "v": vs, "highway": classes}, geometry=list(geoms), crs=WGS84)
    return cache.road_lines


def _objects(items: list) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out
