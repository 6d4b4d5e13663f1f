"""Optimise stage: candidate sites, scenarios and the proposed nurseries or 托班.

Demand is what the audit left unmet: each compound's places required minus the places allocated
to it from existing facilities. Candidates are idle or inefficient parcels big enough for a
nursery, kindergartens without 托班, township health centres, and optional generated points from
clustering unmet demand. A candidate reaches a compound when it lies within that compound's own
catchment along roads (street / town / village), so costs are expressed as a share of the
catchment and one model covers all three kinds at once (service distance 1.0).

The default model is the capacitated MCLP: maximise the unmet places actually served, each new
site serving at most its places. ``optimize.model = "coverage"`` uses the plain MCLP instead.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from .audit import AuditResult
from .config import Config
from .crs import WGS84
from .models import MCLP, CapacitatedMCLP
from .network import od_matrix

__all__ = ["OptimizeResult", "candidate_sites", "unmet_demand", "cost_matrix", "optimize", "write_optimize"]

log = logging.getLogger(__name__)

KIND_LABELS = {"parcel": "闲置/低效用地新建", "kindergarten": "幼儿园开设托班", "health": "卫生院嵌入托育",
               "generated": "需求聚类点（需落实用地）"}


@dataclass
class OptimizeResult:
    """Proposed sites (ranked), all candidates, the coverage curve and the model's own result."""

    sites: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    curve: pd.DataFrame
    demand: gpd.GeoDataFrame
    model: object
    scenario: dict


def unmet_demand(result: AuditResult) -> gpd.GeoDataFrame:
    """Compounds with places still required after existing facilities, with ``unmet`` places."""
    c = result.compounds
    unmet = (c["places_required"] - c["places_served"]).clip(lower=0)
    out = c.assign(unmet=unmet)
    return out[out["unmet"] > 1e-6]


def _site(kind, source_id, name, township, classes, geometry, config: Config, area=np.nan, land_use=None):
    per_class = {"parcel": "optimize.cost_per_class_parcel", "generated": "optimize.cost_per_class_parcel",
                 "kindergarten": "optimize.cost_per_class_kindergarten", "health": "optimize.cost_per_class_health"}
    cost = classes * config[per_class[kind]]
    subsidy = classes * config["policy.start_up_subsidy_per_class"]
    return {"id": f"{kind[0].upper()}:{source_id}", "kind": kind, "kind_label": KIND_LABELS[kind], "source_id": source_id,
            "name": name, "township": township, "area": area, "land_use": land_use, "classes": int(classes),
            "places": int(classes * config["optimize.class_size"]), "cost": float(cost), "subsidy": float(subsidy),
            "net_cost": float(cost - subsidy), "geometry": geometry}


