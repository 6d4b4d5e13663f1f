"""Many districts at once: every row of a CSV runs the whole pipeline as one task on dask.distributed.

``siting batch DISTRICTS.csv --out DIR`` (or :func:`run_batch`) reads the districts, skips the
ones whose outputs are complete and up to date, runs the others on a ``LocalCluster`` (one
process per core, one thread each) or on an existing scheduler, and writes

- ``DIR/<id>/``: the district's outputs, exactly as ``siting run`` writes them, and
  ``manifest.json`` (written last, atomically): SHA-256 of every input and output file;
- ``DIR/summary.csv``, ``DIR/summary.xlsx``: one row per district (Chinese headers, or English);
- ``DIR/index_map.html``: every district's outline coloured by places per 1,000 (offline);
- ``DIR/index.html``: links to each district's maps.

The districts CSV (UTF-8, paths relative to the CSV) has the columns

``id``
    Folder name of the district's outputs (letters, digits, ``_ . -``); unique.
``name``
    Display name.
``config``
    A project TOML, as for ``siting run --config``; or
``osm``
    An ``.osm`` / ``.osm.pbf`` extract alone (needs :func:`siting.osm.project_from_osm`); or
``outline``, ``seed``, ``population`` [, ``townships``, ``adcode``, ``outline_crs``]
    A synthetic district made by :mod:`siting.demo` inside the outline (GeoJSON, WGS84 unless
    ``outline_crs`` is ``GCJ-02``), generated on first use into ``DIR/_inputs/<id>/``.

A district is failed, not fatal: a :class:`~siting.errors.SitingError` (bad data, infeasible
model) is reported in the chosen language at once; other exceptions are retried ``retries``
times by dask, and a worker that dies mid-task is replaced and the task rescheduled up to
``retries`` times (``distributed.scheduler.allowed-failures`` of the local cluster).

Test hook (tests only): with ``SITING_BATCH_TEST_EXIT_ONCE="<id>=<marker file>"`` in the workers'
environment, the task of district ``<id>`` kills its worker process (``os._exit``) the first time,
leaving the marker file, so that the retry path can be tested.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import json
import logging
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import escape
from .errors import ConfigError, DataError, SitingError
from .output import write_text
from .tables import COLUMNS

__all__ = ["District", "BatchResult", "read_districts", "input_hashes", "is_complete", "run_district", "run_batch",
           "SUMMARY_COLUMNS"]

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
INPUTS_DIR = "_inputs"
TEST_EXIT_ENV = "SITING_BATCH_TEST_EXIT_ONCE"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_GENERATOR_VERSION = 1  # bump when siting.demo's output for the same parameters changes

# summary column → (Chinese, English); the audit's own header wherever the column means the same
SUMMARY_COLUMNS: dict[str, tuple[str, str]] = {
    "id": COLUMNS["id"],
    "name": ("区县", "District"),
    "status": COLUMNS["status"],
    "population": ("常住人口", "Population"),
    **{k: COLUMNS[k] for k in ("places_required", "places_in_reach", "places_inside", "places_per_1000",
                               "target_per_1000", "gap", "flagged_compounds")},
    "covered": ("已覆盖小区数", "Compounds covered"),
    "under_served": ("托位不足小区数", "Compounds under-served"),
    "no_facility": ("服务范围内无设施小区数", "Compounds with no facility"),
    "overdue": ("逾期未整改小区数", "Overdue remediations"),
    "sites": ("建议新增设施数", "Proposed sites"),
    "cost": COLUMNS["cost"],
    "net_cost": COLUMNS["net_cost"],
    "synthetic": ("合成数据", "Synthetic data"),
    "error": ("失败原因", "Error"),
    "runtime_s": ("运行时间（秒）", "Runtime (s)"),
    "peak_rss_mb": ("工作进程峰值内存（MB）", "Worker peak memory (MB)"),
}
_STATUS = {"ok": ("完成", "ok"), "failed": ("失败", "failed"), "skipped": ("已是最新（跳过）", "skipped")}
_NUMBERS = ("population", "places_required", "places_in_reach", "places_inside", "places_per_1000", "gap",
            "flagged_compounds", "covered", "under_served", "no_facility", "overdue", "sites", "cost", "net_cost")


# --------------------------------------------------------------------------- the districts file


@dataclass(frozen=True)
class District:
    """One row of the districts CSV, its paths resolved against the CSV's folder."""

    id: str
    name: str
    kind: str  # "config", "osm" or "synthetic"
    config: Path | None = None
    osm: Path | None = None
    outline: Path | None = None
    outline_crs: str = "WGS84"
    seed: int | None = None
    population: int | None = None
    townships: int | None = None
    adcode: str = ""

    def generator_params(self) -> dict:
        """What a synthetic district is made from (its input "file" for the manifest)."""
        return {"generator": "siting.demo", "version": _GENERATOR_VERSION, "name": self.name, "seed": self.seed,
                "population": self.population, "townships": self.townships, "adcode": self.adcode,
                "outline_crs": self.outline_crs,
                "outline_sha256": _sha256(self.outline) if self.outline and self.outline.exists() else None}


