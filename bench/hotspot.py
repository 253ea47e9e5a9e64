"""Benchmark of the hotspot engine against its peers (h3-py, scikit-learn, esda), one run.

    python bench/hotspot.py           # full sizes (1M incidents, 50k cells, 9,999 permutations)
    python bench/hotspot.py --quick   # small smoke run

Prints our time, the peer's time and the ratio for each target of issue 6.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import shapely  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", category=FutureWarning)


def timed(f, *a, repeat=1, **k):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f(*a, **k)
        best = min(best, time.perf_counter() - t)
    return best, out


def row(name, ours, peer, peer_name, note=""):
    ratio = peer / ours if ours > 0 and peer == peer else float("nan")
    print(f"{name:<46} ours {ours:8.3f} s | {peer_name:<30} {peer:9.3f} s | peer/ours {ratio:7.1f}x {note}")
    return ratio


def synthetic_astana(n: int, seed: int = 0) -> pd.DataFrame:
    """n incidents inside Astana: 65 % uniform, 35 % around 60 clustered centres (σ 250 m)."""
    from qauipsiz.hotspot.cities import get_city

    city = get_city("astana")
    poly = city.boundary_metric
    shapely.prepare(poly)
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = poly.bounds
    pts = []
    need = int(n * 0.65)
    while need > 0:
        x = rng.uniform(minx, maxx, need * 3)
        y = rng.uniform(miny, maxy, need * 3)
        ok = shapely.contains_xy(poly, x, y)
        pts.append(np.c_[x[ok], y[ok]][:need])
        need -= int(min(ok.sum(), need))
    centres = np.concatenate(pts)[rng.choice(len(pts[0]), 60)]
    m = n - sum(len(p) for p in pts)
    c = centres[rng.integers(0, 60, m)] + rng.normal(0, 250, (m, 2))
    xy = np.concatenate(pts + [c])
    lon, lat = city.to_wgs84(xy[:, 0], xy[:, 1])
    return pd.DataFrame({"lat": lat, "lon": lon, "harm_weight": rng.choice([5.0, 30.0, 270.0], n)})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    a = ap.parse_args(argv)
    quick = a.quick
    n_inc = 100_000 if quick else 1_000_000
    perms = 999 if quick else 9_999
    k_disk = 60 if quick else 129
    print(f"hotspot engine benchmark ({'quick' if quick else 'full'}), {os.cpu_count()} CPUs")

    import h3

    from qauipsiz.hotspot import binning
    from qauipsiz.hotspot._inference import MIN_PERMUTATIONS_FDR
    from qauipsiz.hotspot._planted import planted_grid, recovery
    from qauipsiz.hotspot.cities import get_city
    from qauipsiz.hotspot.gistar import gi_star
    from qauipsiz.hotspot.h3grid import latlng_to_cells
    from qauipsiz.hotspot.kde import kde
    from qauipsiz.hotspot.surface import hotspot_table

    # warm numba caches (compilation is not what we measure)
    kde(np.zeros((3, 2)), np.zeros((2, 2)), 10.0)
    gw = planted_grid(k_disk=8, n_hot=1, hot_radius=1, seed=0)
    warnings.simplefilter("ignore")
    gi_star(gw.y, gw.w, permutations=9, seed=0)
    import esda
    import libpysal

    esda.G_Local(gw.y, libpysal.weights.WSP(gw.w).to_W(silence_warnings=True), star=True, transform="B",
                 permutations=9, keep_simulations=False, seed=0, n_jobs=-1)  # esda's numba compile

    print("\n== 1. H3 indexing")
    df = synthetic_astana(n_inc)
    lat, lon = df["lat"].to_numpy(), df["lon"].to_numpy()
    t_ours, cells = timed(latlng_to_cells, lat, lon, 10)
    f = h3.api.basic_int.latlng_to_cell
    sub = min(len(lat), 200_000)
    t_loop, ref = timed(lambda: np.fromiter((f(x, y, 10) for x, y in zip(lat[:sub], lon[:sub], strict=True)),
                                            np.uint64, count=sub))
    t_loop *= len(lat) / sub
    assert (ref == cells[:sub]).all()
    row(f"lat/lon → res-10 cells, {n_inc:,} points", t_ours, t_loop, "h3-py loop (extrapolated)",
        f"[{sub:,} timed]")

    print(f"\n== 2. {n_inc:,} incidents over Astana → res-10 → KDE (r=400 m) + Gi* + FDR")
    t_fill, cells10 = timed(binning.fill_city_cells, "astana", 10)
    binning.city_cell_centres("astana", 10)
    t_w, _ = timed(binning.city_ring_weights, "astana", 10, 1)
    print(f"   one-off per (city, res): fill {len(cells10):,} cells {t_fill:.3f} s, ring weights {t_w:.3f} s (cached)")
    t_tab, tab = timed(hotspot_table, df, "astana", 10, bandwidth_m=400.0, lisa=False, repeat=2)
    print(f"   hotspot_table(res=10, r=400 m, Gi* k=1 + BH-FDR, no LISA): {t_tab:.3f} s "
          f"({'PASS' if t_tab <= 3 else 'FAIL'} ≤ 3 s); hot cells 99 %: {(tab.gi_bin == 3).sum()}")
    t_tab2, _ = timed(hotspot_table, df, "astana", 10, bandwidth_m=400.0, lisa=True)
    print(f"   same with LISA: {t_tab2:.3f} s")
    # breakdown
    city = get_city("astana")
    t_c, c = timed(latlng_to_cells, lat, lon, 10)
    t_b, (u, pos) = timed(binning.assign_cells, c, cells10)
    t_p, xy = timed(lambda: np.c_[city.to_metric(lon, lat)])
    eval_xy = binning.city_cell_centres("astana", 10)
    t_k, dens = timed(kde, xy, eval_xy, 400.0)
    y = np.bincount(pos[pos >= 0], minlength=len(cells10)).astype(float)
    w = binning.city_ring_weights("astana", 10, 1)
    t_g, g = timed(gi_star, y, w)
    print(f"   breakdown: cells {t_c:.3f} | assign {t_b:.3f} | project {t_p:.3f} | KDE {t_k:.3f} | Gi*+FDR {t_g:.3f} s")

    print("\n== 3. KDE vs scikit-learn KernelDensity (epanechnikov, same bandwidth and evaluation points)")
    from sklearn.neighbors import KernelDensity

    n_sk = min(n_inc, 200_000 if quick else 1_000_000)
    P = xy[:n_sk]
    t_ok, ours = timed(kde, P, eval_xy, 400.0, "epanechnikov", repeat=2)
    t_sk, sk = timed(lambda: np.exp(KernelDensity(kernel="epanechnikov", bandwidth=400.0).fit(P)
                                    .score_samples(eval_xy)))
    sk_scaled = sk * len(P) * 1e6  # sklearn: mean of the normalised kernel per m²; ours: sum per km²
    m = ours > ours.max() * 1e-9
    rel = float(np.max(np.abs(ours[m] - sk_scaled[m]) / ours[m]))
    r = row(f"{len(P):,} points at {len(eval_xy):,} cell centres", t_ok, t_sk, "sklearn KernelDensity",
            f"max rel diff {rel:.1e} ({'PASS' if rel < 1e-6 else 'FAIL'} equal)")
    print(f"   target ≥ 10x: {'PASS' if r >= 10 else 'FAIL'}")

    print("\n== 4. Gi* analytic vs esda G_Local(star=True, transform='B', permutations=0)")
    pg = planted_grid(k_disk=k_disk, background=10.0, hot_rate=20.0, seed=0)
    Wl = libpysal.weights.WSP(pg.w).to_W(silence_warnings=True)
    t_go, go = timed(gi_star, pg.y, pg.w, repeat=3)
    t_ge, ge = timed(lambda: esda.G_Local(pg.y, Wl, star=True, transform="B", permutations=0))
    dz = float(np.max(np.abs(go.z - ge.Zs)))
    r = row(f"{len(pg.y):,} cells, ring k=1 (z incl. p, q, bins)", t_go, t_ge, "esda G_Local",
            f"max |Δz| {dz:.1e}")
    print(f"   target ours no slower: {'PASS' if r >= 1 else 'FAIL'}")

    print(f"\n== 5. {perms:,} conditional permutations on {len(pg.y):,} cells")
    t_po, po = timed(gi_star, pg.y, pg.w, permutations=perms, seed=1)
    # esda at the same size (keep_simulations=False, all cores)
    e_perm = perms
    t_pe, pe = timed(lambda: esda.G_Local(pg.y, Wl, star=True, transform="B", permutations=e_perm,
                                          keep_simulations=False, seed=1, n_jobs=-1))
    row(f"Gi*, {perms:,} permutations", t_po, t_pe, f"esda G_Local ({e_perm:,} perms)")
    if not quick:
        print(f"   target ≤ 15 s: {'PASS' if t_po <= 15 else 'FAIL'}")
        from qauipsiz.hotspot._inference import conditional_permutation

        t_loop, _ = timed(conditional_permutation, pg.y, pg.w, perms, 1, method="loop")
        print(f"   (general-weights path, numba loop over cells × draws, same problem: {t_loop:.2f} s)")

    print("\n== 6. Planted grid (5 hotspots): what each method flags at FDR 5 %")
    flag = go.significant & (go.z > 0)
    rec, fdp = recovery(flag, pg)
    print(f"   ours analytic Gi* + BH:            recovered {rec:6.1%}, false discoveries {fdp:5.1%}, "
          f"flagged {flag.sum()}")
    flag = po.significant & (po.z > 0)
    rec, fdp = recovery(flag, pg)
    print(f"   ours {perms:,} permutations + BH:    recovered {rec:6.1%}, false discoveries {fdp:5.1%}, "
          f"flagged {flag.sum()}")
    for P2, s2 in ((perms, 2), (perms, 3), (10 * perms + 9, 1)):
        r2 = gi_star(pg.y, pg.w, permutations=P2, seed=s2)
        flag = r2.significant & (r2.z > 0)
        rec, fdp = recovery(flag, pg)
        print(f"   ours {P2:,} permutations (seed {s2}) + BH: recovered {rec:6.1%}, false discoveries "
              f"{fdp:5.1%}, flagged {flag.sum()} (BH needs ≥ {r2.params['min_bh_discoveries']} at p_min)")
    t_e9, e9 = timed(lambda: esda.G_Local(pg.y, Wl, star=True, transform="B", permutations=999,
                                          keep_simulations=False, seed=1, n_jobs=-1))
    thr = esda.fdr(e9.p_sim, 0.05)
    flag = (e9.p_sim <= thr) & (e9.Zs > 0) if thr is not None else np.zeros(len(pg.y), bool)
    rec, fdp = recovery(flag, pg)
    print(f"   esda default 999 perms + esda.fdr: recovered {rec:6.1%}, false discoveries {fdp:5.1%}, "
          f"flagged {int(flag.sum())} (threshold {thr}, smallest p_sim {e9.p_sim.min():.4f}; {t_e9:.1f} s)")
    print(f"   (permutations < {MIN_PERMUTATIONS_FDR:,} make gi_star warn: FDRPermutationWarning)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
