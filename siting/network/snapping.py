"""Points and polygons to their nearest network node, with a KD-tree in metres."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from siting.crs import WGS84, transform_geometries
from siting.errors import NetworkError
from siting.network.cache import _GraphCache, graph_cache
from siting.network.settings import DEFAULT_MAX_SNAP

__all__ = ["SnapResult", "snap"]

logger = logging.getLogger(__name__)


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


def snap(
    G: nx.MultiDiGraph, points, max_distance: float = DEFAULT_MAX_SNAP, *, entrances=None, crs=None
) -> SnapResult:
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
    entrances : GeoDataFrame or GeoSeries of points, optional
        Gates of walled compounds: each entrance's index label names the row of
        ``points`` it belongs to (several per row allowed). A row with entrances snaps
        from whichever of its entrances is nearest to a node, so a compound is not
        joined to the road behind its wall; the distance is measured from that gate.
    crs : optional
        Metric CRS override (default: :func:`graph_metric_crs`).

    Returns
    -------
    SnapResult
    """
    return _snap(graph_cache(G, crs), points, max_distance, entrances)


def _nearest(cache: _GraphCache, geoms: gpd.GeoSeries):
    """Nearest node id and straight-line metres for each geometry (None/NaN if missing)."""
    metric = transform_geometries(geoms.to_numpy(), geoms.crs, cache.crs)
    missing = shapely.is_missing(metric) | shapely.is_empty(metric)
    pts = metric.copy()
    other = ~missing & (shapely.get_type_id(metric) != 0)
    if other.any():
        pts[other] = shapely.point_on_surface(metric[other])
    distance = np.full(len(metric), np.nan)
    node = np.empty(len(metric), dtype=object if missing.any() else cache.nodes.dtype)
    if missing.any():
        node[:] = None
    ok = ~missing
    if ok.any():
        xy = np.column_stack([shapely.get_x(pts[ok]), shapely.get_y(pts[ok])])
        distance[ok], pos = cache.tree.query(xy)
        node[ok] = cache.nodes[pos]
    return node, distance


def _snap(cache: _GraphCache, points, max_distance: float, entrances=None) -> SnapResult:
    geoms = _as_geoseries(points)
    node, distance = _nearest(cache, geoms)
    if entrances is not None:
        gates = _as_geoseries(entrances)
        if not geoms.index.is_unique:
            raise NetworkError(
                "Entrances refer to rows by index label, but the points' index has duplicates.",
                "出入口按索引标签对应要素，但要素索引存在重复值。",
            )
        g_node, g_dist = _nearest(cache, gates)
        row = geoms.index.get_indexer(gates.index)
        if (row < 0).any():
            logger.warning("%d entrance(s) name no row of the points and are ignored.", int((row < 0).sum()))
        if node.dtype != g_node.dtype:
            node = node.astype(object)
        # farthest gate first, so each row ends with its nearest gate
        for k in np.argsort(-np.nan_to_num(g_dist, nan=np.inf), kind="stable"):
            if row[k] >= 0 and np.isfinite(g_dist[k]):
                node[row[k]], distance[row[k]] = g_node[k], g_dist[k]
    result = SnapResult(geoms.index, node, distance, float(max_distance), cache.crs)
    n_out = int((~result.snapped).sum())
    if n_out:
        logger.warning(
            "%d of %d point(s) are farther than %.0f m from the network (or have no geometry) "
            "and are excluded from reachability.",
            n_out, len(result), max_distance,
        )
    return result


def _legs(cache: _GraphCache, points, weight: str, max_snap_distance: float, walk_speed: float):
    """Snapped positions and snap-leg costs (in ``weight`` units) of the usable points."""
    if weight not in ("length", "travel_time"):
        raise NetworkError(
            f"weight must be 'length' or 'travel_time', got {weight!r}.",
            f"weight 必须为 'length' 或 'travel_time'，实际为 {weight!r}。",
        )
    result = points if isinstance(points, SnapResult) else _snap(cache, points, max_snap_distance)
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
