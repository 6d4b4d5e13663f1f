"""Full compliance with 岚政办字〔2024〕5号: what it costs to remedy every flagged compound and reach the target.

Flagged compounds are those the audit found due (限期整改), overdue (逾期未整改) or in violation
(交付未配套). Each must be served in full within its own catchment, and every township must reach
``policy.places_per_1000`` places per 1,000 residents. The plan names the remedy the policy
itself names for existing compounds (购置、置换、租赁): a compound-embedded candidate, a community
room bought, swapped or rented inside or beside the compound, with its own cost per class and class
limit (``optimize.cost_per_class_embedded``, ``optimize.embedded_max_classes``). It costs the most per
class on purpose, so the model uses it where no parcel, kindergarten or health centre reaches the
compound or those in reach are full.

The model is :class:`siting.models.compliance.ComplianceCover` (least cost, proven by HiGHS and
checked). Compounds that still cannot be served, and townships whose candidates cannot reach the
target, are listed with the reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from .config import Config
from .models.compliance import ComplianceCover

__all__ = ["FLAGGED", "ComplyResult", "flagged_demand", "embedded_candidates", "full_compliance", "remaining_gap"]

log = logging.getLogger(__name__)

FLAGGED = ("delivered_without_facility", "overdue", "remediate_by_deadline")  # violations first


@dataclass
class ComplyResult:
    """The full-compliance plan: sites with classes, every flagged compound's remedy, townships, totals."""

    sites: gpd.GeoDataFrame
    compounds: pd.DataFrame
    townships: pd.DataFrame
    summary: dict
    model: object = None
    candidates: gpd.GeoDataFrame | None = None
    extra: dict = field(default_factory=dict)


def flagged_demand(demand: gpd.GeoDataFrame) -> np.ndarray:
    """Positions (rows of the unmet demand) of the compounds due, overdue or in violation."""
    return np.flatnonzero(demand["compliance"].isin(FLAGGED).to_numpy())


def embedded_candidates(demand: gpd.GeoDataFrame, rows: np.ndarray, config: Config) -> gpd.GeoDataFrame:
    """One compound-embedded candidate (a community room bought, swapped or rented) per flagged compound."""
    from .optimize import _site, candidate_columns

    limit = int(config["optimize.embedded_max_classes"])
    out = []
    if limit >= 1:
        for r in demand.iloc[rows].itertuples():
            out.append(_site("embedded", r.id, f"{r.name}（小区内用房）", r.township, limit,
                             r.geometry.representative_point(), config))
    return gpd.GeoDataFrame(pd.DataFrame(out, columns=candidate_columns()), geometry="geometry", crs=demand.crs or "EPSG:4326")


def _with_embedded(project, demand, rows, candidates, cost, config):
    """Candidates and cost matrix (flagged rows only) with each flagged compound's own room appended.

    A room inside the compound reaches the compound itself at no distance, even where the compound
    lies off the road network; it reaches other compounds as any site does, within their catchments.
    """
    from .optimize import cost_matrix

    emb = embedded_candidates(demand, rows, config)
    base = sparse.csr_array(cost)[rows]
    if len(emb) == 0:
        return candidates, base, emb
    extra = cost_matrix(project, demand.iloc[rows].reset_index(drop=True), emb, config).tocoo()
    own = np.arange(len(rows))  # embedded candidate c belongs to flagged row c
    keep = extra.row != extra.col
    r = np.concatenate([extra.row[keep], own])
    c = np.concatenate([extra.col[keep], own])
    v = np.concatenate([extra.data[keep], np.zeros(len(rows))])
    emb_cost = sparse.csr_array((v, (r, c)), shape=(len(rows), len(emb)))
    all_cands = pd.concat([candidates, emb.to_crs(candidates.crs) if candidates.crs else emb], ignore_index=True)
    return gpd.GeoDataFrame(all_cands, geometry="geometry", crs=candidates.crs), sparse.hstack([base, emb_cost]).tocsr(), emb


def _township_gaps(result, config: Config) -> dict:
    tw = result.townships
    tw = tw[tw["kind"] != "district"]
    return {r.township: float(r.gap) for r in tw.itertuples() if r.gap > 1e-9}


