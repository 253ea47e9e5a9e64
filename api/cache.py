"""Cache of computed surfaces and rendered bytes, keyed by city, parameters and data version.

A key is ``(kind, city, params, data_version)``; ``data_version`` is the store's
:meth:`~api.store.Store.data_version` of the city, so anything ingested — by the API, the CLI
or another process — makes old entries unreachable.  Ingestion through the API also calls
:meth:`SurfaceCache.invalidate` so their memory is freed at once.

The cache is an in-process LRU bounded by an approximate byte budget (256 MiB of computed values
per server process, 128 MiB of response bytes; GEOS geometries are counted by estimate, and
freed memory is handed back to the OS after evictions; see docs/service.md, "Memory").  Concurrent requests for
the same missing key compute it once (a per-key lock), which keeps a cold start under load cheap.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


def params_key(params: dict) -> str:
    """A stable short digest of a parameter dict (sorted JSON, sha1, 16 hex chars)."""
    blob = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


GEOS_COORD_BYTES, GEOS_GEOM_BYTES = 24, 160
"""Estimated GEOS memory per coordinate (x, y, z doubles) and per geometry object: pandas'
``memory_usage(deep=True)`` sees only the small Python wrapper of a shapely geometry."""


def _geos_bytes(frame) -> int:
    """Estimated GEOS heap of the geometry columns of a (Geo)DataFrame or GeoSeries, bytes."""
    import shapely

    cols = [frame] if getattr(frame, "dtype", None) is not None else [
        frame[c] for c in frame.columns if str(frame[c].dtype) == "geometry"]
    total = 0
    for col in cols:
        if str(col.dtype) != "geometry":
            continue
        arr = col.to_numpy(dtype=object) if hasattr(col, "to_numpy") else col
        total += int(shapely.get_num_coordinates(arr).sum()) * GEOS_COORD_BYTES + len(arr) * GEOS_GEOM_BYTES
    return total


def _size_of(value: Any) -> int:
    """Approximate memory of a cached value, bytes (GEOS geometries included by estimate)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    mem = getattr(value, "memory_usage", None)
    if callable(mem):  # pandas: before ``nbytes``, which counts an object column as its pointers only
        try:
            used = mem(deep=True)
            return int(used.sum() if hasattr(used, "sum") else used) + _geos_bytes(value)
        except Exception:  # a size estimate only
            pass
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int | float):
        return int(nbytes)
    if isinstance(value, tuple | list):
        return sum(_size_of(v) for v in value) + 64
    if isinstance(value, dict):
        return sum(_size_of(v) for v in value.values()) + 64
    return sys.getsizeof(value)


