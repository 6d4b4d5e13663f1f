"""The planners' notebooks: stored without outputs, and each runs end to end on the demo data.

Executed with nbclient on a kernel running this interpreter (the venv's python with ipykernel),
so ``make test`` runs them; a notebook that raises fails its test with the cell's traceback.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from siting.project import DEMO_CONFIG

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
TIMEOUT = 300  # per cell, seconds; each notebook takes well under a minute on the demo
EXPECTED = ["01_quickstart.ipynb", "02_your_own_data.ipynb", "03_scenarios.ipynb"]

nbformat = pytest.importorskip("nbformat")


def test_the_three_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_stored_without_outputs(path):
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    for i, cell in enumerate(book.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} has stored outputs: clear them"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count: clear outputs"
    assert "widgets" not in book.metadata


@pytest.mark.skipif(not (DEMO_CONFIG.parent / "roads.osm").exists(), reason="bundled demo data not present")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_the_demo(path, tmp_path):
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel", reason="ipykernel not installed: pip install -e '.[dev]'")
    book = nbformat.read(path, as_version=4)
    # first cell: prove the kernel is this interpreter (the venv), not some other python3 on the machine
    book.cells.insert(0, nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    client = nbclient.NotebookClient(book, timeout=TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    printed = "".join(o.get("text", "") for o in book.cells[0].outputs).strip()
    assert Path(printed).resolve() == Path(sys.executable).resolve(), printed
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    print(f"{path.name}: {elapsed:.1f} s")
    assert elapsed < 240, f"{path.name} took {elapsed:.0f} s; keep notebooks under a minute on the demo"
