"""Which default KDE bandwidth ranks tomorrow's cells best? A one-day-ahead backtest (issue 14.2).

For every test day d the score of each H3 cell is computed from all incidents **before** d
(expanding window, nothing from d or later), the cells are ranked, and the incidents of day d
are counted in the top 1 % and 5 % of the study area. Summed over all test days:

* hit rate = incidents of the test days inside the top cells / all incidents of the test days;
* PAI = hit rate / area share (1 % or 5 %): how many times better than a random pick of cells.

Ties at the cut get fractional credit (a tie of t cells for s remaining slots counts s/t of
their incidents), so a score full of equal values (plain counts on sparse data) is not helped
or hurt by the order of the cells.

Scores compared (all on counts, no harm weights):

* ``counts``   — a user's by-hand baseline: incidents per cell so far;
* ``esri``     — quartic KDE at the cell centres with Esri's default radius
                 (:func:`qauipsiz.hotspot.kde.esri_bandwidth`) recomputed on the training points;
* ``fixed N``  — quartic KDE with a fixed radius of N metres;
* ``city``     — quartic KDE with the city default (:func:`qauipsiz.hotspot.bandwidth.city_bandwidth`)
                 recomputed on the training points (it only sees the past).

Data: the shared Chicago sample (25,000 real incidents, 2017-01 … 2019-09, local times; the
study area is every res-9 cell within one ring of a cell that had an incident in 2017, i.e.
no future data) and, as a sanity check on another scale, the synthetic demo city
(``data/demo/astana``; made by ``qauipsiz demo`` when missing; study area = the city polygon).
Test days start one year after the first incident. A third run keeps a random 25 % of the
Chicago incidents (``--thin``): the same city with sparser data, where a wider kernel should pay.

``±`` is a 95 % interval of the PAI difference to ``counts`` from a bootstrap over test days
(paired: the same resampled days for both).

    .venv/bin/python bench/bandwidth.py --quick   # every 7th test day, a few minutes
    .venv/bin/python bench/bandwidth.py           # every 3rd test day (--step 1: all), 10-15 minutes
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from qauipsiz.hotspot.bandwidth import city_bandwidth
from qauipsiz.hotspot.h3grid import cells_to_latlng, grid_disk_pairs, latlng_to_cells
from qauipsiz.hotspot.kde import esri_bandwidth, kde

ROOT = Path(__file__).resolve().parents[1]
CHICAGO = Path("/work/shared/data/peer/chicago_sample_2017_2019.csv")
DEMO = ROOT / "data" / "demo" / "astana"
FIXED = (100, 150, 200, 300, 400, 500, 600, 800)
FRACS = (0.01, 0.05)


def load_chicago(path: Path, res: int):
    from pyproj import Transformer

    d = pd.read_csv(path, usecols=["date", "latitude", "longitude"]).dropna()
    t = pd.to_datetime(d["date"], format="%m/%d/%Y %H:%M")  # Chicago local time
    lat, lon = d["latitude"].to_numpy(float), d["longitude"].to_numpy(float)
    tr = Transformer.from_crs(4326, 32616, always_xy=True)  # UTM 16N
    x, y = tr.transform(lon, lat)
    cell = latlng_to_cells(lat, lon, res)
    first_year = (t < t.min() + pd.Timedelta(days=365)).to_numpy()
    seed_cells = np.unique(latlng_to_cells(lat[first_year], lon[first_year], 9))
    _src, dst = grid_disk_pairs(seed_cells, 1)
    cells = np.unique(np.concatenate([seed_cells, dst]))  # the footprint at res 9 …
    if res != 9:  # … and its children at a finer resolution
        import h3

        cells = np.unique(np.concatenate([np.asarray(h3.api.basic_int.cell_to_children(int(c), res), np.uint64)
                                          for c in cells]))
    clat, clon = cells_to_latlng(cells)
    cx, cy = tr.transform(clon, clat)
    return "chicago", t.dt.normalize().to_numpy(), np.column_stack([x, y]), cell, cells, np.column_stack([cx, cy])


def load_demo(folder: Path, res: int):
    from qauipsiz.hotspot.binning import city_cell_centres, fill_city_cells
    from qauipsiz.hotspot.cities import get_city
    from qauipsiz.hotspot.timeutil import to_local

    if not (folder / "incidents_truth.parquet").exists():
        from qauipsiz.hotspot.demo import generate

        print(f"[bench] making the demo city in {folder} …", flush=True)
        generate(folder)
    c = get_city("astana")
    d = pd.read_parquet(folder / "incidents_truth.parquet", columns=["occurred_at", "lat", "lon"]).dropna()
    lat, lon = d["lat"].to_numpy(float), d["lon"].to_numpy(float)
    inside = c.contains(lat, lon)
    d, lat, lon = d[inside], lat[inside], lon[inside]
    t = pd.Series(to_local(d["occurred_at"], c.tz)).dt.tz_localize(None)
    x, y = c.to_metric(lon, lat)
    return ("astana demo (synthetic)", t.dt.normalize().to_numpy(), np.column_stack([x, y]),
            latlng_to_cells(lat, lon, res), fill_city_cells(c, res), city_cell_centres(c, res))


def top_hits(score: np.ndarray, test: np.ndarray, k: int) -> float:
    """Incidents of ``test`` (per cell) in the ``k`` best cells of ``score``; fractional ties."""
    thr = np.partition(score, len(score) - k)[len(score) - k]
    above = score > thr
    tied = score == thr
    slots = k - int(above.sum())
    return float(test[above].sum() + test[tied].sum() * slots / max(int(tied.sum()), 1))


SEED = 0  # random draws (the share kept by --thin, the bootstrap) are the same on every run


def backtest(name, day, xy, cell, cells, centres, *, step: int, thin: float = 1.0) -> dict:
    if thin < 1.0:  # a sparser city: keep a random share of the incidents
        keep = np.random.default_rng(SEED).random(len(day)) < thin
        day, xy, cell = day[keep], xy[keep], cell[keep]
        name = f"{name}, {thin:.0%} of the incidents"
    order = np.argsort(day, kind="stable")
    day, xy, cell = day[order], xy[order], cell[order]
    pos = np.searchsorted(cells, cell)
    pos[pos >= len(cells)] = 0
    pos = np.where(cells[pos] == cell, pos, -1)
    n = len(cells)
    ks = {f: max(1, round(f * n)) for f in FRACS}
    days = np.unique(day)
    first = day[0] + np.timedelta64(365, "D")
    test_days = days[days >= first][::step]
    methods = ["counts", "esri", "city"] + [f"fixed {h}" for h in FIXED]
    hits = {m: {f: [] for f in FRACS} for m in methods}
    n_test, used_h = [], {"esri": [], "city": []}
    counts = np.zeros(n)
    dens = {h: np.zeros(n) for h in FIXED}
    done = 0  # incidents already added to the running counts and densities
    t0 = time.perf_counter()
    for d in test_days:
        i = int(np.searchsorted(day, d, side="left"))
        j = int(np.searchsorted(day, d, side="right"))
        new = slice(done, i)  # incremental: counts and fixed-radius KDEs are sums over points
        ok = pos[new] >= 0
        counts += np.bincount(pos[new][ok], minlength=n)
        for h in FIXED:
            if i > done:
                dens[h] += kde(xy[new], centres, h)
        done = i
        tp = pos[i:j]
        test = np.bincount(tp[tp >= 0], minlength=n).astype(float)
        n_test.append(test.sum())
        train = xy[:i]
        scores = {"counts": counts}
        for m, rule in (("esri", lambda P: esri_bandwidth(P)), ("city", lambda P: city_bandwidth(P).bandwidth_m)):
            h = float(rule(train))
            used_h[m].append(h)
            scores[m] = kde(train, centres, h)
        for h in FIXED:
            scores[f"fixed {h}"] = dens[h]
        for m in methods:
            for f in FRACS:
                hits[m][f].append(top_hits(scores[m], test, ks[f]))
    n_test = np.asarray(n_test)
    rng = np.random.default_rng(SEED)
    boot = rng.integers(0, len(n_test), size=(1000, len(n_test)))
    rows = []
    for m in methods:
        row = {"method": m}
        for f in FRACS:
            hv = np.asarray(hits[m][f])
            hc = np.asarray(hits["counts"][f])
            rate = hv.sum() / n_test.sum()
            row[f"hit {f:.0%}"] = rate
            row[f"PAI {f:.0%}"] = rate / (ks[f] / n)
            diff = (hv[boot].sum(1) - hc[boot].sum(1)) / n_test[boot].sum(1) / (ks[f] / n)
            row[f"Δcounts {f:.0%}"] = (rate - hc.sum() / n_test.sum()) / (ks[f] / n)
            row[f"ci {f:.0%}"] = tuple(np.percentile(diff, [2.5, 97.5]))
        rows.append(row)
    return {"name": name, "rows": rows, "n_days": len(test_days), "n_test": int(n_test.sum()),
            "n_cells": n, "res": int(_res(cells)), "area_km2": n * _cell_km2(cells), "n_points": len(xy), "seconds": time.perf_counter() - t0,
            "h": {m: (min(v), float(np.median(v)), max(v)) for m, v in used_h.items()},
            "h_all": {"esri": esri_bandwidth(xy), "city": city_bandwidth(xy).bandwidth_m}}


def _res(cells) -> int:
    from qauipsiz.hotspot.h3grid import cells_resolution

    return int(cells_resolution(cells[:1])[0])


def _cell_km2(cells) -> float:
    import h3

    return float(np.mean([h3.api.basic_int.cell_area(int(c), "km^2") for c in cells[:: max(1, len(cells) // 200)]]))


def report(r: dict) -> None:
    print(f"\n## {r['name']}: {r['n_points']:,} incidents, {r['n_cells']:,} res-{r['res']} cells ({r['area_km2']:.0f} km²), "
          f"{r['n_days']} test days, {r['n_test']:,} test incidents, {r['seconds']:.0f} s")
    print(f"bandwidth on all incidents: esri {r['h_all']['esri']:.0f} m, city default {r['h_all']['city']:.0f} m; "
          "over the test days (min / median / max): "
          + ", ".join(f"{m} {a:.0f} / {b:.0f} / {c:.0f} m" for m, (a, b, c) in r["h"].items()))
    print("| method | hit 1 % | PAI 1 % | PAI 1 % − counts (95 % CI) | hit 5 % | PAI 5 % | PAI 5 % − counts (95 % CI) |")
    print("|---|---|---|---|---|---|---|")
    best = {f: max(row[f"PAI {f:.0%}"] for row in r["rows"]) for f in FRACS}
    for row in r["rows"]:
        cells = []
        for f in FRACS:
            pai = f"{row[f'PAI {f:.0%}']:.2f}" + (" **best**" if row[f"PAI {f:.0%}"] == best[f] else "")
            lo, hi = row[f"ci {f:.0%}"]
            dd = "—" if row["method"] == "counts" else f"{row[f'Δcounts {f:.0%}']:+.2f} ({lo:+.2f} … {hi:+.2f})"
            cells += [f"{row[f'hit {f:.0%}']:.1%}", pai, dd]
        print(f"| {row['method']} | " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="every 7th test day (a few minutes)")
    ap.add_argument("--step", type=int, default=None, help="use every STEP-th test day (default 3, quick 7)")
    ap.add_argument("--no-demo", action="store_true", help="skip the synthetic demo city")
    ap.add_argument("--chicago", type=Path, default=CHICAGO, help=f"the Chicago sample CSV (default {CHICAGO})")
    ap.add_argument("--res", type=int, default=9, help="H3 resolution of the ranked cells (default 9)")
    ap.add_argument("--thin", type=float, default=0.25,
                    help="also run Chicago with only this share of its incidents, a sparser city (default 0.25; 0: no)")
    a = ap.parse_args()
    step = a.step or (7 if a.quick else 3)
    print(f"# One-day-ahead ranking of H3 res-{a.res} cells; quartic KDE at cell centres; "
          f"every {step}. test day{' (--quick)' if a.quick else ''}")
    chicago = load_chicago(a.chicago, a.res) if a.chicago.exists() else None
    if chicago is None:
        print(f"\n(no Chicago sample at {a.chicago}: skipped; pass --chicago PATH)")
    datasets = [chicago] if chicago else []
    if not a.no_demo:
        datasets.append(load_demo(DEMO, a.res))
    for ds in datasets:
        report(backtest(*ds, step=step))
    if chicago and 0 < a.thin < 1:
        report(backtest(*chicago, step=step, thin=a.thin))


if __name__ == "__main__":
    main()
