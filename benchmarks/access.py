"""Benchmark: the accessibility index, siting.access vs PySAL access, on the same sparse matrix.

100,000 demand points × 5,000 facilities on a generated street grid (siting.network.grid_graph,
350 × 350 nodes 100 m apart, about 35 km across), with the pairs within 1 km along roads from
``siting.network.od_matrix``. Both libraries get the same pairs: siting as the sparse matrix, access
as the long table (origin, dest, cost) it needs. A dense 100,000 × 5,000 table would have
500 million rows, which access could not hold in memory here. Measured for 2SFCA without decay,
Gaussian 2SFCA (Dai 2010, the same formula given to access as its weight function) and 3SFCA.

Each method runs in its own subprocess, so its peak memory can be measured alone. The peak RSS is
reset through /proc/self/clear_refs after the matrix and the inputs are loaded, so only the
computation counts. The results are checked to agree to 1e-9.

Usage::

    .venv/bin/python benchmarks/access.py                      # the full size (a few minutes)
    .venv/bin/python benchmarks/access.py --demand 2000 --facilities 100 --rows 60 --cols 60
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This file is named like the package it measures: keep its folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))


def _od_matrix_bench():
    """benchmarks/od_matrix.py as a module, for its point generator and memory probes."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("od_matrix_bench", HERE / "od_matrix.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_bench = _od_matrix_bench()
_points, _reset_peak, _status, machine = _bench._points, _bench._reset_peak, _bench._status, _bench.machine

MEASURES = ("2sfca", "gaussian", "3sfca")
METHODS = ("siting", "access")


def build(args, path: Path) -> dict:
    """The generated network, points and OD matrix, saved for the child processes."""
    import numpy as np
    import scipy.sparse as sp

    from siting import network as nw

    t = time.perf_counter()
    G = nw.grid_graph(args.rows, args.cols, spacing=100.0, seed=0)
    rng = np.random.default_rng(42)
    demand_pts, facility_pts = _points(G, args.demand, rng), _points(G, args.facilities, rng)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    M = nw.od_matrix(G, demand_pts, facility_pts, args.cutoff)
    od_s = time.perf_counter() - t
    sp.save_npz(path / "cost.npz", sp.csr_array(M))  # keeps explicit zeros
    np.save(path / "demand.npy", rng.integers(0, 40, args.demand).astype(float))
    np.save(path / "supply.npy", rng.integers(10, 200, args.facilities).astype(float))
    return {"nodes": len(G), "edges": G.number_of_edges(), "pairs": int(M.nnz), "build_s": build_s, "od_s": od_s}


def _dai(d0: float):
    e = math.exp(-0.5)

    def w(d):
        import numpy as np

        return (np.exp(-0.5 * (np.asarray(d, dtype=float) / d0) ** 2) - e) / (1 - e)

    return w


