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


class _PreviousPath:
    """The service's previous ``hotspots.geojson`` path, switched on around one request: the
    per-feature encoder (``hotspot_body_per_feature``: a dict and ``json.dumps`` per feature) and
    every JSON body over 4 KiB gzip-compressed when the response cache stores it."""

    def __enter__(self):
        from qauipsiz.api.cache import ResponseCacheMiddleware
        from qauipsiz.api.routers import _hotspot_body, hotspots

        self._saved = hotspots.hotspot_body, ResponseCacheMiddleware.GZIP_NOW_BYTES
        hotspots.hotspot_body = _hotspot_body.hotspot_body_per_feature
        ResponseCacheMiddleware.GZIP_NOW_BYTES = 2**62
        return self

    def __exit__(self, *exc):
        from qauipsiz.api.cache import ResponseCacheMiddleware
        from qauipsiz.api.routers import hotspots

        hotspots.hotspot_body, ResponseCacheMiddleware.GZIP_NOW_BYTES = self._saved


def _service(root: Path, data_dir: Path):
    """A service app over an empty store reading ``root`` as its analytic store, and an analyst key."""
    import dataclasses

    from qauipsiz.api.app import create_app
    from qauipsiz.api.settings import get_settings
    from qauipsiz.api.store import Store

    url = f"sqlite:///{data_dir / 'store.db'}"
    store = Store(url)
    key = store.create_api_key("analyst", "bench")
    settings = dataclasses.replace(get_settings(), data_dir=data_dir, database_url=url, warm=False,
                                   analytic_dir=Path(root))
    return create_app(settings, store=store), store, {"X-API-Key": key, "Accept-Encoding": "gzip"}


