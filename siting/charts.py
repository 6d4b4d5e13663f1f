"""Static charts and small maps for the printable briefing (matplotlib, Chinese labels).

Every chart is drawn on its own :class:`matplotlib.figure.Figure` (no pyplot, no global
state) inside an ``rc_context`` that registers a CJK font file explicitly, so a matplotlib font
cache written before the font was installed cannot hide it. Without a CJK font the module raises
:class:`FontMissingError` instead of drawing boxes. PNG output carries no software or date
metadata, so the same inputs give the same bytes.
"""

from __future__ import annotations

import io
import math
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import SitingError

__all__ = ["FontMissingError", "find_cjk_font", "chart_rc", "to_png", "township_chart", "coverage_chart", "lorenz_chart",
           "road_segments", "site_map", "FONT_HELP_ZH", "FONT_HELP_EN"]

FONT_HELP_ZH = "未找到中文字体：请运行 scripts/install-system-deps.sh 或安装 fonts-wqy-microhei"
FONT_HELP_EN = ("no Chinese (CJK) font found: run scripts/install-system-deps.sh or install fonts-wqy-microhei "
                "(apt-get install -y --no-install-recommends fonts-wqy-microhei)")

# Known places first (Debian/Ubuntu, Fedora, macOS, Windows), then fontconfig, then matplotlib's scan.
_KNOWN = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)
_NAME_HINTS = ("wqy", "notosanscjk", "notoserifcjk", "sourcehansans", "droidsansfallback", "simhei", "msyh",
               "pingfang", "heiti", "simsun", "arplumi", "ukai", "uming")

COLOURS = {"below": "#c92a2a", "meets": "#2b8a3e", "target": "#1c1c1c", "curve": "#1864ab", "cost": "#e8590c",
           "road": "#cfcfcf", "compound": "#dee2e6", "served": "#f08c00", "site": "#c92a2a", "childcare": "#1c7ed6"}


class FontMissingError(SitingError):
    """No font with Chinese glyphs is available to draw the charts."""


@lru_cache(maxsize=1)
def find_cjk_font() -> Path:
    """Path of a font file with Simplified Chinese glyphs; raises :class:`FontMissingError` if none.

    Looks at well-known paths, then asks fontconfig (``fc-list :lang=zh-cn file``), then scans
    matplotlib's system font list for known CJK family file names.
    """
    for p in _KNOWN:
        if Path(p).is_file():
            return Path(p)
    if shutil.which("fc-list"):
        try:
            out = subprocess.run(["fc-list", ":lang=zh-cn", "file"], capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        files = sorted({line.split(":")[0].strip() for line in out.splitlines() if line.strip()})
        files = [f for f in files if f.lower().endswith((".ttf", ".ttc", ".otf")) and Path(f).is_file()]
        if files:
            ranked = sorted(files, key=lambda f: (not any(h in Path(f).name.lower().replace("-", "") for h in _NAME_HINTS), f))
            return Path(ranked[0])
    from matplotlib import font_manager

    for f in sorted(font_manager.findSystemFonts()):
        if any(h in Path(f).name.lower().replace("-", "") for h in _NAME_HINTS):
            return Path(f)
    raise FontMissingError(FONT_HELP_EN, FONT_HELP_ZH)


@lru_cache(maxsize=1)
def _font_family() -> str:
    from matplotlib import font_manager

    path = find_cjk_font()
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def chart_rc() -> dict:
    """rcParams for the briefing's charts: the CJK font first, DejaVu Sans as glyph fallback."""
    return {
        "font.family": "sans-serif",
        "font.sans-serif": [_font_family(), "DejaVu Sans"],
        "axes.unicode_minus": False,
        "pdf.fonttype": 42,
        "svg.hashsalt": "siting",
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "figure.dpi": 100,
    }


def _figure(width_mm: float, height_mm: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width_mm / 25.4, height_mm / 25.4), layout="constrained")


