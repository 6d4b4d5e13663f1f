"""The whole planner's process in order: load → network → demand/audit → optimise → access → map/brief.

``run`` is what ``siting run`` calls; each stage is a plain function over the project and
the previous stages' results, so a notebook can call them one by one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
from tqdm.auto import tqdm

from .access import AccessResult, access_index
from .audit import AuditResult, audit, facility_service_areas, write_audit
from .i18n import t
from .optimize import OptimizeResult, optimize, write_optimize
from .project import Project, load_project
from .load import problems_table
from .tables import write_csv, write_gpkg

__all__ = ["RunResult", "run", "STAGES"]

log = logging.getLogger(__name__)

STAGES = ("load", "audit", "optimize", "access", "map", "brief")


@dataclass
class RunResult:
    project: Project
    out_dir: Path
    audit: AuditResult | None = None
    service_areas: "gpd.GeoDataFrame | None" = None
    optimize: "OptimizeResult | None" = None
    access: "AccessResult | None" = None
    outputs: dict[str, Path] = field(default_factory=dict)


def run(config: str | Path | None = None, out_dir: str | Path = "maps", lang: str = "zh",
        stages: tuple[str, ...] = STAGES, overrides: dict | None = None, progress: bool = True) -> RunResult:
    """Run the stages on a project and write their outputs to ``out_dir``.

    Parameters
    ----------
    config : str or Path, optional
        The project's TOML config; ``None`` runs the bundled demo district.
    out_dir : str or Path, default "maps"
    lang : {"zh", "en"}
    stages : tuple of str
        Which of ``STAGES`` to run after loading (load always runs).
    overrides : dict, optional
        ``{"section.key": value}`` on top of the config.
    progress : bool
        Show a progress bar on stderr.
    """
    out = Path(out_dir)
    _check_writable(out)
    todo = [s for s in STAGES if s in stages or s == "load"]
    with tqdm(total=len(todo), disable=not progress, unit="步" if lang == "zh" else "step") as bar:
        return _run_stages(config, out, lang, todo, overrides, bar)


def _check_writable(out: Path) -> None:
    """Fail before any work when the output folder cannot be written (OSError names the path)."""
    import tempfile

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=out, prefix=".siting-probe-"):
        pass


def _run_stages(config, out: Path, lang: str, todo: list[str], overrides, bar) -> RunResult:
    def step(key):
        bar.set_description(t(f"stage.{key}", lang))

    step("load")
    project = load_project(config, overrides)
    bar.update()
    result = RunResult(project=project, out_dir=out)
    # what loading dropped, assumed or inferred, row by row, beside the results it shaped
    result.outputs["input_notes_csv"] = write_csv(problems_table(project.problems, lang), out / "input_notes.csv")

    if "audit" in todo:
        step("audit")
        result.audit = audit(project)
        result.outputs.update(write_audit(result.audit, out, lang))
        result.service_areas = facility_service_areas(project, result.audit)
        result.outputs["service_areas"] = write_gpkg({"service_areas": result.service_areas}, out / "service_areas.gpkg")
        bar.update()

    if "optimize" in todo:
        step("optimize")
        if result.audit is None:
            result.audit = audit(project)
        result.optimize = optimize(project, result.audit)
        result.outputs.update(write_optimize(result.optimize, out, lang))
        bar.update()

    if ("map" in todo or "brief" in todo) and result.audit is None:
        result.audit = audit(project)

    if "access" in todo or "map" in todo or "brief" in todo:
        step("access")
        result.access = access_index(project, result.audit, result.optimize)
        if "access" in todo:
            bar.update()
    annex = None
    if result.optimize is not None and result.optimize.comply is not None:
        from .plan import annex_table

        annex = annex_table(result.audit, result.optimize)
    if ("audit" in todo or "access" in todo) and (result.access is not None or annex is not None):
        # audit.xlsx / .gpkg / CSVs (again), now with the index before and after the plans and the
        # list of compounds to remedy with their sites and phases
        result.outputs.update(write_audit(result.audit, out, lang, access=result.access, annex=annex))

    if "map" in todo:
        step("map")
        from .maps.district import write_maps

        result.outputs.update(write_maps(project, result.audit, result.optimize, out, lang,
                                         service_areas=result.service_areas, access=result.access,
                                         briefing="brief" in todo))
        bar.update()

    if "brief" in todo:
        step("brief")
        from .brief import write_briefing

        result.outputs.update(write_briefing(project, result.audit, result.optimize, out, lang, access=result.access))
        bar.update()
    return result