def _problem(row: int, en: str, zh: str) -> tuple[str, str]:
    return f"row {row}: {en}", f"第 {row} 行：{zh}"


def read_districts(path: str | Path) -> list[District]:
    """Read and check the districts CSV; every problem is reported at once.

    Raises
    ------
    ConfigError
        Naming each bad row, the column and the fix.
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"districts file not found: {path}", f"找不到区县列表文件：{path}")
    base = path.parent
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    problems: list[tuple[str, str]] = []
    out: list[District] = []
    seen: set[str] = set()
    for k, raw in enumerate(rows, start=2):  # row 1 is the header
        row = {(key or "").strip().lower(): (val or "").strip() for key, val in raw.items()}
        if not any(row.values()):
            continue
        did, name = row.get("id", ""), row.get("name", "") or row.get("id", "")
        if not _ID.match(did):
            problems.append(_problem(k, f"id '{did}' must be 1-64 letters, digits, '_', '.' or '-'",
                                     f"编号“{did}”须为 1–64 个字母、数字、“_”“.”或“-”"))
            continue
        if did in seen:
            problems.append(_problem(k, f"id '{did}' appears twice", f"编号“{did}”重复"))
            continue
        seen.add(did)
        given = [c for c in ("config", "osm", "outline") if row.get(c)]
        if len(given) != 1:
            problems.append(_problem(k, "give exactly one of config, osm or outline (+ seed, population)",
                                     "config、osm、outline（及 seed、population）须且只能填写一种"))
            continue
        try:
            if given == ["config"]:
                out.append(District(did, name, "config", config=base / row["config"]))
            elif given == ["osm"]:
                out.append(District(did, name, "osm", osm=base / row["osm"]))
            else:
                crs = (row.get("outline_crs") or "WGS84").upper().replace("_", "-")
                if crs not in ("WGS84", "GCJ-02"):
                    raise ValueError(f"outline_crs must be WGS84 or GCJ-02, not {crs}")
                out.append(District(did, name, "synthetic", outline=base / row["outline"], outline_crs=crs,
                                    seed=int(row.get("seed") or 0), population=int(float(row["population"])),
                                    townships=int(row["townships"]) if row.get("townships") else None,
                                    adcode=row.get("adcode", "")))
        except (KeyError, ValueError) as exc:
            problems.append(_problem(k, f"synthetic district needs an integer seed and population ({exc})",
                                     f"合成区县须填写整数 seed 与 population（{exc}）"))
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(p[0] for p in problems), f"{path}：" + "；".join(p[1] for p in problems))
    if not out:
        raise ConfigError(f"{path} lists no districts", f"{path} 中没有区县")
    return out


# --------------------------------------------------------------------------- manifest


def _sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_SIDECARS = (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


def input_hashes(d: District) -> dict[str, str]:
    """SHA-256 of every input: the config, each layer file it names (with shapefile sidecars) and the roads.

    Synthetic districts hash their generator parameters (which include the outline's hash).

    Raises
    ------
    SitingError
        When the config cannot be read (the district will then run, and fail, in its task).
    """
    if d.kind == "synthetic":
        text = json.dumps(d.generator_params(), sort_keys=True, ensure_ascii=False)
        return {"generator": hashlib.sha256(text.encode("utf-8")).hexdigest()}
    if d.kind == "osm":
        if not d.osm.exists():
            raise ConfigError(f"OSM file not found: {d.osm}", f"找不到 OSM 文件：{d.osm}")
        return {str(d.osm): _sha256(d.osm)}
    from .config import load_config

    config = load_config(d.config)
    files = [Path(d.config)]
    for spec in config.layers.values():
        p = Path(spec.path)
        files.append(p)
        if p.suffix.lower() == ".shp":
            files += [p.with_suffix(s) for s in _SIDECARS if p.with_suffix(s).exists()]
    out = {}
    for p in files:
        if not p.exists():
            raise ConfigError(f"input file not found: {p}", f"找不到输入文件：{p}")
        out[os.path.relpath(p.resolve(), Path(d.config).resolve().parent)] = _sha256(p)
    return out


def read_manifest(district_dir: Path) -> dict | None:
    try:
        return json.loads((Path(district_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_complete(district_dir: str | Path, inputs: dict[str, str] | None, lang: str | None = None) -> bool:
    """Whether the district's outputs are complete and were made from exactly these inputs.

    True when ``manifest.json`` exists, lists the same input hashes (and, if given, the same
    output language), and every output it lists exists with the hash it recorded.
    """
    district_dir = Path(district_dir)
    m = read_manifest(district_dir)
    if m is None or inputs is None or m.get("inputs") != inputs or not m.get("outputs"):
        return False
    if lang is not None and m.get("lang") != lang:
        return False
    for rel, digest in m["outputs"].items():
        p = district_dir / rel
        if not p.is_file() or _sha256(p) != digest:
            return False
    return True


# --------------------------------------------------------------------------- the task


def _test_exit_hook(did: str) -> None:
    """Tests only: kill this worker once for district ``did`` (see the module docstring)."""
    spec = os.environ.get(TEST_EXIT_ENV, "")
    target, _, marker = spec.partition("=")
    if target and target == did and marker and not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
        os._exit(70)


def _synthetic_config(d: District, inputs_dir: Path) -> Path:
    """Generate the synthetic district into ``inputs_dir`` unless it is there already; its config path."""
    from . import demo
    from .project import DEMO_CONFIG

    params = d.generator_params()
    stamp = inputs_dir / "generator.json"
    config = inputs_dir / "siting.toml"
    try:
        cached = json.loads(stamp.read_text(encoding="utf-8")) == params and config.exists()
    except (OSError, ValueError):
        cached = False
    if cached:
        return config
    if not d.outline.exists():
        raise ConfigError(f"outline not found: {d.outline}", f"找不到行政区轮廓：{d.outline}")
    stamp.unlink(missing_ok=True)
    outline = _read_outline(d.outline, d.outline_crs)
    short = d.name.removeprefix("日照市")
    try:
        demo.generate(inputs_dir, seed=int(d.seed), outline=outline, name=short, population=int(d.population),
                      townships=d.townships, adcode=d.adcode)
    except (ValueError, RuntimeError) as exc:  # the same parameters would fail again: no retry
        raise DataError(f"cannot generate the synthetic district inside {d.outline}: {exc}",
                        f"无法在 {d.outline} 内生成合成区县：{exc}") from None
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^name = ".*"$', f'name = "{d.name}（演示）"', text, count=1)
    text = re.sub(r'(?m)^district = ".*"$', f'district = "{d.name}"', text, count=1)
    text = text.replace("# The outline is the real Lanshan District boundary", f"# The outline is the real {d.name} boundary")
    write_text(config, text)
    write_text(stamp, json.dumps(params, ensure_ascii=False, sort_keys=True, indent=1))
    return config


def _read_outline(path: Path, crs: str):
    """A district outline as a WGS84 shapely geometry (GeoJSON geometry, Feature or FeatureCollection)."""
    import shapely

    from .crs import convert_geometry, gcj02_to_wgs84
    from .load import geometry_from_geojson

    try:
        geom = geometry_from_geojson(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"cannot read outline {path}: {exc}", f"无法读取行政区轮廓 {path}：{exc}") from None
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        raise ConfigError(f"outline {path} is not a polygon", f"行政区轮廓 {path} 不是面要素")
    if crs == "GCJ-02":
        geom = convert_geometry(geom, gcj02_to_wgs84, decimals=6)
    return geom if geom.is_valid else shapely.make_valid(geom)


def _prepare(d: District, out_dir: Path) -> Path:
    """The project config of a district, generating or converting its inputs when needed."""
    inputs_dir = out_dir / INPUTS_DIR / d.id
    if d.kind == "config":
        return d.config
    if d.kind == "synthetic":
        return _synthetic_config(d, inputs_dir)
    try:
        from .osm import project_from_osm
    except ImportError:
        raise ConfigError("rows with 'osm' are not supported by this installation (no siting.osm.project_from_osm)",
                          "当前安装不支持“osm”行（缺少 siting.osm.project_from_osm）") from None
    if not d.osm.exists():
        raise ConfigError(f"OSM file not found: {d.osm}", f"找不到 OSM 文件：{d.osm}")
    return Path(project_from_osm(d.osm, inputs_dir))


def _outline_geojson(boundary) -> dict | None:
    """The district outline, simplified (~50 m) and rounded, small enough to travel in a summary."""
    import shapely
    from shapely.geometry import mapping

    if boundary is None or len(boundary) == 0:
        return None
    geom = shapely.set_precision(boundary.geometry.union_all().simplify(0.0005), 1e-5)
    return mapping(geom) if not geom.is_empty else None


def summarise(result) -> dict:
    """The small, JSON-able summary of one district's :class:`~siting.pipeline.RunResult`."""
    tw = result.audit.townships
    total = tw[tw["kind"] == "district"].iloc[-1]
    comp = result.audit.compounds
    flags = comp["flag"].value_counts()
    sites = result.optimize.sites if result.optimize is not None else None

    def num(v, nd=None):
        if v is None or (isinstance(v, float) and math.isnan(v)) or pd.isna(v):
            return None
        return round(float(v), nd) if nd is not None else int(round(float(v)))

    config = result.project.config
    return {
        "population": num(total["population"]),
        "places_required": num(total["places_required"], 1),
        "places_in_reach": num(total["places_in_reach"], 1),
        "places_inside": num(total["places_inside"], 1),
        "places_per_1000": num(total["places_per_1000"], 2),
        "target_per_1000": float(config["policy.places_per_1000"]),
        "gap": num(total["gap"], 1),
        "flagged_compounds": num(total["flagged_compounds"]),
        "covered": int(flags.get("covered", 0)),
        "under_served": int(flags.get("under_served", 0)),
        "no_facility": int(flags.get("no_facility", 0)),
        "overdue": int((comp["compliance"] == "overdue").sum()),
        "sites": int(len(sites)) if sites is not None else None,
        "cost": num(sites["cost"].sum()) if sites is not None else None,
        "net_cost": num(sites["net_cost"].sum()) if sites is not None else None,
        "synthetic": bool(result.project.demo),
        "outline": _outline_geojson(result.project.boundary),
    }


def _peak_rss_mb() -> float | None:
    try:
        import resource

        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux
    except (ImportError, OSError):
        return None


def run_district(d: District, out_dir: str | Path, lang: str = "zh", inputs: dict | None = None) -> dict:
    """Run one district's whole pipeline into ``out_dir/<id>/`` and write its manifest last.

    This is the dask task. A :class:`SitingError` is caught and returned as a failed summary
    (retrying cannot fix bad data); any other exception propagates so that dask retries it.

    Returns
    -------
    dict
        ``id``, ``name``, ``status`` ("ok" or "failed"), the figures of :func:`summarise`,
        ``error``, ``runtime_s``, ``peak_rss_mb`` (this worker process's peak so far) and
        ``html`` (the district's ``.html`` outputs, relative to ``out_dir``).
    """
    from .pipeline import run

    _test_exit_hook(d.id)
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    ddir = out_dir / d.id
    (ddir / MANIFEST).unlink(missing_ok=True)  # from now on the district is incomplete
    base = {"id": d.id, "name": d.name, "pid": os.getpid()}
    try:
        config = _prepare(d, out_dir)
        result = run(config, ddir, lang=lang, progress=False)
        summary = summarise(result)
    except SitingError as exc:
        return {**base, "status": "failed", "error": exc.message(lang), "runtime_s": round(time.perf_counter() - t0, 1),
                "peak_rss_mb": _peak_rss_mb()}
    outputs = {}
    for path in result.outputs.values():
        rel = Path(os.path.relpath(Path(path).resolve(), ddir.resolve())).as_posix()
        outputs[rel] = _sha256(path)
    summary.update(base, status="ok", error="", runtime_s=round(time.perf_counter() - t0, 1), peak_rss_mb=_peak_rss_mb(),
                   html=sorted(f"{d.id}/{rel}" for rel in outputs if rel.endswith(".html")))
    if inputs is None:
        inputs = input_hashes(d)
    manifest = {"id": d.id, "name": d.name, "lang": lang, "finished": dt.datetime.now().isoformat(timespec="seconds"),
                "inputs": inputs, "outputs": outputs, "summary": summary}
    write_text(ddir / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True))
    return summary


