"""Compact popups for layers of thousands of features: the row labels once per layer, not per feature.

A compound's popup is a table of some sixteen labelled rows; written out per feature, with
folium's HTML-safe JSON (``<`` as ``\\u003c``), it costs over 2 kB, and a big township's map
would pass 10 MB. :func:`compact_popups` splits each popup built by ``district._popup``
(``<div class="sp"><b>title</b><table><tr><th>label</th><td>value</td></tr>…</table></div>``)
into its title and values, keyed by the layer's list of labels (values that recur, once per layer); ``bind_popups`` has the page
rebuild exactly the same HTML when a feature is clicked. The title, labels and values are the
HTML fragments ``_popup`` made (escaped there), so this changes the bytes, not what is shown or
how it is escaped. A popup of another shape is kept whole.
"""

from __future__ import annotations

import re
from collections import Counter

from branca.element import Element, MacroElement
from jinja2 import Template

from ..escape import js

__all__ = ["compact_popups", "bind_popups"]

_POPUP = re.compile(r'<div class="sp"><b>(.*?)</b><table>(.*)</table></div>', re.S)
_ROW = re.compile(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", re.S)

# One function per page: a feature's popup from its layer's labels and its own title and values.
_JS = """<script>
function sitingPopup(labels, common, p) {
  if (typeof p === 'string') { return p; }
  var rows = '';
  for (var i = 0; i < labels.length; i++) {
    var v = typeof p.v[i] === 'number' ? common[p.v[i]] : p.v[i];
    if (v !== null && v !== undefined) { rows += '<tr><th>' + labels[i] + '</th><td>' + v + '</td></tr>'; }
  }
  return '<div class="sp"><b>' + p.t + '</b><table>' + rows + '</table></div>';
}
</script>"""


def compact_popups(popups) -> tuple[list[str], list[str], list]:
    """Split popup HTML into the layer's labels, its common values and, per popup, ``{"t": title, "v": values}``.

    Values are aligned with the labels (``None`` where a popup has no such row, trailing ones
    dropped); a value that recurs in the layer (a township, a flag, a rule and its deadline) is
    written once in the common values and referred to by its index there. A popup that is not
    a ``_popup`` table is returned unchanged (a string).
    """
    labels: dict[str, int] = {}
    out = []
    for html in popups:
        m = _POPUP.fullmatch(html) if isinstance(html, str) else None
        rows = _ROW.findall(m.group(2)) if m else None
        if m is None or "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) != m.group(2):
            out.append(html)
            continue
        values: list = []
        for label, value in rows:
            i = labels.setdefault(label, len(labels))
            values += [None] * (i + 1 - len(values))
            values[i] = value
        out.append({"t": m.group(1), "v": values})
    seen = Counter(v for p in out if isinstance(p, dict) for v in p["v"] if v is not None and len(v) > 2)
    common = sorted(v for v, n in seen.items() if n > 1)
    index = {v: i for i, v in enumerate(common)}
    for p in out:
        if isinstance(p, dict):
            p["v"] = [index.get(v, v) for v in p["v"]]
    return list(labels), common, out


class _BindPopups(MacroElement):
    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this._parent.get_name() }}.bindPopup(function (l) {"
        " return sitingPopup({{ this.labels }}, {{ this.common }}, l.feature.properties._p); },"
        " {\"maxWidth\": {{ this.max_width }}});"
        "{% endmacro %}")

    def __init__(self, labels: list[str], common: list[str], max_width: int):
        super().__init__()
        self._name = "BindPopups"
        self.labels = js(labels)
        self.common = js(common)
        self.max_width = int(max_width)


def bind_popups(m, geojson, labels: list[str], common: list[str], max_width: int = 380) -> None:
    """Open each feature's ``properties._p`` (from :func:`compact_popups`) as its popup on click."""
    geojson.add_child(_BindPopups(labels, common, max_width))
    m.get_root().header.add_child(Element(_JS), name="siting_popup_js")
