"""Benchmark of the full-compliance and phased models: time and gap on the demo and a generated district.

Times the audit, the whole optimise stage, the full-compliance solve (ComplianceCover) and the phased
solve (PhasedCover, per stage), and reports the instance sizes, statuses and gaps. Optionally solves
the phased model over every candidate (``optimize.phase_sites = "all"``) too.

Run: ``python benchmarks/plan.py [--config siting.toml] [--as-of 2026-12-04] [--all-candidates]``
(no ``--config``: the bundled demo). A big district: ``python -m siting.demo --out /tmp/big --name 测试大区
--population 4000000 --townships 20 --no-verify``, then ``--config /tmp/big/siting.toml`` (the generator
writes that project file).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

from siting import load_project
from siting.audit import audit
from siting.optimize import optimize


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", help="project TOML (default: the bundled demo)")
    ap.add_argument("--as-of", default="2026-12-04")
    ap.add_argument("--all-candidates", action="store_true", help="also phase over every candidate")
    ap.add_argument("--time-limit", type=float, default=None, help="optimize.time_limit (s) per solve")
    args = ap.parse_args(argv)
    overrides = {"analysis.as_of": args.as_of}
    if args.time_limit:
        overrides["optimize.time_limit"] = args.time_limit
    load0 = os.getloadavg()
    t = time.perf_counter()
    project = load_project(args.config, overrides=overrides)
    t_load = time.perf_counter() - t
    t = time.perf_counter()
    result = audit(project)
    t_audit = time.perf_counter() - t
    t = time.perf_counter()
    opt = optimize(project, result)
    t_opt = time.perf_counter() - t
    c, ph = opt.comply, opt.phases
    cover = c.extra.get("matrix")
    out = {
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(), "load_before": load0,
                    "load_after": os.getloadavg()},
        "district": {"residents": float(result.townships["population"].iloc[-1]), "compounds": len(result.compounds),
                     "flagged": c.summary["flagged"], "candidates": len(c.candidates),
                     "reach_pairs": int(cover.nnz) if cover is not None else 0},
        "seconds": {"load": t_load, "audit": t_audit, "optimize_stage": t_opt},
        "comply": {k: c.summary[k] for k in ("status", "gap", "solve_time", "sites", "classes", "cost", "net_cost",
                                             "unserved_compounds")},
        "phases": {"status": ph.summary["status"], "gap": ph.summary["gap"], "solve_time": ph.summary["solve_time"],
                   "stages": [{k: s[k] for k in ("stage", "status", "gap", "seconds")} for s in ph.summary["stages"]],
                   "late_place_days": ph.summary["late_place_days"], "unserved_at_end": ph.summary["unserved_at_end"]},
    }
    if args.all_candidates:
        from siting.phases import phased_plan

        cfg = load_project(args.config, overrides={**overrides, "optimize.phase_sites": "all"}).config
        every = phased_plan(c, result.as_of, result.deadline, cfg)
        out["phases_all_candidates"] = {"status": every.summary["status"], "gap": every.summary["gap"],
                                        "solve_time": every.summary["solve_time"],
                                        "late_place_days": every.summary["late_place_days"],
                                        "stages": [{k: s[k] for k in ("stage", "status", "gap", "seconds")}
                                                   for s in every.summary["stages"]]}
    out["machine"]["load_end"] = os.getloadavg()
    print(json.dumps(out, ensure_ascii=False, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
