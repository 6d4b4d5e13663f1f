"""The ``siting`` command line. Messages are in Chinese unless ``--lang en``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .errors import SitingError
from .i18n import t

__all__ = ["main"]


def _project_args(cmd, out: bool = True) -> None:
    """The options every command on one project takes."""
    cmd.add_argument("--config", type=Path, help="project TOML (default: the bundled demo district)")
    if out:
        cmd.add_argument("--out", type=Path, default=Path("maps"), help="output folder (default maps/)")
        cmd.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _scenario_args(cmd) -> None:
    cmd.add_argument("-p", type=int, help="number of new sites (default optimize.p)")
    cmd.add_argument("--budget", type=float, help="budget in yuan instead of p")
    cmd.add_argument("--comply", action="store_true",
                     help="propose the full-compliance plan: every flagged compound served, every township at the target")


def _scenario_overrides(args) -> dict:
    overrides = {}
    if args.p is not None:
        overrides["optimize.p"] = args.p
    if args.budget is not None:
        overrides["optimize.budget"] = args.budget
    if args.comply:
        overrides["optimize.scenario"] = "comply"
    return overrides


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="siting", description="托育设施缺口评估与选址 / childcare gap audit and nursery siting")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of messages and outputs (default zh)")
    p.add_argument("-v", "--verbose", action="store_true", help="show log messages")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="运行全部步骤 / run every stage")
    _project_args(run)
    run.add_argument("--osm", type=Path, metavar="FILE",
                     help="run on an OpenStreetMap extract (.osm or .osm.pbf) alone, no other input "
                          "(the layers made from it are written to OUT/osm-project)")

    fet = sub.add_parser("fetch", help="从 OpenStreetMap 下载项目数据 / download a project from OpenStreetMap")
    area = fet.add_mutually_exclusive_group(required=True)
    area.add_argument("--place", help='a place name, e.g. "岚山区, 日照市, 山东省, 中国"')
    area.add_argument("--polygon", type=Path, metavar="FILE", help="a polygon file (GeoJSON, GeoPackage, Shapefile) of the area")
    area.add_argument("--bbox", metavar="W,S,E,N", help="a bounding box in degrees")
    fet.add_argument("--out", type=Path, required=True, help="folder for roads.osm, the layers and siting.toml")

    aud = sub.add_parser("audit", help="需求与合规评估 / demand and compliance audit")
    _project_args(aud)
    aud.add_argument("--as-of", help="date for deadlines and days left, YYYY-MM-DD (default today)")

    opt = sub.add_parser("optimize", help="选址优化 / propose new sites")
    _project_args(opt)
    _scenario_args(opt)

    acc = sub.add_parser("access", help="沿路托育可达性（两步移动搜索法）及公平性 / access index (2SFCA) and equity")
    _project_args(acc)
    _scenario_args(acc)
    acc.add_argument("--method", choices=["2sfca", "3sfca"], help="default access.method")
    acc.add_argument("--decay", choices=["step", "gaussian", "gravity", "steps"], help="default access.decay")
    acc.add_argument("--beta", type=float, help="gravity decay exponent (default access.beta)")

    mp = sub.add_parser("map", help="绘制区县与乡镇地图 / district and township maps")
    _project_args(mp)
    mp.add_argument("--basemap", choices=["none", "osm", "tianditu", "amap"],
                    help="online basemap (default maps.basemap: none, offline)")
    mp.add_argument("--no-sites", action="store_true", help="audit only: no proposed sites on the maps")

    br = sub.add_parser("brief", help="生成用地会审简报 / the briefing for land-allocation meetings")
    _project_args(br)
    _scenario_args(br)

    bat = sub.add_parser("batch", help="多个区县并行运行 / run many districts on dask")
    bat.add_argument("districts", type=Path, help="districts CSV: id, name and config | osm | outline + seed + population")
    bat.add_argument("--out", type=Path, required=True, help="output folder: <id>/ per district, summary, index")
    bat.add_argument("--scheduler", metavar="ADDRESS", help="address of a running dask scheduler (default: a local cluster)")
    bat.add_argument("--workers", type=int, help="local worker processes (default: the number of cores)")
    bat.add_argument("--retries", type=int, default=2, help="retries of a failed task or dead worker (default 2)")
    bat.add_argument("--force", action="store_true", help="rerun districts whose outputs are complete")

    val = sub.add_parser("validate", help="检查全部图层 / check every layer")
    _project_args(val, out=False)
    return p


def _cmd_run(args) -> int:
    from .pipeline import run

    config = args.config
    if args.osm is not None:
        from .errors import ConfigError
        from .osm import project_from_osm

        if config is not None:
            raise ConfigError("give either --config or --osm, not both", "--config 与 --osm 只能指定一个")
        config = project_from_osm(args.osm, args.out / "osm-project")
    result = run(config, args.out, lang=args.lang, progress=not args.no_progress)
    return _report(result, args)


def _cmd_fetch(args) -> int:
    from .osm import fetch

    config = fetch(args.out, place=args.place, polygon=args.polygon, bbox=args.bbox)
    print(("已写出项目配置：" if args.lang == "zh" else "Wrote the project config: ") + str(config))
    print(("检查：siting validate --config " if args.lang == "zh" else "Check it: siting validate --config ") + str(config))
    return 0


def _report(result, args) -> int:
    if result.project.demo:
        print(t("run.demo_notice", args.lang))
    for path in result.outputs.values():
        print(t("run.wrote", args.lang, path=path))
    print(t("run.done", args.lang, out=args.out.resolve()))
    return 0


def _cmd_audit(args) -> int:
    from .pipeline import run

    overrides = {"analysis.as_of": args.as_of} if args.as_of else None
    result = run(args.config, args.out, lang=args.lang, stages=("audit",), overrides=overrides,
                 progress=not args.no_progress)
    return _report(result, args)


def _cmd_optimize(args) -> int:
    from .pipeline import run

    overrides = _scenario_overrides(args)
    result = run(args.config, args.out, lang=args.lang, stages=("audit", "optimize"), overrides=overrides,
                 progress=not args.no_progress)
    from .tables import money

    sc = result.optimize.scenario
    comply = result.optimize.comply
    if comply is not None:
        s = comply.summary
        print(t("comply.summary", args.lang, sites=s["sites"], classes=s["classes"], places=s["places"],
                cost=money(s["cost"], args.lang), net=money(s["net_cost"], args.lang), status=s["status"],
                unserved=s["unserved_compounds"], flagged=s["flagged"]))
        g = result.optimize.gap
        if g and "extra_cost" in g and sc.get("kind") != "comply":
            unit = " 万元" if args.lang == "zh" else " yuan"
            print(t("comply.gap", args.lang, per=f"{g['per_1000_after']:.2f}", short=f"{g['places_short_after']:,.0f}",
                    flagged=g["flagged"], left=g["flagged_left"], sites=g["extra_sites"],
                    extra=money(g["extra_cost"], args.lang) + unit, extra_net=money(g["extra_net_cost"], args.lang) + unit))
    if args.lang == "zh":
        print(f"建议新增 {sc['p']} 处，可服务未满足托位 {sc.get('objective', 0):,.0f} / {sc.get('unmet_total', 0):,.0f} 个（{sc.get('status', '')}）")
    else:
        print(f"Proposed {sc['p']} sites serving {sc.get('objective', 0):,.0f} of {sc.get('unmet_total', 0):,.0f} unmet places ({sc.get('status', '')})")
    return _report(result, args)


def _cmd_access(args) -> int:
    from .pipeline import run
    from .tables import number

    overrides = _scenario_overrides(args)
    for key in ("method", "decay", "beta"):
        if getattr(args, key) is not None:
            overrides[f"access.{key}"] = getattr(args, key)
    result = run(args.config, args.out, lang=args.lang, stages=("audit", "optimize", "access"), overrides=overrides,
                 progress=not args.no_progress)
    acc = result.access
    unit = acc.unit(args.lang)
    for scenario in acc.scenarios:
        row = acc.district(scenario)
        print(t("access.summary", args.lang, scenario=t(f"access.{scenario}", args.lang), unit=unit,
                mean=number(row["access_mean"], 1), gini=number(row["gini"], 3), threshold=number(acc.threshold, 1),
                below=f"{row['share_below']:.1%}"))
    return _report(result, args)


def _cmd_map(args) -> int:
    from .pipeline import run

    overrides = {"maps.basemap": args.basemap} if args.basemap else None
    stages = ("audit", "map") if args.no_sites else ("audit", "optimize", "map")
    result = run(args.config, args.out, lang=args.lang, stages=stages, overrides=overrides, progress=not args.no_progress)
    return _report(result, args)


def _cmd_brief(args) -> int:
    from .pipeline import run

    overrides = _scenario_overrides(args)
    result = run(args.config, args.out, lang=args.lang, stages=("audit", "optimize", "brief"), overrides=overrides,
                 progress=not args.no_progress)
    return _report(result, args)


def _cmd_batch(args) -> int:
    from .batch import run_batch

    result = run_batch(args.districts, args.out, scheduler=args.scheduler, workers=args.workers, retries=args.retries,
                       lang=args.lang, force=args.force, log=print)
    for path in result.outputs.values():
        print(t("run.wrote", args.lang, path=path))
    print(t("run.done", args.lang, out=args.out.resolve()))
    return 1 if len(result.failed) else 0


def _cmd_validate(args) -> int:
    from .errors import DataError
    from .load import format_problems
    from .project import load_project

    lang = args.lang
    try:
        project = load_project(args.config)
    except DataError as exc:
        problems = getattr(exc, "problems", None)
        if not problems:
            raise
        errors = [p for p in problems if p.severity == "error"]
        print((f"{len(errors)} 个错误，{len(problems) - len(errors)} 个警告：" if lang == "zh"
               else f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s):"))
        print(format_problems(errors + [p for p in problems if p.severity != "error"], lang))
        return 1
    for name in ("boundary", "townships", "compounds", "childcare", "health", "parcels"):
        print(t("layers.summary", lang, layer=name, n=len(project.layer(name))))
    if project.roads is not None:
        print(t("roads.summary", lang, nodes=project.roads.number_of_nodes(), edges=project.roads.number_of_edges()))
    warnings = [p for p in project.problems if p.severity != "error"]
    if warnings:
        print(t("validate.warnings", lang, n=len(warnings)))
        print(format_problems(warnings, lang))
    print(t("validate.ok", lang, n=6))
    return 0


_LOCKED_WINERRORS = (32, 33)  # Windows: sharing / lock violation (a file open in Excel)


def _os_error(exc: OSError, lang: str) -> str:
    """One line saying which file could not be written, why, and what to do."""
    import errno

    path = exc.filename or "?"
    if getattr(exc, "winerror", None) in _LOCKED_WINERRORS or exc.errno in (errno.EBUSY, errno.ETXTBSY):
        return t("error.locked", lang, path=path)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return t("error.disk_full", lang, path=path)
    if exc.errno == errno.EROFS:
        return t("error.read_only", lang, path=path)
    if isinstance(exc, PermissionError) or exc.errno in (errno.EACCES, errno.EPERM):
        return t("error.permission", lang, path=path)
    return t("error.write", lang, path=path, reason=exc.strerror or str(exc))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        commands = {"run": _cmd_run, "fetch": _cmd_fetch, "audit": _cmd_audit, "optimize": _cmd_optimize,
                    "access": _cmd_access, "map": _cmd_map, "brief": _cmd_brief, "validate": _cmd_validate}
        commands["batch"] = _cmd_batch
        return commands[args.command](args)
    except SitingError as exc:
        print(t("error.prefix", args.lang) + exc.message(args.lang), file=sys.stderr)
        return 2
    except OSError as exc:  # writing outputs: one clear line, never a traceback
        print(t("error.prefix", args.lang) + _os_error(exc, args.lang), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
