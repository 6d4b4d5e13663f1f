"""The ``siting`` command line. Messages are in Chinese unless ``--lang en``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .errors import SitingError
from .i18n import t

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="siting", description="托育设施缺口评估与选址 / childcare gap audit and nursery siting")
    p.add_argument("--lang", choices=["zh", "en"], default="zh", help="language of messages and outputs (default zh)")
    p.add_argument("-v", "--verbose", action="store_true", help="show log messages")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="运行全部步骤 / run every stage")
    run.add_argument("--config", type=Path, help="project TOML (default: the bundled demo district)")
    run.add_argument("--out", type=Path, default=Path("maps"), help="output folder (default maps/)")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    val = sub.add_parser("validate", help="检查全部图层 / check every layer")
    val.add_argument("--config", type=Path, help="project TOML (default: the bundled demo district)")
    return p


def _cmd_run(args) -> int:
    from .pipeline import run

    result = run(args.config, args.out, lang=args.lang, progress=not args.no_progress)
    if result.project.demo:
        print(t("run.demo_notice", args.lang))
    for path in result.outputs.values():
        print(t("run.wrote", args.lang, path=path))
    print(t("run.done", args.lang, out=args.out.resolve()))
    return 0


def _cmd_validate(args) -> int:
    from .load import format_problems
    from .project import load_project

    project = load_project(args.config)
    lang = args.lang
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


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return {"run": _cmd_run, "validate": _cmd_validate}[args.command](args)
    except SitingError as exc:
        print(t("error.prefix", args.lang) + exc.message(args.lang), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
