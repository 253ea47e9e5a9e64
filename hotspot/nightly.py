"""The nightly national job's per-city work: hotspot tables, density raster, emerging hot spots, forecast.

One *part* of one city is one unit of work (:func:`run_part`); :func:`run_city` runs every part of
a city in order. Both read the city's incidents themselves from a national dataset / analytic store
``ROOT`` (:func:`hotspot.analytic.read_events`, partition-pruned on city), so a Dask worker ships
only a small summary dict back to the client, never the events. The statistics are the ones the
``qauipsiz hotspots`` / ``emerging`` / ``forecast`` commands compute, with the same defaults, and a
fixed permutation seed, so two runs on the same data write the same numbers cell for cell.

Outputs of a city, in ``OUT/cities/<key>/``:

| file | content |
|---|---|
| ``hotspots_res9.parquet``, ``hotspots_res10.parquet`` | GeoParquet, one hexagon per H3 cell: ``h3``, ``h3_hex``, ``count``, ``weighted``, ``density`` (incidents per km²), ``gi_z``, ``gi_p``, ``gi_q``, ``gi_bin``, ``lisa``; run parameters as JSON in schema metadata ``qauipsiz`` |
| ``density.tif`` | kernel density (incidents per km²) over the city's UTM bounding box, 50 m pixels, the city default radius (as ``qauipsiz hotspots --geotiff``) |
| ``emerging_res9.parquet`` | GeoParquet of :func:`hotspot.emerging.emerging_hotspots` on a weekly res-9 cube |
| ``forecast.csv`` | ``h3`` (hex), ``score`` for every res-9 cell of the city for the day after the last event |
| ``part_<name>.json`` | the summary of each part (rows, seconds, what it wrote) |

With ``attempts_dir``, every start of a task leaves a small JSON record there (:func:`attempt`):
``running`` while it runs, then ``ok`` or ``error``. A record still ``running`` after the job is
an attempt whose process died (killed, out of memory): how the scheduler's reruns are reported.
"""
from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

PARTS = ("hotspots9", "hotspots10", "density", "emerging", "forecast")
SEED = 0  # permutation / ranker seed: a rerun gives identical numbers
FORECAST_METHOD = "longrun"  # see docs/national.md: auto costs ~500x and chose longrun
EVENT_COLUMNS = ["occurred_at", "lat", "lon"]  # all the unfiltered statistics use; strings cost 6x the read
TOP_N = 5


def city_dir(out: str | Path, city: str) -> Path:
    """``OUT/cities/<city>``: the folder of a city's outputs."""
    return Path(out) / "cities" / city


def _use_root(root: Path) -> None:
    """Make the dataset's generated cities resolvable by ``get_city`` (shipped ones always are)."""
    from qauipsiz.hotspot.cities import set_user_dir

    if (root / "cities").is_dir():
        set_user_dir(root / "cities")


def load_city_events(root: str | Path, city: str) -> pd.DataFrame:
    """The city's incidents from the dataset (all dates and categories).

    Parameters
    ----------
    root : path
        National dataset / analytic store (``ROOT/_dataset.json``, ``ROOT/incidents/city=…``).
    city : str
        City key.

    Returns
    -------
    DataFrame
        ``occurred_at`` (UTC), ``lat``, ``lon`` (degrees): what the unfiltered per-city statistics use.
    """
    from qauipsiz.hotspot.analytic import read_events

    root = Path(root)
    _use_root(root)
    try:
        df = read_events(root, city, columns=EVENT_COLUMNS)
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError; it names the file
        raise ValueError(f"city {city!r}: its incidents cannot be read: {e}") from e
    if len(df) == 0:
        raise ValueError(f"city {city!r}: no incidents in {root}")
    for col in ("occurred_at", "lat", "lon"):
        if col not in df.columns:
            raise ValueError(f"city {city!r}: the incidents have no {col!r} column")
    return df


