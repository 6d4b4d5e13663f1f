"""The briefing's ask: page 1's decision points, the phased plan table and the annex of compounds to remedy.

Built from the audit, the proposal, the full-compliance plan (:mod:`siting.plan`) and its phases
(:mod:`siting.phases`); every sentence in Chinese by default, English with ``lang="en"``.
"""

from __future__ import annotations

import pandas as pd

from .tables import label, missing, money, number

__all__ = ["decision", "phase_table", "annex_groups", "reconcile_sentence"]


def _district(audit) -> pd.Series:
    tw = audit.townships
    return tw[tw["kind"] == "district"].iloc[-1]


def _unit(lang: str) -> str:
    return "万元" if lang == "zh" else "yuan"


def reconcile_sentence(audit, lang: str) -> str:
    """One sentence on the two shortfalls: places against the per-1,000 target, and places unmet within catchments."""
    d = _district(audit)
    c = audit.compounds
    unmet = float((c["places_required"] - c["places_served"]).clip(lower=0).sum())
    target = float(d["target_per_1000"])
    gap = float(d["gap"])
    if lang == "zh":
        why = ("后者更大：现有托位集中在少数地点，许多小区服务半径内没有托位，总量达标也不等于就近可及" if unmet > gap else
               "前者更大：服务半径内可及的托位之外，全区托位总量仍不足")
        return (f"两个缺口口径不同：按每千人口 {target:g} 个的目标，全区托位总数缺 {number(gap)} 个；按服务半径沿路计算，"
                f"小区就近分配不到的托位为 {number(unmet)} 个。{why}。")
    why = ("the second is larger: today's places sit in a few spots, so many compounds have none within their catchment "
           "even where the totals add up" if unmet > gap else
           "the first is larger: beyond what compounds can reach, the district has too few places in total")
    return (f"The two shortfalls count different things: against {target:g} places per 1,000 the district has "
            f"{number(gap)} places too few in total; along roads within catchments, compounds cannot be allocated "
            f"{number(unmet)} places. {why[0].upper() + why[1:]}.")


def _counts(audit) -> dict:
    c = audit.compounds["compliance"]
    return {k: int((c == k).sum()) for k in ("remediate_by_deadline", "overdue", "delivered_without_facility")}


