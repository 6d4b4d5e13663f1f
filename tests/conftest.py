import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.tiny import write_tiny_project  # noqa: E402


@pytest.fixture
def tiny_config(tmp_path):
    """Path to the config of a freshly written tiny project (see tests/tiny.py)."""
    return write_tiny_project(tmp_path / "tiny")
