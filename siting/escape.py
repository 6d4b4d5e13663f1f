"""The one way text from data reaches a page or a spreadsheet: one function per context.

Every name in a register is hostile: ``</script>``, a backtick, ``${…}``, ``<img onerror=…>`` or
``=HYPERLINK(…)`` must show literally and never run. Each output picks the function for where the
text lands:

- :func:`html` — HTML text and quoted attribute values. Returns :class:`Markup`, which the other
  functions (and Jinja's autoescape) leave alone, so HTML built from escaped parts is not escaped
  twice and a plain ``str`` never passes as HTML.
- :func:`js` — a JavaScript value inside a ``<script>`` element: JSON with ``<``, ``>``, ``&`` and
  the line separators U+2028/U+2029 escaped, so no text can end the script or the string. Pages
  read data as such JSON values, never as text pasted into script source or template literals.
- :func:`css_string` — a CSS string literal inside a ``<style>`` element.
- :func:`cell` — a spreadsheet cell: text that Excel, WPS or LibreOffice would read as a formula
  (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a leading apostrophe in
  CSV, Excel's own "this is text" mark (OWASP, CSV injection). XLSX cells keep the text as it is,
  stored as a string with Excel's quote-prefix style (:func:`siting.tables.write_excel`).
"""

from __future__ import annotations

import json

from markupsafe import Markup
from markupsafe import escape as _escape

__all__ = ["Markup", "html", "js", "css_string", "cell", "FORMULA_START"]

# First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_JS_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_JS_TABLE = str.maketrans(_JS_ESCAPES)


def html(value) -> Markup:
    """``value`` as HTML text or a quoted attribute value (``& < > " '`` escaped); ``Markup`` passes through.

    ``None`` becomes the empty string.
    """
    return Markup("") if value is None else _escape(value if isinstance(value, (str, Markup)) else str(value))


def js(value) -> str:
    """A JavaScript expression for ``value`` (str, number, list, dict…), safe anywhere in a ``<script>``.

    >>> js("</script>`${x}`")
    '"\\\\u003c/script\\\\u003e`${x}`"'
    """
    return json.dumps(value, ensure_ascii=False, allow_nan=False).translate(_JS_TABLE)


def css_string(text: str) -> str:
    """A quoted CSS string literal (for ``content:``), safe inside a ``<style>`` element."""
    out = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("\r", " ")
    return '"' + out.replace("<", "\\3c ") + '"'


def cell(value):
    """A CSV cell: text a spreadsheet would run as a formula gets a leading apostrophe; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
