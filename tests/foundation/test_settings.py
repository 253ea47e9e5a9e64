"""One source of truth for configuration (issue 13): only ``api/settings.py`` touches the environment."""
from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from qauipsiz.api.settings import get_settings, publish, to_env

ROOT = Path(__file__).resolve().parents[2]


_ENV_NAMES = ("environ", "environb", "getenv", "putenv", "unsetenv")


def _environ_uses(path: Path) -> list[int]:
    """Lines of ``os.environ`` / ``os.getenv`` / ``os.putenv`` / ``os.unsetenv`` in one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [node.lineno for node in ast.walk(tree)
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"
                and node.attr in _ENV_NAMES)
            or (isinstance(node, ast.ImportFrom) and node.module == "os"
                and any(a.name in _ENV_NAMES for a in node.names))]


def test_only_the_settings_module_reads_or_writes_the_environment():
    bad = []
    for top in ("qauipsiz", "hotspot", "cpted", "maps", "api"):
        for f in (ROOT / top).rglob("*.py"):
            if f == ROOT / "api" / "settings.py":
                continue
            bad += [f"{f.relative_to(ROOT)}:{n}" for n in _environ_uses(f)]
    assert not bad, "read the environment through qauipsiz.api.settings.get_settings():\n" + "\n".join(bad)


def test_published_settings_round_trip(monkeypatch, tmp_path):
    for name in to_env(get_settings()):
        monkeypatch.delenv(name, raising=False)
    s = dataclasses.replace(get_settings(), data_dir=tmp_path, database_url="sqlite:///x.db", city="almaty",
                            cors_origins=("http://a", "http://b"), max_upload_mb=7.5, public_round=10,
                            warm=True, debug=True)
    for name in to_env(s):  # publish writes os.environ directly; let monkeypatch restore it
        monkeypatch.setenv(name, "placeholder")
    publish(s)
    assert get_settings() == s
    publish(dataclasses.replace(s, warm=False, debug=False))
    assert get_settings().warm is False and get_settings().debug is False
