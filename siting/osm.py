"""A project from OpenStreetMap alone: `siting fetch` (download) and `siting run --osm FILE` (offline).

Both paths end in :func:`features_to_layers`, which turns OSM features (an osmnx-style
GeoDataFrame: tag columns, ``(element, id)`` index, EPSG:4326) into the project's layers, and
:func:`write_project`, which writes them as GeoJSON (WGS84, schema field names) with a
``siting.toml`` that :func:`siting.load_project` reads back; the roads stay an ``.osm`` file, so
the same offline network reader (:func:`siting.network.graph_from_file`) serves both.

What becomes what:

==============  =================================================================================
boundary        the file's ``boundary=administrative`` relation of the lowest admin_level (the
                largest one on a tie); else the convex hull of the roads (fetch: the place, polygon or bbox)
townships       administrative areas of a higher admin_level inside it; else one township, the whole area
compounds       ``landuse=residential`` polygons (kind compound) and ``place=village/hamlet`` points
                (kind village; a village point inside unnamed residential land names that land instead)
population      an OSM ``population`` tag; else residential buildings (``building=residential /
                apartments / house / …``): footprint × levels ÷ ``demand.floor_area_per_person``
                (:func:`siting.demand.population_from_buildings`); else the defaults below
childcare       ``amenity=kindergarten`` (kindergarten), ``amenity=childcare`` (nursery; ``capacity`` → places)
health          ``amenity=hospital / clinic / doctors`` and ``healthcare=*`` (not pharmacies, dentists,
                opticians, laboratories); names with 卫生院 / 社区卫生服务 / 妇幼保健 refine the kind
parcels         ``landuse=brownfield / greenfield`` (status idle) and ``landuse=construction``
==============  =================================================================================
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .config import Config, load_config
from .crs import WGS84, metric_crs
from .errors import DataError, NetworkError
from .output import toml_string, write_text

__all__ = [
    "DEFAULT_DENSITY_PER_HA",
    "DEFAULT_VILLAGE_POPULATION",
    "FEATURE_TAGS",
    "boundary_from_features",
    "features_to_layers",
    "fetch",
    "project_from_osm",
    "read_osm_features",
    "write_project",
]

log = logging.getLogger(__name__)

# The OSM tags a project is made of (osmnx ``tags`` form).
FEATURE_TAGS: dict[str, bool | list[str]] = {
    "amenity": ["kindergarten", "childcare", "hospital", "clinic", "doctors"],
    "healthcare": True,
    "landuse": ["residential", "brownfield", "greenfield", "construction"],
    "building": ["residential", "apartments", "house", "detached", "semidetached_house", "terrace", "dormitory"],
    "place": ["city", "town", "village", "hamlet"],
    "boundary": ["administrative"],
}
RESIDENTIAL_BUILDINGS = set(FEATURE_TAGS["building"])
HOUSE_BUILDINGS = {"house", "detached", "semidetached_house", "terrace"}
HOUSE_LEVELS = 2  # storeys of a house without building:levels (unverified; rural houses have 1-3)
_HEALTHCARE_SKIPPED = {"pharmacy", "dentist", "optometrist", "alternative", "laboratory", "blood_donation",
                       "sample_collection", "audiologist", "psychotherapist", "physiotherapist", "podiatrist", "yes"}

# Fallbacks when OSM has no buildings for a place (unverified, changeable planning assumptions):
# Chinese rural settlements hold roughly 50-150 residents per hectare of residential land; a village
# (行政村) in Shandong some hundreds of residents, a hamlet (自然村) about a hundred.
DEFAULT_DENSITY_PER_HA = 100.0
DEFAULT_VILLAGE_POPULATION = {"village": 400.0, "hamlet": 100.0}
# Residential buildings not inside residential land count for the nearest village point within this distance.
VILLAGE_BUILDING_RADIUS_M = 300.0


# ---------------------------------------------------------------------------------------- reading a file


def read_osm_features(path: str | Path) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """The features of an ``.osm`` / ``.osm.pbf`` file that a project is made of, offline (pyosmium).

    Returns
    -------
    features : GeoDataFrame
        osmnx-style: one column per tag key, an ``(element, id)`` MultiIndex, EPSG:4326.
    road_xy : ndarray (n, 2)
        Longitude and latitude of every node of a ``highway=*`` way (for a boundary fallback).
    """
    import osmium

    path = Path(path)
    if not path.is_file():
        raise DataError(f"OSM file not found: {path}", f"找不到 OSM 文件：{path}")
    factory = osmium.geom.WKBFactory()
    records: list[dict] = []
    index: list[tuple[str, int]] = []
    road_xy: list[tuple[float, float]] = []
    try:
        for obj in osmium.FileProcessor(str(path)).with_locations().with_areas():
            tags = dict(obj.tags)
            if obj.is_way() and "highway" in tags:
                road_xy.extend((n.lon, n.lat) for n in obj.nodes if n.location.valid())
                continue
            if not _wanted(tags):
                continue
            try:
                if obj.is_node():
                    geom, key = factory.create_point(obj), ("node", obj.id)
                elif obj.is_area():
                    geom = factory.create_multipolygon(obj)
                    key = ("way" if obj.from_way() else "relation", obj.orig_id())
                else:
                    continue
            except RuntimeError:  # broken ring or missing node locations: skip, as osmnx does
                continue
            g = shapely.from_wkb(geom)
            if isinstance(g, shapely.MultiPolygon) and len(g.geoms) == 1:
                g = g.geoms[0]
            records.append({**tags, "geometry": g})
            index.append(key)
    except RuntimeError as exc:
        raise DataError(f"cannot read OSM file {path}: {exc}", f"无法读取 OSM 文件 {path}：{exc}") from exc
    frame = pd.DataFrame(records) if records else pd.DataFrame({"geometry": []})
    features = gpd.GeoDataFrame(frame, geometry="geometry", crs=WGS84)
    features.index = pd.MultiIndex.from_tuples(index, names=["element", "id"]) if index else pd.MultiIndex.from_tuples([], names=["element", "id"])
    return features, np.array(road_xy, dtype=float).reshape(-1, 2)


def _wanted(tags: dict) -> bool:
    for key, values in FEATURE_TAGS.items():
        if key in tags and (values is True or tags[key] in values):
            return True
    return False


# ---------------------------------------------------------------------------------------- features → layers


def _col(features: gpd.GeoDataFrame, key: str) -> pd.Series:
    return features[key] if key in features.columns else pd.Series(None, index=features.index, dtype=object)


def _ids(features: gpd.GeoDataFrame) -> list[str]:
    if isinstance(features.index, pd.MultiIndex):
        return [f"{str(e)[0]}{i}" for e, i in features.index]
    return [str(i) for i in features.index]


def _number(value) -> float:
    try:
        return float(str(value).replace(",", "").strip())
    except (TypeError, ValueError):
        return np.nan


def _polygons(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf[gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]


def boundary_from_features(features: gpd.GeoDataFrame, road_xy: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """The study area: the administrative boundary of the lowest admin_level, else the roads' convex hull."""
    admin = _polygons(features[_col(features, "boundary") == "administrative"]) if len(features) else features
    if len(admin):
        levels = pd.to_numeric(_col(admin, "admin_level"), errors="coerce").fillna(99)
        top = admin[levels == levels.min()]
        crs = metric_crs(*top.geometry.union_all().centroid.coords[0])
        pick = top.loc[top.to_crs(crs).area.idxmax()]
        return gpd.GeoDataFrame({"name": [pick.get("name")], "admin_level": [levels.min()]}, geometry=[pick.geometry], crs=WGS84)
    if road_xy is None or len(road_xy) < 3:
        raise DataError(
            "the OSM file has no administrative boundary and too few roads to outline the study area",
            "OSM 文件中没有行政区边界，道路也太少，无法确定研究范围",
        )
    hull = shapely.MultiPoint(road_xy).convex_hull
    return gpd.GeoDataFrame({"name": [_place_name(features, hull)], "admin_level": [np.nan]}, geometry=[hull], crs=WGS84)


