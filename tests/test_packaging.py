"""environment.yml (conda users) lists what pyproject.toml requires, with the same lower bounds.

No conda here to solve it, so at least keep the two files from drifting apart.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# PyPI name -> conda-forge name(s), where they differ
CONDA_NAMES = {"osmium": ["pyosmium"], "dask[distributed]": ["dask", "distributed"]}
# extras a conda user gets from the environment itself (dev comes through pip -e .[dev])
RUNTIME_EXTRAS = ("pdf", "batch", "notebooks")


def _requirement(text: str) -> tuple[str, str]:
    m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+(?:\[[^\]]+\])?)\s*(.*?)\s*", text)
    assert m, text
    return m.group(1).lower(), m.group(2).replace(" ", "")


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    for extra in RUNTIME_EXTRAS:
        reqs += project["optional-dependencies"][extra]
    out = {}
    for name, spec in map(_requirement, reqs):
        for conda_name in CONDA_NAMES.get(name, [name]):
            out[conda_name] = spec
    return out


def _environment() -> tuple[dict[str, str], list[str]]:
    conda, pip = {}, []
    section = None
    for line in (ROOT / "environment.yml").read_text(encoding="utf-8").splitlines():
        if line.startswith("dependencies:"):
            section = "conda"
        elif re.match(r"^\s{2}- pip:\s*$", line):
            section = "pip"
        elif section == "conda" and (m := re.match(r"^\s{2}- (\S+)\s*$", line)):
            name, spec = _requirement(m.group(1).replace("=", "==", 1) if re.match(r"^[\w\-]+=\d", m.group(1)) else m.group(1))
            conda[name] = spec
        elif section == "pip" and (m := re.match(r"^\s{6}- (.+?)\s*$", line)):
            pip.append(m.group(1))
    return conda, pip


def test_environment_yml_matches_pyproject():
    wanted = _pyproject()
    conda, pip = _environment()
    missing = sorted(set(wanted) - set(conda))
    assert not missing, f"environment.yml lacks {missing}: add them (conda-forge names) to match pyproject.toml"
    differ = {n: (wanted[n], conda[n]) for n in wanted if wanted[n] != conda[n]}
    assert not differ, f"version bounds differ (pyproject, environment.yml): {differ}"
    assert "python" in conda and "pip" in conda
    assert pip == ["-e .[dev]"]  # the package itself and the test tools come from pyproject


def test_environment_python_is_one_pyproject_accepts():
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    conda, _ = _environment()
    low = tuple(int(x) for x in re.search(r">=\s*(\d+\.\d+)", requires).group(1).split("."))
    pinned = tuple(int(x) for x in conda["python"].lstrip("=").split(".")[:2])
    assert pinned >= low
