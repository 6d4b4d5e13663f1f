"""Benchmark: siting.models.MCLP (direct HiGHS) against spopt's MCLP (PuLP + CBC).

Not a test. Generates seeded random instances (points in a square, Euclidean costs,
a service distance giving each demand point about 10-30 candidates in reach, p = 30),
solves each with both, prints times, objectives and the speed ratio, and fails if both
claim optimality with different objectives.

    .venv/bin/python benchmarks/models.py            # 5,000 × 1,000 and 20,000 × 3,000
    .venv/bin/python benchmarks/models.py --small-only --seed 7
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

SIZES = [(5_000, 1_000), (20_000, 3_000)]
TARGET_IN_REACH = 18  # mean candidates within the service distance, as in the field notes


def make_instance(n: int, m: int, seed: int, p: int = 30):
    """Random MCLP instance; returns (cost, weights, service_distance, p, reach counts)."""
    rng = np.random.default_rng(seed)
    side = 10_000.0
    sites = rng.uniform(0, side, size=(m, 2))
    # Area argument: m sites in side² put on average m·π·r²/side² of them within r.
    r = side * np.sqrt(TARGET_IN_REACH / (np.pi * m))
    # Uniform demand, redrawing the few points (near the edges, or in sparse spots) with
    # fewer than 10 or more than 30 sites in reach. (Sites on a jittered grid would give
    # the same counts without redraws, but such regular instances are far harder to prove
    # optimal, for every solver: 3 % gap after 30 s.)
    demand = np.empty((n, 2))
    todo = np.arange(n)
    while len(todo):
        demand[todo] = rng.uniform(0, side, size=(len(todo), 2))
        counts = _in_reach(demand[todo], sites, r)
        todo = todo[(counts < 10) | (counts > 30)]
    cost = np.sqrt(((demand[:, None, :] - sites[None, :, :]) ** 2).sum(axis=2))
    weights = rng.integers(10, 121, size=n).astype(np.float64)
    in_reach = (cost <= r).sum(axis=1)
    return cost, weights, float(r), p, in_reach


def _in_reach(points, sites, r):
    counts = np.empty(len(points), dtype=np.int64)
    for lo in range(0, len(points), 2_000):
        d2 = ((points[lo:lo + 2_000, None, :] - sites[None, :, :]) ** 2).sum(axis=2)
        counts[lo:lo + 2_000] = (d2 <= r * r).sum(axis=1)
    return counts


def run_ours(cost, weights, r, p, time_limit):
    from siting.models import MCLP

    t0 = time.perf_counter()
    res = MCLP.from_cost_matrix(cost, weights, r, p).solve(time_limit=time_limit)
    return time.perf_counter() - t0, res.objective, res.status == "optimal", res.status


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
    ap.add_argument("--small-only", action="store_true", help="only the 5,000 × 1,000 instance")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--p", type=int, default=30)
    ap.add_argument("--time-limit", type=float, default=None, help="seconds per solve, for both solvers")
    ap.add_argument("--skip-spopt", action="store_true", help="time only siting.models")
    args = ap.parse_args(argv)

    print(machine())
    sizes = SIZES[:1] if args.small_only else SIZES
    failures = 0
    for n, m in sizes:
        t0 = time.perf_counter()
        cost, weights, r, p, in_reach = make_instance(n, m, args.seed, args.p)
        print(f"\n{n} demand × {m} candidates, p = {p}, seed {args.seed}: service distance {r:.1f}, "
              f"candidates in reach min/median/max {in_reach.min()}/{int(np.median(in_reach))}/{in_reach.max()} "
              f"(generated in {time.perf_counter() - t0:.1f} s)")
        ours_t, ours_obj, ours_opt, ours_status = run_ours(cost, weights, r, p, args.time_limit)
        print(f"  siting.models.MCLP (HiGHS)  {ours_t:8.2f} s  objective {ours_obj:,.0f}  {ours_status}")
        if args.skip_spopt:
            continue
        sp_t, sp_obj, sp_opt, sp_status = run_spopt(cost, weights, r, p, args.time_limit)
        print(f"  spopt MCLP (PuLP + CBC)     {sp_t:8.2f} s  objective {sp_obj:,.0f}  {sp_status}")
        print(f"  speed-up {sp_t / ours_t:.1f}x; objectives {'equal' if abs(sp_obj - ours_obj) < 1e-6 else 'DIFFER'}")
        if ours_opt and sp_opt and abs(sp_obj - ours_obj) > 1e-6 * max(1.0, abs(sp_obj)):
            print(f"  FAIL: both optimal but objectives differ ({ours_obj} vs {sp_obj})", file=sys.stderr)
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
