"""Ingestion: raw rows -> validated incidents + quarantine, written to the store as one atomic batch.

Accounting: every input row ends as exactly one of accepted, duplicate or quarantined (with a
reason code), and ``input == accepted + duplicates + quarantined`` always.
"""
from __future__ import annotations

import getpass
import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from qauipsiz.api.ingest.mapping import load_mapping_file
from qauipsiz.api.ingest.prepare import Geocoder, prepare
from qauipsiz.api.ingest.raw_table import RawTable
from qauipsiz.api.ingest.readers import read_table
from qauipsiz.hotspot.cities import get_city


@dataclass
class IngestReport:
    """Outcome of one ingestion; :meth:`to_json` is what ``qauipsiz ingest --json`` prints."""

    input: int
    accepted: int
    duplicates: int
    quarantined: int
    reasons: dict[str, int]
    batch_id: int | None = None
    city: str = ""
    source: str = ""
    file_name: str | None = None
    format: str = ""
    encoding: str = ""
    sep: str = ""
    mapping: dict = field(default_factory=dict)
    flags: dict[str, int] = field(default_factory=dict)
    awaiting_geocoding: int = 0
    geocoded: int = 0
    date_order: dict[str, str | None] = field(default_factory=dict)
    """Per date field, how its ``a/b/yyyy`` values were read: ``day-first``, ``month-first``,
    ``year-first`` (ISO), ``format`` (the ``date_format`` pattern) or ``None`` (no text dates)."""
    date_order_basis: dict[str, str | None] = field(default_factory=dict)
    """Per date field, what decided ``date_order``: ``values`` (a value such as ``13/01/2024``),
    ``values of '<column>'`` (another date column of the file), ``layout`` (ISO, or an undecided
    dotted ``dd.mm.yyyy`` column read day-first by convention), ``date_format`` or ``None``."""
    date_warnings: list[dict] = field(default_factory=list)
    """Accepted or duplicate rows whose date is flagged (``dst_gap``, ``dst_ambiguous``,
    ``end_of_day_24``): ``{"row", "field", "flag", "value"}``, at most :data:`MAX_DATE_WARNINGS`."""

    def to_json(self) -> dict:
        """``{"input", "accepted", "duplicates", "quarantined", "reasons"}``."""
        return {"input": self.input, "accepted": self.accepted, "duplicates": self.duplicates,
                "quarantined": self.quarantined, "reasons": dict(sorted(self.reasons.items()))}

    def as_dict(self) -> dict:
        """All fields as a plain dict (``--json`` output)."""
        return asdict(self)


def _sinks_from_store(store, city: str) -> np.ndarray | None:
    try:
        ps = store.load_layer(city, "police_stations")
    except Exception:  # a store without the layer simply has no known sinks
        return None
    if not len(ps):
        return None
    c = shapely.centroid(ps.geometry.values)
    return np.c_[shapely.get_y(c), shapely.get_x(c)]


def ingest_table(table: RawTable, *, city: str, store=None, source: str, mapping=None,  # noqa: PLR0913 -- keyword-only options with defaults
                 geocoder: Geocoder | None = None, who: str | None = None, progress: bool = False,
                 file_name: str | None = None) -> IngestReport:
    """Validate a :class:`RawTable` and write it to ``store`` as one atomic batch."""
    from qauipsiz.api.store import IngestBatch, Store

    store = store or Store.from_settings()
    c = get_city(city)
    if isinstance(mapping, (str, Path)):
        mapping = load_mapping_file(mapping)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(table.df), unit="row", desc="validate", leave=False)
    p = prepare(table, c, source=source, mapping=mapping, geocoder=geocoder, sinks=_sinks_from_store(store, c.key),
                file_name=file_name)
    if bar is not None:
        bar.update(len(table.df) - len(p.accepted))
        bar.set_description("write")
    batch = IngestBatch(
        accepted=p.accepted, quarantined=p.quarantined, n_input=p.n_input,
        file_duplicates=p.file_duplicates, reasons=p.reasons, resolve_quarantine_ids=p.resolve_ids,
        meta={"file_name": file_name, "file_sha256": table.sha256, "format": table.format,
              "mapping": p.mapping.columns, "who": who or _whoami()})
    res = store.write_batch(batch, city=c.key, source=source,
                            progress=(bar.update if bar is not None else None))
    if bar is not None:
        bar.close()
    rep = IngestReport(
        input=p.n_input, accepted=res.accepted, duplicates=res.duplicates, quarantined=res.quarantined,
        reasons=p.reasons, batch_id=res.batch_id, city=c.key, source=source, file_name=file_name,
        format=table.format, encoding=table.encoding, sep=table.sep, mapping=p.mapping.columns, flags=p.flags,
        awaiting_geocoding=int(p.awaiting_geocoding - (np.isnan(p.accepted["lat"].to_numpy(float))
                                                       & res.duplicate_mask).sum()),
        geocoded=p.geocoded, date_order=p.date_order, date_order_basis=p.date_order_basis,
        date_warnings=p.date_warnings)
    if rep.input != rep.accepted + rep.duplicates + rep.quarantined:  # pragma: no cover - invariant
        raise AssertionError(f"accounting broken: {rep.to_json()}")
    return rep