def full_compliance(project, result, demand: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame, cost,
                    config: Config | None = None) -> ComplyResult:
    """The least-cost plan serving every flagged compound in full and bringing every township to the target.

    Parameters
    ----------
    project : Project
    result : AuditResult
    demand : GeoDataFrame
        Unmet demand (:func:`siting.optimize.unmet_demand`, index reset), with ``unmet`` places.
    candidates : GeoDataFrame
        The regular candidates (:func:`siting.optimize.candidate_sites`, index reset).
    cost : sparse matrix
        Demand × candidate costs as a share of the catchment (:func:`siting.optimize.cost_matrix`).
    """
    config = config or project.config
    rows = flagged_demand(demand)
    cands, matrix, emb = _with_embedded(project, demand, rows, candidates, cost, config)
    flagged = demand.iloc[rows].reset_index(drop=True)
    weights = flagged["unmet"].to_numpy(dtype=float)
    classes = np.maximum(cands["classes"].to_numpy(dtype=float), 1)
    gaps = _township_gaps(result, config)
    groups = cands["township"].fillna("").to_numpy(dtype=object)
    time_limit = float(config["optimize.time_limit"])
    if len(cands) == 0 or (len(flagged) == 0 and not gaps):
        res, model = None, None
        y = np.zeros(len(cands), dtype=np.int64)
        amounts = sparse.csr_array((len(flagged), len(cands)))
        status, gap, seconds, shortfall = "nothing_to_do", 0.0, 0.0, dict(gaps) if len(cands) == 0 else {}
    else:
        model = ComplianceCover.from_cost_matrix(
            matrix if matrix.shape[0] else sparse.csr_array((1, len(cands))),
            weights if len(weights) else np.zeros(1), 1.0, cands["places"].to_numpy(dtype=float),
            cands["cost"].to_numpy(dtype=float), classes, group_of=groups, min_capacity=gaps)
        res = model.solve(time_limit=time_limit)
        y = res.modules if res.modules is not None else np.zeros(len(cands), dtype=np.int64)
        amounts = res.assignment if res.assignment is not None else sparse.csr_array(model.cover.shape)
        amounts = sparse.csr_array(amounts)[: len(flagged)]
        status, gap, seconds, shortfall = res.status, float(res.gap), float(res.solve_time), dict(model.group_shortfall)
    sites = _sites(cands, y, amounts, flagged, config)
    comp = _compounds(flagged, cands, y, amounts, matrix, weights, config)
    towns = _townships(result, gaps, cands, y, shortfall, config)
    summary = {
        "status": status, "gap": gap, "solve_time": seconds, "sites": int(len(sites)),
        "classes": int(sites["classes"].sum()) if len(sites) else 0,
        "places": float(sites["places"].sum()) if len(sites) else 0.0,
        "cost": float(sites["cost"].sum()) if len(sites) else 0.0,
        "subsidy": float(sites["subsidy"].sum()) if len(sites) else 0.0,
        "net_cost": float(sites["net_cost"].sum()) if len(sites) else 0.0,
        "embedded_sites": int((sites["kind"] == "embedded").sum()) if len(sites) else 0,
        "flagged": int(len(flagged)), "unmet_flagged": float(weights.sum()),
        "served": float(comp["served"].sum()) if len(comp) else 0.0,
        "unserved_compounds": int((comp["unserved"] > 1e-6).sum()) if len(comp) else 0,
        "unserved_places": float(comp["unserved"].sum()) if len(comp) else 0.0,
        "township_shortfall": float(sum(shortfall.values())),
        "reason": getattr(res, "reason", "") if res is not None else "",
    }
    if status not in ("optimal", "nothing_to_do"):
        log.warning("full compliance: %s (%s)", status, summary["reason"])
    return ComplyResult(sites, comp, towns, summary, res, cands, {"matrix": matrix, "flagged": flagged})


