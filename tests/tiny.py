"""A tiny hand-made project on disk: 2 townships, a road grid, Chinese column names.

Geometry (EPSG:4326, around 119.21°E 35.11°N where 0.001° lon ≈ 91 m, 0.001° lat ≈ 111 m):
the district is the square 119.200–119.220 × 35.100–35.120, split at lon 119.210 into
甲街道 (west, street) and 乙镇 (east, town). Roads form a grid every 0.002°.
"""

from __future__ import annotations

import json
from pathlib import Path

WEST, EAST, SOUTH, NORTH = 119.200, 119.220, 35.100, 35.120
STEP = 0.002


def _box(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def _fc(features):
    return {"type": "FeatureCollection", "features": features}


def _feature(props, geom):
    return {"type": "Feature", "properties": props, "geometry": geom}


def grid_osm(west=WEST, east=EAST, south=SOUTH, north=NORTH, step=STEP, skip_ways=()) -> str:
    """An OSM XML road grid; ways named ``h{j}`` (east-west) and ``v{i}`` (north-south)."""
    nx_ = round((east - west) / step) + 1
    ny_ = round((north - south) / step) + 1
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="siting-tests">',
             f'<bounds minlat="{south}" minlon="{west}" maxlat="{north}" maxlon="{east}"/>']
    nid = {}
    for j in range(ny_):
        for i in range(nx_):
            nid[i, j] = 1 + j * nx_ + i
            lines.append(f'<node id="{nid[i, j]}" lat="{south + j * step:.6f}" lon="{west + i * step:.6f}" version="1"/>')
    wid = 1000
    for j in range(ny_):
        if f"h{j}" in skip_ways:
            continue
        wid += 1
        refs = "".join(f'<nd ref="{nid[i, j]}"/>' for i in range(nx_))
        lines.append(f'<way id="{wid}" version="1">{refs}<tag k="highway" v="residential"/><tag k="name" v="h{j}"/></way>')
    for i in range(nx_):
        if f"v{i}" in skip_ways:
            continue
        wid += 1
        refs = "".join(f'<nd ref="{nid[i, j]}"/>' for j in range(ny_))
        lines.append(f'<way id="{wid}" version="1">{refs}<tag k="highway" v="tertiary"/><tag k="name" v="v{i}"/></way>')
    lines.append("</osm>")
    return "\n".join(lines) + "\n"


COMPOUNDS = [
    # 编号, 名称, 所属乡镇, 类型, 户数, 人口, 竣工日期, 状态, geometry
    ("C1", "甲一小区", "甲街道", "小区", 400, 1000, "2010-05-01", "现状", _box(119.2025, 35.1025, 119.2035, 35.1035)),
    ("C2", "甲二小区", "甲街道", "小区", 800, None, "2024-06-30", "新建", _box(119.2065, 35.1105, 119.2075, 35.1115)),
    ("C3", "乙一小区", "乙镇", "小区", 300, 780, "2018", "现状", _box(119.2145, 35.1045, 119.2155, 35.1055)),
    ("V1", "东山村", "乙镇", "村", 200, 560, None, "现状", {"type": "Point", "coordinates": [119.2185, 35.1175]}),
]

CHILDCARE_HEADER = "编号,名称,类型,托位数,托班数,已登记,已备案,普惠,经度,纬度"
CHILDCARE_ROWS = [
    "K1,阳光幼儿园,幼儿园,40,2,是,是,是,119.2030,35.1040",
    "N1,贝贝托育园,托育机构,30,3,是,否,否,119.2150,35.1060",
    "N2,未知托位托育点,托育机构,,,否,否,否,119.2070,35.1100",
]

HEALTH_HEADER = "编号,名称,类型,经度,纬度"
HEALTH_ROWS = [
    "H1,甲街道社区卫生服务中心,社区卫生服务中心,119.2050,35.1080",
    "H2,乙镇卫生院,乡镇卫生院,119.2160,35.1080",
]

CONFIG = """
[project]
name = "测试区"
district = "测试区"
data_date = "2026-01-01"

[layers.boundary]
path = "boundary.geojson"

[layers.townships]
path = "townships.geojson"
columns = {"名称" = "name", "类型" = "kind", "常住人口" = "population"}

[layers.compounds]
path = "compounds.geojson"
columns = {"编号" = "id", "名称" = "name", "所属乡镇" = "township", "类型" = "kind", "户数" = "households", "人口" = "population", "竣工日期" = "completed", "状态" = "status"}

[layers.childcare]
path = "childcare.csv"
columns = {"编号" = "id", "名称" = "name", "类型" = "kind", "托位数" = "places", "托班数" = "classes", "已登记" = "registered", "已备案" = "filed", "普惠" = "inclusive"}

[layers.health]
path = "health.csv"
columns = {"编号" = "id", "名称" = "name", "类型" = "kind"}

[layers.parcels]
path = "parcels.geojson"
columns = {"地块编码" = "id", "面积" = "area", "现状用途" = "land_use", "状态" = "status", "权属" = "ownership"}

[layers.roads]
path = "roads.osm"
"""


def write_tiny_project(root: Path, config_extra: str = "", osm: str | None = None) -> Path:
    """Write the tiny project into ``root`` and return the config path."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "boundary.geojson").write_text(json.dumps(_fc([_feature({"name": "测试区"}, _box(WEST, SOUTH, EAST, NORTH))]),
                                                       ensure_ascii=False), encoding="utf-8")
    (root / "townships.geojson").write_text(json.dumps(_fc([
        _feature({"名称": "甲街道", "类型": "街道", "常住人口": 5000}, _box(WEST, SOUTH, 119.210, NORTH)),
        _feature({"名称": "乙镇", "类型": "镇", "常住人口": 3000}, _box(119.210, SOUTH, EAST, NORTH)),
    ]), ensure_ascii=False), encoding="utf-8")
    feats = []
    for cid, name, tw, kind, hh, pop, done, status, geom in COMPOUNDS:
        feats.append(_feature({"编号": cid, "名称": name, "所属乡镇": tw, "类型": kind, "户数": hh, "人口": pop,
                               "竣工日期": done, "状态": status}, geom))
    (root / "compounds.geojson").write_text(json.dumps(_fc(feats), ensure_ascii=False), encoding="utf-8")
    (root / "childcare.csv").write_text("\n".join([CHILDCARE_HEADER, *CHILDCARE_ROWS]) + "\n", encoding="utf-8-sig")
    (root / "health.csv").write_text("\n".join([HEALTH_HEADER, *HEALTH_ROWS]) + "\n", encoding="utf-8")
    (root / "parcels.geojson").write_text(json.dumps(_fc([
        _feature({"地块编码": "P-1", "面积": 2000, "现状用途": "空闲地", "状态": "闲置", "权属": "国有"},
                 _box(119.20875, 35.1128, 119.20925, 35.1132)),  # ≈ 2,021 m², as stated
        _feature({"地块编码": "P-2", "面积": None, "现状用途": "工业用地", "状态": "低效", "权属": "集体"},
                 _box(119.2165, 35.1125, 119.2175, 35.1135)),
    ]), ensure_ascii=False), encoding="utf-8")
    (root / "roads.osm").write_text(osm if osm is not None else grid_osm(), encoding="utf-8")
    cfg = root / "siting.toml"
    cfg.write_text(CONFIG + config_extra, encoding="utf-8")
    return cfg
