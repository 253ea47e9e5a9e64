"""The analytic store: incidents as GeoParquet partitioned by city and month, and its reader.

Layout of a national dataset or analytic store (``qauipsiz national demo``, ``qauipsiz export
parquet``)::

    ROOT/_dataset.json                        {"synthetic", "notice", "seed", "events", "cities", "created"}
    ROOT/cities/<key>/...                     user-city folders (``hotspot.cities.set_user_dir(ROOT / "cities")``)
    ROOT/incidents/city=<key>/month=<YYYY-MM>/part-<n>.parquet

Each Parquet file holds the columns of :data:`COLUMNS` (``occurred_at`` as timestamp[us, UTC],
``geometry`` as WKB points in EPSG:4326 with GeoParquet ``geo`` metadata).  The month partition is
the **UTC** month of ``occurred_at``, so a UTC date filter maps onto whole partition folders.
"""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

COLUMNS: dict[str, pa.DataType] = {
    "incident_id": pa.string(),
    "occurred_at": pa.timestamp("us", tz="UTC"),
    "category": pa.string(),
    "lat": pa.float64(),
    "lon": pa.float64(),
    "district": pa.string(),
    "is_dark": pa.bool_(),
    "hour_local": pa.int8(),
    "weekday_local": pa.int8(),
    "geometry": pa.binary(),
}
"""Column name → Arrow type of every incident file."""

SCHEMA = pa.schema(list(COLUMNS.items()))
DATASET_FILE = "_dataset.json"
_MONTH_RE = re.compile(r"^month=(\d{4})-(\d{2})$")
_CITY_RE = re.compile(r"^city=([a-z][a-z0-9_-]{0,31})$")


# ---------------------------------------------------------------------------- writing
def points_wkb(lon: np.ndarray, lat: np.ndarray) -> pa.Array:
    """Little-endian WKB points (21 bytes each) as an Arrow binary array, built without Python loops.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        Decimal degrees, WGS84 (x = longitude, y = latitude, the GeoParquet/EPSG:4326 axis order
        used by WKB).
    """
    n = len(lon)
    rec = np.zeros(n, dtype=[("bo", "u1"), ("t", "<u4"), ("x", "<f8"), ("y", "<f8")])
    rec["bo"] = 1
    rec["t"] = 1
    rec["x"] = lon
    rec["y"] = lat
    offsets = pa.array(np.arange(0, 21 * n + 1, 21, dtype=np.int32))
    return pa.BinaryArray.from_buffers(pa.binary(), n, [None, offsets.buffers()[1], pa.py_buffer(rec.tobytes())])


def _geo_metadata(lon: np.ndarray, lat: np.ndarray) -> bytes:
    from pyproj import CRS

    bbox = ([float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))] if len(lon)
            else [0.0, 0.0, 0.0, 0.0])
    return json.dumps({
        "version": "1.0.0", "primary_column": "geometry",
        "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Point"],
                                 "crs": CRS.from_epsg(4326).to_json_dict(), "bbox": bbox}},
    }).encode()


def to_table(df: pd.DataFrame, notice: str | dict | None = None, synthetic: bool = False) -> pa.Table:
    """Incidents (the columns of :data:`COLUMNS` except ``geometry``) → Arrow table with WKB geometry
    and GeoParquet ``geo`` metadata (plus ``qauipsiz`` metadata: ``synthetic`` and ``notice``).

    Raises
    ------
    ValueError
        A missing column, or a row without coordinates (named by its ``incident_id``).
    """
    missing = [c for c in COLUMNS if c != "geometry" and c not in df.columns]
    if missing:
        raise ValueError(f"incidents: missing column(s) {', '.join(missing)}")
    lat = df["lat"].to_numpy(float)
    lon = df["lon"].to_numpy(float)
    bad = ~(np.isfinite(lat) & np.isfinite(lon))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"incident {df['incident_id'].iloc[i]!r} (row {i}): lat/lon missing; "
                         "the analytic store holds located incidents only")
    occ = pd.to_datetime(df["occurred_at"], utc=True)
    arrays = {
        "incident_id": pa.array(df["incident_id"].astype(str).to_numpy(object), pa.string()),
        "occurred_at": pa.array(occ.dt.as_unit("us").array, pa.timestamp("us", tz="UTC")),
        "category": pa.array(df["category"].astype(object).to_numpy(object), pa.string()),
        "lat": pa.array(lat), "lon": pa.array(lon),
        "district": pa.array(df["district"].astype(object).where(df["district"].notna(), None).to_numpy(object),
                             pa.string()),
        "is_dark": pa.array(df["is_dark"].fillna(False).to_numpy(bool)),
        "hour_local": pa.array(df["hour_local"].to_numpy(np.int8)),
        "weekday_local": pa.array(df["weekday_local"].to_numpy(np.int8)),
        "geometry": points_wkb(lon, lat),
    }
    t = pa.table(arrays, schema=SCHEMA)
    meta = {b"geo": _geo_metadata(lon, lat),
            b"qauipsiz": json.dumps({"synthetic": bool(synthetic), "notice": notice}, ensure_ascii=False).encode()}
    return t.replace_schema_metadata(meta)


