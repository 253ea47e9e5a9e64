"""Helpers of ``bench/api_load.py``: expensive clients (patrol plans that are never cached) running
beside the cheap load, and the resident memory (RSS) of the server's processes.

The server's processes are the ``qauipsiz serve`` process, its uvicorn workers and their job-pool
processes (``api/jobs.py``); they are found from the server's pid with psutil on every sample,
since pool processes start on first use and are replaced after a number of tasks.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import multiprocessing
import threading
import time

import httpx
import psutil


def process_tree(root_pid: int, workers: int) -> dict[int, str]:
    """pid -> role of ``qauipsiz serve``'s processes: ``server`` (uvicorn's supervisor), ``worker``
    and ``pool``.

    With ``--workers 1`` the server process is the worker (``server+worker``) and its children its
    job pool; with more, uvicorn's workers are its children and their job pools its grandchildren.
    multiprocessing's resource trackers are left out.
    """
    try:
        root = psutil.Process(root_pid)
        kids = root.children(recursive=True)
    except psutil.Error:
        return {}
    out = {root_pid: "server" if workers > 1 else "server+worker"}
    for p in kids:
        try:
            if "resource_tracker" in " ".join(p.cmdline()):
                continue
            depth = 2 if p.parent() is not None and p.parent().pid != root_pid else 1
        except psutil.Error:
            continue
        out[p.pid] = "worker" if workers > 1 and depth == 1 else "pool"
    return out


def rss_mib(pids: dict[int, str]) -> dict[int, tuple[str, float]]:
    """pid -> (role, RSS MiB) now."""
    out = {}
    for pid, role in pids.items():
        with contextlib.suppress(psutil.Error):
            out[pid] = (role, psutil.Process(pid).memory_info().rss / 2**20)
    return out


class RssSampler(threading.Thread):
    """Samples the RSS of the server's processes every ``every_s`` seconds; keeps the peak per pid."""

    def __init__(self, root_pid: int, workers: int, every_s: float = 0.25):
        super().__init__(daemon=True)
        self.root_pid, self.workers, self.every_s = root_pid, workers, every_s
        self.peak: dict[int, tuple[str, float]] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            for pid, (role, mib) in rss_mib(process_tree(self.root_pid, self.workers)).items():
                if mib > self.peak.get(pid, ("", 0.0))[1]:
                    self.peak[pid] = (role, mib)
            self._halt.wait(self.every_s)

    def stop(self) -> dict[int, tuple[str, float]]:
        self._halt.set()
        self.join()
        return self.peak


def fmt_rss(label: str, snap: dict[int, tuple[str, float]]) -> str:
    """``label: worker 312 MiB (pid 1234), pool 280 MiB (…) · total …`` sorted by role."""
    parts = [f"{role} {mib:.0f} MiB (pid {pid})" for pid, (role, mib) in sorted(snap.items(), key=lambda x: x[1])]
    total = sum(m for _, m in snap.values())
    return f"  RSS {label:<26} " + ", ".join(parts) + f" · total {total:.0f} MiB"


def patrol_urls(base: str, n: int, start: int = 0) -> list[str]:
    """``n`` patrol-plan URLs that differ (shift date, units), so none is served from a cache."""
    day0 = dt.date(2024, 1, 1)
    out = []
    for i in range(start, start + n):
        d = day0 + dt.timedelta(days=i)
        out.append(f"{base}/api/v1/cities/astana/patrol-plans.geojson?shift={d.isoformat()}%2018:00/02:00"
                   f"&units={1 + i % 3}&station=0")
    return out


async def _expensive(base: str, key: str, clients: int, stop, seed: int) -> dict:
    lat, codes = [], {}
    async with httpx.AsyncClient(headers={"X-API-Key": key}, timeout=300.0) as c:
        async def one(i: int):
            k = 0
            while not stop.is_set():
                u = patrol_urls(base, 1, seed * 100_000 + i * 10_000 + k)[0]
                k += 1
                t = time.perf_counter()
                try:
                    r = await c.get(u)
                    code = r.status_code
                except httpx.HTTPError as e:
                    code = type(e).__name__
                lat.append(time.perf_counter() - t)
                codes[code] = codes.get(code, 0) + 1

        await asyncio.gather(*(one(i) for i in range(clients)))
    return {"lat": lat, "codes": codes}


def _expensive_proc(base, key, clients, stop, seed, q) -> None:
    q.put(asyncio.run(_expensive(base, key, clients, stop, seed)))


class Expensive:
    """``clients`` clients requesting fresh patrol plans in a process of their own, until stopped."""

    def __init__(self, base: str, key: str, clients: int, seed: int = 0):
        ctx = multiprocessing.get_context("spawn")
        self.stop_ev, self.q = ctx.Event(), ctx.Queue()
        self.p = ctx.Process(target=_expensive_proc, args=(base, key, clients, self.stop_ev, seed, self.q),
                             daemon=True)

    def __enter__(self):
        self.p.start()
        return self

    def result(self) -> dict:
        """Stop the clients, wait for the plans in flight, return latencies (s) and status counts."""
        self.stop_ev.set()
        r = self.q.get(timeout=900)
        self.p.join(30)
        return r

    def __exit__(self, *exc):
        if self.p.is_alive():
            self.stop_ev.set()
            self.p.join(5)
            if self.p.is_alive():
                self.p.terminate()
