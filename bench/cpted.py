"""CPTED benchmark: score every Astana demo block with all layers (target ≤ 60 s), review one design
(target ≤ 2 s), and compare the hot paths with reference implementations in the same run:

* illuminance: numba grid-bucketed kernel vs NumPy brute force over every lamp (same lamp model);
* visibility: ``coverage_matrix`` (numba sight-line walk) vs a naive shapely "wedge minus building
  shadows" polygon per camera + point-in-polygon.

No external library computes block scores, design reviews, this lamp model or occluded camera
coverage, so the two comparisons are against our own naive references (said so in the output)
and the score and review have no peer. Everything is timed the one way of ``bench/_timing.py``;
the agreement checks run after the timing.

Usage: ``python bench/cpted.py [--demo data/demo/astana] [--quick] [--runs N]``
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _timing import add_args, compare, header  # noqa: E402


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
    ap = add_args(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    ap.add_argument("--demo", type=Path, default=ROOT / "data" / "demo" / "astana")
    a = ap.parse_args()
    runs = a.runs

    from qauipsiz.cpted import cameras, lighting
    from qauipsiz.cpted.layers import layers_to_metric, load_layer_dir
    from qauipsiz.cpted.review import review
    from qauipsiz.cpted.score import assess_blocks
    from qauipsiz.hotspot.cities import get_city

    if not (a.demo / "layers").is_dir():
        print(f"no demo city at {a.demo}; run `qauipsiz demo --out {a.demo}` first", file=sys.stderr)
        return 2
    header("CPTED benchmark", a.quick, runs)
    city = get_city("astana")

    t_load, _, (layers, hs), _ = compare("load the demo layers and hotspot counts",
                                         lambda: (load_layer_dir(a.demo / "layers"), _hotspots(a.demo)), None,
                                         "file reading, no peer", runs)
    blocks = layers["blocks"].iloc[:100] if a.quick else None
    t_score, _, res, _ = compare("score every block with all layers (assess_blocks)",
                                 lambda: assess_blocks("astana", layers, hs, blocks), None,
                                 "no library scores CPTED blocks", runs)
    nb = len(res.blocks)
    print(f"  {nb} blocks, {res.samples:,} samples at 5 m, {sum(len(v) for v in layers.values()):,} layer features; "
          f"target load + score ≤ 60 s (medians): {'OK' if t_score.median + t_load.median <= 60 else 'SLOW'}"
          f"{' (quick: 100 blocks only)' if a.quick else ''}")
    print("  stages of the last run: " + ", ".join(f"{k} {v:.2f}s" for k, v in res.timings.items()))

    design = ROOT / "data" / "designs" / "yard_bad.geojson"
    t_rev, _, r, _ = compare(f"review one design ({design.name})", lambda: review(design), None,
                             "no library checks designs against these norms; the warm-up loads the norm tables",
                             runs)
    print(f"  {len(r['rules'])} rules ({r['summary']}); target ≤ 2 s (median): {'OK' if t_rev.median <= 2 else 'SLOW'}")

    # ---- illuminance: numba kernel vs brute force on the same sample points
    L = layers_to_metric(layers, city.epsg)
    lx, ly, lh, li = lighting.lamps_arrays(L["lamps"])
    bg = np.asarray(L["blocks"].geometry.values, dtype=object)
    grid = lighting.sample_grid(bg[: (50 if a.quick else 400)], 5.0)
    rng = np.random.default_rng(0)
    k = rng.choice(len(grid), size=min(len(grid), 1_000 if a.quick else 4_000), replace=False)
    sx, sy = grid.x[k], grid.y[k]
    _, _, e_fast, e_slow = compare(
        f"illuminance, {len(k):,} points × {len(lx):,} lamps",
        lambda: lighting.illuminance(sx, sy, lx, ly, lh, li),
        lambda: lighting.illuminance_bruteforce(sx, sy, lx, ly, lh, li),
        "reference, not an external peer: our NumPy brute force over every lamp, same model", runs)
    d_lux = float(np.abs(e_fast - e_slow).max())
    print(f"  max |Δ| = {d_lux:.2e} lx")

    # ---- occluded camera coverage: numba sight lines vs naive shapely polygons
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
    wedges = cameras.fov_wedges(mx[sel], my[sel], b, f, rng_m, n_arc=256)
    bl = np.asarray(L["buildings"].geometry.values, dtype=object)
    tree = shapely.STRtree(bl)

    def naive():
        out = []
        for i in range(len(sel)):
            near = bl[tree.query(wedges[i], predicate="intersects")]
            vis = cameras.visibility_polygon_naive(mx[sel][i], my[sel][i], wedges[i], near)
            out.append((vis, shapely.contains_xy(vis, tg[:, 0], tg[:, 1])))
        return out

    _, _, m, ref = compare(
        f"visibility, {len(sel)} cameras × {len(tg):,} targets, {len(bl):,} buildings",
        lambda: cameras.coverage_matrix(np.c_[mx[sel], my[sel]], b, f, px, "detect", tg, occ).toarray(),
        naive, "reference, not an external peer: naive shapely wedge-minus-shadows polygons + point-in-polygon",
        runs)
    pts = shapely.points(tg)
    agree = total = 0
    for i, (vis, inside) in enumerate(ref):  # verification, outside the timed region
        edge = shapely.dwithin(shapely.boundary(vis), pts, 0.05)
        agree += int((inside == m[i])[~edge].sum())
        total += int((~edge).sum())
    print(f"  agreement {agree / max(total, 1):.5f} off the polygon edges ({total:,} target × camera pairs)")
    if (not a.quick and t_score.median + t_load.median > 60) or t_rev.median > 2:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
