"""Benchmark of the maps' file sizes and build times as districts grow (issue 14: ≤ 5 MB per map).

The bundled demo district (585 compounds and villages) is audited once, with its access index (the
maps draw its three choropleths); bigger districts are made from them by copying every compound,
childcare facility, health facility and parcel ``k`` times, each copy moved by up to ±400 m (fixed
seed) and renamed, so the townships, roads and proposed sites stay those of the demo. This isolates
what the maps cost per feature from the audit's own run time (``python -m siting.demo`` lays out a
bigger district only inside another ``--outline``, see docs/performance.md). For each size it writes
every map with ``write_maps`` and prints the district map's size, the largest township map's size, the
overview's size and the build time.

Run: ``python benchmarks/map_size.py [--sizes 585 2000 20000] [--out DIR]``
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import shapely.affinity

import siting
from siting.access import access_index
from siting.audit import audit
from siting.maps.district import write_maps
from siting.optimize import optimize

JITTER_DEG = 0.004  # ~400 m


def _copies(gdf, k: int, rng, id_col: str = "id", name_col: str | None = "name"):
    """``gdf`` ``k`` times over: copy 0 unchanged, the others moved and renamed."""
    if k <= 1 or len(gdf) == 0:
        return gdf
    parts = [gdf]
    for i in range(1, k):
        c = gdf.copy()
        dx, dy = rng.uniform(-JITTER_DEG, JITTER_DEG, (2, len(c)))
        c["geometry"] = [shapely.affinity.translate(g, x, y) for g, x, y in zip(c.geometry, dx, dy)]
        c[id_col] = c[id_col].astype(str) + f"-{i}"
        if name_col and name_col in c:
            c[name_col] = c[name_col].astype(str) + f"{i}号"
        parts.append(c)
    return type(gdf)(pd.concat(parts, ignore_index=True), crs=gdf.crs)


def scaled(project, result, k: int, seed: int = 0, access=None):
    """The project, audit and access index with ``k`` copies of every compound, facility and parcel."""
    rng = np.random.default_rng(seed)
    project, result = dataclasses.replace(project), dataclasses.replace(result)
    if access is not None:  # the copies' access values are their originals', at the same places
        access = dataclasses.replace(access)
        table = pd.concat([access.compounds.loc[result.compounds.index]] * k, ignore_index=True)
    result.compounds = _copies(result.compounds, k, rng)
    if access is not None:
        table["geometry"] = result.compounds.geometry.to_numpy()
        table[["id", "name"]] = result.compounds[["id", "name"]].to_numpy()
        access.compounds = type(access.compounds)(table, geometry="geometry", crs=access.compounds.crs)
    result.childcare = _copies(result.childcare, k, rng)
    project.compounds = _copies(project.compounds, k, rng)  # the overview draws the inputs
    project.childcare = _copies(project.childcare, k, rng)
    project.health = _copies(project.health, k, rng)
    project.parcels = _copies(project.parcels, k, rng, name_col=None)
    return project, result, access


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[585, 2000, 20000], help="compounds and villages")
    ap.add_argument("--out", type=Path, default=None, help="keep the maps here (default: a temporary folder)")
    args = ap.parse_args(argv)
    project = siting.load_project(overrides={"analysis.as_of": "2026-11-29"})
    result = audit(project)
    opt = optimize(project, result)
    acc = access_index(project, result, opt)  # the access choropleths the pipeline draws on every map
    base = len(result.compounds)
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min), "
          f"{os.cpu_count()} CPUs; demo: {base} compounds and villages")
    print(f"{'compounds':>9} {'district MB':>11} {'largest township MB':>19} {'overview MB':>11} {'maps':>4} "
          f"{'build s':>7}")
    for size in args.sizes:
        k = max(1, math.ceil(size / base))
        p, r, a = scaled(project, result, k, access=acc)
        with tempfile.TemporaryDirectory() as tmp:
            out = args.out / str(size) if args.out else Path(tmp)
            t0 = time.perf_counter()
            files = write_maps(p, r, opt, out, access=a)
            took = time.perf_counter() - t0
            sizes = {key: path.stat().st_size / 1e6 for key, path in files.items()}
            town = max(v for key, v in sizes.items() if key.startswith("township_"))
            print(f"{len(r.compounds):>9} {sizes['district']:>11.2f} {town:>19.2f} {sizes['overview']:>11.2f} "
                  f"{len(files) - 1:>4} {took:>7.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
