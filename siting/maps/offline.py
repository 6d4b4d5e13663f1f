"""Self-contained Folium maps: no CDN, no network, same bytes every time.

Township heads open our maps offline or on a government intranet, where the CDNs folium
links (jsDelivr, cdnjs, code.jquery.com, netdna) are unreachable and a default folium page
shows a blank grey box. ``make_self_contained`` swaps every CDN ``<script src>`` and
``<link rel=stylesheet>`` for the vendored copy in ``siting/maps/vendor`` (JS as ``<script>``,
CSS as ``<style>`` with its images and fonts as data URIs). ``vendor/manifest.json`` says which
npm package@version each file comes from; ``vendor/fetch.py`` re-fetches them.

Icon assets (Font Awesome, Bootstrap 3 glyphicons, awesome-markers CSS and its sprite images,
folium's rotate CSS) are about 330 kB of a ~900 kB page. They are only needed by
``folium.Icon`` markers and ``fa-``/``glyphicon`` classes, so by default they are inlined only
when the page uses them.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from siting.errors import SitingError
from siting.output import write_bytes

if TYPE_CHECKING:  # folium is only needed by save_map's caller, not to import this module
    import folium

__all__ = ["offline_map", "make_self_contained", "save_map", "external_urls", "stable_ids", "literal_unicode"]

VENDOR_DIR = Path(__file__).resolve().parent / "vendor"

_MIME = {
    ".png": "image/png",
    ".gif": "image/gif",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
}

# <script ... src="URL" ...></script> and <link ... href="URL" ...> as folium writes them; one
# pattern for both so a single pass keeps the original order of scripts and stylesheets.
_ASSET_TAG = re.compile(
    r"""<script\b[^>]*?\ssrc\s*=\s*["'](?P<src>[^"']+)["'][^>]*>\s*</script\s*>"""
    r"""|<link\b[^>]*?\shref\s*=\s*["'](?P<href>[^"']+)["'][^>]*>""",
    re.I,
)

# What a browser fetches by itself: resource attributes of tags (also inside JS strings, where
# folium keeps popup HTML, hence the optional backslash before the quote), CSS url()/@import,
# and the Leaflet/JS calls that load URLs (tile layers, overlays, custom icons, fetch/ajax).
_FETCHED_URL_PATTERNS = [
    re.compile(
        r"""<(?:script|img|iframe|frame|embed|source|audio|video|track|input|link|object)\b[^>]*?"""
        r"""\s(?:src|href|data|poster)\s*=\s*\\?["']?([^"'\s>\\]+)""",
        re.I,
    ),
    re.compile(r"""url\(\s*\\?["']?([^"')\s\\]+)""", re.I),
    re.compile(r"""@import\s+(?:url\(\s*)?["']?([^"')\s;]+)""", re.I),
    re.compile(
        r"""L\.(?:tileLayer(?:\.wms)?|imageOverlay|videoOverlay|svgOverlay)\(\s*\\?["'`]([^"'`\\]+)"""
    ),
    re.compile(r"""["']?(?:iconUrl|iconRetinaUrl|shadowUrl|shadowRetinaUrl)["']?\s*:\s*["'`]([^"'`]+)"""),
    re.compile(r"""\b(?:fetch|getJSON|ajax|importScripts)\(\s*["'`]([^"'`]+)"""),
]
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)  # http://, https://, ftp://, //host

# Signs that a page draws Font Awesome / glyphicon icons (folium.Icon, DivIcon HTML, popups).
_USES_ICONS = re.compile(r"AwesomeMarkers\.icon|glyphicon|\bfa-[a-z0-9]", re.I)

# branca names every element "<name>_<32 random hex digits>" (map_…, feature_group_…) and
# declares it as a JS variable or uses it as an HTML/CSS id; we only rename hex ids seen there.
_HEX_ID = r"[A-Za-z_][A-Za-z0-9_-]*?_([0-9a-f]{32})(?![0-9A-Za-z])"
_DECLARED_ID = re.compile(
    rf"""(?:\b(?:var|let|const|function)\s+{_HEX_ID}|\bid\s*=\s*\\?["']{_HEX_ID}|#{_HEX_ID})"""
)
_ELEMENT_ID = re.compile(r"(?<=[A-Za-z0-9]_)([0-9a-f]{32})(?![0-9A-Za-z])")


