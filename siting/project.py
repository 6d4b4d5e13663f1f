"""A Project: the configuration, every layer in WGS84, the road graphs and the metric CRS for analysis."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .config import Config, load_config
from .crs import WGS84, in_china, metric_crs
from .errors import DataError, NetworkError
from .load import (
    Problem,
    offset_problems,
    raise_for_problems,
    read_layer,
    roads_file_problems,
    roads_problems,
    row_number,
)
from .infer import infer_compound_kinds
from .schema import SCHEMAS
from .units import check_areas, check_population

__all__ = ["Project", "load_project", "DEMO_CONFIG"]

log = logging.getLogger(__name__)

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "data" / "demo" / "siting.toml"
_POINT_LAYERS = ("childcare", "health")
_TOWNSHIP_LAYERS = ("compounds", "childcare", "health", "parcels")
# What an absent optional layer means for the results (a note, not a fault: empty layers are legal).
_ABSENT = {
    "childcare": ("no childcare layer: no existing places are counted, so every compound is flagged",
                  "未提供托育机构图层：不计现有托位，所有小区均会被标记"),
    "health": ("no health layer: no health centres are offered as candidate sites", "未提供医疗卫生机构图层：不以卫生院作为候选点"),
    "parcels": ("no parcels layer: where there is no land, only generated candidate sites are proposed",
                "未提供闲置用地图层：无用地处仅提出生成的候选点"),
}
# Features may sit on the border line or just over it (digitising slack); beyond this they are reported.
_OUTSIDE_TOLERANCE_M = 200.0


@dataclass
class Project:
    """Everything a planner's analysis needs, loaded and checked.

    Attributes
    ----------
    config : Config
    boundary, townships, compounds, childcare, health, parcels : GeoDataFrame
        The layers in EPSG:4326 with the schema's fields (see ``docs/data-model.md``).
    roads : networkx.MultiDiGraph
        The walking network (osmnx graph, EPSG:4326, ``length`` and ``travel_time`` on edges).
    crs : pyproj.CRS
        The metric CRS analysis runs in (CGCS2000 3° Gauss-Krüger zone in China, UTM elsewhere).
    problems : list of Problem
        Warnings found while loading (errors stop the load).
    """

    config: Config
    boundary: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    compounds: gpd.GeoDataFrame
    childcare: gpd.GeoDataFrame
    health: gpd.GeoDataFrame
    parcels: gpd.GeoDataFrame
    crs: CRS
    roads: nx.MultiDiGraph | None = None
    problems: list[Problem] = field(default_factory=list)
    _graphs: dict = field(default_factory=dict, repr=False)

    @property
    def demo(self) -> bool:
        return bool(self.config["project.demo"])

    @property
    def name(self) -> str:
        return self.config["project.name"]

    def layer(self, name: str) -> gpd.GeoDataFrame:
        return getattr(self, name)

    def to_metric(self, name: str) -> gpd.GeoDataFrame:
        """A layer projected to the analysis CRS."""
        return self.layer(name).to_crs(self.crs)

    def network(self, network_type: str = "walk") -> nx.MultiDiGraph:
        """The road graph for ``walk`` or ``drive``, built once from the roads source."""
        if network_type not in self._graphs:
            self._graphs[network_type] = _load_roads(self.config, self.boundary, network_type)
        return self._graphs[network_type]


def _load_roads(config: Config, boundary: gpd.GeoDataFrame, network_type: str) -> nx.MultiDiGraph:
    from . import network

    spec = config.layers.get("roads")
    if spec is None:
        raise DataError(
            "no road network: add [layers.roads] path = \"roads.osm\" (an .osm or .osm.pbf file) to the config",
            "缺少道路网络：请在配置中加上 [layers.roads] path = \"roads.osm\"（.osm 或 .osm.pbf 文件）",
        )
    clip = boundary.geometry.union_all() if len(boundary) else None
    return network.graph_from_file(
        spec.path,
        network_type=network_type,
        clip=clip,
        # the configured walking speed for the roads too, not only for the snap legs
        speeds=float(config["network.walk_speed_kmh"]) if network_type == "walk" else None,
        largest_component=bool(config["network.largest_component"]),
        simplify=bool(config["network.simplify"]),
    )


def _fill_township(gdf: gpd.GeoDataFrame, townships: gpd.GeoDataFrame, crs: CRS) -> gpd.GeoDataFrame:
    """Fill a missing township from the polygon containing the feature (nearest one for border cases)."""
    if "township" not in gdf or len(townships) == 0 or len(gdf) == 0:
        return gdf
    missing = gdf["township"].isna()
    if not missing.any():
        return gdf
    pts = gpd.GeoDataFrame(geometry=gdf.loc[missing].geometry.representative_point().to_crs(crs), index=gdf.index[missing])
    joined = gpd.sjoin_nearest(pts, townships[["name", "geometry"]].to_crs(crs), how="left")
    joined = joined[~joined.index.duplicated(keep="first")]
    gdf = gdf.copy()
    gdf.loc[missing, "township"] = joined["name"].reindex(gdf.index[missing]).to_numpy()
    return gdf


def _check_inside(name: str, gdf: gpd.GeoDataFrame, area, crs: CRS, spec, problems: list[Problem]) -> gpd.GeoDataFrame:
    """Features beyond the district (more than the tolerance outside it): an error naming each one, unless
    the layer says ``outside = "drop"`` (left out, each listed in a warning) or ``"keep"`` (kept, warned).

    A point hundreds of kilometres away would otherwise be counted in the nearest township and could turn
    its verdict: a wrong verdict is worse than a stopped run.
    """
    if area is None or len(gdf) == 0 or spec is None:
        return gdf
    pts = gdf.geometry.representative_point().to_crs(crs)
    dist = pd.Series(shapely.distance(pts.values, area), index=gdf.index)
    far = dist > _OUTSIDE_TOLERANCE_M
    if not far.any():
        return gdf
    schema = SCHEMAS[name]
    mode = spec.outside
    for i in gdf.index[far]:
        d = float(dist.loc[i])
        # a point that cannot be projected (e.g. lat/lon swapped, 119° "north") is infinitely far
        far_en = f"lies {d:,.0f} m outside the district boundary" if np.isfinite(d) else "lies far outside the district boundary"
        far_zh = f"位于行政区边界外 {d:,.0f} 米" if np.isfinite(d) else "远在行政区边界外"
        rid = gdf.at[i, schema.id_field] if schema.id_field and schema.id_field in gdf else None
        label = gdf.at[i, "name"] if "name" in gdf and isinstance(gdf.at[i, "name"], str) else None
        where = dict(row=row_number(spec, i), id=rid, name=label)
        if mode == "drop":
            problems.append(Problem(name, str(spec.path), f"{far_en}: left out (outside = \"drop\")",
                                    f"{far_zh}：已剔除，不计入任何统计（outside = \"drop\"）",
                                    severity="warning", **where))
        elif mode == "keep":
            problems.append(Problem(name, str(spec.path), f"{far_en}: kept (outside = \"keep\")",
                                    f"{far_zh}：按配置保留（outside = \"keep\"）",
                                    fix_en="check its coordinates (swapped lon/lat? another coordinate system?)",
                                    fix_zh="检查坐标（经纬度是否颠倒、坐标系是否正确）", severity="warning", **where))
        else:
            problems.append(Problem(
                name, str(spec.path), far_en, far_zh,
                fix_en=f"check its coordinates (swapped lon/lat? another coordinate system?) or delete the row; to leave such "
                       f"features out set outside = \"drop\" under [layers.{name}], to count them anyway outside = \"keep\"",
                fix_zh=f"检查坐标（经纬度是否颠倒、坐标系是否正确）或删除该行；如需剔除区外要素，在 [layers.{name}] 下设置 "
                       f"outside = \"drop\"，如确需计入，设置 outside = \"keep\"", **where))
    return gdf[~far] if mode == "drop" else gdf


def _lanshan_defaults_abroad(config: Config) -> Problem:
    """Outside China the bundled targets are another country's policy: say so until the project gives its own."""
    target, deadline = config["policy.places_per_1000"], config.deadline().isoformat()
    plan = config["policy.plan_id"]
    return Problem(
        "policy", str(config.path or ""),
        f"the study area lies outside China, but the policy targets ({target:g} places per 1,000 residents, remediation "
        f"by {deadline} under {plan}) and the costs (yuan) are Lanshan's defaults",
        f"研究区位于中国境外，但政策目标（每千人 {target:g} 个托位、{plan} 规定的 {deadline} 整改期限）和成本（元）"
        "仍是岚山区的默认值",
        fix_en="give your district's own under [policy] and [optimize], or all in one file: [policy] preset = \"policy.toml\"",
        fix_zh="在 [policy] 和 [optimize] 中填写本地的目标与成本，或集中写在一个文件中：[policy] preset = \"policy.toml\"",
        severity="warning")