def candidate_sites(project, result: AuditResult | None = None, config: Config | None = None) -> gpd.GeoDataFrame:
    """Every candidate site with its kind, proposed classes and places, cost and subsidy (points, EPSG:4326)."""
    config = config or project.config
    rows = []
    min_area, per_class = config["optimize.min_parcel_area"], config["optimize.area_per_class"]
    parcels = project.parcels
    for r in parcels.sort_values("id").itertuples():
        if r.status not in (None, "idle", "inefficient") or not (r.area >= min_area):
            continue
        classes = min(int(config["optimize.classes_per_site"]), int(r.area // per_class))
        if classes >= 1:
            rows.append(_site("parcel", r.id, r.land_use or r.id, r.township, classes, r.geometry.representative_point(),
                              config, area=float(r.area), land_use=r.land_use))
    cc = project.childcare
    no_tuoban = cc[(cc["kind"] == "kindergarten") & (cc["classes"].fillna(0) == 0)].sort_values("id")
    for r in no_tuoban.itertuples():
        rows.append(_site("kindergarten", r.id, r.name, r.township, int(config["optimize.kindergarten_new_classes"]),
                          r.geometry, config))
    hc = project.health[project.health["kind"].isin(["township_health_centre", "community_health_centre"])].sort_values("id")
    for r in hc.itertuples():
        rows.append(_site("health", r.id, r.name, r.township, int(config["optimize.health_new_classes"]), r.geometry, config))
    k = int(config["optimize.generated_candidates"])
    if k > 0 and result is not None:
        rows += _generated(project, unmet_demand(result), k, config)
    cols = ["id", "kind", "kind_label", "source_id", "name", "township", "area", "land_use", "classes", "places", "cost",
            "subsidy", "net_cost", "geometry"]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry="geometry", crs=WGS84)


def _generated(project, demand: gpd.GeoDataFrame, k: int, config: Config) -> list[dict]:
    """K-means centres of unmet demand (weighted by unmet places), moved to the nearest road node."""
    from sklearn.cluster import KMeans

    if len(demand) == 0:
        return []
    k = min(k, len(demand))
    pts = demand.geometry.representative_point().to_crs(project.crs)
    xy = np.column_stack([pts.x, pts.y])
    km = KMeans(n_clusters=k, n_init=10, random_state=0).fit(xy, sample_weight=demand["unmet"].to_numpy())
    graph = project.roads if project.roads is not None else project.network("walk")
    nodes = gpd.GeoSeries(gpd.points_from_xy([d["x"] for _, d in graph.nodes(data=True)],
                                             [d["y"] for _, d in graph.nodes(data=True)]), crs=WGS84)
    node_xy = np.column_stack([nodes.to_crs(project.crs).x, nodes.to_crs(project.crs).y])
    from scipy.spatial import cKDTree

    _, nearest = cKDTree(node_xy).query(km.cluster_centers_)
    order = np.lexsort((km.cluster_centers_[:, 1], km.cluster_centers_[:, 0]))  # stable ids west to east
    out = []
    centres = gpd.GeoSeries(gpd.points_from_xy(node_xy[nearest, 0], node_xy[nearest, 1]), crs=project.crs).to_crs(WGS84)
    townships = project.townships
    for n, i in enumerate(order, start=1):
        geom = centres.iloc[i]
        tw = townships[townships.contains(geom)]["name"]
        out.append(_site("generated", f"{n:02d}", f"需求聚类点 {n}", tw.iloc[0] if len(tw) else None,
                         int(config["optimize.classes_per_site"]), geom, config))
    return out


def cost_matrix(project, demand: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame, config: Config) -> sparse.csr_array:
    """Network distance or time from each demand compound to each candidate, as a share of its catchment.

    Entries are stored only within the compound's catchment (so ≤ 1.0); absent = out of reach.
    """
    rows, cols, vals = [], [], []
    for group in ("street", "town", "village"):
        idx = np.flatnonzero((demand["catchment"] == group).to_numpy())
        if len(idx) == 0 or len(candidates) == 0:
            continue
        limit = float(config[f"catchment.{group}_limit"])
        od = od_matrix(project.network(config[f"catchment.{group}_network"]), demand.iloc[idx], candidates,
                       cutoff=limit, weight=config[f"catchment.{group}_weight"],
                       max_snap_distance=config["network.snap_max_distance"],
                       walk_speed=config["network.walk_speed_kmh"], crs=project.crs).tocoo()
        rows.append(idx[od.row])
        cols.append(od.col)
        vals.append(od.data / limit)
    if not rows:
        return sparse.csr_array((len(demand), len(candidates)))
    coo = sparse.coo_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(len(demand), len(candidates)))
    return coo.tocsr()


def _model(cost, weights, p, capacities, config: Config):
    if config["optimize.model"] == "coverage":
        return MCLP.from_cost_matrix(cost, weights, 1.0, p)
    return CapacitatedMCLP.from_cost_matrix(cost, weights, 1.0, p, capacities)


def _served_by_site(res, weights, cost) -> np.ndarray:
    """Places each candidate serves in the solution (capacitated: the flow; coverage: the demand it reaches first)."""
    m = cost.shape[1]
    if isinstance(res.assignment, sparse.sparray) or sparse.issparse(res.assignment):
        return np.asarray(res.assignment.sum(axis=0)).ravel()[:m]
    served = np.zeros(m)
    reach = cost.tocsr()
    for i in np.flatnonzero(res.covered):
        cols = reach.indices[reach.indptr[i]:reach.indptr[i + 1]]
        open_cols = cols[np.isin(cols, res.selected)]
        if len(open_cols):
            served[open_cols[np.argmin(reach.data[reach.indptr[i]:reach.indptr[i + 1]][np.isin(cols, res.selected)])]] += weights[i]
    return served


