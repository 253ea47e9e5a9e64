"""Load test of the service: cached Astana hotspot GeoJSON (H3 res 9) and heat-map tiles.

32 concurrent clients (httpx, asyncio, loopback only). Ours and the peer are loaded the same way
(the one way of ``bench/_timing.py``, applied to load windows): one warm-up window (printed apart,
not in the medians), then the same number of timed windows (``--runs``, default 5) of
``--seconds`` each. For each window p50/p95/p99 latency and throughput are taken; the output gives
the median and min–max over the windows and the ratio of medians. Errors are counted over all
windows. Target: p95 ≤ 150 ms (median over windows) and 0 errors.

**Mixed load** (issue 20): the cheap requests (cached hotspot GeoJSON, heat tiles, ``/cities``,
public district indicators) from ``clients - expensive`` clients, first alone, then with
``--expensive`` clients (default 4) requesting patrol plans whose parameters change on every
request (never cached) — so 32 clients in all.  It prints the cheap requests' p95 without and with
the plans in flight (target ≤ 150 ms with), and the RSS of every server process (``serve``, its
workers, their job pools; psutil) before, at the peak during, and after the load.  ``--pool``
runs it with the job pool made of processes (default), threads, or both (a server each).

The peer is a plain static-file server (``python -m http.server``, threaded) serving the same
pre-rendered bytes, loaded the same way; the ratio says what the service costs over bare file
serving.

    python bench/api_load.py            # starts `qauipsiz serve` on a free port (store of the settings,
                                        # demo city ingested when empty), 5 windows of 12 s per scenario
    python bench/api_load.py --quick    # 5 windows of 2 s per scenario
    python bench/api_load.py --url http://127.0.0.1:8000 --key qk_...   # a running server

Clients send ``Accept-Encoding: identity`` by default, like-for-like with the peer (which never
compresses); ``QAUIPSIZ_BENCH_ENCODING=gzip`` measures the service's pre-compressed GeoJSON.
The 32 clients are spread over ``--procs`` client processes (default 4) so that the Python client
is not the bottleneck.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ENCODING = os.environ.get("QAUIPSIZ_BENCH_ENCODING", "identity")  # the static-file peer never compresses
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _timing import add_args, header  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, proc=None, timeout: float = 300.0) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not come up within {timeout:.0f} s")


def astana_tiles(zooms=(11, 12, 13), limit: int = 64) -> list[tuple[int, int, int]]:
    """Tiles over central Astana (where the density is), up to ``limit``."""
    from qauipsiz.maps.tiles import lonlat_to_tile

    out = []
    for z in zooms:
        x0, y0 = lonlat_to_tile(71.36, 51.20, z)
        x1, y1 = lonlat_to_tile(71.52, 51.08, z)
        out += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    step = max(1, len(out) // limit)
    return out[::step][:limit]


async def _load(urls: list[str], headers: dict, seconds: float, clients: int, offset: int = 0) -> dict:
    """``clients`` coroutines request ``urls`` round-robin for ``seconds``; raw latencies in ms."""
    lat: list[float] = []
    errors = 0
    nbytes = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(headers={"Accept-Encoding": ENCODING, **headers}, limits=limits, timeout=30.0) as client:
        async def worker(i: int):
            nonlocal errors, nbytes
            k = i + offset
            while time.perf_counter() < stop:
                u = urls[k % len(urls)]
                k += clients
                t = time.perf_counter()
                try:
                    r = await client.get(u)
                    body = r.content
                    ok = r.status_code == 200 and len(body) > 0
                except httpx.HTTPError:
                    ok, body = False, b""
                lat.append((time.perf_counter() - t) * 1000.0)
                nbytes += len(body)
                if not ok:
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        wall = time.perf_counter() - t0
    return {"lat": lat, "errors": errors, "bytes": nbytes, "wall": wall}


def _proc(args) -> dict:
    return asyncio.run(_load(*args))


def load(urls: list[str], headers: dict, seconds: float, clients: int, procs: int = 4) -> dict:
    """``clients`` concurrent clients in total, spread over ``procs`` client processes (so the
    Python client is not the bottleneck), requesting ``urls`` round-robin for ``seconds``."""
    from concurrent.futures import ProcessPoolExecutor

    procs = max(1, min(procs, clients))
    per = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    jobs = [(urls, headers, seconds, n, sum(per[:i])) for i, n in enumerate(per)]
    with ProcessPoolExecutor(procs) as ex:
        parts = list(ex.map(_proc, jobs))
    lat = [x for p in parts for x in p["lat"]]
    wall = max(p["wall"] for p in parts)
    a = np.array(lat) if lat else np.array([np.nan])
    return {"n": len(lat), "errors": sum(p["errors"] for p in parts), "p50": float(np.percentile(a, 50)),
            "p95": float(np.percentile(a, 95)), "p99": float(np.percentile(a, 99)), "rps": len(lat) / wall,
            "mb_s": sum(p["bytes"] for p in parts) / wall / 2**20}


def windows(urls: list[str], headers: dict, seconds: float, clients: int, procs: int, runs: int) -> dict:
    """One warm-up window, then ``runs`` timed windows of ``seconds``: the same for ours and the peer."""
    warm = load(urls, headers, seconds, clients, procs)
    ws = [load(urls, headers, seconds, clients, procs) for _ in range(runs)]
    return {"warm": warm, "windows": ws, "errors": sum(w["errors"] for w in ws),
            **{k: float(np.median([w[k] for w in ws])) for k in ("p50", "p95", "p99", "rps", "mb_s")},
            **{f"{k}_lo": float(min(w[k] for w in ws)) for k in ("p95", "rps")},
            **{f"{k}_hi": float(max(w[k] for w in ws)) for k in ("p95", "rps")},
            "n": sum(w["n"] for w in ws)}


def fmt(name: str, r: dict) -> str:
    return (f"{name}\n  p95 median {r['p95']:.1f} ms [min {r['p95_lo']:.1f} – max {r['p95_hi']:.1f}] · "
            f"p50 {r['p50']:.1f} ms · p99 {r['p99']:.1f} ms (medians over {len(r['windows'])} windows)\n"
            f"  throughput median {r['rps']:.1f} req/s [min {r['rps_lo']:.1f} – max {r['rps_hi']:.1f}] · "
            f"{r['mb_s']:.1f} MiB/s · {r['n']:,} requests · errors {r['errors']}\n"
            f"  warm-up window (not in the medians): p95 {r['warm']['p95']:.1f} ms, {r['warm']['rps']:.1f} req/s, "
            f"errors {r['warm']['errors']}")


def start_server(workers: int, pool: str) -> tuple[subprocess.Popen, str]:
    """``qauipsiz serve`` on a free port with the job pool ``pool``; returns the process and base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    print(f"starting qauipsiz serve on {base} (store: {os.environ.get('DATABASE_URL') or 'settings default'}; "
          f"{workers} worker(s), job pool: {pool})", flush=True)
    p = subprocess.Popen([sys.executable, "-c", "from qauipsiz.api.cli import main; main()", "serve", "--city",
                          "astana", "--host", "127.0.0.1", "--port", str(port), "--no-warm",
                          "--workers", str(workers)], cwd=ROOT, env={**os.environ, "QAUIPSIZ_JOB_POOL": pool})
    wait_up(base + "/api/v1/health", p, timeout=900)
    return p, base


