"""Coordinate conversions: GCJ-02 / BD-09 round trips, Gauss-Krüger zones (property-based where it helps)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Geod, Transformer

from siting.crs import (
    bd09_to_wgs84,
    gcj02_to_wgs84,
    gk_from_crs,
    gk_from_eastings,
    gk_prefix_zone,
    gk_zone,
    metric_crs,
    transform_geometries,
    transformer,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")
# China's extent (inside the rough box the GCJ-02 formula applies to)
lons = st.floats(min_value=73.7, max_value=135.0, allow_nan=False)
lats = st.floats(min_value=18.0, max_value=53.5, allow_nan=False)


def _metres(lon1, lat1, lon2, lat2) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


@pytest.mark.parametrize("forward,inverse", [(wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84)],
                         ids=["GCJ-02", "BD-09"])
@settings(max_examples=150, deadline=None)
@given(lon=lons, lat=lats)
def test_offset_round_trip_within_half_a_metre(forward, inverse, lon, lat):
    back = inverse(*forward(lon, lat))
    assert _metres(lon, lat, float(back[0]), float(back[1])) < 0.5


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(lons, lats), min_size=1, max_size=50))
def test_vectorised_inverse_matches_scalar(points):
    lon, lat = np.array(points).T
    g = wgs84_to_gcj02(lon, lat)
    vec = np.column_stack(gcj02_to_wgs84(*g))
    for i in range(len(lon)):
        one = gcj02_to_wgs84(g[0][i], g[1][i])
        assert _metres(vec[i, 0], vec[i, 1], float(one[0]), float(one[1])) < 0.5


def test_offsets_at_lanshan_are_the_documented_size():
    lon, lat = 119.21, 35.11
    assert 400 < _metres(lon, lat, *map(float, wgs84_to_gcj02(lon, lat))) < 700
    assert 1000 < _metres(lon, lat, *map(float, wgs84_to_bd09(lon, lat))) < 1500


def test_outside_china_gcj02_is_the_identity():
    assert tuple(map(float, wgs84_to_gcj02(2.35, 48.85))) == (2.35, 48.85)


@settings(max_examples=100, deadline=None)
@given(lons, lats, st.sampled_from([3, 6]), st.booleans())
def test_gk_projection_round_trip(lon, lat, width, prefix):
    gk = gk_zone(width, lon=lon, prefix=prefix)
    assert abs(lon - gk.central_meridian) <= width / 2 + 1e-9
    fwd = Transformer.from_crs(4490, gk.epsg, always_xy=True)
    inv = Transformer.from_crs(gk.epsg, 4490, always_xy=True)
    e, n = fwd.transform(lon, lat)
    if prefix:
        assert gk_prefix_zone([e]) == gk.zone and gk_from_eastings([e]) == gk
    else:
        assert 0 < e < 1_000_000 and gk_prefix_zone([e]) is None
    back = inv.transform(e, n)
    assert _metres(lon, lat, *back) < 0.001


@pytest.mark.parametrize("code", range(4491, 4555))
def test_every_cgcs2000_gk_code_is_recognised(code):
    gk = gk_from_crs(code)
    assert gk.epsg == code
    params = {p.name: p.value for p in CRS.from_epsg(code).coordinate_operation.params}
    assert params["Longitude of natural origin"] == gk.central_meridian
    assert params["False easting"] == (gk.zone * 1_000_000 if gk.prefix else 0) + 500_000


def test_lanshan_zones_match_the_standards_page():
    assert gk_zone(3, lon=119.2).epsg == 4549 and gk_zone(3, lon=119.2, prefix=True).epsg == 4528
    assert gk_zone(6, lon=119.2).epsg == 4509 and gk_zone(6, lon=119.2, prefix=True).epsg == 4498
    assert metric_crs(119.2, 35.1).to_epsg() == 4549


def test_arcgis_wkt_without_epsg_code_is_recognised():
    wkt = ('PROJCS["CGCS2000_3_Degree_GK_Zone_40",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",'
           'DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],'
           'UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",40500000.0],'
           'PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",120.0],PARAMETER["Scale_Factor",1.0],'
           'PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]')
    assert gk_from_crs(wkt).epsg == 4528
    assert gk_from_crs(4326) is None and gk_from_crs(32650) is None


def test_prefix_zone_needs_agreeing_eastings():
    assert gk_prefix_zone([40_512_000.0, 40_498_000.0]) == 40
    assert gk_prefix_zone([40_512_000.0, 39_498_000.0]) is None  # two zones: not a single prefix
    assert gk_prefix_zone([512_000.0]) is None
    assert gk_prefix_zone([3_512_000.0]) is None  # zone 3 is not a Chinese zone (a northing?)
    with pytest.raises(ValueError):
        gk_zone(3, lon=10.0)


def test_transform_geometries_matches_geopandas_and_reuses_the_transformer():
    import geopandas as gpd
    import shapely

    geoms = [
        shapely.Point(119.30, 35.10),
        shapely.Polygon([(119.30, 35.10), (119.31, 35.10), (119.31, 35.11)]),
        shapely.LineString([(119.2, 35.0), (119.25, 35.05)]),
        None,
    ]
    got = transform_geometries(geoms, 4326, 4549)
    want = gpd.GeoSeries(geoms, crs=4326).to_crs(4549).to_numpy()
    assert got[3] is None
    for g, w in zip(got[:3], want[:3]):
        assert shapely.equals_exact(g, w, tolerance=1e-6)
    assert transformer(4326, 4549) is transformer("EPSG:4326", CRS.from_epsg(4549))
