"""``qauipsiz national run``: the nightly job over every city of a national dataset, as Dask tasks.

The per-city work is :mod:`hotspot.nightly`; this module only schedules it. A task is one *part*
of one city (``--granularity part``: hotspots res 9, res 10, density, emerging, forecast) or a
whole city (``--granularity city``, the default: one read of its incidents, one city radius);
``bench/national.py`` measures both. Tasks are
submitted largest city first (partition bytes on disk), so the long ones start early. Workers read
their own partitions from ``--data`` (which must be on a path every worker sees) and write into
``--out``; only small summary dicts travel back. A task that raises is retried (``--retries``) and
then reported in the summary with status ``failed``; a worker that dies mid-task has its task
rerun elsewhere by the scheduler.
"""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pandas as pd
import typer

from qauipsiz.api.cli.national import national_app

WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1"}
GRANULARITIES = ("part", "city")


def city_bytes(root: Path, city: str) -> int:
    """Bytes of the city's incident partitions on disk (its size for scheduling), 0 when absent."""
    d = Path(root) / "incidents" / f"city={city}"
    return sum(p.stat().st_size for p in d.rglob("*.parquet")) if d.is_dir() else 0


def dataset_info(root: Path) -> dict:
    """``ROOT/_dataset.json`` (``{}`` when absent)."""
    p = Path(root) / "_dataset.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}


def pick_cities(root: Path, cities: list[str] | None) -> list[str]:
    """The cities to run, largest first: ``cities`` when given (each must have partitions), else all."""
    from qauipsiz.hotspot.analytic import dataset_cities

    have = list(dataset_cities(root))
    if cities:
        bad = [c for c in cities if c not in have]
        if bad:
            raise ValueError(f"{', '.join(bad)}: not in the dataset {root} (it has {', '.join(have)})")
        have = list(dict.fromkeys(cities))
    if not have:
        raise ValueError(f"--data {root}: no city partitions under incidents/")
    size = {c: city_bytes(root, c) for c in have}
    return sorted(have, key=lambda c: (-size[c], c))


def city_task(part_fn, root: str, out: str, city: str, parts: tuple, forecast_method: str) -> list[dict]:
    """One Dask task per city: every part of ``city`` in order; :func:`hotspot.nightly.run_city` (one
    read of the city's incidents) unless a custom ``part_fn`` is given."""
    from qauipsiz.hotspot import nightly

    if part_fn is nightly.run_part:
        return nightly.run_city(root, out, city, forecast_method=forecast_method, parts=parts)
    return [part_fn(root, out, city, p, forecast_method=forecast_method) for p in parts]