# --------------------------------------------------------------------------- the driver


@dataclass
class BatchResult:
    """What :func:`run_batch` did: one summary row per district (codes, not labels) and the files written."""

    out_dir: Path
    summary: pd.DataFrame
    outputs: dict[str, Path] = field(default_factory=dict)

    @property
    def failed(self) -> pd.DataFrame:
        return self.summary[self.summary["status"] == "failed"]


@contextlib.contextmanager
def _client(scheduler: str | None, workers: int | None, retries: int):
    """A dask client: on ``scheduler`` if given, else on a LocalCluster of processes (1 thread each)."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    n = workers or os.cpu_count() or 1
    for name in ("distributed", "distributed.scheduler", "distributed.core"):  # quiet unless asked for
        if logging.getLogger().getEffectiveLevel() >= logging.WARNING:
            logging.getLogger(name).setLevel(logging.WARNING)
    # A worker that dies mid-task (killed, out of memory) makes its task "suspicious"; allow
    # `retries` such deaths before the task is reported as failed (KilledWorker).
    with dask.config.set({"distributed.scheduler.allowed-failures": retries}):
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def _failure_reason(exc: BaseException, lang: str) -> str:
    if isinstance(exc, SitingError):
        return exc.message(lang)
    name = type(exc).__name__
    if name == "KilledWorker":
        return ("工作进程在运行中意外退出（已重试）：" if lang == "zh" else "the worker died while running it (retried): ") + str(exc)
    return f"{name}: {exc}"


def run_batch(districts_csv: str | Path, out_dir: str | Path, *, scheduler: str | None = None, workers: int | None = None,
              retries: int = 2, lang: str = "zh", force: bool = False, log=None) -> BatchResult:
    """Run every district of ``districts_csv`` and write the combined summary, index map and index page.

    Parameters
    ----------
    districts_csv : path
        The districts file (see the module docstring).
    out_dir : path
        Output folder: ``<id>/`` per district, ``summary.csv``, ``summary.xlsx``, ``index_map.html``, ``index.html``.
    scheduler : str, optional
        Address of a running dask scheduler (``tcp://host:8786``); default a new LocalCluster.
    workers : int, optional
        LocalCluster worker processes (default: the number of cores).
    retries : int, default 2
        How many times a task that raised (other than a SitingError) or whose worker died is retried.
    lang : {"zh", "en"}
    force : bool
        Rerun districts whose outputs are complete.
    log : callable, optional
        Receives one progress line per district.
    """
    from distributed import as_completed

    log = log or (lambda msg: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    districts = read_districts(districts_csv)
    rows: dict[str, dict] = {}
    todo: list[tuple[District, dict | None]] = []
    for d in districts:
        try:
            inputs = input_hashes(d)
        except SitingError:
            inputs = None  # the task will fail on it and say why
        if not force and is_complete(out / d.id, inputs, lang):
            rows[d.id] = {**read_manifest(out / d.id)["summary"], "status": "skipped"}
            log(_line(rows[d.id], len(rows), len(districts), lang))
        else:
            todo.append((d, inputs))
    if todo:
        with _client(scheduler, workers, retries) as client:
            futures = {}
            for d, inputs in todo:
                fut = client.submit(run_district, d, str(out.resolve()), lang, inputs, key=f"district-{d.id}",
                                    retries=retries, pure=False)
                futures[fut] = d
            for fut in as_completed(futures):
                d = futures[fut]
                if fut.status == "finished":
                    row = fut.result()
                else:
                    exc = fut.exception()
                    row = {"id": d.id, "name": d.name, "status": "failed", "error": _failure_reason(exc, lang)}
                rows[d.id] = row
                log(_line(row, len(rows), len(districts), lang))
                fut.release()
    summary = pd.DataFrame([{**{c: None for c in SUMMARY_COLUMNS}, **rows[d.id], "name": d.name} for d in districts])
    result = BatchResult(out, summary)
    result.outputs.update(write_summary(summary, out, lang))
    result.outputs["index_map"] = write_index_map(summary, out / "index_map.html", lang)
    result.outputs["index"] = write_index(summary, out / "index.html", lang)
    return result


def _line(row: dict, k: int, n: int, lang: str) -> str:
    status = _STATUS[row["status"]][0 if lang == "zh" else 1]
    extra = f" — {row['error']}" if row.get("error") else ""
    took = f" ({row['runtime_s']:.0f} s)" if row.get("runtime_s") is not None and row["status"] == "ok" else ""
    return f"[{k}/{n}] {row['id']} {row['name']}: {status}{took}{extra}"


# --------------------------------------------------------------------------- combined outputs


def localise_summary(summary: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """The summary for people: headers and statuses in Chinese (or English), no outlines."""
    df = summary[[c for c in SUMMARY_COLUMNS if c in summary.columns]].copy()
    idx = 0 if lang == "zh" else 1
    df["status"] = df["status"].map(lambda s: _STATUS.get(s, (s, s))[idx])
    yes_no = ("是", "否") if lang == "zh" else ("yes", "no")
    df["synthetic"] = df["synthetic"].map(lambda v: "" if v is None or pd.isna(v) else yes_no[0 if v else 1])
    df["error"] = df["error"].fillna("")
    return df.rename(columns={c: SUMMARY_COLUMNS[c][idx] for c in df.columns})


def write_summary(summary: pd.DataFrame, out: Path, lang: str = "zh") -> dict[str, Path]:
    from .tables import write_csv, write_excel

    df = localise_summary(summary, lang)
    return {"summary_csv": write_csv(df, out / "summary.csv"),
            "summary_xlsx": write_excel({"区县汇总" if lang == "zh" else "Districts": df}, out / "summary.xlsx")}


def _colour(row, target: float) -> str:
    v = row.get("places_per_1000")
    if row.get("status") == "failed" or v is None or pd.isna(v):
        return "#9e9e9e"
    r = v / target
    return "#1a9850" if r >= 1 else "#fee08b" if r >= 0.75 else "#fc8d59" if r >= 0.5 else "#d73027"


_LEGEND = {
    "zh": ("每千人口托位数（目标 {t}）", ("≥ 目标", "≥ 75%", "≥ 50%", "< 50%", "失败 / 无数据"), "合成演示数据，不代表实际情况"),
    "en": ("Places per 1,000 (target {t})", ("≥ target", "≥ 75%", "≥ 50%", "< 50%", "failed / no data"),
           "synthetic demo data, not the real situation"),
}


def _popup_html(row: dict, lang: str) -> str:
    idx = 0 if lang == "zh" else 1
    cells = []
    for c in ("status", "population", "places_required", "places_in_reach", "places_inside", "places_per_1000", "gap",
              "flagged_compounds", "no_facility", "under_served", "overdue", "sites", "cost", "net_cost", "error"):
        v = row.get(c)
        if v is None or (isinstance(v, float) and math.isnan(v)) or v == "":
            continue
        if c == "status":
            v = _STATUS.get(v, (v, v))[idx]
        elif isinstance(v, float) and c not in ("places_per_1000",):
            v = f"{v:,.0f}"
        elif isinstance(v, int):
            v = f"{v:,}"
        cells.append(f"<tr><th style='text-align:left;padding-right:6px'>{escape.html(SUMMARY_COLUMNS[c][idx])}</th>"
                     f"<td>{escape.html(str(v))}</td></tr>")
    return escape.Markup(f"<b>{escape.html(str(row['name']))}</b><table>{''.join(cells)}</table>")


def write_index_map(summary: pd.DataFrame, path: Path, lang: str = "zh", target: float = 4.72) -> Path:
    """``index_map.html``: each district's outline coloured by places per 1,000 against ``target``, offline."""
    import folium
    import shapely
    from shapely.geometry import shape

    from .maps.layers import Bind
    from .maps.offline import offline_map, save_map

    rows = summary.to_dict("records")
    shapes = [(r, shape(r["outline"])) for r in rows if isinstance(r.get("outline"), dict)]
    if shapes:
        minx, miny, maxx, maxy = shapely.union_all([g for _, g in shapes]).bounds
    else:
        minx, miny, maxx, maxy = 118.5, 35.0, 119.7, 36.0
    m = offline_map(((miny + maxy) / 2, (minx + maxx) / 2), zoom_start=9, control_scale=True)
    for r, geom in shapes:
        colour = _colour(r, target)
        layer = folium.GeoJson(
            {"type": "Feature", "properties": {"layer": "district"}, "geometry": shapely.geometry.mapping(geom)},
            style_function=lambda _f, c=colour: {"color": "#333333", "weight": 1.5, "fillColor": c, "fillOpacity": 0.6},
        )
        layer.add_child(Bind(_popup_html(r, lang), str(r["name"]), max_width=360))
        layer.add_to(m)
    if shapes:
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    title, labels, note = _LEGEND[lang]
    colours = ("#1a9850", "#fee08b", "#fc8d59", "#d73027", "#9e9e9e")
    items = "".join(f"<div><span style='display:inline-block;width:12px;height:12px;background:{c};margin-right:4px'>"
                    f"</span>{escape.html(lab)}</div>" for c, lab in zip(colours, labels))
    synthetic = any(bool(r.get("synthetic")) for r in rows)
    legend = (f"<div style='position:fixed;bottom:24px;right:12px;z-index:1000;background:white;padding:8px;"
              f"border:1px solid #999;font:12px sans-serif'><b>{escape.html(title.format(t=target))}</b>{items}"
              + (f"<div style='margin-top:4px;color:#b00'>{escape.html(note)}</div>" if synthetic else "") + "</div>")
    m.get_root().html.add_child(folium.Element(legend))
    return save_map(m, path)


def _list(v) -> list:
    return list(v) if isinstance(v, (list, tuple)) else []


def write_index(summary: pd.DataFrame, path: Path, lang: str = "zh") -> Path:
    """``index.html``: the districts with their key figures and links to every map their run wrote."""
    zh = lang == "zh"
    idx = 0 if zh else 1
    head = [SUMMARY_COLUMNS[c][idx] for c in ("name", "status", "population", "places_per_1000", "gap", "flagged_compounds",
                                              "sites")] + ["地图" if zh else "Maps"]
    body = []
    for r in summary.to_dict("records"):
        links = " · ".join(f"<a href='{escape.html(h)}'>{escape.html(Path(h).stem)}</a>" for h in _list(r.get("html")))
        if r.get("status") == "failed":
            links = f"<span style='color:#b00'>{escape.html(str(r.get('error') or ''))}</span>"

        def fmt(v, nd=0):
            return "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{float(v):,.{nd}f}"

        cells = [escape.html(str(r["name"])), escape.html(_STATUS.get(r["status"], (r["status"],) * 2)[idx]),
                 fmt(r.get("population")), fmt(r.get("places_per_1000"), 2), fmt(r.get("gap")),
                 fmt(r.get("flagged_compounds")), fmt(r.get("sites")), links]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    title = "托育缺口评估：区县汇总" if zh else "Childcare gap audit: districts"
    synthetic = summary["synthetic"].fillna(False).astype(bool).any() if "synthetic" in summary else False
    note = ("<p style='color:#b00'>" + ("演示数据：行政区轮廓真实，其余内容均为合成数据，不代表实际情况。" if zh else
            "Demo data: the outlines are real, everything else is synthetic and does not describe the real districts.")
            + "</p>") if synthetic else ""
    links = (f"<p><a href='index_map.html'>{'区县总览地图' if zh else 'Overview map of all districts'}</a> · "
             f"<a href='summary.xlsx'>summary.xlsx</a> · <a href='summary.csv'>summary.csv</a></p>")
    page = (f"<!DOCTYPE html><html lang='{'zh-CN' if zh else 'en'}'><head><meta charset='utf-8'><title>{title}</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:4px 8px}</style></head><body>"
            f"<h1>{title}</h1>{note}{links}<table><tr>{''.join(f'<th>{escape.html(h)}</th>' for h in head)}</tr>"
            f"{''.join(body)}</table></body></html>\n")
    return write_text(path, page)