def _whoami() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def ingest_file(path: str | Path, *, city: str, store=None, source: str | None = None, mapping=None,  # noqa: PLR0913 -- keyword-only options with defaults
                geocoder: Geocoder | None = None, who: str | None = None, progress: bool = False,
                fmt: str | None = None, sheet: str | int | None = None) -> IngestReport:
    """Ingest one export file (CSV, XLSX, GeoJSON, GeoPackage or Parquet) into the store.

    Parameters
    ----------
    path : path
        The file; its format comes from the extension unless ``fmt`` is given.
    city : str
        City registry key (time zone, boundary, districts).
    store : Store, optional
        Defaults to :meth:`qauipsiz.api.store.Store.from_settings`.
    source : str, optional
        Register name (``erdr``, ``102``, ``koap``…); default: the file name without extension.
        A ``source`` column in the file overrides it per row.
    mapping : path or dict, optional
        Mapping-file override (see :func:`api.ingest.mapping.load_mapping_file`).
    geocoder : callable, optional
        The geocoding hook (:data:`Geocoder`); without it, address-only rows are stored as awaiting
        geocoding (``geocode_precision = 'none'``, NaN point).
    who : str, optional
        Recorded in the batch log (default: the OS user).
    progress : bool
        Show a tqdm progress bar on stderr.
    fmt : str, optional
        Format, when the extension does not say it.
    sheet : str or int, optional
        XLSX sheet name or 0-based index; default the first sheet holding data.
    """
    p = Path(path)
    table = read_table(p, fmt, sheet)
    return ingest_table(table, city=city, store=store, source=source or p.stem.lower(), mapping=mapping,
                        geocoder=geocoder, who=who, progress=progress, file_name=p.name)


def ingest_dataframe(df: pd.DataFrame, *, city: str, store=None, source: str = "dataframe", mapping=None,  # noqa: PLR0913 -- keyword-only options with defaults
                     geocoder: Geocoder | None = None, who: str | None = None, progress: bool = False,
                     row_numbers=None, file_name: str | None = None) -> IngestReport:
    """Ingest an in-memory table (same rules as :func:`ingest_file`; row numbers start at 1)."""
    rows = np.asarray(row_numbers) if row_numbers is not None else np.arange(len(df)) + 1
    d = df.reset_index(drop=True)
    if isinstance(d, __import__("geopandas").GeoDataFrame):
        g = d.geometry.values
        pts = np.where(shapely.get_type_id(g) == 0, g, shapely.point_on_surface(g))
        d = pd.DataFrame(d.drop(columns=d.geometry.name))
        d["__geom_lat"], d["__geom_lon"] = shapely.get_y(pts), shapely.get_x(pts)
    d = d.astype(object).where(d.notna(), None)
    buf = pd.util.hash_pandas_object(d.astype(str), index=False).to_numpy().tobytes()
    table = RawTable(d, rows, "dataframe", hashlib.sha256(buf).hexdigest())
    return ingest_table(table, city=city, store=store, source=source, mapping=mapping, geocoder=geocoder, who=who,
                        progress=progress, file_name=file_name)