def measure_endpoint_latency(root, city: str, n_requests: int = 100, *, seed: int = 1,
                             previous_requests: int | None = None) -> dict:
    """Latency of the service's ``GET /api/v1/cities/{city}/hotspots.geojson`` (the whole request
    through the ASGI app: authentication, response cache, filter, table, GeoJSON, body to the
    client) for distinct random dashboard filters, with ``QAUIPSIZ_ANALYTIC_DIR`` at ``root`` and
    an empty store.

    Each filter is requested cold (nothing cached for it) from our service, again (from the
    response cache, keyed by data version) and cold from a second service running the previous
    path (:class:`_PreviousPath`) on the same columns, so both see the same machine load.  Last,
    a new process (a restart) starts a service on the same data folder and answers its first
    requests from the memory-mapped column files the first one wrote.

    Parameters
    ----------
    root : path
        Analytic store root.
    city : str
        City key.
    n_requests : int
        Distinct random filters.
    seed : int
        Seed of the filters.
    previous_requests : int, optional
        How many of the filters the previous path also answers (default all).

    Returns
    -------
    dict
        ``first_ms`` (the first two requests, res 9 and 10: reading the partitions, writing the
        column files), ``restart_first_ms`` (the same in a new process, from the column files),
        ``restart_process_ms`` (that process from start to exit), ``restart_rss_mib``, ``cold_ms`` and
        ``cold_cpu_ms`` (lists: wall and process CPU time per request), ``prev_ms`` (list),
        ``cached_ms`` (list), ``sizes`` (body bytes), ``res`` (per filter), ``rss_before_mib``,
        ``rss_loaded_mib`` (after the first requests), ``rss_end_mib``, ``columns_mib``,
        ``same_bytes`` (ours and the previous path gave identical bodies).  Milliseconds.
    """
    import gc

    from fastapi.testclient import TestClient

    from qauipsiz.api.routers import _engine

    # distinct query strings, none equal to the first requests' (those are answered from the cache)
    seen = {repr(_query({"res": 9})), repr(_query({"res": 10}))}
    fl = []
    for f in random_filters(3 * n_requests, pd.Timestamp("2021-01-01"), 5 * 365, [], seed):
        if repr(_query(f)) not in seen and len(fl) < n_requests:
            seen.add(repr(_query(f)))
            fl.append(f)
    n_prev = n_requests if previous_requests is None else previous_requests
    path = f"/api/v1/cities/{city}/hotspots.geojson"
    out: dict = {"city": city, "cold_ms": [], "cold_cpu_ms": [], "prev_ms": [], "cached_ms": [], "sizes": [],
                 "res": [f["res"] for f in fl], "same_bytes": True}

    def get(client, q, hdr):
        t, tc = time.perf_counter(), time.process_time()
        r = client.get(path, params=q, headers=hdr)
        assert r.status_code == 200, r.text[:300]
        return r, 1000 * (time.perf_counter() - t), 1000 * (time.process_time() - tc)

    with tempfile.TemporaryDirectory(prefix="qauipsiz-serve-") as tmp, \
            tempfile.TemporaryDirectory(prefix="qauipsiz-serve-prev-") as tmp_prev:
        _engine._ANALYTIC.clear()
        gc.collect()
        out["rss_before_mib"] = _rss_mib()
        app, store, hdr = _service(root, Path(tmp))
        app_p, store_p, hdr_p = _service(root, Path(tmp_prev))
        with TestClient(app) as client, TestClient(app_p) as client_p:
            t = time.perf_counter()
            get(client, [("res", "9")], hdr)
            get(client, [("res", "10")], hdr)
            out["first_ms"] = 1000 * (time.perf_counter() - t)
            out["rss_loaded_mib"] = _rss_mib()
            out["columns_mib"] = sum(c.nbytes for c in _engine._ANALYTIC.values()) / 2**20
            with _PreviousPath():  # the previous path's first requests: cell geometry encoded once per res
                get(client_p, [("res", "9")], hdr_p)
                get(client_p, [("res", "10")], hdr_p)
            for i, f in enumerate(fl):
                q = _query(f)
                r, ms, cpu = get(client, q, hdr)
                out["cold_ms"].append(ms)
                out["cold_cpu_ms"].append(cpu)
                out["sizes"].append(len(r.content))
                out["cached_ms"].append(get(client, q, hdr)[1])
                if i < n_prev:
                    with _PreviousPath():
                        rp, ms_p, _ = get(client_p, q, hdr_p)
                    out["prev_ms"].append(ms_p)
                    out["same_bytes"] &= rp.content == r.content
            # the harness's own cost: a trivial route of the same app answering a body of the
            # median size (authentication, response cache, TestClient transport; no work)
            from fastapi import Response

            blob = b"x" * int(np.median(out["sizes"]))
            app.add_api_route("/api/v1/bench-trivial", lambda: Response(blob, media_type="application/json"))
            out["trivial_ms"], out["trivial_cpu_ms"] = [], []
            for _ in range(30):
                t, tc = time.perf_counter(), time.process_time()
                assert client.get("/api/v1/bench-trivial", headers=hdr).status_code == 200
                ms, cpu = 1000 * (time.perf_counter() - t), 1000 * (time.process_time() - tc)
                out["trivial_ms"].append(ms)
                out["trivial_cpu_ms"].append(cpu)
        out["rss_end_mib"] = _rss_mib()
        store.close()
        store_p.close()
        # a restart: a new process (imports, numba caches, cell tables) maps the column files written above
        import json
        import subprocess

        t = time.perf_counter()
        done = subprocess.run([sys.executable, __file__, "--restart-child", str(root), tmp, city], check=True,
                              capture_output=True, text=True)
        out["restart_process_ms"] = 1000 * (time.perf_counter() - t)
        out.update(json.loads(done.stdout.strip().splitlines()[-1]))
    return out


