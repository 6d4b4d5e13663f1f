"""Audit tests with hand-computed answers on tiny inputs (see tests/tiny.py for the layout)."""

import datetime as dt
import json

import geopandas as gpd

import numpy as np
import pandas as pd
import pytest

from siting import load_project
from siting.audit import allocate, audit
from tests.tiny import write_tiny_project


def _audit(cfg, as_of="2026-11-29", **over):
    p = load_project(cfg, overrides={"analysis.as_of": as_of, **over})
    return p, audit(p)


def test_tiny_audit_known_answers(tiny_config):
    _, r = _audit(tiny_config)
    c = r.compounds.set_index("id")
    # C1: 1,000 residents × 4.72 / 1,000 = 4.72 places; 阳光幼儿园 (40 places) is within 300 m walk.
    assert c.loc["C1", "places_required"] == pytest.approx(4.72)
    assert c.loc["C1", "places_served"] == pytest.approx(4.72)
    assert c.loc["C1", "flag"] == "covered" and c.loc["C1", "compliance"] == "compliant"
    # C2: population from households, 800 × 2.55 = 2,040 → 9.6288 places; nothing within 300 m walk;
    # completed 2024-06-30, after the plan date 2024-04-17: delivered without a facility.
    assert c.loc["C2", "population"] == pytest.approx(2040)
    assert c.loc["C2", "places_required"] == pytest.approx(9.6288)
    assert c.loc["C2", "flag"] == "no_facility"
    assert c.loc["C2", "compliance"] == "delivered_without_facility"
    assert "岚政办字〔2024〕5号" in c.loc["C2", "rule"] and "现已违规" in c.loc["C2", "rule"]
    assert "需托位 10 个；步行 300 米范围内无托育设施" == c.loc["C2", "reason"]
    # C3 is in a town: 1,000 m walk catchment reaches 贝贝托育园.
    assert c.loc["C3", "catchment"] == "town" and c.loc["C3", "flag"] == "covered"
    # The village uses the drive catchment.
    assert c.loc["V1", "catchment"] == "village"


def test_unknown_places_are_estimated_and_flagged(tiny_config):
    _, r = _audit(tiny_config)
    cc = r.childcare.set_index("id")
    assert cc.loc["N2", "places_supply"] == 40 and bool(cc.loc["N2", "places_estimated"])
    assert not bool(cc.loc["K1", "places_estimated"])
    assert cc.loc["N1", "registration"] == "registered_only"
    assert cc.loc["K1", "registration"] == "registered_filed"
    assert cc.loc["N2", "registration"] == "neither"


def _river_osm():
    """Two east-west roads 200 m apart (a river between), joined only by a bridge 1 km east.

    South road y=35.100, north road y=35.1018 (0.0018° lat ≈ 199.7 m). Nodes every 0.001° lon
    (≈ 91.1 m) from 119.200 to 119.211; the bridge is at x = 119.211.
    """
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6">']
    xs = [119.200 + 0.001 * i for i in range(12)]
    for k, y in enumerate((35.100, 35.1018)):
        for i, x in enumerate(xs):
            lines.append(f'<node id="{k * 100 + i + 1}" lat="{y:.6f}" lon="{x:.6f}" version="1"/>')
        refs = "".join(f'<nd ref="{k * 100 + i + 1}"/>' for i in range(len(xs)))
        lines.append(f'<way id="{k + 1}" version="1">{refs}<tag k="highway" v="residential"/></way>')
    lines.append('<way id="3" version="1"><nd ref="12"/><nd ref="112"/><tag k="highway" v="residential"/></way>')
    lines.append("</osm>")
    return "\n".join(lines)


def test_nursery_across_a_river_is_not_in_reach(tmp_path):
    cfg = write_tiny_project(tmp_path / "river", osm=_river_osm())
    # Keep only C1 (south bank at x≈119.2003) and a nursery straight across on the north bank.
    import json

    comp = json.loads((cfg.parent / "compounds.geojson").read_text(encoding="utf-8"))
    comp["features"] = [f for f in comp["features"] if f["properties"]["编号"] == "C1"]
    comp["features"][0]["geometry"] = {"type": "Point", "coordinates": [119.2000, 35.1000]}
    (cfg.parent / "compounds.geojson").write_text(json.dumps(comp, ensure_ascii=False), encoding="utf-8")
    (cfg.parent / "childcare.csv").write_text("编号,名称,类型,托位数,托班数,已登记,已备案,普惠,经度,纬度\n"
                                              "N9,对岸托育园,托育机构,30,2,是,是,是,119.2000,35.1018\n", encoding="utf-8")
    p, r = _audit(cfg)
    c = r.compounds.set_index("id")
    straight = p.compounds.to_crs(p.crs).geometry.iloc[0].distance(p.childcare.to_crs(p.crs).geometry.iloc[0])
    assert straight == pytest.approx(199.7, abs=1.0)
    assert c.loc["C1", "flag"] == "no_facility"  # 200 m away, but not within 300 m by road
    # By road: 11 × 91.1 m east, 199.7 m over the bridge, 11 × 91.1 m back ≈ 2,204 m.
    from siting.network import od_matrix

    d = od_matrix(p.roads, p.compounds, p.childcare, cutoff=5000).toarray()[0, 0]
    assert d == pytest.approx(2 * 11 * 91.08 + 199.7, rel=0.005)


