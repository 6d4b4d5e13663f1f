"""Tables for people: Chinese (or English) headers and category labels, written atomically."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .escape import FORMULA_START, cell
from .output import atomic_path
from .schema import LABELS

__all__ = ["COLUMNS", "DECIMALS", "VALUES", "VALUES_EN", "label", "localise", "missing", "money", "number", "write_csv", "write_excel", "write_gpkg"]

# column → (Chinese, English)
COLUMNS: dict[str, tuple[str, str]] = {
    "id": ("编号", "ID"),
    "name": ("名称", "Name"),
    "township": ("乡镇（街道）", "Township"),
    "kind": ("类型", "Kind"),
    "households": ("户数", "Households"),
    "population": ("人口", "Population"),
    "population_source": ("人口来源", "Population source"),
    "completed": ("竣工日期", "Completed"),
    "status": ("状态", "Status"),
    "catchment": ("服务半径类别", "Catchment"),
    "places_required": ("需求托位", "Places required"),
    "places_in_reach": ("服务范围内托位", "Places in reach"),
    "facilities_in_reach": ("服务范围内设施数", "Facilities in reach"),
    "nearest_id": ("最近托育设施编号", "Nearest facility id"),
    "nearest_facility": ("最近托育设施（直线）", "Nearest facility with places (straight line)"),
    "nearest_road_m": ("沿道路距离（米）", "Distance along roads (m)"),
    "nearest_straight_m": ("直线距离（米）", "Straight-line distance (m)"),
    "nearest_status": ("是否计入", "Counts?"),
    "nearest_reason": ("最近设施说明", "Nearest facility note"),
    "nearest_reason_en": ("最近设施说明（英文）", "Nearest facility note"),
    "flag": ("评估结果", "Flag"),
    "compliance": ("合规状态", "Compliance"),
    "deadline": ("整改期限", "Deadline"),
    "days_left": ("剩余天数", "Days left"),
    "rule": ("依据", "Rule"),
    "rule_en": ("依据（英文）", "Rule"),
    "reason": ("说明", "Reason"),
    "reason_en": ("说明（英文）", "Reason"),
    "places": ("托位数", "Places"),
    "classes": ("托班数", "Classes"),
    "registered": ("已登记", "Registered"),
    "filed": ("已备案", "Filed"),
    "inclusive": ("普惠", "Inclusive"),
    "enrolled": ("在托人数", "Enrolled"),
    "caregivers": ("保育人员数", "Caregivers"),
    "largest_class": ("最大班额", "Largest class"),
    "class_type": ("班型", "Class type"),
    "floor": ("所在楼层", "Floor"),
    "places_supply": ("计入托位", "Places counted"),
    "places_estimated": ("托位为估算", "Places estimated"),
    "load": ("已分配托位", "Places allocated"),
    "registration": ("登记备案情况", "Registration"),
    "standard_issues": ("设置标准问题", "Standard issues"),
    "compound_population": ("小区与村庄人口合计", "Population in compounds"),
    "places_inside": ("辖区内托位", "Places inside"),
    "places_per_1000": ("每千人口托位数", "Places per 1,000"),
    "target_per_1000": ("目标（每千人）", "Target per 1,000"),
    "gap": ("托位缺口", "Gap to target"),
    "meets_target": ("是否达标", "Meets target"),
    "rank": ("排名", "Rank"),
    "shortfall_rank": ("排名（托位率由低到高）", "Rank (lowest places per 1,000 first)"),
    "kind_label": ("类型", "Kind"),
    "source_id": ("来源编号（地块编码等）", "Source id (parcel code etc.)"),
    "capacity_classes": ("可容纳班数", "Classes possible"),
    "capacity_places": ("可容纳托位", "Places possible"),
    "cost": ("估算投资（元）", "Cost (yuan)"),
    "subsidy": ("开办补助（元）", "Start-up subsidy (yuan)"),
    "net_cost": ("扣除补助后投资（元）", "Net cost (yuan)"),
    "places_served": ("可分配托位", "Places allocated"),
    "marginal_places": ("新增覆盖托位（按排名递加）", "Marginal places (in rank order)"),
    "compounds": ("覆盖小区与村庄", "Compounds served"),
    "compounds_count": ("覆盖小区数", "Compounds served (count)"),
    "compound_ids": ("覆盖小区编号", "Compound ids"),
    "population_covered": ("覆盖人口", "Population covered"),
    "p": ("新增设施数", "New sites (p)"),
    "share_of_unmet": ("占未满足需求比例", "Share of unmet places"),
    "mip_gap": ("最优性间隙", "MIP gap"),
    "flagged_compounds": ("问题小区数", "Flagged compounds"),
    "level": ("层级", "Level"),
    "host": ("依托机构", "Host"),
    "ok": ("是否具备", "In place"),
    "teachers_required": ("需配指导教师", "Teachers required"),
    "teachers_known": ("现有指导教师", "Teachers in post"),
    "note": ("备注", "Note"),
    "compound_id": ("小区编号", "Compound"),
    "facility_id": ("设施编号", "Facility"),
    "value": ("距离/时间", "Distance/time"),
    "weight": ("度量", "Measure"),
    "allocated": ("分配托位", "Places allocated"),
    "area": ("面积（㎡）", "Area (m²)"),
    "land_use": ("现状用途", "Land use"),
    "ownership": ("权属", "Ownership"),
    # the full-compliance plan and its phases
    "unmet": ("未满足托位", "Unmet places"),
    "served": ("可服务托位", "Places served"),
    "unserved": ("仍无法服务托位", "Places left unserved"),
    "site_id": ("整改站点编号", "Remedying site"),
    "site_name": ("整改站点名称", "Remedying site name"),
    "site_kind": ("整改站点类型", "Remedying site kind"),
    "sites_count": ("服务站点数", "Sites serving it"),
    "unserved_reason": ("无法服务原因", "Why unserved"),
    "unserved_reason_en": ("无法服务原因（英文）", "Why unserved"),
    "new_places": ("新增托位", "New places"),
    "places_per_1000_after": ("实施后每千人口托位", "Places per 1,000 after"),
    "target_shortfall": ("候选点不足以达标的托位", "Places the candidates cannot add"),
    "parcel_name": ("地块名称", "Parcel name"),
    "facility_name": ("设施名称", "Facility name"),
    "phase": ("实施阶段", "Phase"),
    "phase_end": ("阶段截止日期", "Phase ends"),
    "start": ("开始日期", "Starts"),
    "budget": ("预算（元）", "Budget (yuan)"),
    "class_limit": ("可建托班上限", "Classes that can be built"),
    "sites_opened": ("新开站点数", "Sites opened"),
    "site_list": ("新开站点（编号 名称 班数）", "Sites opened (code, name, classes)"),
    "compounds_remedied": ("本阶段足额服务小区数", "Compounds served in full this phase"),
    "remedied_list": ("本阶段足额服务小区（期限）", "Compounds served in full (deadline)"),
    "compounds_late": ("阶段末仍逾期小区数", "Compounds late at the phase's end"),
    "places_late": ("阶段末逾期托位", "Places late at the phase's end"),
    "district_per_1000": ("阶段末全区每千人口托位", "District places per 1,000 at the phase's end"),
    "townships_below_target": ("阶段末未达标乡镇数", "Townships below target at the phase's end"),
    "townships_below_list": ("阶段末未达标乡镇（每千人口托位）", "Townships below target (places per 1,000)"),
    # accessibility index (siting.access)
    "scenario": ("情景", "Scenario"),
    "children": ("婴幼儿数（需求）", "Children (demand)"),
    "access_existing": ("可达性：现状（每千名婴幼儿托位）", "Access: today (places per 1,000 children)"),
    "access_plan": ("可达性：建议方案实施后", "Access: with the proposed sites"),
    "access_comply": ("可达性：全部合规后", "Access: with full compliance"),
    "access_mean": ("平均可达性（按婴幼儿加权）", "Mean access (child-weighted)"),
    "access_min": ("最低可达性", "Lowest access"),
    "access_max": ("最高可达性", "Highest access"),
    "gini": ("基尼系数", "Gini coefficient"),
    "share_below": ("低于目标的婴幼儿占比", "Share of children below target"),
    "children_below": ("低于目标的婴幼儿数", "Children below target"),
    "population_share": ("婴幼儿累计占比", "Cumulative share of children"),
    "access_share": ("可达托位累计占比", "Cumulative share of access"),
}

# value labels per column (Chinese); English keeps the codes.
VALUES: dict[str, dict[str, str]] = {
    "flag": {"covered": "已覆盖", "under_served": "托位不足", "no_facility": "服务范围内无设施"},
    "compliance": {"compliant": "符合", "delivered_without_facility": "交付未配套（违规）",
                   "remediate_by_deadline": "限期整改", "overdue": "逾期未整改", "plan_with_housing": "须同步配套"},
    "catchment": {"street": "街道", "town": "镇", "village": "村庄"},
    "population_source": {"given": "填报", "households": "户数推算", "buildings": "建筑推算", "unknown": "未知"},
    "registration": {"registered_filed": "已登记已备案", "registered_only": "已登记未备案", "filed_only": "已备案未登记",
                     "neither": "未登记未备案", "unknown": "未知"},
    "level": {"district_centre": "区指导中心", "township_station": "乡镇（街道）指导站", "teachers": "指导教师"},
    "weight": {"length": "米", "travel_time": "秒"},
    "nearest_status": {"counts": "计入", "beyond_catchment": "超出服务范围（沿道路）", "no_places_left": "托位已分配完",
                       "not_under3": "不提供3岁以下托位", "not_needed": "需求已由其他设施满足"},
    "kind": {**LABELS["compound_kind"], **LABELS["childcare_kind"], **LABELS["health_kind"], **LABELS["township_kind"],
             "district": "全区", "quarter": "季度", "year": "年度"},
    "status": {**LABELS["compound_status"], **LABELS["parcel_status"],
               # solver outcomes (the coverage curve)
               "optimal": "最优", "heuristic": "启发式解（未证明最优）", "time_limit": "达到时间上限（可行解）",
               "gap_limit": "达到间隙上限（可行解）", "feasible": "可行解（最优性未获证明）", "unverified": "未通过核验", "infeasible": "无可行解",
               "no_solution": "未找到解",
               "nothing_to_do": "无需新增", "budget_too_small": "预算不足"},
    "ownership": LABELS["ownership"],
    "scenario": {"existing": "现状", "plan": "建议方案实施后", "comply": "全部合规后"},
}

# English labels for people (tables in English keep the codes, which scripts rely on).
VALUES_EN: dict[str, dict[str, str]] = {
    "flag": {"covered": "Covered", "under_served": "Under-served", "no_facility": "No facility in reach"},
    "compliance": {"compliant": "Compliant", "delivered_without_facility": "Delivered without facility (violation)",
                   "remediate_by_deadline": "Remediate by deadline", "overdue": "Overdue",
                   "plan_with_housing": "To be delivered with the housing"},
    "nearest_status": {"counts": "counts", "beyond_catchment": "beyond the catchment along roads",
                       "no_places_left": "no places left after allocation", "not_under3": "not an under-3 provider",
                       "not_needed": "need met by other facilities"},
    "level": {"district_centre": "district guidance centre", "township_station": "township station",
              "teachers": "guidance teachers"},
}


# Decimals shown in tables for people: places are whole (a child takes a whole place; solver
# results like 60.000000000001506 or 94.754 read as 60 and 95). Data files (GeoPackage) keep the
# model's fractions. 0 means a whole number (nullable integer column).
DECIMALS: dict[str, int] = {
    **dict.fromkeys(("population", "compound_population", "population_covered", "households", "cost", "subsidy", "budget",
                     "net_cost", "area", "value", "nearest_road_m", "nearest_straight_m", "flagged_compounds",
                     "places_required", "places_in_reach", "places_inside", "places_supply", "gap", "load",
                     "allocated", "places_served", "marginal_places", "unmet", "served", "unserved", "new_places",
                     "target_shortfall", "places_late"), 0),
    **dict.fromkeys(("places_per_1000", "target_per_1000", "places_per_1000_after", "district_per_1000"), 2),
    "share_of_unmet": 3,
    "mip_gap": 4,
    **dict.fromkeys(("children", "children_below", "access_existing", "access_plan", "access_comply", "access_mean",
                     "access_min", "access_max"), 1),
    **dict.fromkeys(("gini", "share_below"), 3),
    **dict.fromkeys(("population_share", "access_share"), 4),
}


def _rounded(df: pd.DataFrame) -> pd.DataFrame:
    for col, decimals in DECIMALS.items():
        if col in df.columns and pd.api.types.is_float_dtype(df[col]):
            df[col] = df[col].round(decimals)
            if decimals == 0:
                df[col] = df[col].astype("Int64")
    return df


def missing(v) -> bool:
    """None, NaN, NaT or pd.NA: a value people should read as "—"."""
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def number(v, digits: int = 0) -> str:
    """A number for people: thousands separators, ``digits`` decimals, "—" when missing."""
    return "—" if missing(v) else f"{float(v):,.{digits}f}"


def money(v, lang: str = "zh") -> str:
    """Yuan for people, without the unit: 万元 in Chinese ("412", "37.5"), whole yuan in English; "—" when missing.

    Chinese amounts of 100 万元 or more are whole; smaller ones keep one decimal unless it is 0.
    """
    if missing(v):
        return "—"
    if lang != "zh":
        return f"{float(v):,.0f}"
    wan = float(v) / 1e4
    text = f"{wan:,.0f}" if abs(wan) >= 100 else f"{wan:,.1f}"
    return text[:-2] if text.endswith(".0") else text


def label(column: str, code, lang: str = "zh"):
    """The label people read for a category code of ``column`` (the code itself when there is none)."""
    table = (VALUES if lang == "zh" else VALUES_EN).get(column, {})
    return table.get(code, code) if isinstance(code, str) else code


def localise(df: pd.DataFrame, lang: str = "zh", drop_english: bool = True) -> pd.DataFrame:
    """Headers, category values and rounding for people: Chinese by default, English codes with ``lang="en"``.

    Numbers are rounded as :data:`DECIMALS` says (a tenth of a place, whole people and yuan).
    """
    out = _rounded(pd.DataFrame(df.drop(columns=[c for c in ("geometry",) if c in df.columns])).copy())
    if lang == "zh":
        if drop_english:
            out = out.drop(columns=[c for c in out.columns if str(c).endswith("_en")])
        for col, labels in VALUES.items():
            if col in out.columns:
                out[col] = out[col].map(lambda v, lab=labels: lab.get(v, v) if isinstance(v, str) else v)
        for col in out.columns:
            if pd.api.types.is_bool_dtype(out[col]):
                out[col] = out[col].map({True: "是", False: "否"})
    else:
        english = [c for c in out.columns if str(c).endswith("_en") and str(c)[:-3] in out.columns]
        out = out.drop(columns=[c[:-3] for c in english]).rename(columns={c: c[:-3] for c in english})
    idx = 0 if lang == "zh" else 1
    return out.rename(columns={c: COLUMNS[c][idx] for c in out.columns if c in COLUMNS})


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """CSV in UTF-8 with BOM, which Excel on Chinese Windows opens correctly.

    Text that a spreadsheet would run as a formula (``=HYPERLINK(…)``) gets a leading apostrophe
    (:func:`siting.escape.cell`), which Excel and WPS read as "this cell is text".
    """
    out = df.copy()
    out.columns = [cell(c) for c in out.columns]
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_datetime64_any_dtype(out[col])):
            out[col] = out[col].map(cell).astype(object)
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False, encoding="utf-8-sig")
    return Path(path)


def write_excel(sheets: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """Sheets of an XLSX workbook; text is always stored as text, never as a formula.

    openpyxl stores any string starting with ``=`` as a formula. Such cells (and every cell
    starting with a character of :data:`siting.escape.FORMULA_START`) are written as strings with
    Excel's quote-prefix style, so Excel and WPS show the text as it is and keep it text when edited.
    """
    with atomic_path(path) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            for name, df in sheets.items():
                df.to_excel(xl, sheet_name=name[:31], index=False)
                for row in xl.sheets[name[:31]].iter_rows():
                    for c in row:
                        if isinstance(c.value, str) and c.value.startswith(FORMULA_START):
                            c.data_type = "s"
                            c.quotePrefix = True
    return Path(path)


def _gpkg_ready(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    for col in out.columns:
        if col == out.geometry.name:
            continue
        if out[col].dtype == object and out[col].map(lambda v: isinstance(v, dt.date)).any():
            out[col] = out[col].map(lambda v: v.isoformat() if isinstance(v, dt.date) else v)
        elif str(out[col].dtype) == "boolean":
            # GeoPackage has no nullable boolean: store 1/0 with NULL for unknown.
            out[col] = out[col].astype("Int64")
    return out


def write_gpkg(layers: dict[str, gpd.GeoDataFrame], path: str | Path) -> Path:
    """Several layers in one GeoPackage, replaced as a whole."""
    with atomic_path(path) as tmp:
        for name, gdf in layers.items():
            _gpkg_ready(gdf).to_file(tmp, layer=name, driver="GPKG", engine="pyogrio")
    return Path(path)
