"""Demand and supply: residents and places required per compound, places offered per facility.

Each estimate records how it was made (``population_source``, ``places_estimated``), so a
table can say which numbers are data and which are assumptions.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from .config import Config

__all__ = ["compound_demand", "facility_supply", "floor_area_points", "population_from_buildings", "places_required"]


def population_from_buildings(areas: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, config: Config, crs) -> pd.Series:
    """Residents estimated from residential building footprints: Σ footprint × levels ÷ floor area per person.

    Parameters
    ----------
    areas : GeoDataFrame
        Polygons (compounds, residential land) to estimate for.
    buildings : GeoDataFrame
        Residential building footprints; a ``building:levels`` or ``levels`` column is used when
        present, else ``demand.default_levels``.
    """
    if len(buildings) == 0 or len(areas) == 0:
        return pd.Series(np.nan, index=areas.index)
    b = floor_area_points(buildings, config, crs)
    a = gpd.GeoDataFrame(geometry=areas.to_crs(crs).geometry.values, index=areas.index, crs=crs)
    joined = gpd.sjoin(b, a, predicate="within", how="inner")
    floor = joined.groupby("index_right")["floor_area"].sum()
    return (floor / config["demand.floor_area_per_person"]).reindex(areas.index)


def floor_area_points(buildings: gpd.GeoDataFrame, config: Config, crs) -> gpd.GeoDataFrame:
    """Each building as its representative point (in ``crs``) with its ``floor_area``: footprint ×
    levels (``levels`` or ``building:levels``, else ``demand.default_levels``, at least 1)."""
    b = buildings.to_crs(crs)
    levels_col = next((c for c in ("levels", "building:levels") if c in b.columns), None)
    levels = pd.to_numeric(b[levels_col], errors="coerce") if levels_col else pd.Series(np.nan, index=b.index)
    return gpd.GeoDataFrame({"floor_area": b.area * levels.fillna(config["demand.default_levels"]).clip(lower=1)},
                            geometry=b.geometry.representative_point(), crs=crs)


def places_required(population, config: Config):
    """Places needed for a population by the configured method (ratio per 1,000 or cohort)."""
    pop = np.asarray(population, dtype=float)
    if config["demand.method"] == "cohort":
        return pop * config["demand.under3_share"] * config["demand.take_up"]
    return pop * config["policy.places_per_1000"] / 1000.0


def compound_demand(compounds: gpd.GeoDataFrame, config: Config) -> pd.DataFrame:
    """Population (given, or households × persons per household) and places required per compound.

    Returns
    -------
    DataFrame indexed like ``compounds`` with ``population``, ``population_source``
    ("given", "households" or "unknown") and ``places_required``.
    """
    given = compounds["population"].astype(float)
    from_households = compounds["households"].astype("Float64").astype(float) * config["demand.persons_per_household"]
    population = given.where(given.notna(), from_households)
    source = np.where(given.notna(), "given", np.where(from_households.notna(), "households", "unknown"))
    return pd.DataFrame(
        {"population": population, "population_source": source,
         "places_required": places_required(population.fillna(0.0), config)},
        index=compounds.index,
    )


def facility_supply(childcare: gpd.GeoDataFrame, config: Config) -> pd.DataFrame:
    """Places (托位) each facility offers to under-3s.

    Nurseries: their places, else ``supply.default_places_nursery``. Kindergartens: their places,
    else 托班 classes × ``supply.kindergarten_class_size`` (no 托班, no places). Employer and
    community points: their places, else ``supply.default_places_other``. Defaults are flagged
    in ``places_estimated``.
    """
    places = childcare["places"].astype("Float64").astype(float)
    classes = childcare["classes"].astype("Float64").astype(float)
    kind = childcare["kind"]
    fallback = pd.Series(np.nan, index=childcare.index)
    fallback[kind == "nursery"] = config["supply.default_places_nursery"]
    fallback[kind.isin(["employer", "community"])] = config["supply.default_places_other"]
    kg = kind == "kindergarten"
    fallback[kg] = classes[kg].fillna(0.0) * config["supply.kindergarten_class_size"]
    estimated = places.isna() & ~(kg & classes.notna())
    estimated &= ~(kg & classes.isna())  # a kindergarten with nothing stated simply has no 托班
    supply = places.where(places.notna(), fallback).fillna(0.0)
    return pd.DataFrame({"places_supply": supply, "places_estimated": estimated.to_numpy()}, index=childcare.index)
