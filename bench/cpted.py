"""CPTED benchmark: score every Astana demo block with all layers (target ≤ 60 s), review one design
(target ≤ 2 s), and compare the hot paths with naive peers in the same run:

* illuminance: numba grid-bucketed kernel vs NumPy brute force over every lamp (same model);
* visibility: ``coverage_matrix`` (numba sight-line walk) vs a naive shapely "wedge minus building
  shadows" polygon per camera + point-in-polygon.

Usage: ``python bench/cpted.py [--demo data/demo/astana] [--quick]``
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _hotspots(demo: Path):
    import pandas as pd

    from qauipsiz.hotspot.h3grid import latlng_to_cells

    p = demo / "incidents_truth.parquet"
    if not p.exists():
        return None
    t = pd.read_parquet(p, columns=["true_lat", "true_lon"])
    c = latlng_to_cells(t["true_lat"].to_numpy(), t["true_lon"].to_numpy(), 9)
    return pd.Series(c[c != 0]).value_counts().rename_axis("h3").reset_index(name="count")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", type=Path, default=ROOT / "data" / "demo" / "astana")
    ap.add_argument("--quick", action="store_true", help="small smoke run (100 blocks, small peer samples)")
    a = ap.parse_args()

    from qauipsiz.cpted import cameras, lighting
    from qauipsiz.cpted.layers import layers_to_metric, load_layer_dir
    from qauipsiz.cpted.review import review
    from qauipsiz.cpted.score import assess_blocks
    from qauipsiz.hotspot.cities import get_city

    if not (a.demo / "layers").is_dir():
        print(f"no demo city at {a.demo}; run `qauipsiz demo --out {a.demo}` first", file=sys.stderr)
        return 2
    city = get_city("astana")
    # warm the numba caches on a toy problem so the timings below are steady-state
    lighting.illuminance([0.0], [0.0], [1.0], [1.0], [5.0], [100.0])
    cameras.coverage_matrix([[0.0, 0.0]], 0.0, 90.0, 1920, "detect", [[1.0, 5.0]], [shapely.box(5, 5, 6, 6)])

    t0 = time.perf_counter()
    layers = load_layer_dir(a.demo / "layers")
    hs = _hotspots(a.demo)
    t_load = time.perf_counter() - t0
    blocks = layers["blocks"].iloc[:100] if a.quick else None
    t0 = time.perf_counter()
    res = assess_blocks("astana", layers, hs, blocks)
    t_score = time.perf_counter() - t0
    nb = len(res.blocks)
    print(f"score: {nb} blocks, {res.samples:,} samples at 5 m, {sum(len(v) for v in layers.values()):,} layer "
          f"features: {t_score:.2f} s (+ {t_load:.2f} s loading layers) — target ≤ 60 s "
          f"[{'OK' if t_score + t_load <= 60 else 'SLOW'}]")
    print("  stages: " + ", ".join(f"{k} {v:.2f}s" for k, v in res.timings.items()))

    design = ROOT / "data" / "designs" / "yard_bad.geojson"
    review(design)  # first call also loads the norm tables
    t0 = time.perf_counter()
    r = review(design)
    t_rev = time.perf_counter() - t0
    print(f"review: {design.name}, {len(r['rules'])} rules ({r['summary']}): {t_rev:.3f} s — target ≤ 2 s "
          f"[{'OK' if t_rev <= 2 else 'SLOW'}]")

    # ---- peer 1: illuminance, numba kernel vs brute force on the same sample points
    L = layers_to_metric(layers, city.epsg)
    lx, ly, lh, li = lighting.lamps_arrays(L["lamps"])
    bg = np.asarray(L["blocks"].geometry.values, dtype=object)
    grid = lighting.sample_grid(bg[: (50 if a.quick else 400)], 5.0)
    rng = np.random.default_rng(0)
    k = rng.choice(len(grid), size=min(len(grid), 1_000 if a.quick else 4_000), replace=False)
    sx, sy = grid.x[k], grid.y[k]
    t0 = time.perf_counter()
    e_fast = lighting.illuminance(sx, sy, lx, ly, lh, li)
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    e_slow = lighting.illuminance_bruteforce(sx, sy, lx, ly, lh, li)
    t_slow = time.perf_counter() - t0
    print(f"peer illuminance ({len(k):,} points × {len(lx):,} lamps): ours {t_fast:.3f} s, brute force "
          f"{t_slow:.2f} s, ratio {t_slow / max(t_fast, 1e-9):.0f}× ; max |Δ| = {np.abs(e_fast - e_slow).max():.2e} lx")

    # ---- peer 2: occluded camera coverage, numba vs naive shapely difference loop
    cam = L["cameras"]
    cam = cam[cam["status"] == "working"].reset_index(drop=True)
    occ = cameras.Occluder(L["buildings"].geometry.values)
    cxy = shapely.get_coordinates(cam.geometry.values)
    mx, my = cameras.mount_on_facade(cxy[:, 0], cxy[:, 1], cam["bearing_deg"].to_numpy(float), occ)
    n_c = 10 if a.quick else 40
    sel = rng.choice(len(cam), size=min(n_c, len(cam)), replace=False)
    b, f, px = (cam[c].to_numpy(float)[sel] for c in ("bearing_deg", "fov_deg", "resolution_px"))
    rng_m = cameras.dori_range(px, f, "detect")
    # targets: a 2 m lattice around each selected camera (so every wedge has thousands of targets)
    tg = []
    for x, y, rr in zip(mx[sel], my[sel], rng_m, strict=True):
        g = np.arange(-rr, rr, 2.0)
        gx, gy = np.meshgrid(x + g, y + g)
        tg.append(np.c_[gx.ravel(), gy.ravel()])
    tg = np.unique(np.round(np.concatenate(tg), 3), axis=0)
    t0 = time.perf_counter()
    m = cameras.coverage_matrix(np.c_[mx[sel], my[sel]], b, f, px, "detect", tg, occ).toarray()
    t_ours = time.perf_counter() - t0
    wedges = cameras.fov_wedges(mx[sel], my[sel], b, f, rng_m, n_arc=256)
    bl = np.asarray(L["buildings"].geometry.values, dtype=object)
    tree = shapely.STRtree(bl)
    pts = shapely.points(tg)
    t0 = time.perf_counter()
    agree = total = 0
    for i in range(len(sel)):
        near = bl[tree.query(wedges[i], predicate="intersects")]
        vis = cameras.visibility_polygon_naive(mx[sel][i], my[sel][i], wedges[i], near)
        ref = shapely.contains_xy(vis, tg[:, 0], tg[:, 1])
        edge = shapely.dwithin(shapely.boundary(vis), pts, 0.05)
        agree += int((ref == m[i])[~edge].sum())
        total += int((~edge).sum())
    t_naive = time.perf_counter() - t0
    print(f"peer visibility ({len(sel)} cameras × {len(tg):,} targets, {len(bl):,} buildings): ours {t_ours:.3f} s, "
          f"naive shapely {t_naive:.2f} s, ratio {t_naive / max(t_ours, 1e-9):.0f}× ; agreement "
          f"{agree / max(total, 1):.5f} off the polygon edges")
    if not a.quick and t_score + t_load > 60 or t_rev > 2:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
