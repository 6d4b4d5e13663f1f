"""Benchmark: siting.models.MCLP (direct HiGHS) against spopt's MCLP (PuLP + CBC).

Not a test. Generates seeded random instances of three families, solves each with both in one
process, prints times (each including building the model from the cost matrix), objectives,
statuses and the speed ratio, and fails if both claim optimality with different objectives.

Families (5,000 demand points × 1,000 candidate sites, p = 30 unless given):

- ``redrawn``: uniform points in a 10 km square, service distance for 18 sites in reach on
  average, points with fewer than 10 or more than 30 sites in reach redrawn, weights 10-120
  (the family docs/performance.md first reported).
- ``uniform``: the standard family of issue 16: uniform points, service distance for about 20
  sites in reach, nothing redrawn, integer weights 1-100.
- ``grid``: candidate sites on a jittered square grid, uniform demand, weights 1-100: many
  near-equivalent solutions, hard for every solver.

    .venv/bin/python benchmarks/models.py                      # the three families, 5,000 × 1,000
    .venv/bin/python benchmarks/models.py --family uniform --seed 1 --skip-spopt
    .venv/bin/python benchmarks/models.py --options '{"mip_heuristic_effort": 0.3}'
    .venv/bin/python benchmarks/models.py --size 20000x3000 --family redrawn
    .venv/bin/python benchmarks/models.py --seeds 0-4             # five instances a family, ratios' range
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

FAMILIES = ("redrawn", "uniform", "grid")


def make_instance(n: int, m: int, seed: int, p: int = 30, family: str = "redrawn"):
    """Random MCLP instance; returns (cost, weights, service_distance, p, reach counts)."""
    rng = np.random.default_rng(seed)
    side = 10_000.0
    if family == "grid":
        k = int(round(np.sqrt(m)))
        g = (np.arange(k) + 0.5) * side / k
        sites = np.array([(x, y) for x in g for y in g]) + rng.uniform(-0.2, 0.2, (k * k, 2)) * side / k
        m = k * k
    else:
        sites = rng.uniform(0, side, size=(m, 2))
    # Area argument: m sites in side² put on average m·π·r²/side² of them within r.
    target = 18 if family == "redrawn" else 20
    r = side * np.sqrt(target / (np.pi * m))
    if family == "redrawn":
        # Redraw the few points (near the edges, or in sparse spots) with fewer than 10 or more than 30 sites in reach.
        demand = np.empty((n, 2))
        todo = np.arange(n)
        while len(todo):
            demand[todo] = rng.uniform(0, side, size=(len(todo), 2))
            counts = _in_reach(demand[todo], sites, r)
            todo = todo[(counts < 10) | (counts > 30)]
    else:
        demand = rng.uniform(0, side, size=(n, 2))
    cost = np.sqrt(((demand[:, None, :] - sites[None, :, :]) ** 2).sum(axis=2))
    weights = (rng.integers(10, 121, size=n) if family == "redrawn" else rng.integers(1, 101, size=n)).astype(np.float64)
    in_reach = (cost <= r).sum(axis=1)
    return cost, weights, float(r), p, in_reach


def _in_reach(points, sites, r):
    counts = np.empty(len(points), dtype=np.int64)
    for lo in range(0, len(points), 2_000):
        d2 = ((points[lo:lo + 2_000, None, :] - sites[None, :, :]) ** 2).sum(axis=2)
        counts[lo:lo + 2_000] = (d2 <= r * r).sum(axis=1)
    return counts


def run_ours(cost, weights, r, p, time_limit, options=None):
    from siting.models import MCLP

    t0 = time.perf_counter()
    res = MCLP.from_cost_matrix(cost, weights, r, p).solve(time_limit=time_limit, options=options)
    status = res.status if res.optimal else f"{res.status}, gap {res.gap:.2%}"
    return time.perf_counter() - t0, res.objective, res.optimal, status


def run_spopt(cost, weights, r, p, time_limit):
    import pulp
    from spopt.locate import MCLP as SpoptMCLP

    t0 = time.perf_counter()
    model = SpoptMCLP.from_cost_matrix(cost, weights, r, p_facilities=p)
    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit)
    model.solve(solver)
    elapsed = time.perf_counter() - t0
    prob = model.problem
    # Under a time limit PuLP may say "Optimal" for a merely feasible solution: check sol_status too.
    optimal = prob.status == pulp.LpStatusOptimal and prob.sol_status == pulp.LpSolutionOptimal
    return elapsed, float(pulp.value(prob.objective)), optimal, pulp.LpStatus[prob.status]


def machine() -> str:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import pulp
    import scipy
    import spopt

    return (f"nproc={os.cpu_count()} cpu={cpu} python={platform.python_version()} numpy={np.__version__} "
            f"scipy={scipy.__version__} highspy={_version('highspy')} spopt={spopt.__version__} "
            f"pulp={pulp.__version__}")


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--family", choices=(*FAMILIES, "all"), default="all")
    ap.add_argument("--size", default="5000x1000", help="demand x candidates, e.g. 20000x3000")
    ap.add_argument("--small-only", action="store_true", help="5,000 × 1,000 only (the default size; kept for make bench)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", help="several seeds, e.g. 0-4 or 0,3,7: one instance each, then the ratios' range per family")
    ap.add_argument("--p", type=int, default=30)
    ap.add_argument("--time-limit", type=float, default=None, help="seconds per solve, for both solvers")
    ap.add_argument("--options", type=json.loads, default=None, help="extra HiGHS options for siting, as JSON")
    ap.add_argument("--skip-spopt", action="store_true", help="time only siting.models")
    args = ap.parse_args(argv)

    print(machine())
    print(f"load average at start: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f}")
    n, m = (int(v) for v in args.size.lower().split("x"))
    failures = 0
    seeds = _seeds(args.seeds) if args.seeds else [args.seed]
    ratios: dict[str, list[float]] = {}
    for family, seed in ((f, s) for f in (FAMILIES if args.family == "all" else (args.family,)) for s in seeds):
        t0 = time.perf_counter()
        cost, weights, r, p, in_reach = make_instance(n, m, seed, args.p, family)
        print(f"\n{family}: {n} demand × {cost.shape[1]} candidates, p = {p}, seed {seed}: service distance "
              f"{r:.1f}, candidates in reach min/median/max {in_reach.min()}/{int(np.median(in_reach))}/"
              f"{in_reach.max()} (generated in {time.perf_counter() - t0:.1f} s)")
        ours_t, ours_obj, ours_opt, ours_status = run_ours(cost, weights, r, p, args.time_limit, args.options)
        print(f"  siting.models.MCLP (HiGHS)  {ours_t:8.2f} s  objective {ours_obj:,.0f}  {ours_status}", flush=True)
        if args.skip_spopt:
            continue
        sp_t, sp_obj, sp_opt, sp_status = run_spopt(cost, weights, r, p, args.time_limit)
        print(f"  spopt MCLP (PuLP + CBC)     {sp_t:8.2f} s  objective {sp_obj:,.0f}  {sp_status}")
        equal = abs(sp_obj - ours_obj) <= 1e-6 * max(1.0, abs(sp_obj))
        proven = "both proven optimal" if ours_opt and sp_opt else "NOT both proven optimal"
        ratios.setdefault(family, []).append(sp_t / ours_t if ours_opt and sp_opt and equal else float("nan"))
        print(f"  ratio {sp_t / ours_t:.1f}x (spopt + CBC time / siting time); objectives "
              f"{'equal' if equal else 'DIFFER'}, {proven}; load average now {os.getloadavg()[0]:.1f}", flush=True)
        if ours_opt and sp_opt and not equal:
            print(f"  FAIL: both optimal but objectives differ ({ours_obj} vs {sp_obj})", file=sys.stderr)
            failures += 1
    if len(seeds) > 1:
        print("\nratio per family over seeds " + ",".join(map(str, seeds)) + " (nan: not both proven equal):")
        for family, values in ratios.items():
            v = np.array(values)
            print(f"  {family:8s} min {np.nanmin(v):6.1f}x  median {np.nanmedian(v):6.1f}x  max {np.nanmax(v):6.1f}x  "
                  f"runs at >= 10x: {int((v >= 10).sum())} of {len(v)}")
    return 1 if failures else 0


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    return out


if __name__ == "__main__":
    sys.exit(main())
