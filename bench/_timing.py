"""One way to time ours and a peer in every benchmark.

* the same warm-up for both: one call, timed apart and printed on its own line (it includes numba
  JIT compilation, imports and first-touch caches), never mixed into the medians;
* the same number of timed runs for both (``RUNS`` = 5 unless ``--runs`` says more);
* the median with its min–max for each, and the ratio of medians (peer / ours: > 1 means ours is
  faster);
* verification (asserts, accuracy checks) stays outside the timed region: :func:`measure` and
  :func:`compare` return the last call's result for the caller to check after the timing;
* ``setup`` builds fresh inputs for every call (a new database file, a fresh geocoder) outside the
  timed region.

Every script prints :func:`machine_line` first, and ``bench/report.py`` repeats it in
``bench/README.md``: the machine is shared, so the load average says how noisy the numbers are.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

RUNS = 5

CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


@dataclass(frozen=True)
class Timing:
    """Seconds of ``len(times_s)`` timed calls after one warm-up call (``warmup_s``)."""

    warmup_s: float
    times_s: tuple[float, ...]
    clock: str = "wall"

    @property
    def median(self) -> float:
        """Median of the timed runs, seconds."""
        return statistics.median(self.times_s)

    @property
    def lo(self) -> float:
        """Fastest timed run, seconds."""
        return min(self.times_s)

    @property
    def hi(self) -> float:
        """Slowest timed run, seconds."""
        return max(self.times_s)

    def scaled(self, k: float) -> Timing:
        """The same timing multiplied by ``k`` (e.g. seconds per item)."""
        return Timing(self.warmup_s * k, tuple(t * k for t in self.times_s), self.clock)

    def __format__(self, spec: str) -> str:
        """A format spec formats the median (``f"{t:.3f}"``); none gives median and spread."""
        return format(self.median, spec) if spec else str(self)

    def __str__(self) -> str:
        cpu = " CPU" if self.clock == "cpu" else ""
        return f"median {_s(self.median)}{cpu} [min {_s(self.lo)} – max {_s(self.hi)}] (n={len(self.times_s)})"


def _s(x: float) -> str:
    return f"{x:.4f} s" if x < 10 else f"{x:.2f} s"


def measure(fn: Callable[..., object], runs: int = RUNS, warmup: bool = True,
            setup: Callable[[], object] | None = None, clock: str = "wall") -> tuple[Timing, object]:
    """Time ``fn()``: one warm-up call (timed apart), then ``runs`` timed calls.

    With ``setup``, every call is ``fn(setup())`` and ``setup()`` runs outside the timed region.
    ``clock`` is ``"wall"`` (``perf_counter``) or ``"cpu"`` (``process_time`` of this process).
    Returns the :class:`Timing` and the last call's result (for verification outside the timing).
    """
    now = CLOCKS[clock]
    w = float("nan")
    out = None

    def once() -> tuple[float, object]:
        arg = setup() if setup is not None else None
        t = now()
        r = fn(arg) if setup is not None else fn()
        return now() - t, r

    if warmup:
        w, out = once()
    times = []
    for _ in range(max(1, runs)):
        dt, out = once()
        times.append(dt)
    return Timing(w, tuple(times), clock), out


def ratio(ours: Timing, peer: Timing | None) -> float:
    """Ratio of medians peer / ours (> 1: ours is faster); NaN without a peer."""
    if peer is None:
        return float("nan")
    return peer.median / max(ours.median, 1e-12)


def show(name: str, ours: Timing, peer: Timing | None, peer_name: str, note: str = "",
         ours_name: str = "ours") -> float:
    """Print ours, the warm-up/JIT line, the peer (or why there is none) and the ratio of medians."""
    print(name)
    print(f"  {ours_name:<5} {ours}")
    print(f"  {'':5} warm-up/JIT (first call, not in the median): {_s(ours.warmup_s)}")
    if peer is None:
        print(f"  peer  none — {peer_name}")
        if note:
            print(f"  {note}")
        return float("nan")
    print(f"  peer  {peer}   ({peer_name})")
    print(f"  {'':5} warm-up (first call, not in the median): {_s(peer.warmup_s)}")
    r = ratio(ours, peer)
    print(f"  ratio of medians peer/ours = {r:.2f}x {note}".rstrip())
    return r


def compare(name: str, ours: Callable[..., object], peer: Callable[..., object] | None, peer_name: str,
            runs: int = RUNS, note: str = "", setup: Callable[[], object] | None = None,
            clock: str = "wall") -> tuple[Timing, Timing | None, object, object]:
    """Time ours and the peer the same way (same warm-up, same runs, same clock) and print them.

    ``peer=None`` prints that no peer exists (``peer_name`` says why). Returns both timings and
    both last results, for the caller to verify outside the timed region.
    """
    t_o, r_o = measure(ours, runs, setup=setup, clock=clock)
    t_p = r_p = None
    if peer is not None:
        t_p, r_p = measure(peer, runs, setup=setup, clock=clock)
    show(name, t_o, t_p, peer_name, note)
    return t_o, t_p, r_o, r_p


def add_args(ap: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options every benchmark takes: ``--quick`` and ``--runs``."""
    ap.add_argument("--quick", action="store_true", help="short run: small sizes (still >= 5 runs)")
    ap.add_argument("--runs", type=int, default=RUNS, help=f"timed runs of ours and of the peer (default {RUNS})")
    return ap


def machine_line() -> str:
    """Cores and load average, for the head of every benchmark's output."""
    la = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    try:
        avail = len(os.sched_getaffinity(0))
    except AttributeError:
        avail = os.cpu_count()
    return (f"machine: {os.cpu_count()} cores ({avail} usable by this process), "
            f"load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} (1/5/15 min)")


def header(title: str, quick: bool, runs: int) -> None:
    """The first lines of every benchmark's output."""
    print(f"{title} ({'quick' if quick else 'full'} run; {runs} timed runs after one warm-up, "
          "for ours and the peer alike)")
    print(machine_line())
