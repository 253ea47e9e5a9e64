"""Fitted state on disk: what a forecaster tuned or trained at a refit cut-off, reused by later runs.

Everything a forecaster tunes at the cut-off ``C`` (``Forecaster.tune``) is a function of the events
*before* ``C`` only (the no-leakage rule, tested in ``tests/hotspot/test_forecast.py``), of its
options and of the queried cells. So an entry is keyed by a SHA-1 of

* the events before ``C``: their local times, metric positions and H3 cells (rows of ``Events``),
* the method's class and options (``res``, ``tz``, ``seed``, ``refit_days``, grids, windows, …;
  for ``auto`` also every member's),
* the queried cells (``Query.key``: their model-resolution cells and centres),
* ``C`` itself,
* the code: the source of every module of the ``hotspot`` package (the forecasters and what they
  use: ``kde``, ``h3grid``, ``timeutil``, …) and the versions of this package, NumPy, SciPy and
  scikit-learn.

A forecast of the same day, or of any later day before the next cut-off, hits the cache even when
newer incidents were added (they are after ``C``). It misses, and fits afresh, when any incident
before ``C`` was added, removed or moved, when an option or the cells differ, at a new cut-off
(every ``refit_days`` = 28 days), or when the code changed.

An entry is a pickle of the tuned parameters (``auto``'s choice and validation PAIs, ``seppp``'s
θ, ω, σ and background per queried cell, the ranker's trees, the grid choices of ``kde``,
``prospective`` and ``blend``); no incident rows. Pickles run code when loaded, so the folder must
be the user's own (the CLI uses ``<data dir>/cities/<city>/cache/forecast``). An entry that cannot
be read is removed and counts as a miss. The folder keeps the ``max_entries`` most recently used.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

FORMAT = 1
_SKIP = {"events", "members", "cache", "progress", "jobs"}  # state, or no effect on results


@functools.cache
def code_digest() -> str:
    """SHA-1 of the forecasting code and of the library versions its fitted state depends on."""
    from importlib.metadata import PackageNotFoundError, version

    root = Path(__file__).resolve().parents[1]  # the hotspot package: the members use its kde, h3grid, timeutil, …
    h = hashlib.sha1(f"fitcache-{FORMAT}".encode())
    for p in sorted(root.rglob("*.py")):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    for dist in ("qauipsiz", "numpy", "scipy", "scikit-learn"):
        try:
            h.update(f"{dist}={version(dist)}".encode())
        except PackageNotFoundError:
            h.update(f"{dist}=?".encode())
    return h.hexdigest()


def options_of(fc) -> str:
    """A stable text of a forecaster's options (its public attributes; members' for ``auto``)."""
    own = {k: v for k, v in sorted(vars(fc).items()) if not k.startswith("_") and k not in _SKIP}
    text = f"{type(fc).__module__}.{type(fc).__qualname__}{own!r}"
    members = getattr(fc, "members", None)
    if members:
        text += "{" + ";".join(f"{name}={options_of(m)}" for name, m in members.items()) + "}"
    return text


def events_digest(ev, n: int) -> str:
    """SHA-1 of the first ``n`` events (times, positions, cells); memoised on the Events."""
    key = ("fitcache-digest", int(n))
    if key not in ev.cum:
        h = hashlib.sha1(str(int(n)).encode())
        for a in (ev.t[:n], ev.xy[:n], ev.cell[:n]):
            h.update(memoryview(a.copy(order="C")).cast("B"))
        ev.cum[key] = h.hexdigest()
    return ev.cum[key]


@dataclass
class _Entry:
    """What a file holds: the key again (a hash collision or a renamed file is then a miss) and the value."""

    key: str
    value: object


class FitCache:
    """A folder of fitted states, one pickle per (method, options, cells, events before the cut-off, cut-off).

    Parameters
    ----------
    folder : path
        Where the entries live (created on the first write).
    max_entries : int
        Entries kept; the least recently used beyond it are deleted after each write.

    Attributes
    ----------
    hits, misses : int
        Lookups answered from the folder and lookups that had to fit.
    """

    def __init__(self, folder: str | Path, max_entries: int = 256):
        self.folder = Path(folder)
        self.max_entries = int(max_entries)
        self.hits = 0
        self.misses = 0

    def key(self, fc, q, cutoff: int) -> str:
        """The entry name of ``fc``'s parameters at ``cutoff`` for the query ``q``."""
        ev = fc._need()
        h = hashlib.sha1(code_digest().encode())
        h.update(options_of(fc).encode())
        h.update(f"|cutoff={int(cutoff)}|query={q.key}|".encode())
        h.update(events_digest(ev, ev.before(cutoff)).encode())
        return f"{fc.name}-{int(cutoff)}-{h.hexdigest()}"

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.pkl"

    def load(self, key: str) -> tuple[bool, object]:
        """``(True, value)`` when the folder holds ``key``, else ``(False, None)``."""
        p = self._path(key)
        if not p.exists():
            self.misses += 1
            return False, None
        try:
            with p.open("rb") as f:
                entry = pickle.load(f)  # the user's own cache folder, written by save()
            ok = isinstance(entry, _Entry) and entry.key == key
        except Exception:  # a truncated or stale pickle of any kind is a miss
            ok = False
        if not ok:
            with contextlib.suppress(OSError):
                p.unlink()
            self.misses += 1
            return False, None
        with contextlib.suppress(OSError):
            os.utime(p)  # most recently used
        self.hits += 1
        return True, entry.value

    def save(self, key: str, value) -> None:
        """Write ``value`` under ``key`` (atomically: a killed run leaves no half entry)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        p = self._path(key)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("wb") as f:
                pickle.dump(_Entry(key, value), f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, p)
        except OSError:  # a read-only or full disk only loses the cache, never the forecast
            with contextlib.suppress(OSError):
                tmp.unlink()
            return
        self._evict()

    def _evict(self) -> None:
        files = list(self.folder.glob("*.pkl"))
        if len(files) <= self.max_entries:
            return
        def mtime(p: Path) -> float:
            try:
                return p.stat().st_mtime
            except OSError:
                return 0.0
        for p in sorted(files, key=mtime)[: len(files) - self.max_entries]:
            with contextlib.suppress(OSError):
                p.unlink()

    def clear(self) -> int:
        """Delete every entry; returns how many."""
        n = 0
        for p in self.folder.glob("*.pkl"):
            with contextlib.suppress(OSError):
                p.unlink()
                n += 1
        return n
