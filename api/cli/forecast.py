"""``qauipsiz forecast`` (one day's score per cell to CSV) and ``qauipsiz backtest`` (rolling-origin table)."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from qauipsiz.api.cli._app import app
from qauipsiz.api.cli._inputs import INCIDENTS_HELP, city_incidents

METHOD_HELP = "recent, longrun, prospective, kde, seppp, ranker, blend or auto (the best on the last 28 days)."
CACHE_HELP = ("Reuse the fitted state of this 28-day cut-off from <data dir>/cities/<city>/cache/forecast, "
              "written by an earlier run; it is fitted again when an incident before the cut-off was added, "
              "removed or moved, the method, options or cells differ, a new cut-off starts, or the code changed. "
              "--no-cache: fit afresh and keep nothing.")


def default_jobs() -> int:
    """2 (the ranker validated and fitted in a second process) when a core is free, else 1.

    A second process only helps when a core is idle: on a busy machine the processes of one session
    share one slice of the CPU, and the fork costs about 0.5 s of CPU. Results do not depend on it.
    """
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float(cores)
    return 2 if cores >= 2 and cores - load >= 1.0 else 1


def fit_cache(city: str):
    """The city's fitted-state cache: ``<data dir>/cities/<city>/cache/forecast`` (``QAUIPSIZ_DATA_DIR``)."""
    from qauipsiz.api.settings import get_settings
    from qauipsiz.hotspot.forecast.fitcache import FitCache

    return FitCache(get_settings().data_dir / "cities" / city / "cache" / "forecast")


def _split(v: str | None) -> list[str] | None:
    return [s.strip() for s in v.split(",") if s.strip()] if v else None


def forecast_events(city: str, incidents: Path | None, categories: str | None):
    """The city's incidents (store or file), restricted to ``categories`` when given.

    Rows need ``occurred_at``, ``lat`` and ``lon``; other columns (and category labels outside the
    taxonomy) are kept and ignored. Returns ``(events, source, every incident)``: the last,
    unfiltered, is the context from which sparse categories borrow (the ``stack`` member).
    """
    df, source = city_incidents(city, incidents)
    everything = df
    for col in ("occurred_at", "lat", "lon"):
        if col not in df.columns:
            raise typer.BadParameter(f"the incidents have no {col!r} column (need occurred_at, lat, lon)",
                                     param_hint="--incidents")
    cats = _split(categories)
    if cats:
        if "category" not in df.columns:
            raise typer.BadParameter("the incidents have no 'category' column", param_hint="--categories")
        df = df[df["category"].astype(str).isin(cats).to_numpy(bool)]
        if len(df) == 0:
            raise typer.BadParameter(f"no incident of {', '.join(cats)}", param_hint="--categories")
    return df, source, everything


def give_context(forecasters, everything) -> None:
    """Every incident as the context of the forecasters that use one (``stack``, ``auto``)."""
    if "category" not in everything.columns:
        return
    for f in forecasters:
        if hasattr(f, "set_context"):
            f.set_context(everything)


def read_cells_csv(path: Path):
    """``cell, lon, lat`` of another grid's cell centres (extra columns ignored)."""
    import pandas as pd

    if not path.exists():
        raise typer.BadParameter(f"{path}: file not found", param_hint="--cells")
    c = pd.read_csv(path)
    missing = [x for x in ("cell", "lon", "lat") if x not in c.columns]
    if missing:
        raise typer.BadParameter(f"{path}: missing column(s) {', '.join(missing)} (need cell, lon, lat)",
                                 param_hint="--cells")
    return c