def optimize(project, result: AuditResult, p: int | None = None, budget: float | None = None,
             max_p: int | None = None, config: Config | None = None) -> OptimizeResult:
    """Propose new sites for the unmet demand of an audit.

    Parameters
    ----------
    project : Project
    result : AuditResult
        From :func:`siting.audit.audit`.
    p : int, optional
        New sites to open (default ``optimize.p``), capped by the number of candidates.
    budget : float, optional
        Yuan (net of the start-up subsidy is *not* assumed: gross cost). When given (or
        ``optimize.budget`` > 0), the proposal is the largest optimal plan of the p-sweep
        whose total cost fits the budget.
    max_p : int, optional
        Largest p of the coverage curve (default ``optimize.max_p``).
    """
    config = config or project.config
    demand = unmet_demand(result).reset_index(drop=True)
    candidates = candidate_sites(project, result, config).reset_index(drop=True)
    cost = cost_matrix(project, demand, candidates, config)
    weights = demand["unmet"].to_numpy(dtype=float)
    caps = candidates["places"].to_numpy(dtype=float)
    m = len(candidates)
    p = int(config["optimize.p"] if p is None else p)
    budget = float(config["optimize.budget"] if budget is None else budget)
    max_p = min(int(config["optimize.max_p"] if max_p is None else max_p), m)
    time_limit = float(config["optimize.time_limit"])

    curve_rows, solutions = [], {}
    for k in range(1, max(max_p, min(p, m)) + 1):
        res = _model(cost, weights, k, caps, config).solve(time_limit=time_limit)
        solutions[k] = res
        sel = np.asarray(res.selected, dtype=int)
        curve_rows.append({"p": k, "places_served": float(res.objective), "share_of_unmet": float(res.objective / weights.sum())
                           if weights.sum() else 0.0, "cost": float(candidates["cost"].to_numpy()[sel].sum()),
                           "net_cost": float(candidates["net_cost"].to_numpy()[sel].sum()), "status": res.status,
                           "mip_gap": float(res.gap)})
    curve = pd.DataFrame(curve_rows)
    if budget > 0:
        fits = curve[curve["cost"] <= budget]
        chosen_p = int(fits["p"].max()) if len(fits) else 0
        scenario = {"kind": "budget", "budget": budget, "p": chosen_p}
    else:
        chosen_p = min(p, m)
        scenario = {"kind": "p", "p": chosen_p}
    if chosen_p == 0:
        sites = candidates.iloc[0:0].assign(rank=[], places_served=[], compounds=[], compounds_count=[], population_covered=[])
        return OptimizeResult(sites, candidates, curve, demand, None, scenario)
    res = solutions.get(chosen_p) or _model(cost, weights, chosen_p, caps, config).solve(time_limit=time_limit)
    sites = _size_to_demand(_describe(res, candidates, demand, cost, weights), config)
    scenario.update(status=res.status, gap=float(res.gap), objective=float(res.objective),
                    unmet_total=float(weights.sum()), model=config["optimize.model"])
    return OptimizeResult(sites, candidates, curve, demand, res, scenario)


def _describe(res, candidates, demand, cost, weights) -> gpd.GeoDataFrame:
    sel = np.asarray(res.selected, dtype=int)
    served = _served_by_site(res, weights, cost)
    sites = candidates.iloc[sel].copy()
    sites["places_served"] = served[sel]
    reach = cost.tocsc()
    assign = res.assignment.tocsc() if res.assignment is not None and sparse.issparse(res.assignment) else None
    names, counts, pops = [], [], []
    for j in sel:
        if assign is not None:
            rows = assign.indices[assign.indptr[j]:assign.indptr[j + 1]][assign.data[assign.indptr[j]:assign.indptr[j + 1]] > 1e-6]
        else:
            rows = reach.indices[reach.indptr[j]:reach.indptr[j + 1]]
        rows = np.sort(rows)
        names.append("、".join(demand["name"].iloc[rows].astype(str)))
        counts.append(len(rows))
        pops.append(float(demand["population"].iloc[rows].sum()))
    sites["compounds"] = names
    sites["compounds_count"] = counts
    sites["population_covered"] = pops
    sites = sites.sort_values(["places_served", "id"], ascending=[False, True], kind="stable")
    sites.insert(0, "rank", np.arange(1, len(sites) + 1))
    return sites.reset_index(drop=True)


def _size_to_demand(sites: gpd.GeoDataFrame, config: Config) -> gpd.GeoDataFrame:
    """Suggest the classes each site needs for the places it serves (at most its capacity), and cost those.

    The model opens a site at its largest size; a site serving 22 places needs 2 classes, not 3.
    """
    size = config["optimize.class_size"]
    sites = sites.copy()
    sites["capacity_classes"] = sites["classes"]
    sites["capacity_places"] = sites["places"]
    per_class_cost = sites["cost"] / sites["classes"]
    classes = np.ceil(sites["places_served"].to_numpy() / size - 1e-9).astype(int)
    sites["classes"] = np.clip(classes, 1, sites["capacity_classes"].to_numpy())
    sites["places"] = sites["classes"] * size
    sites["cost"] = sites["classes"] * per_class_cost
    sites["subsidy"] = sites["classes"] * config["policy.start_up_subsidy_per_class"]
    sites["net_cost"] = sites["cost"] - sites["subsidy"]
    return sites


def write_optimize(opt: OptimizeResult, out_dir, lang: str = "zh") -> dict:
    """``proposals.gpkg`` (sites, candidates), ``proposals.csv`` and ``coverage_curve.csv``."""
    from pathlib import Path

    from .tables import localise, write_csv, write_gpkg

    out = Path(out_dir)
    paths = {"proposals_gpkg": write_gpkg({"sites": opt.sites, "candidates": opt.candidates}, out / "proposals.gpkg")}
    sites = opt.sites.drop(columns=["kind"]) if lang == "zh" else opt.sites.drop(columns=["kind_label"])
    paths["proposals_csv"] = write_csv(localise(sites, lang), out / "proposals.csv")
    paths["curve_csv"] = write_csv(localise(opt.curve, lang), out / "coverage_curve.csv")
    return paths
