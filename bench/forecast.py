"""Issue 16.5: rolling-origin backtest of every forecaster on the shared Chicago sample.

The last 6 months of the sample (2019-04-01 … 2019-09-29), one forecast per day, each from the
events strictly before it; all crimes and the two largest categories (THEFT, BATTERY). The study
area is every H3 cell within one ring of a cell with an incident in 2017 (no test data shapes it).
Every method is compared with the better of the two count baselines (the 'peer' for accuracy):
PAI and PEI* at 1, 5 and 10 % of the area with 95 % bootstrap intervals over test days.

Speed (``bench/_timing.py``: one warm-up, >= 5 timed runs, median [min–max]): one daily forecast
of ``auto`` after fitting, on the Chicago sample and on the 60,000-incident demo city, and the
whole ``qauipsiz forecast`` command on the demo city (fitting included), each beside the same
call for the recent-counts baseline in the same run (the peer: the cheapest forecast there is).

    .venv/bin/python bench/forecast.py --quick   # last 2 months, all crimes only
    .venv/bin/python bench/forecast.py           # last 6 months, all crimes, THEFT, BATTERY
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import add_args, header, measure, show

from qauipsiz.hotspot.forecast import METHODS, make_set, prepare_events
from qauipsiz.hotspot.forecast.backtest import backtest, format_table, study_cells_from_events

ROOT = Path(__file__).resolve().parents[1]
CHICAGO = Path("/work/shared/data/peer/chicago_sample_2017_2019.csv")
DEMO = ROOT / "data" / "demo" / "astana"
TZ = "America/Chicago"


def load_chicago(path: Path) -> pd.DataFrame:
    """The sample as events: month-first local times → UTC, lat, lon, category."""
    d = pd.read_csv(path, usecols=["date", "latitude", "longitude", "primary_type"]).dropna()
    t = pd.to_datetime(d["date"], format="%m/%d/%Y %H:%M").dt.tz_localize(
        TZ, ambiguous="NaT", nonexistent="shift_forward")
    ev = pd.DataFrame({"occurred_at": t.dt.tz_convert("UTC"), "lat": d["latitude"].to_numpy(float),
                       "lon": d["longitude"].to_numpy(float), "category": d["primary_type"].to_numpy()})
    return ev.dropna(subset=["occurred_at"]).reset_index(drop=True)


def run(ev: pd.DataFrame, label: str, cells, start, end, methods, res: int, context: pd.DataFrame | None = None) -> dict:
    """Backtest ``methods`` on ``ev``; members with ``set_context`` (``stack``) also see ``context``
    (every incident of the sample, all categories) as features, never as targets."""
    fs = make_set(methods, res=res, tz=TZ, seed=0)
    e = prepare_events(ev, res, TZ)
    for f in fs.values():
        for m in [f, *getattr(f, "members", {}).values()]:
            if hasattr(m, "set_context"):
                m.set_context(ev if context is None else context)
        f.fit(e)
    t0 = time.perf_counter()
    r = backtest(fs, cells, start, end,
                 progress=lambda i, n: print(f"  [{label}] day {i}/{n}, {time.perf_counter() - t0:.0f} s",
                                             file=sys.stderr, flush=True) if i % 30 == 0 else None)
    print(f"\n## {label}: {len(ev):,} incidents, res {res}, {time.perf_counter() - t0:.0f} s")
    print(format_table(r))
    t = r.table()
    a = t.set_index("method")
    if "auto" in a.index:
        for lab in ("1%", "5%"):
            v = a.loc["auto", f"vs base {lab}"]
            print(f"target auto ≥ 1.10 × best baseline at {lab}: {v:.3f} "
                  f"({'met' if v >= 1.10 else f'missed by {1.10 - v:.3f}'})")
    return {"label": label, "table": t}


def timings(runs: int, res: int, chicago: pd.DataFrame, command_method: str = "auto") -> None:
    """Ours (``auto``) and the recent-counts baseline, timed the same way in the same run."""
    print("\n## Speed: auto against the recent-counts baseline (the same events, the same cells, the same day)")
    demo = DEMO / "incidents_truth.parquet"
    sets = [("Chicago sample", chicago, TZ)]
    if demo.exists():
        d = pd.read_parquet(demo, columns=["occurred_at", "lat", "lon"]).dropna()
        sets.append((f"demo city ({len(d):,} incidents)", d, "Asia/Almaty"))
    for name, ev, tz in sets:
        cells = study_cells_from_events(ev, res)
        last = pd.Timestamp(ev["occurred_at"].max()).tz_convert(tz).normalize().tz_localize(None)
        day = (last + pd.Timedelta(days=1)).date()
        e = prepare_events(ev, res, tz)
        fit = {}
        for m in (command_method, "recent"):
            f = make_set([m], res=res, tz=tz)[m].fit(e)
            t0 = time.perf_counter()
            f.predict(cells, day)  # fitting: tuning, validation and training at the day's cut-off
            fit[m] = (f, time.perf_counter() - t0)
        f, fit_s = fit[command_method]
        r, _ = fit["recent"]
        ours, _ = measure(lambda f=f, cells=cells, day=day: f.predict(cells, day), runs)
        peer, _ = measure(lambda r=r, cells=cells, day=day: r.predict(cells, day), runs)
        chosen = f" (it runs its chosen member, {f.chosen(cells, day)})" if command_method == "auto" else ""
        show(f"one daily forecast of {command_method}{chosen} after fitting, {name}, {len(cells):,} cells "
             f"(fitting at the cut-off, once per 28 days: {fit_s:.1f} s; recent: {fit['recent'][1]:.3f} s)",
             ours, peer, "recent counts of the last 28 days, the baseline", "target: ours < 1 s")
        print(f"  target one daily forecast after fitting < 1 s (median): {'PASS' if ours.median < 1 else 'FAIL'}")
    if demo.exists():
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "f.csv"
            last = pd.read_parquet(demo, columns=["occurred_at"])["occurred_at"].max()
            day = (pd.Timestamp(last).tz_convert("Asia/Almaty") + pd.Timedelta(days=1)).date()
            exe = str(Path(sys.executable).parent / "qauipsiz")
            env = {**os.environ, "QAUIPSIZ_DATA_DIR": str(Path(tmp) / "var")}  # the fitted-state cache goes here

            def cmd(m: str, *extra: str) -> list[str]:
                return [exe, "forecast", "--city", "astana", "--incidents", str(demo), "--day", str(day),
                        "--method", m, "--out", str(out), *extra]

            def run_cmd(args: list[str], cpu: list) -> None:
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                subprocess.run(args, check=True, capture_output=True, env=env)
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)

            cold_cpu: list = []
            ours, _ = measure(lambda: run_cmd(cmd(command_method, "--no-cache"), cold_cpu), runs)
            peer_cpu: list = []
            peer, _ = measure(lambda: run_cmd(cmd("recent", "--no-cache"), peer_cpu), runs)
            show(f"whole `qauipsiz forecast --method {command_method}` command, cold (--no-cache: every fit done), "
                 "demo city (process start to CSV)", ours, peer, "the same command with --method recent",
                 "target: ours < 10 s")
            print(f"  CPU seconds of the command (user + sys, its side process included), median of the timed runs: "
                  f"ours {statistics.median(cold_cpu[1:]):.2f} s, peer {statistics.median(peer_cpu[1:]):.2f} s")
            print(f"  target whole command < 10 s, cold (median): {'PASS' if ours.median < 10 else 'FAIL'}")
            warm_cpu: list = []
            subprocess.run(cmd(command_method), check=True, capture_output=True, env=env)  # fills the cache
            warm, _ = measure(lambda: run_cmd(cmd(command_method), warm_cpu), runs)
            peer_w, _ = measure(lambda: run_cmd(cmd("recent"), []), runs)
            show(f"whole `qauipsiz forecast --method {command_method}` command, warm (the fitted state of this "
                 "cut-off from the cache of an earlier run), demo city", warm, peer_w,
                 "the same command with --method recent", "the cache is extra; the target is the cold run")
            print(f"  CPU seconds of the command, median: ours {statistics.median(warm_cpu[1:]):.2f} s")


def main() -> None:
    ap = add_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    ap.add_argument("--chicago", type=Path, default=CHICAGO)
    ap.add_argument("--res", type=int, default=9)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--no-timing", action="store_true", help="skip the speed section")
    ap.add_argument("--timing-only", action="store_true", help="only the speed section")
    ap.add_argument("--command-method", default="auto", help="method of the timed whole command (default auto)")
    a = ap.parse_args()
    header("bench/forecast.py: one-day-ahead forecasts, rolling origin", a.quick, a.runs)
    if not a.chicago.exists():
        print(f"no Chicago sample at {a.chicago}: skipped")
        return
    ev = load_chicago(a.chicago)
    end = pd.Timestamp(ev["occurred_at"].max()).tz_convert(TZ).normalize().tz_localize(None) - pd.Timedelta(days=1)
    start = end - pd.Timedelta(days=60 if a.quick else 182)
    cells = study_cells_from_events(ev, a.res, until="2018-01-01")
    methods = [m.strip() for m in a.methods.split(",") if m.strip()]
    print(f"test days {start.date()} … {end.date()}, every day; H3 res {a.res}, {len(cells):,} study cells; "
          f"methods {', '.join(methods)}")
    subsets = [("all crimes", ev)]
    if not a.quick:
        subsets += [(c, ev[ev["category"] == c]) for c in ev["category"].value_counts().index[:2]]
    for label, sub in [] if a.timing_only else subsets:
        run(sub, label, cells, start.date(), end.date(), methods, a.res, context=ev)
    if not a.no_timing:
        timings(a.runs, a.res, ev, a.command_method)


if __name__ == "__main__":
    main()
