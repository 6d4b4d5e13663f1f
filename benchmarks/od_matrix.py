"""Benchmark: OD matrices within a cutoff, siting.network vs networkx vs pandana.

2,000 origins x 500 destinations, 3 km cutoff, on a generated osmnx-style grid of
202,500 nodes and (if present) on the demo network ``data/demo/roads.osm``.

Each method runs in its own subprocess so its peak memory can be measured alone
(the peak resident set is reset through /proc/self/clear_refs after the graph is built),
``--repeat`` times (best kept; runs over a minute are not repeated). Snapping is timed
for siting only; the baselines get the same snapped nodes for free. siting is timed
three ways: the first call on the graph as siting builds it, a warm second call, and
the first call on a bare graph (cache cleared, as for a graph made by osmnx). The
targets of issue #3 (50x networkx, 10x pandana incl. preprocessing) are checked
against the first call.

Usage::

    .venv/bin/python benchmarks/od_matrix.py              # everything (about 10 minutes)
    .venv/bin/python benchmarks/od_matrix.py --networks demo --repeat 5
    .venv/bin/python benchmarks/od_matrix.py --skip-pandana --rows 100 --cols 100
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEMO = ROOT / "data" / "demo" / "roads.osm"
METHODS = ("siting", "networkx", "pandana")
TARGETS = {"networkx": 50, "pandana": 10}  # issue #3: at least 50x networkx, 10x pandana incl. preprocessing


# ---------------------------------------------------------------------------- child side


def _status(key: str) -> float:
    """A /proc/self/status memory figure in MiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # "5": reset the peak RSS
        return True
    except OSError:
        return False


def _network(args):
    from siting import network as nw

    if args.network == "grid":
        return nw.grid_graph(args.rows, args.cols, spacing=args.spacing, seed=0)
    return nw.graph_from_file(args.demo, "walk")


def _points(G, n, rng, spread=50.0):
    """Points up to ``spread`` metres around random nodes, EPSG:4326.

    Drawn without touching the graph's cache, so that the first ``od_matrix`` call
    pays for everything it needs (projection, KD-tree, CSR) that the builder did not.
    """
    import geopandas as gpd
    import numpy as np

    from siting.crs import metric_crs, transformer

    nodes = np.array(list(G.nodes))[rng.integers(0, len(G), n)]
    lon = np.array([G.nodes[u]["x"] for u in nodes])
    lat = np.array([G.nodes[u]["y"] for u in nodes])
    crs = metric_crs(lon.mean(), lat.mean())
    x, y = transformer(4326, crs).transform(lon, lat)
    x, y = x + rng.uniform(-spread, spread, n), y + rng.uniform(-spread, spread, n)
    lon, lat = transformer(crs, 4326).transform(x, y)
    return gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=4326)


def child(args) -> None:
    import numpy as np

    from siting import network as nw

    t = time.perf_counter()
    G = _network(args)
    out = {"method": args.child, "network": args.network, "nodes": len(G), "edges": G.number_of_edges()}
    out["build_s"] = time.perf_counter() - t
    rng = np.random.default_rng(42)
    origins, destinations = _points(G, args.origins, rng), _points(G, args.destinations, rng)
    cutoff = args.cutoff
    base_rss = _status("VmRSS")
    out["peak_reset"] = _reset_peak()

    if args.child == "siting":
        # 1. the graph as siting builds it: its edge arrays were read while travel times were set
        t = time.perf_counter()
        M = nw.od_matrix(G, origins, destinations, cutoff)
        out["first_s"] = time.perf_counter() - t
        # 2. the same call again: everything cached
        t = time.perf_counter()
        M = nw.od_matrix(G, origins, destinations, cutoff)
        out["warm_s"] = time.perf_counter() - t
        # 3. a bare osmnx graph (no cache): one pass over networkx's adjacency dicts first
        nw.clear_cache(G)
        t = time.perf_counter()
        M = nw.od_matrix(G, origins, destinations, cutoff)
        out["bare_s"] = time.perf_counter() - t
        coo = M.tocoo()
        rows, cols, vals = coo.row, coo.col, coo.data
    else:
        so = nw.snap(G, origins, max_distance=np.inf)
        sd = nw.snap(G, destinations, max_distance=np.inf)
        if args.child == "networkx":
            rows, cols, vals, out = _networkx(G, so, sd, cutoff, out)
        else:
            rows, cols, vals, out = _pandana(G, so, sd, cutoff, out)
    out["peak_mib"] = _status("VmHWM")
    out["peak_increase_mib"] = out["peak_mib"] - base_rss
    out["entries"] = int(len(vals))
    np.savez(args.result + ".npz", rows=np.asarray(rows), cols=np.asarray(cols), vals=np.asarray(vals))
    Path(args.result).write_text(json.dumps(out))