def _sites(cands, y, amounts, flagged, config: Config) -> gpd.GeoDataFrame:
    from .optimize import compound_lists

    size = float(config["optimize.class_size"])
    sub = float(config["policy.start_up_subsidy_per_class"])
    sel = np.flatnonzero(y > 0)
    per_class = cands["cost"].to_numpy(dtype=float) / np.maximum(cands["classes"].to_numpy(dtype=float), 1)
    s = cands.iloc[sel].copy()
    s["capacity_classes"] = s["classes"]
    s["capacity_places"] = s["places"]
    s["classes"] = y[sel].astype(int)
    s["places"] = s["classes"] * size
    s["cost"] = s["classes"] * per_class[sel]
    s["subsidy"] = s["classes"] * sub
    s["net_cost"] = s["cost"] - s["subsidy"]
    csc = sparse.csc_array(amounts)
    spans = [(csc.indptr[j], csc.indptr[j + 1]) for j in sel]
    served = [float(csc.data[lo:hi].sum()) for lo, hi in spans]
    s["places_served"] = served
    s["marginal_places"] = served
    s = s.assign(**compound_lists(flagged, [csc.indices[lo:hi][csc.data[lo:hi] > 1e-6] for lo, hi in spans]))
    s = s.sort_values(["places_served", "id"], ascending=[False, True], kind="stable")
    s.insert(0, "rank", np.arange(1, len(s) + 1))
    return gpd.GeoDataFrame(s.reset_index(drop=True), geometry="geometry", crs=cands.crs)


def _compounds(flagged, cands, y, amounts, matrix, weights, config: Config) -> pd.DataFrame:
    """Every flagged compound with the site that serves most of it, and why any part stays unserved."""
    csr = sparse.csr_array(amounts)
    reach = sparse.csr_array(matrix)
    caps = cands["places"].to_numpy(dtype=float)
    out = []
    for i, r in enumerate(flagged.itertuples()):
        lo, hi = csr.indptr[i], csr.indptr[i + 1]
        cols, vals = csr.indices[lo:hi], csr.data[lo:hi]
        served = float(vals.sum())
        main = int(cols[np.argmax(vals)]) if len(cols) and vals.max() > 1e-6 else -1
        unserved = max(0.0, float(weights[i]) - served)
        if unserved <= 1e-6:
            unserved, why_zh, why_en = 0.0, "", ""
        else:
            in_reach = reach.indices[reach.indptr[i]:reach.indptr[i + 1]]
            if len(in_reach) == 0:
                why_zh = "服务半径内没有任何候选点（小区内用房已关闭：optimize.embedded_max_classes = 0）"
                why_en = "no candidate within the catchment (compound-embedded rooms are off: optimize.embedded_max_classes = 0)"
            else:
                hold = float(caps[in_reach].sum())
                why_zh = (f"需 {weights[i]:.1f} 个托位，服务半径内 {len(in_reach)} 个候选点全部开满共 {hold:.0f} 个托位，"
                          f"且与其他小区共用；可提高 optimize.embedded_max_classes")
                why_en = (f"needs {weights[i]:.1f} places; the {len(in_reach)} candidates within reach hold {hold:.0f} "
                          f"with every class open, shared with other compounds; raise optimize.embedded_max_classes")
        out.append({"id": r.id, "name": r.name, "township": r.township, "compliance": r.compliance,
                    "deadline": r.deadline, "days_left": r.days_left, "unmet": float(weights[i]), "served": served,
                    "unserved": unserved, "site_id": cands["id"].iloc[main] if main >= 0 else None,
                    "site_name": cands["name"].iloc[main] if main >= 0 else None,
                    "site_kind": cands["kind"].iloc[main] if main >= 0 else None,
                    "sites_count": int((vals > 1e-6).sum()), "unserved_reason": why_zh, "unserved_reason_en": why_en})
    cols = ["id", "name", "township", "compliance", "deadline", "days_left", "unmet", "served", "unserved", "site_id",
            "site_name", "site_kind", "sites_count", "unserved_reason", "unserved_reason_en"]
    return pd.DataFrame(out, columns=cols)


def _townships(result, gaps, cands, y, shortfall, config: Config) -> pd.DataFrame:
    size = float(config["optimize.class_size"])
    new = pd.Series(y * size, index=cands.index).groupby(cands["township"].fillna("")).sum()
    rows = []
    for r in result.townships[result.townships["kind"] != "district"].itertuples():
        added = float(new.get(r.township, 0.0))
        after = (r.places_inside + added) / r.population * 1000 if r.population > 0 else float("nan")
        rows.append({"township": r.township, "population": r.population, "places_inside": r.places_inside,
                     "gap": float(gaps.get(r.township, 0.0)), "new_places": added, "places_per_1000_after": after,
                     "target_shortfall": float(shortfall.get(r.township, 0.0))})
    return pd.DataFrame(rows, columns=["township", "population", "places_inside", "gap", "new_places",
                                       "places_per_1000_after", "target_shortfall"])


