#!/usr/bin/env python3
"""Re-fetch the vendored map assets from the npm registry.

Usage (from the repository root)::

    python siting/maps/vendor/fetch.py           # download, copy, rewrite the sha256 table
    python siting/maps/vendor/fetch.py --check   # only verify files on disk against manifest.json

For every ``package@version`` in ``manifest.json`` this runs ``npm pack --ignore-scripts``
(a plain tarball download: no install scripts run), extracts it with Python's ``tarfile``
data filter, and copies the listed files and licence files into ``<name>@<version>/``
next to this script (a scoped name ``@scope/name`` becomes ``scope-name``). Files listed
under ``derived`` are built from the package by the functions below. Finally it writes the
sha256 of every vendored file into the manifest, so a later ``--check`` (and the test-suite)
can tell if a file was edited by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"


def package_dir(spec: str) -> str:
    """Folder name for ``name@version``: ``@scope/name@1.0`` -> ``scope-name@1.0``."""
    return spec.lstrip("@").replace("/", "-")


def glyphicons_css(package: Path, spec: str) -> str:
    """Bootstrap 3 glyphicons alone: the @font-face and every rule whose selectors all start with .glyphicon."""
    css = (package / "dist/css/bootstrap.css").read_text(encoding="utf-8")
    header = (
        f"/* Glyphicons Halflings rules extracted from {spec} dist/css/bootstrap.css by fetch.py.\n"
        " * Bootstrap (https://getbootstrap.com/) Copyright 2011-2019 Twitter, Inc. MIT licence, see LICENSE. */\n"
    )
    kept = []
    # bootstrap.css is unminified: one top-level rule per "selectors {\n ... \n}" block, and the
    # glyphicon rules are never nested in @media, so a flat scan is enough.
    for m in re.finditer(r"(^[^{}\n][^{}]*)\{([^{}]*)\}", css, flags=re.M):
        selectors = [s.strip() for s in m.group(1).split(",")]
        if m.group(1).strip() == "@font-face" and "Glyphicons Halflings" in m.group(2):
            kept.append(m.group(0))
        elif all(s.startswith(".glyphicon") for s in selectors):
            kept.append(m.group(0))
    if len(kept) < 200:  # 3.4.1 has ~260 glyph rules; far fewer means the format changed
        raise SystemExit(f"glyphicons extraction found only {len(kept)} rules in {spec}")
    # The font sits in dist/fonts; vendored copy keeps that layout, so fix the relative path.
    return header + "\n".join(kept).replace("../fonts/", "dist/fonts/") + "\n"


DERIVED = {"glyphicons.css": glyphicons_css}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def vendored_files(manifest: dict) -> list[str]:
    """Every vendored file, relative to this folder, in manifest order."""
    out = []
    for spec, pkg in manifest["packages"].items():
        d = package_dir(spec)
        for rel in [*pkg["license"], *pkg["files"], *pkg.get("derived", {})]:
            out.append(f"{d}/{rel}")
    return out


def fetch(manifest: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for spec, pkg in manifest["packages"].items():
            print(f"npm pack {spec}", file=sys.stderr)
            out = subprocess.run(
                ["npm", "pack", "--ignore-scripts", "--silent", "--pack-destination", str(tmp), spec],
                check=True, capture_output=True, text=True,
            ).stdout.strip().splitlines()[-1]
            unpacked = tmp / package_dir(spec)
            with tarfile.open(tmp / out) as tar:
                tar.extractall(unpacked, filter="data")
            src = unpacked / "package"
            dest = HERE / package_dir(spec)
            if dest.exists():
                shutil.rmtree(dest)
            for rel in [*pkg["license"], *pkg["files"]]:
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src / rel, dest / rel)
            for rel in pkg.get("derived", {}):
                (dest / rel).write_text(DERIVED[rel](src, spec), encoding="utf-8")
    manifest["sha256"] = {rel: sha256(HERE / rel) for rel in vendored_files(manifest)}
    MANIFEST.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def check(manifest: dict) -> list[str]:
    """Problems with the vendored files (missing, changed, unlisted); empty when all is well."""
    problems = []
    for rel in vendored_files(manifest):
        path = HERE / rel
        if not path.is_file():
            problems.append(f"missing: {rel}")
        elif manifest["sha256"].get(rel) != sha256(path):
            problems.append(f"sha256 differs from manifest: {rel}")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only verify the files against manifest.json")
    args = ap.parse_args(argv)
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    if not args.check:
        fetch(manifest)
    problems = check(manifest)
    for p in problems:
        print(p, file=sys.stderr)
    print(f"{len(vendored_files(manifest)) - len(problems)} files OK, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
