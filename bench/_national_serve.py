"""Serving one city of the analytic store at national size: filtered reads and dashboard hotspot tables.

    python bench/_national_serve.py [--quick] [--events N] [--data ROOT --city KEY]

:func:`measure_filter_latency` is what ``bench/national.py`` calls; run as a script it builds (or
takes) a synthetic city of ``--events`` events (5 million; ``--quick``: 300,000) and prints:

* the **filtered read** (``hotspot.analytic.read_events``: pyarrow dataset, month pruning) p50/p95
  over random dashboard filters;
* the **hotspot-table path** (``hotspot.national.columns.CityColumns.hotspot_table``: compact
  in-memory columns, a mask per filter, ``np.bincount`` per cell, Gi* and a KDE on weighted res-11
  cell centres) p50/p95 over distinct random filters, each computed cold (no cache), next to the
  peer: the service's previous path (pandas filter of all of the city's incidents +
  ``hotspot.surface.hotspot_table`` on the filtered rows) on the first few of the same filters;
* the resident memory of the process after loading the city, and the bytes of the columns.

Both paths get the same fixed KDE radius (``--bandwidth``, 400 m), so the work compared is the same.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import Timing, add_args, header, show

CATS = ["theft", "petty_theft", "fraud", "robbery", "hooliganism", "battery", "public_drinking", "vandalism"]


def _rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _peak_mib() -> float:
    """Peak resident memory of this process so far (Linux ``ru_maxrss`` is in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def random_filters(n: int, day0: pd.Timestamp, days: int, districts: list[str], seed: int = 0) -> list[dict]:
    """``n`` random dashboard filters (local dates, hours, weekdays, light, categories, districts, res).

    Each filter sets each option with probability 1/2, so the set spans everything from the whole
    city to narrow combinations.
    """
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        f: dict = {"res": int(rng.choice([9, 10]))}
        if rng.random() < 0.5:
            a = int(rng.integers(0, max(days - 30, 1)))
            b = min(days, a + int(rng.integers(30, 730)))
            f["start"] = (day0 + pd.Timedelta(days=a)).date()
            f["end"] = (day0 + pd.Timedelta(days=b)).date()
        if rng.random() < 0.5:
            f["categories"] = sorted(rng.choice(CATS, size=int(rng.integers(1, 4)), replace=False).tolist())
        if rng.random() < 0.5:
            h0 = int(rng.integers(0, 24))
            f["hours"] = f"{h0:02d}-{(h0 + int(rng.integers(2, 12))) % 24:02d}"
        if rng.random() < 0.3:
            f["weekdays"] = sorted(rng.choice(7, size=int(rng.integers(1, 5)), replace=False).tolist())
        if rng.random() < 0.3:
            f["dark"] = bool(rng.random() < 0.5)
        if districts and rng.random() < 0.2:
            f["districts"] = [str(rng.choice(districts))]
        out.append(f)
    return out


def _baseline(df: pd.DataFrame, city, f: dict, bandwidth_m: float) -> pd.DataFrame:
    """The service's previous path: pandas filter of every incident, then the hotspot table."""
    from qauipsiz.hotspot.binning import filter_mask
    from qauipsiz.hotspot.surface import hotspot_table

    kw = {k: v for k, v in f.items() if k in ("categories", "hours", "weekdays", "dark")}
    for k in ("start", "end"):
        if k in f:
            kw[k] = pd.Timestamp(f[k])
    m = filter_mask(df, city, **kw)
    if "districts" in f:
        m &= df["district"].isin(f["districts"]).to_numpy(bool)
    return hotspot_table(df[m], city, res=f["res"], bandwidth_m=bandwidth_m, lisa=False)


def measure_filter_latency(root, city: str, n_requests: int = 200, *, seed: int = 0,
                           bandwidth_m: float = 400.0, baseline_requests: int = 5, read_requests: int = 30,
                           verify: bool = True) -> dict:
    """Latency of dashboard filters for one city of an analytic store, and the memory it takes.

    Parameters
    ----------
    root : path
        Analytic store (national dataset) root; its ``cities/`` folder is used for regional centres.
    city : str
        City key.
    n_requests : int
        Distinct random filters timed on the hotspot-table path (each computed, none cached).
    seed : int
        Seed of the random filters.
    bandwidth_m : float
        KDE radius in metres for ours and the baseline alike.
    baseline_requests : int
        How many of the same filters the baseline (pandas filter + ``surface.hotspot_table``) runs;
        0 skips it.
    read_requests : int
        Random filtered reads (``read_events``) timed.
    verify : bool
        Check, outside the timing, that ours equals the baseline (counts, Gi* bins) on those filters.

    Returns
    -------
    dict
        ``events``, ``load_s``, ``rss_before_mib``, ``rss_loaded_mib``, ``rss_delta_mib``,
        ``rss_peak_load_mib`` (process peak up to the end of loading), ``columns_mib``, ``table_ms`` (list), ``table_p50_ms``, ``table_p95_ms``, ``table_warmup_ms``,
        ``table_cpu_p50_ms``, ``table_cpu_p95_ms`` (CPU time of this process per table: what the
        request costs without other work on the machine), ``cached_p95_ms``, ``read_ms`` (list), ``read_p50_ms``, ``read_p95_ms``, ``baseline_ms`` (list),
        ``baseline_p50_ms``, ``ratio_p50`` (baseline / ours), ``verified``.  Times in milliseconds.
    """
    from qauipsiz.hotspot import analytic
    from qauipsiz.hotspot import cities as registry
    from qauipsiz.hotspot.national.columns import CityColumns

    root = Path(root)
    before_dir = registry._user_dir
    if (root / "cities").is_dir() and registry._user_dir is None:
        registry.set_user_dir(root / "cities")
    try:
        c = registry.get_city(city)
        rss0 = _rss_mib()
        t0 = time.perf_counter()
        cols = CityColumns.load(root, c)
        load_s = time.perf_counter() - t0
        rss1, peak1 = _rss_mib(), _peak_mib()
        day0 = pd.Timestamp(cols.day0)
        fl = random_filters(n_requests + 1, day0, int(cols.day.max()) + 1 if cols.n else 1, cols.districts, seed)

        def ours(f):
            kw = {k: v for k, v in f.items() if k != "res"}
            return cols.hotspot_table(f["res"], bandwidth_m=bandwidth_m, **kw)

        t = time.perf_counter()
        ours(fl[0])  # warm-up: numba JIT, the cached filled cells / ring weights of both resolutions
        ours({**fl[0], "res": 19 - fl[0]["res"]})
        warm = time.perf_counter() - t
        table_ms, cpu_ms, cache = [], [], {}
        for f in fl[1:]:
            t, tc = time.perf_counter(), time.process_time()
            key = (cols.version, repr(sorted(f.items())))
            cache[key] = ours(f)
            table_ms.append(1000 * (time.perf_counter() - t))
            cpu_ms.append(1000 * (time.process_time() - tc))
        cached_ms = []
        for f in fl[1:]:
            t = time.perf_counter()
            _ = cache[(cols.version, repr(sorted(f.items())))]
            cached_ms.append(1000 * (time.perf_counter() - t))
        del cache
        # filtered reads straight from the Parquet partitions (UTC bounds)
        read_ms = []
        for f in fl[1: read_requests + 1]:
            kw = {k: v for k, v in f.items() if k in ("categories", "hours", "dark")}
            t = time.perf_counter()
            analytic.read_events(root, c.key, start=f.get("start"), end=f.get("end"), **kw,
                                 columns=["incident_id", "occurred_at", "category", "lat", "lon"])
            read_ms.append(1000 * (time.perf_counter() - t))
        base_ms, verified = [], None
        if baseline_requests:
            df = analytic.read_events(root, c.key)
            verified = True
            for f in fl[1: baseline_requests + 1]:
                t = time.perf_counter()
                ref = _baseline(df, c, f, bandwidth_m)
                base_ms.append(1000 * (time.perf_counter() - t))
                if verify:
                    got = ours(f)
                    verified &= bool(np.array_equal(got["count"].to_numpy(), ref["count"].to_numpy())
                                     and np.array_equal(got["gi_bin"].to_numpy(), ref["gi_bin"].to_numpy()))
            del df
    finally:
        registry.set_user_dir(before_dir)
    p = np.percentile
    out = {
        "city": c.key, "events": cols.n, "load_s": load_s, "rss_before_mib": rss0, "rss_loaded_mib": rss1,
        "rss_delta_mib": rss1 - rss0, "rss_peak_load_mib": peak1, "columns_mib": cols.nbytes / 2**20,
        "table_ms": table_ms, "table_p50_ms": float(p(table_ms, 50)), "table_p95_ms": float(p(table_ms, 95)),
        "table_cpu_p50_ms": float(p(cpu_ms, 50)), "table_cpu_p95_ms": float(p(cpu_ms, 95)),
        "table_warmup_ms": 1000 * warm, "cached_p95_ms": float(p(cached_ms, 95)),
        "read_ms": read_ms, "read_p50_ms": float(p(read_ms, 50)) if read_ms else float("nan"),
        "read_p95_ms": float(p(read_ms, 95)) if read_ms else float("nan"),
        "baseline_ms": base_ms, "baseline_p50_ms": float(p(base_ms, 50)) if base_ms else float("nan"),
        "verified": verified,
    }
    ours_first = table_ms[: len(base_ms)]
    out["ratio_p50"] = (out["baseline_p50_ms"] / float(np.median(ours_first))) if base_ms else float("nan")
    return out


def _query(f: dict) -> list[tuple[str, str]]:
    """Dashboard query parameters of one random filter (:func:`random_filters`)."""
    q = [("res", str(f["res"]))]
    q += [("category", c) for c in f.get("categories", [])]
    q += [(k, str(f[k])) for k in ("start", "end", "hours") if k in f]
    q += [("weekdays", str(d)) for d in f.get("weekdays", [])]
    if "dark" in f:
        q.append(("light", "dark" if f["dark"] else "light"))
    q += [("district", d) for d in f.get("districts", [])]
    return q


def measure_endpoint_latency(root, city: str, n_requests: int = 100, *, seed: int = 1) -> dict:
    """Latency of the service's ``GET /api/v1/cities/{city}/hotspots.geojson`` (the whole request:
    filter, table, GeoJSON) for distinct random dashboard filters, with ``QAUIPSIZ_ANALYTIC_DIR``
    pointing at ``root`` and an empty store; each filter is requested twice in a row (computed, then
    from the service's cache, keyed by data version).

    Returns
    -------
    dict
        ``first_ms`` (the first request: loading the city's columns), ``cold_ms`` (list),
        ``cold_p50_ms``, ``cold_p95_ms``, ``cached_p50_ms``, ``cached_p95_ms``, ``rss_mib`` after all.
    """
    import dataclasses

    from fastapi.testclient import TestClient

    from qauipsiz.api.app import create_app
    from qauipsiz.api.settings import get_settings
    from qauipsiz.api.store import Store

    with tempfile.TemporaryDirectory(prefix="qauipsiz-serve-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'store.db'}"
        store = Store(url)
        key = store.create_api_key("analyst", "bench")
        settings = dataclasses.replace(get_settings(), data_dir=Path(tmp), database_url=url, warm=False,
                                       analytic_dir=Path(root))
        app = create_app(settings, store=store)
        hdr = {"X-API-Key": key}
        path = f"/api/v1/cities/{city}/hotspots.geojson"
        fl = random_filters(n_requests, pd.Timestamp("2021-01-01"), 5 * 365, [], seed)
        with TestClient(app, raise_server_exceptions=True) as client:
            t = time.perf_counter()
            r = client.get(path, params=[("res", "9")], headers=hdr)
            r2 = client.get(path, params=[("res", "10")], headers=hdr)
            first = 1000 * (time.perf_counter() - t)
            assert r.status_code == 200 and r2.status_code == 200, r.text[:300]
            cold, cached, sizes = [], [], []
            for f in fl:  # each filter twice: computed, then served from the cache (same data version)
                t = time.perf_counter()
                r = client.get(path, params=_query(f), headers=hdr)
                cold.append(1000 * (time.perf_counter() - t))
                assert r.status_code in (200, 422), r.text[:300]
                sizes.append(len(r.content))
                t = time.perf_counter()
                client.get(path, params=_query(f), headers=hdr)
                cached.append(1000 * (time.perf_counter() - t))
        store.close()
    p = np.percentile
    return {"city": city, "first_ms": first, "cold_ms": cold, "cold_p50_ms": float(p(cold, 50)),
            "cold_p95_ms": float(p(cold, 95)), "cached_p50_ms": float(p(cached, 50)),
            "cached_p95_ms": float(p(cached, 95)), "rss_mib": _rss_mib(),
            "body_mib_p50": float(np.median(sizes)) / 2**20}


def report_endpoint(r: dict) -> None:
    """Print :func:`measure_endpoint_latency`'s result."""
    print(f"service GET hotspots.geojson, {r['city']}, {len(r['cold_ms'])} distinct filters (whole request: "
          f"filter + table + GeoJSON): first request (loads the city) {r['first_ms'] / 1000:.1f} s; "
          f"cold p50 {r['cold_p50_ms']:.0f} ms, p95 {r['cold_p95_ms']:.0f} ms; cached by data version "
          f"p50 {r['cached_p50_ms']:.1f} ms, p95 {r['cached_p95_ms']:.1f} ms; median body "
          f"{r['body_mib_p50']:.1f} MiB; RSS {r['rss_mib']:.0f} MiB (includes the service's surface cache)")


def report(r: dict) -> None:
    """Print the result of :func:`measure_filter_latency` (the lines ``bench/README.md`` picks up)."""
    n = len(r["baseline_ms"])
    ours = Timing(r["table_warmup_ms"] / 1000, tuple(x / 1000 for x in r["table_ms"][:max(n, 1)]))
    peer = Timing(float("nan"), tuple(x / 1000 for x in r["baseline_ms"])) if n else None
    show(f"hotspot table per dashboard filter, {r['city']} ({r['events']:,} events), first {max(n, 1)} filters",
         ours, peer, "pandas filter of all incidents + hotspot.surface.hotspot_table (the service's store path)",
         note=f"(same counts and Gi* bins: {r['verified']})")
    print(f"hotspot-table path over {len(r['table_ms'])} distinct filters (cold, none cached): "
          f"p50 {r['table_p50_ms']:.1f} ms, p95 {r['table_p95_ms']:.1f} ms wall (target p95 < 200 ms), "
          f"CPU p50 {r['table_cpu_p50_ms']:.1f} ms, p95 {r['table_cpu_p95_ms']:.1f} ms; "
          f"cached by data version: p95 {r['cached_p95_ms']:.4f} ms")
    print(f"filtered read (read_events, month pruning) over {len(r['read_ms'])} filters: "
          f"p50 {r['read_p50_ms']:.1f} ms, p95 {r['read_p95_ms']:.1f} ms")
    print(f"memory: RSS {r['rss_loaded_mib']:.0f} MiB after loading the city (+{r['rss_delta_mib']:.0f} MiB for it; "
          f"columns {r['columns_mib']:.0f} MiB; target < 1024 MiB per loaded city); peak while loading "
          f"{r['rss_peak_load_mib']:.0f} MiB; load {r['load_s']:.1f} s")


def main() -> None:
    ap = add_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    ap.add_argument("--events", type=int, default=None, help="events of the generated city (default 5,000,000)")
    ap.add_argument("--data", type=Path, default=None, help="an existing national dataset instead")
    ap.add_argument("--city", default="almaty")
    ap.add_argument("--requests", type=int, default=None, help="distinct filters (default 200; quick 60)")
    ap.add_argument("--bandwidth", type=float, default=400.0)
    a = ap.parse_args()
    header("national serving: filtered reads and hotspot tables from the analytic store", a.quick, a.runs)
    events = a.events or (300_000 if a.quick else 5_000_000)
    with tempfile.TemporaryDirectory(prefix="qauipsiz-national-") as tmp:
        root = a.data
        if root is None:  # in a child process, so this process's peak memory is the serving side's
            import subprocess

            root = Path(tmp)
            cli = Path(sys.executable).with_name("qauipsiz")
            done = subprocess.run([str(cli), "national", "demo", "--out", str(root), "--events", str(events),
                                   "--city", a.city], check=True, capture_output=True, text=True)
            print(done.stdout.strip().splitlines()[-1])
        r = measure_filter_latency(root, a.city, a.requests or (60 if a.quick else 200), bandwidth_m=a.bandwidth,
                                   baseline_requests=max(a.runs, 5))
        report(r)
        del r
        report_endpoint(measure_endpoint_latency(root, a.city, 20 if a.quick else 40))


if __name__ == "__main__":
    main()
