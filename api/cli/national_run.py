"""``qauipsiz national run``: the nightly job over every city of a national dataset, as Dask tasks.

The per-city work is :mod:`hotspot.nightly`; this module only schedules it. A task is one *part*
of one city (``--granularity part``: hotspots res 9, res 10, density, emerging, forecast) or a
whole city (``--granularity city``, the default: one read of its incidents, one city radius), or
whole cities except those too large for an even spread, which are split into parts
(``--granularity auto``, :func:`split_cities`); ``bench/national.py`` measures them. Tasks are
submitted largest city first (:func:`city_costs`: events and cells), so the long ones start early. Workers read
their own partitions from ``--data`` (which must be on a path every worker sees) and write into
``--out``; only small summary dicts travel back. A task that raises is retried (``--retries``) and
then reported in the summary with status ``failed``; a worker that dies mid-task has its task
rerun elsewhere by the scheduler (up to ``distributed.scheduler.allowed-failures`` deaths). Every
start of a task is recorded in ``OUT/_attempts/<run_id>/`` (:func:`hotspot.nightly.attempt`) and
the scheduler's worker-death count read from its events, so the summary says which city's task
was rerun, why, and on which process it died. Messages are in kk/ru/en
(:mod:`api.cli._national_text`).
"""
from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import typer

from qauipsiz.api.cli.national import national_app

WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1"}
GRANULARITIES = ("part", "city", "auto")
SPLIT_SHARE = 0.8  # auto: split a city larger than this share of an even worker's load
CELL_EVENTS = 100.0  # a res-9 cell of a city costs the job about as much as 100 of its events
H3_RES9_KM2 = 0.1053  # mean area of an H3 res-9 cell, km²


def city_area_km2(root: Path, city: str) -> float:
    """Geodesic area of the city polygon (WGS84 ellipsoid), km²: ``ROOT/cities/<city>/boundary.geojson``
    when the dataset has it (a generated regional centre), else the registry's city
    (:func:`hotspot.cities.get_city`)."""
    import shapely
    from pyproj import Geod

    f = Path(root) / "cities" / city / "boundary.geojson"
    if f.exists():
        feats = json.loads(f.read_text(encoding="utf-8"))["features"]
        geom = shapely.union_all([shapely.geometry.shape(ft["geometry"]) for ft in feats])
    else:
        from qauipsiz.hotspot.cities import get_city

        geom = get_city(city).boundary
    return abs(Geod(ellps="WGS84").geometry_area_perimeter(geom)[0]) / 1e6


def city_costs(root: Path, cities: list[str]) -> dict[str, float]:
    """Each city's expected work, in event equivalents: its incidents (Parquet footers' row counts)
    plus :data:`CELL_EVENTS` per res-9 cell of its polygon (area / :data:`H3_RES9_KM2`).

    Per-city task CPU seconds grow with both (``bench/national.py``'s fitted cost model: about
    7–13 s per million events and 0.8 s per thousand res-9 cells, i.e. ~60–110 events per cell), so
    a city of many cells and fewer events (Shymkent) can be the longest task, which the partition
    bytes alone miss. Used to order the tasks (largest first) and by :func:`split_cities`.
    """
    import pyarrow.parquet as pq

    from qauipsiz.hotspot.analytic import month_files

    def cells(c: str) -> float:
        try:
            return city_area_km2(root, c) / H3_RES9_KM2
        except ValueError:  # not a known city: its task will say so; plan it by its events
            return 0.0

    def rows(p: Path) -> int:
        try:
            return pq.read_metadata(p).num_rows
        except (OSError, ValueError):  # unreadable: the city's task fails and reports the file
            return 0

    return {c: sum(rows(p) for p in month_files(root, c)) + CELL_EVENTS * cells(c) for c in cities}


def dataset_info(root: Path) -> dict:
    """``ROOT/_dataset.json`` (``{}`` when absent)."""
    p = Path(root) / "_dataset.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}


