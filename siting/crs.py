"""Coordinate reference systems: the metric CRS for analysis and China's offset systems.

GCJ-02 (AMap, Tencent) and BD-09 (Baidu) are not CRSs that PROJ knows: they are
WGS84 with a deliberate, non-linear offset. The forward formulas are public; the
inverses here are iterative and converge to well under 0.5 m.
"""

from __future__ import annotations

import numpy as np
from pyproj import CRS

__all__ = [
    "WGS84",
    "CGCS2000",
    "metric_crs",
    "in_china",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
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


def gcj02_to_wgs84(lon, lat, tol_deg: float = 1e-9, max_iter: int = 30):
    """GCJ-02 → WGS84 by fixed-point iteration on the forward formula.

    Converges to ``tol_deg`` (1e-9° ≈ 0.1 mm); the forward formula is smooth, so a
    handful of iterations suffice.
    """
    glon = np.asarray(lon, dtype=float)
    glat = np.asarray(lat, dtype=float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(max_iter):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        dlon, dlat = flon - glon, flat - glat
        wlon = wlon - dlon
        wlat = wlat - dlat
        if np.all(np.abs(dlon) < tol_deg) and np.all(np.abs(dlat) < tol_deg):
            break
    return wlon, wlat


def gcj02_to_bd09(lon, lat):
    """GCJ-02 → BD-09 (Baidu's public forward formula)."""
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat, tol_deg: float = 1e-10, max_iter: int = 30):
    """BD-09 → GCJ-02 by fixed-point iteration on the forward formula."""
    blon = np.asarray(lon, dtype=float)
    blat = np.asarray(lat, dtype=float)
    glon, glat = blon - 0.0065, blat - 0.006
    for _ in range(max_iter):
        flon, flat = gcj02_to_bd09(glon, glat)
        dlon, dlat = flon - blon, flat - blat
        glon = glon - dlon
        glat = glat - dlat
        if np.all(np.abs(dlon) < tol_deg) and np.all(np.abs(dlat) < tol_deg):
            break
    return glon, glat


def wgs84_to_bd09(lon, lat):
    """WGS84 → BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat):
    """BD-09 → WGS84 (two iterative inverses)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))
