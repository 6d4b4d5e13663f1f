"""Shortest paths within a cutoff: OD matrices and service areas (scipy csgraph Dijkstra)."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from shapely.ops import substring

from siting.crs import WGS84, transform_geometries
from siting.errors import NetworkError
from siting.network.cache import graph_cache
from siting.network.settings import (
    CHUNK_BYTES,
    DEFAULT_MAX_SNAP,
    MAX_CHUNK,
    SERVICE_AREA_BUFFER,
    WALK_SPEED_KMH,
)
from siting.network.snapping import SnapResult, _as_geoseries, _legs

__all__ = ["od_matrix", "service_areas"]


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


def _reach(csr, src, src_leg, tgt, tgt_leg, cutoff, chunk_bytes):
    """(source point, target point, total) triples with total <= cutoff.

    ``src`` and ``tgt`` are ``np.unique(positions, return_inverse=True)`` of the
    points' nodes. Dijkstra runs once per distinct source node, in chunks that bound
    scipy's dense (chunk x nodes) output to ``chunk_bytes``.
    """
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
    (usrc, s_key), (utgt, t_key) = src, tgt
    if len(s_key) == 0 or len(t_key) == 0:
        return empty
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
        the reachable pairs; **absent means unreachable within the cutoff**. A total of
        exactly 0 (same node, zero snap legs) is stored as an explicit zero, so read
        entries with ``M.tocoo()`` (``row``, ``col``, ``data``) or ``M.indptr``/``M.indices``
        rather than ``M.toarray()``, which shows absent pairs as 0 too. Operations that
        prune zeros (``eliminate_zeros``, some arithmetic) drop them.

    Notes
    -----
    Dijkstra runs from whichever side has fewer distinct nodes (on the transposed graph
    when starting from destinations, so one-way streets are respected), with a
    limit of ``cutoff`` minus the smallest snap legs. The CSR matrices, projected node
    coordinates and KD-tree are cached in ``G.graph["siting_cache"]``. Graphs built by
    :mod:`siting.network` get their edge arrays in the same pass that sets travel
    times; any other osmnx graph pays one pass over its adjacency on the first call
    (about 0.4 s per million edges). Call :func:`clear_cache` after editing edge
    weights in place.
    """
    if not cutoff >= 0:
        raise NetworkError(f"cutoff must be >= 0, got {cutoff}.", f"cutoff 必须大于等于 0，实际为 {cutoff}。")
    cache = graph_cache(G, crs)
    o_res, o_idx, o_pos, o_leg = _legs(cache, origins, weight, max_snap_distance, walk_speed)
    d_res, d_idx, d_pos, d_leg = _legs(cache, destinations, weight, max_snap_distance, walk_speed)
    o_nodes = np.unique(o_pos, return_inverse=True)
    d_nodes = np.unique(d_pos, return_inverse=True)
    if len(o_nodes[0]) <= len(d_nodes[0]):
        s, t, total = _reach(cache.matrix(G, weight), o_nodes, o_leg, d_nodes, d_leg, cutoff, chunk_bytes)
        rows, cols = o_idx[s], d_idx[t]
    else:
        s, t, total = _reach(
            cache.matrix(G, weight, transposed=True), d_nodes, d_leg, o_nodes, o_leg, cutoff, chunk_bytes
        )
        rows, cols = o_idx[t], d_idx[s]
    # (row, col) pairs are unique, so nothing is summed; scipy keeps explicit zeros here
    out = sparse.coo_array((total, (rows, cols)), shape=(len(o_res), len(d_res))).tocsr()
    out.sort_indices()
    return out


# ---------------------------------------------------------------------------- service areas


def _buffer_network(pieces, buffer: float):
    """The area within ``buffer`` of some road pieces.

    Buffering thousands of short segments is what makes service areas slow on an unsimplified
    graph; merging them into long lines first gives the same area (up to the arc approximation
    of the ends) in a fraction of the time.
    """
    lines = [g for g in pieces if g.geom_type in ("LineString", "MultiLineString")]
    points = [g for g in pieces if g.geom_type == "Point"]
    merged = list(shapely.get_parts(shapely.line_merge(shapely.union_all(lines)))) if lines else []
    # One buffer per merged line, then a dissolve, is far faster in GEOS than one buffer of them all.
    return shapely.union_all(shapely.buffer(np.array(merged + points, dtype=object), buffer, quad_segs=4))


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
    cache = graph_cache(G, crs)
    res, idx, pos, leg = _legs(cache, facilities, weight, max_snap_distance, walk_speed)
    fwd = cache.matrix(G, weight)
    eu, _, lines = cache.lines(G)
    w = cache.edge_weights(G, weight)
    snapped_at = dict(zip(idx.tolist(), zip(pos.tolist(), leg.tolist())))
    if isinstance(facilities, SnapResult):
        origin_pts = None
    else:
        points = _as_geoseries(facilities)
        origin_pts = transform_geometries(points.to_numpy(), points.crs, cache.crs)
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
            area = _buffer_network(pieces, buffer)
            rows.append((label, t, weight, res.distance[i], True, area))
    out = gpd.GeoDataFrame(
        rows, columns=["facility", "threshold", "weight", "snap_distance", "snapped", "geometry"], crs=cache.crs
    )
    return out.to_crs(WGS84)