@pytest.mark.parametrize(
    "as_of, days, code",
    [
        ("2026-11-29", 139, "remediate_by_deadline"),  # Nov 29 → Apr 17: 1 + 31 + 31 + 28 + 31 + 17
        ("2027-04-17", 0, "remediate_by_deadline"),  # the deadline day itself is still in time
        ("2027-04-18", -1, "overdue"),
        ("2028-02-29", -318, "overdue"),  # a leap day after the deadline
        ("2024-02-29", 1143, "remediate_by_deadline"),  # before the plan: 366 + 365 + 365 + 47
    ],
)
def test_remediation_deadline_and_days_left(tmp_path, as_of, days, code):
    cfg = write_tiny_project(tmp_path / "dl")
    # Make C1 (completed 2010) unserved: remove the kindergarten beside it.
    csv = cfg.parent / "childcare.csv"
    csv.write_text("\n".join(l for l in csv.read_text(encoding="utf-8-sig").splitlines() if not l.startswith("K1")) + "\n",
                   encoding="utf-8")
    _, r = _audit(cfg, as_of=as_of)
    c = r.compounds.set_index("id")
    assert c.loc["C1", "flag"] != "covered"
    assert c.loc["C1", "deadline"] == dt.date(2027, 4, 17)
    assert c.loc["C1", "days_left"] == days
    assert c.loc["C1", "compliance"] == code
    assert str(abs(days)) in c.loc["C1", "rule"]


def test_allocation_splits_scarce_places_and_never_exceeds_capacity():
    # Two compounds need 10 each; one facility has 12 places, both in reach; the nearer pair is preferred.
    pairs = pd.DataFrame({"row": [0, 1], "col": [0, 0], "cost": [0.1, 0.9]})
    x = allocate(pairs, np.array([10.0, 10.0]), np.array([12.0]))
    assert x.sum() == pytest.approx(12.0)
    assert x[0] == pytest.approx(10.0) and x[1] == pytest.approx(2.0)


def test_allocation_prefers_the_total_over_distance():
    # Compound 0 reaches facilities A (near) and B; compound 1 reaches only A. Each needs 5, each facility has 5.
    # Nearest-first would give A to compound 0 and leave compound 1 unserved; the LP serves both.
    pairs = pd.DataFrame({"row": [0, 0, 1], "col": [0, 1, 0], "cost": [0.1, 0.9, 0.5]})
    x = allocate(pairs, np.array([5.0, 5.0]), np.array([5.0, 5.0]))
    assert x.sum() == pytest.approx(10.0)
    assert x[1] == pytest.approx(5.0) and x[2] == pytest.approx(5.0)


def test_allocation_respects_capacity_on_random_instances():
    rng = np.random.default_rng(7)
    for _ in range(20):
        n, m = rng.integers(3, 30), rng.integers(1, 10)
        mask = rng.random((n, m)) < 0.3
        rows, cols = np.nonzero(mask)
        pairs = pd.DataFrame({"row": rows, "col": cols, "cost": rng.random(len(rows))})
        req, cap = rng.random(n) * 20, rng.random(m) * 30
        x = allocate(pairs, req, cap)
        assert (np.bincount(cols, weights=x, minlength=m) <= cap + 1e-6).all()
        assert (np.bincount(rows, weights=x, minlength=n) <= req + 1e-6).all()


def test_facility_load_never_exceeds_places(tiny_config):
    _, r = _audit(tiny_config, **{"policy.places_per_1000": 200.0})  # demand far above supply
    cc = r.childcare
    assert (cc["load"] <= cc["places_supply"] + 1e-6).all()
    assert cc["load"].sum() > 0
    assert (r.compounds["places_served"] <= r.compounds["places_required"] + 1e-6).all()


