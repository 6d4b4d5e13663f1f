"""The whole planner's process in order: load → network → demand → audit → optimise → map/brief.

``run`` is what ``siting run`` calls; each stage is a plain function over the project and
the previous stages' results, so a notebook can call them one by one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from .i18n import t
from .project import Project, load_project

__all__ = ["RunResult", "run", "write_overview"]

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    project: Project
    out_dir: Path
    outputs: dict[str, Path] = field(default_factory=dict)


def write_overview(project: Project, out_dir: Path, lang: str = "zh", offline: bool = True) -> Path:
    """Write ``overview.html``: every layer of the project on one self-contained map."""
    from .maps.offline import save_map
    from .maps.overview import overview_map

    return save_map(overview_map(project, lang), Path(out_dir) / "overview.html", offline=offline)


def run(config: str | Path | None = None, out_dir: str | Path = "maps", lang: str = "zh",
        progress: bool = True) -> RunResult:
    """Run every stage on a project and write its outputs to ``out_dir``.

    Parameters
    ----------
    config : str or Path, optional
        The project's TOML config; ``None`` runs the bundled demo district.
    out_dir : str or Path, default "maps"
    lang : {"zh", "en"}
    progress : bool
        Show a progress bar on stderr.
    """
    out = Path(out_dir)
    stages = ["stage.load", "stage.map"]
    bar = tqdm(total=len(stages), disable=not progress, unit="步" if lang == "zh" else "step")

    def step(key):
        bar.set_description(t(key, lang))

    step("stage.load")
    project = load_project(config)
    bar.update()
    result = RunResult(project=project, out_dir=out)

    step("stage.map")
    result.outputs["overview"] = write_overview(project, out, lang)
    bar.update()
    bar.close()
    return result
