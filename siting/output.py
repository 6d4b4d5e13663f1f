"""Atomic output: write to a temporary file beside the target, then rename over it.

An interrupted run therefore leaves the previous output intact, never a half-written file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_path", "toml_string", "write_text", "write_bytes"]


@contextlib.contextmanager
def atomic_path(path: str | Path, mode: int | None = None):
    """Yield a temporary path in the target's folder; on success it replaces ``path``.

    For writers that need a file name (GeoPackage, Excel, PDF). The temporary keeps the
    target's suffix so format detection by extension still works. ``mode`` sets the file's
    permissions before it takes the target's place (default: as the writer created it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()  # some writers (GDAL) refuse to overwrite; let them create it
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())  # a full disk shows here, before the rename, not later in a half-written file
        if mode is not None:
            os.chmod(tmp_path, mode)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes(path: str | Path, data: bytes, mode: int | None = None) -> Path:
    with atomic_path(path, mode) as tmp:
        with open(tmp, "xb") as f:
            f.write(data)  # atomic_path syncs it to disk before the rename makes it the output
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def toml_string(value: str) -> str:
    """``value`` as a TOML basic string, quotes included (JSON's escapes are TOML's)."""
    return json.dumps(str(value), ensure_ascii=False)
