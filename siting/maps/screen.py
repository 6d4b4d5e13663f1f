"""Maps that fit the screen they are opened on: a 390 px phone as well as an office PC.

Township heads open the maps on their phones, where the always-open layer list, the title box
and the legend would cover most of the map. Below ``NARROW_PX`` the layer list and the legend
collapse to buttons and the title box shrinks to one line (a tap shows the rest); the zoom and
full-screen buttons stay in the upper left. Popups are no wider or taller than the screen allows
and are panned clear of every box fixed over the map (the title, the controls, the legend),
whichever side of the screen they open on.

Everything here is fixed CSS and script, with no data in it: the labels come from the message
catalogue, and the page finds the boxes by their ids and Leaflet's class names.
"""

from __future__ import annotations

from branca.element import Element
from folium.plugins import Fullscreen

from ..i18n import t

__all__ = ["NARROW_PX", "add_screen_fit"]

NARROW_PX = 600  # below this width (CSS px) the page uses its phone layout

# The boxes are laid out for the desktop in layers.add_title / add_legend; this only narrows them.
_CSS = f"""<style>
#siting-legend>summary{{font-weight:bold;cursor:pointer;list-style:none;margin-bottom:4px}}
#siting-legend>summary::-webkit-details-marker{{display:none}}
#siting-legend:not([open])>summary{{margin-bottom:0}}
.leaflet-popup-content{{overflow-wrap:anywhere}}
@media (max-width:{NARROW_PX - 1}px){{
 #siting-title{{left:54px !important;right:60px;max-width:none !important;padding:6px 10px !important;cursor:pointer;
  white-space:nowrap;overflow:hidden;text-overflow:ellipsis}}
 #siting-title>div:first-child{{font-size:14px !important;overflow:hidden;text-overflow:ellipsis}}
 #siting-title:not(.siting-open)>div:not(:first-child){{display:none}}
 #siting-title.siting-open{{white-space:normal}}
 .leaflet-top.leaflet-right{{z-index:10000}}
 #siting-legend{{max-height:calc(100% - 140px) !important;max-width:calc(100% - 40px)}}
 #siting-legend:not([open]){{padding:8px 12px !important}}
}}
</style>"""

# Collapse the layer list and the legend on narrow screens (again whenever the screen turns, or the
# map is tapped or a popup opens: an open list over a phone map is in the way), and
# fit popups into the part of the screen no fixed box covers. Leaflet pans a popup clear of one
# top-left and one bottom-right padding; these are set per popup from the boxes above and below
# its horizontal span, and its height is capped to what is left between them.
_JS = f"""<script>
(function () {{
  var narrow = window.matchMedia('(max-width: {NARROW_PX - 1}px)');
  var MARGIN = 10;
  function layout() {{
    document.querySelectorAll('.leaflet-control-layers').forEach(function (c) {{
      c.classList.toggle('leaflet-control-layers-expanded', !narrow.matches);
    }});
    var legend = document.getElementById('siting-legend');
    if (legend) {{ legend.open = !narrow.matches; }}
    var title = document.getElementById('siting-title');
    if (title) {{ title.classList.remove('siting-open'); }}
  }}
  function boxes() {{
    return Array.prototype.slice.call(document.querySelectorAll(
      '#siting-title, #siting-legend, .leaflet-control-container .leaflet-control'))
      .map(function (e) {{ return e.getBoundingClientRect(); }})
      .filter(function (r) {{ return r.width > 0 && r.height > 0; }});
  }}
  function fit(popup) {{
    var map = popup._map, box = map.getContainer().getBoundingClientRect(), size = map.getSize();
    var content = popup._contentNode, el = popup._container;
    content.style.maxHeight = '';
    content.style.overflowY = '';
    var r = el.getBoundingClientRect();
    var tip = parseInt(L.DomUtil.getStyle(el, 'marginBottom'), 10) || 0;
    // where Leaflet's horizontal pan (MARGIN on each side) will put the popup
    var left = Math.max(MARGIN, Math.min(r.left - box.left, size.x - MARGIN - r.width));
    var top = MARGIN, bottom = MARGIN;
    boxes().forEach(function (b) {{
      if (b.right - box.left <= left || b.left - box.left >= left + r.width) {{ return; }}
      if ((b.top + b.bottom) / 2 - box.top < size.y / 2) {{ top = Math.max(top, b.bottom - box.top + MARGIN); }}
      else {{ bottom = Math.max(bottom, box.bottom - b.top + MARGIN); }}
    }});
    var room = size.y - top - bottom - tip - (el.offsetHeight - content.offsetHeight);
    if (content.offsetHeight > room) {{
      content.style.maxHeight = Math.max(room, 60) + 'px';
      content.style.overflowY = 'auto';
    }}
    popup.options.autoPanPaddingTopLeft = L.point(MARGIN, top);
    popup.options.autoPanPaddingBottomRight = L.point(MARGIN, bottom);
  }}
  function install() {{
    if (!window.L || L.Popup.prototype._sitingFit) {{ return; }}
    var updateLayout = L.Popup.prototype._updateLayout, adjustPan = L.Popup.prototype._adjustPan;
    L.Popup.prototype._sitingFit = true;
    L.Popup.prototype._updateLayout = function () {{
      // the widest popup that fits: the content's margins and the wrapper's padding take 70 px
      if (this._sitingMaxWidth === undefined) {{ this._sitingMaxWidth = this.options.maxWidth; }}
      if (this._map) {{ this.options.maxWidth = Math.min(this._sitingMaxWidth, this._map.getSize().x - 2 * MARGIN - 70); }}
      return updateLayout.apply(this, arguments);
    }};
    L.Popup.prototype._adjustPan = function () {{
      if (this._map && this._container && this.options.autoPan) {{ fit(this); }}
      return adjustPan.apply(this, arguments);
    }};
  }}
  install();
  window.addEventListener('load', function () {{
    install();
    layout();
    var title = document.getElementById('siting-title');
    if (title) {{ title.addEventListener('click', function () {{
      if (narrow.matches) {{ title.classList.toggle('siting-open'); }} }}); }}
    Object.keys(window).forEach(function (k) {{
      var v = window[k];
      if (window.L && v instanceof L.Map) {{
        v.on('click popupopen', function () {{ if (narrow.matches) {{ layout(); }} }});
      }}
    }});
    if (narrow.addEventListener) {{ narrow.addEventListener('change', layout); }}
  }});
}})();
</script>"""


def add_screen_fit(m, lang: str = "zh") -> None:
    """Make ``m`` usable on a phone as on a PC: collapsing boxes, a full-screen button, popups in view.

    Call it after the title, legend and layer control are added (it restyles them by id and class).

    Parameters
    ----------
    m : folium.Map
    lang : {"zh", "en"}
        Language of the full-screen button's tooltip.
    """
    Fullscreen(position="topleft", title=t("map.fullscreen", lang), title_cancel=t("map.fullscreen_exit", lang),
               force_separate_button=True).add_to(m)
    m.get_root().header.add_child(Element(_CSS))
    m.get_root().html.add_child(Element(_JS))