def to_png(fig, dpi: int = 200) -> bytes:
    """The figure as PNG bytes, without software or date metadata (reproducible)."""
    import matplotlib

    buf = io.BytesIO()
    with matplotlib.rc_context(chart_rc()):
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None}, facecolor="white")
    return buf.getvalue()


def _drawn(draw):
    """Run ``draw`` inside the briefing's rc context and return its figure."""
    import matplotlib

    with matplotlib.rc_context(chart_rc()):
        fig = draw()
        fig.canvas.draw()  # lay out now, so missing-glyph warnings surface here
    return fig


def township_chart(townships, target: float, lang: str = "zh", width_mm: float = 170, height_mm: float = 62):
    """Bar chart of places per 1,000 residents by township, with the target as a dashed line.

    ``townships`` is ``AuditResult.townships``; the district row (kind ``district``) is drawn
    as a separate grey bar at the end.
    """
    def draw():
        fig = _figure(width_mm, height_mm)
        ax = fig.add_subplot()
        rows = townships.reset_index(drop=True)
        names = [("全区" if lang == "zh" else "District") if k == "district" else str(n)
                 for n, k in zip(rows["township"], rows["kind"])]
        vals = rows["places_per_1000"].astype(float).fillna(0.0).to_numpy()
        colours = ["#868e96" if k == "district" else (COLOURS["meets"] if v >= target - 1e-9 else COLOURS["below"])
                   for v, k in zip(vals, rows["kind"])]
        x = np.arange(len(rows))
        ax.bar(x, vals, color=colours, width=0.65)
        for xi, v in zip(x, vals):
            ax.text(xi, v + max(vals.max(), target) * 0.015, f"{v:.2f}", ha="center", va="bottom", fontsize=7.5)
        ax.axhline(target, color=COLOURS["target"], linestyle="--", linewidth=1)
        label = f"目标 {target:g}" if lang == "zh" else f"target {target:g}"
        ax.text(len(rows) - 0.45, target, label, ha="right", va="bottom", fontsize=8,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
        ax.set_xticks(x, names, fontsize=8)
        ax.set_xlim(-0.6, len(rows) - 0.4)
        ax.set_ylim(0, max(vals.max(), target) * 1.18)
        ax.set_ylabel("每千人口托位数" if lang == "zh" else "places per 1,000 residents")
        return fig

    return _drawn(draw)


def coverage_chart(curve, chosen_p: int | None = None, lang: str = "zh", width_mm: float = 170, height_mm: float = 64):
    """Places served against the number of new sites p, with the cost of each plan (10,000 yuan) on a second axis."""
    def draw():
        fig = _figure(width_mm, height_mm)
        ax = fig.add_subplot()
        p = curve["p"].to_numpy()
        ax.plot(p, curve["places_served"], marker="o", markersize=3.5, color=COLOURS["curve"],
                label="服务托位" if lang == "zh" else "places served")
        ax.set_xlabel("新增站点数 p" if lang == "zh" else "new sites p")
        ax.set_ylabel("可服务托位（个）" if lang == "zh" else "places served", color=COLOURS["curve"])
        ax.set_ylim(0, max(float(curve["places_served"].max()), 1.0) * 1.1)
        ax.set_xticks(p if len(p) <= 25 else p[:: math.ceil(len(p) / 25)])
        ax2 = ax.twinx()
        ax2.spines["right"].set_visible(True)
        ax2.spines["top"].set_visible(False)
        ax2.plot(p, curve["cost"] / 1e4, marker="s", markersize=3, linestyle="--", color=COLOURS["cost"],
                 label="投资（万元）" if lang == "zh" else "cost (10k yuan)")
        ax2.plot(p, curve["net_cost"] / 1e4, linestyle=":", color=COLOURS["cost"],
                 label="扣除补助后（万元）" if lang == "zh" else "net of subsidy (10k yuan)")
        ax2.set_ylabel("投资（万元）" if lang == "zh" else "cost (10,000 yuan)", color=COLOURS["cost"])
        ax2.set_ylim(0, max(float(curve["cost"].max()) / 1e4, 1.0) * 1.1)
        if chosen_p:
            ax.axvline(chosen_p, color="#495057", linewidth=0.8, linestyle="-.")
            ax.text(chosen_p, ax.get_ylim()[1] * 0.02, f" p={chosen_p}", fontsize=7.5, color="#495057")
        handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
        labels = ax.get_legend_handles_labels()[1] + ax2.get_legend_handles_labels()[1]
        ax.legend(handles, labels, loc="upper left", fontsize=7.5, frameon=False)
        return fig

    return _drawn(draw)


SCENARIO_STYLES = {"existing": ("#868e96", "-"), "plan": (COLOURS["curve"], "-"), "comply": (COLOURS["meets"], "--")}


def lorenz_chart(curves, labels: dict, lang: str = "zh", width_mm: float = 110, height_mm: float = 80):
    """Lorenz curves of access across children, one per scenario, with the line of equality.

    ``curves`` is ``AccessResult.lorenz`` (``scenario``, ``population_share``, ``access_share``);
    ``labels`` maps each scenario to its legend text (e.g. "现状（基尼系数 0.91）").
    """
    def draw():
        fig = _figure(width_mm, height_mm)
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1], color=COLOURS["target"], linewidth=0.8, linestyle=":",
                label="完全均等" if lang == "zh" else "perfect equality")
        for scenario, label in labels.items():
            part = curves[curves["scenario"] == scenario]
            if len(part) < 2 or part["access_share"].isna().any():
                continue
            colour, style = SCENARIO_STYLES.get(scenario, ("#495057", "-"))
            ax.plot(part["population_share"], part["access_share"], color=colour, linestyle=style, linewidth=1.6,
                    label=label)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.set_xlabel("婴幼儿累计占比（按可达性由低到高）" if lang == "zh" else "cumulative share of children (lowest access first)")
        ax.set_ylabel("可达托位累计占比" if lang == "zh" else "cumulative share of access")
        ax.legend(loc="upper left", fontsize=7.5, frameon=False)
        return fig

    return _drawn(draw)


