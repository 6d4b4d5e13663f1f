"""The printable briefing for land-allocation meetings: ``briefing.html`` and ``briefing.pdf`` (A4).

Pages: a cover (district, data date, policy basis, as-of date, demo notice), the district summary
(places per 1,000 against the target by township, flagged compounds, remediation deadlines, the
"1+8+N" guidance system), the proposed sites with the coverage curve and what a budget buys, one
small static map per site, and an annex with the methods and every parameter with its source.

The HTML is a single self-contained file (stylesheet inline, charts as PNG data URIs); the PDF
is rendered from it by WeasyPrint. Chinese by default, English with ``lang="en"`` (place names
stay as in the data).
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import math
import tomllib
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__, charts
from .escape import css_string
from .i18n import MESSAGES, t, texts
from .output import atomic_path, write_text
from .tables import VALUES, label, money, number

__all__ = ["write_briefing", "briefing_html", "served_compounds", "budget_frontier", "budget_levels", "PARAM_SECTIONS"]

log = logging.getLogger(__name__)

PARAM_SECTIONS = ("policy", "demand", "supply", "standards", "catchment", "optimize", "access")

_KIND_SHORT = {"parcel": ("地块新建", "new build"), "kindergarten": ("幼儿园托班", "kindergarten 托班"),
               "health": ("卫生院嵌入", "health centre"), "employer": ("用人单位扩班", "employer"),
               "generated": ("需求聚类点", "demand cluster"), "embedded": ("小区内用房", "room in the compound")}
_SECTION_TITLES = {"policy": ("政策", "policy"), "demand": ("需求", "demand"), "supply": ("供给", "supply"),
                   "standards": ("国家设置标准", "national standard"), "catchment": ("服务半径", "catchments"),
                   "optimize": ("选址优化", "optimisation"), "access": ("可达性", "access")}


def _L(lang: str) -> dict[str, str]:
    return texts("brief", lang)


def _money_unit(lang: str) -> str:
    return "万元" if lang == "zh" else "yuan"


def _png_uri(fig, dpi: int = 200) -> str:
    return "data:image/png;base64," + base64.b64encode(charts.to_png(fig, dpi=dpi)).decode("ascii")


# ----------------------------------------------------------------------------- sections


def _meta(project, audit, lang: str) -> dict:
    cfg = project.config
    district = cfg["project.district"] or project.name
    target = cfg["policy.places_per_1000"]
    return {
        "title": t("brief.title", lang, district=district),
        "district": district, "name": project.name, "demo": bool(project.demo),
        "data_date": str(cfg["project.data_date"] or "—"), "plan_id": cfg["policy.plan_id"],
        "plan_date": str(cfg["policy.plan_date"]), "as_of": str(audit.as_of), "deadline": str(audit.deadline),
        "target": target, "version": __version__,
        "target_text": (f"每千人口 {target:g} 个托位（{cfg['policy.plan_id']}）" if lang == "zh"
                        else f"{target:g} places per 1,000 residents ({cfg['policy.plan_id']})"),
    }


def _district_row(audit) -> pd.Series:
    tw = audit.townships
    rows = tw[tw["kind"] == "district"]
    return rows.iloc[-1] if len(rows) else tw.iloc[-1]


def _keyfigs(project, audit, opt, lang: str) -> list[dict]:
    d = _district_row(audit)
    target = project.config["policy.places_per_1000"]
    flagged = int((audit.compounds["flag"] != "covered").sum())
    sites = opt.sites if opt is not None else None
    added = float(sites["places"].sum()) if sites is not None and len(sites) else 0.0
    after = (d["places_inside"] + added) / d["population"] * 1000 if d["population"] > 0 else float("nan")
    zh = lang == "zh"
    figs = [
        {"value": f"{d['places_per_1000']:.2f}", "bad": d["places_per_1000"] < target - 1e-9,
         "label": f"现状每千人口托位数（目标 {target:g}）" if zh else f"places per 1,000 now (target {target:g})"},
        {"value": number(d["gap"]), "bad": d["gap"] > 0, "label": "距目标托位缺口（个）" if zh else "places short of the target"},
        {"value": f"{flagged:,}", "bad": flagged > 0,
         "label": f"问题小区/村庄（共 {len(audit.compounds):,} 个）" if zh else f"compounds flagged (of {len(audit.compounds):,})"},
    ]
    if sites is not None:
        net = float(sites["net_cost"].sum()) if len(sites) else 0.0
        figs += [
            {"value": f"{len(sites)}", "bad": False, "label": "建议新增站点（处）" if zh else "proposed sites"},
            {"value": f"{added:,.0f} / {money(net, lang)}", "bad": False,
             "label": f"新增托位（个）/ 扣除补助后投资（{_money_unit(lang)}）" if zh
             else "new places / cost net of subsidy (yuan)"},
            {"value": f"{after:.2f}", "bad": after < target - 1e-9,
             "label": "实施后每千人口托位数" if zh else "places per 1,000 after the proposal"},
        ]
    return figs


def _townships(audit, lang: str) -> dict:
    zh = lang == "zh"
    head = (["乡镇（街道）", "类型", "常住人口", "辖区内托位", "每千人口托位", "距目标缺口", "排名（低→高）", "问题小区数"] if zh else
            ["Township", "Kind", "Population", "Places inside", "Per 1,000", "Gap to target", "Rank (lowest first)",
             "Flagged compounds"])
    rows = []
    for r in audit.townships.to_dict("records"):
        total = r["kind"] == "district"
        kind = VALUES["kind"].get(r["kind"], r["kind"]) if zh else r["kind"]
        rows.append({"total": total, "bad": not r["meets_target"],
                     "cells": [("全区合计" if zh else "District total") if total else r["township"], kind, number(r["population"]),
                               number(r["places_inside"]), number(r["places_per_1000"], 2), number(r["gap"]),
                               "" if r["rank"] is pd.NA or pd.isna(r["rank"]) else str(int(r["rank"])),
                               number(r["flagged_compounds"])]})
    return {"head": head, "rows": rows}


CONCENTRATED_SHARE = 0.25  # a township meeting the ratio with this share of its compounds flagged is worth a sentence


def concentrated_townships(audit) -> pd.DataFrame:
    """Townships that meet the places-per-1,000 target while many compounds have too little care in reach.

    The ratio counts places anywhere in the township; the catchment audit counts what each compound
    can reach along roads. Both can be true when places sit in a few spots: a per-township minimum
    of new places (``optimize.min_places_per_township``) is then the lever, not the ratio.
    Returns ``township``, ``flagged``, ``compounds`` and ``share``, worst share first.
    """
    tw = audit.townships[(audit.townships["kind"] != "district") & audit.townships["meets_target"]]
    counts = audit.compounds.groupby("township").size()
    out = pd.DataFrame({"township": tw["township"].to_numpy(), "flagged": tw["flagged_compounds"].to_numpy(dtype=int)})
    out["compounds"] = out["township"].map(counts).fillna(0).astype(int)
    out = out[out["compounds"] > 0]
    out["share"] = out["flagged"] / out["compounds"]
    out = out[out["share"] >= CONCENTRATED_SHARE]
    return out.sort_values(["share", "township"], ascending=[False, True]).reset_index(drop=True)


def _concentrated_sentence(audit, lang: str) -> str:
    conc = concentrated_townships(audit)
    if conc.empty:
        return ""
    if lang == "zh":
        parts = "、".join(f"{r.township}（{r.flagged}/{r.compounds} 个）" for r in conc.itertuples())
        which = "该乡镇（街道）" if len(conc) == 1 else "这些乡镇（街道）"
        return (f"{parts}虽已达到每千人口托位目标，但较多小区与村庄在服务半径内托位不足或没有托位：托位集中在少数地点，"
                f"达标不等于就近可及，可为{which}设定“每个乡镇（街道）至少新增的托位数”（见附录参数表）。")
    parts = ", ".join(f"{r.township} ({r.flagged} of {r.compounds} compounds flagged)" for r in conc.itertuples())
    one = len(conc) == 1
    return (f"{parts} {'meets' if one else 'meet'} the places-per-1,000 target, yet many of {'its' if one else 'their'} "
            "compounds have too few places or none within their catchment: the places sit in a few spots, so meeting the "
            f"ratio is not the same as care nearby. A minimum of new places for {'this township' if one else 'these townships'} "
            "(the annex's \"new places required in every township\") addresses it. ")


def _summary_lead(project, audit, lang: str) -> str:
    d = _district_row(audit)
    target = project.config["policy.places_per_1000"]
    tw = audit.townships[audit.townships["kind"] != "district"]
    below = tw[~tw["meets_target"]]
    worst = below.sort_values("places_per_1000").head(3)["township"].tolist()
    if lang == "zh":
        return (f"全区常住人口 {d['population']:,.0f} 人，现有托位 {d['places_inside']:,.0f} 个，每千人口 {d['places_per_1000']:.2f} 个，"
                f"目标 {target:g} 个，需托位 {d['places_required']:,.0f} 个，缺口 {d['gap']:,.0f} 个。"
                + (f"{len(tw)} 个乡镇（街道）中 {len(below)} 个未达标，最低的是{'、'.join(worst)}。" if len(below)
                   else f"{len(tw)} 个乡镇（街道）均已达标。")
                + f"按服务半径沿路计算，小区与村庄可分配到的托位共 {d['places_in_reach']:,.0f} 个。"
                + _concentrated_sentence(audit, lang))
    return (f"The district has {d['population']:,.0f} residents and {d['places_inside']:,.0f} childcare places, "
            f"{d['places_per_1000']:.2f} per 1,000 against a target of {target:g}: {d['places_required']:,.0f} places are "
            f"required, {d['gap']:,.0f} short. "
            + (f"{len(below)} of {len(tw)} townships are below the target; the lowest are {', '.join(worst)}. " if len(below)
               else f"All {len(tw)} townships meet the target. ")
            + f"Along roads within their catchments, compounds can be allocated "
            f"{d['places_in_reach']:,.0f} places in all. "
            + _concentrated_sentence(audit, lang)).rstrip()


def _flags(audit, lang: str) -> dict:
    c = audit.compounds
    zh = lang == "zh"
    head = (["评估结果", "小区/村庄数", "人口", "需求托位", "可分配托位", "缺口托位"] if zh else
            ["Flag", "Compounds", "Population", "Places required", "Places allocated", "Places short"])
    rows = []
    for code in ("no_facility", "under_served", "covered"):
        g = c[c["flag"] == code]
        rows.append({"total": False, "cells": [label("flag", code, lang), f"{len(g):,}", number(g["population"].sum()),
                                               number(g["places_required"].sum()), number(g["places_served"].sum()),
                                               number((g["places_required"] - g["places_served"]).clip(lower=0).sum())]})
    rows.append({"total": True, "cells": ["合计" if zh else "Total", f"{len(c):,}", number(c["population"].sum()),
                                          number(c["places_required"].sum()), number(c["places_served"].sum()),
                                          number((c["places_required"] - c["places_served"]).clip(lower=0).sum())]})
    return {"head": head, "rows": rows}


_DEADLINE_CODES = ("remediate_by_deadline", "overdue", "delivered_without_facility", "plan_with_housing")


def _deadlines(audit, lang: str) -> dict:
    c = audit.compounds
    zh = lang == "zh"
    days = (audit.deadline - audit.as_of).days
    counts = {code: int((c["compliance"] == code).sum()) for code in _DEADLINE_CODES}
    if zh:
        when = f"距期限还有 {days} 天" if days >= 0 else f"已逾期 {-days} 天"
        lead = (f"存量小区缺少托育设施的，须于 {audit.deadline} 前（方案印发后 3 年内）通过购置、置换、租赁、补贴等方式补齐；"
                f"截至 {audit.as_of}，{when}。限期整改 {counts['remediate_by_deadline']:,} 个，逾期未整改 {counts['overdue']:,} 个；"
                f"方案印发后交付但未配套的新建小区 {counts['delivered_without_facility']:,} 个（现已违规），"
                f"在建/规划小区须同步配套 {counts['plan_with_housing']:,} 个。")
    else:
        when = f"{days} days left" if days >= 0 else f"{-days} days overdue"
        lead = (f"Existing compounds lacking childcare must add it by {audit.deadline} (3 years from the plan); as of "
                f"{audit.as_of}: {when}. Due: {counts['remediate_by_deadline']:,}; overdue: {counts['overdue']:,}; delivered "
                f"after the plan without a facility (a violation now): {counts['delivered_without_facility']:,}; to be "
                f"delivered with the housing: {counts['plan_with_housing']:,}.")
    head = ["乡镇（街道）" if zh else "Township"] + [label("compliance", code, lang) for code in _DEADLINE_CODES] + \
           ["人口（待整改）" if zh else "Population (to remedy)"]
    rows = []
    todo = c[c["compliance"].isin(_DEADLINE_CODES)]
    names = list(dict.fromkeys([*audit.townships.loc[audit.townships["kind"] != "district", "township"],
                                *sorted(todo["township"].dropna().unique())]))
    for name in names:
        g = todo[todo["township"] == name]
        rows.append({"total": False, "cells": [name] + [f"{int((g['compliance'] == code).sum()):,}" for code in _DEADLINE_CODES]
                     + [number(g["population"].sum())]})
    rows.append({"total": True, "cells": ["全区合计" if zh else "District"] + [f"{counts[code]:,}" for code in _DEADLINE_CODES]
                 + [number(todo["population"].sum())]})
    return {"lead": lead, "head": head, "rows": rows}


def _guidance(project, audit, lang: str) -> dict:
    g = audit.guidance
    zh = lang == "zh"
    centre = g[g["level"] == "district_centre"]
    stations = g[g["level"] == "township_station"]
    teachers = g[g["level"] == "teachers"]
    target = g.attrs.get("stations_target", project.config["policy.guidance_stations"])
    has_centre = bool(centre["ok"].any()) if len(centre) else False
    n_ok = int(stations["ok"].sum())
    need = int(teachers["teachers_required"].iloc[0]) if len(teachers) and not pd.isna(teachers["teachers_required"].iloc[0]) else 0
    have = teachers["teachers_known"].iloc[0] if len(teachers) and "teachers_known" in teachers else None
    have = None if have is None or pd.isna(have) else int(have)
    if zh:
        lead = (f"“1”：区指导中心{'已有依托' if has_centre else '缺少依托机构'}；“8”：乡镇（街道）指导站 {n_ok}/{target} 个有卫生院或"
                f"社区卫生服务中心依托；“N”：按每万人口不少于 {project.config['policy.guidance_teachers_per_10000']:g} 名，"
                f"全区需婴幼儿照护指导教师 {need} 名"
                + ("（在岗人数未填报，请在项目配置中填写各乡镇在岗指导教师人数，见附录参数表）。" if have is None
                   else f"，在岗 {have} 名{'，已达标' if have >= need else f'，缺 {need - have} 名'}。"))
    else:
        lead = (f"\"1\": the district centre {'has a host' if has_centre else 'has no host institution'}; \"8\": {n_ok} of "
                f"{target} township stations have a health centre to host them; \"N\": at "
                f"{project.config['policy.guidance_teachers_per_10000']:g} per 10,000 residents the district needs {need} "
                f"guidance teachers"
                + (" (teachers in post not given: fill in the teachers in post per township in the project "
                   "configuration, see the annex)." if have is None
                   else f"; {have} in post{' (enough)' if have >= need else f', {need - have} short'}."))
    head = ["层级", "乡镇（街道）", "依托机构", "是否具备", "需配指导教师", "在岗指导教师", "备注"] if zh else \
           ["Level", "Township", "Host", "In place", "Teachers required", "Teachers in post", "Note"]
    rows = []
    for r in g.to_dict("records"):
        ok = r["ok"]
        ok_text = "—" if ok is None or (isinstance(ok, float) and math.isnan(ok)) else (
            ("是" if ok else "否") if zh else ("yes" if ok else "no"))
        level = label("level", r["level"], lang)
        note = r["note"] or ""
        if not zh:
            note = ""
        rows.append({"ok": None if ok_text == "—" else bool(ok),
                     "cells": [level, ("全区" if zh else "district") if r["township"] == "全区" else r["township"],
                               r["host"] if isinstance(r["host"], str) and r["host"] else "—", ok_text, number(r["teachers_required"]), number(r.get("teachers_known")), note]})
    return {"lead": lead, "head": head, "rows": rows}


def _site_code(r) -> str:
    return str(r["source_id"]) if r["kind"] != "generated" else "—"


def site_name(r) -> str:
    """What people call a site: the facility's or compound's name; a parcel (which has none) by township and use."""
    if r["kind"] == "parcel":
        use = r["land_use"] if isinstance(r.get("land_use"), str) and r["land_use"] else ""
        return f"{r['township'] or ''}{use}地块"
    return str(r["name"])


def _site_label(r) -> str:
    """Code and name together, e.g. "YEY002 中楼东方幼儿园" or "— 需求聚类点 3"."""
    return f"{_site_code(r)} {site_name(r)}"


def _sites(project, opt, lang: str) -> dict:
    zh = lang == "zh"
    unit = _money_unit(lang)
    head = (["序号", "编号 / 名称", "类型", "乡镇（街道）", "面积（㎡）", "现状用途", "班/托位", "服务托位",
             "覆盖小区/人口", f"投资（{unit}）", f"补助（{unit}）", f"净投资（{unit}）"] if zh else
            ["Rank", "Code / name", "Kind", "Township", "Area (m²)", "Land use", "Classes / places", "Places served",
             "Compounds / residents", f"Cost ({unit})", f"Subsidy ({unit})", f"Net cost ({unit})"])
    numeric = set(head[4:5] + head[6:])
    s = opt.sites
    rows = []
    for r in s.to_dict("records"):
        kind = _KIND_SHORT[r["kind"]][0 if zh else 1] if r["kind"] in _KIND_SHORT else r["kind_label"]
        rows.append({"cells": [str(r["rank"]), _site_label(r), kind, r["township"] or "—", number(r["area"]),
                               r["land_use"] if isinstance(r["land_use"], str) and r["land_use"] else "—",
                               f"{r['classes']} / {r['places']}", number(r["places_served"]),
                               f"{r['compounds_count']} / {number(r['population_covered'])}", money(r["cost"], lang),
                               money(r["subsidy"], lang), money(r["net_cost"], lang)]})
    tot = (lambda col: float(s[col].sum()) if len(s) else 0.0)
    total = ["合计" if zh else "Total", "", "", "", "", "", f"{tot('classes'):.0f} / {tot('places'):.0f}",
             number(tot("places_served")), f"{tot('compounds_count'):.0f} / {number(tot('population_covered'))}",
             money(tot("cost"), lang), money(tot("subsidy"), lang), money(tot("net_cost"), lang)]
    sc = opt.scenario
    unmet = float(opt.demand["unmet"].sum()) if len(opt.demand) else 0.0
    served = float(s["places_served"].sum()) if len(s) else 0.0
    model = sc.get("model", project.config["optimize.model"])
    status = sc.get("status", "—")
    gap = sc.get("gap", 0.0)
    subsidy = project.config["policy.start_up_subsidy_per_class"]
    if zh:
        how = (f"在预算 {money(sc['budget'], lang)} 万元内" if sc.get("kind") == "budget" else f"按设定新增 {sc.get('p', 0)} 处")
        model_zh = "选址模型（计入各站点托位容量）" if model == "capacitated" else "选址模型（按覆盖范围）"
        proof = ("经求解器证明为最优方案。" if status == "optimal" else
                 f"{label('status', status)}：与可能的最好方案相差不超过 {gap:.1%}。")
        lead = (f"现有设施分配后仍未满足的需求为 {unmet:,.0f} 个托位。{how}，{model_zh}建议 {len(s)} 处站点，新增托位 "
                f"{int(s['places'].sum()) if len(s) else 0} 个，可服务未满足需求 {served:,.0f} 个托位"
                f"（{served / unmet:.1%}）。{proof}" if unmet else
                "现有设施已满足全部需求，无需新增站点。")
        note = (f"投资按每班造价估算（参数见附录）；补助为市级一次性建设补助，每班 {subsidy:,.0f} 元（{project.config['policy.plan_id']}）；"
                "净投资＝投资－补助。地块编码为“—”的是需求聚类点，需另行落实用地。覆盖人口为该站点分配到的小区与村庄的常住人口合计。")
    else:
        how = (f"Within a budget of {sc['budget']:,.0f} yuan" if sc.get("kind") == "budget" else f"With {sc.get('p', 0)} new sites")
        proof = ("It is proven the best plan." if status == "optimal" else
                 f"{label('status', status, 'en')}: at most {gap:.1%} short of the best possible plan.")
        lead = (f"After allocating existing places, {unmet:,.0f} places of demand remain unmet. {how}, the siting "
                f"model{' (counting each site' + chr(39) + 's places)' if model == 'capacitated' else ''} proposes {len(s)} sites with "
                f"{int(s['places'].sum()) if len(s) else 0} new places, serving {served:,.0f} places of unmet demand "
                f"({served / unmet:.1%}). {proof}" if unmet else
                "Existing facilities meet all demand: no new sites are needed.")
        note = (f"Cost is estimated per class (see the annex); the subsidy is the city's one-off start-up subsidy of "
                f"{subsidy:,.0f} yuan per class ({project.config['policy.plan_id']}); net cost = cost - subsidy. Sites with "
                "no parcel code are demand clusters whose land is still to be found. Population is the residents of the "
                "compounds allocated to the site.")
    return {"head": head, "numeric": numeric, "rows": rows, "total": total, "lead": lead, "note": note}


def budget_frontier(curve: pd.DataFrame) -> pd.DataFrame:
    """The plans of the coverage curve that no cheaper (or equally cheap) plan beats: what each budget buys."""
    if len(curve) == 0:
        return curve
    c = curve.sort_values(["cost", "places_served"], ascending=[True, False], kind="stable")
    best = -np.inf
    keep = []
    for i, r in c.iterrows():
        if r["places_served"] > best + 1e-9:
            keep.append(i)
            best = r["places_served"]
    return c.loc[keep].reset_index(drop=True)


def budget_levels(curve: pd.DataFrame, levels: int = 10) -> pd.DataFrame:
    """What round budgets buy: for each level, the plan of the curve with the most places served within it.

    Levels are multiples of a round step (1, 2 or 5 × 10^k yuan) up to the dearest plan of the curve.
    Columns: ``budget`` and the chosen plan's ``p``, ``places_served``, ``share_of_unmet``, ``cost``,
    ``net_cost`` (NaN when no plan fits).
    """
    cols = ["budget", "p", "places_served", "share_of_unmet", "cost", "net_cost"]
    if len(curve) == 0 or float(curve["cost"].max()) <= 0:
        return pd.DataFrame(columns=cols)
    top = float(curve["cost"].max())
    raw = top / levels
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    front = budget_frontier(curve)
    rows = []
    for k in range(1, math.ceil(top / step - 1e-9) + 1):
        b = k * step
        fits = front[front["cost"] <= b + 1e-6]
        if len(fits):
            r = fits.iloc[-1]
            rows.append({"budget": b, **{c: r[c] for c in cols[1:]}})
        else:
            rows.append({"budget": b, **{c: np.nan for c in cols[1:]}})
    return pd.DataFrame(rows, columns=cols)


def _budget(project, opt, lang: str) -> dict:
    zh = lang == "zh"
    unit = _money_unit(lang)
    table = budget_levels(opt.curve)
    sc = opt.scenario
    chosen = sc.get("p")
    head = ([f"预算（{unit}）", "新增站点数", "服务托位", "占未满足需求", f"方案投资（{unit}）", f"扣除补助后（{unit}）"] if zh else
            [f"Budget ({unit})", "New sites", "Places served", "Share of unmet", f"Plan cost ({unit})",
             f"Net of subsidy ({unit})"])
    rows = []
    for r in table.to_dict("records"):
        if pd.isna(r["p"]):
            rows.append({"chosen": False, "cells": [money(r["budget"], lang), "—", "—", "—", "—", "—"]})
            continue
        rows.append({"chosen": int(r["p"]) == chosen,
                     "cells": [money(r["budget"], lang), str(int(r["p"])), number(r["places_served"]),
                               f"{r['share_of_unmet']:.1%}", money(r["cost"], lang), money(r["net_cost"], lang)]})
    pmax = int(opt.curve["p"].max()) if len(opt.curve) else 0
    if zh:
        lead = (f"按覆盖曲线（新增 1…{pmax} 处，每种数量单独求最优）列出各档预算内服务托位最多的方案；投资为总投资，未扣除补助。"
                + (f"当前按预算 {money(sc['budget'], lang)} 万元选定新增 {chosen} 处。" if sc.get("kind") == "budget"
                   else f"当前未设预算，按新增 {chosen} 处提出建议（若某档恰为该方案则加粗）。"))
    else:
        lead = (f"For each budget level, the plan of the coverage curve (1…{pmax} new sites, each solved on its own) that serves "
                f"the most places within it; cost is gross, before the subsidy. "
                + (f"The proposal uses the budget of {sc['budget']:,.0f} yuan: {chosen} new sites." if sc.get("kind") == "budget"
                   else f"No budget is set; the proposal uses {chosen} new sites (in bold where a level buys exactly it)."))
    return {"head": head, "rows": rows, "lead": lead}


def served_compounds(opt, site) -> pd.DataFrame:
    """The demand compounds (rows of ``opt.demand``) a proposed site serves, in the order the site lists them."""
    ids = [i for i in str(site.get("compound_ids") or "").split(",") if i]
    if not ids:
        return opt.demand.iloc[0:0]
    by_id = opt.demand.reset_index().set_index("id")
    return opt.demand.loc[by_id.loc[[i for i in ids if i in by_id.index], "index"].to_numpy()]


def _cards(project, opt, lang: str) -> list[dict]:
    s = opt.sites
    if len(s) == 0:
        return []
    zh = lang == "zh"
    crs = project.crs
    graph = project.roads if project.roads is not None else project.network("walk")
    segments = charts.road_segments(graph, crs)
    demand_m = opt.demand.to_crs(crs) if len(opt.demand) else opt.demand
    others = list(demand_m.geometry) if len(demand_m) else []
    childcare = [g for g in project.childcare.to_crs(crs).geometry if g is not None and not g.is_empty]
    parcels = project.parcels.set_index("id") if len(project.parcels) else None
    sites_m = s.to_crs(crs)
    cards = []
    for (_, row), geom_m in zip(s.iterrows(), sites_m.geometry):
        r = row.to_dict()
        served = served_compounds(opt, row)
        served_m = list(demand_m.loc[served.index].geometry) if len(served) else []
        parcel = None
        if r["kind"] == "parcel" and parcels is not None and r["source_id"] in parcels.index:
            parcel = project.parcels[project.parcels["id"] == r["source_id"]].to_crs(crs).geometry.iloc[0]
        fig = charts.site_map((geom_m.x, geom_m.y), segments, served=served_m, others=others, childcare=childcare,
                              parcel=parcel, lang=lang)
        kind = _KIND_SHORT[r["kind"]][0 if zh else 1] if r["kind"] in _KIND_SHORT else r["kind_label"]
        code = _site_code(r)
        place = r["name"] if r["kind"] != "parcel" else None
        title = " · ".join(x for x in (f"{r['rank']}. {code if code != '—' else r['name']}", kind, r["township"], place) if x)
        names = [n for n in str(r["compounds"] or "").split("、") if n]
        shown = "、".join(names[:8]) + (f" 等 {len(names)} 个" if len(names) > 8 else "") if zh else \
            ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        unit = _money_unit(lang)
        area = f"{number(r['area'])} ㎡" if not (isinstance(r["area"], float) and math.isnan(r["area"])) else "—"
        land_use = r["land_use"] if isinstance(r["land_use"], str) and r["land_use"] else "—"
        if zh:
            facts = [("面积/现状用途", f"{area} / {land_use}"),
                     ("建议规模", f"{r['classes']} 个班，{r['places']} 个托位"),
                     ("服务", f"{number(r['places_served'])} 个托位；{r['compounds_count']} 个小区/村庄，{number(r['population_covered'])} 人"),
                     (f"投资/补助/净（{unit}）", f"{money(r['cost'], lang)} / {money(r['subsidy'], lang)} / {money(r['net_cost'], lang)}"),
                     ("覆盖小区", shown or "—")]
        else:
            facts = [("Area / land use", f"{area} / {land_use}"),
                     ("Proposed", f"{r['classes']} classes, {r['places']} places"),
                     ("Serves", f"{number(r['places_served'])} places; {r['compounds_count']} compounds, {number(r['population_covered'])} residents"),
                     ("Cost/subsidy/net", f"{money(r['cost'], lang)} / {money(r['subsidy'], lang)} / {money(r['net_cost'], lang)}"),
                     ("Compounds", shown or "—")]
        cards.append({"title": title, "map": _png_uri(fig, dpi=180), "facts": facts})
    return cards


def _access(access, lang: str) -> dict:
    """One sentence on access before and after the plans, and the Lorenz chart's legend labels."""
    method = t(f"access.method_{access.settings['method']}", lang)
    decay = t(f"access.decay_{access.settings['decay']}", lang)
    unit = access.unit(lang)
    rows = {s: access.district(s) for s in access.scenarios}
    labels = {s: t(f"access.{s}", lang) + (f"（基尼系数 {number(rows[s]['gini'], 2)}）" if lang == "zh"
                                           else f" (Gini {number(rows[s]['gini'], 2)})") for s in access.scenarios}
    first, last = rows[access.scenarios[0]], rows[access.scenarios[-1]]
    means = "，".join(f"{t(f'access.{s}', lang)} {number(rows[s]['access_mean'], 1)}" for s in access.scenarios) \
        if lang == "zh" else ", ".join(f"{number(rows[s]['access_mean'], 1)} {t(f'access.{s}', lang)}"
                                        for s in access.scenarios)
    pct = lambda v: "—" if pd.isna(v) else f"{v:.1%}"  # noqa: E731
    if lang == "zh":
        sentence = (f"按{method}、{decay}，沿各小区服务半径计算，按婴幼儿加权的平均可达性（{unit}）为：{means}；"
                    f"基尼系数由 {number(first['gini'], 3)} 变为 {number(last['gini'], 3)}，"
                    f"可达性低于目标 {number(access.threshold, 1)} 的婴幼儿占比由 {pct(first['share_below'])} "
                    f"变为 {pct(last['share_below'])}。")
    else:
        sentence = (f"By {method} ({decay} decay) within each compound's catchment along roads, child-weighted mean "
                    f"access ({unit}) is {means}; the Gini coefficient goes from {number(first['gini'], 3)} to "
                    f"{number(last['gini'], 3)} and the share of children below the target of "
                    f"{number(access.threshold, 1)} from {pct(first['share_below'])} to {pct(last['share_below'])}.")
    return {"sentence": sentence, "labels": labels}