def pick_cities(root: Path, cities: list[str] | None) -> list[str]:
    """The cities to run, largest expected work first (:func:`city_costs`): ``cities`` when given
    (each must have partitions), else all."""
    from qauipsiz.hotspot.analytic import dataset_cities

    have = list(dataset_cities(root))
    if cities:
        bad = [c for c in cities if c not in have]
        if bad:
            raise ValueError(f"{', '.join(bad)}: not in the dataset {root} (it has {', '.join(have)})")
        have = list(dict.fromkeys(cities))
    if not have:
        raise ValueError(f"--data {root}: no city partitions under incidents/")
    size = city_costs(root, have)
    return sorted(have, key=lambda c: (-size[c], c))


def local_cluster(workers: int, dashboard_address: str | None = ":8787"):
    """A local Dask cluster of ``workers`` processes with one thread each (numba and BLAS single-threaded)."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                        dashboard_address=dashboard_address, env=dict(WORKER_ENV))


def split_cities(sizes: dict[str, int], workers: int, share: float = SPLIT_SHARE) -> list[str]:
    """The cities ``granularity="auto"`` runs as one task per part: those whose expected work exceeds
    ``share`` of an even worker's load (``share`` x total / ``workers``).

    Greedy largest-first scheduling ends no earlier than the largest task, so a city task bigger
    than an even share of the work bounds the run; split into its five parts (the largest, the
    res-10 table, is about 40 % of a city's work) it spreads over the workers, at the cost of
    reading the city and building its cells once per part. No city is split for one worker.

    Parameters
    ----------
    sizes : dict
        City -> its expected work (:func:`city_costs`, event equivalents).
    workers : int
        Worker threads of the cluster.
    share : float
        Fraction of ``total / workers`` above which a city is split.

    Returns
    -------
    list of str
        The cities to split, in the order of ``sizes``.
    """
    total = sum(sizes.values())
    if workers < 2 or total <= 0:
        return []
    return [c for c, b in sizes.items() if b > share * total / workers]


def _submit(client, root: Path, out: Path, cities: list[str], split: set[str], forecast_method: str,
            retries: int, parts: tuple, attempts: Path) -> dict:
    # One task group ("nightly" / "nightly_city" after the hex suffix): Dask queues a group's tasks
    # on the scheduler and hands them out in priority order as worker threads free up. Keys such as
    # "national-almaty-emerging" split into groups of their own ("national-almaty" vs the rest) and
    # broke that order (each city's emerging and forecast ran after every city's tables).
    from qauipsiz.hotspot import nightly

    futs = {}
    n = len(cities)
    kw = {"forecast_method": forecast_method, "attempts_dir": str(attempts)}
    for i, city in enumerate(cities):  # priority: largest city first
        if city not in split:
            f = client.submit(nightly.run_city, str(root), str(out), city, parts=parts, **kw,
                              key=f"nightly_city-{uuid.uuid4().hex}", retries=retries,
                              priority=(n - i) * 10 + len(parts))
            futs[f] = (city, None)
            continue
        for j, part in enumerate(parts):
            f = client.submit(nightly.run_part, str(root), str(out), city, part, **kw,
                              key=f"nightly-{uuid.uuid4().hex}", retries=retries,
                              priority=(n - i) * 10 + len(parts) - j)
            futs[f] = (city, part)
    return futs


def _allowed_failures(dask_scheduler=None) -> int:
    return int(dask_scheduler.allowed_failures)


def worker_deaths(client, keys) -> tuple[dict[str, int], int]:
    """How often the scheduler saw a worker die while each of ``keys`` was assigned to it.

    This is the scheduler's own count (``TaskState.suspicious``, raised by ``remove_worker`` for
    every task *processing* on a worker that left unexpectedly: running, or queued on it); a
    task counted more than ``distributed.scheduler.allowed-failures`` times fails with
    ``KilledWorker``. Read from the scheduler's ``remove-worker`` events.

    Returns
    -------
    (dict, int)
        Key -> worker deaths (keys never on a dead worker are absent), and the scheduler's
        ``allowed_failures``.
    """
    import dask

    keys = set(keys)
    out: dict[str, int] = {}
    for _, ev in client.get_events("all"):
        if isinstance(ev, dict) and ev.get("action") == "remove-worker" and not ev.get("expected"):
            for k in set(ev.get("processing-tasks", ())) & keys:
                out[k] = out.get(k, 0) + 1
    try:
        allowed = int(client.run_on_scheduler(_allowed_failures))
    except Exception:  # a scheduler that refuses run_on_scheduler: this client's configuration
        allowed = int(dask.config.get("distributed.scheduler.allowed-failures"))
    return out, allowed


def task_reports(futs: dict, status: dict, deaths: dict[str, int], attempts: list[dict]) -> list[dict]:
    """One record per task: ``city``, ``task`` (``city`` or the part), ``status`` (``ok`` / ``failed``),
    ``worker_deaths`` (the scheduler's count), ``attempts`` (each start: ``pid``, ``host``,
    ``status`` ``ok`` / ``error`` / ``interrupted``: its process died mid-task), ``interrupted_pids``."""
    by_task: dict[tuple[str, str], list[dict]] = {}
    for a in attempts:
        a = dict(a)
        if a["status"] == "running":  # the job is over: that process died during the task
            a["status"] = "interrupted"
        by_task.setdefault((a["city"], a["task"]), []).append(a)
    out = []
    for f, (city, part) in futs.items():
        task = part or "city"
        tried = by_task.get((city, task), [])
        out.append({"city": city, "task": task, "key": f.key, "status": status[f.key],
                    "worker_deaths": deaths.get(f.key, 0), "attempts": tried,
                    "interrupted_pids": [a["pid"] for a in tried if a["status"] == "interrupted"]})
    return out


def run_national(client, root: Path, out: Path, *, cities: list[str] | None = None,
                 granularity: str = "city", forecast_method: str | None = None, retries: int = 2,
                 progress=None, parts=None, split_share: float = SPLIT_SHARE) -> dict:
    """Run the nightly job on ``client``'s cluster and write the national summary.

    Parameters
    ----------
    client : distributed.Client
        Connected client (local or remote scheduler); its workers must see ``root`` and ``out``.
    root, out : path
        National dataset and output folder.
    cities : list of str, optional
        Default: every city of the dataset.
    granularity : {"city", "part", "auto"}
        One task per city (default: reads the city once, measured faster in ``bench/national.py``),
        one per city part (finer: for more workers than total work / the largest city's), or per
        city except the cities :func:`split_cities` picks for the cluster's worker threads.
    forecast_method : str, optional
        Default :data:`hotspot.nightly.FORECAST_METHOD`.
    retries : int
        Times Dask reruns a task that raised before the city is reported ``failed``. (A task whose
        worker process dies is rerun by the scheduler up to ``distributed.scheduler.allowed-failures``
        times, independently.)
    progress : :class:`api.cli._national_text.Progress`, optional
        Told of every finished task (``start(total)``, ``(city, part, seconds, error)``, ``stop()``).
    parts : sequence of str, optional
        Parts to compute (default every one of :data:`hotspot.nightly.PARTS`).
    split_share : float
        ``share`` of :func:`split_cities` for ``granularity="auto"``.

    Returns
    -------
    dict
        ``rows`` (one per city: events, cells, top_cells, forecast_method, seconds, status, error,
        attempts, worker_deaths), ``tasks`` (:func:`task_reports`: every start of every task, the
        scheduler's worker-death count), ``parts`` (every part summary), ``wall_s`` (seconds),
        ``failed`` (city keys), ``allowed_failures``, ``run_id``; written to
        ``OUT/national_summary.csv`` (the rows) and ``.json`` (all). Attempt records stay in
        ``OUT/_attempts/<run_id>/``.
    """
    from distributed import as_completed

    from qauipsiz.hotspot import nightly

    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity {granularity!r}: use city, part or auto")
    root, out = Path(root).resolve(), Path(out).resolve()
    parts = tuple(parts or nightly.PARTS)
    bad = [p for p in parts if p not in nightly.PARTS]
    if bad:
        raise ValueError(f"parts: unknown {', '.join(bad)}; use {', '.join(nightly.PARTS)}")
    forecast_method = forecast_method or nightly.FORECAST_METHOD
    todo = pick_cities(root, cities)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]
    attempts = out / "_attempts" / run_id
    attempts.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    threads = sum(client.nthreads().values())
    split = set(todo) if granularity == "part" else set() if granularity == "city" else \
        set(split_cities(city_costs(root, todo), threads, split_share))
    futs = _submit(client, root, out, todo, split, forecast_method, retries, parts, attempts)
    done: dict[str, list[dict]] = {c: [] for c in todo}
    errors: dict[str, str] = {}
    status: dict[str, str] = {}
    if progress:
        progress.start(len(futs), cities=len(todo), workers=len(client.nthreads()), granularity=granularity)
    try:
        for f in as_completed(list(futs)):
            city, part = futs[f]
            if f.status == "error":
                e = f.exception()
                msg = f"{part or 'city'}: {type(e).__name__}: {e}"
                errors.setdefault(city, msg)
                status[f.key] = "failed"
                seconds = 0.0
            else:
                r = f.result()
                r = r if isinstance(r, list) else [r]
                done[city].extend(r)
                status[f.key] = "ok"
                msg, seconds = None, sum(p["seconds"] for p in r)
            if progress:
                progress(city, part, seconds, msg)
    finally:
        if progress:
            progress.stop()
    wall = time.perf_counter() - t0
    deaths, allowed = worker_deaths(client, [f.key for f in futs])
    tasks = task_reports(futs, status, deaths, nightly.read_attempts(attempts))
    for f in futs:
        f.release()
    rows = []
    for c in todo:
        row = nightly.city_row(c, done[c], status="failed" if c in errors else "ok", error=errors.get(c))
        mine = [t for t in tasks if t["city"] == c]
        row["attempts"] = sum(len(t["attempts"]) for t in mine)
        row["worker_deaths"] = sum(t["worker_deaths"] for t in mine)
        rows.append(row)
    summary = {"dataset": dataset_info(root), "data": str(root), "out": str(out), "run_id": run_id,
               "granularity": granularity, "split_cities": [c for c in todo if c in split],
               "parts_run": list(parts), "retries": retries,
               "allowed_failures": allowed, "workers": len(client.scheduler_info().get("workers", {})),
               "wall_s": round(wall, 3), "failed": sorted(errors), "rows": rows, "tasks": tasks,
               "parts": [p for c in todo for p in done[c]]}
    write_summary(out, summary)
    return summary


def _serves_bokeh(dask_scheduler=None) -> bool:
    # The scheduler always runs an HTTP server (health, metrics) under the service name "dashboard";
    # the dashboard proper is the bokeh application added to it when bokeh is importable there.
    app = getattr(dask_scheduler, "http_application", None)
    return any(c.__name__ == "BokehTornado" for a in getattr(app, "applications", ()) for c in type(a).__mro__)


def dashboard_link(client) -> str | None:
    """The Dask dashboard's address when the scheduler serves it (bokeh installed there), else None."""
    import importlib.util

    if "dashboard" not in client.scheduler_info(n_workers=0).get("services", {}):
        return None
    try:
        ok = bool(client.run_on_scheduler(_serves_bokeh))
    except Exception:  # a scheduler that refuses run_on_scheduler: judge by this side's bokeh
        ok = importlib.util.find_spec("bokeh") is not None
    return client.dashboard_link if ok else None


def write_summary(out: Path, summary: dict) -> None:
    """``OUT/national_summary.csv`` (one row per city) and ``OUT/national_summary.json`` (all of it)."""
    pd.DataFrame(summary["rows"]).to_csv(out / "national_summary.csv", index=False)
    (out / "national_summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1, default=str),
                                               encoding="utf-8")


def report_lines(s: dict, lang: str) -> list[str]:
    """The run's summary for people, in ``lang``: the totals, each failed city with its attempts and
    reason, each task the scheduler reran after a worker died or Dask retried after an error."""
    from qauipsiz.api.cli._national_text import say, task_name

    gran = say(f"gran_{s['granularity']}", lang)
    ok = sum(r["status"] == "ok" for r in s["rows"])
    lines = [say("summary", lang, ok=ok, n=len(s["rows"]), wall=s["wall_s"], workers=s["workers"],
                 granularity=gran, path=Path(s["out"]) / "national_summary.csv")]
    for r in s["rows"]:
        if r["status"] != "ok":
            lines.append(say("failed", lang, city=r["city"], attempts=r["attempts"], error=r["error"]))
    for t in s["tasks"]:
        if t["status"] != "ok":
            continue
        kw = {"city": t["city"], "task": task_name(None if t["task"] == "city" else t["task"], lang),
              "deaths": t["worker_deaths"], "allowed": s["allowed_failures"]}
        if t["interrupted_pids"]:
            lines.append(say("killed", lang, pids=", ".join(map(str, t["interrupted_pids"])), **kw))
        elif t["worker_deaths"]:
            lines.append(say("moved", lang, **kw))
        errs = [a for a in t["attempts"] if a["status"] == "error"]
        if errs:
            lines.append(say("errored", lang, n=len(errs), error=errs[-1].get("error", ""), **kw))
    return lines


@national_app.command("run")
def run_cmd(
    data: Path = typer.Option(..., "--data", help="National dataset / analytic store folder (ROOT)."),
    out: Path = typer.Option(..., "--out", help="Output folder (per-city outputs and the national summary)."),
    scheduler: str = typer.Option("local", "--scheduler",
                                  help="'local' (a local cluster) or a scheduler address, e.g. tcp://HOST:8786."),
    workers: int = typer.Option(2, "--workers", min=1, help="Worker processes of the local cluster (1 thread each)."),
    cities: str = typer.Option(None, "--cities", help="Comma-separated city keys (default: every city)."),
    parts: str = typer.Option(None, "--parts", help="Comma-separated parts: hotspots9, hotspots10, density, "
                                                    "emerging, forecast (default: all)."),
    granularity: str = typer.Option("city", "--granularity",
                                    help="One Dask task per 'city' (reads it once), per city 'part' (finer), "
                                         "or 'auto': per city, cities over 80 % of a worker's even share per part."),
    forecast_method: str = typer.Option(None, "--forecast-method",
                                        help="Forecaster of tomorrow (default longrun: see docs/national.md)."),
    retries: int = typer.Option(2, "--retries", min=0, help="Reruns of a failed task before the city is reported."),
    dashboard: str = typer.Option(":8787", "--dashboard-address", help="Dashboard of the local cluster."),
    lang: str = typer.Option("ru", "--lang", help="Language of the progress and summary: kk, ru or en."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON (no progress)."),
) -> None:
    """Nightly job (kk: түнгі есептеу; ru: ночной расчёт): hotspots at res 9 and 10, density raster,
    emerging hot spots and tomorrow's forecast for every city, as Dask tasks; a national summary.

    Progress goes to stderr: a bar on a terminal, one line per finished task otherwise. The exit
    code is 1 when a city failed (after its retries), 0 when every city finished.
    """
    from distributed import Client
    from rich.console import Console

    from qauipsiz.api.cli._national_text import LANGS, Progress, say

    if lang not in LANGS:
        raise typer.BadParameter(f"{lang!r}: use kk, ru or en", param_hint="--lang")
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    if not (data / "incidents").is_dir():
        raise typer.BadParameter(f"{data}: no incidents/ folder (make one with qauipsiz national demo)",
                                 param_hint="--data")
    if granularity not in GRANULARITIES:
        raise typer.BadParameter("use city, part or auto", param_hint="--granularity")
    keys = [s.strip() for s in cities.split(",") if s.strip()] if cities else None
    part_list = [s.strip() for s in parts.split(",") if s.strip()] if parts else None
    try:
        pick_cities(data, keys)  # bad --cities fail before any cluster starts
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--cities") from e
    cluster = local_cluster(workers, dashboard) if scheduler == "local" else None
    try:
        with Client(cluster if cluster is not None else scheduler) as client:
            if not as_json:
                link = dashboard_link(client)
                console.print(say("dashboard", lang, link=link) if link else say("no_dashboard", lang),
                              markup=False)
            try:
                s = run_national(client, data, out, cities=keys, granularity=granularity,
                                 forecast_method=forecast_method, retries=retries,
                                 progress=None if as_json else Progress(lang), parts=part_list)
            except ValueError as e:
                raise typer.BadParameter(str(e)) from e
    finally:
        if cluster is not None:
            cluster.close()
    if as_json:
        typer.echo(json.dumps({k: v for k, v in s.items() if k not in ("parts", "tasks")}, ensure_ascii=False,
                              default=str))
    else:
        for line in report_lines(s, lang):
            typer.echo(line)
    if s["failed"]:
        raise typer.Exit(1)