def road_segments(graph, crs) -> np.ndarray:
    """Every road of an osmnx graph as metric line segments, shape (n, 2, 2), each street once."""
    from .crs import transformer
    from .network import road_lines

    segs = [np.stack([xy[:-1], xy[1:]], axis=1)
            for xy in (np.asarray(g.coords) for g in road_lines(graph).geometry)]
    if not segs:
        return np.zeros((0, 2, 2))
    seg = np.concatenate(segs)
    x, y = transformer("EPSG:4326", crs).transform(seg[..., 0].ravel(), seg[..., 1].ravel())
    return np.stack([np.asarray(x).reshape(seg.shape[:2]), np.asarray(y).reshape(seg.shape[:2])], axis=-1)


def _nice_length(width_m: float) -> float:
    target = width_m / 4
    for step in (50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000):
        if step >= target:
            return float(step)
    return 50000.0


def _plot_geoms(ax, geoms, face, edge, lw=0.5, zorder=2, point_size=12, marker="o"):
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Polygon as MplPolygon

    patches, pts = [], []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        if g.geom_type in ("Polygon", "MultiPolygon"):
            for poly in getattr(g, "geoms", [g]):
                patches.append(MplPolygon(np.asarray(poly.exterior.coords), closed=True))
        else:
            c = g.representative_point()
            pts.append((c.x, c.y))
    if patches:
        ax.add_collection(PatchCollection(patches, facecolor=face, edgecolor=edge, linewidth=lw, zorder=zorder))
    if pts:
        arr = np.asarray(pts)
        ax.scatter(arr[:, 0], arr[:, 1], s=point_size, c=face, edgecolors=edge, linewidths=lw, marker=marker, zorder=zorder)


