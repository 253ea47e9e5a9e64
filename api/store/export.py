"""Exports of incidents and quarantine rows: GeoPackage, GeoJSON, CSV and XLSX (formula-safe), Parquet."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

EXPORT_FORMATS = ("gpkg", "geojson", "csv", "parquet")
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection)."""


def neutralise_formulas(values: pd.Series) -> pd.Series:
    """Prefix text cells that start with ``= + - @``, tab or carriage return with ``'``.

    Only text cells change; numbers stay numbers.  ``api.ingest`` strips the ``'`` again when
    such a file is re-ingested, so a quarantine export survives the round trip.
    """
    s = values.astype(object)
    is_str = s.map(lambda v: isinstance(v, str)).to_numpy(bool)
    if not is_str.any():
        return values
    st = s[is_str]
    risky = st.str[:1].isin(FORMULA_TRIGGERS).to_numpy(bool)
    if not risky.any():
        return values
    out = s.copy()
    idx = st.index[risky]
    out[idx] = "'" + st[risky]
    return out


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`neutralise_formulas` on every text column of ``df`` (a copy)."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = neutralise_formulas(out[c])
    out.columns = [("'" + c) if isinstance(c, str) and c[:1] in FORMULA_TRIGGERS else c for c in out.columns]
    return out


def write_csv_safe(df: pd.DataFrame, path: str | Path, *, sep: str = ";", bom: bool = True,
                   decimal: str = ".") -> Path:
    """Write ``df`` as CSV for spreadsheets: formula injection neutralised, UTF-8 (with BOM by default).

    The one CSV writer of the CLI and the service (see :func:`csv_text_safe` for a response body).
    """
    p = Path(path)
    p.write_text(csv_text_safe(df, sep=sep, decimal=decimal), encoding="utf-8-sig" if bom else "utf-8", newline="")
    return p


def csv_text_safe(df: pd.DataFrame, *, sep: str = ",", decimal: str = ".") -> str:
    """``df`` as CSV text with formula injection neutralised (:func:`neutralise_frame`).

    CRLF record ends (RFC 4180), so fields holding a CR or LF are quoted by the csv writer.
    """
    return neutralise_frame(df).to_csv(sep=sep, index=False, decimal=decimal, lineterminator="\r\n")


def incidents_frame_for_export(df: pd.DataFrame, tz: str | None) -> pd.DataFrame:
    """Incidents ready for a file: ``h3`` as hex text, times in ``tz`` (ISO 8601 with offset) or UTC."""
    out = df.copy()
    out["h3"] = [format(int(v), "x") if int(v) else None for v in np.asarray(out["h3"], dtype=np.uint64)]
    for c in ("occurred_at", "reported_at"):
        t = pd.to_datetime(out[c], utc=True)
        if tz:
            t = t.dt.tz_convert(tz)
        out[c] = t.map(lambda v: v.isoformat() if pd.notna(v) else None).astype(object)
    out["is_dark"] = out["is_dark"].astype(object).where(out["is_dark"].notna(), None)
    return out