class SurfaceCache:
    """LRU of computed values with a byte budget and single-flight computation.

    Parameters
    ----------
    max_bytes : int
        Approximate memory budget in bytes (default 512 MiB).
    """

    TRIM_EVERY = 64 * 2**20
    """After this many bytes were evicted or invalidated, freed heap is handed back to the OS."""

    def __init__(self, max_bytes: int = 256 * 2**20):
        self.max_bytes = int(max_bytes)
        self._freed = 0
        self._d: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._key_locks: dict[tuple, threading.Lock] = {}
        self.hits = self.misses = 0

    def get(self, key: tuple) -> Any | None:
        """The cached value of ``key`` or ``None``."""
        with self._lock:
            hit = self._d.get(key)
            if hit is None:
                return None
            self._d.move_to_end(key)
            self.hits += 1
            return hit[0]

    def put(self, key: tuple, value: Any) -> None:
        """Store ``value`` under ``key``, evicting least-recently-used entries over budget."""
        size = _size_of(value)
        with self._lock:
            old = self._d.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._d[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes and len(self._d) > 1:
                _, (_, s) = self._d.popitem(last=False)
                self._bytes -= s
                self._freed += s
        self._maybe_trim()

    def _maybe_trim(self) -> None:
        """``malloc_trim`` once ``TRIM_EVERY`` bytes have been dropped: glibc keeps freed pages of
        a threaded heap mapped, so without it RSS stays at its high-water mark (docs/service.md)."""
        with self._lock:
            if self._freed < self.TRIM_EVERY:
                return
            self._freed = 0
        from qauipsiz.api.memory import malloc_trim

        malloc_trim()

    def get_or_compute(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """Cached value of ``key``, computing it once (other threads wait) when missing."""
        v = self.get(key)
        if v is not None:
            return v
        with self._lock:
            klock = self._key_locks.setdefault(key, threading.Lock())
        with klock:
            v = self.get(key)
            if v is not None:
                return v
            with self._lock:
                self.misses += 1
            v = compute()
            self.put(key, v)
        with self._lock:
            self._key_locks.pop(key, None)
        return v

    def invalidate(self, city: Hashable | None = None) -> int:
        """Drop every entry of ``city`` (all entries when ``None``); returns how many."""
        with self._lock:
            keys = [k for k in self._d if city is None or (len(k) > 1 and k[1] == city)]
            for k in keys:
                size = self._d.pop(k)[1]
                self._bytes -= size
                self._freed += size
        self._maybe_trim()
        return len(keys)

    def stats(self) -> dict:
        """``entries, bytes, max_bytes, hits, misses``."""
        with self._lock:
            return {"entries": len(self._d), "bytes": self._bytes, "max_bytes": self.max_bytes,
                    "hits": self.hits, "misses": self.misses}


class VersionClock:
    """The store's data version per city, re-read at most every ``ttl_s`` seconds.

    Ingestion through the API calls :meth:`forget` so its own writes are seen at once; writes by
    other processes are seen within ``ttl_s``.
    """

    def __init__(self, read: Callable[[str], str], ttl_s: float = 1.0):
        self._read, self.ttl_s = read, ttl_s
        self._d: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def __call__(self, city: str) -> str:
        """The data version of ``city``, re-read from the store at most every ``ttl_s`` seconds."""
        now = time.monotonic()
        with self._lock:
            hit = self._d.get(city)
        if hit and now - hit[0] < self.ttl_s:
            return hit[1]
        v = self._read(city)
        with self._lock:
            self._d[city] = (now, v)
        return v

    def forget(self, city: str | None = None) -> None:
        """Drop the remembered version of ``city`` (of every city when ``None``)."""
        with self._lock:
            if city is None:
                self._d.clear()
            else:
                self._d.pop(city, None)


_GZIP_LATER = ()
"""Marks a stored response whose gzip copy is made on first demand (:class:`ResponseCacheMiddleware`)."""


class ResponseCacheMiddleware:
    """Resolve the caller once, then serve repeated GETs of cacheable city resources from memory.

    **Identity.**  Every HTTP request first goes through :func:`api.auth.identify`, which parses
    *all* credential headers once and stores the :class:`~api.auth.Principal` in the request
    state; route dependencies read that same value.  Ambiguous credentials (two ``X-API-Key``
    headers, …) are a 400 and a malformed, unknown or revoked key a 401 — on every route — before
    the cache or the app is reached.

    **Cache.**  A response is stored when it is a 200 to a GET under ``/api/v1/cities/<city>/`` or
    ``/api/v1/public/cities/<city>/`` that carries an ``ETag`` and no ``no-store`` (audited
    resources — incident queries, patrol plans — are ``no-store`` and never stored), and the route
    was authorised with the very principal that keys the entry.  The key is
    ``(role, key id, path, query string, data version of the city)``: an entry made with a key is
    readable only by that key (a restricted body can never be read by a lower role, nor by the
    public), an entry made without a key only without one.  JSON bodies over 4 KiB are also kept
    gzip-compressed and sent so to clients that accept gzip: up to ``GZIP_NOW_BYTES`` compressed
    once at store time; larger ones (a res-10 city's hexagons, ~15 MB) only when a client first asks
    for gzip, in a worker thread at level 1, so the request that computed the body never waits for
    its compression.
    """

    PREFIXES = ("/api/v1/cities/", "/api/v1/public/cities/")
    GZIP_NOW_BYTES = 2**20

    def __init__(self, app, services, key_cache, max_bytes: int = 128 * 2**20):
        self.app, self.services, self.key_cache = app, services, key_cache
        self.store = SurfaceCache(max_bytes)

    @staticmethod
    async def _problem(scope, receive, send, status: int, detail: str, slug: str | None = None,
                       headers: dict | None = None) -> None:
        from qauipsiz.api.errors import problem_response

        resp = problem_response(status, detail, instance=scope.get("path"), slug=slug, headers=headers)
        await resp(scope, receive, send)

    async def _gzip_later(self, key: tuple, hit: tuple, headers: dict) -> tuple:
        """A stored large body's entry with its gzip copy, compressed (level 1, in a worker thread) and
        stored the first time a client accepts gzip; without gzip the entry as plain."""
        if b"gzip" not in headers.get(b"accept-encoding", b""):
            return (*hit[:3], None)
        from starlette.concurrency import run_in_threadpool

        hit = (*hit[:3], await run_in_threadpool(gzip.compress, hit[2], compresslevel=1, mtime=0))
        self.store.put(key, hit)
        return hit

    @staticmethod
    async def _send_hit(hit, headers: dict, send) -> None:
        """Answer from a stored entry: gzip when accepted, 304 when ``If-None-Match`` matches."""
        status, hdrs, body, gz = hit
        if gz is not None and b"gzip" in headers.get(b"accept-encoding", b""):
            body = gz
            hdrs = [h for h in hdrs if h[0] != b"content-length"] + [
                (b"content-length", str(len(gz)).encode()), (b"content-encoding", b"gzip")]
        etag = dict(hdrs).get(b"etag")
        if etag is not None and headers.get(b"if-none-match") == etag:
            await send({"type": "http.response.start", "status": 304,
                        "headers": [h for h in hdrs if h[0] not in (b"content-length", b"content-type")]
                        + [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": status, "headers": hdrs})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        """ASGI entry: serve cacheable GETs from the response cache, else call the app and store."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from qauipsiz.api.auth import identify
        from qauipsiz.api.errors import ApiError

        try:
            p = await identify(scope, self.key_cache, self.services)
        except ApiError as e:
            return await self._problem(scope, receive, send, e.status, e.detail, e.slug, e.headers)
        except Exception:  # the key store cannot be read: not the client's fault
            import logging

            logging.getLogger("qauipsiz.api").exception("cannot verify the API key")
            return await self._problem(scope, receive, send, 503, "the API key cannot be verified now",
                                       "not-ready")
        if scope["method"] != "GET":
            return await self.app(scope, receive, send)
        path = scope["path"]
        pre = next((x for x in self.PREFIXES if path.startswith(x)), None)
        if pre is None:
            return await self.app(scope, receive, send)
        city = path[len(pre):].split("/", 1)[0]
        headers = dict(scope.get("headers") or ())
        try:
            ver = self.services.version(city)
        except Exception:  # unknown city etc.: let the app answer
            return await self.app(scope, receive, send)
        key = (p.role, p.key_id, path, scope.get("query_string", b""), ver)
        hit = self.store.get(key)
        if hit is not None:
            if hit[3] is _GZIP_LATER:
                hit = await self._gzip_later(key, hit, headers)
            return await self._send_hit(hit, headers, send)
        start: dict = {}
        chunks: list[bytes] = []

        async def capture(msg):
            if msg["type"] == "http.response.start":
                start.update(msg)
            elif msg["type"] == "http.response.body":
                chunks.append(msg.get("body", b""))
                if not msg.get("more_body") and start.get("status") == 200:
                    h = dict(start.get("headers") or ())
                    if (b"etag" in h and b"no-store" not in h.get(b"cache-control", b"")
                            and scope.get("state", {}).get("principal") is p):
                        body = b"".join(chunks)
                        gz = None
                        if len(body) > 4096 and b"json" in h.get(b"content-type", b""):
                            gz = (gzip.compress(body, compresslevel=6, mtime=0) if len(body) <= self.GZIP_NOW_BYTES
                                  else _GZIP_LATER)
                        hdrs = [x for x in start["headers"] if x[0] != b"vary"]
                        hdrs.append((b"vary", h.get(b"vary", b"") + (b", " if h.get(b"vary") else b"")
                                     + b"Accept-Encoding"))
                        self.store.put(key, (200, hdrs, body, gz))
            await send(msg)

        await self.app(scope, receive, capture)