_PLACE_RANK = {"city": 0, "town": 1, "village": 2, "hamlet": 3}


def _place_name(features: gpd.GeoDataFrame, area) -> str | None:
    """The name of the largest named place inside ``area`` (city > town > village > hamlet, then population)."""
    if len(features) == 0:
        return None
    places = features[_col(features, "place").isin(list(_PLACE_RANK)) & _col(features, "name").map(lambda v: isinstance(v, str))]
    places = _inside(places, area) if len(places) else places
    if len(places) == 0:
        return None
    rank = _col(places, "place").map(_PLACE_RANK)
    pop = pd.Series([_number(v) for v in _col(places, "population")], index=places.index).fillna(-1)
    order = sorted(range(len(places)), key=lambda k: (rank.iloc[k], -pop.iloc[k]))
    return str(_col(places, "name").iloc[order[0]])


def _inside(gdf: gpd.GeoDataFrame, area) -> gpd.GeoDataFrame:
    if len(gdf) == 0:
        return gdf
    return gdf[shapely.within(gdf.geometry.representative_point().values, area)]


def _frame(rows: list[dict], fields: list[str]) -> gpd.GeoDataFrame:
    if not rows:
        return gpd.GeoDataFrame({f: [] for f in fields}, geometry=[], crs=WGS84)
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=WGS84)


