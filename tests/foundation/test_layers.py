"""Import layers (issue 13): api above maps above cpted above hotspot, no import cycles, no bare
top-level imports.

grimp (import-linter's engine) finds modules by walking the package folder, and ``qauipsiz/`` holds
only ``__init__.py`` — the subpackages live in the repository's top-level folders (setuptools
``package-dir``).  So the checks run in a subprocess over a symlink farm: ``TMP/qauipsiz/__init__.py``
plus ``TMP/qauipsiz/{hotspot,cpted,maps,api,data}`` -> the real folders, with ``PYTHONPATH=TMP`` (it
comes before the editable finder) and the farm as working directory (import-linter puts the working
directory on ``sys.path``; the repository root would shadow the farm with the real ``qauipsiz/``).
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SUBPACKAGES = ("hotspot", "cpted", "maps", "api", "data")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _farm(tmp: Path) -> Path:
    pkg = tmp / "qauipsiz"
    pkg.mkdir()
    for f in (ROOT / "qauipsiz").glob("*.py"):
        (pkg / f.name).symlink_to(f)
    for sub in SUBPACKAGES:
        (pkg / sub).symlink_to(ROOT / sub, target_is_directory=True)
    return tmp


def _env(farm: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(farm), "PYTHONDONTWRITEBYTECODE": "1"}


@pytest.fixture(scope="module")
def farm(tmp_path_factory) -> Path:
    return _farm(tmp_path_factory.mktemp("layers"))


def test_import_linter_contracts_are_kept(farm):
    assert LINT_IMPORTS.exists(), "import-linter is not installed (pip install -e '.[test]')"
    p = subprocess.run([str(LINT_IMPORTS), str(ROOT / "pyproject.toml"), "--no-cache"], cwd=farm, env=_env(farm),
                       capture_output=True, text=True, timeout=600)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    m = re.search(r"Analyzed (\d+) files", out)
    assert m and int(m.group(1)) > 50, f"grimp did not see the subpackages:\n{out}"
    assert "4 kept, 0 broken" in out, out


_GRAPH = """
import json, grimp
g = grimp.build_graph("qauipsiz", cache_dir=None)
edges = [(m, i) for m in g.modules for i in g.find_modules_directly_imported_by(m)]
print(json.dumps({"modules": sorted(g.modules), "edges": edges}))
"""


def _group(mod: str) -> str:
    return ".".join(mod.split(".")[:3])


def test_no_import_cycles_between_modules_at_depth_3(farm):
    pytest.importorskip("grimp")
    p = subprocess.run([sys.executable, "-c", _GRAPH], cwd=farm, env=_env(farm), capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert len(data["modules"]) > 50, "grimp did not see the subpackages"
    g = nx.DiGraph()
    for a, b in data["edges"]:
        ga, gb = _group(a), _group(b)
        # a package's own __init__ re-exporting its modules is not a cycle between modules
        if ga != gb and not ga.startswith(gb + ".") and not gb.startswith(ga + "."):
            g.add_edge(ga, gb)
    cycles = list(nx.simple_cycles(g))
    assert not cycles, "import cycles (qauipsiz.x.y level):\n" + "\n".join(" -> ".join(c + c[:1]) for c in cycles[:20])


def _py_files():
    for top in ("hotspot", "cpted", "maps", "api", "tests", "bench"):
        yield from (ROOT / top).rglob("*.py")


def test_nothing_imports_the_bare_top_level_names():
    bad = []
    for f in _py_files():
        tree = ast.parse(f.read_text(encoding="utf-8"), str(f))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for n in names:
                if n.split(".")[0] in SUBPACKAGES:
                    bad.append(f"{f.relative_to(ROOT)}:{node.lineno}: {n}")
    assert not bad, "import with the qauipsiz. prefix:\n" + "\n".join(bad)