def child(args) -> None:
    import numpy as np
    import scipy.sparse as sp

    tmp = Path(args.tmp)
    cost = sp.load_npz(tmp / "cost.npz")
    # As od_matrix returns it: indices sorted and known to be (a loaded matrix must check that first).
    cost.sort_indices()
    assert cost.has_canonical_format
    demand, supply = np.load(tmp / "demand.npy"), np.load(tmp / "supply.npy")
    out = {"method": args.child, "measure": args.measure}
    if args.child == "siting":
        from siting.access import fca2, fca3

        base = _status("VmRSS")
        out["peak_reset"] = _reset_peak()
        t = time.perf_counter()
        if args.measure == "2sfca":
            a = fca2(cost, demand, supply, args.cutoff, per=1.0)
        elif args.measure == "gaussian":
            a = fca2(cost, demand, supply, args.cutoff, "gaussian", per=1.0)
        else:
            a = fca3(cost, demand, supply, args.cutoff, "gaussian", per=1.0)
        out["total_s"] = time.perf_counter() - t
    else:
        import pandas as pd
        from access import Access

        coo = sp.coo_array(cost)
        t = time.perf_counter()
        table = pd.DataFrame({"origin": coo.row, "dest": coo.col, "cost": coo.data})
        demand_df = pd.DataFrame({"geoid": np.arange(len(demand)), "pop": demand})
        supply_df = pd.DataFrame({"geoid": np.arange(len(supply)), "places": supply})
        out["table_s"] = time.perf_counter() - t
        del coo
        base = _status("VmRSS")
        out["peak_reset"] = _reset_peak()
        t = time.perf_counter()
        acc = Access(demand_df=demand_df, demand_index="geoid", demand_value="pop", supply_df=supply_df,
                     supply_index="geoid", supply_value="places", cost_df=table, cost_origin="origin",
                     cost_dest="dest", cost_name="cost")
        if args.measure == "2sfca":
            acc.two_stage_fca(name="x", max_cost=args.cutoff)
        elif args.measure == "gaussian":
            acc.two_stage_fca(name="x", max_cost=args.cutoff, weight_fn=_dai(args.cutoff))
        else:
            acc.three_stage_fca(name="x", max_cost=args.cutoff, weight_fn=_dai(args.cutoff))
        out["total_s"] = time.perf_counter() - t
        a = acc.access_df["x_places"].reindex(np.arange(len(demand))).fillna(0.0).to_numpy()
    out["peak_mib"] = _status("VmHWM")
    out["peak_increase_mib"] = out["peak_mib"] - base
    np.save(tmp / f"{args.child}-{args.measure}.npy", a)
    Path(args.result).write_text(json.dumps(out))


def run_child(method: str, measure: str, args, tmp: Path) -> dict:
    result = tmp / f"{method}-{measure}.json"
    cmd = [sys.executable, __file__, "--child", method, "--measure", measure, "--tmp", str(tmp), "--result",
           str(result), "--cutoff", str(args.cutoff)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not result.exists():
        return {"method": method, "measure": measure, "failed": proc.stderr.strip().splitlines()[-1:] or
                [f"exit {proc.returncode}"]}
    return json.loads(result.read_text())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=350)
    p.add_argument("--cols", type=int, default=350)
    p.add_argument("--demand", type=int, default=100_000)
    p.add_argument("--facilities", type=int, default=5_000)
    p.add_argument("--cutoff", type=float, default=1000.0)
    p.add_argument("--measures", default=",".join(MEASURES))
    p.add_argument("--methods", default=",".join(METHODS), help="siting, access or both")
    p.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    p.add_argument("--measure", choices=MEASURES, help=argparse.SUPPRESS)
    p.add_argument("--tmp", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return

    import numpy as np

    info = machine()
    from importlib.metadata import PackageNotFoundError, version

    try:
        info["access"] = version("access")
        info["pandas"] = version("pandas")
    except PackageNotFoundError:
        info["access"] = None
    print(json.dumps(info))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        net = build(args, tmp)
        print(f"grid {args.rows} x {args.cols}: {net['nodes']:,} nodes, {net['edges']:,} edges (built with the points "
              f"in {net['build_s']:.1f} s); {args.demand:,} demand points x {args.facilities:,} facilities, "
              f"{net['pairs']:,} pairs within {args.cutoff:g} m along roads (od_matrix {net['od_s']:.1f} s)")
        for measure in args.measures.split(","):
            res = {m: run_child(m, measure, args, tmp) for m in args.methods.split(",")}
            for m, r in res.items():
                if "failed" in r:
                    print(f"  {measure:9s} {m:7s} FAILED: {r['failed']}")
                    continue
                extra = f" (+ {r['table_s']:.2f} s building its long table)" if "table_s" in r else ""
                print(f"  {measure:9s} {m:7s} {r['total_s']:9.3f} s{extra}, peak +{r['peak_increase_mib']:.0f} MiB")
            if len(res) == 2 and all("failed" not in r for r in res.values()):
                a, b = np.load(tmp / f"siting-{measure}.npy"), np.load(tmp / f"access-{measure}.npy")
                rel = np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300), initial=0.0)
                print(f"  {measure:9s} speed-up {res['access']['total_s'] / res['siting']['total_s']:.0f}x, "
                      f"max relative difference {rel:.2g}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
