"""Expensive work off the request workers: one bounded pool per service process, and background jobs.

Patrol plans, route cards and site recommendations take seconds of CPU, most of it Python holding
the GIL.  Computed on the event loop's threads they stall every other request of the worker, the
cheap cached ones included.  :class:`JobManager` runs them elsewhere:

* **the pool** — by default a :class:`concurrent.futures.ProcessPoolExecutor` of
  ``job_workers`` processes (``QAUIPSIZ_JOB_WORKERS``, default 1; started with ``spawn``, so no
  lock of the server's threads is inherited).  Each pool process opens the store from the
  settings and keeps its own :class:`~api.routers._deps.Services` cache, so a plan and its route
  cards are computed once there.  ``QAUIPSIZ_JOB_POOL=thread`` uses a thread pool in the server
  process instead (cheaper in memory, but the GIL is shared with the event loop; see
  ``docs/service.md`` for the measurements).  A pool process is replaced after
  ``MAX_TASKS_PER_CHILD`` tasks, which bounds what its heap can grow to.
* **synchronous requests** (the default) ``await`` their result from the pool
  (:meth:`JobManager.run`), so they never block the event loop or the cheap routes;
* **asynchronous requests** (``?async=true`` or ``Prefer: respond-async``) get ``202 Accepted``
  with ``Location: /api/v1/jobs/{id}`` (:meth:`JobManager.submit`); ``GET /api/v1/jobs/{id}``
  reports ``queued``, ``running``, ``done`` or ``failed`` and ``GET /api/v1/jobs/{id}/result`` the
  very bytes the synchronous route returns (or its problem document).

Job records and results are files under ``<data_dir>/jobs`` (written atomically), so every
``serve --workers N`` process answers for every job.  They are bounded: a finished job is kept
``ttl_s`` seconds (default 15 min), at most ``max_jobs`` records and ``max_result_bytes`` of results
(oldest dropped first).  Only the key that submitted a job can read it (any other caller gets 404,
as if it did not exist), and it must still hold the original route's permission.
"""
from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import multiprocessing
import os
import re
import secrets
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Query

from qauipsiz.api.errors import TYPE_BASE, ApiError
from qauipsiz.api.memory import limit_malloc_arenas, malloc_trim

log = logging.getLogger("qauipsiz.api")

JOB_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
"""What a job id looks like (``secrets.token_urlsafe(18)``); anything else is a 404."""
STATUSES = ("queued", "running", "done", "failed")
MAX_TASKS_PER_CHILD = 200
"""A pool process is replaced after this many tasks (bounds the growth of its heap)."""

_CHILD: dict[str, Any] = {}
"""In a pool process: ``{"services": Services}`` (set by :func:`_child_init`)."""


def _child_init(settings, services_type) -> None:
    # the service's own Services class is handed in (it pickles by name), so this module never
    # imports the routers that import it
    from qauipsiz.api.settings import apply

    limit_malloc_arenas()
    apply(settings)
    _CHILD["services"] = services_type(settings)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _problem(status: int, detail: str, slug: str | None, instance: str | None) -> dict:
    from http import HTTPStatus

    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    slug = slug or title.lower().replace(" ", "-")
    return {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail, "instance": instance}


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _outcome(target: str, svc, args: tuple) -> tuple:
    """``("ok", value)`` or ``("error", status, detail, slug)``: plain tuples cross the process
    boundary (an :class:`ApiError` does not pickle with its status)."""
    mod, _, name = target.partition(":")
    try:
        fn = getattr(importlib.import_module(mod), name)
        return ("ok", fn(svc, *args))
    except ApiError as e:
        return ("error", e.status, e.detail, e.slug)
    except Exception as e:  # the route's own 500: logged here, a generic problem to the client
        log.exception("job %s failed", target)
        return ("error", 500, f"internal error ({type(e).__name__}); the incident was logged", None)


def _execute(target: str, args: tuple, job: tuple | None = None, svc=None) -> tuple:
    """Run ``target(svc, *args)`` in the pool.  With ``job = (jobs_dir, id)`` the record is marked
    running, and the result (or problem) is written next to it; only a marker goes back."""
    svc = svc if svc is not None else _CHILD["services"]
    if job is None:
        return _outcome(target, svc, args)
    d, jid = Path(job[0]), job[1]
    rec_path = d / f"{jid}.json"
    rec = json.loads(rec_path.read_text(encoding="utf-8"))
    rec.update(status="running", started=_now(), pid=os.getpid())
    _write_atomic(rec_path, json.dumps(rec).encode())
    out = _outcome(target, svc, args)
    if out[0] == "ok":
        body = out[1] if isinstance(out[1], bytes) else str(out[1]).encode("utf-8")
        _write_atomic(d / f"{jid}.result", body)
        rec.update(status="done", result_bytes=len(body))
    else:
        rec.update(status="failed", problem=_problem(out[1], out[2], out[3], rec.get("resource")))
    rec["finished"] = _now()
    _write_atomic(rec_path, json.dumps(rec).encode())
    if _CHILD:  # a pool process: hand the job's freed heap back to the OS
        malloc_trim()
    return ("stored",)


