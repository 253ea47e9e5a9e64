"""Issue 16: how far above the long-run counts can a steady-rate forecaster get on the Chicago sample?

A diagnostic, not a method: each day of a window is ranked by the counts of *every other day of
the sample* (past and future), the most a per-cell steady-rate estimate from the run's own
incidents could know, and its PAI at 1 % and 5 % is divided by that of ``longrun`` (counts of the
days before). Same cells (5,187 at res 9), days and scoring as ``bench/forecast.py``; windows V1
and V2 (the validation windows of docs/forecasting.md) and the test window. No timing: there is
no peer to time.

    .venv/bin/python bench/forecast_ceiling.py
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import add_args, machine_line
from forecast import CHICAGO, TZ, load_chicago

from qauipsiz.hotspot.forecast import day_number, prepare_events
from qauipsiz.hotspot.forecast._base import top_hits
from qauipsiz.hotspot.forecast.backtest import study_cells_from_events

WINDOWS = (("V1", "2018-04-01", "2018-09-29"), ("V2", "2018-10-01", "2019-03-29"), ("test", "2019-03-30", "2019-09-28"))


def ceiling(ev: pd.DataFrame, cells: np.ndarray, res: int, first: str, last: str) -> tuple[float, float]:
    """PAI ratio (oracle ÷ longrun) at 1 % and 5 % over the days ``first … last``."""
    e = prepare_events(ev, res, TZ)
    q = np.searchsorted(e.index_cells, cells)
    q = np.minimum(q, len(e.index_cells) - 1)
    inside = e.index_cells[q] == cells
    n = len(cells)
    ks = [max(1, round(f * n)) for f in (0.01, 0.05)]
    total = e.window_counts(-np.inf, np.inf)
    hits = np.zeros((2, 2))
    for d in range(day_number(first), day_number(last) + 1):
        a = np.where(inside, e.window_counts(d, d + 1)[q], 0.0)
        if a.sum() == 0:
            continue
        lr = np.where(inside, e.window_counts(-np.inf, d)[q], 0.0)
        oracle = np.where(inside, total[q], 0.0) - a
        hits[0] += [top_hits(lr, a, k) for k in ks]
        hits[1] += [top_hits(oracle, a, k) for k in ks]
    return float(hits[1, 0] / hits[0, 0]), float(hits[1, 1] / hits[0, 1])


def main() -> None:
    ap = add_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))  # --quick, --runs: nothing is timed
    ap.add_argument("--chicago", type=Path, default=CHICAGO)
    ap.add_argument("--res", type=int, default=9)
    a = ap.parse_args()
    if not a.chicago.exists():
        print(f"no Chicago sample at {a.chicago}: skipped")
        return
    ev = load_chicago(a.chicago)
    cells = study_cells_from_events(ev, a.res, until="2018-01-01")
    subsets = [("all crimes", ev)] + [(c, ev[ev["category"] == c]) for c in ev["category"].value_counts().index[:2]]
    print("bench/forecast_ceiling.py: PAI of ranking by the counts of every other day (past and future) "
          f"÷ PAI of longrun, res {a.res}, {len(cells):,} cells (full run; nothing timed, the same with --quick)")
    print(machine_line())
    print("| window | " + " | ".join(f"{lab} 1 % / 5 %" for lab, _ in subsets) + " |")
    print("|---|" + "---|" * len(subsets))
    for name, first, last in WINDOWS:
        r = [ceiling(sub, cells, a.res, first, last) for _, sub in subsets]
        print(f"| {name}: {first} … {last} | " + " | ".join(f"{x:.3f} / {y:.3f}" for x, y in r) + " |")


if __name__ == "__main__":
    main()