@functools.cache
def _manifest() -> dict:
    return json.loads((VENDOR_DIR / "manifest.json").read_text(encoding="utf-8"))


def _package_dir(spec: str) -> Path:
    """Vendored folder of ``name@version`` (``@scope/name`` is stored as ``scope-name``)."""
    return VENDOR_DIR / spec.lstrip("@").replace("/", "-")


@functools.cache
def _data_uri(path: Path) -> str:
    mime = _MIME.get(path.suffix.lower())
    if mime is None:
        raise SitingError(
            f"Vendored file {path} has no known MIME type; add its suffix to siting.maps.offline._MIME.",
            f"内置文件 {path} 的类型未知；请在 siting.maps.offline._MIME 中加入其扩展名。",
        )
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def external_urls(html: str) -> list[str]:
    """List the network URLs a page would fetch when opened.

    Looks at resource attributes of tags (``script``/``link``/``img``/``iframe``/…), CSS
    ``url()`` and ``@import``, Leaflet tile/image layers, icon URLs and ``fetch``/ajax calls,
    including popup HTML kept inside JavaScript strings. ``data:``, ``file:`` and relative
    URLs are not listed; ``<a href>`` links are not fetched and are not listed either.

    Parameters
    ----------
    html : str
        Page text, before or after ``make_self_contained``.

    Returns
    -------
    list of str
        External URLs (``http(s)://``, ``//host/…``) in order of first appearance, each once.
    """
    found = [
        (m.start(1), m.group(1).strip())
        for pattern in _FETCHED_URL_PATTERNS
        for m in pattern.finditer(html)
        if _EXTERNAL.match(m.group(1).strip())
    ]
    return list(dict.fromkeys(url for _, url in sorted(found)))


def stable_ids(html: str) -> str:
    """Replace folium's random element ids by numbers in order of first appearance.

    folium (branca) names every element ``<name>_<32 random hex digits>`` (``map_3f2a…``), so
    two renders of the same map differ. Each distinct id of ``html`` (a rendered page) becomes
    a zero-padded counter of the same length (``map_00000000000000000000000000000001``), with
    the ``<name>_`` prefix kept and every occurrence replaced, so references stay consistent.
    The result is returned as a new string.

    Notes
    -----
    Only 32-digit hex strings used as an element name (declared as a JS ``var``/``function``
    ``<name>_<hex>`` or used as an HTML/CSS id ``<name>_<hex>``) are renamed, so ordinary
    hashes in the map data are left alone.
    """
    declared = {h for m in _DECLARED_ID.finditer(html) for h in m.groups() if h}
    order: dict[str, str] = {}
    for m in _ELEMENT_ID.finditer(html):
        if m.group(1) in declared:
            order.setdefault(m.group(1), f"{len(order) + 1:032x}")
    if not order:
        return html
    any_id = re.compile(r"(?<![0-9a-f])(" + "|".join(map(re.escape, order)) + r")(?![0-9a-f])")
    return any_id.sub(lambda m: order[m.group(1)], html)


_SCRIPT = re.compile(r"(<script\b[^>]*>)(.*?)(</script\s*>)", re.I | re.S)
_U_ESCAPE = re.compile(r"(\\+)u([0-9a-fA-F]{4})")


def literal_unicode(html: str) -> str:
    """Write the ``\\uXXXX`` escapes of non-ASCII characters inside ``<script>`` elements as UTF-8.

    folium embeds its data as ASCII-only JSON, where a Chinese character takes 6 bytes (``\\u5c0f``)
    instead of 3: half the size of a map with many popups. In JavaScript source an escape and the
    character it stands for are the same string, so only bytes change. Escapes of ASCII characters
    (``\\u003c`` keeps ``</script>`` out of the script), of the line separators U+2028/U+2029 and of
    surrogates stay, and so does an escaped backslash followed by ``u`` (an even run of backslashes).
    """

    def one(m: re.Match) -> str:
        slashes, code = m.group(1), int(m.group(2), 16)
        if len(slashes) % 2 == 0 or code < 0x80 or code in (0x2028, 0x2029) or 0xD800 <= code <= 0xDFFF:
            return m.group(0)
        return slashes[:-1] + chr(code)

    return _SCRIPT.sub(lambda s: s.group(1) + _U_ESCAPE.sub(one, s.group(2)) + s.group(3), html)


