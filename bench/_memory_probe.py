"""Memory probe of one server process (issue 20): RSS against what the caches account for.

In-process (FastAPI TestClient on the store of the settings, full demo city): 144 distinct hotspot
queries (res 8–10 × 8 categories × 6 hour windows), 8 at a time, printing RSS (psutil) and the
bytes the surface cache and the response cache report; halfway and at the end the caches are
emptied and ``malloc_trim(0)`` called, so one-time costs, cached data and heap kept by glibc can
be told apart.  ``arena`` first caps glibc's arenas at 2 (``mallopt``)::

    python bench/_memory_probe.py [plain|arena]

The numbers are quoted in ``docs/service.md`` ("Memory").  Not part of ``make bench`` (no peer).
"""
from __future__ import annotations

import ctypes
import gc
import sys
from concurrent.futures import ThreadPoolExecutor

import psutil

CATS = ["murder", "battery", "theft", "fraud", "robbery", "hooliganism", "petty_theft", "threat"]


def _trim() -> None:
    ctypes.CDLL("libc.so.6").malloc_trim(0)


def _response_cache(app):
    m = app.middleware_stack
    while m is not None and type(m).__name__ != "ResponseCacheMiddleware":
        m = getattr(m, "app", None)
    return m.store


def main() -> None:
    from fastapi.testclient import TestClient

    from qauipsiz.api.app import create_app
    from qauipsiz.api.settings import get_settings
    from qauipsiz.api.store import Store

    mode = sys.argv[1] if len(sys.argv) > 1 else "plain"
    if mode == "arena":
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)
    s = get_settings()
    store = Store(s.database_url)
    key = store.create_api_key("commander", "bench/_memory_probe.py")
    app = create_app(s)
    proc = psutil.Process()

    def rss() -> float:
        return proc.memory_info().rss / 2**20

    urls = [f"/api/v1/cities/astana/hotspots.geojson?res={res}&category={cat}&hours={hours}"
            for hours in ("0-6", "18-2", "8-20", "1-5", "19-3", "9-21") for res in (8, 9, 10) for cat in CATS]
    try:
        with TestClient(app) as c:
            rc = _response_cache(app)
            print(f"{mode}: start rss {rss():.0f} MiB", flush=True)
            for i in range(0, len(urls), 24):
                if i == len(urls) // 2:
                    app.state.services.cache.invalidate()
                    gc.collect()
                    _trim()
                    print(f"{mode}: half way, surface cache emptied + trim: rss {rss():.0f} MiB", flush=True)
                with ThreadPoolExecutor(8) as ex:
                    list(ex.map(lambda u: c.get(u, headers={"X-API-Key": key}).status_code, urls[i:i + 24]))
                print(f"{mode}: after {i + 24:3d} requests rss {rss():.0f} MiB; surface cache "
                      f"{app.state.services.cache.stats()['bytes'] / 2**20:.0f} MiB, response cache "
                      f"{rc.stats()['bytes'] / 2**20:.0f} MiB", flush=True)
            app.state.services.cache.invalidate()
            rc.invalidate()
            gc.collect()
            print(f"{mode}: caches emptied: rss {rss():.0f} MiB", flush=True)
            _trim()
            print(f"{mode}: + malloc_trim: rss {rss():.0f} MiB", flush=True)
    finally:
        k = store.verify_api_key(key)
        if k is not None:
            store.revoke_api_key(k.id)


if __name__ == "__main__":
    main()
