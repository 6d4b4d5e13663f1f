"""The bundled demo district loads through the same code path as real data."""

import networkx as nx
import pytest

import siting
from siting.schema import SCHEMAS


@pytest.fixture(scope="module")
def demo():
    return siting.load_project()


def test_demo_counts(demo):
    assert len(demo.boundary) == 1
    assert len(demo.townships) == 8
    assert 300 <= len(demo.compounds) <= 800
    kinds = demo.childcare["kind"].value_counts()
    assert 60 <= kinds["kindergarten"] <= 120 and 20 <= kinds["nursery"] <= 60
    hk = demo.health["kind"].value_counts()
    assert hk["mch_centre"] == 1
    assert hk["township_health_centre"] + hk["community_health_centre"] == 8
    assert 30 <= len(demo.parcels) <= 80
    assert demo.townships["population"].sum() == pytest.approx(400_000, rel=0.05)


def test_demo_layers_follow_their_schemas(demo):
    for name, schema in SCHEMAS.items():
        layer = demo.layer(name)
        assert layer.crs.to_epsg() == 4326, name
        assert set(schema.field_names) <= set(layer.columns), name
        assert set(layer.geometry.geom_type) <= set(schema.geometry), name
        assert layer.geometry.is_valid.all(), name
        if schema.id_field:
            assert layer[schema.id_field].is_unique, name
    assert set(demo.townships["kind"]) == {"street", "town"}
    assert set(demo.townships.loc[demo.townships["kind"] == "street", "name"]) == {"安东卫街道", "岚山头街道"}
    assert demo.compounds["township"].notna().all()


def test_demo_metric_crs_and_roads(demo):
    assert demo.crs.to_epsg() == 4549  # CGCS2000 3° Gauss-Krüger, central meridian 120°E
    assert demo.demo is True
    assert nx.is_strongly_connected(demo.roads)
    assert demo.roads.number_of_nodes() > 10_000


def test_demo_loads_with_no_warnings(demo):
    assert demo.problems == []
