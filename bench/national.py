"""The nightly national job (issue 19): ``qauipsiz national run`` on 1 and 2 local Dask workers.

    python bench/national.py [--quick] [--events N] [--data ROOT] [--serve-data ROOT]

* generates (or takes, ``--data``) a SYNTHETIC national dataset of ``--events`` events
  (10,000,000; ``--quick``: 200,000) with ``qauipsiz national demo``'s generator;
* times the whole job (cluster start, every city's hotspots res 9 and 10, density raster,
  emerging hot spots, forecast, the summary) on a local cluster of 1 worker (the peer) and of 2
  workers (ours), 1 thread each, and prints the scaling ratio (target ≥ 1.7x with 2) and the peak
  RSS of each worker process (``getrusage`` of the worker, reported by its tasks);
* checks outside the timing that both runs wrote identical outputs (every res-9 table and forecast);
* ``--granularity both`` (default in ``--quick``) also times one task per city part on 2 workers;
* p95 filter latency for one 5,000,000-event city (``--quick``: 300,000) through
  ``bench/_national_serve.py::measure_filter_latency`` (the hotspot-table path) and the whole
  ``GET hotspots.geojson`` request through the service's ASGI app over distinct dashboard filters
  (``measure_endpoint_latency`` in a process of its own: p50/p95, ours vs the previous encoder, RSS of the loaded city,
  first load and first load after a restart);
* an extrapolation to 50,000,000 events on 4 workers: every task's seconds in the 2-worker run
  scaled linearly by 50M / N (a ceiling: the per-cell work — Gi*, LISA, the cube — depends on the
  cells, not on the events), scheduled largest-first on 4 workers by greedy list scheduling (what
  the Dask scheduler does with the priorities ``national run`` gives), plus the measured fixed
  cost of the run (cluster start, imports, JIT, summary: wall time minus the busiest worker's
  task seconds); and a second estimate from a cost model fitted across the run's cities (per part,
  seconds = a + b·events + c·cells, non-negative least squares), each city at 5x its events.

Each configuration is timed once (n=1, no warm-up run: every run starts its own cluster, so its
imports and JIT are part of the job's wall time); ``--runs`` is accepted for ``make bench`` and
unused.
"""
from __future__ import annotations

import argparse
import heapq
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import Timing, add_args, machine_line, show

TARGET_RATIO = 1.7
GOAL_50M_S = 600.0


def generate(root: Path, events: int, cities=None) -> None:
    from qauipsiz.hotspot.national.generate import generate as gen

    meta = gen(root, events, seed=20240301, cities=cities)
    rows = sum(meta["counts"].values())
    print(f"generated {len(meta['cities'])} cities, {rows:,} rows in {meta['seconds']:.1f} s "
          f"({meta['rows_per_s']:,.0f} rows/s) -> {root}")


def run_job(root: Path, out: Path, workers: int, granularity: str = "part") -> dict:
    """One ``national run`` on a fresh local cluster; returns its summary plus ``wall_total_s``."""
    from distributed import Client

    from qauipsiz.api.cli.national_run import local_cluster, run_national

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    cluster = local_cluster(workers, dashboard_address=":0")
    try:
        with Client(cluster) as client:
            s = run_national(client, root, out, granularity=granularity, progress=False)
    finally:
        cluster.close()
    s["wall_total_s"] = time.perf_counter() - t0
    if s["failed"]:
        raise SystemExit(f"bench/national.py: cities failed: {s['failed']}")
    return s


def worker_rss(s: dict) -> dict[int, float]:
    """Peak RSS (MiB) of each worker process, the largest its tasks saw."""
    out: dict[int, float] = {}
    for p in s["parts"]:
        out[p["pid"]] = max(out.get(p["pid"], 0.0), p["peak_rss_mib"])
    return out


def cpu(s: dict) -> dict[int, float]:
    """CPU seconds of each worker process during its tasks (0 when the run predates ``cpu_s``)."""
    out: dict[int, float] = {}
    for p in s["parts"]:
        out[p["pid"]] = out.get(p["pid"], 0.0) + p.get("cpu_s", 0.0)
    return out


def busy(s: dict) -> dict[int, float]:
    """Task seconds per worker process."""
    out: dict[int, float] = {}
    for p in s["parts"]:
        out[p["pid"]] = out.get(p["pid"], 0.0) + p["seconds"]
    return out


