"""Benchmark of ``siting batch``: districts per minute with 1 and 2 workers, and peak memory per worker.

By default four small synthetic districts (siting.demo inside 25 × 17 km boxes near Rizhao,
120,000 residents, 4 townships each; their inputs are generated once, before timing) run the
whole pipeline on a LocalCluster of 1, then 2 worker processes (``--force``, so every district
runs each time). ``--csv data/rizhao/districts.csv`` times the Rizhao demo instead.

Peak memory is each worker process's peak resident set size (``ru_maxrss``) as reported by the
task that ran last on it.

Run: ``python benchmarks/batch.py [--workers 1 2] [--csv FILE] [--out DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from shapely.geometry import box, mapping

from siting import batch

BOXES = [box(119.00, 35.55, 119.25, 35.70), box(118.80, 35.60, 119.05, 35.75),
         box(119.15, 35.30, 119.40, 35.45), box(118.70, 35.85, 118.95, 36.00)]


def small_districts(folder: Path) -> Path:
    """Write the four small synthetic districts' CSV (and outlines) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["id,name,outline,seed,population,townships"]
    for k, b in enumerate(BOXES, start=1):
        (folder / f"box{k}.geojson").write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": mapping(b)}),
                                                encoding="utf-8")
        lines.append(f"box{k},测试县{k},box{k}.geojson,{k},120000,4")
    (folder / "districts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "districts.csv"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", type=Path, help="districts CSV (default: four small synthetic districts)")
    ap.add_argument("--out", type=Path, help="output folder (default: a temporary folder)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args(argv)
    tmp = tempfile.TemporaryDirectory(prefix="siting-batch-bench-")
    out = args.out or Path(tmp.name) / "out"
    csv_path = args.csv or small_districts(Path(tmp.name) / "in")
    districts = batch.read_districts(csv_path)
    t0 = time.perf_counter()
    for d in districts:  # inputs once, outside the timings
        if d.kind == "synthetic":
            batch._synthetic_config(d, out / batch.INPUTS_DIR / d.id)
    print(f"inputs generated in {time.perf_counter() - t0:.1f} s")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for n in args.workers:
        t = time.perf_counter()
        res = batch.run_batch(csv_path, out, workers=n, retries=0, lang="en", force=True)
        wall = time.perf_counter() - t
        s = res.summary
        ok = int((s["status"] == "ok").sum())
        peaks = s.groupby("pid")["peak_rss_mb"].max()
        print(f"{n} worker(s): {len(s)} districts ({ok} ok) in {wall:.1f} s = {len(s) / wall * 60:.2f} districts/min; "
              f"task runtime mean {s['runtime_s'].mean():.1f} s; peak RSS per worker "
              + ", ".join(f"{v:.0f} MB" for v in peaks.to_numpy()))
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
