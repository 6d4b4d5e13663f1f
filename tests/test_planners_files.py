"""Issue 17: planners' files as they really are. Each fault of the issue has its exact file, built here,
and a test that failed before the fix; every fix a message prints is applied and the file then loads.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from siting import load_project
from siting.errors import DataError
from tests.tiny import CHILDCARE_HEADER, CHILDCARE_ROWS


def _layer_keys(cfg: Path, layer: str, *lines: str) -> None:
    """Add TOML ``lines`` under [layers.LAYER] (right after its path)."""
    text = cfg.read_text(encoding="utf-8")
    head = f"[layers.{layer}]\npath = "
    end = text.index("\n", text.index(head) + len(head))
    cfg.write_text(text[:end] + "".join("\n" + x for x in lines) + text[end:], encoding="utf-8")


def _townships(cfg: Path) -> pd.DataFrame:
    from siting.audit import audit

    return audit(load_project(cfg)).townships


# ---------------------------------------------------------------------------------------- 1. points outside the district

BEIJING = [(116.3975, 39.9087), (116.4074, 39.9042)]


def _childcare_with(cfg: Path, extra: list[tuple[float, float]], without: str = "N1") -> Path:
    """The tiny childcare list without ``without`` (乙镇's only nursery, so 乙镇 has 0 places) plus
    nurseries at ``extra`` with no township: as in the issue, where they were given the nearest one."""
    rows = [r for r in CHILDCARE_ROWS if not r.startswith(without + ",")]
    rows += [f"X{k},远方托育园{k},托育机构,20,1,是,是,是,{lon},{lat}" for k, (lon, lat) in enumerate(extra, 1)]
    path = cfg.parent / "childcare.csv"
    path.write_text("\n".join([CHILDCARE_HEADER, *rows]) + "\n", encoding="utf-8-sig")
    return path


def test_beijing_points_are_an_error_naming_file_row_id_name_and_distance(tiny_config):
    path = _childcare_with(tiny_config, BEIJING)
    with pytest.raises(DataError) as info:
        load_project(tiny_config, roads=False)
    errors = [p for p in info.value.problems if p.severity == "error"]
    assert [(p.file, p.row, p.id, p.name) for p in errors] == [(str(path), 4, "X1", "远方托育园1"), (str(path), 5, "X2", "远方托育园2")]
    text = str(info.value)
    assert f"ERROR {path}, row 4, id X1 (远方托育园1): lies 586," in text and " m outside the district boundary" in text
    assert "第 4 行，编号 X1（远方托育园1）：位于行政区边界外 586," in info.value.zh


def test_points_outside_can_never_change_a_townships_figures(tiny_config):
    _childcare_with(tiny_config, [])
    before = _townships(tiny_config)
    town = before.set_index("township").loc["乙镇"]
    assert town["places_inside"] == 0 and not town["meets_target"]  # 乙镇 has no childcare: the verdict at stake
    _childcare_with(tiny_config, BEIJING)
    _layer_keys(tiny_config, "childcare", 'outside = "drop"')
    p = load_project(tiny_config, roads=False)
    assert list(p.childcare["id"]) == ["K1", "N2"]
    dropped = [x for x in p.problems if x.layer == "childcare" and "left out" in x.en]
    assert [(x.row, x.id, x.name) for x in dropped] == [(4, "X1", "远方托育园1"), (5, "X2", "远方托育园2")]
    pd.testing.assert_frame_equal(_townships(tiny_config), before)
    # "keep" is the planner's explicit choice: the Beijing nurseries then count, in the nearest township
    text = tiny_config.read_text(encoding="utf-8").replace('outside = "drop"', 'outside = "keep"')
    tiny_config.write_text(text, encoding="utf-8")
    kept = _townships(tiny_config).set_index("township")
    assert kept.loc["全区合计", "places_inside"] == before.set_index("township").loc["全区合计", "places_inside"] + 40


@pytest.mark.parametrize("where", [(119.2300, 35.1080), (35.1080, 119.2160), (121.0, 31.2), (-0.1276, 51.5072)],
                         ids=["900m-east", "swapped", "shanghai", "london"])
def test_dropped_points_anywhere_leave_every_township_unchanged(tiny_config, where):
    _childcare_with(tiny_config, [])
    before = _townships(tiny_config)
    _childcare_with(tiny_config, [where])
    with pytest.raises(DataError, match="outside the district boundary"):
        load_project(tiny_config, roads=False)
    _layer_keys(tiny_config, "childcare", 'outside = "drop"')
    pd.testing.assert_frame_equal(_townships(tiny_config), before)


def test_outside_takes_only_error_drop_or_keep(tiny_config):
    from siting.errors import ConfigError

    _layer_keys(tiny_config, "childcare", 'outside = "ignore"')
    with pytest.raises(ConfigError, match="'layers.childcare.outside' must be one of error, drop, keep, got 'ignore'"):
        load_project(tiny_config, roads=False)


def test_dropped_points_are_listed_in_the_outputs(tiny_config):
    from siting.pipeline import run

    _childcare_with(tiny_config, BEIJING[:1])
    _layer_keys(tiny_config, "childcare", 'outside = "drop"')
    out = tiny_config.parent / "out"
    result = run(tiny_config, out, lang="en", stages=("audit",), progress=False)
    notes = pd.read_csv(result.outputs["input_notes_csv"], encoding="utf-8-sig", dtype=str)
    row = notes[notes["id"] == "X1"].iloc[0]
    assert (row["layer"], row["row"], row["name"]) == ("childcare", "4", "远方托育园1")
    assert row["message"].startswith("lies 586,") and row["message"].endswith('left out (outside = "drop")')
    assert set(pd.read_csv(out / "audit_childcare.csv", dtype=str)["ID"]) == {"K1", "N2"}