def _fmt_param(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):  # never "2e+04": whole numbers as such, others to 4 significant digits
        return f"{v:,.0f}" if v.is_integer() or abs(v) >= 1e4 else f"{v:,.4g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt_param(x) for x in v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _params(config, lang: str) -> list[dict]:
    from .config import DEFAULTS_PATH

    try:
        defaults = tomllib.loads(Path(DEFAULTS_PATH).read_text(encoding="utf-8"))
    except OSError:
        defaults = {}
    groups = []
    for section in PARAM_SECTIONS:
        table = config.params.get(section, {})
        rows = []
        for key, value in table.items():
            full = f"{section}.{key}"
            default = defaults.get(section, {}).get(key, value)
            overridden = _fmt_param(default) != _fmt_param(value)
            rows.append({"key": full, "label": t(f"param.{full}", lang) if f"param.{full}" in MESSAGES else "",
                         "value": _fmt_param(value), "source": config.source(full) or "—", "overridden": overridden})
        groups.append({"section": section, "title": _SECTION_TITLES[section][0 if lang == "zh" else 1], "rows": rows})
    return groups


def _methods(project, lang: str) -> list[str]:
    c = project.config

    def limit(group):
        w, v = c[f"catchment.{group}_weight"], c[f"catchment.{group}_limit"]
        net = c[f"catchment.{group}_network"]
        if lang == "zh":
            return f"{'步行' if net == 'walk' else '驾车'} {v:g} 米" if w == "length" else f"{'步行' if net == 'walk' else '驾车'} {v / 60:g} 分钟"
        return f"{v:g} m {'walk' if net == 'walk' else 'drive'}" if w == "length" else f"{v / 60:g} min {'walk' if net == 'walk' else 'drive'}"

    if lang == "zh":
        return [
            f"需求：每个小区/村庄的需求托位＝常住人口 × 每千人 {c['policy.places_per_1000']:g} 个（{c['policy.plan_id']}）"
            "；人口缺失时按户数 × 户均人口推算。",
            f"服务半径沿道路计算：街道小区 {limit('street')}，镇区 {limit('town')}，村庄 {limit('village')}"
            "（GB 50180-2018 生活圈及可调参数）。",
            "托位分配：以运输线性规划（HiGHS）把现有设施的托位分配给服务半径内的小区，使分配总量最大、每个设施不被重复计算；"
            "分配不足为“托位不足”，半径内无设施为“服务范围内无设施”。",
            f"合规：方案印发（{c['policy.plan_date']}）前建成且未覆盖的小区须在 {c['policy.remediation_years']} 年内整改；"
            "印发后交付而未配套的为违规；在建/规划的须同步配套。",
            "选址：候选点为面积足够的闲置/低效地块、未开设托班的幼儿园、乡镇卫生院/社区卫生服务中心及未满足需求的聚类点；"
            "以有容量约束的最大覆盖模型（HiGHS 混合整数规划）在 p 个新站点内最大化可服务的未满足托位，并对 p = 1…P 逐一求解得到覆盖曲线；"
            f"模型同时决定每处开设几个班（每班 {c['optimize.class_size']:g} 个托位，不超过该处可容纳班数），投资按所开班数计，预算按实际开班投资约束。",
            "各乡镇每千人口托位数按辖区内全部托位 ÷ 乡镇常住人口计算，与“服务半径内可分配托位”不同。",
            "全面达标方案：以有容量约束的成本最小覆盖模型（HiGHS 混合整数规划，求解后逐项核验）求最省投资的站点与托班，"
            "使全部限期整改、逾期和违规小区在服务半径内足额服务，且各乡镇达到每千人口目标；候选点另加方案所列“购置、置换、租赁”的"
            f"小区内用房（每班 {c['optimize.cost_per_class_embedded']:,.0f} 元，至多 {c['optimize.embedded_max_classes']} 个班），"
            "仍无法服务的小区列明原因。",
            "分阶段计划：整改期限前按季度、其后按年度，每阶段受预算与可建托班数约束；多阶段模型先使逾期“托位·天”最少"
            f"（违规小区按 {c['optimize.phase_violation_weight']:g} 倍计），再使投资最少，同等条件下期限早的先建。",
        ]
    return [
        f"Demand: places required per compound = residents × {c['policy.places_per_1000']:g} per 1,000 "
        f"({c['policy.plan_id']}); missing residents are estimated from households × persons per household.",
        f"Catchments along roads: street compounds {limit('street')}, town seats {limit('town')}, villages "
        f"{limit('village')} (GB 50180-2018 life circles, configurable).",
        "Allocation: a transport linear programme (HiGHS) allocates existing places to compounds within reach, maximising "
        "the places allocated with no facility counted twice; short allocations are 'under-served', none in reach 'no facility'.",
        f"Compliance: compounds completed before the plan ({c['policy.plan_date']}) and not covered must remedy within "
        f"{c['policy.remediation_years']} years; those delivered after it without a facility are violations; planned ones "
        "must get it with the housing.",
        "Siting: candidates are idle or inefficient parcels large enough, kindergartens without 托班, township and community "
        "health centres, and clusters of unmet demand; a capacitated maximal covering model (HiGHS MIP) maximises the unmet "
        "places served by p new sites, solved for each p = 1…P to give the coverage curve. The model also chooses how many "
        f"classes each site opens ({c['optimize.class_size']:g} places a class, up to what the site can hold); costs and "
        "the budget count the classes opened.",
        "Places per 1,000 by township count every place located in the township over its residents; this differs from "
        "the places allocated within catchments.",
        "Full compliance: a capacitated least-cost covering model (HiGHS MIP, its answer checked afterwards) finds the "
        "cheapest sites and classes serving every compound due, overdue or in violation in full within its catchment and "
        "bringing every township to the per-1,000 target; besides the candidates above it may use a room bought, swapped "
        f"or rented in the compound, as the plan allows ({c['optimize.cost_per_class_embedded']:,.0f} yuan a class, up to "
        f"{c['optimize.embedded_max_classes']} classes); compounds that still cannot be served are listed with the reason.",
        "Phased plan: quarters up to the deadline, then years, each within its budget and the classes it can build; a "
        "multi-period model first minimises the place-days past deadline (violations counted "
        f"{c['optimize.phase_violation_weight']:g} times), then the cost, earlier deadlines first among equals.",
    ]