def test_township_rows_sum_to_the_district_total(tiny_config):
    _, r = _audit(tiny_config)
    t = r.townships
    tw, total = t[t["kind"] != "district"], t[t["kind"] == "district"].iloc[0]
    for col in ("population", "places_inside", "places_in_reach", "places_required", "flagged_compounds"):
        assert tw[col].sum() == pytest.approx(total[col])
    # 甲街道: 5,000 residents, places inside = 40 (K1) + 40 (N2, estimated) = 80 → 16 per 1,000.
    jia = t.set_index("township").loc["甲街道"]
    assert jia["places_per_1000"] == pytest.approx(16.0) and jia["places_required"] == pytest.approx(23.6)
    assert t.set_index("township").loc["乙镇", "rank"] == 1  # 10 per 1,000, the lowest


def test_guidance_check_counts_stations_and_teachers(tiny_config):
    _, r = _audit(tiny_config)
    g = r.guidance.set_index("level")
    assert not bool(g.loc["district_centre", "ok"])  # the tiny project has no MCH centre
    assert g.loc["teachers", "teachers_required"] == 1  # 8,000 residents → ceil(0.8) = 1
    assert r.guidance.attrs["stations_present"] == 2


def test_standards_check_flags_class_size_ratio_and_floor(tiny_config):
    csv = tiny_config.parent / "childcare.csv"
    csv.write_text("编号,名称,类型,托位数,托班数,已登记,已备案,普惠,在托人数,保育人员数,最大班额,班型,所在楼层,经度,纬度\n"
                   "N1,超标托育园,托育机构,60,3,是,是,否,42,5,25,托大班,4,119.2150,35.1060\n", encoding="utf-8")
    text = tiny_config.read_text(encoding="utf-8").replace(
        '"普惠" = "inclusive"}', '"普惠" = "inclusive", "在托人数" = "enrolled", "保育人员数" = "caregivers", '
        '"最大班额" = "largest_class", "班型" = "class_type", "所在楼层" = "floor"}')
    tiny_config.write_text(text, encoding="utf-8")
    _, r = _audit(tiny_config)
    issues = r.childcare.set_index("id").loc["N1", "standard_issues"]
    assert "最大班额 25 人超过托大班上限 20 人" in issues
    assert "保育人员 5 人，按 1:7 在托 42 人需 6 人" in issues  # ceil(42 / 7) = 6
    assert "婴幼儿用房在 4 层，超过 3 层" in issues


def test_guidance_teachers_in_post_are_compared(tiny_config):
    # 甲街道 has 5,000 residents → ceil(0.5) = 1 teacher required; 0 in post is a shortfall of 1.
    _, r = _audit(tiny_config, **{"guidance.teachers": {"甲街道": 0, "乙镇": 2}})
    g = r.guidance.set_index(["level", "township"])
    assert g.loc[("township_station", "甲街道"), "teachers_known"] == 0
    assert "缺 1 名" in g.loc[("township_station", "甲街道"), "note"]
    assert "缺" not in g.loc[("township_station", "乙镇"), "note"]
    assert g.loc[("teachers", "全区"), "teachers_known"] == 2 and bool(g.loc[("teachers", "全区"), "ok"])


def test_facility_service_areas_one_polygon_per_facility_and_distance(tiny_config):
    from siting.audit import facility_service_areas

    p, r = _audit(tiny_config)
    sa = facility_service_areas(p, r, thresholds=[300.0, 1000.0])
    # K1, N1 and N2 all have places: 3 facilities × 2 distances, nested.
    assert len(sa) == 6 and set(sa["facility_id"]) == {"K1", "N1", "N2"}
    m = sa.to_crs(p.crs).set_index(["facility_id", "threshold"])
    for fid in ("K1", "N1", "N2"):
        small, big = m.loc[(fid, 300.0), "geometry"], m.loc[(fid, 1000.0), "geometry"]
        assert big.buffer(1).contains(small)
    # Independent check with networkx: nodes within 300 m of K1 by road (its snap leg included) lie in
    # its 300 m area; nodes farther than 300 m + the 35 m road buffer do not.
    import networkx as nx
    import shapely

    from siting.network import snap

    s = snap(p.roads, p.childcare[p.childcare["id"] == "K1"], crs=p.crs)
    node, leg = s.node[0], s.distance[0]
    dist = nx.single_source_dijkstra_path_length(p.roads, node, weight="length")
    xy = gpd.GeoSeries([shapely.Point(p.roads.nodes[n]["x"], p.roads.nodes[n]["y"]) for n in dist], crs=4326).to_crs(p.crs)
    area = m.loc[("K1", 300.0), "geometry"]
    inside = [pt for pt, d in zip(xy, dist.values()) if leg + d <= 300]
    assert len(inside) >= 3 and all(area.buffer(0.5).contains(pt) for pt in inside)
    assert sum(area.contains(pt) for pt, d in zip(xy, dist.values()) if leg + d > 335) == 0


