"""What planners' lists leave out and the data still say: a compound's kind (小区 or 村).

A compounds list kept in a township office often has no 类型 column. The name usually says it
(…村, …庄, …屯 are villages; …小区, …花园, …家园 are urban compounds); a 社区 is a village-type
rural community in a town (镇/乡) and an urban one in a street office (街道); any other name takes
the kind of its township. Every inference is counted in a warning, and a 类型 column overrides it.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from .load import Problem

__all__ = ["COMPOUND_MARKERS", "VILLAGE_SUFFIXES", "compound_kind", "infer_compound_kinds"]

COMPOUND_MARKERS = ("小区", "花园", "家园", "公寓", "苑", "府", "名邸", "大厦", "广场", "宿舍", "新城", "公馆", "华庭", "雅居")
VILLAGE_SUFFIXES = ("村", "庄", "屯", "寨", "堡", "村委会", "村民委员会", "自然村", "行政村")


def _township_kind(township, kinds: dict) -> str | None:
    if not isinstance(township, str):
        return None
    if township in kinds:
        return kinds[township]
    if township.endswith("街道") or township.endswith("街道办事处"):
        return "street"
    if township.endswith("镇") or township.endswith("乡"):
        return "town"
    return None


def compound_kind(name, township_kind: str | None) -> tuple[str, str]:
    """``(kind, reason)`` for a compound's name and its township's kind (``street``/``town``/None).

    ``reason`` is ``"name"`` when the name decides, ``"township"`` when the township does, ``"default"``
    (a compound) when neither can.
    """
    text = name.strip() if isinstance(name, str) else ""
    if any(m in text for m in COMPOUND_MARKERS):
        return "compound", "name"
    if text.endswith(VILLAGE_SUFFIXES):
        return "village", "name"
    if "社区" in text and township_kind is not None:
        return ("village" if township_kind == "town" else "compound"), "name"
    if township_kind is not None:
        return ("compound" if township_kind == "street" else "village"), "township"
    return "compound", "default"


def infer_compound_kinds(compounds, townships, spec, problems: list[Problem]):
    """Fill the compounds' missing ``kind`` from the name and township, with one warning counting each kind."""
    if len(compounds) == 0 or spec is None or "kind" not in compounds:
        return compounds
    missing = compounds["kind"].isna()
    if not missing.any():
        return compounds
    kinds = dict(zip(townships["name"], townships["kind"])) if len(townships) else {}
    compounds = compounds.copy()
    got = [compound_kind(name, _township_kind(tw, kinds))
           for name, tw in zip(compounds.loc[missing, "name"], compounds.loc[missing, "township"])]
    compounds.loc[missing, "kind"] = pd.Series([k for k, _ in got], index=compounds.index[missing], dtype=object)
    counts = Counter(k for k, _ in got)
    by = Counter(r for _, r in got)
    column = next((str(s) for s, t in spec.columns.items() if t == "kind"), "类型")
    n = int(missing.sum())
    problems.append(Problem(
        spec.name, str(spec.path),
        f"kind inferred for {n} compound(s): {counts.get('compound', 0)} 小区 (compound), {counts.get('village', 0)} 村 (village) "
        f"({by.get('name', 0)} from the name, {by.get('township', 0)} from the township's kind, {by.get('default', 0)} by default)",
        f"已推断 {n} 个小区（村）的类型：小区 {counts.get('compound', 0)} 个，村 {counts.get('village', 0)} 个"
        f"（按名称 {by.get('name', 0)} 个，按所属乡镇（街道）类型 {by.get('township', 0)} 个，默认 {by.get('default', 0)} 个）",
        column=column, field="kind", severity="warning",
        fix_en=f"to override, give the kind (小区 or 村) in a '{column}' column; the inferred kinds are in the outputs",
        fix_zh=f"如需更正，请在“{column}”列中填写类型（小区或村）；推断结果见输出表"))
    return compounds