def stop(p: subprocess.Popen) -> None:
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()


def mixed(base: str, hdr: dict, key: str, tile_urls: list[str], seconds: float, args, server_pid: int | None):
    """Cheap requests alone, then with expensive clients in flight; RSS before, during (peak), after."""
    from _load_mixed import Expensive, RssSampler, fmt_rss, process_tree, rss_mib

    cheap = ([f"{base}/api/v1/cities/astana/hotspots.geojson?res=9"] + tile_urls[:16]
             + [f"{base}/api/v1/cities", f"{base}/api/v1/public/cities/astana/districts"])
    n = args.clients - args.expensive
    pids = (lambda: process_tree(server_pid, args.workers)) if server_pid else dict
    before = rss_mib(pids())
    alone = windows(cheap, hdr, seconds, n, args.procs, args.runs)
    print(fmt("ours  cheap requests alone", alone), flush=True)
    sampler = RssSampler(server_pid, args.workers) if server_pid else None
    if sampler:
        sampler.start()
    with Expensive(base, key, args.expensive) as ex:
        withx = windows(cheap, hdr, seconds, n, args.procs, args.runs)
        xr = ex.result()
    peak = sampler.stop() if sampler else {}
    print(fmt(f"ours  cheap requests with {args.expensive} clients on patrol plans in flight", withx), flush=True)
    lat = np.array(xr["lat"]) if xr["lat"] else np.array([np.nan])
    print(f"  patrol plans meanwhile: {len(xr['lat'])} answered, statuses {xr['codes']}, median "
          f"{np.median(lat):.2f} s, max {np.max(lat):.2f} s", flush=True)
    time.sleep(3.0)
    after = rss_mib(pids())
    if server_pid:
        print(fmt_rss("before the mixed load", before))
        print(fmt_rss("peak during it", peak))
        print(fmt_rss("3 s after it", after))
    try:
        st = httpx.get(f"{base}/api/v1/ready", headers=hdr, timeout=30).json().get("cache") or {}
        print(f"  cache of the worker that answered /ready: {st.get('bytes', 0) / 2**20:.0f} MiB accounted in "
              f"{st.get('entries', 0)} entries (budget {st.get('max_bytes', 0) / 2**20:.0f} MiB)")
    except (httpx.HTTPError, ValueError):
        pass
    return alone, withx, (before, peak, after)