def _networkx(G, so, sd, cutoff, out):
    """What osmnx users do today: one networkx Dijkstra per origin, with a cutoff."""
    import networkx as nx

    t = time.perf_counter()
    rows, cols, vals = [], [], []
    targets = list(enumerate(zip(sd.node.tolist(), sd.distance.tolist())))
    for i, (o, lo) in enumerate(zip(so.node.tolist(), so.distance.tolist())):
        dist = nx.single_source_dijkstra_path_length(G, o, cutoff=cutoff - lo, weight="length")
        for j, (d, ld) in targets:
            if d in dist and lo + dist[d] + ld <= cutoff:
                rows.append(i)
                cols.append(j)
                vals.append(lo + dist[d] + ld)
    out["query_s"] = time.perf_counter() - t
    out["total_s"] = out["query_s"]
    return rows, cols, vals, out


def _pandana(G, so, sd, cutoff, out):
    """pandana: contraction hierarchies, then point-to-point queries for the pairs
    within the cutoff as the crow flies (a KD-tree pre-filter that only helps pandana)."""
    import numpy as np
    import pandana
    import pandas as pd
    from scipy.spatial import cKDTree

    from siting.network.cache import graph_cache

    cache = graph_cache(G)
    u, v, w = cache.edge_arrays(G, "length")
    t = time.perf_counter()
    net = pandana.Network(
        pd.Series(cache.xy[:, 0]), pd.Series(cache.xy[:, 1]), pd.Series(u), pd.Series(v),
        pd.DataFrame({"length": w}), twoway=False,
    )
    out["preprocess_s"] = time.perf_counter() - t
    t = time.perf_counter()
    o_pos, d_pos = cache.index.get_indexer(so.node), cache.index.get_indexer(sd.node)
    o_xy = _snap_xy(G, so, cache)
    d_xy = _snap_xy(G, sd, cache)
    pairs = cKDTree(o_xy).query_ball_tree(cKDTree(d_xy), cutoff)
    i = np.repeat(np.arange(len(pairs)), [len(p) for p in pairs])
    j = np.concatenate([np.asarray(p, dtype=int) for p in pairs]) if len(i) else np.empty(0, int)
    dist = np.asarray(net.shortest_path_lengths(o_pos[i], d_pos[j]), dtype=float)
    total = so.distance[i] + dist + sd.distance[j]
    keep = total <= cutoff
    out["query_s"] = time.perf_counter() - t
    out["pairs_queried"] = int(len(i))
    out["total_s"] = out["preprocess_s"] + out["query_s"]
    return i[keep], j[keep], total[keep], out


def _snap_xy(G, snapped, cache):
    """Metric coordinates of the snapped nodes (pair pre-filter: the crow-flies bound)."""
    return cache.xy[cache.index.get_indexer(snapped.node)]


# ---------------------------------------------------------------------------- parent side


def machine() -> dict:
    import networkx
    import numpy
    import osmnx
    import scipy

    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name")),
        platform.processor(),
    )
    info = {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "networkx": networkx.__version__,
        "osmnx": osmnx.__version__,
    }
    try:
        import pandana

        info["pandana"] = pandana.__version__
    except ImportError:
        info["pandana"] = None
    return info


TIMINGS = ("first_s", "warm_s", "bare_s", "total_s", "query_s", "preprocess_s")
REPEAT_LIMIT_S = 60.0  # a method slower than this runs once


def run_best(method: str, network: str, args, tmp: Path) -> dict | None:
    """Run ``method`` in ``args.repeat`` fresh processes; keep each timing's best run.

    Timings on a shared 2-core machine are noisy and the first call cannot be repeated
    within one process, so each run is a new process (as timeit takes the best of
    several repeats). Slow methods (over a minute) run once.
    """
    best = None
    for k in range(args.repeat):
        r = run_child(method, network, args, tmp)
        if r is None:
            return best
        if best is None:
            best = dict(r, runs=1)
        else:
            best["runs"] += 1
            for key in TIMINGS:
                if key in r:
                    best[key] = min(best[key], r[key])
        if max(r.get(key, 0.0) for key in TIMINGS) > REPEAT_LIMIT_S:
            break
    return best


