"""User-facing text in Chinese (default) and English."""

from __future__ import annotations

__all__ = ["t", "LANGS"]

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
    "validate.ok": ("检查通过：{n} 个图层，未发现错误。", "All checks passed: {n} layers, no errors."),
    "validate.warnings": ("{n} 个警告：", "{n} warning(s):"),
    "error.prefix": ("错误：", "Error: "),
    "layers.summary": ("{layer}：{n} 个要素", "{layer}: {n} features"),
    "roads.summary": ("道路网络：{nodes} 个节点，{edges} 条边", "Road network: {nodes} nodes, {edges} edges"),
    "map.demo": ("演示数据（合成）", "Demo data (synthetic)"),
    "map.title": ("{name} 托育设施现状总览", "{name}: childcare overview"),
    "map.data_date": ("数据日期：{date}", "Data date: {date}"),
}


def t(key: str, lang: str = "zh", **kwargs) -> str:
    zh, en = MESSAGES[key]
    text = zh if lang == "zh" else en
    return text.format(**kwargs) if kwargs else text