def _resolve_vendored(url: str, base: Path, where: str) -> Path | None:
    """Vendored file a relative CSS ``url()`` points to, or None if it is not vendored."""
    clean = re.split(r"[?#]", url, maxsplit=1)[0]
    if _EXTERNAL.match(url) or not clean:
        return None
    path = (base / clean).resolve()
    try:
        path.relative_to(VENDOR_DIR)
    except ValueError:
        raise SitingError(
            f"{where} refers to {url!r}, outside the vendored assets.",
            f"{where} 引用了内置资源之外的 {url!r}。",
        ) from None
    return path if path.is_file() else None


def _inline_font_faces(css: str, base: Path, where: str, embedded_fonts: set[Path]) -> str:
    """Keep in each @font-face only the sources we vendored and have not embedded yet.

    Only woff2 files are vendored (every browser a township office runs reads woff2), so the
    eot/ttf/svg fallbacks are dropped. A font is embedded once per page: Font Awesome's
    @font-face aliases for the old family names ("Font Awesome 5 Free", "FontAwesome") reuse the
    same files and would triple the size; a block left with no source is removed.
    """

    def one_block(block: re.Match) -> str:
        kept_decls = []
        for decl in block.group(1).split(";"):
            name, _, value = decl.partition(":")
            if name.strip().lower() != "src":
                if decl.strip():
                    kept_decls.append(decl.strip())
                continue
            sources = []
            for entry in value.split(","):
                m = re.search(r"""url\(\s*["']?([^"')]+)["']?\s*\)""", entry)
                path = _resolve_vendored(m.group(1), base, where) if m else None
                if path is None or path in embedded_fonts:
                    continue
                embedded_fonts.add(path)
                sources.append(entry.replace(m.group(0), f'url("{_data_uri(path)}")').strip())
            if sources:
                kept_decls.append("src:" + ",".join(sources))
        if not any(d.lower().startswith("src:") for d in kept_decls):
            return ""
        return "@font-face{" + ";".join(kept_decls) + "}"

    return re.sub(r"@font-face\s*\{([^{}]*)\}", one_block, css)


def _inline_css(path: Path, embedded_fonts: set[Path]) -> str:
    """A vendored stylesheet with its images and fonts as data URIs."""
    where = f"Vendored stylesheet {path.relative_to(VENDOR_DIR)}"
    css = _inline_font_faces(path.read_text(encoding="utf-8"), path.parent, where, embedded_fonts)
    if re.search(r"@import\b", css):
        raise SitingError(f"{where} uses @import, which is not supported.", f"{where} 使用了不支持的 @import。")

    def one_url(m: re.Match) -> str:
        url = m.group(2)
        if url.startswith(("data:", "#")):  # already inline / an IE "behavior" fragment
            return m.group(0)
        target = _resolve_vendored(url, path.parent, where)
        if target is None:
            raise SitingError(
                f"{where} needs {url!r}, which is not vendored; add it to vendor/manifest.json and run "
                "vendor/fetch.py.",
                f"{where} 需要未内置的 {url!r}；请把它加入 vendor/manifest.json 并运行 vendor/fetch.py。",
            )
        return f'url("{_data_uri(target)}")'

    css = re.sub(r"""url\(\s*(["']?)([^"')]+)\1\s*\)""", one_url, css)
    return css.replace("</style", r"<\/style")  # keep the <style> element closed where we close it


def _rotate_css(html: str) -> str:
    """folium's leaflet.awesome.rotate CSS, only for the angles this page uses.

    The file folium links holds ``.fa-rotate-N`` rules for every angle (40 kB); folium.Icon
    adds class ``fa-rotate-<angle>`` and needs just that rule.
    """
    angles = sorted({int(a) for a in re.findall(r"\bfa-rotate-(\d+)\b", html)})
    return "".join(
        f".fa-rotate-{a}{{-ms-transform:rotate({a}deg);-webkit-transform:rotate({a}deg);transform:rotate({a}deg);}}"
        for a in angles
    )