def run_child(method: str, network: str, args, tmp: Path) -> dict | None:
    result = tmp / f"{network}-{method}.json"
    cmd = [
        sys.executable, __file__, "--child", method, "--network", network, "--result", str(result),
        "--rows", str(args.rows), "--cols", str(args.cols), "--spacing", str(args.spacing),
        "--origins", str(args.origins), "--destinations", str(args.destinations),
        "--cutoff", str(args.cutoff), "--demo", str(args.demo),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not result.exists():
        print(f"  {method} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(result.read_text())


def agreement(tmp: Path, network: str, method: str) -> str:
    import numpy as np

    ref = np.load(tmp / f"{network}-siting.json.npz")
    other = np.load(tmp / f"{network}-{method}.json.npz")
    a = {(int(r), int(c)): v for r, c, v in zip(ref["rows"], ref["cols"], ref["vals"])}
    b = {(int(r), int(c)): v for r, c, v in zip(other["rows"], other["cols"], other["vals"])}
    common = a.keys() & b.keys()
    diff = max((abs(a[k] - b[k]) for k in common), default=0.0)
    return f"{len(a.keys() ^ b.keys())} pairs differ in presence, max |diff| {diff:.3g}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=450)
    p.add_argument("--cols", type=int, default=450)
    p.add_argument("--spacing", type=float, default=100.0)
    p.add_argument("--origins", type=int, default=2000)
    p.add_argument("--destinations", type=int, default=500)
    p.add_argument("--cutoff", type=float, default=3000.0)
    p.add_argument("--demo", type=Path, default=DEMO)
    p.add_argument("--skip-pandana", action="store_true")
    p.add_argument("--skip-networkx", action="store_true")
    p.add_argument("--networks", default="grid,demo", help="comma-separated: grid, demo")
    p.add_argument("--repeat", type=int, default=3, help="fresh-process runs per method; the best is kept")
    p.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    p.add_argument("--network", choices=("grid", "demo"), default="grid", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return

    print(json.dumps(machine()))
    methods = ["siting"]
    if not args.skip_networkx:
        methods.append("networkx")
    if not args.skip_pandana:
        try:
            import pandana  # noqa: F401

            methods.append("pandana")
        except ImportError:
            print("pandana is not installed (pip install pandana): skipped")
    networks = [n for n in args.networks.split(",") if n in ("grid", "demo")]
    if "demo" in networks and not args.demo.exists():
        networks.remove("demo")
        print(f"{args.demo} not found (run `make demo` to generate it): demo network skipped")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for network in networks:
            res = {m: run_best(m, network, args, tmp) for m in methods}
            s = res["siting"]
            if s is None:
                continue
            print(f"\n{network}: {s['nodes']:,} nodes, {s['edges']:,} edges, "
                  f"{args.origins} x {args.destinations}, cutoff {args.cutoff:g} m, {s['entries']:,} pairs within")
            print(f"  siting.od_matrix   first call {s['first_s']:.3f} s on the graph as siting builds it "
                  f"(build {s['build_s']:.1f} s, edge arrays read while setting travel times), "
                  f"warm {s['warm_s']:.3f} s, bare osmnx graph {s['bare_s']:.3f} s (incl. one pass over its "
                  f"adjacency), peak +{s['peak_increase_mib']:.0f} MiB; best of {s['runs']} runs")
            for m in methods[1:]:
                r = res[m]
                if r is None:
                    continue
                extra = f" (preprocess {r['preprocess_s']:.2f} s + query {r['query_s']:.2f} s, {r['pairs_queried']:,} pairs)" if m == "pandana" else ""
                ratios = {k: r["total_s"] / s[f"{k}_s"] for k in ("first", "warm", "bare")}
                print(f"  {m:<18} {r['total_s']:.2f} s{extra}, peak +{r['peak_increase_mib']:.0f} MiB; "
                      f"ratio vs siting first call {ratios['first']:.0f}x, warm {ratios['warm']:.0f}x, "
                      f"bare graph {ratios['bare']:.0f}x; best of {r['runs']} run(s)")
                print(f"  {'':<18} agreement with siting: {agreement(tmp, network, m)}")
                target = TARGETS[m]
                verdict = "met" if ratios["first"] >= target else "NOT met"
                print(f"  {'':<18} target >= {target}x (first call, {m} incl. any preprocessing): {verdict}")

if __name__ == "__main__":
    main()
