"""Maps for township heads: audit status of every compound, facilities, service areas, proposed sites.

``district_map`` draws one Folium map (the whole district, or one township with ``township=``);
``write_maps`` writes the district map, one map per township and an ``index.html`` linking them.
Pages are self-contained (work offline) unless an online basemap is asked for; then only the
basemap's tile URLs are fetched. AMap tiles are GCJ-02, so with ``basemap="amap"`` every overlay
is shifted WGS84 → GCJ-02 to line up with them (天地图 is CGCS2000 ≈ WGS84 and needs no shift).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element

from ..crs import wgs84_to_gcj02, xy_conversion
from ..errors import ConfigError
from ..escape import Markup, html
from ..i18n import t
from ..output import write_text
from ..schema import LABELS
from ..tables import VALUES, VALUES_EN, label, missing, money, number
from .layers import (
    FACILITY_COLOURS,
    FACILITY_KIND_LABELS,
    HEALTH_COLOUR,
    PARCEL_COLOUR,
    Bind,
    _round_coords,
    add_legend,
    add_light_points,
    add_osm_attribution,
    add_roads,
    add_title,
    childcare_kind_for_map,
    feature_group,
)
from .offline import offline_map, save_map
from .overview import overview_map
from .popups import bind_popups, compact_popups
from .screen import add_screen_fit

__all__ = ["district_map", "write_maps", "access_classes", "resolve_basemap", "walk_service_areas", "Basemap", "BASEMAPS",
           "MAJOR_ROADS", "TOWNSHIP_MARGIN_M"]

# The district map draws only these road classes (and the borders); township maps draw every road.
MAJOR_ROADS = frozenset({"motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
                         "secondary", "secondary_link", "tertiary", "tertiary_link"})
# A township map also shows the facilities, parcels and sites this close to the township (metres).
TOWNSHIP_MARGIN_M = 1000.0
_SERVICE_AREA_SIMPLIFY_M = 8.0
_MAX_SERVICE_AREA_THRESHOLDS = 3
_DISTRICT_SCALE_SIMPLIFY = 1.5e-4  # degrees (~15 m): service areas on a district-scale map

FLAG_COLOURS = {"covered": "#2f9e44", "under_served": "#f59f00", "no_facility": "#e03131"}
VIOLATION_COLOUR = "#000000"
VIOLATIONS = ("delivered_without_facility", "overdue")
SITE_COLOUR = "#343a40"
# Access choropleth, worst first: none in reach, < half the target, < target, ≥ target, ≥ twice it.
ACCESS_COLOURS = ("#c92a2a", "#f76707", "#fcc419", "#8ce99a", "#2b8a3e")
SERVICE_AREA_COLOUR = "#339af0"

def _t(key: str, lang: str, **kw) -> str:
    return t("map." + key, lang, **kw)


# ---------------------------------------------------------------------------------------------
# Basemaps


@dataclass(frozen=True)
class Basemap:
    """An online (or no) basemap: tile layers as (name, url template, attribution, subdomains)."""

    key: str
    label: str
    tiles: tuple[tuple[str, str, str, str], ...] = ()
    gcj02: bool = False

    @property
    def allow(self) -> tuple[str, ...]:
        """URL prefixes the page may fetch: the tile templates up to their query string.

        (folium writes ``&`` in a tile URL as ``\\u0026``, so the query is not matched.)
        """
        return tuple(dict.fromkeys(url.split("?", 1)[0] for _, url, _, _ in self.tiles))

    @property
    def online(self) -> bool:
        return bool(self.tiles)


BASEMAPS = ("none", "osm", "tianditu", "amap")
_TIANDITU = ("https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
             "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}"
             "&tk={token}")


def resolve_basemap(project, basemap: str | None = None, lang: str = "zh") -> Basemap:
    """The basemap to draw: ``basemap`` or else config ``maps.basemap`` (``"none"``: offline).

    Raises
    ------
    ConfigError
        For an unknown basemap, or 天地图 without ``maps.tianditu_token``.
    """
    key = str(basemap if basemap is not None else (project.config["maps.basemap"] or "none")).strip().lower()
    zh = lang == "zh"
    if key == "none":
        return Basemap("none", "无（离线，道路为矢量图层）" if zh else "none (offline, roads drawn as vectors)")
    if key == "osm":
        return Basemap("osm", "OpenStreetMap", (("OpenStreetMap", "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                                                 "&copy; OpenStreetMap contributors", "abc"),))
    if key == "tianditu":
        token = str(project.config["maps.tianditu_token"] or "").strip()
        if not token:
            raise ConfigError(
                "basemap 'tianditu' needs a 天地图 API key: set maps.tianditu_token = \"YOUR_KEY\" in the config "
                "(get a browser key at https://console.tianditu.gov.cn/), or use basemap = \"none\" for an offline map.",
                "天地图底图需要 API 密钥：请在配置中设置 maps.tianditu_token = \"您的密钥\"（在 https://console.tianditu.gov.cn/ "
                "申请浏览器端密钥），或设置 basemap = \"none\" 使用离线地图。",
            )
        note = "cva" if zh else "eva"
        attr = "&copy; 天地图 (国家地理信息公共服务平台), 审图号 GS(2024)0568号"
        return Basemap("tianditu", "天地图" if zh else "Tianditu", (
            ("天地图 矢量" if zh else "Tianditu", _TIANDITU.format(layer="vec", token=token), attr, "01234567"),
            ("天地图 注记" if zh else "Tianditu labels", _TIANDITU.format(layer=note, token=token), attr, "01234567"),
        ))
    if key == "amap":
        url = ("https://webrd0{s}.is.autonavi.com/appmaptile?lang=" + ("zh_cn" if zh else "en")
               + "&size=1&scale=1&style=8&x={x}&y={y}&z={z}")
        return Basemap("amap", "高德地图" if zh else "AMap", (("高德地图" if zh else "AMap", url, "&copy; 高德地图 AutoNavi",
                                                           "1234"),), gcj02=True)
    raise ConfigError(
        f"unknown basemap {key!r}: use one of {', '.join(BASEMAPS)} (maps.basemap in the config)",
        f"未知底图 {key!r}：请使用 {'、'.join(BASEMAPS)} 之一（配置项 maps.basemap）",
    )


# ---------------------------------------------------------------------------------------------
# Formatting


def _num(v, digits: int = 0, unit: str = "") -> str:
    text = number(v, digits)
    return f"{text} {unit}" if unit and text != "—" else text


def _money(v, lang: str) -> str:
    text = money(v, lang)
    if text == "—":
        return text
    return f"{text} 万元" if lang == "zh" else f"CNY {text}"


def _popup(title: str, rows, lang: str) -> Markup:
    """Popup HTML: a bold title and a two-column table; rows with an empty value are left out.

    Values are text (escaped) or :class:`~siting.escape.Markup` (kept). Styling lives once in the
    page (``_POPUP_CSS``), not in every popup: the district map has hundreds of them.
    """
    body = "".join(f"<tr><th>{html(k)}</th><td>{html(v)}</td></tr>" for k, v in rows if not missing(v) and str(v) != "")
    return Markup(f'<div class="sp"><b>{html(title)}</b><table>{body}</table></div>')


_POPUP_CSS = ("<style>div.leaflet-container{background:#f4f3ee}"
              ".sp{font:13px sans-serif;max-width:340px}.sp>b{font-size:14px}"
              ".sp th{text-align:left;padding-right:8px;white-space:nowrap;vertical-align:top}"
              "</style>")


def _chip(colour: str, text: str) -> Markup:
    return Markup(f'<b style="color:{html(colour)}">{html(text)}</b>')


# ---------------------------------------------------------------------------------------------
# Layers


def _points_layer(parent, gdf: gpd.GeoDataFrame, name: str, layer: str, styles: dict, *, show: bool = True,
                  transform=None, popup: bool = True) -> folium.FeatureGroup:
    """Features as one GeoJSON layer; ``gdf`` has ``_k`` (key into ``styles``), ``_popup`` and ``_tip``.

    Every feature carries ``properties.layer`` so tests and scripts can count features by layer.
    Point features are drawn as circle markers (``styles`` may set ``radius``).
    """
    group = feature_group(name, show=show)
    if len(gdf):
        # (the flag is in _k and the popup: not again per feature; scripts and tests find features by name)
        keep = [c for c in gdf.columns if c in ("id", "name", "township", "compliance", "rank", "kind", "_k", "_popup",
                                                "_tip")]
        data = gpd.GeoDataFrame(gdf[keep].copy(), geometry=_round_coords(np.asarray(gdf.geometry.values), transform=transform),
                                crs=gdf.crs)
        for c in keep:
            data[c] = data[c].map(lambda v: None if missing(v) else (v if isinstance(v, (int, float)) else str(v)))
        for c in ("_popup", "_tip"):  # shown as HTML: text is escaped here, Markup kept
            if c in gdf:
                data[c] = gdf[c].map(lambda v: None if missing(v) else str(html(v))).to_numpy()
        labels = common = []
        if popup and "_popup" in data:  # the row labels once per layer (popups.py): a third of the bytes
            labels, common, compact = compact_popups(data.pop("_popup").tolist())
            data["_p"] = compact
        data.insert(0, "layer", layer)
        layer_json = folium.GeoJson(
            # no per-feature bbox (~60 bytes a point); short ids, which folium's style switch keys on
            data.reset_index(drop=True).to_geo_dict(show_bbox=False),
            style_function=lambda f: styles[f["properties"]["_k"]],
            marker=folium.CircleMarker(radius=6, weight=1, fill=True),
            tooltip=folium.GeoJsonTooltip(fields=["_tip"], labels=False),
            highlight_function=None,
        ).add_to(group)
        if "_p" in data:
            bind_popups(parent, layer_json, labels, common)
    group.add_to(parent)
    return group


def _district_scale_layers(m, project, audit, lang: str, transform) -> None:
    """Compounds, facilities, health and parcels as light points (violations as black rings on top)."""
    comp = audit.compounds
    violation = comp["compliance"].isin(VIOLATIONS).to_numpy()
    keys = np.where(violation, "v|" + comp["flag"].astype(str).to_numpy(), comp["flag"].astype(str).to_numpy())
    styles = {k: {"fillColor": c, "fillOpacity": 0.8, "radius": 2.5, "stroke": False} for k, c in FLAG_COLOURS.items()}
    styles |= {f"v|{k}": {"fillColor": c, "fillOpacity": 1, "radius": 4, "color": VIOLATION_COLOUR, "weight": 2,
                          "opacity": 1} for k, c in FLAG_COLOURS.items()}
    add_light_points(m, project.parcels, ["p"] * len(project.parcels),
                  {"p": {"fillColor": PARCEL_COLOUR, "fillOpacity": 0.7, "radius": 3, "stroke": False}},
                  _t("parcels", lang), "parcel", transform)
    add_light_points(m, comp, keys, styles, _t("compounds", lang), "compound", transform)
    add_light_points(m, project.health, ["h"] * len(project.health),
                  {"h": {"fillColor": "#ffffff", "fillOpacity": 1, "radius": 3, "color": HEALTH_COLOUR, "weight": 2,
                         "opacity": 1}}, _t("health", lang), "health", transform)
    kinds = childcare_kind_for_map(audit.childcare).to_numpy()
    add_light_points(m, audit.childcare, kinds,
                  {k: {"fillColor": c, "fillOpacity": 1, "radius": 4, "color": "#212529", "weight": 1, "opacity": 1}
                   for k, c in FACILITY_COLOURS.items()}, _t("childcare", lang), "childcare", transform)


# Township shading at district scale: places per 1,000 residents against the target.
RATIO_COLOURS = (("#d9f0d3", 1.0), ("#fee08b", 0.75), ("#fc8d59", 0.0))


def _ratio_colour(per: float, target: float) -> str:
    if not (per == per and target == target and target > 0):  # NaN: no figures
        return "#dee2e6"
    return next(c for c, floor in RATIO_COLOURS if per >= floor * target)


def _township_shading(m, project, audit, sites, lang: str, transform) -> None:
    """Townships filled by their places per 1,000 against the target; a click shows the figures."""
    zh = lang == "zh"
    tw = project.townships
    geoms = _round_coords(shapely.simplify(tw.geometry.to_numpy(), 2e-4), transform=transform)
    features = []
    for name, geom in zip(tw["name"], geoms):
        st = _township_stats(audit, str(name), sites)
        n = int((audit.compounds["township"] == name).sum())
        table = ([("每千人口托位", _num(st["per"], 2)), ("目标", _num(st["target"], 2)), ("居住小区与村庄", _num(n)),
                  ("问题小区", _num(st["flagged"])), ("建议点位", _num(st["sites"]))] if zh else
                 [("Places per 1,000", _num(st["per"], 2)), ("Target", _num(st["target"], 2)),
                  ("Compounds and villages", _num(n)), ("Flagged", _num(st["flagged"])), ("Proposed sites", _num(st["sites"]))])
        features.append({"type": "Feature", "properties": {"layer": "township_ratio", "_c": _ratio_colour(st["per"], st["target"]),
                                                          "_popup": _popup(str(name), table, lang)},
                         "geometry": shapely.geometry.mapping(geom)})
    group = feature_group(_t("township_ratio", lang), show=True)
    folium.GeoJson({"type": "FeatureCollection", "features": features},
                   style_function=lambda f: {"fillColor": f["properties"]["_c"], "fillOpacity": 0.45, "stroke": False},
                   popup=folium.GeoJsonPopup(fields=["_popup"], labels=False, max_width=380),
                   highlight_function=None).add_to(group)
    group.add_to(m)


def walk_service_areas(project, audit, per_facility: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Walking service areas of the childcare facilities with toddler places, dissolved per distance.

    The map shows the union of the facilities' service areas (:func:`siting.audit.facility_service_areas`)
    at the smallest three distances of ``maps.service_area_walk``, simplified for size.

    Returns
    -------
    GeoDataFrame
        EPSG:4326, columns ``threshold`` (m) and geometry, largest first (drawing order).
    """
    from ..audit import facility_service_areas

    if per_facility is None:
        per_facility = facility_service_areas(project, audit)
    keep = sorted(per_facility["threshold"].unique())[:_MAX_SERVICE_AREA_THRESHOLDS]
    rows = []
    metric = per_facility.to_crs(project.crs)
    for threshold in sorted(keep, reverse=True):
        area = shapely.union_all(metric.loc[metric["threshold"] == threshold].geometry.to_numpy())
        rows.append((threshold, shapely.simplify(area, _SERVICE_AREA_SIMPLIFY_M)))
    out = gpd.GeoDataFrame({"threshold": [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs=project.crs)
    return out.to_crs("EPSG:4326")


def _compound_rows(c, lang: str):
    zh = lang == "zh"
    flag_label = label("flag", c.flag, "zh" if zh else "en")
    comp_label = label("compliance", c.compliance, "zh" if zh else "en")
    kind = LABELS["compound_kind"].get(c.kind, c.kind) if zh else c.kind
    status = LABELS["compound_status"].get(getattr(c, "status", None), getattr(c, "status", None)) if zh else \
        getattr(c, "status", None)
    catchment = VALUES["catchment"].get(c.catchment, c.catchment) if zh else c.catchment
    days = getattr(c, "days_left", None)
    if missing(days):
        days_text = None
    elif int(days) < 0:
        days_text = f"已逾期 {-int(days)} 天" if zh else f"overdue by {-int(days)} days"
    else:
        days_text = f"剩余 {int(days)} 天" if zh else f"{int(days)} days left"
    deadline = None if missing(c.deadline) else str(c.deadline)[:10]
    nearest = getattr(c, "nearest_facility", None)
    road, straight = getattr(c, "nearest_road_m", None), getattr(c, "nearest_straight_m", None)
    if missing(nearest):
        distance = None
    elif zh:
        distance = f"沿道路 {_num(road, 0, '米') if not missing(road) else '不连通'} · 直线 {_num(straight, 0, '米')}"
    else:
        distance = f"{_num(road, 0, 'm') if not missing(road) else 'not connected'} along roads · {_num(straight, 0, 'm')} straight"
    violation = c.compliance in VIOLATIONS
    if zh:
        rows = [("乡镇（街道）", c.township), ("类型", kind), ("状态", status), ("竣工日期", _date(c.completed)),
                ("人口", _num(c.population)), ("需求托位", _num(c.places_required)),
                ("已分配托位", _num(c.places_served)), ("服务范围内托位", _num(c.places_in_reach, 0)),
                ("服务半径类别", catchment), ("最近托育设施", nearest), ("距离", distance),
                ("是否计入", getattr(c, "nearest_reason", None)),
                ("评估结果", _chip(FLAG_COLOURS.get(c.flag, "#555"), flag_label)),
                ("合规状态", _chip("#000" if violation else "#555", comp_label) if violation else comp_label),
                ("整改期限", deadline), ("剩余天数", days_text), *_phase_rows(c, lang), ("依据", c.rule), ("说明", c.reason)]
    else:
        rows = [("Township", c.township), ("Kind", kind), ("Status", status), ("Completed", _date(c.completed)),
                ("Population", _num(c.population)), ("Places required", _num(c.places_required)),
                ("Places allocated", _num(c.places_served)), ("Places in reach", _num(c.places_in_reach, 0)),
                ("Catchment", catchment), ("Nearest childcare", nearest), ("Distance", distance),
                ("Counts?", getattr(c, "nearest_reason_en", None)),
                ("Flag", _chip(FLAG_COLOURS.get(c.flag, "#555"), flag_label)),
                ("Compliance", _chip("#000", comp_label) if violation else comp_label),
                ("Deadline", deadline), ("Days left", days_text), *_phase_rows(c, lang), ("Rule", c.rule_en),
                ("Reason", c.reason_en)]
    return rows, flag_label


def _with_phase(compounds: gpd.GeoDataFrame, optimize) -> gpd.GeoDataFrame:
    """Compounds with the full-compliance plan's remedying site and the phase it opens in (when planned)."""
    comply = getattr(optimize, "comply", None)
    if comply is None:
        return compounds
    sites = comply.compounds.set_index("id")
    out = compounds.assign(remedy_site=compounds["id"].map(
        (sites["site_id"].fillna("") + " " + sites["site_name"].fillna("")).str.strip()))
    phases = getattr(optimize, "phases", None)
    if phases is not None:
        ph = phases.compounds.set_index("id")
        out["remedy_phase"] = out["id"].map(ph["phase"])
        out["remedy_phase_end"] = out["id"].map(ph["phase_end"])
    return out


def _phase_rows(c, lang: str):
    """Popup rows for a compound's remedy in the full-compliance plan (none for compounds it does not cover)."""
    site = getattr(c, "remedy_site", None)
    if missing(site) or not site:
        return []
    zh = lang == "zh"
    phase, end = getattr(c, "remedy_phase", None), getattr(c, "remedy_phase_end", None)
    if missing(phase):
        when = "规划期内未排期" if zh else "not within the phases"
    else:
        when = f"第 {int(phase)} 阶段（{_date(end)} 前）" if zh else f"phase {int(phase)} (by {_date(end)})"
    return [("整改站点", site), ("实施阶段", when)] if zh else [("Remedying site", site), ("Phase", when)]


def _date(v):
    return None if missing(v) else str(v)[:10]


def _compounds_layer(m, compounds: gpd.GeoDataFrame, lang: str, transform) -> None:
    # Canvas draws in order: covered first, flagged above them, violations on top, so that at
    # district zoom no violation hides under a neighbour's dot.
    rank = np.where(compounds["compliance"].isin(VIOLATIONS), 2, np.where(compounds["flag"] != "covered", 1, 0))
    compounds = compounds.iloc[np.argsort(rank, kind="stable")]
    styles = {}
    rows = []
    for c in compounds.itertuples(index=False):
        pop = 0.0 if missing(c.population) else float(c.population)
        radius = round(4 + min(6.0, math.sqrt(max(pop, 0.0)) / 15), 1)
        violation = c.compliance in VIOLATIONS
        key = f"{c.flag}|{int(violation)}|{radius}"
        styles[key] = {"fillColor": FLAG_COLOURS.get(c.flag, "#868e96"), "fillOpacity": 0.85, "radius": radius,
                       "color": VIOLATION_COLOUR if violation else "#ffffff", "weight": 3 if violation else 1,
                       "opacity": 1}
        table, flag_label = _compound_rows(c, lang)
        rows.append({"_k": key, "_popup": _popup(c.name, table, lang), "_tip": f"{c.name}：{flag_label}" if lang == "zh"
                     else f"{c.name}: {flag_label}"})
    data = gpd.GeoDataFrame(pd.DataFrame(rows, index=compounds.index).join(compounds[["id", "name", "township", "flag",
                                                                                        "compliance"]]),
                            geometry=compounds.geometry.representative_point(), crs=compounds.crs)
    _points_layer(m, data, _t("compounds", lang), "compound", styles, transform=transform)


def access_classes(threshold: float, lang: str) -> list[tuple[str, str]]:
    """The choropleth's classes of access as (colour, legend label), worst first, against the target."""
    zh = lang == "zh"
    half, t2 = number(threshold / 2, 0), number(threshold * 2, 0)
    target = number(threshold, 0)
    labels = (["无可达托位", f"低于目标一半（< {half}）", f"低于目标（{half}–{target}）", f"达到目标（{target}–{t2}）",
               f"目标两倍以上（≥ {t2}）"] if zh else
              ["no places in reach", f"below half the target (< {half})", f"below the target ({half}–{target})",
               f"meets the target ({target}–{t2})", f"twice the target or more (≥ {t2})"])
    return list(zip(ACCESS_COLOURS, labels))


def _access_class(value: float, threshold: float) -> int:
    if not value > 0:
        return 0
    return 1 + int(np.searchsorted([threshold / 2, threshold, 2 * threshold], value, side="right"))


def _access_layer(m, access, scenario: str, compounds: gpd.GeoDataFrame, lang: str, transform) -> None:
    """Compounds coloured by their access in one scenario (a choropleth, hidden until ticked)."""
    zh = lang == "zh"
    table = access.compounds.loc[compounds.index]
    unit = access.unit(lang)
    classes = access_classes(access.threshold, lang)
    styles, rows = {}, []
    for c in table.itertuples():
        value = getattr(c, f"access_{scenario}")
        k = _access_class(value, access.threshold)
        styles[str(k)] = {"fillColor": classes[k][0], "color": classes[k][0], "fillOpacity": 0.7, "weight": 1,
                          "opacity": 0.9, "radius": 6}
        lines = [(t("access." + s, lang), _num(getattr(c, f"access_{s}"), 1)) for s in access.scenarios]
        lines = [("乡镇（街道）" if zh else "Township", c.township),
                 ("婴幼儿数" if zh else "Children", _num(c.children, 1)), *lines,
                 ("目标" if zh else "Target", _num(access.threshold, 1))]
        rows.append({"_k": str(k), "_popup": _popup(f"{c.name}：{unit}" if zh else f"{c.name}: {unit}", lines, lang),
                     "_tip": f"{c.name}：{_num(value, 1)}" if zh else f"{c.name}: {_num(value, 1)}"})
    data = gpd.GeoDataFrame(pd.DataFrame(rows, index=table.index).join(table[["id", "name", "township"]]),
                            geometry=table.geometry.to_numpy(), crs=table.crs)
    name = _t("access", lang, scenario=t(f"access.{scenario}", lang), unit=unit)
    _points_layer(m, data, name, f"access_{scenario}", styles, show=False, transform=transform)


def _access_light(m, access, scenario: str, lang: str, transform, index=None) -> None:
    """The access choropleth at district scale: compounds (of ``index``) as light points by class, no popups."""
    table = access.compounds if index is None else access.compounds.loc[index]
    classes = access_classes(access.threshold, lang)
    keys = [str(_access_class(v, access.threshold)) for v in table[f"access_{scenario}"]]
    styles = {str(k): {"fillColor": colour, "fillOpacity": 0.8, "radius": 2.5, "stroke": False}
              for k, (colour, _) in enumerate(classes)}
    name = _t("access", lang, scenario=t(f"access.{scenario}", lang), unit=access.unit(lang))
    add_light_points(m, table, keys, styles, name, f"access_{scenario}", transform, show=False)


def _childcare_layer(m, childcare: gpd.GeoDataFrame, lang: str, transform) -> None:
    zh = lang == "zh"
    kinds = childcare_kind_for_map(childcare)
    labels = FACILITY_KIND_LABELS[lang if lang in FACILITY_KIND_LABELS else "en"]
    styles = {k: {"fillColor": c, "color": "#212529", "weight": 1.5, "fillOpacity": 1, "radius": 7, "opacity": 1}
              for k, c in FACILITY_COLOURS.items()}
    rows = []
    for (_, f), kind in zip(childcare.iterrows(), kinds):
        places = _num(f.get("places_supply"))
        if bool(f.get("places_estimated")) is True:
            places += "（估算）" if zh else " (estimated)"
        reg = f.get("registration")
        reg = VALUES["registration"].get(reg, reg) if zh else reg
        yes = {True: "是", False: "否"} if zh else {True: "yes", False: "no"}
        inclusive = None if missing(f.get("inclusive")) else yes.get(bool(f.get("inclusive")))
        table = ([("类型", labels[kind]), ("乡镇（街道）", f.get("township")), ("计入托位", places),
                  ("托班数", _num(f.get("classes"))), ("已分配托位", _num(f.get("load"))), ("登记备案", reg),
                  ("普惠", inclusive), ("设置标准问题", f.get("standard_issues") or None)] if zh else
                 [("Kind", labels[kind]), ("Township", f.get("township")), ("Places counted", places),
                  ("Classes", _num(f.get("classes"))), ("Places allocated", _num(f.get("load"))),
                  ("Registration", reg), ("Inclusive", inclusive), ("Standard issues", f.get("standard_issues") or None)])
        rows.append({"_k": kind, "_popup": _popup(str(f["name"]), table, lang), "_tip": f"{f['name']}（{labels[kind]}）"
                     if zh else f"{f['name']} ({labels[kind]})"})
    data = gpd.GeoDataFrame(pd.DataFrame(rows, index=childcare.index).join(childcare[["id", "name", "township"]]),
                            geometry=childcare.geometry, crs=childcare.crs)
    data["kind"] = kinds.to_numpy()
    _points_layer(m, data, _t("childcare", lang), "childcare", styles, transform=transform)


def _health_layer(m, health: gpd.GeoDataFrame, lang: str, transform) -> None:
    zh = lang == "zh"
    styles = {"h": {"fillColor": "#ffffff", "color": HEALTH_COLOUR, "weight": 3, "fillOpacity": 1, "radius": 5,
                    "opacity": 1}}
    rows = []
    for f in health.itertuples(index=False):
        kind = LABELS["health_kind"].get(f.kind, f.kind) if zh else f.kind
        table = [("类型", kind), ("乡镇（街道）", f.township)] if zh else [("Kind", kind), ("Township", f.township)]
        rows.append({"_k": "h", "_popup": _popup(f.name, table, lang), "_tip": f.name})
    data = gpd.GeoDataFrame(pd.DataFrame(rows, index=health.index).join(health[["id", "name", "township"]]),
                            geometry=health.geometry, crs=health.crs)
    _points_layer(m, data, _t("health", lang), "health", styles, transform=transform)


def _parcels_layer(m, parcels: gpd.GeoDataFrame, lang: str, transform) -> None:
    zh = lang == "zh"
    styles = {"p": {"fillColor": PARCEL_COLOUR, "color": PARCEL_COLOUR, "weight": 1.5, "fillOpacity": 0.45,
                    "opacity": 1}}
    rows = []
    for f in parcels.itertuples(index=False):
        status = LABELS["parcel_status"].get(f.status, f.status) if zh else f.status
        owner = getattr(f, "ownership", None)
        owner = LABELS["ownership"].get(owner, owner) if zh and "ownership" in LABELS else owner
        table = ([("地块编码", f.id), ("乡镇（街道）", f.township), ("面积", _num(f.area, 0, "㎡")), ("现状用途", f.land_use),
                  ("状态", status), ("权属", owner)] if zh else
                 [("Parcel", f.id), ("Township", f.township), ("Area", _num(f.area, 0, "m²")), ("Land use", f.land_use),
                  ("Status", status), ("Ownership", owner)])
        title = f"{'地块' if zh else 'Parcel'} {f.id}"
        rows.append({"_k": "p", "_popup": _popup(title, table, lang), "_tip": title})
    data = gpd.GeoDataFrame(pd.DataFrame(rows, index=parcels.index).join(parcels[["id", "township"]]),
                            geometry=parcels.geometry, crs=parcels.crs)
    _points_layer(m, data, _t("parcels", lang), "parcel", styles, transform=transform)


def _service_area_layer(m, areas: gpd.GeoDataFrame, lang: str, transform, clip=None, simplify: float = 0.0) -> None:
    ds = sorted(int(d) for d in areas["threshold"]) if len(areas) else []
    label = "/".join(str(d) for d in ds) + (" 米" if lang == "zh" else " m")
    group = feature_group(_t("service_areas", lang, d=label), show=False)
    if len(areas):
        geoms = areas.geometry.to_numpy()
        if clip is not None:
            geoms = shapely.intersection(geoms, clip)
        if simplify:
            geoms = shapely.simplify(geoms, simplify)  # topology preserved (no self-intersections)
        n = len(areas)
        features = []
        for i, (d, g) in enumerate(zip(areas["threshold"], geoms)):
            if g is None or g.is_empty:
                continue
            features.append({"type": "Feature", "properties": {"layer": "service_area", "threshold": int(d),
                                                              "_o": round(0.06 + 0.06 * i, 2), "_w": 1 + (i == n - 1)},
                             "geometry": shapely.geometry.mapping(_round_coords(g, transform=transform))})
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            style_function=lambda f: {"color": SERVICE_AREA_COLOUR, "fillColor": SERVICE_AREA_COLOUR,
                                      "fillOpacity": f["properties"]["_o"], "weight": f["properties"]["_w"],
                                      "dashArray": "4 3"},
            interactive=False,
        ).add_to(group)
    group.add_to(m)


def _sites_layer(m, sites: gpd.GeoDataFrame, lang: str, transform) -> None:
    zh = lang == "zh"
    group = feature_group(_t("sites", lang), show=True)
    pts = _round_coords(np.asarray(sites.geometry.values), transform=transform) if len(sites) else []
    for s, pt in zip(sites.itertuples(index=False), pts):
        rank = int(s.rank)
        source = s.source_id if s.kind == "parcel" else None
        names = s.compounds if isinstance(s.compounds, str) and s.compounds else None
        covered = f"{int(s.compounds_count)} 个：{names}" if zh and names else (
            f"{int(s.compounds_count)}: {names}" if names else _num(s.compounds_count))
        table = ([("优先序", rank), ("类型", s.kind_label), ("地块编码", source), ("乡镇（街道）", s.township),
                  ("面积", _num(s.area, 0, "㎡")), ("现状用途", s.land_use), ("托班数", _num(s.classes)),
                  ("新增托位", _num(s.places)), ("可服务托位", _num(s.places_served)), ("覆盖小区", covered),
                  ("覆盖人口", _num(s.population_covered)), ("投资估算", _money(s.cost, lang)),
                  ("补助", _money(s.subsidy, lang)), ("净投入", _money(s.net_cost, lang))] if zh else
                 [("Rank", rank), ("Kind", s.kind), ("Parcel", source), ("Township", s.township),
                  ("Area", _num(s.area, 0, "m²")), ("Land use", s.land_use), ("Classes", _num(s.classes)),
                  ("New places", _num(s.places)), ("Places used", _num(s.places_served)), ("Compounds covered", covered),
                  ("Population covered", _num(s.population_covered)), ("Cost", _money(s.cost, lang)),
                  ("Subsidy", _money(s.subsidy, lang)), ("Net cost", _money(s.net_cost, lang))])
        title = f"{'建议点位' if zh else 'Proposed site'} {rank}：{s.name}" if zh else f"Proposed site {rank}: {s.name}"
        size = 24 if rank < 10 else 28
        icon = folium.DivIcon(
            html=(f'<div class="siting-site" data-rank="{rank}" style="width:{size}px;height:{size}px;border-radius:50%;'
                  f"background:{SITE_COLOUR};color:#fff;border:3px solid #fcc419;box-sizing:border-box;"
                  f"font:bold 12px/{size - 6}px sans-serif;text-align:center;box-shadow:0 1px 3px rgba(0,0,0,.5)\">"
                  f"{rank}</div>"),
            icon_size=(size, size), icon_anchor=(size // 2, size // 2), class_name="siting-site-icon")
        marker = folium.Marker([pt.y, pt.x], icon=icon, z_index_offset=1000)
        marker.add_child(Bind(_popup(title, table, lang), title))
        marker.add_to(group)
    group.add_to(m)
    if len(sites):
        m.get_root().script.add_child(Element(_DECLUTTER_JS.replace("MAP", m.get_name())))


# In the dense core numbered sites would sit on each other: after every zoom, each site (in rank
# order) keeps its place if free, else its icon moves to the nearest free spot on rings around
# it (a dashed outline marks a moved icon; its popup still opens at the true location).
_DECLUTTER_JS = """
(function () {
  function declutter() {
    var icons = [].slice.call(document.querySelectorAll('.siting-site'));
    icons.sort(function (a, b) { return a.dataset.rank - b.dataset.rank; });
    icons.forEach(function (el) { el.style.transform = ''; el.style.borderStyle = ''; });
    var placed = [];
    icons.forEach(function (el) {
      var r = el.getBoundingClientRect(), d = r.width + 2;
      var x = r.left + r.width / 2, y = r.top + r.height / 2, best = null;
      for (var ring = 0; ring < 8 && !best; ring++) {
        var n = ring === 0 ? 1 : 6 * ring;
        for (var k = 0; k < n && !best; k++) {
          var a = 2 * Math.PI * k / n - Math.PI / 2, dx = ring * d * Math.cos(a), dy = ring * d * Math.sin(a);
          if (placed.every(function (p) { return Math.hypot(p[0] - x - dx, p[1] - y - dy) >= d; })) { best = [dx, dy]; }
        }
      }
      best = best || [0, 0];
      placed.push([x + best[0], y + best[1]]);
      if (best[0] || best[1]) {
        el.style.transform = 'translate(' + best[0].toFixed(1) + 'px,' + best[1].toFixed(1) + 'px)';
        el.style.borderStyle = 'dashed';
      }
    });
  }
  window.addEventListener('load', function () { MAP.on('zoomend overlayadd', declutter); declutter(); });
})();
"""


def _township_labels(m, townships: gpd.GeoDataFrame, transform, highlight: str | None) -> None:
    pts = _round_coords(np.asarray(townships.geometry.representative_point().values), transform=transform)
    group = folium.FeatureGroup(name="_labels", control=False)
    for name, pt in zip(townships["name"], pts):
        weight = "bold" if highlight in (None, name) else "normal"
        colour = "#212529" if highlight in (None, name) else "#868e96"
        folium.Marker([pt.y, pt.x], interactive=False, icon=folium.DivIcon(
            html=(f'<div class="siting-town-label" style="transform:translate(-50%,-50%);white-space:nowrap;'
                  f"font:{weight} 14px sans-serif;color:{colour};text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 3px #fff\">"
                  f"{html(str(name))}</div>"), icon_size=(0, 0), class_name="siting-label")).add_to(group)
    group.add_to(m)


def _borders(m, project, lang: str, transform, township: str | None) -> None:
    tw = project.townships
    features = []
    for name, geom in zip(tw["name"], tw.geometry):
        on = township is None or name == township
        features.append({"type": "Feature", "properties": {"layer": "township", "name": str(name),
                                                          "_c": "#212529" if (township and on) else "#495057",
                                                          "_w": 3 if (township and on) else 1.5,
                                                          "_d": None if (township and on) else "6 4"},
                         "geometry": shapely.geometry.mapping(_round_coords(shapely.simplify(geom, 2e-5),
                                                                            transform=transform))})
    if township is not None:  # grey out everything outside the township
        area = shapely.union_all(tw.geometry[tw["name"] == township].to_numpy())
        minx, miny, maxx, maxy = area.bounds
        mask = shapely.box(minx - 1, miny - 1, maxx + 1, maxy + 1).difference(shapely.simplify(area, 2e-5))
        features.insert(0, {"type": "Feature", "properties": {"layer": "mask", "_c": "#868e96", "_w": 0, "_d": None,
                                                             "_f": 0.28},
                            "geometry": shapely.geometry.mapping(_round_coords(mask, transform=transform))})
    group = feature_group(_t("townships", lang), show=True)
    folium.GeoJson({"type": "FeatureCollection", "features": features}, interactive=False,
                   style_function=lambda f: {"color": f["properties"]["_c"], "weight": f["properties"]["_w"],
                                             "dashArray": f["properties"]["_d"], "fill": "_f" in f["properties"],
                                             "fillColor": "#868e96", "fillOpacity": f["properties"].get("_f", 0),
                                             "stroke": f["properties"]["_w"] > 0}).add_to(group)
    if len(project.boundary):
        geom = _round_coords(shapely.simplify(project.boundary.geometry.iloc[0], 2e-5), transform=transform)
        folium.GeoJson({"type": "Feature", "properties": {"layer": "boundary"}, "geometry": shapely.geometry.mapping(geom)},
                       interactive=False,
                       style_function=lambda f: {"color": "#212529", "weight": 3.5, "fill": False}).add_to(group)
    group.add_to(m)


def _township_stats(audit, name: str, sites) -> dict:
    row = audit.townships[audit.townships["township"] == name]
    r = row.iloc[0] if len(row) else None
    n_sites = int((sites["township"] == name).sum()) if sites is not None and len(sites) else 0
    return {"per": float(r["places_per_1000"]) if r is not None else float("nan"),
            "target": float(r["target_per_1000"]) if r is not None else float("nan"),
            "flagged": int(r["flagged_compounds"]) if r is not None and not missing(r["flagged_compounds"]) else 0,
            "sites": n_sites}


def _within(gdf: gpd.GeoDataFrame, area) -> gpd.GeoDataFrame:
    if area is None or len(gdf) == 0:
        return gdf
    return gdf[gdf.geometry.intersects(area)]


def district_map(project, audit, optimize=None, lang: str = "zh", township: str | None = None,
                 basemap: str | None = None, *, service_areas: gpd.GeoDataFrame | None = None,
                 access=None) -> folium.Map:
    """The audit and the proposed sites on one map, for the district or one township.

    Parameters
    ----------
    project : siting.Project
    audit : siting.audit.AuditResult
    optimize : siting.optimize.OptimizeResult, optional
        Its ``sites`` are drawn numbered by rank; without it no sites are drawn.
    lang : {"zh", "en"}
    township : str, optional
        A township name: the map is zoomed to it, shows only its compounds and the facilities,
        parcels and sites within ``TOWNSHIP_MARGIN_M`` of it, and every road there. ``None``:
        the whole district, with roads of class tertiary and above only.
    basemap : {"none", "osm", "tianditu", "amap"}, optional
        Default: config ``maps.basemap``. With ``"amap"`` every overlay is shifted to GCJ-02.
    service_areas : GeoDataFrame, optional
        Precomputed :func:`walk_service_areas` (``write_maps`` computes them once for all maps).
    access : siting.access.AccessResult, optional
        One choropleth layer of compounds per scenario (today, with the proposal, with full
        compliance), hidden until ticked in the layer list, with its classes in the legend.

    Returns
    -------
    folium.Map
        Save it with ``save_map(m, path, allow=resolve_basemap(project, basemap).allow)``.

    Raises
    ------
    ConfigError
        Unknown basemap or township; 天地图 without a token.
    """
    bm = resolve_basemap(project, basemap, lang)
    transform = xy_conversion(wgs84_to_gcj02) if bm.gcj02 else None
    zh = lang == "zh"
    names = [str(n) for n in project.townships["name"]]
    area = clip = None
    if township is not None:
        if township not in names:
            raise ConfigError(f"unknown township {township!r}: the project has {', '.join(names)}",
                              f"未知乡镇（街道）{township!r}：本项目包括 {'、'.join(names)}")
        area = shapely.union_all(project.townships.geometry[project.townships["name"] == township].to_numpy())
        clip = gpd.GeoSeries([area], crs="EPSG:4326").to_crs(project.crs).buffer(TOWNSHIP_MARGIN_M).to_crs(
            "EPSG:4326").iloc[0]
    focus = area if area is not None else (project.boundary.geometry.iloc[0] if len(project.boundary)
                                           else shapely.union_all(project.compounds.geometry.to_numpy()))
    minx, miny, maxx, maxy = _round_coords(shapely.box(*focus.bounds), transform=transform).bounds
    m = offline_map([round((miny + maxy) / 2, 5), round((minx + maxx) / 2, 5)], zoom_start=11 if township is None else 13,
                    max_zoom=18, min_zoom=8, control_scale=True, prefer_canvas=True)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    for tile_name, url, attr, subdomains in bm.tiles:
        folium.TileLayer(tiles=url, attr=attr, name=tile_name, subdomains=subdomains, max_zoom=18,
                         overlay=len(bm.tiles) > 1 and url is not bm.tiles[0][1], control=True).add_to(m)

    # Bottom to top: roads, borders, service areas, parcels, compounds, health, childcare, sites.
    if project.roads is not None:
        if township is None:
            add_roads(m, project.roads, name=_t("roads_major", lang), classes=MAJOR_ROADS, transform=transform,
                      simplify=2e-5, show=not bm.online)
        else:
            add_roads(m, project.roads, clip=clip, name=_t("roads", lang), transform=transform, show=not bm.online)
    sites = optimize.sites if optimize is not None else None
    # A big district is drawn at district scale (shaded townships, light points) to stay small enough
    # for phones and messaging apps; its township maps keep every detail.
    district_scale = township is None and len(audit.compounds) > int(project.config["maps.district_detail_max"])
    if district_scale:
        _township_shading(m, project, audit, sites, lang, transform)
    _borders(m, project, lang, transform, township)
    if service_areas is None:
        service_areas = walk_service_areas(project, audit)
    _service_area_layer(m, service_areas, lang, transform, clip=clip, simplify=_DISTRICT_SCALE_SIMPLIFY if district_scale
                        else 0.0)
    compounds = audit.compounds if township is None else audit.compounds[audit.compounds["township"] == township]
    if district_scale:
        if access is not None:
            for scenario in access.scenarios:
                _access_light(m, access, scenario, lang, transform)
        _district_scale_layers(m, project, audit, lang, transform)
    else:
        _parcels_layer(m, _within(project.parcels, clip), lang, transform)
        if access is not None:  # a big township: the choropleths as light points, as at district scale
            light = len(compounds) > int(project.config["maps.district_detail_max"])
            for scenario in access.scenarios:
                if light:
                    _access_light(m, access, scenario, lang, transform, compounds.index)
                else:
                    _access_layer(m, access, scenario, compounds, lang, transform)
        _compounds_layer(m, _with_phase(compounds, optimize), lang, transform)
        _health_layer(m, _within(project.health, clip), lang, transform)
        _childcare_layer(m, _within(audit.childcare, clip), lang, transform)
    if sites is not None:
        _sites_layer(m, _within(sites, clip).sort_values("rank"), lang, transform)
    _township_labels(m, project.townships, transform, township)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)

    date = project.config["project.data_date"] or "—"
    lines = [_t("audit_data_date", lang, date=date, as_of=str(audit.as_of)[:10])]
    if township is not None:
        lines.append(_t("summary", lang, **_township_stats(audit, township, sites)))
    notes = [_t("gcj02", lang)] if bm.gcj02 else []
    add_title(m, _t("audit_title", lang, name=township if township is not None else project.name), lines,
              _t("demo", lang) if project.demo else None, notes)
    if not project.demo:  # the demo's roads are synthetic, not OpenStreetMap data
        add_osm_attribution(m)
    flags = VALUES["flag"] if zh else VALUES_EN["flag"]
    kinds = FACILITY_KIND_LABELS[lang if lang in FACILITY_KIND_LABELS else "en"]
    legend = [(None, "居住小区与村庄" if zh else "Compounds and villages")]
    legend += [(FLAG_COLOURS[k], flags[k]) for k in FLAG_COLOURS]
    legend += [(VIOLATION_COLOUR, _t("violation", lang), "ring"), (None, _t("childcare", lang))]
    legend += [(FACILITY_COLOURS[k], kinds[k]) for k in FACILITY_COLOURS]
    if district_scale:
        ratio = (("达到目标", "75%–100% 目标", "低于 75% 目标") if zh else
                 ("At or above target", "75–100 % of target", "Below 75 % of target"))
        legend += [(None, _t("township_ratio", lang))]
        legend += [(c, text, "area") for (c, _), text in zip(RATIO_COLOURS, ratio)]
    legend += [(None, "其他" if zh else "Other"), (HEALTH_COLOUR, _t("health", lang), "hollow"),
               (PARCEL_COLOUR, _t("parcels", lang), "area"), (SITE_COLOUR, _t("sites", lang), "number"),
               (SERVICE_AREA_COLOUR, _t("service_areas", lang, d="…").replace("（…）", "").replace(" (…)", ""), "line")]
    if access is not None:
        unit = access.unit(lang)
        legend += [(None, _t("access_legend", lang, unit=unit))]
        legend += [(colour, text, "area") for colour, text in access_classes(access.threshold, lang)]
    add_legend(m, _t("legend", lang), legend)
    add_screen_fit(m, lang)
    m.get_root().header.add_child(Element(_POPUP_CSS))
    m.get_root().header.add_child(Element(f"<title>{html(_t('audit_title', lang, name=township or project.name))}</title>"))
    return m


# ---------------------------------------------------------------------------------------------
# All maps of a run


def _index_html(project, audit, optimize, files: dict[str, Path], townships: list[tuple[str, str]], lang: str,
                bm: Basemap, briefing: bool = False) -> str:
    zh = lang == "zh"
    sites = optimize.sites if optimize is not None else None
    title = _t("index_title", lang, name=project.name)
    date = project.config["project.data_date"] or "—"
    demo = f'<p class="demo">{html(_t("demo", lang))}</p>' if project.demo else ""
    district = audit.townships[audit.townships["kind"] == "district"]
    total = {"per": float(district["places_per_1000"].iloc[0]) if len(district) else float("nan"),
             "target": float(district["target_per_1000"].iloc[0]) if len(district) else float("nan"),
             "flagged": int(district["flagged_compounds"].iloc[0]) if len(district) else 0,
             "sites": len(sites) if sites is not None else 0}
    items = [f'<li><a href="district.html">{html(_t("index_district", lang))}</a> — '
             f'{html(_t("summary", lang, **total))}</li>']
    if "overview" in files:
        items.append(f'<li><a href="overview.html">{html(_t("index_overview", lang))}</a></li>')
    if briefing:
        items.append(f'<li><a href="briefing.html">{html(_t("index_briefing", lang))}</a></li>')
    rows = "".join(
        f'<li><a href="{html(fname)}">{html(name)}</a> — '
        f'{html(_t("summary", lang, **_township_stats(audit, name, sites)))}</li>'
        for name, fname in townships)
    online = f'<p>{html(_t("index_online", lang, basemap=bm.label))}</p>' if bm.online else \
        f'<p>{html(_t("index_note", lang))}</p>'
    return (
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if zh else "en"}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html(title)}</title>'
        "<style>body{font:15px/1.6 sans-serif;max-width:860px;margin:24px auto;padding:0 16px;color:#212529}"
        "h1{font-size:22px}h2{font-size:17px;margin-top:20px}.demo{color:#c92a2a;font-weight:bold}"
        "li{margin:4px 0}a{color:#1864ab}.meta{color:#555;font-size:13px}</style></head><body>"
        f"<h1>{html(title)}</h1>{demo}"
        f'<p class="meta">{html(_t("audit_data_date", lang, date=date, as_of=str(audit.as_of)[:10]))}</p>{online}'
        f"<ul>{''.join(items)}</ul>"
        f'<p id="why">{html(_t("index_why", lang))}</p>'
        f'<h2>{html(_t("index_townships", lang))}</h2><ul id="townships">{rows}</ul></body></html>\n'
    )