def write_city(root: str | Path, city: str, df: pd.DataFrame, *, synthetic: bool = False,
               notice: str | dict | None = None, part: int = 0, compression: str = "snappy") -> int:
    """Write one city's incidents into ``ROOT/incidents/city=<city>/month=<YYYY-MM>/part-<part>.parquet``.

    Rows are sorted by ``occurred_at`` and split by UTC month; existing files of the same part
    number are replaced.  Returns the number of files written.

    Parameters
    ----------
    root : path
        Dataset root.
    city : str
        City registry key.
    df : DataFrame
        Incidents with the columns of :data:`COLUMNS` except ``geometry`` (built from ``lon``/``lat``).
    synthetic, notice
        Written into each file's ``qauipsiz`` metadata.
    part : int
        Part number, for writers that append several batches of one city.
    """
    if not _CITY_RE.match(f"city={city}"):
        raise ValueError(f"city key {city!r}: not a registry key")
    occ = pd.to_datetime(df["occurred_at"], utc=True)
    order = np.argsort(occ.to_numpy(), kind="stable")
    df = df.iloc[order]
    occ = occ.iloc[order]
    table = to_table(df, notice, synthetic)
    month = occ.dt.strftime("%Y-%m").to_numpy(object) if len(df) else np.array([], object)
    cuts = np.flatnonzero(month[1:] != month[:-1]) + 1 if len(month) else np.array([], int)
    starts = np.r_[0, cuts] if len(month) else np.array([], int)
    ends = np.r_[cuts, len(month)] if len(month) else np.array([], int)
    base = Path(root) / "incidents" / f"city={city}"
    for a, b in zip(starts, ends, strict=True):
        folder = base / f"month={month[a]}"
        folder.mkdir(parents=True, exist_ok=True)
        sl = table.slice(int(a), int(b - a))
        lon = df["lon"].to_numpy(float)[a:b]
        lat = df["lat"].to_numpy(float)[a:b]
        sl = sl.replace_schema_metadata({**table.schema.metadata, b"geo": _geo_metadata(lon, lat)})
        pq.write_table(sl, folder / f"part-{part}.parquet", compression=compression)
    return len(starts)


def write_manifest(root: str | Path, *, synthetic: bool, notice, seed, events: int, cities: list[str],
                   **extra) -> dict:
    """Write ``ROOT/_dataset.json`` and return it (``created`` is the UTC time now)."""
    meta = {"synthetic": bool(synthetic), "notice": notice, "seed": seed, "events": int(events),
            "cities": list(cities), "created": datetime.now(UTC).isoformat(timespec="seconds"), **extra}
    Path(root).mkdir(parents=True, exist_ok=True)
    (Path(root) / DATASET_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1, default=str),
                                           encoding="utf-8")
    return meta


# ---------------------------------------------------------------------------- reading
def read_manifest(root: str | Path) -> dict:
    """``ROOT/_dataset.json`` as a dict; ``ValueError`` when the folder is not a dataset."""
    p = Path(root) / DATASET_FILE
    if not p.exists():
        raise ValueError(f"{str(root)!r}: not a qauipsiz analytic dataset (no {DATASET_FILE})")
    return json.loads(p.read_text(encoding="utf-8"))


def dataset_cities(root: str | Path) -> list[str]:
    """City keys that have incident partitions under ``ROOT/incidents`` (sorted)."""
    base = Path(root) / "incidents"
    if not base.is_dir():
        read_manifest(root)  # a clear error for a folder that is no dataset at all
        return []
    return sorted(m.group(1) for p in base.iterdir() if p.is_dir() and (m := _CITY_RE.match(p.name)))