# ----------------------------------------------------------------------------- rendering


def _env():
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("siting", "templates"),
                              autoescape=jinja2.select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)


def briefing_html(project, audit, optimize=None, lang: str = "zh", access=None) -> str:
    """The briefing as one self-contained HTML document (charts inline as PNG data URIs).

    With ``access`` (:class:`siting.access.AccessResult`) the proposals section says in one
    sentence how access and its spread change with the plans, with their Lorenz curves.

    Raises :class:`siting.charts.FontMissingError` when no CJK font is installed.
    """
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    font = charts.find_cjk_font()
    L = _L(lang)
    ctx = {
        "lang": lang, "L": L, "m": _meta(project, audit, lang),
        "css": resources.files("siting").joinpath("templates/briefing.css").read_text(encoding="utf-8"),
        "font_face": font.as_uri(),
        "keyfigs": _keyfigs(project, audit, optimize, lang),
        "summary": {"lead": _summary_lead(project, audit, lang)},
        "townships": _townships(audit, lang), "flags": _flags(audit, lang), "deadlines": _deadlines(audit, lang),
        "guidance": _guidance(project, audit, lang),
        "charts": {"townships": _png_uri(charts.township_chart(audit.townships, project.config["policy.places_per_1000"], lang))},
        "params": _params(project.config, lang), "methods": _methods(project, lang), "cards": [],
    }
    meta = ctx["m"]
    ctx["running"] = {"title": css_string(f"{meta['district']} · {L['short_title']}"),
                      "demo": css_string(L["demo_mark"]) if meta["demo"] else "none"}
    from . import brief_ask

    ctx["decision"] = brief_ask.decision(project, audit, optimize, lang)
    ctx["phases"] = brief_ask.phase_table(optimize, lang) if optimize is not None else {"head": [], "rows": [], "lead": ""}
    annex = None
    if optimize is not None and getattr(optimize, "comply", None) is not None:
        from .plan import annex_table

        annex = annex_table(audit, optimize)
    ctx["annex_list"] = {"head": brief_ask.ANNEX_HEAD[lang], "groups": brief_ask.annex_groups(annex, lang)}
    if optimize is not None:
        ctx["sites"] = _sites(project, optimize, lang)
        ctx["budget"] = _budget(project, optimize, lang)
        ctx["cards"] = _cards(project, optimize, lang)
        if len(optimize.curve):
            ctx["charts"]["curve"] = _png_uri(charts.coverage_chart(optimize.curve, optimize.scenario.get("p"), lang))
    else:
        none = "未运行选址优化。" if lang == "zh" else "The optimisation stage was not run."
        ctx["sites"] = {"head": [], "numeric": set(), "rows": [], "total": [], "lead": none, "note": ""}
        ctx["budget"] = {"head": [], "rows": [], "lead": none}
    if access is not None:
        ctx["access"] = _access(access, lang)
        ctx["charts"]["lorenz"] = _png_uri(charts.lorenz_chart(access.lorenz, ctx["access"]["labels"], lang))
    return _env().get_template("briefing.html.j2").render(**ctx)


