"""Run mypy and import-linter on the installed layout ``qauipsiz.{hotspot,cpted,maps,api}``.

Both tools find modules by walking folders, but the subpackages live in the repository's
top-level folders (setuptools ``package-dir``) and ``qauipsiz/`` holds only ``__init__.py``; the
editable install maps them with an import hook neither tool runs.  So this builds the layout as a
symlink farm in a temporary folder -- ``TMP/qauipsiz/__init__.py`` plus
``TMP/qauipsiz/{hotspot,cpted,maps,api,data}`` -> the real folders -- and runs the tools there,
with the farm as working directory and first on ``PYTHONPATH`` (``tests/foundation/test_layers.py``
does the same for its checks).  Configuration: ``[tool.mypy]`` and ``[tool.importlinter]`` in
``pyproject.toml``.

Usage: ``python tools/lint_farm.py [mypy] [imports]`` (both when none is named); exit status is
non-zero when a tool fails.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUBPACKAGES = ("hotspot", "cpted", "maps", "api", "data")
BIN = Path(sys.executable).parent


def build_farm(tmp: Path) -> Path:
    """Create ``tmp/qauipsiz`` mirroring the installed package; return ``tmp``."""
    pkg = tmp / "qauipsiz"
    pkg.mkdir()
    for f in (ROOT / "qauipsiz").iterdir():
        if f.is_file():
            (pkg / f.name).symlink_to(f)
    for sub in SUBPACKAGES:
        (pkg / sub).symlink_to(ROOT / sub, target_is_directory=True)
    return tmp


def _run(cmd: list[str], farm: Path) -> int:
    env = {**os.environ, "PYTHONPATH": str(farm), "PYTHONDONTWRITEBYTECODE": "1"}
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=farm, env=env, check=False).returncode


def main(argv: list[str]) -> int:
    """Run the named tools (``mypy``, ``imports``) over a fresh farm."""
    tools = argv or ["mypy", "imports"]
    unknown = set(tools) - {"mypy", "imports"}
    if unknown:
        print(f"unknown tool(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    rc = 0
    with tempfile.TemporaryDirectory(prefix="qauipsiz-lint-") as tmp:
        farm = build_farm(Path(tmp))
        if "mypy" in tools:
            rc |= _run([str(BIN / "mypy"), "--config-file", str(ROOT / "pyproject.toml"),
                        "--cache-dir", str(ROOT / ".mypy_cache"), "--python-executable", sys.executable], farm)
        if "imports" in tools:
            rc |= _run([str(BIN / "lint-imports"), str(ROOT / "pyproject.toml"), "--no-cache"], farm)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