def load_project(path: str | Path | None = None, overrides: dict | None = None, roads: bool = True) -> Project:
    """Load a project: its config, every layer (checked against its schema) and the road network.

    Parameters
    ----------
    path : str or Path, optional
        The project's TOML config. ``None`` loads the bundled demo district (``data/demo/siting.toml``).
    overrides : dict, optional
        ``{"section.key": value}`` applied on top of the file (see :func:`siting.config.load_config`).
    roads : bool, default True
        Build the walking road graph now (``project.roads``); ``False`` defers it to ``project.network()``.

    Raises
    ------
    ConfigError, DataError
        With every problem found, each naming its file, row, id and column and the fix.
    """
    if path is None:
        if not DEMO_CONFIG.exists():
            raise DataError(f"bundled demo not found at {DEMO_CONFIG}", f"找不到内置演示数据：{DEMO_CONFIG}")
        path = DEMO_CONFIG
    config = load_config(path, overrides)
    problems: list[Problem] = []
    layers: dict[str, gpd.GeoDataFrame] = {}
    near = None  # a point of the district, for GK zones without prefix (crs = "CGCS2000-GK3")
    for name in SCHEMAS:
        spec = config.layers.get(name)
        if spec is None:
            if name in ("boundary", "compounds"):
                problems.append(Problem(name, str(config.path), f"layer '{name}' is not configured", f"未配置图层“{name}”",
                                        fix_en=f"add [layers.{name}] path = \"FILE\"", fix_zh=f"加上 [layers.{name}] path = \"文件\""))
            elif name in _ABSENT:
                problems.append(Problem(name, str(config.path), *_ABSENT[name], severity="note",
                                        fix_en=f"add [layers.{name}] path = \"FILE\" if the data exist",
                                        fix_zh=f"如有数据，请加上 [layers.{name}] path = \"文件\""))
            schema = SCHEMAS[name]
            layers[name] = gpd.GeoDataFrame({f.name: [] for f in schema.fields}, geometry=[], crs=WGS84)
            continue
        layers[name] = read_layer(spec, problems, near=near)
        if name == "boundary" and len(layers[name]):
            c = layers[name].geometry.union_all().centroid
            near = (c.x, c.y)
    if roads:
        problems.extend(roads_file_problems(config.layers.get("roads")))
    if any(p.severity == "error" and p.layer == "boundary" for p in problems):
        raise_for_problems(problems, log_warnings=False)  # other layers' checks need the boundary

    boundary = layers["boundary"]
    if len(boundary):
        boundary = gpd.GeoDataFrame(
            {"name": [boundary["name"].dropna().iloc[0] if boundary["name"].notna().any() else config["project.district"]]},
            geometry=[shapely.union_all(boundary.geometry.values)],
            crs=WGS84,
        )
    extent = boundary if len(boundary) else layers["compounds"]
    centre = extent.geometry.union_all().centroid if len(extent) else shapely.Point(0, 0)
    if config["analysis.crs"] == "auto":
        crs = metric_crs(centre.x, centre.y)
    else:
        crs = CRS.from_user_input(config["analysis.crs"])
    area = boundary.to_crs(crs).geometry.iloc[0].buffer(0) if len(boundary) else None
    if len(extent) and not bool(in_china(centre.x, centre.y)) and not any(k.startswith("policy.") for k in config.given):
        problems.append(_lanshan_defaults_abroad(config))

    for name in _TOWNSHIP_LAYERS:
        # outside first: a feature left out must never be given a township, let alone counted in one
        layers[name] = _check_inside(name, layers[name], area, crs, config.layers.get(name), problems)
        layers[name] = _fill_township(layers[name], layers["townships"], crs)
    layers["compounds"] = infer_compound_kinds(layers["compounds"], layers["townships"], config.layers.get("compounds"), problems)
    parcels = layers["parcels"]
    if len(parcels):
        parcels = check_areas(parcels, parcels.to_crs(crs).area, config.layers.get("parcels"), problems)
    layers["compounds"] = check_population(layers["compounds"], float(config["demand.persons_per_household"]),
                                           config.layers.get("compounds"), problems)
    raise_for_problems(problems, log_warnings=False)

    project = Project(
        config=config,
        boundary=boundary,
        townships=layers["townships"],
        compounds=layers["compounds"],
        childcare=layers["childcare"],
        health=layers["health"],
        parcels=parcels,
        crs=crs,
        problems=problems,
    )
    if roads and "roads" in config.layers:
        spec = config.layers["roads"]
        try:
            project.roads = project.network("walk")
        except NetworkError as exc:
            problems.append(Problem("roads", str(spec.path), exc.en, exc.zh))
            raise_for_problems(problems)
        except Exception as exc:  # never a bare traceback from a broken extract
            problems.append(Problem("roads", str(spec.path), f"cannot build the road network ({type(exc).__name__}: {exc})",
                                    f"无法构建路网（{type(exc).__name__}：{exc}）",
                                    fix_en="check the file is an OSM extract (.osm or .osm.pbf)",
                                    fix_zh="检查文件是否为 OSM 数据（.osm 或 .osm.pbf）"))
            raise_for_problems(problems)
        problems.extend(roads_problems(project.roads, spec))
        problems.extend(offset_problems({n: layers[n] for n in _POINT_LAYERS}, config.layers, project.roads, crs))
    raise_for_problems(problems)
    return project