def lpt(times: list[float], workers: int) -> float:
    """Makespan of greedy list scheduling, largest task first, on ``workers`` machines (seconds)."""
    loads = [0.0] * workers
    heapq.heapify(loads)
    for t in sorted(times, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + t)
    return max(loads)


def same_outputs(a: Path, b: Path) -> bool:
    """The res-9 tables and forecasts of two runs are identical (read back, cell for cell)."""
    import pandas as pd

    ok = True
    for d in sorted((a / "cities").iterdir()):
        e = b / "cities" / d.name
        ok &= pd.read_parquet(d / "hotspots_res9.parquet").equals(pd.read_parquet(e / "hotspots_res9.parquet"))
        ok &= (d / "forecast.csv").read_bytes() == (e / "forecast.csv").read_bytes()
    return bool(ok)


def report_job(events: int, one: dict, two: dict) -> float:
    t1 = Timing(float("nan"), (one["wall_total_s"],))
    t2 = Timing(float("nan"), (two["wall_total_s"],))
    n_tasks = len(two["tasks"])
    r = show(f"national run, {events:,} events, {len(two['rows'])} cities, {n_tasks} tasks "
             f"({two['granularity']} granularity), 2 local workers (ours) vs 1 (peer)", t2, t1,
             "the same job on 1 worker", note=f"= scaling with 2 workers (target >= {TARGET_RATIO}x)")
    for name, s in (("1 worker", one), ("2 workers", two)):
        rss = worker_rss(s)
        bz = busy(s)
        cp = cpu(s)
        print(f"  {name}: wall {s['wall_total_s']:.1f} s (job {s['wall_s']:.1f} s after cluster start); "
              + "; ".join(f"worker pid {p}: peak RSS {rss[p]:.0f} MiB, {bz[p]:.1f} s of tasks using {cp[p]:.1f} s "
                          f"CPU ({100 * cp[p] / max(bz[p], 1e-9):.0f} % of a core: the rest went to other "
                          "processes on this shared machine)" for p in sorted(rss)))
    print(f"scaling ratio 1 worker / 2 workers = {r:.2f}x "
          f"({'meets' if r >= TARGET_RATIO else 'misses'} the {TARGET_RATIO}x target)")
    c1, c2 = cpu(one), cpu(two)
    if sum(c1.values()) > 0 and c2:
        rc = (sum(c1.values()) + (one["wall_total_s"] - max(busy(one).values()))) / (
            max(c2.values()) + (two["wall_total_s"] - max(busy(two).values())))
        print(f"CPU-time scaling (as if each worker had a core to itself): 1 worker's task CPU {sum(c1.values()):.1f} s "
              f"/ the busier of 2 workers' {max(c2.values()):.1f} s, each + its run's fixed cost = {rc:.2f}x "
              f"(total task CPU with 2 workers {sum(c2.values()):.1f} s)")
    return r


def granularity_table(root: Path, city_run: dict, part_run: dict, workers=(2, 4, 8, 16)) -> None:
    """Makespan of each task granularity on W workers, from measured task CPU seconds (a core each).

    Per city: each city's task CPU = the sum of its parts' CPU in the per-city run; per part: each
    part's CPU in the per-part run; auto: per-city times for the cities ``split_cities`` keeps whole
    at W (expected work from events and cells, as ``national run`` decides), per-part times for those
    it splits. Greedy
    largest-first (:func:`lpt`), as the scheduler's priorities do; the run's fixed cost is left out.
    """
    from qauipsiz.api.cli.national_run import city_costs, split_cities

    city_cpu: dict[str, float] = {}
    for p in city_run["parts"]:
        city_cpu[p["city"]] = city_cpu.get(p["city"], 0.0) + p.get("cpu_s", 0.0)
    part_cpu: dict[str, list[float]] = {}
    for p in part_run["parts"]:
        part_cpu.setdefault(p["city"], []).append(p.get("cpu_s", 0.0))
    sizes = city_costs(root, list(city_cpu))
    big = max(city_cpu, key=lambda c: city_cpu[c])
    print(f"task granularity by simulation from measured task CPU seconds: per city {sum(city_cpu.values()):.1f} s "
          f"in {len(city_cpu)} tasks (largest {big} {city_cpu[big]:.1f} s), per part "
          f"{sum(map(sum, part_cpu.values())):.1f} s in {sum(map(len, part_cpu.values()))} tasks "
          f"(largest {max(map(max, part_cpu.values())):.1f} s; each part reads its city again)")
    for w in workers:
        split = set(split_cities(sizes, w))
        auto = [t for c in city_cpu for t in (part_cpu[c] if c in split else [city_cpu[c]])]
        m = {"city": lpt(list(city_cpu.values()), w), "part": lpt([t for v in part_cpu.values() for t in v], w),
             "auto": lpt(auto, w)}
        best = min(m, key=lambda k: m[k])
        print(f"  {w} workers, greedy largest-first makespan: per city {m['city']:.1f} s, per part {m['part']:.1f} s, "
              f"auto {m['auto']:.1f} s (splits {', '.join(sorted(split)) or 'none'}); shortest: {best}")