def local_cluster(workers: int, dashboard_address: str | None = ":8787"):
    """A local Dask cluster of ``workers`` processes with one thread each (numba and BLAS single-threaded)."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                        dashboard_address=dashboard_address, env=dict(WORKER_ENV))


def _submit(client, part_fn, root: Path, out: Path, cities: list[str], granularity: str,
            forecast_method: str, retries: int, parts: tuple) -> dict:
    # One task group ("nightly" / "nightly_city" after the hex suffix): Dask queues a group's tasks
    # on the scheduler and hands them out in priority order as worker threads free up. Keys such as
    # "national-almaty-emerging" split into groups of their own ("national-almaty" vs the rest) and
    # broke that order (each city's emerging and forecast ran after every city's tables).
    futs = {}
    n = len(cities)
    for i, city in enumerate(cities):  # priority: largest city first
        if granularity == "city":
            f = client.submit(city_task, part_fn, str(root), str(out), city, parts, forecast_method,
                              key=f"nightly_city-{uuid.uuid4().hex}", retries=retries, priority=n - i)
            futs[f] = (city, None)
            continue
        for j, part in enumerate(parts):
            f = client.submit(part_fn, str(root), str(out), city, part, forecast_method=forecast_method,
                              key=f"nightly-{uuid.uuid4().hex}", retries=retries,
                              priority=(n - i) * 10 + len(parts) - j)
            futs[f] = (city, part)
    return futs


def run_national(client, root: Path, out: Path, *, cities: list[str] | None = None,
                 granularity: str = "city", forecast_method: str | None = None, retries: int = 2,
                 progress: bool = True, part_fn=None, parts=None) -> dict:
    """Run the nightly job on ``client``'s cluster and write the national summary.

    Parameters
    ----------
    client : distributed.Client
        Connected client (local or remote scheduler); its workers must see ``root`` and ``out``.
    root, out : path
        National dataset and output folder.
    cities : list of str, optional
        Default: every city of the dataset.
    granularity : {"city", "part"}
        One task per city (default: reads the city once, measured faster in ``bench/national.py``),
        or one per city part (finer: for more workers than total work / the largest city's).
    forecast_method : str, optional
        Default :data:`hotspot.nightly.FORECAST_METHOD`.
    retries : int
        Times Dask reruns a task that raised before the city is reported ``failed``.
    progress : bool
        Show a rich progress bar (stderr).
    part_fn : callable, optional
        The per-part function (default :func:`hotspot.nightly.run_part`).
    parts : sequence of str, optional
        Parts to compute (default every one of :data:`hotspot.nightly.PARTS`).

    Returns
    -------
    dict
        ``rows`` (one per city: events, cells, top_cells, forecast_method, seconds, status,
        error), ``parts`` (every part summary), ``wall_s`` (seconds), ``failed`` (city keys); the
        rows are also written to ``OUT/national_summary.csv`` and ``.json``.
    """
    from distributed import as_completed

    from qauipsiz.hotspot import nightly

    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity {granularity!r}: use part or city")
    root, out = Path(root).resolve(), Path(out).resolve()
    part_fn = part_fn or nightly.run_part
    parts = tuple(parts or nightly.PARTS)
    bad = [p for p in parts if p not in nightly.PARTS]
    if bad:
        raise ValueError(f"parts: unknown {', '.join(bad)}; use {', '.join(nightly.PARTS)}")
    forecast_method = forecast_method or nightly.FORECAST_METHOD
    todo = pick_cities(root, cities)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    futs = _submit(client, part_fn, root, out, todo, granularity, forecast_method, retries, parts)
    done: dict[str, list[dict]] = {c: [] for c in todo}
    errors: dict[str, str] = {}
    with _bar(progress, len(futs)) as bar:
        for f in as_completed(list(futs)):
            city, part = futs[f]
            if f.status == "error":
                e = f.exception()
                errors.setdefault(city, f"{part or 'city'}: {type(e).__name__}: {e}")
            else:
                r = f.result()
                done[city].extend(r if isinstance(r, list) else [r])
            f.release()
            bar(f"{city}" + (f" {part}" if part else ""))
    wall = time.perf_counter() - t0
    rows = [nightly.city_row(c, done[c], status="failed" if c in errors else "ok", error=errors.get(c))
            for c in todo]
    summary = {"dataset": dataset_info(root), "data": str(root), "out": str(out), "granularity": granularity,
               "parts_run": list(parts),
               "retries": retries, "workers": len(client.scheduler_info().get("workers", {})),
               "wall_s": round(wall, 3), "failed": sorted(errors), "rows": rows,
               "parts": [p for c in todo for p in done[c]]}
    write_summary(out, summary)
    return summary


def write_summary(out: Path, summary: dict) -> None:
    """``OUT/national_summary.csv`` (one row per city) and ``OUT/national_summary.json`` (all of it)."""
    pd.DataFrame(summary["rows"]).to_csv(out / "national_summary.csv", index=False)
    (out / "national_summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1, default=str),
                                               encoding="utf-8")


class _bar:
    """A rich progress bar over ``n`` tasks (no output when ``show`` is false); call it per task done."""

    def __init__(self, show: bool, n: int):
        self.show, self.n, self.p, self.task = show, n, None, None

    def __enter__(self):
        if self.show:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                              TimeElapsedColumn(), console=Console(stderr=True))
            self.p.__enter__()
            self.task = self.p.add_task("national run", total=self.n)
        return self

    def __call__(self, what: str) -> None:
        if self.p is not None:
            self.p.update(self.task, advance=1, description=f"national run: {what} done")

    def __exit__(self, *exc):
        if self.p is not None:
            self.p.__exit__(*exc)


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
                                    help="One Dask task per 'city' (reads it once) or per city 'part' (finer)."),
    forecast_method: str = typer.Option(None, "--forecast-method",
                                        help="Forecaster of tomorrow (default longrun: see docs/national.md)."),
    retries: int = typer.Option(2, "--retries", min=0, help="Reruns of a failed task before the city is reported."),
    dashboard: str = typer.Option(":8787", "--dashboard-address", help="Dashboard of the local cluster."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Nightly job (kk: түнгі есептеу; ru: ночной расчёт): hotspots at res 9 and 10, density raster,
    emerging hot spots and tomorrow's forecast for every city, as Dask tasks; a national summary."""
    from distributed import Client
    from rich.console import Console

    console = Console(stderr=True)
    if not (data / "incidents").is_dir():
        raise typer.BadParameter(f"{data}: no incidents/ folder (make one with qauipsiz national demo)",
                                 param_hint="--data")
    if granularity not in GRANULARITIES:
        raise typer.BadParameter("use part or city", param_hint="--granularity")
    keys = [s.strip() for s in cities.split(",") if s.strip()] if cities else None
    part_list = [s.strip() for s in parts.split(",") if s.strip()] if parts else None
    try:
        pick_cities(data, keys)  # bad --cities fail before any cluster starts
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--cities") from e
    cluster = local_cluster(workers, dashboard) if scheduler == "local" else None
    try:
        with Client(cluster if cluster is not None else scheduler) as client:
            console.print(f"Dask dashboard: {client.dashboard_link}", highlight=False)
            try:
                s = run_national(client, data, out, cities=keys, granularity=granularity,
                                 forecast_method=forecast_method, retries=retries, progress=not as_json,
                                 parts=part_list)
            except ValueError as e:
                raise typer.BadParameter(str(e)) from e
    finally:
        if cluster is not None:
            cluster.close()
    if as_json:
        typer.echo(json.dumps({k: v for k, v in s.items() if k != "parts"}, ensure_ascii=False, default=str))
        return
    ok = sum(r["status"] == "ok" for r in s["rows"])
    typer.echo(f"{ok}/{len(s['rows'])} cities done in {s['wall_s']:.1f} s on {s['workers']} workers "
               f"({granularity} tasks) → {out / 'national_summary.csv'}")
    for r in s["rows"]:
        if r["status"] != "ok":
            typer.echo(f"  failed: {r['city']}: {r['error']}")