def _haversine(lon1, lat1, lon2, lat2, r=6371009.0):
    """Great-circle metres, as osmnx measures edge lengths (mean Earth radius)."""
    p1, p2, dl = np.radians(lat1), np.radians(lat2), np.radians(lon2 - lon1)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(a))


def test_nearest_facility_and_why_it_does_not_count(tmp_path):
    """Every compound names its nearest facility, both distances and the reason, on a grid with a missing road.

    Street catchment: 300 m walk. Compounds and facilities sit on grid nodes (no snap legs);
    grid steps are 0.002° (≈ 182 m east-west, ≈ 222 m north-south here).
    - A (119.202, 35.112) and 远托育园 (119.202, 35.114): 222 m apart, but the north-south road at
      119.202 is missing, so the walk goes round: east 1 step, north 1, west 1 ≈ 586 m > 300 m.
    - 小托育点 (2 places) at (119.206, 35.106): Q2 is 1 step west of it (182 m), Q1 1 step south
      (222 m); both need 4.72 places, the LP gives its 2 places to the nearer Q2, none left for Q1.
    - R (119.208, 35.102) has 无托班幼儿园 (no 托班, no places) 55.6 m north: not an under-3 provider.
    """
    from tests.tiny import grid_osm

    cfg = write_tiny_project(tmp_path, osm=grid_osm(skip_ways=("v1",)))
    pts = {"A": (119.202, 35.112), "Q1": (119.206, 35.108), "Q2": (119.204, 35.106), "R": (119.208, 35.102)}
    feats = [{"type": "Feature", "properties": {"编号": k, "名称": f"{k}小区", "所属乡镇": "甲街道", "类型": "小区",
                                                 "户数": 400, "人口": 1000, "竣工日期": "2010-01-01", "状态": "现状"},
              "geometry": {"type": "Point", "coordinates": list(xy)}} for k, xy in pts.items()]
    (tmp_path / "compounds.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats},
                                                           ensure_ascii=False), encoding="utf-8")
    (tmp_path / "childcare.csv").write_text(
        "编号,名称,类型,托位数,托班数,已登记,已备案,普惠,经度,纬度\n"
        "F1,远托育园,托育机构,30,3,是,是,否,119.202,35.114\n"
        "F2,小托育点,托育机构,2,1,是,是,否,119.206,35.106\n"
        "K0,无托班幼儿园,幼儿园,,0,是,是,是,119.208,35.1025\n", encoding="utf-8-sig")
    _, r = _audit(cfg)
    c = r.compounds.set_index("id")
    lon_step = _haversine(119.202, 35.112, 119.204, 35.112)
    lat_step = _haversine(119.204, 35.112, 119.204, 35.114)
    a = c.loc["A"]
    assert (a["nearest_id"], a["nearest_facility"], a["nearest_status"]) == ("F1", "远托育园", "beyond_catchment")
    assert a["nearest_straight_m"] == pytest.approx(_haversine(119.202, 35.112, 119.202, 35.114), rel=0.005)
    assert a["nearest_road_m"] == pytest.approx(2 * lon_step + lat_step, rel=0.005)  # ≈ 586 m, not 222 m
    assert a["nearest_reason"] == f"沿道路 {a['nearest_road_m']:,.0f} 米，超出步行 300 米服务范围，不计入"
    assert a["flag"] == "no_facility"
    q1, q2 = c.loc["Q1"], c.loc["Q2"]
    assert q2["nearest_id"] == "F2" and q2["nearest_status"] == "counts" and q2["places_served"] == pytest.approx(2)
    assert q2["nearest_road_m"] == pytest.approx(lon_step, rel=0.005)
    assert q1["nearest_id"] == "F2" and q1["nearest_status"] == "no_places_left" and q1["places_served"] == 0
    assert q1["nearest_road_m"] == pytest.approx(_haversine(119.206, 35.106, 119.206, 35.108), rel=0.005)
    assert q1["nearest_reason"] == "在步行 300 米范围内，但其托位已全部分配给其他小区"
    assert q1["flag"] == "under_served"
    rr = c.loc["R"]
    assert rr["nearest_id"] == "K0" and rr["nearest_status"] == "not_under3"
    assert rr["nearest_straight_m"] == pytest.approx(_haversine(119.208, 35.102, 119.208, 35.1025), rel=0.005)