@app.command("forecast")
def forecast_cmd(
    city: str = typer.Option("astana", "--city", help="City key (qauipsiz cities)."),
    day: str = typer.Option(..., "--day", help="Forecast day, local date YYYY-MM-DD."),
    out: Path = typer.Option(..., "--out", help="Output CSV: h3,score (or cell,score with --cells)."),
    incidents: Path = typer.Option(None, "--incidents", help=INCIDENTS_HELP),
    method: str = typer.Option("auto", "--method", help=METHOD_HELP),
    categories: str = typer.Option(None, "--categories", help="Comma-separated category labels."),
    cells: Path = typer.Option(None, "--cells", help="CSV of cell centres (cell,lon,lat) to score instead of "
                                                     "the city's H3 cells."),
    res: int = typer.Option(9, "--res", min=7, max=11, help="H3 resolution of the counts (default 9)."),
    seed: int = typer.Option(0, "--seed", help="Seed (the learned ranker)."),
    cache: bool = typer.Option(True, "--cache/--no-cache", help=CACHE_HELP),
    jobs: int = typer.Option(0, "--jobs", min=0, max=2,
                             help="2: auto validates and fits the ranker in a second process while it validates the "
                                  "other methods; 1: one process; 0 (default): 2 when a core is idle (load average). "
                                  "The result does not depend on it."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Score every cell for one day from the incidents before it (higher = more expected crime).

    Fitting (tuning, training, auto's validation) happens once per 28-day cut-off and is cached (--cache).
    """
    import time

    import pandas as pd
    from rich.console import Console

    from qauipsiz.hotspot.binning import fill_city_cells
    from qauipsiz.hotspot.cities import get_city
    from qauipsiz.hotspot.forecast import day_number, make_forecaster, make_point_query

    c = get_city(city)
    try:
        d = day_number(day)
    except ValueError as e:
        raise typer.BadParameter(f"{day!r}: use YYYY-MM-DD", param_hint="--day") from e
    df, source, everything = forecast_events(city, incidents, categories)
    fc = make_forecaster(method, res=res, tz=c.tz, seed=seed)
    give_context([fc], everything)
    fc.fit(df)
    store = fit_cache(city) if cache else None
    fc.use_cache(store)
    if hasattr(fc, "jobs"):
        fc.jobs = jobs or default_jobs()
    if cells is not None:
        grid = read_cells_csv(cells)
        q = make_point_query(fc.events, grid["lat"].to_numpy(float), grid["lon"].to_numpy(float))
    else:
        h3 = fill_city_cells(c, res)
        q = fc.query(h3)
    t0 = time.perf_counter()
    with Console(stderr=True).status(f"{method}: fitting at the cut-off of {day}") as st:
        if hasattr(fc, "progress"):
            fc.progress = st.update
        score = fc.predict(q, d)
    fit_s = time.perf_counter() - t0
    if cells is not None:
        table = pd.DataFrame({"cell": grid["cell"].to_numpy(), "score": score})
    else:
        table = pd.DataFrame({"h3": [format(int(x), "x") for x in h3], "score": score})
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False, float_format="%.6g")
    info = fc.describe(q, d)
    summary = {"out": str(out), "city": city, "day": str(pd.Timestamp(day).date()), "method": method,
               "cells": len(table), "incidents": source, "events_before_day": fc.events.before(d),
               "params": {k: v for k, v in (info.get("params") or {}).items()
                          if isinstance(v, int | float | str | dict)},
               "fit_seconds": round(fit_s, 3),
               "fit_cache": None if store is None else {"dir": str(store.folder), "hits": store.hits,
                                                        "misses": store.misses}}
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, default=str))
    else:
        typer.echo(f"{method}: {len(table):,} cells scored for {summary['day']} from "
                   f"{summary['events_before_day']:,} earlier incidents → {out}")


@app.command("backtest")
def backtest_cmd(
    city: str = typer.Option("astana", "--city", help="City key (qauipsiz cities)."),
    start: str = typer.Option(..., "--from", help="First test day, local YYYY-MM-DD."),
    end: str = typer.Option(..., "--to", help="Last test day (inclusive), local YYYY-MM-DD."),
    incidents: Path = typer.Option(None, "--incidents", help=INCIDENTS_HELP),
    methods: str = typer.Option("recent,longrun,prospective,kde,seppp,ranker,blend,auto", "--methods",
                                help="Comma-separated methods; the two baselines are always added."),
    categories: str = typer.Option(None, "--categories", help="Comma-separated category labels."),
    res: int = typer.Option(9, "--res", min=7, max=11, help="H3 resolution (default 9)."),
    seed: int = typer.Option(0, "--seed", help="Seed (the learned ranker, bootstrap)."),
    as_json: bool = typer.Option(False, "--json", help="Print the table as JSON rows."),
) -> None:
    """One forecast per day from the events before it: hit rate, PAI and PEI* at 1/5/10 % of the area."""
    from rich.console import Console

    from qauipsiz.hotspot.binning import fill_city_cells
    from qauipsiz.hotspot.cities import get_city
    from qauipsiz.hotspot.forecast import BASELINES, make_set, prepare_events
    from qauipsiz.hotspot.forecast.backtest import backtest, format_table

    c = get_city(city)
    names = list(dict.fromkeys([*BASELINES, *(_split(methods) or [])]))
    df, _, everything = forecast_events(city, incidents, categories)
    fs = make_set(names, res=res, tz=c.tz, seed=seed)
    give_context(fs.values(), everything)
    ev = prepare_events(df, res, c.tz)
    for f in fs.values():
        f.fit(ev)
    err = Console(stderr=True)
    with err.status("backtesting") as st:
        r = backtest(fs, fill_city_cells(c, res), start, end,
                     progress=lambda i, n: st.update(f"backtesting: day {i}/{n}"))
    if as_json:
        t = r.table(seed=seed)
        typer.echo(json.dumps({"city": city, "from": start, "to": end, "days": len(r.days),
                               "events": int(r.n_events.sum()), "cells": r.n_cells, "chosen": r.chosen,
                               "rows": json.loads(t.to_json(orient="records"))}, ensure_ascii=False))
    else:
        typer.echo(format_table(r, seed=seed))
