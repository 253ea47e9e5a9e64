"""CLI start-up: wall time of ``qauipsiz --help`` and ``qauipsiz forecast --help`` with lazy command
loading (ours, ``api/cli/_lazy.py``) against importing every command module first (the baseline:
what ``api/cli/__init__.py`` did before; ``from qauipsiz.api.cli import app`` still does it).

Each timed call is a fresh Python process (the cost a user pays per command). The outputs of ours
and the baseline are compared after the timing: they must be identical.

    .venv/bin/python bench/cli_start.py --quick
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import add_args, compare, header

ENV = {**os.environ, "COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1"}
LAZY = "import sys; sys.argv[0] = 'qauipsiz'; from qauipsiz.api.cli import main; main()"
EAGER = "from qauipsiz.api.cli import app; app(prog_name='qauipsiz')"


def _call(code: str, args: list[str]):
    def run() -> str:
        r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=ENV, check=False)
        return r.stdout + r.stderr
    return run


def main() -> None:
    ap = add_args(argparse.ArgumentParser(description=__doc__))
    a = ap.parse_args()
    header("CLI start-up (fresh process per call)", a.quick, a.runs)
    bad = []
    for args in (["--help"], ["forecast", "--help"]):
        name = f"qauipsiz {' '.join(args)}"
        _, _, out_o, out_p = compare(name, _call(LAZY, args), _call(EAGER, args),
                                     "every command module imported first, as before", runs=a.runs)
        same = out_o == out_p
        print(f"  same output as the baseline: {same}")
        if not same:
            bad.append(name)
    if bad:
        raise SystemExit(f"outputs differ: {bad}")


if __name__ == "__main__":
    main()