def write_maps(project, audit, optimize, out_dir, lang: str = "zh", basemap: str | None = None, *,
               township_maps: bool | None = None, overview: bool = True, briefing: bool = False,
               service_areas: gpd.GeoDataFrame | None = None, access=None) -> dict[str, Path]:
    """Write every map of a run into ``out_dir``.

    Files: ``overview.html`` (every input layer; with ``overview=True``), ``district.html``, one
    ``township_NN.html`` per township (``01``, ``02``… in the order of ``project.townships``;
    with ``township_maps``, default config ``maps.township_maps``) and ``index.html`` linking them
    with a one-line summary per township. Same inputs give the same bytes; each file is
    written atomically.

    Parameters
    ----------
    project, audit, optimize
        ``optimize`` may be None (no proposed sites drawn).
    out_dir : str or Path
    lang : {"zh", "en"}
    basemap : {"none", "osm", "tianditu", "amap"}, optional
        Default config ``maps.basemap``; ``"none"`` pages work offline.
    service_areas : GeoDataFrame, optional
        Per-facility service areas from :func:`siting.audit.facility_service_areas`, when already computed.
    briefing : bool
        The run also writes ``briefing.html`` into ``out_dir``: the index links it.
    access : siting.access.AccessResult, optional
        Adds the access choropleth layers (hidden by default) to the district and township maps.

    Returns
    -------
    dict
        File key (``"overview"``, ``"district"``, ``"township_01"``…, ``"index"``) → path written.
    """
    out = Path(out_dir)
    bm = resolve_basemap(project, basemap, lang)  # fail before writing anything
    if township_maps is None:
        township_maps = bool(project.config["maps.township_maps"])
    areas = walk_service_areas(project, audit, service_areas)
    files: dict[str, Path] = {}
    if overview:
        files["overview"] = save_map(overview_map(project, lang), out / "overview.html")
    files["district"] = save_map(district_map(project, audit, optimize, lang, basemap=bm.key, service_areas=areas,
                                              access=access),
                                 out / "district.html", allow=bm.allow)
    townships = []
    if township_maps:
        for i, name in enumerate(project.townships["name"], start=1):
            key = f"township_{i:02d}"
            files[key] = save_map(district_map(project, audit, optimize, lang, township=str(name), basemap=bm.key,
                                               service_areas=areas, access=access), out / f"{key}.html", allow=bm.allow)
            townships.append((str(name), f"{key}.html"))
    files["index"] = write_text(out / "index.html", _index_html(project, audit, optimize, files, townships, lang, bm,
                                                                   briefing))
    return files