def _atomic(path: Path, write) -> None:
    """Write through ``write(tmp_path)`` then rename, so a killed worker leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def write_geoparquet(table: pd.DataFrame, path: Path, params: dict) -> None:
    """A per-cell table as GeoParquet (hexagons, EPSG:4326), ``params`` as schema metadata ``qauipsiz``."""
    import pyarrow.parquet as pq

    from qauipsiz.hotspot.surface import to_geodataframe

    g = to_geodataframe(table)
    g["h3"] = g["h3"].astype("uint64")
    meta = json.dumps(params, ensure_ascii=False, default=str).encode()

    def write(tmp: Path) -> None:
        g.to_parquet(tmp)
        t = pq.read_table(tmp)
        pq.write_table(t.replace_schema_metadata({**(t.schema.metadata or {}), b"qauipsiz": meta}), tmp)

    _atomic(path, write)


def _bandwidth(df: pd.DataFrame, c, cache: dict) -> tuple[float, dict]:
    """The city default radius of all the city's incidents (once per loaded frame: ``cache``)."""
    from qauipsiz.hotspot.bandwidth import city_bandwidth_of, resolve

    if "bandwidth" not in cache:
        cb = city_bandwidth_of(df, c)
        h, source, rule = resolve(None, cb)
        cache["bandwidth"] = h, {"bandwidth_source": source, "bandwidth_rule": rule,
                                 "bandwidth_default": cb.as_dict()}
    return cache["bandwidth"]


def _top_cells(table: pd.DataFrame, n: int = TOP_N) -> list[str]:
    """The ``n`` hottest cells (highest Gi* z among the 99 % hot bins, else the highest counts), hex ids."""
    hot = table[table["gi_bin"] == 3]
    pick = hot.nlargest(n, "gi_z") if len(hot) else table[table["count"] > 0].nlargest(n, "count")
    return [format(int(v), "x") for v in pick["h3"].to_numpy()]


def _hotspots(df: pd.DataFrame, c, folder: Path, res: int, cache: dict) -> dict:
    from qauipsiz.hotspot.surface import hotspot_table

    h, bw = _bandwidth(df, c, cache)
    table = hotspot_table(df, c, res, value="count", bandwidth_m=h, seed=SEED)
    params = {**table.attrs["params"], **bw, "generator": "qauipsiz.hotspot.nightly"}
    params.pop("created_utc", None)
    write_geoparquet(table, folder / f"hotspots_res{res}.parquet", params)
    bins = table["gi_bin"].to_numpy()
    return {"cells": len(table), "binned": params["n_binned"], "hot_99": int((bins == 3).sum()),
            "hot_any": int((bins > 0).sum()), "bandwidth_m": round(h, 3), "inference": params["inference"],
            "permutations": params["permutations"], "top_cells": _top_cells(table)}


