"""Stated quantities against what the geometry or other fields imply: units caught before they count.

A parcel area typed in 亩 (16.69 for about 11,100 m²) passes every type check and then silently drops
the parcel below the minimum site area; a population typed in 万人 turns a compound into nobody. Where a
stated figure can be compared with one the data implies (a polygon's area; households × persons per
household), the layer's typical ratio names the unit: a known unit is converted with a warning saying
so, and any single row far from its expected figure is reported with both numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .load import Problem, row_number

__all__ = ["AREA_UNITS", "POPULATION_UNITS", "area_unit_factor", "check_areas", "check_population"]

# stated figure ÷ the figure in the canonical unit (m², persons), with the names planners use
AREA_UNITS = {"m²": 1.0, "亩": 1 / 666.667, "公顷": 1e-4, "km²": 1e-6}
_AREA_ALIASES = {"m2": "m²", "平方米": "m²", "㎡": "m²", "mu": "亩", "ha": "公顷", "hectare": "公顷", "km2": "km²",
                 "平方公里": "km²", "平方千米": "km²"}
POPULATION_UNITS = {"人": 1.0, "万人": 1e-4}
_AREA_EN = {"m²": "m²", "亩": "mu (亩)", "公顷": "hectares (公顷)", "km²": "km²"}
# A layer's median ratio within this factor of a unit's names that unit; a row beyond _FAR of its
# expected figure is reported (stated areas are often net of roads, populations differ from hh × 2.55).
_UNIT_TOLERANCE = 1.25
_FAR = 2.0


def area_unit_factor(unit: str | None) -> float | None:
    """The factor of a configured ``area_unit`` (None when not given); ValueError for an unknown one."""
    if unit is None:
        return None
    name = _AREA_ALIASES.get(unit.strip().lower(), unit.strip())
    if name not in AREA_UNITS:
        raise ValueError(unit)
    return AREA_UNITS[name]


def _source_column(spec, field: str) -> str:
    return next((str(s) for s, t in spec.columns.items() if t == field), field)


def _detect(ratio: pd.Series, units: dict[str, float]) -> str | None:
    """The unit (other than the canonical one) the layer's median ratio points to, if any."""
    ok = ratio[np.isfinite(ratio) & (ratio > 0)]
    if len(ok) == 0:
        return None
    median = float(ok.median())
    for name, factor in units.items():
        if factor != 1.0 and 1 / _UNIT_TOLERANCE < median / factor < _UNIT_TOLERANCE:
            return name
    return None


def _row_kw(gdf, spec, i, id_field: str | None) -> dict:
    label = gdf.at[i, "name"] if "name" in gdf and isinstance(gdf.at[i, "name"], str) else None
    return dict(row=row_number(spec, i), id=gdf.at[i, id_field] if id_field and id_field in gdf else None, name=label)