def remaining_gap(result, opt, comply: ComplyResult | None) -> dict:
    """What a p or budget plan leaves undone, and what full compliance needs beyond it.

    Returns places short of the target after the plan (district), places per 1,000 after it,
    flagged compounds left not served in full, and the extra gross/net cost and sites of the
    full-compliance plan over the proposal.
    """
    d = result.townships[result.townships["kind"] == "district"].iloc[-1]
    sites = opt.sites
    added = float(sites["places"].sum()) if len(sites) else 0.0
    per_1000 = (d["places_inside"] + added) / d["population"] * 1000 if d["population"] > 0 else float("nan")
    target = float(d["target_per_1000"])
    short = max(0.0, float(d["places_required"]) - float(d["places_inside"]) - added)
    flagged_rows = flagged_demand(opt.demand)
    served = np.zeros(len(opt.demand))
    if opt.model is not None and getattr(opt.model, "served", None) is not None and len(sites):
        served = np.asarray(opt.model.served, dtype=float)
    unmet = opt.demand["unmet"].to_numpy(dtype=float)
    left = int(((unmet[flagged_rows] - served[flagged_rows]) > 1e-6).sum()) if len(flagged_rows) else 0
    out = {"places_added": added, "per_1000_after": per_1000, "target": target, "places_short_after": short,
           "per_1000_short_after": max(0.0, target - per_1000), "flagged": int(len(flagged_rows)),
           "flagged_left": left, "proposal_cost": float(sites["cost"].sum()) if len(sites) else 0.0,
           "proposal_net_cost": float(sites["net_cost"].sum()) if len(sites) else 0.0, "proposal_sites": int(len(sites))}
    if comply is not None:
        s = comply.summary
        out.update(comply_cost=s["cost"], comply_net_cost=s["net_cost"], comply_sites=s["sites"],
                   extra_cost=max(0.0, s["cost"] - out["proposal_cost"]),
                   extra_net_cost=max(0.0, s["net_cost"] - out["proposal_net_cost"]),
                   extra_sites=max(0, s["sites"] - out["proposal_sites"]))
    return out


def _summary_table(opt, lang: str) -> pd.DataFrame:
    s, g = opt.comply.summary, opt.gap or {}
    zh = lang == "zh"
    rows = [("status", "求解状态", "solver status", s["status"]),
            ("gap", "最优性间隙", "MIP gap", s["gap"]),
            ("flagged", "须整改小区（限期/逾期/违规）", "flagged compounds (due, overdue, violation)", s["flagged"]),
            ("unmet_flagged", "须整改小区未满足托位", "unmet places of flagged compounds", round(s["unmet_flagged"], 1)),
            ("sites", "全面达标所需站点（处）", "sites for full compliance", s["sites"]),
            ("embedded_sites", "其中小区内用房（处）", "of which compound-embedded rooms", s["embedded_sites"]),
            ("classes", "托班（个）", "classes", s["classes"]),
            ("places", "新增托位（个）", "new places", round(s["places"], 1)),
            ("cost", "总投资（元）", "gross cost (yuan)", round(s["cost"])),
            ("subsidy", "开办补助（元）", "start-up subsidy (yuan)", round(s["subsidy"])),
            ("net_cost", "扣除补助后投资（元）", "net cost (yuan)", round(s["net_cost"])),
            ("unserved_compounds", "仍无法服务的小区（个）", "compounds still unserved", s["unserved_compounds"]),
            ("unserved_places", "仍无法服务的托位", "places still unserved", round(s["unserved_places"], 1)),
            ("township_shortfall", "候选点不足以达标的托位", "places short of township targets that no candidate can add",
             round(s["township_shortfall"], 1))]
    if g:
        rows += [("proposal_sites", "现方案站点（处）", "sites in the proposal", g["proposal_sites"]),
                 ("proposal_cost", "现方案总投资（元）", "proposal gross cost (yuan)", round(g["proposal_cost"])),
                 ("places_short_after", "现方案实施后距目标缺口托位", "places short of the target after the proposal",
                  round(g["places_short_after"], 1)),
                 ("per_1000_after", "现方案实施后每千人口托位", "places per 1,000 after the proposal", round(g["per_1000_after"], 2)),
                 ("flagged_left", "现方案后仍未足额服务的须整改小区", "flagged compounds not served in full after the proposal",
                  g["flagged_left"])]
        if "extra_cost" in g:
            rows += [("extra_cost", "全面达标还需追加投资（元）", "extra gross cost for full compliance (yuan)", round(g["extra_cost"])),
                     ("extra_net_cost", "全面达标还需追加投资（扣除补助，元）", "extra net cost for full compliance (yuan)",
                      round(g["extra_net_cost"])),
                     ("extra_sites", "全面达标还需追加站点（处）", "extra sites for full compliance", g["extra_sites"])]
    return pd.DataFrame([{("项目" if zh else "item"): (zh_ if zh else en), ("数值" if zh else "value"): v, "key": k}
                         for k, zh_, en, v in rows])