def run_mixed(args, base: str, procs: list, hdr: dict, key: str, tiles, seconds: float) -> list:
    """The mixed load on the running server, then on a fresh server for each other ``--pool``."""
    print(f"\nmixed load: {args.clients - args.expensive} clients on cheap requests (hotspots.geojson, 16 tiles, "
          f"/cities, public districts), without and with {args.expensive} clients on patrol plans whose parameters "
          "change every request (never cached)", flush=True)
    pools = ["(running server)"] if args.url else (["process", "thread"] if args.pool == "both" else [args.pool])
    out = []
    for i, pool in enumerate(pools):
        if i > 0:
            stop(procs.pop(0))
            p, base = start_server(args.workers, pool)
            procs.insert(0, p)
        tile_urls = [f"{base}/api/v1/cities/astana/heat/{z}/{x}/{y}.png" for z, x, y in tiles]
        with httpx.Client(headers=hdr, timeout=600) as c:  # the cheap requests are cached ones
            for u in [f"{base}/api/v1/cities/astana/hotspots.geojson?res=9", *tile_urls[:16]]:
                c.get(u).raise_for_status()
        out.append((pool, mixed(base, hdr, key, tile_urls, seconds, args, None if args.url else procs[0].pid)))
    return out


def main() -> int:
    ap = add_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    ap.add_argument("--url", help="target a running server (default: start one)")
    ap.add_argument("--key", help="API key with the hotspots permission (default: create one in the store)")
    ap.add_argument("--seconds", type=float, default=None, help="seconds per window (default 12; quick 2)")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2, help="server processes of the started server (serve --workers)")
    ap.add_argument("--procs", type=int, default=4, help="client processes sharing the clients")
    ap.add_argument("--no-peer", action="store_true", help="skip the static-file peer")
    ap.add_argument("--expensive", type=int, default=4, help="clients requesting fresh patrol plans (mixed load)")
    ap.add_argument("--pool", choices=("process", "thread", "both"), default="both",
                    help="job pool of the server(s) for the mixed load (QAUIPSIZ_JOB_POOL)")
    args = ap.parse_args()
    seconds = args.seconds or (2.0 if args.quick else 12.0)
    header("service load benchmark", args.quick, args.runs)
    procs = []
    created_key = None
    store = None
    try:
        base = args.url
        key = args.key
        if base:
            host = httpx.URL(base).host
            if host not in ("127.0.0.1", "localhost", "::1"):
                raise SystemExit("loopback targets only (127.0.0.1 / localhost)")
        if not key:
            from qauipsiz.api.settings import get_settings
            from qauipsiz.api.store import Store

            store = Store(get_settings().database_url)
            key = created_key = store.create_api_key("commander", "bench/api_load.py")  # hotspots + patrol
        if not base:
            p, base = start_server(args.workers, "thread" if args.pool == "thread" else "process")
            procs.append(p)
        hdr = {"X-API-Key": key}
        geo = f"{base}/api/v1/cities/astana/hotspots.geojson?res=9"
        tiles = astana_tiles()
        tile_urls = [f"{base}/api/v1/cities/astana/heat/{z}/{x}/{y}.png" for z, x, y in tiles]

        print("warming the cache (first computation of the surfaces) …", flush=True)
        t = time.perf_counter()
        r = httpx.get(geo, headers=hdr, timeout=600)
        r.raise_for_status()
        print(f"  hotspots res 9: {len(r.content) / 2**20:.2f} MiB, cold {time.perf_counter() - t:.2f} s", flush=True)
        geo_bytes = r.content
        t = time.perf_counter()
        tile_bytes = []
        with httpx.Client(headers=hdr, timeout=600) as c:
            for u in tile_urls:
                rr = c.get(u)
                rr.raise_for_status()
                tile_bytes.append(rr.content)
        print(f"  {len(tile_urls)} heat tiles (z 11–13), cold {time.perf_counter() - t:.2f} s", flush=True)

        print(f"\nload: {args.clients} concurrent clients in {args.procs} client processes; per scenario one "
              f"warm-up window and {args.runs} timed windows of {seconds:g} s", flush=True)
        ours_geo = windows([geo], hdr, seconds, args.clients, args.procs, args.runs)
        print(fmt("ours  qauipsiz hotspots.geojson res 9", ours_geo), flush=True)
        ours_tiles = windows(tile_urls, hdr, seconds, args.clients, args.procs, args.runs)
        print(fmt("ours  qauipsiz heat tiles", ours_tiles), flush=True)

        peer = None
        if not args.no_peer:
            tmp = tempfile.mkdtemp(prefix="qauipsiz-peer-")
            Path(tmp, "hotspots.geojson").write_bytes(geo_bytes)
            for (z, x, y), b in zip(tiles, tile_bytes, strict=True):
                Path(tmp, f"{z}_{x}_{y}.png").write_bytes(b)
            pport = free_port()
            pp = subprocess.Popen([sys.executable, "-m", "http.server", str(pport), "--bind", "127.0.0.1",
                                   "--directory", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(pp)
            pbase = f"http://127.0.0.1:{pport}"
            wait_up(pbase + "/hotspots.geojson", pp)
            peer_geo = windows([pbase + "/hotspots.geojson"], {}, seconds, args.clients, args.procs, args.runs)
            print(fmt("peer  python -m http.server, same hotspots.geojson bytes", peer_geo), flush=True)
            peer_tiles = windows([f"{pbase}/{z}_{x}_{y}.png" for z, x, y in tiles], {}, seconds, args.clients,
                                 args.procs, args.runs)
            print(fmt("peer  python -m http.server, same tile bytes", peer_tiles), flush=True)
            peer = (peer_geo, peer_tiles)

        mixed_results = run_mixed(args, base, procs, hdr, key, tiles, seconds) if args.expensive > 0 else []

        print("\nresult")
        ok = True
        for name, r in (("hotspots.geojson res 9", ours_geo), ("heat tiles", ours_tiles)):
            good = r["p95"] <= 150.0 and r["errors"] == 0
            ok &= good
            print(f"  {name:<24} p95 median {r['p95']:.1f} ms (target ≤ 150), errors {r['errors']} (target 0): "
                  f"{'PASS' if good else 'FAIL'}")
        for pool, (alone, withx, _) in mixed_results:
            good = withx["p95"] <= 150.0 and withx["errors"] == 0
            ok &= good
            print(f"  cheap requests, {pool} pool: p95 median {alone['p95']:.1f} ms alone, {withx['p95']:.1f} ms with "
                  f"patrol plans in flight (target ≤ 150), errors {withx['errors']}: {'PASS' if good else 'FAIL'}")
        if peer:
            for name, r, q in (("hotspots.geojson", ours_geo, peer[0]), ("heat tiles", ours_tiles, peer[1])):
                print(f"  {name:<24} ratio of medians: p95 ours/peer = {r['p95'] / q['p95']:.2f}, "
                      f"throughput ours/peer = {r['rps'] / q['rps']:.2f}")
        return 0 if ok else 1
    finally:
        for p in procs:
            stop(p)
        if created_key and store is not None:
            k = store.verify_api_key(created_key)
            if k is not None:
                store.revoke_api_key(k.id)


if __name__ == "__main__":
    raise SystemExit(main())
