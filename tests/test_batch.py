"""Tests of ``siting batch`` (siting.batch): many districts on a 2-worker dask LocalCluster.

One batch of four small districts runs once for the module (about a minute on 2 cores): two
tiny hand-made projects (tests/tiny.py), one synthetic district made by siting.demo inside a
25 × 17 km box, and one with a broken compounds file. District ``b``'s first attempt kills
its worker (the test-only hook ``SITING_BATCH_TEST_EXIT_ONCE``), so it only finishes through
the retry. Later tests rerun the batch to check resume.
"""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

pytest.importorskip("distributed")

from shapely.geometry import box, mapping  # noqa: E402

from siting import batch  # noqa: E402
from siting.errors import ConfigError  # noqa: E402
from tests.browser import browser_page  # noqa: E402,F401
from tests.tiny import write_tiny_project  # noqa: E402

SMALL_BOX = box(119.0, 35.55, 119.25, 35.70)
CSV = """id,name,config,outline,seed,population,townships
a,甲区,a/siting.toml,,,,
b,乙区,b/siting.toml,,,,
s,合成县,,small.geojson,5,120000,4
bad,坏区,bad/siting.toml,,,,
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    write_tiny_project(root / "a")
    write_tiny_project(root / "b")
    write_tiny_project(root / "bad")
    (root / "bad" / "compounds.geojson").write_text("this is not GeoJSON", encoding="utf-8")
    (root / "small.geojson").write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": mapping(SMALL_BOX)}),
                                        encoding="utf-8")
    (root / "districts.csv").write_text(CSV, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def first(root):
    """The first batch run; the worker running ``b`` dies on its first attempt."""
    marker = root / "b-killed.marker"
    mp = pytest.MonkeyPatch()
    mp.setenv(batch.TEST_EXIT_ENV, f"b={marker}")  # before the cluster starts: its workers inherit it
    try:
        result = batch.run_batch(root / "districts.csv", root / "out", workers=2, retries=1, lang="en")
    finally:
        mp.undo()
    return result


def _status(result) -> dict:
    return dict(zip(result.summary["id"], result.summary["status"]))


def _mtimes(root, ids) -> dict:
    return {i: (root / "out" / i / batch.MANIFEST).stat().st_mtime_ns for i in ids}


def test_failure_is_isolated_and_reported(first):
    assert _status(first) == {"a": "ok", "b": "ok", "s": "ok", "bad": "failed"}
    bad = first.summary.set_index("id").loc["bad"]
    assert "compounds.geojson" in bad["error"]
    assert not (first.out_dir / "bad" / batch.MANIFEST).exists()
    csv = pd.read_csv(first.out_dir / "summary.csv", encoding="utf-8-sig")
    assert list(csv.columns[:3]) == ["ID", "District", "Status"]
    assert dict(zip(csv["ID"], csv["Status"]))["bad"] == "failed"
    assert "compounds.geojson" in csv.set_index("ID").loc["bad", "Error"]
    assert pd.read_excel(first.out_dir / "summary.xlsx").shape[0] == 4


def test_killed_worker_is_recovered_by_retry(root, first):
    marker = root / "b-killed.marker"
    assert marker.exists(), "the test hook did not fire"
    b = first.summary.set_index("id").loc["b"]
    assert b["status"] == "ok"
    assert int(b["pid"]) != int(marker.read_text()), "the retry ran in a fresh worker process"


def test_district_outputs_summary_and_manifest(first):
    s = first.summary.set_index("id")
    for did in ("a", "b", "s"):
        ddir = first.out_dir / did
        m = json.loads((ddir / batch.MANIFEST).read_text(encoding="utf-8"))
        assert m["outputs"], did
        for rel in m["outputs"]:
            assert (ddir / rel).is_file(), (did, rel)
        assert any(rel.endswith(".html") for rel in m["outputs"])
        assert batch.is_complete(ddir, batch.input_hashes(next(d for d in batch.read_districts(
            first.out_dir.parent / "districts.csv") if d.id == did)))
    a = s.loc["a"]
    assert a["population"] == 8000 and a["places_per_1000"] > 0 and a["sites"] >= 0
    assert a["covered"] + a["under_served"] + a["no_facility"] == 4  # the tiny project's 4 compounds and villages
    assert s.loc["s", "synthetic"] and s.loc["s", "population"] > 100_000
    assert (first.out_dir / "_inputs" / "s" / "siting.toml").exists()
    assert s.loc["a", "peak_rss_mb"] > 0


def test_index_pages(first):
    from siting.maps.offline import external_urls

    page = (first.out_dir / "index.html").read_text(encoding="utf-8")
    for h in first.summary.set_index("id").loc["a", "html"]:
        assert f"href='{h}'" in page
        assert (first.out_dir / h).exists()
    assert "index_map.html" in page
    m = (first.out_dir / "index_map.html").read_text(encoding="utf-8")
    assert "甲区" in m and "合成县" in m
    assert not external_urls(m)


def test_index_map_opens_offline(first, browser_page):  # noqa: F811
    with browser_page(first.out_dir / "index_map.html", wait_for="window.L !== undefined") as page:
        assert not page.requests and not page.page_errors and not page.console_errors
        assert page.page.locator("path.leaflet-interactive").count() == 3  # a, b and s; "bad" has no outline


def test_resume_skips_finished_and_reruns_changed(root, first):
    before = _mtimes(root, ("a", "b", "s"))
    again = batch.run_batch(root / "districts.csv", root / "out", workers=2, retries=0, lang="en")
    assert _status(again) == {"a": "skipped", "b": "skipped", "s": "skipped", "bad": "failed"}
    assert _mtimes(root, ("a", "b", "s")) == before
    assert again.summary.set_index("id").loc["a", "places_per_1000"] == first.summary.set_index("id").loc["a", "places_per_1000"]

    # An input changes (a), an output is altered (b): only those two run again.
    with open(root / "a" / "childcare.csv", "a", encoding="utf-8") as fh:
        fh.write("N9,新开托育园,托育机构,60,4,是,是,是,119.2050,35.1150\n")
    (root / "out" / "b" / "audit_townships.csv").write_text("tampered", encoding="utf-8")
    third = batch.run_batch(root / "districts.csv", root / "out", workers=2, retries=0, lang="en")
    assert _status(third) == {"a": "ok", "b": "ok", "s": "skipped", "bad": "failed"}
    after = _mtimes(root, ("a", "b", "s"))
    assert after["s"] == before["s"] and after["a"] != before["a"] and after["b"] != before["b"]
    assert third.summary.set_index("id").loc["a", "places_inside"] > first.summary.set_index("id").loc["a", "places_inside"]


def test_read_districts_reports_every_bad_row(tmp_path):
    (tmp_path / "d.csv").write_text(
        "id,name,config,outline,seed,population\n"
        "ok,好,x.toml,,,\n"
        "ok,重复,y.toml,,,\n"
        "bad id,空格,z.toml,,,\n"
        "two,两种,x.toml,o.geojson,1,100\n"
        "nopop,无人口,,o.geojson,1,\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        batch.read_districts(tmp_path / "d.csv")
    text = str(err.value)
    for row in ("row 3", "row 4", "row 5", "row 6"):
        assert row in text
    assert "第 3 行" in err.value.message("zh")


def test_chinese_summary_headers():
    df = pd.DataFrame([{c: None for c in batch.SUMMARY_COLUMNS} | {"id": "a", "name": "甲", "status": "skipped"}])
    out = batch.localise_summary(df, "zh")
    assert list(out.columns[:3]) == ["编号", "区县", "状态"]
    assert out["状态"].iloc[0] == "已是最新（跳过）"


def test_osm_rows_need_project_from_osm(tmp_path, monkeypatch):
    import sys

    (tmp_path / "x.osm").write_text("<osm/>", encoding="utf-8")
    d = batch.District("x", "X", "osm", osm=tmp_path / "x.osm")
    monkeypatch.setitem(sys.modules, "siting.osm", None)  # as if the module were not installed
    with pytest.raises(ConfigError, match="not supported"):
        batch._prepare(d, tmp_path)
    assert os.environ.get(batch.TEST_EXIT_ENV) is None


def test_cli_on_an_existing_scheduler(tmp_path):
    from distributed import LocalCluster

    from siting.cli import main

    write_tiny_project(tmp_path / "one")
    (tmp_path / "one.csv").write_text("id,name,config\none,一区,one/siting.toml\n", encoding="utf-8")
    (tmp_path / "tinybox.geojson").write_text(json.dumps(mapping(box(119.0, 35.5, 119.01, 35.51))), encoding="utf-8")
    (tmp_path / "two.csv").write_text("id,name,outline,seed,population\nx,太小,tinybox.geojson,1,1000\n", encoding="utf-8")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        addr = cluster.scheduler_address
        assert main(["--lang", "en", "batch", str(tmp_path / "one.csv"), "--out", str(tmp_path / "out"),
                     "--scheduler", addr]) == 0
        assert (tmp_path / "out" / "one" / batch.MANIFEST).exists()
        # A synthetic district whose outline is too small fails at once (no retry), with the reason.
        assert main(["--lang", "en", "batch", str(tmp_path / "two.csv"), "--out", str(tmp_path / "out2"),
                     "--scheduler", addr]) == 1
    csv = pd.read_csv(tmp_path / "out2" / "summary.csv", encoding="utf-8-sig")
    assert csv.loc[0, "Status"] == "failed" and "cannot generate" in csv.loc[0, "Error"]