def check_areas(parcels, measured: pd.Series, spec, problems: list[Problem]):
    """Compare each stated ``area`` with its polygon's ``measured`` m²; convert a unit, warn about outliers.

    Returns the parcels with ``area`` in m² (the polygon's area where none was stated).
    """
    if len(parcels) == 0 or spec is None:
        return parcels
    parcels = parcels.copy()
    stated = pd.to_numeric(parcels["area"], errors="coerce").astype(float)
    column = _source_column(spec, "area")
    factor = area_unit_factor(getattr(spec, "area_unit", None))
    if factor is None:
        unit = _detect(stated / measured, AREA_UNITS)
        if unit is not None:
            factor = AREA_UNITS[unit]
            n = int((stated.notna() & (measured > 0)).sum())
            example = stated.dropna().iloc[0]
            problems.append(Problem(
                spec.name, str(spec.path),
                f"the stated areas are about 1/{1 / factor:,.2f} of the polygons' areas ({n} parcels): read as "
                f"{_AREA_EN[unit]} and converted to m² (e.g. {example:,.2f} {unit} = {example / factor:,.0f} m²)",
                f"填写的面积约为图斑面积的 1/{1 / factor:,.2f}（{n} 个地块）：已按{unit}读取并换算为平方米"
                f"（如 {example:,.2f} {unit} = {example / factor:,.0f} 平方米）",
                column=column, field="area", severity="warning",
                fix_en=f"give areas in m², or set area_unit = \"{unit}\" under [layers.{spec.name}] to confirm",
                fix_zh=f"以平方米填写面积，或在 [layers.{spec.name}] 下设置 area_unit = \"{unit}\" 以确认"))
    if factor is not None:
        stated = stated / factor
    ratio = stated / measured
    for i in parcels.index[np.isfinite(ratio) & ((ratio > _FAR) | (ratio < 1 / _FAR))]:
        problems.append(Problem(
            spec.name, str(spec.path),
            f"stated area {stated[i]:,.0f} m² but the polygon measures {measured[i]:,.0f} m² (ratio {ratio[i]:.2f}); "
            "the stated area is used",
            f"填写面积 {stated[i]:,.0f} 平方米，而图斑面积为 {measured[i]:,.0f} 平方米（比值 {ratio[i]:.2f}）；按填写面积计算",
            column=column, field="area", severity="warning",
            fix_en="check the area's unit and the polygon; clear the cell to use the polygon's area",
            fix_zh="检查面积单位与图斑；清空该单元格即按图斑面积计算", **_row_kw(parcels, spec, i, "id")))
    parcels["area"] = stated.where(stated.notna(), measured)
    return parcels


def check_population(compounds, persons_per_household: float, spec, problems: list[Problem]):
    """Compare each stated ``population`` with ``households`` × persons per household.

    A layer given in 万人 is converted with a warning; a single compound beyond a factor of 2 is reported
    with both numbers (its stated population is used).
    """
    if len(compounds) == 0 or spec is None or "households" not in compounds:
        return compounds
    stated = pd.to_numeric(compounds["population"], errors="coerce").astype(float)
    households = pd.to_numeric(compounds["households"], errors="coerce").astype(float)
    expected = households * persons_per_household
    column = _source_column(spec, "population")
    unit = _detect(stated / expected, POPULATION_UNITS)
    if unit is not None:
        factor = POPULATION_UNITS[unit]
        n = int((stated.notna() & (expected > 0)).sum())
        problems.append(Problem(
            spec.name, str(spec.path),
            f"the stated populations are about 1/{1 / factor:,.0f} of households × {persons_per_household:g} ({n} compounds): "
            f"read as {unit} (10,000 persons) and converted to persons",
            f"填写的人口约为户数 × {persons_per_household:g} 的 1/{1 / factor:,.0f}（{n} 个小区）：已按{unit}读取并换算为人",
            column=column, field="population", severity="warning",
            fix_en="give populations in persons", fix_zh="以人为单位填写人口"))
        compounds = compounds.copy()
        stated = stated / factor
        compounds["population"] = stated
    ratio = stated / expected
    for i in compounds.index[np.isfinite(ratio) & ((ratio > _FAR) | (ratio < 1 / _FAR))]:
        problems.append(Problem(
            spec.name, str(spec.path),
            f"population {stated[i]:,.0f} but {households[i]:,.0f} households × {persons_per_household:g} persons = "
            f"{expected[i]:,.0f} (ratio {ratio[i]:.2f}); the stated population is used",
            f"人口 {stated[i]:,.0f}，而户数 {households[i]:,.0f} × 每户 {persons_per_household:g} 人 = {expected[i]:,.0f}"
            f"（比值 {ratio[i]:.2f}）；按填写人口计算",
            column=column, field="population", severity="warning",
            fix_en="check the population and households; clear the population to use households × persons per household",
            fix_zh="核对人口与户数；清空人口即按户数 × 每户人数计算", **_row_kw(compounds, spec, i, "id")))
    return compounds