def _icon_default_fix() -> str:
    """Script that points Leaflet's default marker icon at data URIs.

    Leaflet finds its marker images by reading the URL of leaflet.css's marker-icon.png and
    stripping the file name; once that CSS is inlined the URL is a data URI, the path becomes
    "null" and default markers show as broken images. Setting the options explicitly avoids it.
    """
    images = _package_dir("leaflet@1.9.3") / "dist" / "images"
    options = {
        "iconUrl": _data_uri(images / "marker-icon.png"),
        "iconRetinaUrl": _data_uri(images / "marker-icon-2x.png"),
        "shadowUrl": _data_uri(images / "marker-shadow.png"),
    }
    return (
        "<script>/* siting: Leaflet default icon as data URIs (leaflet.css is inlined) */\n"
        'L.Icon.Default.imagePath = "";\n'
        f"L.Icon.Default.mergeOptions({json.dumps(options)});\n</script>"
    )


def offline_map(location, zoom_start: int = 12, *, max_zoom: int = 18, min_zoom: int | None = None,
                **kwargs) -> "folium.Map":
    """A ``folium.Map`` fit for offline use: no tile layer, and a max zoom Leaflet really gets.

    With ``tiles=None`` folium passes ``max_zoom``/``min_zoom`` to no one (they only configure
    the tile layer), and a MarkerCluster then throws "Map has no maxZoom specified". This sets
    them on the map itself.

    Parameters
    ----------
    location : (lat, lng)
        Initial centre (WGS 84).
    zoom_start : int, default 12
        Initial zoom.
    max_zoom : int, default 18
        Highest zoom level.
    min_zoom : int, optional
        Lowest zoom level.
    **kwargs
        Passed to ``folium.Map`` (e.g. ``control_scale=True`` for a scale bar).

    Returns
    -------
    folium.Map
    """
    import folium

    m = folium.Map(location=location, zoom_start=zoom_start, tiles=None, **kwargs)
    m.options["max_zoom"] = max_zoom
    # Quarter zoom steps, so fitting the district to a 390 px phone does not leave half the screen empty.
    m.options.setdefault("zoom_snap", 0.25)
    # Bootstrap (275 kB inlined) styles nothing on our maps; phones and messaging apps want small files.
    m.default_js = [(name, url) for name, url in m.default_js if name != "bootstrap"]
    m.default_css = [(name, url) for name, url in m.default_css if name != "bootstrap_css"]
    if min_zoom is not None:
        m.options["min_zoom"] = min_zoom
    return m