def _townships(features, boundary, area) -> gpd.GeoDataFrame:
    name = boundary["name"].iloc[0] or "研究区"
    level = boundary["admin_level"].iloc[0] if "admin_level" in boundary else np.nan
    admin = _polygons(features[_col(features, "boundary") == "administrative"]) if len(features) else features
    rows = []
    if len(admin) and np.isfinite(level):
        levels = pd.to_numeric(_col(admin, "admin_level"), errors="coerce")
        lower = _inside(admin[levels > level], area)
        if len(lower):
            sub = lower[pd.to_numeric(_col(lower, "admin_level"), errors="coerce") == pd.to_numeric(_col(lower, "admin_level"), errors="coerce").min()]
            for (_, row), oid in zip(sub.iterrows(), _ids(sub)):
                tname = row.get("name") if isinstance(row.get("name"), str) else f"乡镇 {oid}"
                kind = "street" if tname.endswith("街道") else "town"
                rows.append({"name": tname, "kind": kind, "population": np.nan, "geometry": row.geometry.intersection(area)})
    if not rows:
        rows.append({"name": name, "kind": "town", "population": np.nan, "geometry": area})
    return _frame(rows, ["name", "kind", "population"])


def _compounds(features, area, config: Config, crs) -> gpd.GeoDataFrame:
    from .demand import floor_area_points, population_from_buildings

    res = _inside(_polygons(features[_col(features, "landuse") == "residential"]), area).copy() if len(features) else features
    places = features[_col(features, "place").isin(["village", "hamlet"])] if len(features) else features
    places = _inside(places[places.geometry.geom_type == "Point"], area) if len(places) else places
    buildings = _polygons(features[_col(features, "building").isin(RESIDENTIAL_BUILDINGS)]) if len(features) else features
    buildings = _inside(buildings, area) if len(buildings) else buildings
    if len(buildings):
        levels = pd.to_numeric(_col(buildings, "building:levels"), errors="coerce")
        houses = _col(buildings, "building").isin(HOUSE_BUILDINGS).to_numpy()
        levels = levels.where(~(levels.isna().to_numpy() & houses), HOUSE_LEVELS)
        buildings = gpd.GeoDataFrame({"levels": levels.to_numpy()}, geometry=buildings.geometry.values, crs=WGS84)

    rows = []
    res_ids = _ids(res)
    res_names = [n if isinstance(n, str) and n.strip() else None for n in _col(res, "name")]
    res_kind = ["compound"] * len(res)
    used_places = set()
    if len(res) and len(places):
        hit = gpd.sjoin(gpd.GeoDataFrame(geometry=places.geometry.values, crs=WGS84),
                        gpd.GeoDataFrame(geometry=res.geometry.values, crs=WGS84), predicate="within")
        for p_pos, r_pos in zip(hit.index, hit["index_right"]):
            if res_names[r_pos] is None:  # unnamed residential land around a village point: that village
                res_names[r_pos] = places["name"].iloc[p_pos] if "name" in places else None
                res_kind[r_pos] = "village"
                used_places.add(p_pos)
    tag_pop = pd.Series([_number(v) for v in _col(res, "population")], index=res.index, dtype=float)
    plain = gpd.GeoDataFrame(geometry=res.geometry.values, crs=WGS84)
    from_buildings = population_from_buildings(plain, buildings, config, crs) if len(res) and len(buildings) else pd.Series(np.nan, index=plain.index)
    area_ha = res.to_crs(crs).area / 10_000 if len(res) else pd.Series(dtype=float)
    for pos, (idx, row) in enumerate(res.iterrows()):
        if np.isfinite(tag_pop.iloc[pos]):
            pop, source = tag_pop.iloc[pos], "osm population tag"
        elif np.isfinite(from_buildings.iloc[pos]) and from_buildings.iloc[pos] > 0:
            pop, source = float(from_buildings.iloc[pos]), "osm buildings"
        else:
            pop, source = float(area_ha.iloc[pos]) * DEFAULT_DENSITY_PER_HA, "default density"
        label = "村庄" if res_kind[pos] == "village" else "居住用地"
        rows.append({"id": res_ids[pos], "name": res_names[pos] or f"未命名{label} {res_ids[pos]}", "kind": res_kind[pos],
                     "population": round(pop, 1), "status": "existing", "population_source": source,
                     "geometry": row.geometry})

    free = places.iloc[[i for i in range(len(places)) if i not in used_places]] if len(places) else places
    village_pop = pd.Series(np.nan, index=free.index)
    if len(free) and len(buildings):
        outside = buildings
        if len(res):
            inside_res = gpd.sjoin(buildings, gpd.GeoDataFrame(geometry=res.geometry.values, crs=WGS84), predicate="intersects").index
            outside = buildings.drop(index=inside_res.unique())
        if len(outside):
            pts = gpd.GeoDataFrame(geometry=free.geometry.values, crs=WGS84).to_crs(crs)
            b = floor_area_points(outside.reset_index(drop=True), config, crs)
            near = gpd.sjoin_nearest(b, pts, max_distance=VILLAGE_BUILDING_RADIUS_M, how="inner")
            near = near[~near.index.duplicated(keep="first")]
            total = near.groupby("index_right")["floor_area"].sum() / config["demand.floor_area_per_person"]
            village_pop = pd.Series(total.reindex(range(len(free))).to_numpy(), index=free.index)
    for pos, (oid, (idx, row)) in enumerate(zip(_ids(free), free.iterrows())):
        kind = row.get("place")
        tag = _number(row.get("population"))
        if np.isfinite(tag):
            pop, source = tag, "osm population tag"
        elif np.isfinite(village_pop.iloc[pos]) and village_pop.iloc[pos] > 0:
            pop, source = float(village_pop.iloc[pos]), "osm buildings"
        else:
            pop, source = DEFAULT_VILLAGE_POPULATION[kind], "default village population"
        name = row.get("name") if isinstance(row.get("name"), str) else f"未命名村庄 {oid}"
        rows.append({"id": oid, "name": name, "kind": "village", "population": round(pop, 1), "status": "existing",
                     "population_source": source, "geometry": row.geometry})
    return _frame(rows, ["id", "name", "kind", "population", "status", "population_source"])


