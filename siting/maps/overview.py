"""The district overview map: every layer of a project on the road network, as a Folium map."""

from __future__ import annotations

import datetime as dt

import folium
import pandas as pd
from branca.element import Element

from ..escape import html
from ..i18n import t
from ..schema import LABELS
from ..tables import missing, number
from .layers import (
    COMPOUND_COLOURS,
    FACILITY_COLOURS,
    FACILITY_KIND_LABELS,
    HEALTH_COLOUR,
    PARCEL_COLOUR,
    add_layer,
    add_legend,
    add_light_points,
    add_osm_attribution,
    add_roads,
    add_title,
    base_map,
    childcare_kind_for_map,
)
from .screen import add_screen_fit

__all__ = ["overview_map"]


def _for_people(gdf, lang: str):
    """Values as people read them in popups: whole numbers, 是/否, dates, Chinese category labels."""
    zh = lang == "zh"
    yes_no = {True: "是", False: "否"} if zh else {True: "yes", False: "no"}
    out = gdf.copy()
    for col in out.columns:
        s = out[col]
        if col == out.geometry.name:
            continue
        if pd.api.types.is_bool_dtype(s) or str(s.dtype) == "boolean":
            out[col] = s.map(lambda v: None if missing(v) else yes_no[bool(v)]).astype(object)
        elif pd.api.types.is_numeric_dtype(s):
            out[col] = s.map(lambda v: None if missing(v) else number(v)).astype(object)
        elif s.dtype == object:
            out[col] = s.map(lambda v: v.isoformat() if isinstance(v, dt.date) else v)
    if zh and "status" in out:
        labels = {**LABELS["compound_status"], **LABELS["parcel_status"]}
        out["status"] = out["status"].map(lambda v: labels.get(v, v))
    return out


def overview_map(project, lang: str = "zh") -> folium.Map:
    """Every layer of the project on one map: boundary, townships, roads, compounds, facilities, parcels."""
    zh = lang == "zh"
    boundary = project.boundary
    m = base_map(boundary.total_bounds if len(boundary) else project.compounds.total_bounds)
    folium.GeoJson(boundary.__geo_interface__, name=html(t("map.district_border", lang)),
                   style_function=lambda f: {"color": "#212529", "weight": 3, "fill": False}, interactive=False).add_to(m)
    if project.roads is not None:
        add_roads(m, project.roads, name=t("map.roads", lang))
    tw = project.townships
    tw = _for_people(tw, lang)
    add_layer(m, tw, "乡镇（街道）" if zh else "Townships", {"name": "名称" if zh else "Name",
              "population": "常住人口" if zh else "Population"}, "#495057", fill_opacity=0.02)
    comp = project.compounds
    kind_labels = LABELS["compound_kind"] if zh else {k: k for k in LABELS["compound_kind"]}
    comp = _for_people(comp.assign(kind_label=comp["kind"].map(kind_labels)), lang)
    if len(comp) > int(project.config["maps.district_detail_max"]):  # a big district: points, no popups
        add_light_points(m, comp, comp["kind"].to_numpy(),
                         {k: {"fillColor": c, "fillOpacity": 0.6, "radius": 2.5, "stroke": False}
                          for k, c in COMPOUND_COLOURS.items()},
                         "居住小区与村庄" if zh else "Compounds and villages", "compound")
    else:
        add_layer(m, comp, "居住小区与村庄" if zh else "Compounds and villages",
                  {"name": "名称", "kind_label": "类型", "township": "所属乡镇", "households": "户数", "population": "人口",
                   "completed": "竣工日期", "status": "状态"} if zh else
                  {"name": "Name", "kind_label": "Kind", "township": "Township", "households": "Households",
                   "population": "Population", "completed": "Completed", "status": "Status"},
                  COMPOUND_COLOURS, colour_by="kind", radius=3, fill_opacity=0.35)
    cc = project.childcare.assign(map_kind=childcare_kind_for_map(project.childcare))
    cc_labels = FACILITY_KIND_LABELS["zh" if zh else "en"]
    cc = _for_people(cc.assign(kind_label=cc["map_kind"].map(cc_labels)), lang)
    add_layer(m, cc, "托育机构与幼儿园" if zh else "Childcare",
              {"name": "名称", "kind_label": "类型", "places": "托位数", "classes": "托班数", "registered": "已登记",
               "filed": "已备案", "inclusive": "普惠"} if zh else
              {"name": "Name", "kind_label": "Kind", "places": "Places", "classes": "Classes",
               "registered": "Registered", "filed": "Filed", "inclusive": "Inclusive"},
              FACILITY_COLOURS, colour_by="map_kind", radius=6, fill_opacity=0.85)
    hl = project.health.assign(kind_label=project.health["kind"].map(LABELS["health_kind"] if zh else
                                                                    {k: k for k in LABELS["health_kind"]}))
    add_layer(m, hl, t("map.health", lang),
              {"name": "名称" if zh else "Name", "kind_label": "类型" if zh else "Kind"}, HEALTH_COLOUR, radius=5,
              fill_opacity=0.85)
    pc = project.parcels.assign(status_label=project.parcels["status"].map(LABELS["parcel_status"] if zh else
                                                                           {k: k for k in LABELS["parcel_status"]}))
    pc = _for_people(pc, lang)
    add_layer(m, pc, t("map.parcels", lang),
              {"id": "地块编码", "area": "面积（㎡）", "land_use": "现状用途", "status_label": "状态"} if zh else
              {"id": "Parcel", "area": "Area (m²)", "land_use": "Land use", "status_label": "Status"},
              PARCEL_COLOUR, fill_opacity=0.5)
    folium.LayerControl(collapsed=False).add_to(m)
    date = project.config["project.data_date"] or "—"
    m.get_root().header.add_child(Element(f"<title>{html(t('map.title', lang, name=project.name))}</title>"))
    add_title(m, t("map.title", lang, name=project.name), t("map.data_date", lang, date=date),
              t("map.demo", lang) if project.demo else None)
    if not project.demo:  # the demo's roads are synthetic, not OpenStreetMap data
        add_osm_attribution(m)
    legend = [(COMPOUND_COLOURS["compound"], kind_labels["compound"]), (COMPOUND_COLOURS["village"], kind_labels["village"])]
    legend += [(FACILITY_COLOURS[k], cc_labels[k]) for k in FACILITY_COLOURS]
    legend += [(HEALTH_COLOUR, "医疗卫生机构" if zh else "Health facility"), (PARCEL_COLOUR, "闲置与低效用地" if zh else "Idle land")]
    add_legend(m, t("map.legend", lang), legend)
    add_screen_fit(m, lang)
    return m