def write_briefing(project, audit, optimize=None, out_dir="maps", lang: str = "zh", pdf: bool = True,
                   access=None) -> dict:
    """Write ``briefing.html`` and ``briefing.pdf`` to ``out_dir`` (each atomically).

    Parameters
    ----------
    project : Project
    audit : AuditResult
    optimize : OptimizeResult, optional
        Without it the briefing has the audit only.
    out_dir : str or Path
    lang : {"zh", "en"}
    pdf : bool
        Render the PDF too (needs WeasyPrint, the ``pdf`` extra). When WeasyPrint is missing a
        warning is issued and only the HTML is written.
    access : AccessResult, optional
        The accessibility index before and after the plans (a sentence and a chart).

    Returns
    -------
    dict
        ``{"briefing_html": Path, "briefing_pdf": Path}`` (the PDF only when written).
    """
    out = Path(out_dir)
    html = briefing_html(project, audit, optimize, lang, access=access)
    paths = {"briefing_html": write_text(out / "briefing.html", html)}
    if not pdf:
        return paths
    try:
        import weasyprint
    except ImportError:
        warnings.warn("WeasyPrint is not installed: wrote briefing.html only. Install it with pip install 'siting[pdf]' "
                      "（未安装 WeasyPrint，仅生成 briefing.html）", RuntimeWarning, stacklevel=2)
        return paths
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    document = weasyprint.HTML(string=html, base_url=str(out.resolve())).render()
    with atomic_path(out / "briefing.pdf") as tmp:
        document.write_pdf(tmp)
    paths["briefing_pdf"] = out / "briefing.pdf"
    log.info("briefing.pdf: %d pages", len(document.pages))
    return paths