def _utc(value, what: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        t = pd.Timestamp(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what}={value!r}: not a date or timestamp") from e
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def month_files(root: str | Path, city: str, start=None, end=None) -> list[Path]:
    """Parquet files of ``city`` whose UTC month overlaps ``[start, end)`` (partition pruning).

    Parameters
    ----------
    root : path
    city : str
    start, end : timestamp or ISO string, optional
        UTC (naive values are taken as UTC); ``end`` is exclusive.
    """
    s, e = _utc(start, "start"), _utc(end, "end")
    base = Path(root) / "incidents" / f"city={city}"
    if not base.is_dir():
        known = dataset_cities(root)
        raise ValueError(f"city {city!r}: not in the dataset {str(root)!r} (has {', '.join(known) or 'none'})")
    out = []
    for p in sorted(base.iterdir()):
        m = _MONTH_RE.match(p.name)
        if not m:
            continue
        m0 = pd.Timestamp(int(m.group(1)), int(m.group(2)), 1, tz="UTC")
        m1 = m0 + pd.offsets.MonthBegin(1)
        if (s is not None and m1 <= s) or (e is not None and m0 >= e):
            continue
        out.extend(sorted(p.glob("part-*.parquet")))
    return out


def _hour_list(hours) -> list[int]:
    if isinstance(hours, str) or (isinstance(hours, tuple) and len(hours) == 2):
        from qauipsiz.hotspot.binning import parse_hours

        a, b = parse_hours(hours)
        return [h for h in range(24) if h >= a or h < b] if a > b else list(range(a, b))
    out = sorted({int(h) for h in hours})
    if any(not 0 <= h <= 23 for h in out):
        raise ValueError(f"hours={hours!r}: each hour must be 0..23")
    return out


def read_events(root: str | Path, city: str, *, start=None, end=None, categories=None, hours=None,
                dark: bool | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    """Incidents of one city from the analytic store, filtered, with partition pruning.

    Only the month files overlapping ``[start, end)`` are opened (:func:`month_files`); the other
    filters are pushed down to the Parquet scan (row-group statistics) by ``pyarrow.dataset``.

    Parameters
    ----------
    root : path
        Dataset root (holds ``incidents/``).
    city : str
        City key.
    start, end : timestamp or ISO string, optional
        UTC bounds on ``occurred_at`` (naive values are UTC); ``end`` is exclusive.
    categories : iterable of str, optional
        Taxonomy category keys to keep.
    hours : "START-END", (start, end) or iterable of int, optional
        Local hours: a window such as ``"18-02"`` (wrapping midnight, end exclusive) or a list
        of hours 0..23, matched on ``hour_local``.
    dark : bool, optional
        Keep only dark (True) or only daylight (False) incidents.
    columns : list of str, optional
        Columns to return; default every column of :data:`COLUMNS` except ``geometry`` (WKB).

    Returns
    -------
    DataFrame
        Sorted by ``occurred_at`` within each month file; ``occurred_at`` is tz-aware UTC.
    """
    cols = list(columns) if columns is not None else [c for c in COLUMNS if c != "geometry"]
    unknown = [c for c in cols if c not in COLUMNS]
    if unknown:
        raise ValueError(f"columns: unknown {', '.join(unknown)}; known {', '.join(COLUMNS)}")
    files = month_files(root, city, start, end)
    if not files:
        return pa.table({c: pa.array([], COLUMNS[c]) for c in cols}).to_pandas()
    f = None

    def conj(expr):
        nonlocal f
        f = expr if f is None else f & expr

    s, e = _utc(start, "start"), _utc(end, "end")
    if s is not None:
        conj(pads.field("occurred_at") >= pa.scalar(s.to_pydatetime(), pa.timestamp("us", tz="UTC")))
    if e is not None:
        conj(pads.field("occurred_at") < pa.scalar(e.to_pydatetime(), pa.timestamp("us", tz="UTC")))
    if categories is not None:
        conj(pads.field("category").isin(sorted({str(c) for c in categories})))
    if hours is not None:
        conj(pads.field("hour_local").isin(pa.array(_hour_list(hours), pa.int8())))
    if dark is not None:
        conj(pads.field("is_dark") == bool(dark))
    ds = pads.dataset([str(p) for p in files], schema=SCHEMA, format="parquet")
    return ds.to_table(columns=cols, filter=f).to_pandas()