def by_part(s: dict) -> str:
    tot: dict[str, float] = {}
    for p in s["parts"]:
        tot[p["part"]] = tot.get(p["part"], 0.0) + p["seconds"]
    return ", ".join(f"{k} {v:.1f} s" for k, v in sorted(tot.items(), key=lambda kv: -kv[1]))


def cost_model(s: dict, key: str = "seconds") -> dict[str, tuple[float, float, float]]:
    """Per part, seconds = a + b·events + c·cells (res-9 cells of the city), a, b, c ≥ 0, fitted by
    non-negative least squares (``scipy.optimize.nnls``) across the cities of one run."""
    import numpy as np
    from scipy.optimize import nnls

    cells = {p["city"]: p["cells"] for p in s["parts"] if p["part"] == "hotspots9"}
    out = {}
    for part in sorted({p["part"] for p in s["parts"]}):
        rows = [p for p in s["parts"] if p["part"] == part and p["city"] in cells]
        X = np.array([[1.0, p["events"] / 1e6, cells[p["city"]] / 1e3] for p in rows])
        y = np.array([p.get(key, 0.0) for p in rows])
        coef, _ = nnls(X, y)
        out[part] = (float(coef[0]), float(coef[1]), float(coef[2]))
    return out


def extrapolate_model(events: int, two: dict, target_events: int = 50_000_000, workers: int = 4,
                      key: str = "seconds") -> float:
    """The fitted cost model (:func:`cost_model`) at ``target_events / events`` times each city's events."""
    k = target_events / events
    model = cost_model(two, key)
    cells = {p["city"]: p["cells"] for p in two["parts"] if p["part"] == "hotspots9"}
    times = [model[p["part"]][0] + model[p["part"]][1] * p["events"] * k / 1e6
             + model[p["part"]][2] * cells[p["city"]] / 1e3 for p in two["parts"] if p["city"] in cells]
    fixed = max(0.0, two["wall_total_s"] - max(busy(two).values()))
    est = lpt(times, workers) + fixed
    terms = "; ".join(f"{part} {a:.2f} s + {b:.2f} s/M events + {c:.2f} s/k cells" for part, (a, b, c) in model.items())
    what = "task CPU seconds" if key == "cpu_s" else "task wall seconds"
    print(f"extrapolation to {target_events:,} events on {workers} workers, fitted cost model of {what}: "
          f"{est:.0f} s = "
          f"{est / 60:.1f} min (goal < {GOAL_50M_S / 60:.0f} min: {'met' if est < GOAL_50M_S else 'missed'}); "
          f"method: per part, seconds = a + b x events + c x res-9 cells fitted by non-negative least squares "
          f"across the {len(cells)} cities of the 2-worker run ({terms}), each city at {k:.1f}x its events, "
          f"greedy largest-first on {workers} workers, + fixed cost {fixed:.0f} s")
    return est


def extrapolate(events: int, two: dict, target_events: int = 50_000_000, workers: int = 4,
                key: str = "seconds") -> float:
    k = target_events / events
    split = set(two["split_cities"])  # their parts ran as tasks of their own; the others' as one city task
    tasks: dict[tuple[str, str], float] = {}
    for p in two["parts"]:
        t = (p["city"], p["part"] if p["city"] in split else "city")
        tasks[t] = tasks.get(t, 0.0) + p.get(key, 0.0)
    times = list(tasks.values())
    fixed = max(0.0, two["wall_total_s"] - max(busy(two).values()))
    span = lpt([t * k for t in times], workers)
    est = span + fixed
    what = "task CPU seconds" if key == "cpu_s" else "task wall seconds"
    print(f"extrapolation to {target_events:,} events on {workers} workers, linear ceiling of {what}: "
          f"{est:.0f} s = "
          f"{est / 60:.1f} min (goal < {GOAL_50M_S / 60:.0f} min: {'met' if est < GOAL_50M_S else 'missed'}); "
          f"method: each of the {len(times)} task times of the 2-worker run x {k:.1f} (linear in events, a "
          f"ceiling), greedy largest-first on {workers} workers = {span:.0f} s, + fixed cost {fixed:.0f} s "
          f"(wall minus the busiest worker's task seconds); largest task {max(times) * k:.0f} s")
    return est


