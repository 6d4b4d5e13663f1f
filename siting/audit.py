"""Audit stage: who is short of childcare, who is out of line with the plan, and by when it must be fixed.

Method
------
1. Each compound gets a catchment by where it is: compounds in a street (街道) use the street
   catchment (300 m walk by default), compounds in a town the town catchment, villages the village
   catchment (10 minutes' drive) — all along roads (``siting.network.od_matrix``).
2. Facility places are allocated to compounds by a transport linear programme (HiGHS): maximise
   the places allocated, each compound receiving at most what it requires and each facility giving
   at most its places, only between pairs within the compound's catchment; among equally large
   allocations the nearer pairs are preferred. So no facility is ever counted twice.
3. Flags: ``no_facility`` (nothing within the catchment), ``under_served`` (allocated < required),
   ``covered``. Compliance with 岚政办字〔2024〕5号: compounds completed on or after the plan date and
   not covered were "delivered without a matching facility" (a violation now); earlier ones must be
   remedied by plan date + 3 years (2027-04-17), overdue after it; planned ones must get it with
   the housing.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from .config import Config
from .demand import compound_demand, facility_supply
from .models._base import solve_highs
from .network import od_matrix, snap

__all__ = ["AuditResult", "NEAREST_STATUS", "audit", "allocate", "catchment_pairs", "nearest_with_places", "facility_service_areas", "catchment_of", "township_table", "guidance_check", "standards_check"]

RULE_NEW = "岚政办字〔2024〕5号 二(二)1：新建居住区应配套建设与常住人口规模相适应的婴幼儿照护服务设施，与住宅同步验收、同步交付"
RULE_EXISTING = "岚政办字〔2024〕5号 二(二)1：不能满足需求的已建成居住区要在3年内通过购置、置换、租赁、补贴等方式建设婴幼儿照护服务设施"
RULE_NEW_EN = "Plan 2(2)1: new residential areas get matching childcare facilities, delivered with the housing"
RULE_EXISTING_EN = "Plan 2(2)1: existing residential areas lacking facilities must add them within 3 years"

_TOL = 1e-6
# Why the nearest facility with places does or does not serve a compound (nearest_status).
NEAREST_STATUS = ("counts", "beyond_catchment", "no_places_left", "not_under3", "not_needed")
# Road distances to the nearest facility are searched up to this many times the straight line (≥ the minimum).
_ROAD_SEARCH_FACTOR = 4.0
_ROAD_SEARCH_MIN_M = 2000.0


@dataclass
class AuditResult:
    """Audited layers and tables. Frames keep the input layers' index."""

    compounds: gpd.GeoDataFrame
    childcare: gpd.GeoDataFrame
    townships: pd.DataFrame
    guidance: pd.DataFrame
    allocation: pd.DataFrame
    as_of: dt.date
    deadline: dt.date


def catchment_of(compounds: gpd.GeoDataFrame, townships: gpd.GeoDataFrame) -> pd.Series:
    """"street", "town" or "village" per compound: villages use the village catchment wherever they are."""
    kind_of = dict(zip(townships["name"], townships["kind"]))
    tw_kind = compounds["township"].map(kind_of).fillna("town")
    return pd.Series(np.where(compounds["kind"] == "village", "village", tw_kind), index=compounds.index)