def measure_endpoint_in_process(root, city: str, n_requests: int = 100, *, seed: int = 1) -> dict:
    """:func:`measure_endpoint_latency` in a new Python process, so its RSS figures are those of a
    service process holding this one city (nothing left over from earlier measurements)."""
    import json
    import subprocess

    done = subprocess.run([sys.executable, __file__, "--endpoint-child", str(root), city, str(n_requests),
                           str(seed)], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _restart_child(root: str, data_dir: str, city: str) -> None:
    """In a new process: a service over ``data_dir`` (whose column files an earlier one wrote)
    answers its first two requests (res 9 and 10); prints their milliseconds and the RSS as JSON."""
    import json

    from fastapi.testclient import TestClient

    t = time.perf_counter()
    app, store, hdr = _service(Path(root), Path(data_dir))
    with TestClient(app) as client:
        t1 = time.perf_counter()
        for res in ("9", "10"):
            r = client.get(f"/api/v1/cities/{city}/hotspots.geojson", params=[("res", res)], headers=hdr)
            assert r.status_code == 200, r.text[:300]
        t2 = time.perf_counter()
    store.close()
    print(json.dumps({"restart_first_ms": 1000 * (t2 - t1), "restart_app_ms": 1000 * (t1 - t),
                      "restart_rss_mib": _rss_mib()}))


def report_endpoint(r: dict) -> None:
    """Print :func:`measure_endpoint_latency`'s result (``show`` lines for ``bench/README.md``)."""
    p = np.percentile
    n = len(r["prev_ms"])
    ours = Timing(float("nan"), tuple(x / 1000 for x in r["cold_ms"][:n]))
    prev = Timing(float("nan"), tuple(x / 1000 for x in r["prev_ms"]))
    show(f"service GET hotspots.geojson, whole request, {r['city']}, {n} distinct dashboard filters, each cold",
         ours, prev, "the previous path: per-feature dict + json.dumps encoder, gzip at store time",
         note=f"(identical bodies: {r['same_bytes']})")
    cold, res, cpu = np.asarray(r["cold_ms"]), np.asarray(r["res"]), np.asarray(r["cold_cpu_ms"])
    by_res = "; ".join(f"res {k}: p50 {p(cold[res == k], 50):.0f} ms, p95 {p(cold[res == k], 95):.0f} ms "
                       f"(CPU p95 {p(cpu[res == k], 95):.0f} ms, n={int((res == k).sum())})"
                       for k in (9, 10) if (res == k).any())
    pr = np.asarray(r["prev_ms"])
    print(f"whole request over {len(cold)} distinct filters (cold: filter + table + GeoJSON + body): "
          f"p50 {p(cold, 50):.0f} ms, p95 {p(cold, 95):.0f} ms wall (target p95 < 200 ms: "
          f"{'met' if p(cold, 95) < 200 else 'missed'}), CPU p50 {p(r['cold_cpu_ms'], 50):.0f} ms, "
          f"p95 {p(r['cold_cpu_ms'], 95):.0f} ms; {by_res}; previous path p50 {p(pr, 50):.0f} ms, "
          f"p95 {p(pr, 95):.0f} ms (p95 ratio {p(pr, 95) / p(cold, 95):.1f}x); cached by data version "
          f"p50 {p(r['cached_ms'], 50):.1f} ms, p95 {p(r['cached_ms'], 95):.1f} ms; "
          f"median body {np.median(r['sizes']) / 2**20:.1f} MiB")
    if r.get("trivial_ms"):
        print(f"harness overhead (a trivial route of the same app answering a body of the median size): "
              f"p50 {p(r['trivial_ms'], 50):.1f} ms, p95 {p(r['trivial_ms'], 95):.1f} ms wall, "
              f"CPU p50 {p(r['trivial_cpu_ms'], 50):.1f} ms")
    print(f"service memory: RSS {r['rss_before_mib']:.0f} MiB before the city, {r['rss_loaded_mib']:.0f} MiB "
          f"after its first requests (+{r['rss_loaded_mib'] - r['rss_before_mib']:.0f} MiB for the loaded city; "
          f"columns {r['columns_mib']:.0f} MiB; target < 1024 MiB per loaded city), {r['rss_end_mib']:.0f} MiB "
          f"after every request (two services' caches: ours and the previous path's)")
    print(f"first load of the city (first two requests, res 9 and 10): {r['first_ms'] / 1000:.1f} s reading the "
          f"partitions and writing the column files; after a restart (a new process) "
          f"{r['restart_first_ms'] / 1000:.2f} s from the memory-mapped column files (process "
          f"{r['restart_process_ms'] / 1000:.1f} s in all with imports and app start; its RSS "
          f"{r['restart_rss_mib']:.0f} MiB)")


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
    if sys.argv[1:2] == ["--restart-child"]:
        return _restart_child(*sys.argv[2:5])
    if sys.argv[1:2] == ["--endpoint-child"]:
        import json

        root, city, n, seed = sys.argv[2:6]
        print(json.dumps(measure_endpoint_latency(root, city, int(n), seed=int(seed))))
        return None
    ap = add_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    ap.add_argument("--events", type=int, default=None, help="events of the generated city (default 5,000,000)")
    ap.add_argument("--data", type=Path, default=None, help="an existing national dataset instead")
    ap.add_argument("--city", default="almaty")
    ap.add_argument("--requests", type=int, default=None, help="distinct filters (default 200; quick 60)")
    ap.add_argument("--bandwidth", type=float, default=400.0)
    ap.add_argument("--endpoint-only", action="store_true", help="only the whole-request measurement")
    ap.add_argument("--endpoint-requests", type=int, default=None, help="distinct filters (default 120; quick 30)")
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
        if not a.endpoint_only:
            r = measure_filter_latency(root, a.city, a.requests or (60 if a.quick else 200), bandwidth_m=a.bandwidth,
                                       baseline_requests=max(a.runs, 5))
            report(r)
            del r
        report_endpoint(measure_endpoint_in_process(root, a.city, a.endpoint_requests or (30 if a.quick else 120)))


if __name__ == "__main__":
    main()
