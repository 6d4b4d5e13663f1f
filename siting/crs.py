"""Coordinate reference systems: the metric CRS for analysis and China's offset systems.

GCJ-02 (AMap, Tencent) and BD-09 (Baidu) are not CRSs that PROJ knows: they are
WGS84 with a deliberate, non-linear offset. The forward formulas are public; the
inverses here are iterative and converge to well under 0.5 m.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer

__all__ = [
    "CGCS2000",
    "GK_ALIASES",
    "WGS84",
    "GaussKruger",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "convert_geometry",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "gk_from_crs",
    "gk_from_eastings",
    "gk_prefix_zone",
    "gk_zone",
    "in_china",
    "metric_crs",
    "transform_geometries",
    "transformer",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
    "xy_conversion",
]

WGS84 = CRS.from_epsg(4326)
CGCS2000 = CRS.from_epsg(4490)

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the GCJ-02 formula
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0


def in_china(lon, lat):
    """Rough bounding test used by the GCJ-02 formula (outside China it is the identity)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon > 73.66) & (lon < 135.05) & (lat > 3.86) & (lat < 53.55)


def metric_crs(lon: float, lat: float) -> CRS:
    """Pick the metric CRS for analysis around a point.

    Inside China: the CGCS2000 3-degree Gauss-Krüger zone without zone prefix
    (EPSG:4534-4554, central meridians 75°E-135°E), which Chinese planning data uses.
    Elsewhere: the WGS84 UTM zone.

    Parameters
    ----------
    lon, lat : float
        A representative point (e.g. the study area's centroid) in degrees.
    """
    if bool(in_china(lon, lat)):
        central = int(round(lon / 3.0)) * 3
        central = min(max(central, 75), 135)
        # EPSG:4534 is CM 75°E; codes step by one per 3 degrees up to EPSG:4554 (CM 135°E).
        return CRS.from_epsg(4534 + (central - 75) // 3)
    zone = int((lon + 180) // 6) + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def transformer(src, dst) -> Transformer:
    """An ``always_xy`` Transformer from ``src`` to ``dst``, built once per pair.

    PROJ takes about 50 ms to build one (a search of its database), more than
    projecting a district's worth of points; geopandas caches its own the same way.
    """
    return _transformer(CRS.from_user_input(src), CRS.from_user_input(dst))


@lru_cache(maxsize=64)
def _transformer(src: CRS, dst: CRS) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def convert_geometry(geom, convert, decimals: int | None = None):
    """Apply a ``(lon, lat) -> (lon, lat)`` conversion (e.g. :func:`gcj02_to_wgs84`) to every
    vertex of a shapely geometry or array of them, optionally rounding to ``decimals``."""
    return shapely.transform(geom, xy_conversion(convert, decimals))


def xy_conversion(convert, decimals: int | None = None):
    """The ``(n, 2) -> (n, 2)`` coordinate function of a ``(lon, lat) -> (lon, lat)`` conversion,
    as ``shapely.transform`` takes it."""

    def f(xy: np.ndarray) -> np.ndarray:
        lon, lat = convert(xy[:, 0], xy[:, 1])
        out = np.column_stack([lon, lat])
        return out if decimals is None else np.round(out, decimals)

    return f


def transform_geometries(geoms, src, dst) -> np.ndarray:
    """Shapely geometries (array-like) projected from ``src`` to ``dst`` (2D)."""
    geoms = np.asarray(geoms, dtype=object)
    if CRS.from_user_input(src) == CRS.from_user_input(dst):
        return geoms
    return shapely.transform(geoms, transformer(src, dst).transform, interleaved=False)


def _transform_lat(x, y):
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x, y):
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lon, lat):
    """WGS84 → GCJ-02 (the public forward formula). Arrays or scalars, degrees."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def _invert(forward, lon, lat, start, tol_deg: float, max_iter: int):
    """Invert a smooth offset ``forward`` by fixed-point iteration: x ← x − (forward(x) − target)."""
    tlon = np.asarray(lon, dtype=float)
    tlat = np.asarray(lat, dtype=float)
    xlon, xlat = start(tlon, tlat)
    for _ in range(max_iter):
        flon, flat = forward(xlon, xlat)
        dlon, dlat = flon - tlon, flat - tlat
        xlon = xlon - dlon
        xlat = xlat - dlat
        if np.all(np.abs(dlon) < tol_deg) and np.all(np.abs(dlat) < tol_deg):
            break
    return xlon, xlat


def gcj02_to_wgs84(lon, lat, tol_deg: float = 1e-9, max_iter: int = 30):
    """GCJ-02 → WGS84 by fixed-point iteration on the forward formula.

    Converges to ``tol_deg`` (1e-9° ≈ 0.1 mm); the forward formula is smooth, so a
    handful of iterations suffice.
    """
    return _invert(wgs84_to_gcj02, lon, lat, lambda x, y: (x.copy(), y.copy()), tol_deg, max_iter)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 → BD-09 (Baidu's public forward formula)."""
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat, tol_deg: float = 1e-10, max_iter: int = 30):
    """BD-09 → GCJ-02 by fixed-point iteration on the forward formula."""
    return _invert(gcj02_to_bd09, lon, lat, lambda x, y: (x - 0.0065, y - 0.006), tol_deg, max_iter)


def wgs84_to_bd09(lon, lat):
    """WGS84 → BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat):
    """BD-09 → WGS84 (two iterative inverses)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


