"""Geocoding throughput on messy Astana addresses vs a plain rapidfuzz ``extractOne`` baseline.

    python bench/geocode.py [--quick] [--n 10000]

In one run, on one core (the process is pinned to one CPU where the OS allows it):

* **ours, messy** — ``Geocoder(gazetteer).geocode(addresses)`` on N unique messy addresses made by
  the labelled-set generator (``tests/geocode/make_labelled_set.py``, another seed): keyboard
  folding, genitive, abbreviations, typos, 2021 Latin, swapped words, intersections, house numbers.
  A fresh geocoder per run, so nothing is cached from an earlier run.
* **ours, exact path** — N unique texts that are gazetteer names plus a house number.
* **baseline** — ``rapidfuzz.process.extractOne(address, raw_street_names)`` (default WRatio
  scorer, no normalisation) on a subset of the same messy addresses.

Rates are addresses per CPU-second (``time.process_time``, immune to other processes on a shared
machine) and per wall-clock second.  The right-street rate of both on the messy set is printed too.
Targets: ≥ 5,000 messy addresses/s and ≥ 50,000 exact addresses/s on one core.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rapidfuzz import process

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qauipsiz.hotspot.geocode.gazetteer import Gazetteer, is_stale, shipped_dir  # noqa: E402
from qauipsiz.hotspot.geocode.matcher import Geocoder  # noqa: E402


def _pin_one_core() -> str:
    try:
        cpu = sorted(os.sched_getaffinity(0))[0]
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):
        return "not pinned"


def _messy(n: int, seed: int) -> pd.DataFrame:
    spec = importlib.util.spec_from_file_location("make_labelled_set", ROOT / "tests/geocode/make_labelled_set.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "m.csv"
        mod.main(["--n", str(n), "--seed", str(seed), "--out", str(out)])
        return pd.read_csv(out, dtype=str, keep_default_na=False)


def _timed(fn, repeat: int):
    best_cpu = best_wall = np.inf
    out = None
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        out = fn()
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    return out, best_cpu, best_wall


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small smoke run")
    ap.add_argument("--n", type=int, default=None, help="messy addresses (default 10,000; quick 1,000)")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args(argv)
    n = a.n or (1_000 if a.quick else 10_000)
    n_base = min(n, 300 if a.quick else 2_000)
    repeat = 1 if a.quick else 3
    print(f"geocode bench: {_pin_one_core()}, n = {n:,} messy, baseline on {n_base:,}")

    folder = shipped_dir("astana")
    gaz = Gazetteer.load(folder)
    if is_stale(gaz.meta):
        from qauipsiz.hotspot.geocode.gazetteer import build_gazetteer

        gaz = build_gazetteer("astana")
    names = list(dict.fromkeys(n_ for s in gaz.streets["names"] for n_ in s.split("|")))
    lab = _messy(n, a.seed)
    texts = lab["address"].tolist()

    # ours, messy (fresh geocoder per repeat: index build is outside the timing, no result cache)
    gs = [Geocoder(gaz) for _ in range(repeat)]
    it = iter(gs)
    res, cpu_m, wall_m = _timed(lambda: next(it).geocode(texts), repeat)
    sets = [set(s.split("|")) for s in gaz.streets["names"]]
    right = np.array([s >= 0 and (x in sets[s] or (y != "" and y in sets[s]))
                      for s, x, y in zip(res["street_id"], lab["street"], lab["cross_street"], strict=True)])

    # ours, exact path
    rng = np.random.default_rng(a.seed)
    exact = [f"{names[i]}, {h}" for i, h in zip(rng.integers(0, len(names), n * 5), rng.integers(1, 400, n * 5),
                                                    strict=True)]
    exact = list(dict.fromkeys(exact))[: n * 2]
    gs = [Geocoder(gaz) for _ in range(repeat)]
    it = iter(gs)
    res_e, cpu_e, wall_e = _timed(lambda: next(it).geocode(exact), repeat)
    assert (res_e["precision"] == "street").all() and (res_e["score"] == 100).all()

    # baseline: plain extractOne over raw names
    sub = texts[:n_base]
    base, cpu_b, wall_b = _timed(lambda: [process.extractOne(t, names) for t in sub], 1)
    right_b = np.array([m is not None and (m[0] == x or m[0] == y)
                        for m, x, y in zip(base, lab["street"][:n_base], lab["cross_street"][:n_base], strict=True)])

    rate = lambda k, t: k / t if t > 0 else float("inf")  # noqa: E731
    rm, re_, rb = rate(len(texts), cpu_m), rate(len(exact), cpu_e), rate(n_base, cpu_b)
    print(f"{'':32}{'addr/s (CPU)':>14}{'addr/s (wall)':>15}{'right street':>14}")
    print(f"{'ours, messy':32}{rm:>14,.0f}{rate(len(texts), wall_m):>15,.0f}{right.mean():>14.1%}")
    print(f"{'ours, exact path':32}{re_:>14,.0f}{rate(len(exact), wall_e):>15,.0f}{'':>14}")
    print(f"{'rapidfuzz extractOne, raw names':32}{rb:>14,.0f}{rate(n_base, wall_b):>15,.0f}{right_b.mean():>14.1%}")
    print(f"ratio ours/baseline (messy, CPU): {rm / rb:.1f}x faster; "
          f"right street {right.mean():.1%} vs {right_b.mean():.1%}")
    print(f"targets: messy ≥ 5,000/s {'MET' if rm >= 5000 else 'MISSED'}; "
          f"exact ≥ 50,000/s {'MET' if re_ >= 50000 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
