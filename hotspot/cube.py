"""Space-time cube: incident counts per H3 cell x time step (day, week or month), zero-filled.

The cells are the city's filled study area (:func:`hotspot.binning.fill_city_cells`), the steps
are calendar periods in the city's local time (days; ISO weeks starting on Monday; months), and
the filters are those of :func:`hotspot.surface.hotspot_table` (:func:`hotspot.binning.filter_mask`).
Every (cell, step) bin is present, zeros included.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from qauipsiz.hotspot import binning

STEPS = {"day": "D", "week": "W-SUN", "month": "M"}
"""Time step name -> pandas period frequency (weeks run Monday..Sunday)."""


@dataclass
class SpaceTimeCube:
    """Counts per (cell, time step); ``counts[i, t]`` is cell ``cells[i]`` in step ``times[t]``.

    Attributes
    ----------
    cells : ndarray of uint64, shape (n,)
        H3 cells (the study area, sorted).
    times : DatetimeIndex, shape (T,)
        Local start of each step (naive, in the city's time zone).
    counts : ndarray of int64, shape (n, T)
        Incidents per bin.
    weighted : ndarray of float64, shape (n, T)
        Sum of the weight column (harm weight) per bin.
    step : str
        ``"day"``, ``"week"`` or ``"month"``.
    res : int
        H3 resolution.
    city : str or None
        City key (None for a cube made by hand, e.g. in tests).
    params : dict
        Run parameters (filters, counts, partial first/last step).
    """

    cells: np.ndarray
    times: pd.DatetimeIndex
    counts: np.ndarray
    weighted: np.ndarray
    step: str
    res: int
    city: str | None = None
    params: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        """(cells, steps)."""
        return self.counts.shape

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per bin, columns ``h3`` (uint64), ``time`` (local step start),
        ``step`` (0..T−1), ``count``, ``weighted``; cell-major order."""
        n, t = self.counts.shape
        return pd.DataFrame({
            "h3": np.repeat(self.cells, t),
            "time": np.tile(self.times.to_numpy(), n),
            "step": np.tile(np.arange(t, dtype=np.int32), n),
            "count": self.counts.ravel(),
            "weighted": self.weighted.ravel(),
        })

    def to_xarray(self):
        """An :class:`xarray.Dataset` with dims ``(h3, time)``, variables ``count`` and
        ``weighted``, coordinates ``h3`` (uint64), ``h3_hex`` and ``time``; params in ``attrs``."""
        import json

        import xarray as xr

        ds = xr.Dataset(
            {"count": (("h3", "time"), self.counts.astype(np.int32)),
             "weighted": (("h3", "time"), self.weighted.astype(np.float64))},
            coords={"h3": self.cells.astype(np.uint64),
                    "h3_hex": ("h3", np.array([format(int(c), "x") for c in self.cells], dtype=str)),
                    "time": self.times.to_numpy()},
        )
        ds.attrs.update(step=self.step, res=int(self.res), city=self.city or "",
                        qauipsiz=json.dumps(self.params, ensure_ascii=False, default=str))
        return ds

    def to_netcdf(self, path: str | Path) -> Path:
        """Write the cube as NetCDF-4 (h5netcdf engine); read it back with :func:`read_cube`."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.to_xarray().to_netcdf(path, engine="h5netcdf")
        return path

    def to_parquet(self, path: str | Path) -> Path:
        """Write the long table (:meth:`to_frame`) as Parquet, params in schema metadata ``qauipsiz``."""
        import json

        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        t = pa.Table.from_pandas(self.to_frame(), preserve_index=False)
        meta = {"step": self.step, "res": int(self.res), "city": self.city or "", **self.params}
        t = t.replace_schema_metadata({**(t.schema.metadata or {}),
                                       b"qauipsiz": json.dumps(meta, ensure_ascii=False, default=str).encode()})
        pq.write_table(t, path)
        return path


def read_cube(path: str | Path) -> SpaceTimeCube:
    """Read a cube written by :meth:`SpaceTimeCube.to_netcdf` or :meth:`SpaceTimeCube.to_parquet`.

    Parameters
    ----------
    path : str or Path
        ``.nc`` (NetCDF) or ``.parquet`` file.

    Returns
    -------
    SpaceTimeCube
    """
    import json

    path = Path(path)
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        t = pq.read_table(path)
        meta = json.loads(t.schema.metadata[b"qauipsiz"])
        df = t.to_pandas()
        cells = np.unique(df["h3"].to_numpy(np.uint64))
        times = pd.DatetimeIndex(np.unique(df["time"].to_numpy()))
        n, nt = len(cells), len(times)
        step, res, city = meta.pop("step"), meta.pop("res"), meta.pop("city") or None
        order = np.lexsort((df["step"].to_numpy(), df["h3"].to_numpy(np.uint64)))
        return SpaceTimeCube(cells, times, df["count"].to_numpy(np.int64)[order].reshape(n, nt),
                             df["weighted"].to_numpy(float)[order].reshape(n, nt), step, int(res), city, meta)
    import xarray as xr

    with xr.open_dataset(path, engine="h5netcdf") as ds:
        ds = ds.load()
    return SpaceTimeCube(ds["h3"].to_numpy().astype(np.uint64), pd.DatetimeIndex(ds["time"].to_numpy()),
                         ds["count"].to_numpy().astype(np.int64), ds["weighted"].to_numpy().astype(float),
                         str(ds.attrs["step"]), int(ds.attrs["res"]), str(ds.attrs["city"]) or None,
                         json.loads(ds.attrs["qauipsiz"]))


def _periods(occurred_at, tz: str, freq: str) -> pd.PeriodIndex:
    from qauipsiz.hotspot.timeutil import to_local

    loc = to_local(occurred_at, tz).dt.tz_localize(None)
    return pd.PeriodIndex(loc, freq=freq)


def _local_naive(ts, tz: str) -> pd.Timestamp:
    t = pd.Timestamp(ts)
    return t.tz_convert(tz).tz_localize(None) if t.tzinfo else t


def _span(df: pd.DataFrame, tz: str, freq: str, start, end) -> tuple[pd.Period, pd.Period, dict]:
    """First and last period of the cube and whether they are partial.

    ``start``/``end`` (local, end exclusive) when given; else the time span of all the input
    incidents (before filters), so a filter never shortens the cube.  ``first/last_step_partial``
    is None when the bound comes from the data (the record cannot tell).
    """
    p = None
    if start is None or end is None:
        occ = (pd.to_datetime(df["occurred_at"], utc=True).dropna() if "occurred_at" in df.columns
               else pd.Series([], dtype="datetime64[ns, UTC]"))
        if len(occ) == 0:
            raise ValueError("space-time cube: no incident times and no start/end to span")
        p = _periods(occ, tz, freq)
    first_partial = last_partial = None
    if start is not None:
        s = _local_naive(start, tz)
        t0 = pd.Period(s, freq=freq)
        first_partial = bool(s > t0.start_time)
    else:
        assert p is not None
        t0 = p.min()
    if end is not None:
        e = _local_naive(end, tz)
        t1 = pd.Period(e - pd.Timedelta(microseconds=1), freq=freq)
        last_partial = bool(e < (t1 + 1).start_time)
    else:
        assert p is not None
        t1 = p.max()
    if t1 < t0:
        raise ValueError("space-time cube: end is before start")
    return t0, t1, {"first_step_partial": first_partial, "last_step_partial": last_partial,
                    "span": "filters" if start is not None and end is not None else "data"}


def space_time_cube(incidents_df: pd.DataFrame, city, res: int = 9, *, step: str = "week",
                    weight_col: str = "harm_weight", **filters) -> SpaceTimeCube:
    """Bin incidents into H3 cells x time steps over the city's study area, zero-filled.

    Parameters
    ----------
    incidents_df : DataFrame
        Incidents in the schema of :mod:`hotspot.schema` (``occurred_at`` UTC; ``lat``/``lon`` or
        ``h3``; filter columns as used).
    city : str or City
        City key; its filled cells at ``res`` are the study area, its time zone defines the steps.
    res : int
        H3 resolution 7–11.
    step : {"day", "week", "month"}
        Calendar step in local time (weeks start on Monday).
    weight_col : str
        Column summed into ``weighted`` (harm weight); absent: ``weighted`` = ``count``.
    **filters
        :func:`hotspot.binning.filter_mask` filters (``categories, start, end, hours, weekdays,
        dark, place_types``), as in :func:`hotspot.surface.hotspot_table`.  ``start``/``end``
        also bound the cube in time; without them it spans all the input incidents' steps.

    Returns
    -------
    SpaceTimeCube
        ``params`` holds the filters, ``n_input``, ``n_filtered``, ``n_binned``, ``n_outside``
        (no cell in the study area or no time) and whether the first/last step is partial.
    """
    c = binning._city(city)
    res = binning._check_res(res)
    if step not in STEPS:
        raise ValueError(f"step={step!r}: use one of {', '.join(STEPS)}")
    freq = STEPS[step]
    cells = binning.fill_city_cells(c, res)
    t0, t1, partial = _span(incidents_df, c.tz, freq, filters.get("start"), filters.get("end"))
    nt = t1.ordinal - t0.ordinal + 1
    active = {k: v for k, v in filters.items() if v is not None}
    df = incidents_df[binning.filter_mask(incidents_df, c, **active)] if active else incidents_df
    _, pos = binning.assign_cells(binning.incident_cells(df, res), cells)
    occ = pd.to_datetime(df["occurred_at"], utc=True)
    has_t = occ.notna().to_numpy()
    tix = np.full(len(df), -1, np.int64)
    if has_t.any():
        tix[has_t] = _periods(occ[has_t], c.tz, freq).asi8 - t0.ordinal
    keep = (pos >= 0) & (tix >= 0) & (tix < nt)
    flat = pos[keep] * nt + tix[keep]
    n = len(cells)
    counts = np.bincount(flat, minlength=n * nt).reshape(n, nt).astype(np.int64)
    if weight_col in df.columns:
        w = np.nan_to_num(df[weight_col].to_numpy(float), nan=0.0)[keep]
    else:
        w = np.ones(int(keep.sum()))
    weighted = np.bincount(flat, weights=w, minlength=n * nt).reshape(n, nt)
    times = pd.period_range(t0, t1, freq=freq).to_timestamp(how="start")
    params = {
        "generator": "qauipsiz.hotspot.cube.space_time_cube", "city": c.key, "res": res, "step": step,
        "tz": c.tz, "n_cells": n, "n_steps": int(nt), "first_step": str(times[0].date()),
        "last_step": str(times[-1].date()), **partial,
        "filters": {k: _jsonable(v) for k, v in active.items()},
        "n_input": len(incidents_df), "n_filtered": len(df), "n_binned": int(keep.sum()),
        "n_outside": int((~keep).sum()), "weight_col": weight_col,
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return SpaceTimeCube(np.asarray(cells, np.uint64), pd.DatetimeIndex(times), counts, weighted, step, res,
                         c.key, params)


def _jsonable(v):
    if isinstance(v, list | tuple | set | frozenset):
        return sorted(str(x) for x in v) if isinstance(v, set | frozenset) else [str(x) for x in v]
    if isinstance(v, bool | int | float | str) or v is None:
        return v
    return str(v)
