"""User-facing text in Chinese (default) and English: one catalogue for the CLI, maps and briefing."""

from __future__ import annotations

__all__ = ["LANGS", "MESSAGES", "t", "texts"]

LANGS = ("zh", "en")

MESSAGES: dict[str, tuple[str, str]] = {
    "stage.load": ("读取并检查图层", "Loading and checking layers"),
    "stage.network": ("构建道路网络", "Building the road network"),
    "stage.access": ("计算沿路可达性", "Measuring access along roads"),
    "stage.audit": ("需求与合规评估", "Demand and compliance audit"),
    "stage.optimize": ("选址优化", "Siting optimisation"),
    "stage.map": ("绘制地图", "Drawing maps"),
    "stage.brief": ("生成简报", "Writing the briefing"),
    "run.done": ("完成。输出位于：{out}", "Done. Outputs are in: {out}"),
    "run.wrote": ("已写出 {path}", "Wrote {path}"),
    "run.demo_notice": ("注意：正在使用内置演示数据（边界真实，其余内容为合成数据）。",
                        "Note: using the bundled demo data (real outline, synthetic contents)."),
    # the accessibility index (siting access)
    "access.existing": ("现状", "today"),
    "access.plan": ("建议方案实施后", "with the proposed sites"),
    "access.comply": ("全部合规后", "with full compliance"),
    "access.unit_children": ("每{per}名婴幼儿托位数", "places per {per} children"),
    "access.unit_residents": ("每{per}人托位数", "places per {per} residents"),
    "access.method_2sfca": ("两步移动搜索法（2SFCA）", "the two-step floating catchment area method (2SFCA)"),
    "access.method_3sfca": ("三步移动搜索法（3SFCA）", "the three-step floating catchment area method (3SFCA)"),
    "access.decay_step": ("无距离衰减", "no"),
    "access.decay_gaussian": ("高斯距离衰减", "Gaussian"),
    "access.decay_gravity": ("重力型距离衰减", "gravity"),
    "access.decay_steps": ("分段距离衰减（E2SFCA）", "stepped (E2SFCA)"),
    "access.summary": ("{scenario}：平均 {mean}（{unit}），基尼系数 {gini}，低于目标 {threshold} 的婴幼儿占 {below}",
                       "{scenario}: mean {mean} ({unit}), Gini {gini}, {below} of children below the target {threshold}"),
    "validate.ok": ("检查通过：{n} 个图层，未发现错误。", "All checks passed: {n} layers, no errors."),
    "validate.warnings": ("{n} 个警告：", "{n} warning(s):"),
    "error.prefix": ("错误：", "Error: "),
    "error.permission": ("无权写入 {path}：请用 --out 指定可写的文件夹，或修改该文件夹的权限",
                         "permission denied writing {path}: choose a folder you can write with --out, or change its permissions"),
    "error.read_only": ("{path} 所在磁盘为只读：请用 --out 指定其他文件夹",
                        "{path} is on a read-only disk: choose another folder with --out"),
    "error.disk_full": ("磁盘已满，无法写入 {path}：请清理磁盘空间，或用 --out 指定其他磁盘上的文件夹（已写出的文件完整，未留下半截文件）",
                        "the disk is full writing {path}: free some space or choose a folder on another disk with --out "
                        "(files already written are complete; nothing was left half-written)"),
    "error.locked": ("{path} 被其他程序占用（是否在 Excel 或 WPS 中打开？）：请关闭后重新运行",
                     "{path} is locked by another program (open in Excel or WPS?): close it and run again"),
    "error.write": ("无法写入 {path}：{reason}", "cannot write {path}: {reason}"),
    "comply.summary": ("全面达标方案：{sites} 处、{classes} 个托班、{places:,.0f} 个托位，总投资 {cost} 万元，扣除补助后 {net} 万元（{status}）；"
                       "{flagged} 个须整改小区中仍无法服务 {unserved} 个",
                       "Full compliance: {sites} sites, {classes} classes, {places:,.0f} places, {cost} yuan gross, "
                       "{net} yuan net of subsidy ({status}); {unserved} of {flagged} flagged compounds still unserved"),
    "layers.summary": ("{layer}：{n} 个要素", "{layer}: {n} features"),
    "roads.summary": ("道路网络：{nodes} 个节点，{edges} 条边", "Road network: {nodes} nodes, {edges} edges"),
    "map.demo": ("演示数据（合成）", "Demo data (synthetic)"),
    "map.title": ("{name} 托育设施现状总览", "{name}: childcare overview"),
    "map.data_date": ("数据日期：{date}", "Data date: {date}"),
    # the district and township maps and their index page
    "map.audit_title": ("{name} 托育服务评估与选址建议", "{name}: childcare audit and proposed sites"),
    "map.audit_data_date": ("数据日期：{date}　评估基准日：{as_of}", "Data date: {date}   Audit as of: {as_of}"),
    "map.summary": ("每千人口托位 {per:.2f}（目标 {target:.2f}）；问题小区 {flagged} 个；建议点位 {sites} 个",
                    "{per:.2f} places per 1,000 (target {target:.2f}); {flagged} flagged compounds; {sites} proposed sites"),
    "map.gcj02": ("叠加图层已转换为 GCJ-02 以对齐高德底图", "Overlays shifted to GCJ-02 to line up with the AMap basemap"),
    "map.district_border": ("行政区边界", "District boundary"),
    "map.townships": ("乡镇（街道）边界", "Township borders"),
    "map.roads_major": ("道路（县道及以上）", "Roads (tertiary and above)"),
    "map.roads": ("道路", "Roads"),
    "map.compounds": ("居住小区与村庄（评估结果）", "Compounds and villages (audit)"),
    "map.childcare": ("托育机构与幼儿园", "Childcare facilities"),
    "map.health": ("医疗卫生机构", "Health facilities"),
    "map.parcels": ("闲置与低效用地", "Idle and inefficient land"),
    "map.service_areas": ("托育设施步行服务范围（{d}）", "Walking service areas of childcare ({d})"),
    "map.sites": ("建议新增托育点位（按优先序）", "Proposed sites (by rank)"),
    "map.legend": ("图例", "Legend"),
    "map.fullscreen": ("全屏", "Full screen"),
    "map.township_ratio": ("乡镇（街道）每千人口托位", "Township places per 1,000 residents"),
    "map.fullscreen_exit": ("退出全屏", "Exit full screen"),
    "map.access": ("托育可达性：{scenario}（{unit}）", "Childcare access: {scenario} ({unit})"),
    "map.access_legend": ("托育可达性（{unit}；在图层列表中勾选显示）", "Childcare access ({unit}; tick it in the layer list)"),
    "map.violation": ("黑色粗边框：交付未配套或逾期未整改（违规）", "Thick black outline: delivered without facility or overdue"),
    "map.index_title": ("{name} 托育服务地图", "{name}: childcare maps"),
    "map.index_district": ("全区地图", "District map"),
    "map.index_overview": ("现状总览（全部图层）", "Overview (every input layer)"),
    "map.index_townships": ("乡镇（街道）地图", "Township maps"),
    "map.index_note": ("所有地图均可离线打开；点击地图上的要素查看详情。", "Every map works offline; click a feature for details."),
    "map.index_online": ("底图：{basemap}（需联网加载底图瓦片）", "Basemap: {basemap} (tiles need the internet)"),
    # the printable briefing
    "brief.title": ("{district}托育服务设施评估与选址建议简报", "{district}: childcare audit and nursery siting briefing"),
    "brief.short_title": ("托育评估与选址建议简报", "Childcare audit and siting briefing"),
    "brief.subtitle": ("婴幼儿照护服务设施缺口评估 · 存量小区整改期限 · 新增托位选址建议",
                       "Gaps in childcare places · remediation deadlines · proposed nursery sites"),
    "brief.demo_notice": ("演示数据：边界真实，其余内容为合成数据", "Demo data: real district outline, everything else synthetic"),
    "brief.demo_mark": ("演示数据（合成）", "DEMO DATA (synthetic)"),
    "brief.district": ("区县", "District"),
    "brief.project": ("项目", "Project"),
    "brief.data_date": ("数据日期", "Data date"),
    "brief.policy_basis": ("政策依据", "Policy basis"),
    "brief.target": ("目标", "Target"),
    "brief.deadline": ("存量整改期限", "Remediation deadline"),
    "brief.as_of": ("评估基准日", "As of"),
    "brief.generated_by": ("由开源工具生成：", "Generated by the open-source toolkit"),
    "brief.h_summary": ("一、全区托位现状", "1. District summary"),
    "brief.h_flags": ("问题小区（按评估结果）", "Compounds flagged, by flag"),
    "brief.h_deadlines": ("整改期限与合规状态", "Remediation deadlines and compliance"),
    "brief.h_guidance": ("“1+8+N”指导体系", "The \"1+8+N\" guidance system"),
    "brief.h_sites": ("二、选址建议", "2. Proposed sites"),
    "brief.h_curve": ("覆盖曲线：新增站点数与服务托位、投资", "Coverage curve: new sites against places served and cost"),
    "brief.h_budget": ("预算能买到什么", "What the budget buys"),
    "comply.gap": ("本方案实施后每千人口 {per} 个，距目标仍缺 {short} 个托位；{flagged} 个须整改小区中 {left} 个未足额服务；"
                   "全面达标还需追加 {sites} 处站点、投资 {extra}（扣除补助后 {extra_net}）",
                   "After the proposal: {per} places per 1,000, {short} places short of the target; {left} of {flagged} "
                   "compounds to remedy not served in full; full compliance needs {sites} more sites and {extra} "
                   "({extra_net} net of subsidy) more"),
    "brief.h_cards": ("三、选址点位图", "3. Site maps"),
    "brief.h_annex": ("附录：方法与参数", "Annex: methods and parameters"),
    "brief.h_decision": ("决策要点", "The decision"),
    "brief.h_phases": ("分阶段实施计划（至整改期限及其后）", "Phased plan to the deadline and after"),
    "brief.h_annex_list": ("附件：须整改小区清单（按乡镇）", "Annex: compounds to remedy, by township"),
    "brief.annex_list_note": ("列出全部限期整改、逾期和交付未配套（违规）的小区与村庄，按乡镇（街道）分组，供各乡镇核对本辖区清单。"
                              "整改站点为全面达标方案中服务该小区托位最多的站点；实施阶段为分阶段计划中足额服务该小区的阶段，“—”为规划期内未排期。",
                              "Every compound due, overdue or delivered without a facility (a violation), grouped by township so "
                              "each township can check its own list. The remedying site is the full-compliance site serving most "
                              "of its places; the phase is when the phased plan serves it in full (— = not within the phases)."),
    "brief.h_methods": ("方法", "Methods"),
    "brief.h_params": ("参数及其来源", "Parameters and their sources"),
    "brief.params_note": ("来源状态：seed＝区方案原文；verified＝已核对原文；secondary＝新闻或第三方资料；derived＝推算；unverified＝未核实、可调整。"
                          "红色粗体为本项目配置覆盖的默认值（其来源说明指默认值）。",
                          "Status: seed = the district plan; verified = checked in the document; secondary = news or third-party "
                          "summaries; derived = computed; unverified = a changeable guess. Values in bold red override the default "
                          "in this project's config (the source describes the default)."),
    "brief.p_key": ("参数", "Parameter"),
    "brief.p_value": ("取值", "Value"),
    "brief.p_source": ("来源", "Source"),
    "brief.fig_townships": ("图1 各乡镇（街道）每千人口托位数与目标（虚线）。红色低于目标，绿色达标，灰色为全区。",
                            "Figure 1. Places per 1,000 residents by township against the target (dashed). Red: below target; "
                            "green: meets it; grey: district."),
    "brief.fig_curve": ("图2 新增站点数 p 与可服务托位（左轴）及该方案投资（右轴，万元）。每个 p 为单独求解的最优方案，故投资不一定随 p 单调增加。",
                        "Figure 2. New sites p against places served (left) and the plan's cost (right, 10,000 yuan). Each p is "
                        "solved on its own, so cost need not rise with p."),
    "brief.h_access": ("沿路可达性与公平性", "Access along roads and how evenly it is spread"),
    "brief.fig_lorenz": ("图3 婴幼儿托育可达性的洛伦兹曲线：曲线越接近对角线，可达性分布越均衡（基尼系数越小）。",
                         "Figure 3. Lorenz curves of childcare access across children: the closer to the diagonal, "
                         "the more even the access (the lower the Gini coefficient)."),
    "brief.lg_site": ("建议站点", "proposed site"),
    "brief.lg_served": ("该站点服务的小区/村庄", "compounds it serves"),
    "brief.lg_other": ("其他缺口小区", "other compounds with unmet need"),
    "brief.lg_childcare": ("现有托育设施", "existing childcare"),
    "brief.lg_roads": ("道路", "roads"),
}


def texts(prefix: str, lang: str = "zh") -> dict[str, str]:
    """Every message under ``prefix.`` in ``lang``, keyed without the prefix (for templates)."""
    i = 0 if lang == "zh" else 1
    return {k[len(prefix) + 1:]: v[i] for k, v in MESSAGES.items() if k.startswith(prefix + ".")}


def t(key: str, lang: str = "zh", **kwargs) -> str:
    zh, en = MESSAGES[key]
    text = zh if lang == "zh" else en
    return text.format(**kwargs) if kwargs else text
