"""One member of ``auto`` validated in a second (forked) process while the others are validated here.

The side process computes exactly what this one would (the same code on a copy-on-write image of the
same events and cells), so scores and choices do not depend on it. After the validation it goes on
to fit the member at the cut-off itself, in case it is chosen; when another member is chosen it is
stopped. Where ``fork`` is unavailable (Windows, macOS defaults) :func:`start` returns ``None`` and
the caller validates everything itself.
"""
from __future__ import annotations

import contextlib
import importlib
import multiprocessing as mp

from qauipsiz.hotspot.forecast._base import Forecaster, Query, validation_score

_SKIP_MODULES = ("builtins", "numpy")


def _modules(params: dict) -> list[str]:
    """Modules of the (non-NumPy, non-builtin) objects in a member's tuned parameters, one level deep."""
    out = set()
    for v in params.values():
        for x in [v, *(v.values() if isinstance(v, dict) else [])]:
            mod = type(x).__module__
            if not mod.startswith(_SKIP_MODULES):
                out.add(mod)
    return sorted(out)


def _counters(member: Forecaster) -> tuple[int, int]:
    c = member.cache
    return (0, 0) if c is None else (c.hits, c.misses)


def _run(conn, member: Forecaster, q: Query, days: list, cutoff: int) -> None:
    """The side process: validation score, then the member's parameters at ``cutoff``."""
    try:
        h0, m0 = _counters(member)
        s = validation_score(member, q, days)
        h1, m1 = _counters(member)
        conn.send(("validated", s, _modules(member._params), (h1 - h0, m1 - m0)))
        member.params_for(q, cutoff)
        h2, m2 = _counters(member)
        conn.send(("fitted", dict(member._params), (h2 - h1, m2 - m1)))
    except Exception as e:  # reported to the caller, which then computes it itself
        with contextlib.suppress(Exception):
            conn.send(("error", repr(e)))
    finally:
        conn.close()


class SideFit:
    """Handle of the side process of one member (see the module docstring)."""

    def __init__(self, member: Forecaster, q: Query, days: list, cutoff: int):
        ctx = mp.get_context("fork")
        self._conn, send = ctx.Pipe(duplex=False)
        self.member = member
        self._proc = ctx.Process(target=_run, args=(send, member, q, days, cutoff), daemon=True,
                                 name=f"auto-{member.name}")
        self._proc.start()
        send.close()

    def _recv(self, kind: str):
        try:
            msg = self._conn.recv()
        except (EOFError, OSError):
            return None
        return msg if msg[0] == kind else None

    def score(self) -> float | None:
        """The member's validation score, or ``None`` when the side process failed."""
        msg = self._recv("validated")
        if msg is None:
            self.stop()
            return None
        self._modules = msg[2]
        self._count(msg[3])
        return float(msg[1])

    def _count(self, delta: tuple[int, int]) -> None:
        """Add the side process's cache hits and misses to this process's counters."""
        if self.member.cache is not None:
            self.member.cache.hits += delta[0]
            self.member.cache.misses += delta[1]

    def take_fit(self) -> bool:
        """Wait for the member's parameters at the cut-off and install them; ``False`` when it failed."""
        for mod in getattr(self, "_modules", []):  # imported here while the side process still fits
            with contextlib.suppress(ImportError):
                importlib.import_module(mod)
        msg = self._recv("fitted")
        self.stop()
        if msg is None:
            return False
        self.member._params.update(msg[1])
        self._count(msg[2])
        return True

    def stop(self) -> None:
        """End the side process (at once when it is still fitting a member that was not chosen)."""
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join(timeout=10)
        self._conn.close()


def start(member: Forecaster, q: Query, days: list, cutoff: int) -> SideFit | None:
    """A :class:`SideFit` for ``member``, or ``None`` where processes cannot be forked."""
    if "fork" not in mp.get_all_start_methods():
        return None
    try:
        return SideFit(member, q, days, cutoff)
    except OSError:  # no processes left: validate here
        return None