def _health_kind(amenity, healthcare, name) -> str | None:
    name = name if isinstance(name, str) else ""
    if "妇幼保健" in name:
        return "mch_centre"
    if "卫生院" in name:
        return "township_health_centre"
    if "社区卫生服务" in name:
        return "community_health_centre"
    if amenity == "hospital" or healthcare == "hospital":
        return "hospital"
    if amenity in ("clinic", "doctors"):
        return "clinic"
    if isinstance(healthcare, str) and healthcare not in _HEALTHCARE_SKIPPED:
        return "clinic"
    return None


def _points(features, area, kind_of, label_zh: str, extra=None) -> list[dict]:
    rows = []
    for oid, (_, row) in zip(_ids(features), features.iterrows()):
        kind = kind_of(row)
        if kind is None:
            continue
        point = row.geometry.representative_point()
        if not area.contains(point):
            continue
        name = row.get("name") if isinstance(row.get("name"), str) else f"未命名{label_zh} {oid}"
        rows.append({"id": oid, "name": name, "kind": kind, **(extra(row) if extra else {}), "geometry": point})
    return rows


def features_to_layers(features: gpd.GeoDataFrame, boundary, config: Config | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Turn OSM features into the project's layers (EPSG:4326, schema field names).

    Parameters
    ----------
    features : GeoDataFrame
        osmnx-style OSM features (``osmnx.features_from_*`` or :func:`read_osm_features`).
    boundary : GeoDataFrame or shapely geometry
        The study area; features whose representative point is outside it are left out.
    config : Config, optional
        For ``demand.floor_area_per_person`` and ``demand.default_levels`` (defaults when omitted).

    Returns
    -------
    dict
        ``boundary``, ``townships``, ``compounds``, ``childcare``, ``health``, ``parcels``.
        Compounds carry ``population_source`` (OSM tag, buildings, or a default).
    """
    config = config or load_config(None)
    if not isinstance(boundary, gpd.GeoDataFrame):
        boundary = gpd.GeoDataFrame({"name": [None]}, geometry=[boundary], crs=WGS84)
    boundary = boundary.to_crs(WGS84)
    area = shapely.make_valid(boundary.geometry.union_all())
    shapely.prepare(area)
    crs = metric_crs(*area.centroid.coords[0])
    features = features.to_crs(WGS84) if features.crs is not None else features.set_crs(WGS84)
    features = features[features.geometry.notna() & ~features.geometry.is_empty]
    amenity, healthcare = _col(features, "amenity"), _col(features, "healthcare")

    care = features[amenity.isin(["kindergarten", "childcare"])]
    childcare = _points(care, area, lambda r: "kindergarten" if r.get("amenity") == "kindergarten" else "nursery", "托育机构",
                        lambda r: {"places": _number(r.get("capacity")) if r.get("amenity") == "childcare" else np.nan})
    med = features[amenity.isin(["hospital", "clinic", "doctors"]) | healthcare.notna()]
    health = _points(med, area, lambda r: _health_kind(r.get("amenity"), r.get("healthcare"), r.get("name")), "医疗机构")
    vacant = _inside(_polygons(features[_col(features, "landuse").isin(["brownfield", "greenfield", "construction"])]), area)
    parcels = [{"id": oid, "land_use": row.get("landuse"), "status": "idle" if row.get("landuse") != "construction" else None,
                "name": row.get("name") if isinstance(row.get("name"), str) else None, "geometry": row.geometry}
               for oid, (_, row) in zip(_ids(vacant), vacant.iterrows())]
    name = boundary["name"].iloc[0] if "name" in boundary and isinstance(boundary["name"].iloc[0], str) else None
    return {
        "boundary": gpd.GeoDataFrame({"name": [name or "研究区"]}, geometry=[area], crs=WGS84),
        "townships": _townships(features, boundary.assign(name=[name] * len(boundary)) if "admin_level" in boundary
                                else boundary.assign(name=[name] * len(boundary), admin_level=np.nan), area),
        "compounds": _compounds(features, area, config, crs),
        "childcare": _frame(childcare, ["id", "name", "kind", "places"]),
        "health": _frame(health, ["id", "name", "kind"]),
        "parcels": _frame(parcels, ["id", "land_use", "status", "name"]),
    }


# ---------------------------------------------------------------------------------------- writing


_OPTIONAL = {"childcare": "amenity=kindergarten|childcare", "health": "amenity=hospital|clinic|doctors, healthcare=*",
             "parcels": "landuse=brownfield|greenfield|construction"}


def write_project(layers: dict[str, gpd.GeoDataFrame], out_dir: str | Path, roads: str | Path, name: str | None = None,
                  source: str = "OpenStreetMap") -> Path:
    """Write the layers as GeoJSON (WGS84) and a ``siting.toml`` naming them; return the config path.

    Every file is written atomically. ``roads`` is the ``.osm`` / ``.osm.pbf`` file (kept where it is;
    the config refers to it relative to ``out_dir`` when it lies inside it).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = name or (layers["boundary"]["name"].iloc[0] if len(layers["boundary"]) else None) or "OSM 项目"
    lines = [
        f"# Project made from {source} by siting on {dt.date.today().isoformat()}.",
        "# Populations are estimates from OSM buildings or defaults (see the population_source column",
        "# of compounds.geojson); check them and the facility lists before using the results.",
        "",
        "[project]",
        f"name = {toml_string(name)}",
        f"district = {toml_string(name)}",
        f"data_date = {toml_string(dt.date.today().isoformat())}",
        "",
    ]
    for layer, gdf in layers.items():
        if len(gdf) == 0 and layer in _OPTIONAL:
            # an extract without kindergartens or vacant land is common: the layer is left out, which is legal
            lines += [f"# no {layer} in the extract ({_OPTIONAL[layer]}): [layers.{layer}] left out", ""]
            continue
        path = out / f"{layer}.geojson"
        write_text(path, gdf.to_crs(WGS84).to_json(drop_id=True, ensure_ascii=False, na="null"))
        lines += [f"[layers.{layer}]", f"path = {toml_string(path.name)}", ""]
    roads = Path(roads)
    try:
        rel = roads.resolve().relative_to(out.resolve()).as_posix()
    except ValueError:
        rel = roads.resolve().as_posix()
    lines += ["[layers.roads]", f"path = {toml_string(rel)}", ""]
    config = out / "siting.toml"
    write_text(config, "\n".join(lines))
    return config


def project_from_osm(osm_file: str | Path, out_dir: str | Path) -> Path:
    """Make a project from one OSM extract (``siting run --osm``): layers in ``out_dir``, roads the file itself."""
    features, road_xy = read_osm_features(osm_file)
    boundary = boundary_from_features(features, road_xy)
    layers = features_to_layers(features, boundary)
    return write_project(layers, out_dir, osm_file, source=f"the OpenStreetMap file {Path(osm_file).name}")


# ---------------------------------------------------------------------------------------- downloading


def _download_error(what: str, what_zh: str, exc: Exception) -> NetworkError:
    return NetworkError(
        f"could not download {what} from OpenStreetMap ({type(exc).__name__}: {exc}). If you are offline or the "
        "Overpass/Nominatim services are unavailable, download an extract (.osm or .osm.pbf, e.g. from Geofabrik) "
        "and run `siting run --osm FILE`.",
        f"无法从 OpenStreetMap 下载{what_zh}（{type(exc).__name__}：{exc}）。如处于离线状态或 Overpass/Nominatim 服务不可用，"
        "请下载 OSM 数据文件（.osm 或 .osm.pbf，如 Geofabrik），并运行 `siting run --osm 文件`。",
    )


def _area_of(place=None, polygon=None, bbox=None) -> gpd.GeoDataFrame:
    import osmnx as ox

    if sum(x is not None for x in (place, polygon, bbox)) != 1:
        raise DataError("give exactly one of --place, --polygon or --bbox", "请只指定 --place、--polygon、--bbox 之一")
    if place is not None:
        try:
            gdf = ox.geocode_to_gdf(place)
        except Exception as exc:  # requests errors, Nominatim "no results", osmnx errors
            raise _download_error(f"the outline of {place!r}", f"“{place}”的边界", exc) from exc
        name = gdf["name"].iloc[0] if "name" in gdf and isinstance(gdf["name"].iloc[0], str) else str(place).split(",")[0].strip()
        return gpd.GeoDataFrame({"name": [name]}, geometry=[gdf.to_crs(WGS84).geometry.union_all()], crs=WGS84)
    if polygon is not None:
        path = Path(polygon)
        if not path.exists():
            raise DataError(f"polygon file not found: {path}", f"找不到范围文件：{path}")
        try:
            gdf = gpd.read_file(path)
        except Exception as exc:
            raise DataError(f"cannot read the polygon file {path}: {exc}", f"无法读取范围文件 {path}：{exc}") from exc
        if gdf.crs is None:
            raise DataError(f"{path}: the polygon file has no coordinate reference system", f"{path}：范围文件没有坐标系信息")
        name = gdf["name"].dropna().iloc[0] if "name" in gdf and gdf["name"].notna().any() else path.stem
        return gpd.GeoDataFrame({"name": [name]}, geometry=[gdf.to_crs(WGS84).geometry.union_all()], crs=WGS84)
    try:
        west, south, east, north = (float(v) for v in (bbox.split(",") if isinstance(bbox, str) else bbox))
    except (TypeError, ValueError):
        raise DataError(f"--bbox must be W,S,E,N in degrees, got {bbox!r}", f"--bbox 应为 西,南,东,北（度），实际为 {bbox!r}") from None
    if not (west < east and south < north and -180 <= west and east <= 180 and -90 <= south and north <= 90):
        raise DataError(f"--bbox must be W,S,E,N with W < E and S < N, got {bbox!r}",
                        f"--bbox 应为 西,南,东,北，且西 < 东、南 < 北，实际为 {bbox!r}")
    return gpd.GeoDataFrame({"name": [None]}, geometry=[shapely.box(west, south, east, north)], crs=WGS84)


def fetch(out_dir: str | Path, place: str | None = None, polygon: str | Path | None = None, bbox=None,
          cache_folder: str | Path | None = None) -> Path:
    """Download roads and features for an area with osmnx and write a project (``siting fetch``).

    Writes ``roads.osm`` (the unsimplified road graph as OSM XML, read back offline by
    :func:`siting.network.graph_from_file`), one GeoJSON per layer and ``siting.toml``; returns the config path.

    Raises
    ------
    NetworkError
        When offline or OpenStreetMap's services fail; the message points to ``siting run --osm``.
    """
    import osmnx as ox

    boundary = _area_of(place, polygon, bbox)
    area = boundary.geometry.iloc[0]
    out = Path(out_dir)
    saved = (ox.settings.use_cache, ox.settings.cache_folder, ox.settings.all_oneway)
    ox.settings.use_cache = True
    ox.settings.all_oneway = True  # required by save_graph_xml
    if cache_folder is not None:
        ox.settings.cache_folder = str(cache_folder)
    try:
        try:
            G = ox.graph_from_polygon(area, network_type="all", simplify=False, retain_all=True, truncate_by_edge=True)
        except Exception as exc:
            raise _download_error("the roads", "道路", exc) from exc
        try:
            features = ox.features_from_polygon(area, tags=FEATURE_TAGS)
        except Exception as exc:
            if type(exc).__name__ == "InsufficientResponseError":  # no matching features: an empty area is allowed
                features = gpd.GeoDataFrame(geometry=[], crs=WGS84)
            else:
                raise _download_error("the features", "设施与用地要素", exc) from exc
        out.mkdir(parents=True, exist_ok=True)
        from .output import atomic_path

        with atomic_path(out / "roads.osm") as tmp:
            ox.save_graph_xml(G, tmp)
    finally:
        ox.settings.use_cache, ox.settings.cache_folder, ox.settings.all_oneway = saved
    layers = features_to_layers(features, boundary)
    return write_project(layers, out, out / "roads.osm", source="OpenStreetMap (downloaded with osmnx)")