def _density(df: pd.DataFrame, c, folder: Path, cache: dict, cell_m: float = 50.0) -> dict:
    from qauipsiz.hotspot.kde import kde_geotiff

    h, _ = _bandwidth(df, c, cache)
    lat = df["lat"].to_numpy(float)
    lon = df["lon"].to_numpy(float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    ok[ok] = c.contains(lat[ok], lon[ok])
    x, y = c.to_metric(lon[ok], lat[ok])
    info: dict = {}

    def write(tmp: Path) -> None:
        info.update(kde_geotiff(tmp, np.column_stack([x, y]), c.epsg, bandwidth_m=h, cell_m=cell_m,
                                bounds=c.boundary_metric.bounds, kernel="quartic"))

    _atomic(folder / "density.tif", write)
    return {"bandwidth_m": round(h, 3), "cell_m": cell_m, "points": int(info["n_points"])}


def _emerging(df: pd.DataFrame, c, folder: Path, res: int = 9, step: str = "week") -> dict:
    from qauipsiz.hotspot.cube import space_time_cube
    from qauipsiz.hotspot.emerging import emerging_hotspots

    cube = space_time_cube(df, c, res, step=step)
    table = emerging_hotspots(cube)
    params = {**table.attrs["params"], "generator": "qauipsiz.hotspot.nightly"}
    params.pop("created_utc", None)  # the run time is in part_emerging.json: the file is a function of the data
    write_geoparquet(table, folder / f"emerging_res{res}.parquet", params)
    pat = table["pattern"].value_counts()
    return {"cells": len(table), "steps": int(cube.shape[1]),
            "patterns": {str(k): int(v) for k, v in pat.items()}}


def forecast_day(df: pd.DataFrame, tz: str) -> str:
    """Tomorrow of the data: the local calendar day after the last incident, ``YYYY-MM-DD``."""
    last = pd.to_datetime(df["occurred_at"], utc=True).max().tz_convert(tz)
    return str((last.normalize() + pd.Timedelta(days=1)).date())


def _forecast(df: pd.DataFrame, c, folder: Path, method: str, res: int = 9) -> dict:
    from qauipsiz.hotspot.binning import fill_city_cells
    from qauipsiz.hotspot.forecast import AutoSelect, day_number, make_forecaster

    day = forecast_day(df, c.tz)
    fc = make_forecaster(method, res=res, tz=c.tz, seed=SEED).fit(df)
    cells = fill_city_cells(c, res)
    d = day_number(day)
    table = pd.DataFrame({"h3": [format(int(v), "x") for v in cells], "score": fc.predict(cells, d)})
    _atomic(folder / "forecast.csv", lambda tmp: table.to_csv(tmp, index=False, float_format="%.17g"))
    ev = fc.events
    out = {"method": method, "day": day, "cells": len(table), "events_before_day": ev.before(d) if ev else 0}
    if isinstance(fc, AutoSelect):
        out["chosen"] = fc.chosen(cells, d)
    return out


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@contextmanager
def attempt(attempts_dir: str | Path | None, city: str, task: str) -> Iterator[None]:
    """Record one start of a task in ``attempts_dir`` (nothing when it is ``None``).

    The record ``<city>.<task>.<pid>.<ns>.json`` holds ``city``, ``task`` (``city`` or a part name),
    ``pid``, ``host``, ``started_utc`` and ``status``: ``running`` from the start, rewritten to
    ``ok`` (with ``finished_utc``) or ``error`` (with ``error``) when the body returns or raises.
    A process that dies mid-task (SIGKILL, out of memory) leaves it ``running``.
    """
    if attempts_dir is None:
        yield
        return
    path = Path(attempts_dir) / f"{city}.{task}.{os.getpid()}.{time.time_ns()}.json"
    rec = {"city": city, "task": task, "pid": os.getpid(), "host": socket.gethostname(),
           "started_utc": _now(), "status": "running"}

    def put() -> None:
        _atomic(path, lambda tmp: tmp.write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8"))

    put()
    try:
        yield
    except BaseException as e:
        rec.update(status="error", error=f"{type(e).__name__}: {e}", finished_utc=_now())
        put()
        raise
    rec.update(status="ok", finished_utc=_now())
    put()


def read_attempts(attempts_dir: str | Path) -> list[dict]:
    """Every attempt record of :func:`attempt` in ``attempts_dir``, oldest start first (``[]`` if none)."""
    d = Path(attempts_dir)
    if not d.is_dir():
        return []
    recs = [json.loads(p.read_text(encoding="utf-8")) for p in d.glob("*.json")]
    return sorted(recs, key=lambda r: (r["started_utc"], r["city"], r["task"]))


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (``getrusage`` ``ru_maxrss``; NaN where absent)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return float("nan")
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)  # KiB on Linux


def run_part(root: str | Path, out: str | Path, city: str, part: str, *,
             forecast_method: str = FORECAST_METHOD, attempts_dir: str | Path | None = None) -> dict:
    """Compute and write one part of one city's nightly outputs.

    Parameters
    ----------
    root : path
        National dataset / analytic store.
    out : path
        Output folder; the part writes into ``OUT/cities/<city>/``.
    city : str
        City key (shipped, or generated in ``ROOT/cities``).
    part : str
        One of :data:`PARTS`.
    forecast_method : str
        Forecaster of the ``forecast`` part (a key of :data:`hotspot.forecast.METHODS`).
    attempts_dir : path, optional
        Record this start of the task there (:func:`attempt`, task name ``part``).

    Returns
    -------
    dict
        ``city``, ``part``, ``events`` (incidents read), ``read_s`` (reading them, s), ``seconds``
        (wall time of the part, reading included, s), ``cpu_s`` (CPU seconds of the process meanwhile),
        ``pid`` (the process that ran it), ``peak_rss_mib`` (its peak resident memory so far, MiB)
        and the part's own figures; also written to
        ``part_<part>.json``.
    """
    if part not in PARTS:
        raise ValueError(f"part {part!r}: use one of {', '.join(PARTS)}")
    with attempt(attempts_dir, city, part):
        t0 = time.perf_counter(), time.process_time()
        df = load_city_events(root, city)
        return _part(df, city, out, part, forecast_method, {}, t0, time.perf_counter() - t0[0])


def _part(df: pd.DataFrame, city: str, out, part: str, forecast_method: str, cache: dict,
          t0: tuple[float, float], read_s: float) -> dict:
    from qauipsiz.hotspot.cities import get_city

    c = get_city(city)
    folder = city_dir(out, city)
    folder.mkdir(parents=True, exist_ok=True)
    if part.startswith("hotspots"):
        info = _hotspots(df, c, folder, int(part.removeprefix("hotspots")), cache)
    elif part == "density":
        info = _density(df, c, folder, cache)
    elif part == "emerging":
        info = _emerging(df, c, folder)
    else:
        info = _forecast(df, c, folder, forecast_method)
    res = {"city": city, "part": part, "events": len(df), **info, "read_s": round(read_s, 3),
           "seconds": round(time.perf_counter() - t0[0], 3), "cpu_s": round(time.process_time() - t0[1], 3),
           "pid": os.getpid(), "peak_rss_mib": peak_rss_mib(),
           "finished_utc": datetime.now(UTC).isoformat(timespec="seconds")}
    _atomic(folder / f"part_{part}.json",
            lambda tmp: tmp.write_text(json.dumps(res, ensure_ascii=False, default=str), encoding="utf-8"))
    return res


def run_city(root: str | Path, out: str | Path, city: str, *, forecast_method: str = FORECAST_METHOD,
             parts=PARTS, attempts_dir: str | Path | None = None) -> list[dict]:
    """Every part of one city in one process, in order (the single-machine run; one Dask task per city).

    The incidents are read once and the city default radius computed once for all the parts (the
    outputs equal :func:`run_part`'s, part by part); the read time counts in the first part. With
    ``attempts_dir`` this start is recorded there (:func:`attempt`, task name ``city``).

    Returns
    -------
    list of dict
        :func:`run_part` summaries, one per part.
    """
    bad = [p for p in parts if p not in PARTS]
    if bad:
        raise ValueError(f"parts: unknown {', '.join(bad)}; use {', '.join(PARTS)}")
    with attempt(attempts_dir, city, "city"):
        t0 = time.perf_counter(), time.process_time()
        df = load_city_events(root, city)
        read_s = time.perf_counter() - t0[0]
        cache: dict = {}
        out_rows = []
        for i, p in enumerate(parts):
            t = t0 if i == 0 else (time.perf_counter(), time.process_time())
            out_rows.append(_part(df, city, out, p, forecast_method, cache, t, read_s if i == 0 else 0.0))
        return out_rows


def city_row(city: str, parts: list[dict], *, status: str = "ok", error: str | None = None) -> dict:
    """One row of the national summary from a city's part summaries.

    ``seconds`` is the sum of the parts' wall times (s), ``cells`` the res-9 cell count,
    ``top_cells`` the res-9 hottest cells (hex, ``;``-joined).
    """
    by = {p["part"]: p for p in parts}
    h9 = by.get("hotspots9", {})
    fc = by.get("forecast", {})
    method = fc.get("method")
    if method and fc.get("chosen"):
        method = f"{method} ({fc['chosen']})"
    events = max((p.get("events", 0) for p in parts), default=0)
    return {"city": city, "events": int(events), "cells": h9.get("cells"), "hot_99": h9.get("hot_99"),
            "top_cells": ";".join(h9.get("top_cells", [])), "forecast_method": method,
            "forecast_day": fc.get("day"), "seconds": round(sum(p.get("seconds", 0.0) for p in parts), 3),
            "parts_done": len(parts), "status": status, "error": error}