def make_self_contained(html: str, *, icons: bool | None = None, allow: tuple[str, ...] | list[str] = ()) -> str:
    """Inline every CDN script and stylesheet of a folium page from the vendored copies.

    Parameters
    ----------
    html : str
        A page rendered by folium (``m.get_root().render()``).
    icons : bool, optional
        Inline the icon assets (Font Awesome, glyphicons, awesome-markers CSS, rotate CSS).
        ``None`` (default) inlines them only if the page uses ``folium.Icon`` or ``fa-``/
        ``glyphicon`` classes; ``False`` always drops them; ``True`` always inlines them.
    allow : sequence of str, optional
        URL prefixes the page may still fetch, e.g. the tile URL template of an online basemap
        (``"https://tile.openstreetmap.org/"``). Scripts and stylesheets are inlined all the
        same; only URLs starting with one of these prefixes are let through.

    Returns
    -------
    str
        The page with no external asset: JS in ``<script>``, CSS in ``<style>`` with images and
        woff2 fonts as data URIs, and Leaflet's default marker icon fixed to data URIs.

    Raises
    ------
    SitingError
        If the page loads a URL we have no vendored copy of (an unknown CDN script or
        stylesheet, a tile layer, a remote image…); the message names every such URL.
    """
    assets = _manifest()["assets"]
    if icons is None:
        # Look for icon use outside the CDN tags themselves (their URLs mention "awesome").
        icons = bool(_USES_ICONS.search(_ASSET_TAG.sub("", html)))

    unknown: list[str] = []
    embedded_fonts: set[Path] = set()

    def replace(m: re.Match) -> str:
        tag, url = m.group(0), m.group("src") or m.group("href")
        if tag.lower().startswith("<link") and not re.search(r"""rel\s*=\s*["']?stylesheet""", tag, re.I):
            return tag  # other <link>s are left for external_urls to judge
        if not _EXTERNAL.match(url):
            return tag
        asset = assets.get(url)
        if asset is None:
            unknown.append(url)
            return tag
        if asset.get("icons") and not icons:
            return ""  # an icon stylesheet this page does not use
        if asset.get("generated") == "fa-rotate":
            return f"<style>/* siting: folium leaflet.awesome.rotate rules used here */{_rotate_css(html)}</style>"
        path = _package_dir(asset["package"]) / asset["file"]
        label = f"{asset['package']}/{asset['file']} (npm), inlined by siting.maps.offline"
        if path.suffix == ".css":
            return f"<style>/* {label} */\n{_inline_css(path, embedded_fonts)}\n</style>"
        js = path.read_text(encoding="utf-8").replace("</script", r"<\/script")
        out = f"<script>/* {label} */\n{js}\n</script>"
        if asset["package"].startswith("leaflet@") and asset["file"].endswith("leaflet.js"):
            out += "\n" + _icon_default_fix()
        return out

    out = _ASSET_TAG.sub(replace, html)

    if "L.markerClusterGroup(" in html and '"maxZoom"' not in html:
        raise SitingError(
            "The map has a MarkerCluster but no max zoom, so the page would stop with 'Map has no maxZoom "
            "specified'. Create it with siting.maps.offline_map(...) or set m.options['max_zoom'].",
            "地图含有 MarkerCluster 但未设置最大缩放级别，页面会报错“Map has no maxZoom specified”。"
            "请用 siting.maps.offline_map(...) 创建地图，或设置 m.options['max_zoom']。",
        )
    remaining = [u for u in dict.fromkeys(unknown + external_urls(out)) if not u.startswith(tuple(allow))]
    if remaining:
        listed = "\n  ".join(remaining)
        raise SitingError(
            "The map loads assets from the internet that siting has no offline copy of, so it would not "
            f"work offline:\n  {listed}\nUse tiles=None (draw roads and borders as vector layers), avoid "
            "remote images and plugins other than MarkerCluster, MeasureControl and Fullscreen, or vendor "
            "the asset in siting/maps/vendor (manifest.json, then fetch.py).",
            "地图需要从互联网加载以下资源，siting 没有其离线副本，离线时无法显示：\n  "
            f"{listed}\n请使用 tiles=None（道路和边界用矢量图层绘制），不要使用网络图片及 MarkerCluster、"
            "MeasureControl、Fullscreen 以外的插件，或把该资源加入 siting/maps/vendor（manifest.json 后运行 fetch.py）。",
        )
    return out


def save_map(m: "folium.Map", path: str | os.PathLike, offline: bool = True, *, icons: bool | None = None,
             deterministic: bool = True, allow: tuple[str, ...] | list[str] = ()) -> Path:
    """Render a folium map and write it atomically.

    Parameters
    ----------
    m : folium.Map
        The map.
    path : str or path-like
        Output ``.html`` file; missing parent folders are created.
    offline : bool, default True
        Inline all assets (``make_self_contained``) so the file works with no network.
    icons : bool, optional
        Passed to ``make_self_contained``.
    deterministic : bool, default True
        Replace folium's random element ids (``stable_ids``) so the same map gives the same bytes.
    allow : sequence of str, optional
        URL prefixes the page may fetch (an online basemap's tiles); passed to ``make_self_contained``.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    SitingError
        From ``make_self_contained`` when the page needs the internet.

    Notes
    -----
    The map itself is not changed. The page is rendered completely in memory and written with
    :func:`siting.output.write_bytes`: to a temporary file in the same folder
    and moved over ``path`` with ``os.replace``; a failure at any point leaves an existing file
    untouched and removes the temporary file, so a township never gets a half-written map.
    """
    path = Path(path)
    # Render a copy: folium's render adds elements to the tree (LayerControl re-adds its layers
    # each time), so rendering the same map twice would give different pages.
    html = copy.deepcopy(m.get_root()).render()
    if deterministic:
        html = stable_ids(html)
    html = literal_unicode(html)
    if offline:
        html = make_self_contained(html, icons=icons, allow=allow)
    # readable by everyone whatever the umask: maps are shared on an intranet server
    return write_bytes(path, html.encode("utf-8"), mode=0o644)