def cache_stats(svc) -> dict:
    """The pool-side cache statistics (a task of :meth:`JobManager.pool_cache_stats`)."""
    return svc.cache.stats()


class JobManager:
    """The pool and the job records of one service process.

    Parameters
    ----------
    settings : api.settings.Settings
        ``job_workers``, ``job_pool`` and ``data_dir`` (records in ``<data_dir>/jobs``).
    services : api.routers._deps.Services
        The server's services (used by the thread pool; a process pool opens its own).
    ttl_s : float
        Seconds a finished job (record and result) is kept.
    max_jobs : int
        Most job records kept; the oldest finished ones go first.
    max_result_bytes : int
        Most bytes of results kept on disk, in total.
    max_backlog : int, optional
        Most tasks queued or running in the pool (default 4 × ``job_workers``); past it a request
        gets 429 with ``Retry-After``.
    """

    def __init__(self, settings, services, *, ttl_s: float = 900.0, max_jobs: int = 256,
                 max_result_bytes: int = 256 * 2**20, max_backlog: int | None = None):
        self.settings, self.services = settings, services
        self.workers = max(1, int(getattr(settings, "job_workers", 1)))
        self.mode = getattr(settings, "job_pool", "process")
        if self.mode not in ("process", "thread"):
            raise ValueError(f"job_pool={self.mode!r}: must be 'process' or 'thread'")
        self.ttl_s, self.max_jobs, self.max_result_bytes = float(ttl_s), int(max_jobs), int(max_result_bytes)
        self.dir = Path(settings.data_dir) / "jobs"
        self._pool: Executor | None = None
        self._lock = threading.Lock()
        self._inflight = 0
        self.max_backlog = max_backlog if max_backlog is not None else 4 * self.workers

    # -- the pool ---------------------------------------------------------------------------------
    def pool(self) -> Executor:
        """The executor, started on first use."""
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    if self.mode == "thread":
                        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="qauipsiz-job")
                    else:
                        self._pool = ProcessPoolExecutor(
                            self.workers, mp_context=multiprocessing.get_context("spawn"),
                            initializer=_child_init, initargs=(self.settings, type(self.services)),
                            max_tasks_per_child=MAX_TASKS_PER_CHILD)
        return self._pool

    def pool_pids(self) -> list[int]:
        """Process ids of the pool's processes (empty for a thread pool or before first use)."""
        procs = getattr(self._pool, "_processes", None) or {}
        return sorted(int(p) for p in procs)

    def shutdown(self) -> None:
        """Stop the pool (running tasks finish first in a thread pool; a process pool is cancelled)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _call(self, target: str, args: tuple, job: tuple | None = None):
        """Submit to the pool, or refuse (429, ``Retry-After``) when ``max_backlog`` tasks are waiting
        or running already: a queue that grows without bound would only answer after its callers
        gave up (a synchronous request that times out with 504 cancels its task if it has not started)."""
        with self._lock:
            if self._inflight >= self.max_backlog:
                raise ApiError(429, f"the service is computing {self._inflight} expensive requests; "
                                    "retry shortly", slug="busy", headers={"Retry-After": "5"})
            self._inflight += 1
        svc = self.services if self.mode == "thread" else None
        try:
            fut = self.pool().submit(_execute, target, args, job, svc)
        except BaseException:
            self._done(None)
            raise
        fut.add_done_callback(self._done)
        return fut

    def _done(self, _fut) -> None:
        with self._lock:
            self._inflight -= 1

    async def run(self, target: str, *args) -> Any:
        """Await ``target(services, *args)`` computed in the pool; its :class:`ApiError` is re-raised.

        ``target`` is ``"module:function"`` (importable in a pool process); ``args`` must pickle.
        """
        out = await asyncio.wrap_future(self._call(target, args))
        if out[0] == "error":
            raise ApiError(out[1], out[2], slug=out[3])
        return out[1]

    def pool_cache_stats(self) -> dict:
        """Statistics of the cache where the pool computes (:meth:`api.cache.SurfaceCache.stats`;
        with several pool processes, of the one that answers)."""
        out = self._call("qauipsiz.api.jobs:cache_stats", ()).result()
        if out[0] == "error":
            raise ApiError(out[1], out[2], slug=out[3])
        return out[1]

    # -- jobs -------------------------------------------------------------------------------------
    def submit(self, principal, *, kind: str, permission: str, resource: str, media_type: str,
               target: str, args: tuple, params: dict | None = None) -> dict:
        """Queue ``target(services, *args)`` as a job owned by ``principal``; returns its record."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self.sweep(room=1)
        jid = secrets.token_urlsafe(18)
        rec = {"id": jid, "kind": kind, "status": "queued", "created": _now(), "started": None, "finished": None,
               "owner_role": principal.role, "owner_key": principal.key_id, "permission": permission,
               "resource": resource, "media_type": media_type, "params": params or {}}
        _write_atomic(self.dir / f"{jid}.json", json.dumps(rec, default=str).encode())
        try:
            fut = self._call(target, args, (str(self.dir), jid))
        except ApiError:
            (self.dir / f"{jid}.json").unlink(missing_ok=True)
            raise
        fut.add_done_callback(lambda f, jid=jid: self._crashed(f, jid))
        return rec

    def _crashed(self, fut, jid: str) -> None:
        """The pool died under the job (a killed process): record it as failed."""
        exc = fut.exception() if not fut.cancelled() else None
        if exc is None and not fut.cancelled():
            return
        with contextlib.suppress(OSError, ValueError):
            path = self.dir / f"{jid}.json"
            rec = json.loads(path.read_text(encoding="utf-8"))
            detail = "the job was cancelled" if fut.cancelled() else f"the job's worker failed ({type(exc).__name__})"
            rec.update(status="failed", finished=_now(), problem=_problem(500, detail, None, rec.get("resource")))
            _write_atomic(path, json.dumps(rec).encode())

    def get(self, jid: str, principal) -> dict:
        """The record of job ``jid`` for ``principal``: 404 unless it exists and is theirs, 403 when
        their role no longer holds the job's permission."""
        rec = self._read(jid)
        if rec is None or rec["owner_key"] != principal.key_id or rec["owner_role"] != principal.role:
            raise ApiError(404, f"no job {jid!r} of this caller (jobs are kept {self.ttl_s / 60:g} min)",
                           slug="not-found")
        if not principal.can(rec["permission"]):
            raise ApiError(403, f"role {principal.role!r} lacks the {rec['permission']!r} permission",
                           slug="forbidden")
        return rec

    def result(self, jid: str) -> bytes:
        """The stored result bytes of a finished job (404 when they were dropped)."""
        try:
            return (self.dir / f"{jid}.result").read_bytes()
        except OSError:
            raise ApiError(404, f"the result of job {jid!r} is no longer kept", slug="not-found") from None

    def _read(self, jid: str) -> dict | None:
        if not JOB_ID.fullmatch(jid or ""):
            return None
        try:
            return json.loads((self.dir / f"{jid}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def sweep(self, now: float | None = None, room: int = 0) -> int:
        """Drop expired jobs, then the oldest finished ones over ``max_jobs`` (less ``room`` for jobs
        about to be added) / ``max_result_bytes``.

        A job still queued or running is dropped only after ``4 × ttl_s`` (its worker died).
        Returns how many jobs were dropped.
        """
        now = time.time() if now is None else now
        entries = []
        for f in self.dir.glob("*.json"):
            try:
                rec = json.loads(f.read_text(encoding="utf-8"))
                st = f.stat()
            except (OSError, ValueError):
                continue
            res = f.with_suffix(".result")
            size = res.stat().st_size if res.exists() else 0
            entries.append((st.st_mtime, rec.get("status"), f, res, size))
        entries.sort(key=lambda e: e[0])
        keep, dropped = [], 0
        for e in entries:
            age = now - e[0]
            if age > self.ttl_s * (1 if e[1] in ("done", "failed") else 4):
                self._drop(e)
                dropped += 1
            else:
                keep.append(e)
        total = sum(e[4] for e in keep)
        for e in [e for e in keep if e[1] in ("done", "failed")]:
            if len(keep) + room <= self.max_jobs and total <= self.max_result_bytes:
                break
            self._drop(e)
            keep.remove(e)
            total -= e[4]
            dropped += 1
        return dropped

    @staticmethod
    def _drop(e) -> None:
        for p in (e[2], e[3]):
            with contextlib.suppress(OSError):
                p.unlink()


AsyncFlag = Annotated[bool, Query(alias="async", description="compute as a background job: answer 202 with "
                                                           "`Location: /api/v1/jobs/{id}` (as `Prefer: respond-async`)")]
"""The ``?async=true`` query parameter of a route that can run as a job."""


def wants_async(request, flag: bool | None) -> bool:
    """Whether the request asks for a background job: ``?async=true`` or ``Prefer: respond-async``."""
    if flag:
        return True
    prefer = ",".join(request.headers.getlist("prefer")).lower()
    return any(p.strip().split(";")[0] == "respond-async" for p in prefer.split(","))


def accepted(rec: dict, api: str = "/api/v1"):
    """The ``202 Accepted`` response for a submitted job (``Location`` = its status URL)."""
    from fastapi.responses import JSONResponse

    url = f"{api}/jobs/{rec['id']}"
    return JSONResponse(status_view(rec, api), status_code=202,
                        headers={"Location": url, "Preference-Applied": "respond-async",
                                 "Cache-Control": "private, no-store", "Retry-After": "1"})


def status_view(rec: dict, api: str = "/api/v1") -> dict:
    """The public part of a job record: what ``GET /jobs/{id}`` shows."""
    url = f"{api}/jobs/{rec['id']}"
    out = {k: rec.get(k) for k in ("id", "kind", "status", "created", "started", "finished", "media_type")}
    out["href"] = url
    out["result"] = f"{url}/result" if rec["status"] in ("done", "failed") else None
    out["problem"] = rec.get("problem") if rec["status"] == "failed" else None
    return out


def jobs_of(request) -> JobManager:
    """The app's :class:`JobManager` (``app.state.jobs``)."""
    return request.app.state.jobs