def decision(project, audit, opt, lang: str) -> list[str]:
    """Page 1: places short; what the proposal buys; what remains; full compliance's cost and sites; phase 1."""
    zh = lang == "zh"
    d = _district(audit)
    target = float(d["target_per_1000"])
    n = _counts(audit)
    flagged = sum(n.values())
    days = (audit.deadline - audit.as_of).days
    unit = _unit(lang)
    out = []
    if zh:
        out.append(f"缺口：全区常住人口 {number(d['population'])} 人、现有托位 {number(d['places_inside'])} 个（每千人口 "
                   f"{d['places_per_1000']:.2f} 个），距 {target:g} 个的目标缺 {number(d['gap'])} 个托位；须整改小区 {flagged} 个"
                   f"（限期 {audit.deadline} 前整改 {n['remediate_by_deadline']} 个、距期限 {days} 天，逾期 {n['overdue']} 个，"
                   f"交付未配套已违规 {n['delivered_without_facility']} 个）。")
    else:
        out.append(f"Shortfall: {number(d['population'])} residents and {number(d['places_inside'])} places "
                   f"({d['places_per_1000']:.2f} per 1,000), {number(d['gap'])} places short of the {target:g} target; "
                   f"{flagged} compounds to remedy ({n['remediate_by_deadline']} due by {audit.deadline}, {days} days left; "
                   f"{n['overdue']} overdue; {n['delivered_without_facility']} delivered without a facility, a violation now).")
    if opt is None:
        return out
    g = opt.gap or {}
    s = opt.sites
    served = float(s["places_served"].sum()) if len(s) else 0.0
    if g and opt.scenario.get("kind") != "comply":
        if zh:
            out.append(f"本方案：新增 {len(s)} 处站点、{int(s['classes'].sum()) if len(s) else 0} 个托班、{number(g['places_added'])} 个托位，"
                       f"总投资 {money(g['proposal_cost'], lang)} {unit}，扣除补助后 {money(g['proposal_net_cost'], lang)} {unit}，"
                       f"可服务未满足托位 {number(served)} 个。")
            out.append(f"仍缺：实施后每千人口 {g['per_1000_after']:.2f} 个，距目标仍缺 {number(g['places_short_after'])} 个托位"
                       f"（每千人口 {g['per_1000_short_after']:.2f} 个）；{g['flagged']} 个须整改小区中仍有 {g['flagged_left']} 个未足额服务。")
        else:
            out.append(f"The proposal: {len(s)} new sites, {int(s['classes'].sum()) if len(s) else 0} classes, "
                       f"{number(g['places_added'])} places for {money(g['proposal_cost'], lang)} {unit} "
                       f"({money(g['proposal_net_cost'], lang)} {unit} net of subsidy), serving {number(served)} unmet places.")
            out.append(f"What remains: {g['per_1000_after']:.2f} places per 1,000 after it, still {number(g['places_short_after'])} "
                       f"places ({g['per_1000_short_after']:.2f} per 1,000) short of the target; {g['flagged_left']} of "
                       f"{g['flagged']} compounds to remedy not served in full.")
    c = opt.comply
    if c is not None:
        cs = c.summary
        left = ""
        if cs["unserved_compounds"]:
            left = (f"仍有 {cs['unserved_compounds']} 个小区无法足额服务（原因见附件）。" if zh else
                    f" {cs['unserved_compounds']} compounds still cannot be served in full (reasons in the annex).")
        if cs["status"] != "optimal":
            left += (f"（求解未证明最优：{label('status', cs['status'], lang)}，与下界差 {cs['gap']:.1%}，投资为上限）" if zh else
                     f" (not proven optimal: {cs['status']}, {cs['gap']:.1%} from the bound; the cost is an upper bound)")
        extra = ""
        if g and "extra_net_cost" in g and opt.scenario.get("kind") != "comply":
            extra = (f"，比本方案多 {money(g['extra_net_cost'], lang)} {unit}、{g['extra_sites']} 处" if zh else
                     f", {money(g['extra_net_cost'], lang)} {unit} and {g['extra_sites']} sites more than the proposal")
        if zh:
            out.append(f"全面达标：全部须整改小区在服务半径内足额服务、各乡镇达到每千人口 {target:g} 个，需 {cs['sites']} 处站点"
                       f"（其中小区内购置/置换/租赁用房 {cs['embedded_sites']} 处）、{cs['classes']} 个托班，总投资 "
                       f"{money(cs['cost'], lang)} {unit}，扣除补助后 {money(cs['net_cost'], lang)} {unit}{extra}。{left}")
        else:
            out.append(f"Full compliance (every compound to remedy served in full within its catchment, every township at "
                       f"{target:g} per 1,000): {cs['sites']} sites ({cs['embedded_sites']} of them rooms bought, swapped or "
                       f"rented in compounds), {cs['classes']} classes, {money(cs['cost'], lang)} {unit} gross, "
                       f"{money(cs['net_cost'], lang)} {unit} net of subsidy{extra}.{left}")
    ph = opt.phases
    if ph is not None and len(ph.table):
        first = ph.table.iloc[0]
        names = [x for x in str(first["site_list"]).split("；") if x]
        shown = "；".join(names[:6])
        more = (f" 等 {len(names)} 处" if zh else f" and {len(names) - 6} more") if len(names) > 6 else ""
        if zh:
            out.append(f"第一阶段（{first['start']} 至 {first['phase_end']}）：开设 {int(first['sites_opened'])} 处、"
                       f"{int(first['classes'])} 个托班，投资 {money(first['cost'], lang)} {unit}，足额服务 "
                       f"{int(first['compounds_remedied'])} 个小区；站点：{shown or '—'}{more}。")
        else:
            out.append(f"Phase 1 ({first['start']} to {first['phase_end']}): open {int(first['sites_opened'])} sites, "
                       f"{int(first['classes'])} classes for {money(first['cost'], lang)} {unit}, serving "
                       f"{int(first['compounds_remedied'])} compounds in full; sites: {shown or '—'}{more}.")
    out.append(reconcile_sentence(audit, lang))
    return out