def main() -> None:
    ap = add_args(argparse.ArgumentParser(description=__doc__.split("\n")[0]))
    ap.add_argument("--events", type=int, default=None, help="national events (default 10,000,000; quick 200,000)")
    ap.add_argument("--data", type=Path, default=None, help="an existing national dataset of that size")
    ap.add_argument("--serve-data", type=Path, default=None,
                    help="an existing dataset holding the serving city (default: generate one)")
    ap.add_argument("--serve-city", default="almaty")
    ap.add_argument("--serve-events", type=int, default=None, help="default 5,000,000; quick 300,000")
    ap.add_argument("--granularity", default=None, choices=("part", "city", "auto", "both"),
                    help="tasks of the timed runs (default: city, as national run; quick: both: city, "
                         "then a per-part run on 2 workers and the granularity table)")
    ap.add_argument("--no-serve", action="store_true", help="skip the filter-latency part")
    a = ap.parse_args()
    print(f"national nightly job on Dask (qauipsiz national run) ({'quick' if a.quick else 'full'} run; each "
          "configuration timed once, no warm-up run: a run starts its own cluster and takes minutes)")
    print(machine_line())
    events = a.events or (200_000 if a.quick else 10_000_000)
    gran = a.granularity or ("both" if a.quick else "city")
    with tempfile.TemporaryDirectory(prefix="qauipsiz-bench-national-") as tmp:
        tmp = Path(tmp)
        root = a.data
        if root is None:
            root = tmp / "data"
            generate(root, events)
        else:
            events = json.loads((root / "_dataset.json").read_text(encoding="utf-8"))["events"]
        one = run_job(root, tmp / "out1", 1, "city" if gran == "both" else gran)
        two = run_job(root, tmp / "out2", 2, "city" if gran == "both" else gran)
        ok = same_outputs(tmp / "out1", tmp / "out2")
        r = report_job(events, one, two)
        print(f"outputs of the 1- and 2-worker runs identical (res-9 tables, forecasts): {ok}")
        print(f"task seconds by part (2 workers): {by_part(two)}")
        if gran == "both":
            part = run_job(root, tmp / "out3", 2, "part")
            show(f"national run, {events:,} events, one task per city ({len(two['rows'])} tasks) vs one per "
                 f"part ({len(part['parts'])} tasks), 2 workers", Timing(float("nan"), (two["wall_total_s"],)),
                 Timing(float("nan"), (part["wall_total_s"],)), "one task per city part",
                 note="= per-part tasks / per-city tasks")
            print(f"  task CPU seconds with 2 workers: per city {sum(cpu(two).values()):.1f} s, "
                  f"per part {sum(cpu(part).values()):.1f} s")
            granularity_table(root, two, part)
        for key in ("seconds", "cpu_s"):  # wall time on this shared machine; CPU time = a core each
            extrapolate(events, two, key=key)
            extrapolate_model(events, two, key=key)
        rows = sorted(two["rows"], key=lambda x: -x["seconds"])[:3]
        print("slowest cities (2 workers): " + "; ".join(
            f"{x['city']} {x['events']:,} events, {x['cells']:,} res-9 cells, {x['seconds']:.1f} s" for x in rows))
        if not ok:
            raise SystemExit("bench/national.py: the 1- and 2-worker outputs differ")
        if not a.no_serve:
            from _national_serve import (
                measure_endpoint_in_process,
                measure_filter_latency,
                report,
                report_endpoint,
            )

            n_serve = a.serve_events or (300_000 if a.quick else 5_000_000)
            sroot = a.serve_data
            if sroot is None:
                sroot = tmp / "serve"
                generate(sroot, n_serve, cities=[a.serve_city])
            res = measure_filter_latency(sroot, a.serve_city, 60 if a.quick else 200, baseline_requests=5)
            report(res)
            del res
            # the whole dashboard request through the service (ASGI app), ours vs the previous path
            report_endpoint(measure_endpoint_in_process(sroot, a.serve_city, 30 if a.quick else 120))
        print(f"summary: scaling {r:.2f}x with 2 workers (target {TARGET_RATIO}x)")


if __name__ == "__main__":
    main()