# ---------------------------------------------------------------------------------------- Gauss-Krüger zones
#
# CGCS2000 Gauss-Krüger CRSs in the EPSG registry (central meridians 75°E-135°E):
#   6° zones 13-23 with the zone prefix in the easting (false easting zone × 10⁶ + 500,000): EPSG:4491-4501
#   6° zones by central meridian, no prefix (false easting 500,000):                        EPSG:4502-4512
#   3° zones 25-45 with the zone prefix:                                                    EPSG:4513-4533
#   3° zones by central meridian, no prefix:                                                EPSG:4534-4554
# The prefixed zone numbers of the two widths do not overlap in China (13-23 vs 25-45), so an
# easting with a prefix names its CRS on its own.

GK_ALIASES = {"CGCS2000-GK3": 3, "CGCS2000-GK6": 6}


@dataclass(frozen=True)
class GaussKruger:
    """A CGCS2000 Gauss-Krüger CRS: zone width (3 or 6 degrees), zone number, central meridian, prefix."""

    width: int
    zone: int
    central_meridian: int
    prefix: bool

    @property
    def epsg(self) -> int:
        if self.width == 6:
            return 4491 + self.zone - 13 if self.prefix else 4502 + (self.central_meridian - 75) // 6
        return 4513 + self.zone - 25 if self.prefix else 4534 + (self.central_meridian - 75) // 3

    @property
    def crs(self) -> CRS:
        return CRS.from_epsg(self.epsg)

    def label(self) -> str:
        kind = f"CGCS2000 {self.width}° Gauss-Krüger"
        if self.prefix:
            return f"{kind} zone {self.zone} with zone prefix (EPSG:{self.epsg})"
        return f"{kind} CM {self.central_meridian}°E without zone prefix (EPSG:{self.epsg})"

    def label_zh(self) -> str:
        kind = f"CGCS2000 {self.width}度带高斯-克吕格投影"
        if self.prefix:
            return f"{kind}第 {self.zone} 带（带号前缀，EPSG:{self.epsg}）"
        return f"{kind}中央经线 {self.central_meridian}°E（无带号，EPSG:{self.epsg}）"


def gk_zone(width: int, *, zone: int | None = None, central_meridian: float | None = None,
            lon: float | None = None, prefix: bool = False) -> GaussKruger:
    """The CGCS2000 GK CRS of a zone number, a central meridian or a longitude inside the zone.

    Raises ValueError outside the zones the EPSG registry defines for China.
    """
    if width not in (3, 6):
        raise ValueError(f"zone width must be 3 or 6, got {width}")
    if zone is not None:
        cm = zone * 3 if width == 3 else zone * 6 - 3
    elif central_meridian is not None:
        cm = int(round(central_meridian))
    elif lon is not None:
        cm = int(round(lon / 3.0)) * 3 if width == 3 else int(lon // 6) * 6 + 3
    else:
        raise ValueError("give a zone, a central meridian or a longitude")
    if not 75 <= cm <= 135 or (cm - 75) % width:
        raise ValueError(f"no CGCS2000 {width}° Gauss-Krüger zone with central meridian {cm}°E")
    number = cm // 3 if width == 3 else (cm + 3) // 6
    return GaussKruger(width, number, cm, prefix)


def gk_from_crs(crs) -> GaussKruger | None:
    """Recognise a CGCS2000 Gauss-Krüger CRS, by EPSG code or by its parameters (ArcGIS .prj files
    often carry a custom WKT such as ``CGCS2000_3_Degree_GK_CM_120E`` with no EPSG code)."""
    if crs is None:
        return None
    crs = CRS.from_user_input(crs)
    code = crs.to_epsg(min_confidence=70)
    if code is not None:
        if 4491 <= code <= 4501:
            return GaussKruger(6, code - 4491 + 13, (code - 4491 + 13) * 6 - 3, True)
        if 4502 <= code <= 4512:
            return GaussKruger(6, (75 + (code - 4502) * 6 + 3) // 6, 75 + (code - 4502) * 6, False)
        if 4513 <= code <= 4533:
            return GaussKruger(3, code - 4513 + 25, (code - 4513 + 25) * 3, True)
        if 4534 <= code <= 4554:
            return GaussKruger(3, (75 + (code - 4534) * 3) // 3, 75 + (code - 4534) * 3, False)
        return None
    if not crs.is_projected or crs.coordinate_operation is None:
        return None
    if "2000" not in (crs.datum.name if crs.datum else ""):
        return None
    params = {p.name: p.value for p in crs.coordinate_operation.params}
    if crs.coordinate_operation.method_name != "Transverse Mercator" or params.get("Scale factor at natural origin") != 1:
        return None
    cm = params.get("Longitude of natural origin")
    fe = params.get("False easting")
    if cm is None or fe is None or float(cm) != int(cm):
        return None
    cm = int(cm)
    width = 3 if (cm - 75) % 6 else (6 if "6" in crs.name and "3" not in crs.name else 3)
    try:
        if fe == 500000:
            return gk_zone(width, central_meridian=cm)
        zone = int(fe // 1_000_000)
        width = 6 if 13 <= zone <= 23 else 3
        return gk_zone(width, zone=zone, prefix=True)
    except ValueError:
        return None


def gk_prefix_zone(eastings) -> int | None:
    """The zone number carried as a prefix by GK eastings (e.g. 40 for 40,512,345), if they all agree."""
    e = np.asarray(eastings, dtype=float)
    e = e[np.isfinite(e)]
    if len(e) == 0 or np.median(np.abs(e)) < 1_000_000:
        return None
    zones = np.unique((e // 1_000_000).astype(int))
    if len(zones) != 1:
        return None
    zone = int(zones[0])
    return zone if 13 <= zone <= 23 or 25 <= zone <= 45 else None


def gk_from_eastings(eastings) -> GaussKruger | None:
    """The prefixed GK CRS named by eastings with a zone prefix, else None."""
    zone = gk_prefix_zone(eastings)
    if zone is None:
        return None
    return gk_zone(6 if zone <= 23 else 3, zone=zone, prefix=True)
