import datetime as dt

import pytest

from siting.config import load_config
from siting.errors import ConfigError


def test_defaults_carry_plan_values_and_sources():
    c = load_config()
    assert c["policy.places_per_1000"] == 4.72
    assert c["policy.plan_date"] == dt.date(2024, 4, 17)
    assert c["policy.remediation_years"] == 3
    assert c["policy.guidance_teachers_per_10000"] == 1.0
    assert c["standards.class_size_senior"] == 20
    assert "岚政办字〔2024〕5号" in c.source("policy.places_per_1000")
    assert "(seed)" in c.source("policy.places_per_1000")
    assert "(secondary)" in c.source("standards.class_size_infant")


def test_every_default_names_its_source():
    c = load_config()
    tags = ("(seed)", "(verified)", "(secondary)", "(derived", "(unverified)")
    for section in ("policy", "demand", "supply", "standards", "catchment"):
        for key in c.params[section]:
            src = c.source(f"{section}.{key}")
            if key.endswith(("_network", "_weight")) or key in ("method", "plan_id"):
                continue  # choices, not figures
            assert any(tag in src for tag in tags), f"{section}.{key} does not state its source status: {src!r}"


def test_deadline_is_plan_date_plus_three_years():
    assert load_config().deadline() == dt.date(2027, 4, 17)


def test_deadline_from_leap_day_falls_to_28_february():
    c = load_config(overrides={"policy.plan_date": "2024-02-29", "policy.remediation_years": 3})
    assert c.deadline() == dt.date(2027, 2, 28)


def test_file_overrides_defaults(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text('[policy]\nplaces_per_1000 = 6\n[analysis]\nas_of = "2026-01-01"\n', encoding="utf-8")
    c = load_config(p)
    assert c["policy.places_per_1000"] == 6.0 and isinstance(c["policy.places_per_1000"], float)
    assert c.as_of() == dt.date(2026, 1, 1)
    assert c["policy.remediation_years"] == 3  # untouched default


def test_overrides_argument_wins_over_file(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text("[policy]\nplaces_per_1000 = 6\n", encoding="utf-8")
    assert load_config(p, {"policy.places_per_1000": 5.5})["policy.places_per_1000"] == 5.5


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("[policy]\nplaces_per_100 = 5\n", "unknown config key 'policy.places_per_100'. Did you mean 'places_per_1000'?"),
        ("[polcy]\nplaces_per_1000 = 5\n", "unknown section [polcy]. Did you mean 'policy'?"),
        ('[policy]\nplaces_per_1000 = "many"\n', "'policy.places_per_1000' must be float"),
        ("[policy]\nplaces_per_1000 = -1\n", "'policy.places_per_1000' must be greater than 0, got -1"),
        ("[demand]\ntake_up = 1.5\n", "'demand.take_up' is a share and must be in (0, 1], got 1.5"),
        ('[demand]\nmethod = "guess"\n', "'demand.method' must be one of ratio, cohort, got 'guess'"),
        ('[policy]\nplan_date = "2024-13-01"\n', "'policy.plan_date' must be date"),
        ('[layers.nurseries]\npath = "x.csv"\n', "unknown layer [layers.nurseries]"),
        ('[layers.childcare]\npath = "x.csv"\ncolumns = {"托位数" = "seats"}\n',
         "layers.childcare.columns maps '托位数' to unknown field 'seats'"),
        ('[layers.childcare]\ncolumns = {}\n', "[layers.childcare] needs path"),
        ("[policy\n", "invalid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path, text, fragment):
    p = tmp_path / "bad.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(p)
    assert fragment in str(err.value)
    assert str(p) in str(err.value)
    assert err.value.zh != err.value.en  # a Chinese message exists too


def test_as_of_rejects_garbage():
    c = load_config(overrides={"analysis.as_of": "soon"})
    with pytest.raises(ConfigError, match="analysis.as_of = 'soon' is not a date"):
        c.as_of()


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
