"""The committed build of the front end is the build of the committed sources, and it ships.

``frontend/build.mjs`` records in ``build.json`` a hash of the sources it built from and a hash of
every file it wrote; recomputing both here needs no Node. After changing anything under
``frontend/``, rebuild: ``cd frontend && npm ci && npm run build``.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path, PurePosixPath

from service.ui import STATIC

ROOT = Path(__file__).parents[2]
FRONTEND = ROOT / "frontend"
SOURCES = ["package.json", "package-lock.json", "build.mjs", "src"]
REBUILD = "cd frontend && npm ci && npm run build"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sources_hash() -> str:
    """What build.mjs computes: sha256 over "path\\0sha256(content)\\n" for every source, by path."""
    paths: list[str] = []
    for source in SOURCES:
        full = FRONTEND / source
        found = [p for p in full.rglob("*") if p.is_file()] if full.is_dir() else [full]
        paths += [p.relative_to(FRONTEND).as_posix() for p in found]
    lines = [f"{p}\0{sha256((FRONTEND / p).read_bytes())}\n" for p in sorted(paths)]
    return sha256("".join(lines).encode())


def manifest() -> dict[str, object]:
    loaded: dict[str, object] = json.loads((STATIC / "build.json").read_text())
    return loaded


def test_the_build_is_of_the_current_sources():
    assert manifest()["sources"] == sources_hash(), f"service/ui/static is stale: {REBUILD}"


def test_the_built_files_are_the_ones_the_build_wrote():
    recorded = manifest()["files"]
    present = {p.name: sha256(p.read_bytes()) for p in STATIC.iterdir() if p.name != "build.json"}
    assert present == recorded, f"service/ui/static was changed by hand: {REBUILD}"


def test_the_bundled_library_keeps_its_licence():
    licences = (STATIC / "THIRD_PARTY_LICENSES.txt").read_text()
    assert "uPlot" in licences and "The MIT License" in licences
    lock = json.loads((FRONTEND / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/uplot"]["license"] == "MIT"


def test_the_package_data_covers_every_built_file():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["service.ui"]
    package = STATIC.parent
    for path in [p for p in STATIC.rglob("*") if p.is_file()]:
        relative = PurePosixPath(path.relative_to(package).as_posix())
        assert any(relative.match(pattern) for pattern in patterns), relative