def phase_table(opt, lang: str) -> dict:
    """The phased plan as a briefing table (head, rows, lead)."""
    ph = getattr(opt, "phases", None)
    if ph is None:
        return {"head": [], "rows": [], "lead": ""}
    zh = lang == "zh"
    unit = _unit(lang)
    head = (["阶段", "起止", f"预算（{unit}）/ 班数上限", "新开站点", "托班", "新增托位", f"投资（{unit}）", "足额服务小区",
             "期末仍逾期小区", "期末每千人口托位（全区）/ 未达标乡镇"] if zh else
            ["Phase", "Dates", f"Budget ({unit}) / class limit", "Sites opened", "Classes", "New places", f"Cost ({unit})",
             "Compounds served in full", "Compounds late at the end", "Places per 1,000 at the end (district) / townships below"])
    rows = []
    for r in ph.table.to_dict("records"):
        kind = ("季度" if r["kind"] == "quarter" else "年度") if zh else r["kind"]
        rows.append([f"{r['phase']}（{kind}）" if zh else f"{r['phase']} ({kind})", f"{r['start']} – {r['phase_end']}",
                     f"{money(r['budget'], lang)} / {r['class_limit']}", str(r["sites_opened"]), str(r["classes"]),
                     number(r["places"]), money(r["cost"], lang), str(r["compounds_remedied"]), str(r["compounds_late"]),
                     f"{r['district_per_1000']:.2f} / {r['townships_below_target']}"])
    s = ph.summary
    status = label("status", s["status"], lang)
    if zh:
        lead = (f"按季度（至整改期限 {ph.calendar['end'].iloc[(ph.calendar['kind'] == 'quarter').sum() - 1] if (ph.calendar['kind'] == 'quarter').any() else '—'}）"
                f"和年度安排全面达标方案的站点，每阶段受预算和可建托班数约束（参数见附录）；先使逾期的“小区·天”（按需求托位加权，违规小区加倍）最少，"
                f"再使投资最少，同等条件下期限早的先建。逾期合计 {number(s['late_place_days'])} 托位·天；"
                f"规划期末仍有 {s['unserved_at_end']} 个小区未足额服务。求解状态：{status}。")
    else:
        lead = ("The full-compliance sites are scheduled by quarter up to the deadline and then by year, each phase within its "
                "budget and the classes it can build (see the annex): least place-days past deadline first (violations "
                "counted double), then least cost, earlier deadlines first among equals. "
                f"Late place-days in all: {number(s['late_place_days'])}; compounds not served in full by the last phase: "
                f"{s['unserved_at_end']}. Solver status: {status}.")
    return {"head": head, "rows": rows, "lead": lead}


def annex_groups(annex: pd.DataFrame | None, lang: str) -> list[dict]:
    """The annex by township: each compound due, overdue or in violation with its site and phase."""
    if annex is None or len(annex) == 0:
        return []
    zh = lang == "zh"
    groups = []
    for township, g in annex.groupby("township", sort=False):
        rows = []
        for r in g.to_dict("records"):
            days = r["days_left"]
            if r["compliance"] == "delivered_without_facility":
                days_text = "已违规" if zh else "violation"
            elif missing(days):
                days_text = "—"
            else:
                days_text = (f"逾期 {-int(days)}" if zh else f"{int(days)}") if int(days) < 0 else str(int(days))
            site = " ".join(str(x) for x in (r.get("site_id"), r.get("site_name")) if not missing(x)) or \
                (("无法服务：" + r["unserved_reason"]) if zh and r.get("unserved_reason") else
                 ("cannot be served: " + r["unserved_reason_en"]) if r.get("unserved_reason_en") else "—")
            phase = r.get("phase")
            phase_text = "—" if missing(phase) else (f"第 {int(phase)} 阶段" if zh else f"phase {int(phase)}")
            rows.append([str(r["name"]), str(r["id"]), label("compliance", r["compliance"], lang),
                         "—" if missing(r["deadline"]) else str(r["deadline"])[:10], days_text, site, phase_text])
        groups.append({"township": township if not missing(township) else "—", "count": len(rows), "rows": rows})
    return groups


ANNEX_HEAD = {"zh": ["小区/村庄", "编号", "合规状态", "期限", "剩余天数", "整改站点", "实施阶段"],
              "en": ["Compound", "ID", "Compliance", "Deadline", "Days left", "Remedying site", "Phase"]}