def export_incidents(df: pd.DataFrame, path: str | Path, fmt: str | None = None, *, tz: str | None = None,
                     sep: str = ";", bom: bool = True) -> Path:
    """Write incidents (a ``Store.query_incidents`` frame) to ``path``.

    Parameters
    ----------
    fmt : str
        ``gpkg``, ``geojson``, ``csv`` or ``parquet``; default from the extension.
    tz : str, optional
        IANA zone for the time columns (e.g. the city's); default UTC.  GeoPackage and Parquet keep
        real timestamps; GeoJSON and CSV write ISO 8601 text with the offset.
    sep, bom : CSV separator and UTF-8 BOM (Excel in a Russian locale expects ``;`` and a BOM).
    """
    p = Path(path)
    fmt = (fmt or p.suffix.lstrip(".")).lower()
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    p.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        return write_csv_safe(incidents_frame_for_export(df, tz), p, sep=sep, bom=bom)
    if fmt == "parquet":
        out = df.copy()
        if tz:
            for c in ("occurred_at", "reported_at"):
                out[c] = pd.to_datetime(out[c], utc=True).dt.tz_convert(tz)
        out.to_parquet(p, index=False)
        return p
    lat = pd.to_numeric(df["lat"], errors="coerce").to_numpy(float)
    lon = pd.to_numeric(df["lon"], errors="coerce").to_numpy(float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    geom = np.full(len(df), None, dtype=object)
    geom[ok] = shapely.points(lon[ok], lat[ok])
    out = incidents_frame_for_export(df, tz) if fmt == "geojson" else df.copy()
    if fmt == "gpkg":
        out["h3"] = [format(int(v), "x") if int(v) else None for v in np.asarray(out["h3"], dtype=np.uint64)]
        if tz:
            for c in ("occurred_at", "reported_at"):
                out[c] = pd.to_datetime(out[c], utc=True).dt.tz_convert(tz)
        for c in out.columns:
            if pd.api.types.is_string_dtype(out[c]) or str(out[c].dtype) == "boolean":
                out[c] = out[c].astype(object).where(out[c].notna(), None)
    gdf = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geom, crs=4326), crs=4326)
    if p.exists():
        p.unlink()
    gdf.to_file(p, driver="GPKG" if fmt == "gpkg" else "GeoJSON", **({"layer": "incidents"} if fmt == "gpkg" else {}))
    return p


XLSX_MAX_CELL = 32_767
"""Excel's limit on the characters of one cell."""


def plain_value(v):
    """One cell as a plain Python value for JSON or a spreadsheet: ``None`` for a missing value
    (None, NaN, ``pd.NA``, ``NaT``), float / int / bool for NumPy scalars, ISO 8601 text for times;
    anything else unchanged."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float | np.floating):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, pd.Timestamp | np.datetime64):
        t = pd.Timestamp(v)
        return None if pd.isna(t) else t.isoformat()
    return v


def _xlsx_value(v):
    v = plain_value(v)
    if v is None or isinstance(v, float):
        return v
    if isinstance(v, str):
        return v if len(v) <= XLSX_MAX_CELL else v[:XLSX_MAX_CELL - 1] + "…"
    if isinstance(v, bool | int):
        return v
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def write_xlsx_safe(sheets: dict[str, pd.DataFrame] | pd.DataFrame, path, *,
                    notes: dict[str, object] | None = None):
    """Write one or more frames as an XLSX workbook (openpyxl), formula injection neutralised.

    The XLSX counterpart of :func:`write_csv_safe`: text cells go through :func:`neutralise_frame`
    (a leading ``= + - @``, tab or CR gets ``'``) and every text cell is written as a string, never
    a formula; numbers stay numbers, times become ISO 8601 text.  ``notes`` (key → value) go to a
    last sheet ``about``.  ``path`` may be a path or a binary file object.
    """
    from openpyxl import Workbook
    from openpyxl.cell.cell import TYPE_STRING

    if isinstance(sheets, pd.DataFrame):
        sheets = {"data": sheets}
    wb = Workbook(write_only=True)

    def rows_of(df: pd.DataFrame):
        safe = neutralise_frame(df)
        yield [str(c) for c in safe.columns]
        cols = [safe[c].to_numpy(dtype=object) for c in safe.columns]
        for i in range(len(safe)):
            yield [_xlsx_value(a[i]) for a in cols]

    def add(name: str, rows):
        ws = wb.create_sheet(title=name[:31])
        from openpyxl.cell import WriteOnlyCell
        for row in rows:
            out = []
            for v in row:
                if isinstance(v, str):
                    if v[:1] in FORMULA_TRIGGERS:  # a header or value the frame pass did not see
                        v = "'" + v
                    c = WriteOnlyCell(ws, value=None)
                    c.value = v
                    c.data_type = TYPE_STRING  # never a formula
                    out.append(c)
                else:
                    out.append(v)
            ws.append(out)

    for name, df in sheets.items():
        add(name, rows_of(df))
    if notes:
        add("about", [["key", "value"]] + [[str(k), _xlsx_value(v) if not isinstance(v, dict | list)
                                            else str(v)] for k, v in notes.items()])
    if isinstance(path, str | Path):
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        wb.save(p)
        return p
    wb.save(path)
    return path
