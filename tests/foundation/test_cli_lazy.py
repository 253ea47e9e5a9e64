"""Lazy command loading (api/cli/_lazy.py): the same commands, help and suggestions as loading every
module, but a command imports only its own module."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from qauipsiz.api.cli._lazy import COMMANDS, scan

ENV = {**os.environ, "COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1"}

EAGER = "from qauipsiz.api.cli import app; app(prog_name='qauipsiz')"       # every module imported first
LAZY = "from qauipsiz.api.cli import main; import sys; sys.argv[0] = 'qauipsiz'; main()"  # the console script


def _run(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=ENV, timeout=120)


def test_command_table_matches_what_the_modules_register():
    """A new command module, a renamed command or a changed help line must update COMMANDS."""
    assert list(COMMANDS) == scan()


@pytest.mark.parametrize("args", [["--help"], [], ["city", "--help"], ["national", "--help"],
                                  ["forecast", "--help"], ["ingest-layer"], ["nope"]])
def test_lazy_output_is_the_eager_output(args):
    eager, lazy = _run(EAGER, *args), _run(LAZY, *args)
    assert (lazy.returncode, lazy.stdout, lazy.stderr) == (eager.returncode, eager.stdout, eager.stderr)
    if args == ["--help"]:
        for name, _, _ in COMMANDS:
            assert f" {name} " in lazy.stdout, name


def _loaded_after(*args: str) -> list[str]:
    code = ("import sys, json, contextlib, io\n"
            "from qauipsiz.api.cli._app import app\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n"
            f"        app({list(args)!r}, prog_name='qauipsiz')\n"
            "    except SystemExit:\n"
            "        pass\n"
            "print(json.dumps(sorted(sys.modules)))")
    r = _run(code)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def _cli_modules(mods: list[str]) -> set[str]:
    return {m.rsplit(".", 1)[1] for m in mods if m.startswith("qauipsiz.api.cli.")}


def test_help_imports_no_command_module():
    mods = {m for _, ms, _ in COMMANDS for m in ms.split()}
    loaded = _loaded_after("--help")
    assert not _cli_modules(loaded) & mods, _cli_modules(loaded) & mods
    assert not {"geopandas", "sqlalchemy", "fastapi"} & set(loaded)


def test_a_command_imports_only_its_modules():
    every = _loaded_after("forecast", "--help")
    assert "geopandas" not in every  # help only: the settings callback (city registry) is skipped
    loaded = _cli_modules(every)
    assert "forecast" in loaded
    assert not loaded & {"serve", "national", "cpted", "geocode", "ingest", "pipeline", "case"}, loaded
    loaded = _cli_modules(_loaded_after("city", "--help"))
    assert {"cities", "osm"} <= loaded  # osm adds `city import-osm`


def test_a_real_command_still_applies_the_settings(tmp_path):
    """Skipping the settings callback is for help only: a real command points the city registry at
    ``QAUIPSIZ_DATA_DIR/cities``; ``cities --help`` does not need to."""
    code = ("import sys, contextlib, io\n"
            "from qauipsiz.api.cli._app import app\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n"
            "        app(sys.argv[1:], prog_name='qauipsiz')\n"
            "    except SystemExit:\n"
            "        pass\n"
            "m = sys.modules.get('qauipsiz.hotspot.cities')\n"
            "print(m._user_dir if m else None)")
    env = {**ENV, "QAUIPSIZ_DATA_DIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", code, "cities"], capture_output=True, text=True, env=env, timeout=120)
    assert run.stdout.strip().splitlines()[-1] == str((tmp_path / "cities").resolve()), run.stderr
    helps = subprocess.run([sys.executable, "-c", code, "cities", "--help"], capture_output=True, text=True, env=env,
                           timeout=120)
    assert helps.stdout.strip().splitlines()[-1] == "None", helps.stderr
