"""Space-time engine (issue 16.1–3): Knox near-repeat table vs pointpats, Mann–Kendall vs
pymannkendall, and the whole emerging hot spot run on the demo city.

    python bench/spacetime.py [--quick] [--runs 5]

Data: the shared real Chicago sample (``/work/shared/data/peer``, the first 10,000 located
incidents; ``--quick``: 2,000) for the Knox test, and the synthetic demo city
(``data/demo/astana``) for the cube, emerging hot spots and Mann–Kendall.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import add_args, compare, header, measure, show

ROOT = Path(__file__).resolve().parents[1]
CHICAGO = Path("/work/shared/data/peer/chicago_sample_2017_2019.csv")
DEMO = ROOT / "data/demo/astana/incidents_truth.parquet"


def chicago_points(n: int) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    df = pd.read_csv(CHICAGO).dropna(subset=["latitude", "longitude"]).iloc[:n]
    x, y = Transformer.from_crs(4326, 32616, always_xy=True).transform(df["longitude"].to_numpy(),
                                                                        df["latitude"].to_numpy())
    t = (pd.to_datetime(df["date"], format="%m/%d/%Y %H:%M") - pd.Timestamp("2017-01-01")) / pd.Timedelta(days=1)
    return np.column_stack([x, y]), t.to_numpy(float)


def bench_knox(quick: bool, runs: int) -> None:
    from pointpats.spacetime import Knox

    from qauipsiz.hotspot.nearrepeat import knox_table

    n = 2000 if quick else 10000
    xy, t = chicago_points(n)
    print(f"\n== Knox near-repeat test, {len(t):,} real Chicago incidents (UTM 16N metres, days)")
    # 1. counting alone, same points: ours the whole 5 x 4 band table, the peer one 200 m x 7 d band
    _to, _tp, ro, rp = compare(
        "Knox counts, no permutations (ours: 5 space x 4 time bands; pointpats: one band)",
        lambda: knox_table(xy, t, permutations=0),
        lambda: Knox(xy, t.reshape(-1, 1), delta=200, tau=7, permutations=0),
        "pointpats.spacetime.Knox(delta=200, tau=7, permutations=0)", runs=runs)
    assert ro.observed[0, 0] == rp.nst, (ro.observed[0, 0], rp.nst)
    print(f"  check: 0–200 m x 0–7 d pairs ours {ro.observed[0, 0]} = pointpats {rp.nst}")
    # 2. the same number of permutations for both (pointpats' loop is pure Python)
    p_same = 9 if quick else 19
    _to, tp, ro, rp = compare(
        f"Knox with {p_same} time permutations (same P for both)",
        lambda: knox_table(xy, t, permutations=p_same, seed=1),
        lambda: Knox(xy, t.reshape(-1, 1), delta=200, tau=7, permutations=p_same),
        f"pointpats.spacetime.Knox(delta=200, tau=7, permutations={p_same})", runs=runs)
    assert ro.observed[0, 0] == rp.nst
    # 3. the target: 999 permutations on 10k events (ours alone; the peer's cost is extrapolated)
    t999, r999 = measure(lambda: knox_table(xy, t, permutations=999, seed=1), runs)
    show(f"Knox table with 999 permutations, {len(t):,} events, {r999.n_pairs:,} pairs within 1 km", t999, None,
         f"pointpats would take about {tp.median / p_same * 999:.0f} s at its measured "
         f"{tp.median / p_same:.2f} s per permutation (extrapolated from run 2, not timed)")
    print(f"  0–200 m x 0–7 d: observed {r999.observed[0, 0]}, expected {r999.expected[0, 0]:.1f}, "
          f"ratio {r999.ratio[0, 0]:.3f}, p {r999.p_value[0, 0]:.3f}")


def bench_mann_kendall(quick: bool, runs: int) -> None:
    import pymannkendall as mk

    from qauipsiz.hotspot.cube import space_time_cube
    from qauipsiz.hotspot.emerging import emerging_analysis, mann_kendall

    df = pd.read_parquet(DEMO)
    cube = space_time_cube(df, "astana", 9, step="week")
    z = emerging_analysis(cube).z
    if quick:
        z = z[:1000]
    print(f"\n== Mann–Kendall on {z.shape[0]:,} Gi* z series x {z.shape[1]} weeks (synthetic demo city)")
    _to, _tp, ro, rp = compare("Mann–Kendall, every series", lambda: mann_kendall(z),
                             lambda: [mk.original_test(row) for row in z],
                             "pymannkendall.original_test, a Python loop over the series", runs=runs)
    dz = max(abs(ro["z"].iloc[i] - r.z) for i, r in enumerate(rp))
    ds = max(abs(ro["s"].iloc[i] - r.s) for i, r in enumerate(rp))
    print(f"  check: max |Δz| {dz:.2e}, max |ΔS| {ds:g}")
    assert dz < 1e-9 and ds == 0


def bench_emerging(quick: bool, runs: int) -> None:
    from qauipsiz.hotspot.cube import space_time_cube
    from qauipsiz.hotspot.emerging import emerging_analysis

    df = pd.read_parquet(DEMO)
    steps = ("month",) if quick else ("week", "day")
    for step in steps:
        tc, cube = measure(lambda s=step: space_time_cube(df, "astana", 9, step=s), runs)
        show(f"\n== space-time cube, {len(df):,} demo incidents, res 9, step {step} ({cube.shape[0]:,} x "
             f"{cube.shape[1]})", tc, None, "no open tool builds an H3 cube with these filters")
        te, res = measure(lambda c=cube: emerging_analysis(c), runs)
        show(f"emerging hot spots (space-time Gi*, BH, Mann–Kendall, 17 patterns), step {step}", te, None,
             "ArcGIS Pro's Emerging Hot Spot Analysis is closed; sfdep (R) is not installed here")
        print("  patterns:", res.params["patterns"])


def main() -> None:
    ap = add_args(argparse.ArgumentParser(description=__doc__))
    a = ap.parse_args()
    header("bench/spacetime.py — Knox, Mann–Kendall, emerging hot spots", a.quick, a.runs)
    t0 = time.perf_counter()
    bench_knox(a.quick, a.runs)
    bench_mann_kendall(a.quick, a.runs)
    bench_emerging(a.quick, a.runs)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
