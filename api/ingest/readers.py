"""Readers: CSV (UTF-8 / UTF-8-BOM / cp1251, ``;`` or ``,``), XLSX, GeoJSON, GeoPackage, Parquet.

Every reader returns a :class:`RawTable`: the rows as read (values untouched, text where the
format is text), their row numbers in the source, and facts about the file (format, encoding,
separator, sha256).  Nothing is dropped: a line the CSV parser cannot split becomes a row with a
``_malformed`` marker so validation can quarantine it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from qauipsiz.api.ingest.csv_read import _dedupe_header, _unescape_quarantine_export, read_csv
from qauipsiz.api.ingest.limits import check_columns, check_zip, reader_errors
from qauipsiz.api.ingest.raw_table import RawTable
from qauipsiz.hotspot.paths import sha256_file

FORMATS = ("csv", "xlsx", "geojson", "gpkg", "parquet")


def detect_format(path: str | Path) -> str:
    """File format from the extension: one of :data:`FORMATS`."""
    ext = Path(path).suffix.lower()
    fmt = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx", ".geojson": "geojson",
           ".json": "geojson", ".gpkg": "gpkg", ".parquet": "parquet", ".pq": "parquet"}.get(ext)
    if fmt is None:
        raise ValueError(f"{path}: unknown file type {ext!r}; supported: csv, xlsx, geojson, gpkg, parquet")
    return fmt


def read_xlsx(path: str | Path, sheet: str | int | None = None) -> RawTable:
    """Read one sheet of an Excel workbook; cells keep their Excel types (dates as datetimes,
    numbers as floats).

    ``sheet`` is a sheet name or 0-based index; by default the first sheet holding data.  Title
    rows above the header (a report heading in one cell) are skipped: the header is the first row
    filled at least 60 % as wide as the widest of the first 30 rows.  Row numbers are Excel's.
    """
    import openpyxl

    p = Path(path)
    check_zip(p)
    wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    try:
        names = wb.sheetnames
        if sheet is None:
            order = names
        elif isinstance(sheet, int) or str(sheet).isdigit():
            i = int(sheet)
            if not 0 <= i < len(names):
                raise ValueError(f"{p.name}: no sheet {i}; sheets: {', '.join(names)}")
            order = [names[i]]
        elif sheet in names:
            order = [sheet]
        else:
            raise ValueError(f"{p.name}: no sheet {sheet!r}; sheets: {', '.join(names)}")
        for name in order:
            ws = wb[name]
            check_columns(ws.max_column or 0, f"{p.name} sheet {name!r}")
            grid = [r for r in ws.iter_rows(values_only=True)]
            if any(v is not None and str(v).strip() != "" for r in grid for v in r):
                return _sheet_table(grid, p, name)
    finally:
        wb.close()
    raise ValueError(f"{p.name}: no data in sheet(s) {', '.join(order)}" +
                     (f"; choose another with --sheet (sheets: {', '.join(names)})" if sheet is not None else ""))


def _sheet_table(grid: list[tuple], p: Path, sheet: str) -> RawTable:
    width = max((len(r) for r in grid), default=0)
    filled = [sum(v is not None and str(v).strip() != "" for v in r) for r in grid[:30]]
    need = max(2, int(np.ceil(0.6 * max(filled))))
    h = next(i for i, f in enumerate(filled) if f >= need) if max(filled) >= 2 else \
        next(i for i, f in enumerate(filled) if f)
    header = [str(v).strip() if v is not None and str(v).strip() else f"Unnamed: {j}"
              for j, v in enumerate(list(grid[h]) + [None] * (width - len(grid[h])))]
    body = [list(r) + [None] * (width - len(r)) for r in grid[h + 1:]]
    df = pd.DataFrame(body, columns=_dedupe_header(header), dtype=object)
    # columns with neither a header nor a value are the sheet's empty margin
    df = df.loc[:, [not (c.startswith("Unnamed: ") and df[c].isna().all()) for c in df.columns]]
    df = df.map(lambda v: None if isinstance(v, str) and not v.strip() else v)
    blank = df.isna().all(axis=1).to_numpy()
    rows = np.arange(len(df)) + h + 2
    if blank.any():
        last = len(blank)
        while last and blank[last - 1]:
            last -= 1
        df, rows = df.iloc[:last], rows[:last]
    df = df.astype(object).where(df.notna(), None)
    _unescape_quarantine_export(df)
    return RawTable(df.reset_index(drop=True), rows, "xlsx", sha256_file(p), info={"sheet": sheet, "header_row": h + 1})


def read_vector(path: str | Path, fmt: str) -> RawTable:
    """Read GeoJSON / GeoPackage features; point geometries become ``__geom_lat``/``__geom_lon``
    (other geometry types use their representative point)."""
    import geopandas as gpd

    gdf = gpd.read_file(path)
    if gdf.empty:
        raise ValueError(f"{Path(path).name}: no features")
    return _vector_table(gdf, fmt, path)


def _vector_table(gdf, fmt: str, path) -> RawTable:
    """Attribute columns plus each feature's point (its representative point when not a point;
    NaN for an empty or missing geometry), rows numbered from 1."""
    import shapely

    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    geom = gdf.geometry.values
    ok = ~(shapely.is_missing(geom) | shapely.is_empty(geom))
    lat, lon = np.full(len(geom), np.nan), np.full(len(geom), np.nan)
    g = geom[ok]
    pts = np.where(shapely.get_type_id(g) == 0, g, shapely.point_on_surface(g))
    lat[ok], lon[ok] = shapely.get_y(pts), shapely.get_x(pts)
    df = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    df = df.astype(object).where(df.notna(), None)
    df["__geom_lat"] = lat
    df["__geom_lon"] = lon
    return RawTable(df.reset_index(drop=True), np.arange(len(df)) + 1, fmt, sha256_file(path))


def read_parquet(path: str | Path) -> RawTable:
    """Read a Parquet table (a GeoParquet ``geometry`` column is read like a vector format's)."""
    import pyarrow.parquet as pq

    meta = pq.read_metadata(path).metadata or {}
    if b"geo" in meta:
        t = read_vector_parquet(path)
        return t
    df = pd.read_parquet(path)
    df = df.astype(object).where(df.notna(), None)
    return RawTable(df.reset_index(drop=True), np.arange(len(df)) + 1, "parquet", sha256_file(path))


def read_vector_parquet(path) -> RawTable:
    """Read a GeoParquet file: attribute columns plus point coordinates (rows numbered from 1)."""
    import geopandas as gpd

    return _vector_table(gpd.read_parquet(path), "parquet", path)


def read_table(path: str | Path, fmt: str | None = None, sheet: str | int | None = None) -> RawTable:
    """Read any supported file (format from the extension unless ``fmt`` is given).

    ``sheet`` chooses an XLSX sheet (name or 0-based index); default the first sheet holding data.
    Any failure is a ``ValueError`` naming the file and the reason; tables wider than
    :data:`api.ingest.limits.MAX_COLUMNS` are refused.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: no such file")
    fmt = fmt or detect_format(p)
    if fmt not in FORMATS:
        raise ValueError(f"{p}: unsupported format {fmt!r}; supported: {', '.join(FORMATS)}")
    with reader_errors(p, fmt):
        if fmt == "csv":
            t = read_csv(p)
        elif fmt == "xlsx":
            t = read_xlsx(p, sheet)
        elif fmt == "parquet":
            t = read_parquet(p)
        else:
            t = read_vector(p, fmt)
    check_columns(t.df.shape[1], p.name)
    return t