def site_map(site_xy, segments, served=(), others=(), childcare=(), parcel=None, lang: str = "zh",
             width_mm: float = 84, height_mm: float = 42, min_extent_m: float = 1200.0, pad_m: float = 250.0):
    """A small north-up map of one proposed site, in metric coordinates.

    Parameters
    ----------
    site_xy : (float, float)
        The site in the metric CRS.
    segments : ndarray
        Road segments from :func:`road_segments` (light grey).
    served, others : sequence of shapely geometries (metric)
        Compounds the site serves (highlighted) and other compounds with unmet demand (pale).
    childcare : sequence of shapely points (metric)
        Existing childcare facilities, for context.
    parcel : shapely geometry, optional
        The candidate parcel's outline.
    """
    from matplotlib.collections import LineCollection

    def draw():
        fig = _figure(width_mm, height_mm)
        fig.get_layout_engine().set(w_pad=0.01, h_pad=0.01)
        ax = fig.add_subplot()
        xs = [site_xy[0]] + [b for g in served for b in (g.bounds[0], g.bounds[2])]
        ys = [site_xy[1]] + [b for g in served for b in (g.bounds[1], g.bounds[3])]
        cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        aspect = height_mm / width_mm
        w = max(max(xs) - min(xs) + 2 * pad_m, (max(ys) - min(ys) + 2 * pad_m) / aspect, min_extent_m)
        h = w * aspect
        x0, x1, y0, y1 = cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2
        if len(segments):
            inside = ((segments[..., 0].max(axis=1) >= x0) & (segments[..., 0].min(axis=1) <= x1)
                      & (segments[..., 1].max(axis=1) >= y0) & (segments[..., 1].min(axis=1) <= y1))
            ax.add_collection(LineCollection(segments[inside], colors=COLOURS["road"], linewidths=0.6, zorder=1))
        _plot_geoms(ax, others, "#f1f3f5", "#adb5bd", lw=0.4, zorder=2, point_size=8)
        _plot_geoms(ax, served, COLOURS["served"], "#a35200", lw=0.5, zorder=3, point_size=16)
        if parcel is not None:
            _plot_geoms(ax, [parcel], "none", COLOURS["site"], lw=1.0, zorder=4)
        if len(childcare):
            arr = np.asarray([(g.x, g.y) for g in childcare])
            ax.scatter(arr[:, 0], arr[:, 1], s=10, marker="s", c=COLOURS["childcare"], edgecolors="white",
                       linewidths=0.4, zorder=4)
        ax.scatter([site_xy[0]], [site_xy[1]], s=90, marker="*", c=COLOURS["site"], edgecolors="white",
                   linewidths=0.6, zorder=5)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ("top", "right", "bottom", "left"):
            ax.spines[side].set_visible(True)
            ax.spines[side].set_color("#868e96")
            ax.spines[side].set_linewidth(0.6)
        # scale bar, bottom left
        length = _nice_length(w)
        bx, by = x0 + w * 0.05, y0 + h * 0.07
        ax.plot([bx, bx + length], [by, by], color="black", linewidth=2, solid_capstyle="butt", zorder=6)
        text = (f"{length / 1000:g} 千米" if lang == "zh" else f"{length / 1000:g} km") if length >= 1000 else \
               (f"{length:g} 米" if lang == "zh" else f"{length:g} m")
        ax.text(bx + length / 2, by + h * 0.025, text, ha="center", va="bottom", fontsize=6.5, zorder=6)
        # north arrow, top right (the map is north up: metric Gauss-Krüger / UTM grid)
        ax.annotate("", xy=(0.94, 0.86), xytext=(0.94, 0.70), xycoords="axes fraction",
                    arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 0.8})
        ax.text(0.94, 0.88, "北" if lang == "zh" else "N", transform=ax.transAxes, ha="center", va="bottom",
                fontsize=7, zorder=6)
        return fig

    return _drawn(draw)
