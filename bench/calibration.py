"""Null calibration and power of the default Gi* vs esda's G_Local(star=True).

For each cell mean (sparsity level) prints the share of null runs (homogeneous Poisson, no
pattern) in which any cell is flagged at 95 % (BH q < 0.05, two-sided), and the recall of planted
7-cell clusters (background = that mean, clusters at mean max(2, 3·mean)), for:

* ours     — ``qauipsiz.hotspot.gistar.gi_star`` with its defaults (inference="auto");
* esda-an  — ``esda.G_Local(star=True, transform="B")`` normal p (``2·p_norm``), BH;
* esda-999 / esda-9999 — the same with 999 / 9,999 permutations (``2·p_sim``), BH.

    .venv/bin/python bench/calibration.py --quick     # a few minutes
    .venv/bin/python bench/calibration.py             # more replicates, 10k-cell grids too

The calibration table is a statistical comparison, not a timing. For each grid one timing line
compares, the one way of ``bench/_timing.py`` (same warm-up, same number of runs, median, min–max,
ratio of medians), ours with its defaults against esda G_Local with 9,999 permutations (the esda
setting whose calibration comes closest) on the same sparse draw (mean 0.3), both as run in the
table (esda ``n_jobs=1``).
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import h3
import numpy as np

from qauipsiz.hotspot._inference import bh_adjust
from qauipsiz.hotspot.binning import ring_weights
from qauipsiz.hotspot.gistar import gi_star

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import add_args, compare, header

MEANS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


def disk(k: int, res: int = 9) -> np.ndarray:
    c = h3.api.basic_int.latlng_to_cell(51.16, 71.44, res)
    return np.sort(np.asarray(h3.api.basic_int.grid_disk(c, k), np.uint64))


def planted(cells: np.ndarray, n_hot: int, rng) -> np.ndarray:
    """Boolean mask of ``n_hot`` disjoint 7-cell clusters (a cell and its ring) away from the edge."""
    idx = {int(c): i for i, c in enumerate(cells)}
    hot = np.zeros(len(cells), bool)
    used: set[int] = set()
    tries = 0
    while hot.sum() < 7 * n_hot and tries < 10_000:
        tries += 1
        c = int(cells[rng.integers(len(cells))])
        block = h3.api.basic_int.grid_disk(c, 3)
        if any(b not in idx or b in used for b in block):
            continue
        used.update(block)
        hot[[idx[b] for b in h3.api.basic_int.grid_disk(c, 1)]] = True
    return hot


def esda_flags(y, W, perms: int, seed: int) -> np.ndarray:
    import esda

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = esda.G_Local(y, W, star=True, transform="B", permutations=perms, seed=seed, n_jobs=1)
    p = 2 * g.p_norm if perms == 0 else np.minimum(1.0, 2 * g.p_sim)
    return bh_adjust(p) < 0.05


def ours_flags(y, w) -> tuple[np.ndarray, str]:
    r = gi_star(y, w)
    return np.abs(r.bin) >= 2, r.inference


def main() -> None:
    ap = add_args(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    header("Gi* calibration benchmark", a.quick, a.runs)
    import libpysal

    if a.quick:
        grids = [(18, 1)]          # 1,027 cells, ring 1
        reps = {"ours": 60, "esda-an": 60, "esda-999": 20, "esda-9999": 6}
        prep = 3
    else:
        grids = [(18, 1), (18, 3), (58, 1)]  # 1,027 and 10,267 cells
        reps = {"ours": 400, "esda-an": 200, "esda-999": 60, "esda-9999": 20}
        prep = 10
    rng = np.random.default_rng(a.seed)
    t0 = time.time()
    for kd, ring in grids:
        cells = disk(kd)
        n = len(cells)
        w = ring_weights(cells, ring)
        W = libpysal.weights.WSP(w).to_W(silence_warnings=True)
        yt = np.random.default_rng(a.seed + 1).poisson(0.3, n).astype(float)
        print(f"\n{n} cells, ring {ring}: time of one test on a mean-0.3 draw")
        compare(f"  ours defaults (inference={gi_star(yt, w).inference}) vs esda 9,999 permutations",
                lambda yt=yt, w=w: ours_flags(yt, w), lambda yt=yt, W=W: esda_flags(yt, W, 9999, 1),
                "esda.G_Local(star=True, transform='B', permutations=9999, n_jobs=1) + BH", a.runs)
        print(f"\n{n} cells, ring {ring}: share of null runs with any cell at 95 % (α = 0.05)  |  "
              f"recall of planted 7-cell clusters (FDP)")
        methods = ["ours", "esda-an", "esda-999", "esda-9999"]
        print(f"{'mean':>6} " + " ".join(f"{m:>14}" for m in methods) + " | "
              + " ".join(f"{m:>16}" for m in methods) + "  ours' inference")
        for mu in MEANS:
            fw = {}
            inf = ""
            for m in methods:
                hits = runs = 0
                for _r in range(reps[m]):
                    y = rng.poisson(mu, n).astype(float)
                    if np.ptp(y) == 0:  # nothing to test: no flag
                        runs += 1
                        continue
                    if m == "ours":
                        f, inf = ours_flags(y, w)
                    else:
                        f = esda_flags(y, W, {"esda-an": 0, "esda-999": 999, "esda-9999": 9999}[m],
                                       int(rng.integers(2**31)))
                    hits += bool(f.any())
                    runs += 1
                fw[m] = f"{hits / runs:6.1%} ({runs:3d})"
            pw = {}
            for m in methods:
                rec, fdp = [], []
                for _r in range(prep if m != "esda-9999" else max(1, prep // 3)):
                    hot = planted(cells, max(3, n // 300), rng)
                    y = rng.poisson(np.where(hot, max(2.0, 3 * mu), mu)).astype(float)
                    if m == "ours":
                        f, _ = ours_flags(y, w)
                    else:
                        f = esda_flags(y, W, {"esda-an": 0, "esda-999": 999, "esda-9999": 9999}[m],
                                       int(rng.integers(2**31)))
                    touched = (w @ hot.astype(float) + hot) > 0
                    rec.append(f[hot].mean())
                    fdp.append((f & ~touched).sum() / max(f.sum(), 1))
                pw[m] = f"{np.mean(rec):6.1%} ({np.mean(fdp):5.1%})"
            print(f"{mu:6g} " + " ".join(f"{fw[m]:>14}" for m in methods) + " | "
                  + " ".join(f"{pw[m]:>16}" for m in methods) + f"  {inf}", flush=True)
    print(f"\n({time.time() - t0:.0f} s; null-run counts in parentheses)")


if __name__ == "__main__":
    main()