def write_comply(opt, out_dir, lang: str = "zh") -> dict:
    """``comply_summary.csv``, ``comply_sites.csv`` (names beside codes), ``comply_compounds.csv``, ``comply_townships.csv``."""
    from pathlib import Path

    from .tables import localise, write_csv

    out = Path(out_dir)
    c = opt.comply
    sites = c.sites.drop(columns=["kind"] if lang == "zh" else ["kind_label"])
    comp = c.compounds.assign(site_kind=c.compounds["site_kind"].map(
        lambda k: _kind_label(k) if lang == "zh" and isinstance(k, str) else k))
    return {"comply_summary_csv": write_csv(_summary_table(opt, lang), out / "comply_summary.csv"),
            "comply_sites_csv": write_csv(localise(sites, lang), out / "comply_sites.csv"),
            "comply_compounds_csv": write_csv(localise(comp, lang), out / "comply_compounds.csv"),
            "comply_townships_csv": write_csv(localise(c.townships, lang), out / "comply_townships.csv")}


def _kind_label(kind: str) -> str:
    from .optimize import KIND_LABELS

    return KIND_LABELS.get(kind, kind)


def annex_table(result, opt) -> pd.DataFrame:
    """Every compound due, overdue or in violation, by township: deadline, days left, remedying site and phase.

    Townships in the audit's order, then violations, overdue and due compounds, then by deadline and name.
    The site is the one serving most of the compound in the full-compliance plan; the phase is when the
    phased plan serves it in full (empty when not within the phases).
    """
    c = result.compounds
    c = c[c["compliance"].isin(FLAGGED)]
    cols = ["township", "id", "name", "compliance", "deadline", "days_left", "places_required", "places_served",
            "site_id", "site_name", "phase", "phase_end", "unserved_reason", "unserved_reason_en"]
    out = pd.DataFrame({k: c[k].to_numpy() for k in ["township", "id", "name", "compliance", "deadline", "days_left",
                                                    "places_required", "places_served"]})
    out["days_left"] = pd.array(c["days_left"], dtype="Int64")
    comply = getattr(opt, "comply", None)
    if comply is not None:
        by_id = comply.compounds.set_index("id")
        out["site_id"] = out["id"].map(by_id["site_id"])
        out["site_name"] = out["id"].map(by_id["site_name"])
        out["unserved_reason"] = out["id"].map(by_id["unserved_reason"]).fillna("")
        out["unserved_reason_en"] = out["id"].map(by_id["unserved_reason_en"]).fillna("")
    phases = getattr(opt, "phases", None)
    if phases is not None:
        by_id = phases.compounds.set_index("id")
        out["phase"] = pd.array(out["id"].map(by_id["phase"]), dtype="Int64")
        out["phase_end"] = out["id"].map(by_id["phase_end"])
    out = out.reindex(columns=cols)
    order = {t: i for i, t in enumerate(result.townships["township"])}
    out["_t"] = out["township"].map(order).fillna(len(order))
    out["_c"] = out["compliance"].map({k: i for i, k in enumerate(FLAGGED)})
    out["_d"] = out["deadline"].map(lambda d: str(d) if d is not None and not pd.isna(d) else "9999")
    out = out.sort_values(["_t", "_c", "_d", "name", "id"], kind="stable").drop(columns=["_t", "_c", "_d"])
    return out.reset_index(drop=True)
