"""What every map shares: palette, base map, roads, point/polygon layers, title, legend, attribution."""

from __future__ import annotations

import json

import folium
import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from branca.element import Element, MacroElement
from folium.template import Template

from ..escape import html, js
from ..network.lines import road_lines
from .offline import offline_map

__all__ = ["Bind", "COMPOUND_COLOURS", "FACILITY_COLOURS", "FACILITY_KIND_LABELS", "HEALTH_COLOUR", "PARCEL_COLOUR", "ROAD_STYLE",
           "add_layer", "add_legend", "add_light_points", "add_osm_attribution", "add_roads", "add_title", "base_map",
           "childcare_kind_for_map", "feature_group"]

# Road widths and greys by class: the roads are the offline basemap, so they must stay quiet.
ROAD_STYLE = {
    "primary": (3.0, "#8a8a8a"),
    "secondary": (2.4, "#9a9a9a"),
    "tertiary": (1.8, "#a8a8a8"),
    "unclassified": (1.2, "#b8b8b8"),
    "residential": (1.0, "#c0c0c0"),
    "service": (0.8, "#cccccc"),
    "track": (0.8, "#cccccc"),
    "footway": (0.6, "#d6d6d6"),
}
_OTHER_ROAD = (0.8, "#cccccc")

# One palette and one set of kind labels for every map, so a colour means the same thing on all of them.
FACILITY_COLOURS = {"nursery": "#1971c2", "kindergarten_tuoban": "#22b8cf", "kindergarten": "#868e96",
                    "employer": "#6741d9", "community": "#ae3ec9"}
FACILITY_KIND_LABELS = {
    "zh": {"nursery": "托育机构", "kindergarten_tuoban": "幼儿园（有托班）", "kindergarten": "幼儿园（无托班）",
           "employer": "单位自办托育", "community": "社区托育点"},
    "en": {"nursery": "Nursery", "kindergarten_tuoban": "Kindergarten with 托班 (toddler classes)",
           "kindergarten": "Kindergarten without 托班", "employer": "Employer-run", "community": "Community point"},
}
HEALTH_COLOUR = "#e64980"
PARCEL_COLOUR = "#a0522d"
COMPOUND_COLOURS = {"compound": "#4263eb", "village": "#845ef7"}


class Bind(MacroElement):
    """A popup and a hover label for one marker or layer, from HTML passed as JSON values.

    folium's own ``Popup`` and ``Tooltip`` paste their text into JavaScript template literals,
    where a backtick, ``${…}`` or ``</script>`` in a name breaks the page or runs code. Here the
    HTML goes through :func:`siting.escape.html` (plain text is escaped, ``Markup`` kept) and
    reaches the script only as :func:`siting.escape.js` values.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}{% if this.popup %}.bindPopup({{ this.popup }}, {maxWidth: {{ this.max_width }}}){% endif %}
        {%- if this.tooltip %}.bindTooltip({{ this.tooltip }}, {sticky: true}){% endif %};
        {% endmacro %}
    """)

    def __init__(self, popup=None, tooltip=None, max_width: int = 380):
        super().__init__()
        self._name = "Bind"
        self.popup = js(str(html(popup))) if popup is not None else None
        self.tooltip = js(str(html(tooltip))) if tooltip is not None else None
        self.max_width = int(max_width)


def feature_group(name: str, **kwargs) -> folium.FeatureGroup:
    """A layer for the layer list, whose label Leaflet shows as HTML: the name is escaped."""
    return folium.FeatureGroup(name=html(name), **kwargs)


def _round_coords(geom, ndigits: int = 5, transform=None):
    """Round coordinates to ``ndigits`` decimals (1e-5° ≈ 1 m: small files, no visible loss).

    ``transform`` (an ``(n, 2) array -> (n, 2) array`` function, e.g. WGS84 → GCJ-02) is applied
    first. Works on one geometry or an array of them; rounding with numpy keeps the JSON short
    (``35.112``, not ``35.111999999999995``).
    """

    def f(xy):
        if transform is not None:
            xy = transform(xy)
        return np.round(xy, ndigits)

    return shapely.transform(geom, f)