def allocate(pairs: pd.DataFrame, required: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Transport LP: places allocated on each (compound, facility) pair.

    Parameters
    ----------
    pairs : DataFrame
        ``row`` (compound position), ``col`` (facility position) and ``cost`` in [0, 1]
        (distance as a share of the catchment), one row per pair within reach.
    required, capacity : array
        Places each compound requires and each facility offers.

    Returns
    -------
    numpy.ndarray
        Allocated places per pair; row sums ≤ required, column sums ≤ capacity.
    """
    k = len(pairs)
    if k == 0:
        return np.zeros(0)
    n, m = len(required), len(capacity)
    idx = np.empty(2 * k, dtype=np.int64)  # column j: its compound's row, then its facility's row
    idx[0::2] = pairs["row"].to_numpy()
    idx[1::2] = n + pairs["col"].to_numpy()
    a = sp.csc_array((np.ones(2 * k), idx, np.arange(0, 2 * k + 1, 2)), shape=(n + m, k))
    # Total allocated first; the distance term only breaks ties (it is worth < 0.001 place per pair).
    out = solve_highs(1.0 - 1e-3 * pairs["cost"].to_numpy(dtype=float), a, np.zeros(n + m),
                      np.concatenate([np.asarray(required, float), np.asarray(capacity, float)]),
                      np.zeros(k), np.full(k, np.inf), None, maximize=True)
    if out.status != "optimal":
        raise RuntimeError(f"allocation LP ended with status {out.status}")
    x = out.x
    return np.clip(x, 0.0, None)


def catchment_pairs(project, compounds: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, catchment: pd.Series,
                    config: Config) -> pd.DataFrame:
    """(compound, facility) pairs within each compound's own catchment along roads.

    Returns ``row`` and ``col`` (positions), ``value`` (metres or seconds), ``cost`` (value as a share
    of the catchment, ≤ 1) and ``weight``; used for the allocation here and for siting candidates.
    """
    frames = []
    if len(facilities) == 0:
        return pd.DataFrame(columns=["row", "col", "value", "cost", "weight"])
    snapped = {}  # the facilities snapped once per network, shared by the catchment groups
    for group in ("street", "town", "village"):
        rows = np.flatnonzero((catchment == group).to_numpy())
        if len(rows) == 0:
            continue
        network = config[f"catchment.{group}_network"]
        weight = config[f"catchment.{group}_weight"]
        limit = float(config[f"catchment.{group}_limit"])
        graph = project.network(network)
        if network not in snapped:
            snapped[network] = snap(graph, facilities, config["network.snap_max_distance"], crs=project.crs)
        od = od_matrix(graph, compounds.iloc[rows], snapped[network], cutoff=limit, weight=weight,
                       max_snap_distance=config["network.snap_max_distance"],
                       walk_speed=config["network.walk_speed_kmh"], crs=project.crs).tocoo()
        frames.append(pd.DataFrame({"row": rows[od.row], "col": od.col, "value": od.data,
                                    "cost": od.data / limit, "weight": weight}))
    if not frames:
        return pd.DataFrame(columns=["row", "col", "value", "cost", "weight"])
    return pd.concat(frames, ignore_index=True).sort_values(["row", "col"], kind="stable").reset_index(drop=True)


def _fmt_limit(group: str, config: Config, lang: str) -> str:
    network = config[f"catchment.{group}_network"]
    weight = config[f"catchment.{group}_weight"]
    limit = config[f"catchment.{group}_limit"]
    if lang == "zh":
        mode = "步行" if network == "walk" else "驾车"
        return f"{mode} {limit:g} 米" if weight == "length" else f"{mode} {limit / 60:g} 分钟"
    mode = "walk" if network == "walk" else "drive"
    return f"{limit:g} m {mode}" if weight == "length" else f"{limit / 60:g} min {mode}"


def nearest_with_places(project, compounds: gpd.GeoDataFrame, childcare: gpd.GeoDataFrame, pairs: pd.DataFrame,
                        facilities: gpd.GeoDataFrame, catchment: pd.Series, config: Config) -> pd.DataFrame:
    """The childcare facility nearest to each compound in a straight line, and why it does or does not count.

    A person looking at the map sees the nearest kindergarten or nursery; when the compound is still
    flagged, the audit must say why that facility does not serve it: farther than the catchment
    along roads, no places left after the allocation, or no places for under-3s (a kindergarten
    without 托班).

    Returns
    -------
    DataFrame
        Index of ``compounds``: ``nearest_id``, ``nearest_facility`` (name), ``nearest_straight_m``
        (metres from the compound's outline, 0 inside it), ``nearest_road_m`` (metres along the
        compound's catchment network, NaN when not connected within ``_ROAD_SEARCH_FACTOR`` × the
        straight line), ``nearest_status`` (:data:`NEAREST_STATUS`) and ``nearest_reason`` /
        ``nearest_reason_en`` (a sentence for people).
    """
    n = len(compounds)
    out = pd.DataFrame({"nearest_id": [None] * n, "nearest_facility": [None] * n, "nearest_straight_m": np.nan,
                        "nearest_road_m": np.nan, "nearest_status": [None] * n, "nearest_reason": [None] * n,
                        "nearest_reason_en": [None] * n}, index=compounds.index)
    cand = childcare
    cand = cand[cand.geometry.notna() & ~cand.geometry.is_empty]
    ok = (compounds.geometry.notna() & ~compounds.geometry.is_empty).to_numpy()
    if len(cand) == 0 or not ok.any():
        return out
    comp_m = compounds.geometry.to_crs(project.crs)
    cand_m = cand.geometry.to_crs(project.crs)
    src, dst = cand_m.sindex.nearest(comp_m[ok], return_all=False)
    rows = np.flatnonzero(ok)[src]
    pick = np.full(n, -1)
    pick[rows] = dst
    straight = np.full(n, np.nan)
    straight[rows] = shapely.distance(comp_m.to_numpy()[rows], cand_m.to_numpy()[dst])

    # Road metres from each compound to its pick, on its catchment's network (length, not time).
    road = np.full(n, np.nan)
    for group in ("street", "town", "village"):
        sel = np.flatnonzero((catchment == group).to_numpy() & (pick >= 0))
        if len(sel) == 0:
            continue
        graph = project.network(config[f"catchment.{group}_network"])
        targets = np.unique(pick[sel])
        cutoff = max(_ROAD_SEARCH_FACTOR * float(np.nanmax(straight[sel])), _ROAD_SEARCH_MIN_M)
        od = od_matrix(graph, compounds.iloc[sel], cand.iloc[targets], cutoff=cutoff, weight="length",
                       max_snap_distance=config["network.snap_max_distance"], crs=project.crs).tocoo()
        hit = targets[od.col] == pick[sel][od.row]
        road[sel[od.row[hit]]] = od.data[hit]

    # Why it counts or not, from the allocation (pairs are positions in compounds × facilities).
    fac_pos = pd.Series(np.arange(len(facilities)), index=facilities.index)
    pick_fac = np.full(n, -1)
    with_supply = cand.index[np.clip(pick, 0, None)].isin(facilities.index) & (pick >= 0)
    pick_fac[with_supply] = fac_pos.reindex(cand.index[pick[with_supply]]).to_numpy()
    key = pd.Series(pairs["allocated"].to_numpy(), index=pd.MultiIndex.from_arrays([pairs["row"].to_numpy(dtype=int),
                                                                                    pairs["col"].to_numpy(dtype=int)]))
    load = np.bincount(pairs["col"].to_numpy(dtype=int), weights=pairs["allocated"], minlength=len(facilities))
    supply = facilities["places_supply"].to_numpy(dtype=float)
    required = compounds["places_required"].to_numpy(dtype=float)
    served = compounds["places_served"].to_numpy(dtype=float)
    ids, names = cand["id"].to_numpy(), cand["name"].to_numpy()
    cols = {k: out[k].to_numpy(dtype=object, copy=True) for k in ("nearest_id", "nearest_facility", "nearest_status",
                                                        "nearest_reason", "nearest_reason_en")}
    for i in np.flatnonzero(pick >= 0):
        j = pick_fac[i]
        group = catchment.iloc[i]
        if j < 0:
            status = "not_under3"
        elif (i, j) not in key.index:
            status = "beyond_catchment"
        elif key[(i, j)] > _TOL:
            status = "counts"
        elif load[j] + _TOL >= supply[j]:
            status = "no_places_left"
        else:
            status = "not_needed" if served[i] + _TOL >= required[i] else "no_places_left"
        zh, en = _nearest_reason(status, road[i], key.get((i, j), 0.0) if j >= 0 else 0.0,
                                 _fmt_limit(group, config, "zh"), _fmt_limit(group, config, "en"))
        for k, v in zip(cols, (ids[pick[i]], names[pick[i]], status, zh, en)):
            cols[k][i] = v
    for k, v in cols.items():
        out[k] = v
    out["nearest_straight_m"] = straight
    out["nearest_road_m"] = road
    return out


def _nearest_reason(status: str, road: float, allocated: float, catch_zh: str, catch_en: str) -> tuple[str, str]:
    """One sentence (Chinese, English) on whether the nearest facility with places serves the compound."""
    if status == "counts":
        return f"计入：向本小区分配 {allocated:.0f} 个托位", f"counts: {allocated:.0f} places allocated to this compound"
    if status == "not_under3":
        return "不提供 3 岁以下托位（幼儿园未开设托班或无托位），不计入", "not counted: no places for under-3s (no 托班)"
    if status == "no_places_left":
        return (f"在{catch_zh}范围内，但其托位已全部分配给其他小区",
                f"within {catch_en}, but all its places went to other compounds")
    if status == "not_needed":
        return (f"在{catch_zh}范围内；本小区需求已由其他设施满足",
                f"within {catch_en}; this compound's need is met by other facilities")
    if np.isnan(road):
        return (f"沿道路不连通或很远，超出{catch_zh}服务范围，不计入",
                f"not counted: not connected along roads (or very far), beyond {catch_en}")
    return (f"沿道路 {road:,.0f} 米，超出{catch_zh}服务范围，不计入",
            f"not counted: {road:,.0f} m along roads, beyond {catch_en}")

def _compliance(row, plan_date: dt.date, deadline: dt.date, as_of: dt.date):
    """(compliance code, deadline or None, days left or None) for one audited compound."""
    covered = row["flag"] == "covered"
    completed = row["completed"]
    if row["status"] == "planned" or (completed is not None and completed > as_of):
        return ("compliant" if covered else "plan_with_housing"), completed, None
    is_new = (completed is not None and completed >= plan_date) or (completed is None and row["status"] == "new")
    if covered:
        return "compliant", None, None
    if is_new:
        return "delivered_without_facility", completed, None
    days = (deadline - as_of).days
    return ("overdue" if days < 0 else "remediate_by_deadline"), deadline, days


def _reasons(row, catch_text_zh, catch_text_en):
    req, served, n, reach = row["places_required"], row["places_served"], row["facilities_in_reach"], row["places_in_reach"]
    if row["flag"] == "no_facility":
        zh = f"需托位 {req:.0f} 个；{catch_text_zh}范围内无托育设施"
        en = f"needs {req:.0f} places; no childcare facility within {catch_text_en}"
    elif row["flag"] == "under_served":
        zh = f"需托位 {req:.0f} 个，{catch_text_zh}内 {n} 处设施共 {reach:.0f} 个托位，可分配 {served:.0f} 个，缺 {req - served:.0f} 个"
        en = f"needs {req:.0f} places; {n} facilities within {catch_text_en} offer {reach:.0f}, {served:.0f} allocated, {req - served:.0f} short"
    else:
        zh = f"需托位 {req:.0f} 个，已分配 {served:.0f} 个（{catch_text_zh}内）"
        en = f"needs {req:.0f} places, {served:.0f} allocated within {catch_text_en}"
    return zh, en


def _rule(code: str, deadline, days) -> tuple[str, str]:
    if code == "delivered_without_facility":
        return RULE_NEW + "；规划日期后交付但未配套托育设施，现已违规", RULE_NEW_EN + "; delivered after the plan date without one: a violation now"
    if code == "plan_with_housing":
        return RULE_NEW + "；须随住宅同步交付", RULE_NEW_EN + "; must be delivered with the housing"
    if code == "remediate_by_deadline":
        return RULE_EXISTING + f"；整改期限 {deadline}，剩余 {days} 天", RULE_EXISTING_EN + f"; deadline {deadline}, {days} days left"
    if code == "overdue":
        return RULE_EXISTING + f"；整改期限 {deadline} 已逾期 {-days} 天", RULE_EXISTING_EN + f"; deadline {deadline} passed {-days} days ago"
    return "", ""


def audit(project, config: Config | None = None) -> AuditResult:
    """Audit every compound, facility and township of a project.

    Parameters
    ----------
    project : Project
    config : Config, optional
        Defaults to ``project.config``.
    """
    config = config or project.config
    as_of, deadline, plan_date = config.as_of(), config.deadline(), config["policy.plan_date"]
    compounds = project.compounds.copy()
    childcare = project.childcare.copy()
    demand = compound_demand(compounds, config)
    compounds = compounds.join(demand.drop(columns="population"), rsuffix="_")
    compounds["population"] = demand["population"]
    childcare = childcare.join(facility_supply(childcare, config))
    catchment = catchment_of(compounds, project.townships)
    compounds["catchment"] = catchment.to_numpy()

    facilities = childcare[childcare["places_supply"] > 0]
    pairs = catchment_pairs(project, compounds, facilities, catchment, config)
    required = compounds["places_required"].to_numpy(dtype=float)
    capacity = facilities["places_supply"].to_numpy(dtype=float)
    pairs["allocated"] = allocate(pairs, required, capacity)

    n = len(compounds)
    rows, cols = pairs["row"].to_numpy(dtype=int), pairs["col"].to_numpy(dtype=int)
    served = np.bincount(rows, weights=pairs["allocated"], minlength=n)
    compounds["places_served"] = np.minimum(served, required)
    compounds["facilities_in_reach"] = np.bincount(rows, minlength=n)
    compounds["places_in_reach"] = np.bincount(rows, weights=capacity[cols] if len(cols) else None, minlength=n)
    flag = np.where(compounds["facilities_in_reach"] == 0, "no_facility",
                    np.where(compounds["places_served"] + _TOL < compounds["places_required"], "under_served", "covered"))
    compounds["flag"] = flag
    compounds = compounds.join(nearest_with_places(project, compounds, childcare, pairs, facilities, catchment, config))

    codes, deadlines, days_left, rules_zh, rules_en, reasons_zh, reasons_en = [], [], [], [], [], [], []
    for i, row in enumerate(compounds.to_dict("records")):
        code, due, days = _compliance(row, plan_date, deadline, as_of)
        group = catchment.iloc[i]
        rz, re_ = _reasons(row, _fmt_limit(group, config, "zh"), _fmt_limit(group, config, "en"))
        ruz, rue = _rule(code, due, days)
        codes.append(code)
        deadlines.append(due)
        days_left.append(days)
        rules_zh.append(ruz)
        rules_en.append(rue)
        reasons_zh.append(rz)
        reasons_en.append(re_)
    compounds["compliance"] = codes
    compounds["deadline"] = deadlines
    compounds["days_left"] = pd.array(days_left, dtype="Int64")
    compounds["rule"] = rules_zh
    compounds["rule_en"] = rules_en
    compounds["reason"] = reasons_zh
    compounds["reason_en"] = reasons_en

    load = np.bincount(cols, weights=pairs["allocated"], minlength=len(facilities)) if len(facilities) else np.zeros(0)
    childcare["load"] = 0.0
    childcare.loc[facilities.index, "load"] = load
    childcare = childcare.join(standards_check(childcare, config))

    alloc = pairs[pairs["allocated"] > _TOL].copy()
    alloc["compound_id"] = compounds["id"].to_numpy()[alloc["row"].to_numpy(dtype=int)]
    alloc["facility_id"] = facilities["id"].to_numpy()[alloc["col"].to_numpy(dtype=int)]
    alloc = alloc[["compound_id", "facility_id", "value", "weight", "allocated"]].reset_index(drop=True)

    townships = township_table(project.townships, compounds, childcare, config)
    guidance = guidance_check(project.townships, project.health, townships, config)
    return AuditResult(compounds=compounds, childcare=childcare, townships=townships, guidance=guidance,
                       allocation=alloc, as_of=as_of, deadline=deadline)


def facility_service_areas(project, result: AuditResult, thresholds=None) -> gpd.GeoDataFrame:
    """Walking service areas of every facility with under-3 places: one polygon per facility per distance.

    Facilities are those with places counted by the audit (a kindergarten without 托班 has none);
    distances default to ``maps.service_area_walk`` (metres along roads, e.g. 300 / 500 / 1,000 m).

    Returns
    -------
    GeoDataFrame
        EPSG:4326: ``facility_id``, ``name``, ``kind``, ``threshold`` (m), ``snap_distance``, geometry.
    """
    from .network import service_areas

    thresholds = sorted(float(d) for d in (project.config["maps.service_area_walk"] if thresholds is None else thresholds))
    fac = result.childcare[result.childcare["places_supply"] > 0]
    cols = ["facility_id", "name", "kind", "threshold", "snap_distance", "geometry"]
    if not thresholds or len(fac) == 0 or project.roads is None:
        return gpd.GeoDataFrame(pd.DataFrame(columns=cols), geometry="geometry", crs="EPSG:4326")
    areas = service_areas(project.roads, fac, thresholds, weight="length",
                          max_snap_distance=project.config["network.snap_max_distance"], crs=project.crs)
    areas = areas[areas["snapped"]]
    info = fac.loc[areas["facility"], ["id", "name", "kind"]].to_numpy()
    out = areas.assign(facility_id=info[:, 0], name=info[:, 1], kind=info[:, 2])
    return out[cols].reset_index(drop=True)


def township_table(townships: gpd.GeoDataFrame, compounds: pd.DataFrame, childcare: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Places per 1,000 by township against the target, with the district total as the last row.

    Population is the township's own figure when known (the resident count the 4.72‰ target
    refers to), else the sum of its compounds. "Places inside" counts every place located in the
    township; "places in reach" the places allocated to its compounds within their catchments.
    """
    target = config["policy.places_per_1000"]
    names = list(townships["name"]) + sorted(set(compounds["township"].dropna()) - set(townships["name"]))
    comp_pop = compounds.groupby("township")["population"].sum()
    inside = childcare.groupby("township")["places_supply"].sum()
    reach = compounds.groupby("township")["places_served"].sum()
    flagged = compounds[compounds["flag"] != "covered"].groupby("township").size()
    kinds = dict(zip(townships["name"], townships["kind"]))
    given = dict(zip(townships["name"], townships["population"]))
    rows = []
    for name in names:
        pop = given.get(name)
        pop = float(pop) if pop is not None and not pd.isna(pop) else float(comp_pop.get(name, 0.0))
        rows.append({"township": name, "kind": kinds.get(name, ""), "population": pop,
                     "compound_population": float(comp_pop.get(name, 0.0)),
                     "places_inside": float(inside.get(name, 0.0)), "places_in_reach": float(reach.get(name, 0.0)),
                     "flagged_compounds": int(flagged.get(name, 0))})
    table = pd.DataFrame(rows)
    table["flagged_compounds"] = table["flagged_compounds"].astype(int)
    total = table[["population", "compound_population", "places_inside", "places_in_reach", "flagged_compounds"]].sum()
    table = pd.concat([table, pd.DataFrame([{"township": "全区合计", "kind": "district", **total.to_dict()}])],
                      ignore_index=True)
    table["places_required"] = table["population"] * target / 1000.0
    with np.errstate(divide="ignore", invalid="ignore"):
        table["places_per_1000"] = np.where(table["population"] > 0, table["places_inside"] / table["population"] * 1000, np.nan)
    table["target_per_1000"] = target
    table["gap"] = (table["places_required"] - table["places_inside"]).clip(lower=0)
    table["meets_target"] = table["places_per_1000"] >= target - 1e-9
    is_tw = table["kind"] != "district"
    table["rank"] = pd.array([pd.NA] * len(table), dtype="Int64")
    table.loc[is_tw, "rank"] = table.loc[is_tw, "places_per_1000"].rank(method="min", ascending=True).astype("Int64")
    return table


def guidance_check(townships: gpd.GeoDataFrame, health: gpd.GeoDataFrame, table: pd.DataFrame, config: Config) -> pd.DataFrame:
    """The "1+8+N" guidance system: 1 district centre, a station per township, ≥ 1 teacher per 10,000.

    Teachers in post come from ``guidance.teachers`` ({township: count}); where unknown, ``teachers_known``
    is empty and ``teachers_ok`` undecided.
    """
    per = config["policy.guidance_teachers_per_10000"]
    known: dict = config["guidance.teachers"]
    rows = []
    centres = health[health["kind"] == "mch_centre"]
    rows.append({"level": "district_centre", "township": "全区", "host": "；".join(centres["name"]) or None,
                 "ok": len(centres) > 0, "teachers_required": None, "teachers_known": None,
                 "note": "依托区妇幼保健计划生育服务中心设区指导中心" if len(centres) else "缺少区妇幼保健计划生育服务中心，无法设立区指导中心"})
    hosts = health[health["kind"].isin(["township_health_centre", "community_health_centre"])]
    pops = dict(zip(table["township"], table["population"]))
    for name in townships["name"]:
        host = hosts[hosts["township"] == name]
        pop = pops.get(name, 0.0)
        need = math.ceil(pop / 10000.0 * per) if pop > 0 else 0
        have = known.get(name)
        note = "依托乡镇卫生院（社区卫生服务中心）设指导站" if len(host) else "本乡镇（街道）无卫生院或社区卫生服务中心，指导站无依托"
        if have is not None and have < need:
            note += f"；指导教师 {have} 名，按每万人口 {per:g} 名需 {need} 名，缺 {need - have} 名"
        rows.append({"level": "township_station", "township": name, "host": "；".join(host["name"]) or None,
                     "ok": len(host) > 0, "teachers_required": need, "teachers_known": have, "note": note})
    district_pop = float(table.loc[table["kind"] == "district", "population"].sum())
    total_known = sum(v for v in known.values()) if known else None
    need_total = math.ceil(district_pop / 10000.0 * per)
    rows.append({"level": "teachers", "township": "全区", "host": None,
                 "ok": None if total_known is None else total_known >= need_total,
                 "teachers_required": need_total, "teachers_known": total_known,
                 "note": f"每万人口不低于 {per:g} 名婴幼儿照护指导教师"})
    out = pd.DataFrame(rows)
    out["teachers_required"] = pd.array(out["teachers_required"], dtype="Int64")
    out["teachers_known"] = pd.array(out["teachers_known"], dtype="Int64")
    out.attrs["stations_present"] = int(out.loc[out["level"] == "township_station", "ok"].sum())
    out.attrs["stations_target"] = config["policy.guidance_stations"]
    return out


_CLASS_TYPES = {"乳儿班": "infant", "托小班": "toddler", "托大班": "senior", "混龄班": "mixed",
                "infant": "infant", "toddler": "toddler", "senior": "senior", "mixed": "mixed"}


def standards_check(childcare: pd.DataFrame, config: Config) -> pd.DataFrame:
    """National 托育机构设置标准（试行） checks where class data exist, and registration status.

    Returns ``registration`` (registered_filed / registered_only / filed_only / neither / unknown)
    and ``standard_issues`` (Chinese, "；"-separated; empty when nothing is wrong or nothing is known).
    """
    issues, registration = [], []
    for row in childcare.to_dict("records"):
        found = []
        ctype = _CLASS_TYPES.get(str(row.get("class_type") or "").strip())
        size = row.get("largest_class")
        if ctype and size is not None and not pd.isna(size):
            limit = config[f"standards.class_size_{ctype}"]
            if size > limit:
                found.append(f"最大班额 {int(size)} 人超过{row['class_type']}上限 {limit} 人")
        enrolled, carers = row.get("enrolled"), row.get("caregivers")
        if ctype and enrolled is not None and carers is not None and not pd.isna(enrolled) and not pd.isna(carers):
            ratio = config[f"standards.children_per_caregiver_{ctype}"]
            needed = math.ceil(int(enrolled) / ratio)
            if int(carers) < needed:
                found.append(f"保育人员 {int(carers)} 人，按 1:{ratio} 在托 {int(enrolled)} 人需 {needed} 人")
        floor = row.get("floor")
        if floor is not None and not pd.isna(floor) and int(floor) > config["standards.max_floor"]:
            found.append(f"婴幼儿用房在 {int(floor)} 层，超过 {config['standards.max_floor']} 层")
        if row.get("kind") == "nursery" and row.get("places_estimated"):
            found.append(f"托位数未知，按默认 {config['supply.default_places_nursery']} 个估算")
        issues.append("；".join(found))
        reg, filed = row.get("registered"), row.get("filed")
        if reg is None or pd.isna(reg):
            registration.append("unknown")
        elif bool(reg) and filed is not None and not pd.isna(filed) and bool(filed):
            registration.append("registered_filed")
        elif bool(reg):
            registration.append("registered_only")
        elif filed is not None and not pd.isna(filed) and bool(filed):
            registration.append("filed_only")
        else:
            registration.append("neither")
    return pd.DataFrame({"registration": registration, "standard_issues": issues}, index=childcare.index)


def write_audit(result: AuditResult, out_dir, lang: str = "zh", access=None, annex=None) -> dict:
    """Write the audit: ``audit.gpkg`` (layers), ``audit.xlsx`` (sheets) and one CSV per table.

    Headers and values are Chinese unless ``lang="en"``. With ``access`` (a
    :class:`siting.access.AccessResult`) the accessibility index before and after the plans, its
    equity table and Lorenz curves are written too: layer ``access``, sheets and
    ``audit_access*.csv``. With ``annex`` (:func:`siting.plan.annex_table`) the list of compounds due,
    overdue or in violation with their remedying site and phase: sheet and ``audit_annex.csv``.
    Returns {name: path}.
    """
    from pathlib import Path

    from .tables import localise, write_csv, write_excel, write_gpkg

    out = Path(out_dir)
    comp_cols = ["id", "name", "township", "kind", "status", "completed", "households", "population", "population_source",
                 "catchment", "places_required", "places_in_reach", "facilities_in_reach", "places_served",
                 "nearest_id", "nearest_facility", "nearest_road_m", "nearest_straight_m", "nearest_status", "nearest_reason",
                 "nearest_reason_en", "flag", "compliance", "deadline", "days_left",
                 "rule", "rule_en", "reason", "reason_en"]
    cc_cols = ["id", "name", "township", "kind", "places", "classes", "places_supply", "places_estimated", "load",
               "registered", "filed", "inclusive", "registration", "standard_issues"]
    compounds = result.compounds[comp_cols + ["geometry"]]
    childcare = result.childcare[[c for c in cc_cols if c in result.childcare] + ["geometry"]]
    tables = {
        # Township rank 1 is the lowest places per 1,000: say so in the header.
        "townships": localise(result.townships.rename(columns={"rank": "shortfall_rank"}), lang),
        "compounds": localise(compounds, lang),
        "childcare": localise(childcare, lang),
        "guidance": localise(result.guidance, lang),
        "allocation": localise(result.allocation, lang),
    }
    sheet_names = {"townships": "乡镇汇总", "compounds": "小区与村庄", "childcare": "托育机构", "guidance": "1+8+N指导体系",
                   "allocation": "托位分配", "access": "可达性（小区）", "access_equity": "可达性公平",
                   "access_lorenz": "可达性洛伦兹曲线", "annex": "须整改小区清单"}
    layers = {"compounds": compounds, "childcare": childcare}
    if access is not None:
        tables.update({"access": localise(access.compounds, lang), "access_equity": localise(access.equity, lang),
                       "access_lorenz": localise(access.lorenz, lang)})
        layers["access"] = access.compounds
    if annex is not None:
        tables["annex"] = localise(annex, lang)
    sheet_names = {k: sheet_names[k] if lang == "zh" else k for k in tables}
    paths = {"audit_gpkg": write_gpkg(layers, out / "audit.gpkg"),
             "audit_xlsx": write_excel({sheet_names[k]: v for k, v in tables.items()}, out / "audit.xlsx")}
    for key, df in tables.items():
        paths[f"{key}_csv"] = write_csv(df, out / f"audit_{key}.csv")
    return paths