def base_map(bounds, max_zoom: int = 18) -> folium.Map:
    """An empty map fitted to ``bounds`` (minx, miny, maxx, maxy), with no tiles (offline) and a scale bar."""
    minx, miny, maxx, maxy = bounds
    m = offline_map([(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=11, max_zoom=max_zoom,
                    control_scale=True, prefer_canvas=True)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def add_roads(m: folium.Map, graph: nx.MultiDiGraph, clip=None, name: str = "道路", *, classes=None,
              transform=None, simplify: float = 0.0, show: bool = True) -> None:
    """Draw the road graph as light lines, one MultiLineString per highway class.

    Parameters
    ----------
    clip : shapely geometry, optional
        Keep only the roads inside it (WGS84).
    classes : collection of str, optional
        Highway classes to draw (``None``: all).
    transform : callable, optional
        ``(n, 2) -> (n, 2)`` coordinate function applied before drawing (e.g. to GCJ-02).
    simplify : float
        Douglas–Peucker tolerance in degrees (0: none).
    show : bool
        Whether the layer is on when the page opens.
    """
    lines = road_lines(graph)
    if classes is not None:
        lines = lines[lines["highway"].isin(classes)]
    geoms = lines.geometry.to_numpy()
    hw = lines["highway"].to_numpy()
    if clip is not None:
        hit = np.sort(lines.sindex.query(clip, predicate="intersects"))
        geoms, hw = shapely.intersection(geoms[hit], clip), hw[hit]
    features = []
    for cls in sorted(set(hw.tolist())):
        parts = shapely.get_parts(geoms[hw == cls])
        parts = parts[(shapely.get_type_id(parts) == 1) & ~shapely.is_empty(parts)]  # lines, not touching points
        if len(parts) == 0:
            continue
        merged = shapely.multilinestrings(parts)
        if simplify:
            merged = shapely.simplify(merged, simplify)
        width, colour = ROAD_STYLE.get(cls, _OTHER_ROAD)
        features.append({"type": "Feature", "properties": {"highway": cls, "w": width, "c": colour},
                         "geometry": shapely.geometry.mapping(_round_coords(merged, transform=transform))})
    group = feature_group(name, show=show)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        style_function=lambda f: {"color": f["properties"]["c"], "weight": f["properties"]["w"], "opacity": 0.9},
        interactive=False,
    ).add_to(group)
    group.add_to(m)


def add_light_points(parent, gdf: gpd.GeoDataFrame, keys, styles: dict, name: str, layer: str, transform=None, *,
                     show: bool = True) -> folium.FeatureGroup:
    """Points at district scale: one MultiPoint feature per style, with no popup or label (~20 bytes a point).

    For districts too big for a popup per feature on one map (siting.maps.district draws the detail
    in the township maps).

    ``keys`` gives each row's key into ``styles`` (drawn in the order of ``styles``, so later keys
    lie on top). Each feature carries ``properties.layer``, ``_k`` and ``n``, its number of points.
    """
    group = feature_group(name, show=show)
    if len(gdf):
        pts = _round_coords(np.asarray(gdf.geometry.representative_point().values), transform=transform)
        keys = np.asarray(keys, dtype=object)
        features = [{"type": "Feature", "properties": {"layer": layer, "_k": k, "n": int((keys == k).sum())},
                     "geometry": {"type": "MultiPoint", "coordinates": shapely.get_coordinates(pts[keys == k]).tolist()}}
                    for k in styles if (keys == k).any()]
        folium.GeoJson({"type": "FeatureCollection", "features": features}, interactive=False,
                       marker=folium.CircleMarker(radius=3, weight=1, fill=True),
                       style_function=lambda f: styles[f["properties"]["_k"]]).add_to(group)
    group.add_to(parent)
    return group


def _popup_fields(gdf: gpd.GeoDataFrame, fields: dict[str, str]):
    present = {k: v for k, v in fields.items() if k in gdf.columns}
    return list(present), list(present.values())


def add_layer(m, gdf: gpd.GeoDataFrame, name: str, fields: dict[str, str], colour, show: bool = True,
              radius: float = 5, fill_opacity: float = 0.5, colour_by: str | None = None):
    """Add polygons or points as a toggleable GeoJSON layer with a Chinese popup.

    ``fields`` maps column → label for the popup; ``colour`` is a colour or, with ``colour_by``,
    a dict from that column's values to colours.
    """
    group = feature_group(name, show=show)
    if len(gdf):
        data = gdf.copy()
        data["_colour"] = data[colour_by].map(colour).fillna("#555555") if colour_by else colour
        cols, labels = _popup_fields(data, fields)
        data = data[cols + ["_colour", "geometry"]]
        for c in cols:  # popups and hover labels show properties as HTML
            data[c] = data[c].astype(object).where(data[c].notna(), "—").map(lambda v: str(html(v)))
        data["geometry"] = _round_coords(data.geometry.values)
        style = lambda f: {"color": f["properties"]["_colour"], "fillColor": f["properties"]["_colour"],  # noqa: E731
                           "weight": 1.5, "fillOpacity": fill_opacity, "radius": radius}
        folium.GeoJson(
            json.loads(data.to_json(drop_id=True)),
            style_function=style,
            marker=folium.CircleMarker(radius=radius, weight=1, fill=True),
            popup=folium.GeoJsonPopup(fields=cols, aliases=[str(html(a)) for a in labels], labels=True) if cols else None,
            tooltip=folium.GeoJsonTooltip(fields=cols[:1], labels=False) if cols else None,
        ).add_to(group)
    group.add_to(m)
    return group


def add_title(m, title: str, subtitle: str = "", demo_notice: str | None = None, notes=()) -> None:
    """A fixed title box in the upper left: title, subtitle lines, red demo notice, grey notes."""
    notice = (f'<div id="siting-demo" style="color:#c92a2a;font-weight:bold;margin-top:4px">{html(demo_notice)}</div>'
              if demo_notice else "")
    lines = "".join(f'<div style="font-size:12px;color:#555">{html(line)}</div>'
                    for line in ([subtitle] if isinstance(subtitle, str) else list(subtitle)) if line)
    extra = "".join(f'<div class="siting-note" style="font-size:12px;color:#1864ab;margin-top:2px">{html(n)}</div>'
                    for n in notes)
    box = (
        '<div id="siting-title" style="position:fixed;top:10px;left:60px;z-index:9999;background:rgba(255,255,255,.92);'
        'padding:8px 12px;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.3);font-family:sans-serif;max-width:60%">'
        f'<div style="font-size:17px;font-weight:bold">{html(title)}</div>{lines}{notice}{extra}</div>'
    )
    m.get_root().html.add_child(Element(box))


def add_osm_attribution(m) -> None:
    """Credit OpenStreetMap, as its licence (ODbL) requires wherever its roads are drawn."""
    m.get_root().html.add_child(Element(
        "<script>window.addEventListener('load', function () { if (!window.L) { return; }"
        "Object.keys(window).forEach(function (k) { var v = window[k];"
        "if (v instanceof L.Map && v.attributionControl) {"
        "v.attributionControl.addAttribution('&copy; OpenStreetMap contributors'); } }); });</script>"))


_SWATCH = {
    "dot": "width:12px;height:12px;border-radius:6px;background:{c}",
    "ring": "width:10px;height:10px;border-radius:6px;background:#fff;border:3px solid {c}",
    "hollow": "width:10px;height:10px;border-radius:6px;background:#fff;border:2px solid {c}",
    "area": "width:14px;height:10px;background:{c};opacity:.6;border:1px solid {c}",
    "line": "width:16px;height:0;border-top:2px dashed {c}",
    "number": "width:16px;height:16px;border-radius:8px;background:{c};color:#fff;font-size:10px;"
              "text-align:center;line-height:16px;border:2px solid #fcc419",
}


def add_legend(m, title: str, items) -> None:
    """A fixed legend in the lower left.

    ``items`` are ``(colour, label)`` pairs (a dot), ``(colour, label, shape)`` with shape one of
    ``dot``, ``ring``, ``hollow``, ``area``, ``line``, ``number``, or ``(None, heading)`` for a
    sub-heading.
    """
    rows = []
    for item in items:
        colour, label, shape = (*item, "dot")[:3]
        if colour is None:
            rows.append(f'<div style="font-weight:bold;margin-top:4px">{html(label)}</div>')
            continue
        text = "1" if shape == "number" else ""
        rows.append(f'<div><span style="display:inline-block;{_SWATCH[shape].format(c=colour)};margin-right:6px;'
                    f'vertical-align:middle;box-sizing:content-box">{text}</span>{html(label)}</div>')
    # <details>: on a phone the legend folds to its title (siting.maps.screen closes it there).
    box = (
        '<details id="siting-legend" open style="position:fixed;bottom:56px;left:10px;z-index:9999;'
        'background:rgba(255,255,255,.92);padding:8px 10px;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.3);'
        'font:12px sans-serif;max-height:calc(100% - 200px);overflow-y:auto">'
        f'<summary>{html(title)}</summary>{"".join(rows)}</details>'
    )
    m.get_root().html.add_child(Element(box))


def childcare_kind_for_map(childcare: gpd.GeoDataFrame):
    """Kind for colouring: kindergartens split into with and without 托班."""
    kind = childcare["kind"].astype(object).copy()
    has_classes = childcare["classes"].fillna(0).astype(int) > 0
    kind[(kind == "kindergarten") & has_classes] = "kindergarten_tuoban"
    return kind
