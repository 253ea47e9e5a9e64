"""Incidents: one ingest batch written atomically (incidents, its quarantine rows, the batch log),
incidents read back in the schema, and geocoder results stored."""
from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.engine import Connection

from qauipsiz.api.store import models as m
from qauipsiz.api.store.database import Repository, _now
from qauipsiz.hotspot.schema import INCIDENT_COLUMNS, PRECISION_LEVELS, conform

INCIDENT_STORE_COLUMNS = [*INCIDENT_COLUMNS, "city", "content_hash", "batch_id", "row_number"]
"""Columns written for each incident row (``geom`` is derived from ``lat``/``lon``)."""


@dataclass
class BatchResult:
    """What :meth:`IncidentRepository.write_batch` did: the batch id and the final counts."""

    batch_id: int
    accepted: int
    duplicates: int
    quarantined: int
    new_quarantine_rows: int
    duplicate_mask: np.ndarray


@dataclass
class IngestBatch:
    """One ingest batch to write with :meth:`IncidentRepository.write_batch`.

    Parameters
    ----------
    accepted : DataFrame
        Rows ready for the incidents table: :data:`INCIDENT_STORE_COLUMNS` except ``batch_id``.
        Rows whose ``incident_id`` or ``content_hash`` is already stored become duplicates.
    quarantined : DataFrame
        ``source, file_name, row_number, reason, field, message, raw, candidates`` per row.
        Rows quarantined before (same city, source and raw content) are counted but not re-added.
    meta : dict
        ``file_name, file_sha256, format, mapping, who`` for the ``ingest_batches`` row.
    n_input, file_duplicates, reasons
        Accounting of the whole input: rows read, duplicates within the file, and the count of
        each quarantine reason code.
    resolve_quarantine_ids : dict of int to str, or iterable of int
        Quarantine rows this batch fixes (rows of a quarantine export that now pass), each
        with the source it came back with; an entry is marked ``resolved`` in the same
        transaction only when it belongs to the batch's city and to that source (a bare id: any
        source).
    """

    accepted: pd.DataFrame
    quarantined: pd.DataFrame
    meta: dict
    n_input: int
    file_duplicates: int = 0
    reasons: dict | None = None
    resolve_quarantine_ids: dict[int, str | None] | Iterable[int] = ()


def _point_wkb(x: np.ndarray, y: np.ndarray, srid: int | None = None, hex: bool = False) -> list:
    """Little-endian (E)WKB of points, built with NumPy (no geometry objects); ``x, y`` in degrees."""
    n = len(x)
    fields = [("bo", "u1"), ("t", "<u4")] + ([("srid", "<u4")] if srid else []) + [("x", "<f8"), ("y", "<f8")]
    rec = np.empty(n, dtype=np.dtype(fields))
    rec["bo"] = 1
    rec["t"] = 0x20000001 if srid else 1
    if srid:
        rec["srid"] = srid
    rec["x"], rec["y"] = x, y
    size = rec.dtype.itemsize
    buf = rec.tobytes()
    blobs = [buf[i:i + size] for i in range(0, n * size, size)]
    return [b.hex() for b in blobs] if hex else blobs


class IncidentRepository(Repository):
    """The ``incidents`` table, with the quarantine rows and batch-log entry of each ingest batch."""

    def write_batch(
        self,
        batch: IngestBatch,
        *,
        city: str,
        source: str,
        progress: Callable[[int], None] | None = None,
        chunk_rows: int = 50_000,
    ) -> BatchResult:
        """Write one ingest batch in **one transaction**: all of it, or nothing.

        Parameters
        ----------
        batch : IngestBatch
            Accepted and quarantined rows, file metadata and the input's accounting.
        city, source : str
            City key and data source of every row.
        progress : callable, optional
            Called with the number of incident rows written after each chunk.
        chunk_rows : int
            Incident rows per insert.
        """
        accepted, quarantined, batch_meta = batch.accepted, batch.quarantined, batch.meta
        n_input, file_duplicates, reasons = batch.n_input, batch.file_duplicates, batch.reasons
        resolve_quarantine_ids = batch.resolve_quarantine_ids
        started = _now()
        with self.db.write() as conn:
            bid = conn.execute(m.ingest_batches.insert().values(
                city=city, source=source, started_at=started, status="running", n_input=n_input,
                **{k: batch_meta.get(k) for k in ("file_name", "file_sha256", "format", "who")},
                mapping=json.dumps(batch_meta.get("mapping") or {}, ensure_ascii=False),
            )).inserted_primary_key[0]

            # duplicates against the store
            dup = np.zeros(len(accepted), bool)
            if len(accepted):
                seen_ids = self._existing(conn, "incident_id", accepted["incident_id"])
                seen_hash = self._existing(conn, "content_hash", accepted["content_hash"])
                dup = (accepted["incident_id"].isin(seen_ids) | accepted["content_hash"].isin(seen_hash)).to_numpy()
            new = accepted.loc[~dup].sort_values("incident_id")  # in key order: cheaper B-tree inserts
            new["batch_id"] = bid
            written = 0
            for start in range(0, len(new), chunk_rows):
                part = new.iloc[start:start + chunk_rows]
                self._insert_incidents(conn, part)
                written += len(part)
                if progress:
                    progress(len(part))

            n_newq = 0
            qhashes: list[str] = []
            if len(quarantined):
                q = quarantined.copy()
                q["city"] = city
                q["raw_hash"] = [hashlib.sha1(f"{city}\x1f{s}\x1f{r}".encode()).hexdigest()
                                 for s, r in zip(q["source"], q["raw"], strict=True)]
                q = q.drop_duplicates("raw_hash")
                qhashes = q["raw_hash"].tolist()
                seen = self._existing(conn, "raw_hash", q["raw_hash"], table="quarantine")
                q = q[~q["raw_hash"].isin(seen)]
                if len(q):
                    q["batch_id"] = bid
                    q["status"] = "open"
                    q["created_at"] = started
                    cols = ["city", "source", "file_name", "row_number", "reason", "field", "message", "raw",
                            "raw_hash", "candidates", "batch_id", "status", "created_at"]
                    recs = q[cols].astype(object).where(q[cols].notna(), None).to_dict("records")
                    conn.execute(m.quarantine.insert(), recs)
                n_newq = len(q)

            resolved = 0
            want = dict(resolve_quarantine_ids) if isinstance(resolve_quarantine_ids, dict) else \
                {int(i): None for i in resolve_quarantine_ids}
            ids = []
            if want:  # only entries of this city, from the same source as the original batch
                q_ = m.quarantine.c
                found = conn.execute(m.quarantine.select().with_only_columns(q_.id, q_.source).where(
                    q_.id.in_(list(want)), q_.city == city)).all()
                ids = [i for i, s in found if want[i] is None or want[i] == s]
            if ids and len(quarantined):
                # a row re-quarantined unchanged keeps its open quarantine entry
                same = conn.execute(m.quarantine.select().with_only_columns(m.quarantine.c.id).where(
                    m.quarantine.c.id.in_(ids), m.quarantine.c.raw_hash.in_(qhashes))).scalars().all()
                ids = sorted(set(ids) - set(same))
            if ids:
                resolved = conn.execute(
                    m.quarantine.update().where(m.quarantine.c.id.in_(ids), m.quarantine.c.status == "open")
                    .values(status="resolved", resolved_batch_id=bid)).rowcount

            n_acc = int((~dup).sum())
            n_dup = int(dup.sum()) + int(file_duplicates)
            conn.execute(m.ingest_batches.update().where(m.ingest_batches.c.id == bid).values(
                n_accepted=n_acc, n_duplicates=n_dup, n_quarantined=len(quarantined),
                reasons=json.dumps(reasons or {}, ensure_ascii=False), finished_at=_now(), status="done"))
            if n_acc or n_newq or resolved:
                self.db.bump(conn, city)
        return BatchResult(int(bid), n_acc, n_dup, len(quarantined), n_newq, dup)

    def _existing(self, conn: Connection, col: str, values: pd.Series, table: str = "incidents") -> set:
        """Which of ``values`` are already in ``table.col`` (one query per 50,000 values)."""
        vals = pd.unique(pd.Series(values).dropna().astype(str))
        found: set = set()
        for i in range(0, len(vals), 50_000):
            chunk = vals[i:i + 50_000].tolist()
            if self.db.backend == "postgresql":
                rows = conn.execute(text(f"SELECT {col} FROM {table} WHERE {col} = ANY(:v)"), {"v": chunk})
            else:
                rows = conn.execute(text(f"SELECT {col} FROM {table} WHERE {col} IN "
                                         "(SELECT value FROM json_each(:v))"), {"v": json.dumps(chunk)})
            found.update(r[0] for r in rows)
        return found

    def _incident_arrays(self, df: pd.DataFrame) -> dict[str, list]:
        """Column -> list of Python values ready for the driver (``None`` for missing)."""
        out: dict[str, list] = {}
        for c in INCIDENT_STORE_COLUMNS:
            s = df[c]
            if c in ("occurred_at", "reported_at"):
                t = pd.to_datetime(s, utc=True)
                arr = np.datetime_as_string(t.dt.tz_localize(None).to_numpy("datetime64[us]"), unit="us")
                if self.db.backend == "sqlite":
                    arr = np.char.replace(arr.astype(str), "T", " ")
                else:
                    arr = np.char.add(arr.astype(str), "+00:00")
                vals = arr.astype(object)
                vals[t.isna().to_numpy()] = None
                out[c] = vals.tolist()
            elif c == "h3":
                out[c] = np.asarray(s, dtype=np.uint64).astype(np.int64).tolist()
            elif c in ("harm_weight", "lat", "lon", "geocode_score", "geocode_uncertainty_m"):
                v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                if self.db.backend == "sqlite":  # SQLite stores a bound NaN as NULL
                    out[c] = v.tolist()
                else:
                    o = v.astype(object)
                    o[np.isnan(v)] = None
                    out[c] = o.tolist()
            elif c == "is_dark":
                v = s.astype(object).to_numpy(copy=True)
                na = pd.isna(v)
                o = np.where(na, None, v.astype(bool) if not na.any() else np.where(na, False, v).astype(bool))
                out[c] = o.astype(object).tolist()
            elif c in ("batch_id", "row_number"):
                v = pd.to_numeric(s, errors="coerce").to_numpy().astype(object)
                v[pd.isna(v)] = None
                out[c] = [None if x is None else int(x) for x in v.tolist()]
            else:
                v = s.astype(object).to_numpy(copy=True)
                v[pd.isna(v)] = None
                out[c] = v.tolist()
        return out

    def _insert_incidents(self, conn: Connection, df: pd.DataFrame) -> None:
        if not len(df):
            return
        cols = self._incident_arrays(df)
        lat = pd.to_numeric(df["lat"], errors="coerce").to_numpy(float)
        lon = pd.to_numeric(df["lon"], errors="coerce").to_numpy(float)
        ok = np.isfinite(lat) & np.isfinite(lon)
        pts = np.full(len(df), None, dtype=object)
        names = list(cols)
        if self.db.backend == "postgresql":
            pts[ok] = _point_wkb(lon[ok], lat[ok], srid=4326, hex=True)
            frame = pd.DataFrame(cols)
            frame["geom"] = pts
            buf = io.StringIO()
            frame.to_csv(buf, index=False, header=False, na_rep="")
            buf.seek(0)
            raw = conn.connection.dbapi_connection
            with raw.cursor() as cur:
                cur.copy_expert(f"COPY incidents ({', '.join([*names, 'geom'])}) FROM STDIN WITH (FORMAT csv)", buf)
        else:
            pts[ok] = _point_wkb(lon[ok], lat[ok])
            rows = list(zip(*cols.values(), pts.tolist(), strict=True))
            ph = ", ".join(["?"] * (len(names) + 1))
            conn.exec_driver_sql(f"INSERT INTO incidents ({', '.join([*names, 'geom'])}) VALUES ({ph})", rows)

    def query_incidents(  # noqa: PLR0913 -- keyword-only filters, one WHERE clause each; ~40 callers name them
        self,
        city: str,
        *,
        start=None,
        end=None,
        categories: Iterable[str] | None = None,
        districts: Iterable[str] | None = None,
        sources: Iterable[str] | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        located_only: bool = False,
        min_precision: str | None = None,
        limit: int | None = None,
        extra: bool = False,
    ) -> pd.DataFrame:
        """Incidents of ``city`` as a DataFrame in the schema (``hotspot.schema.INCIDENT_COLUMNS``).

        Parameters
        ----------
        start, end : datetime-like, optional
            Half-open window ``start <= occurred_at < end`` (naive values are taken as UTC).
        categories, districts, sources : iterable of str, optional
            Keep only these taxonomy categories / district keys / sources.
        bbox : (min_lon, min_lat, max_lon, max_lat), optional
            Decimal degrees; implies ``located_only``.
        located_only : bool
            Drop rows without a point (awaiting geocoding).
        min_precision : str, optional
            Keep precision levels at least this good (``PRECISION_LEVELS`` order).
        limit : int, optional
            At most this many rows (ordered by ``occurred_at``).
        extra : bool
            Also return the store columns ``city, batch_id, row_number, content_hash``.
        """
        where, params = ["city = :city"], {"city": city}

        def _in(col, vals, key):
            vals = list(vals)
            keys = [f"{key}{i}" for i in range(len(vals))]
            params.update(dict(zip(keys, vals, strict=True)))
            where.append(f"{col} IN ({', '.join(':' + k for k in keys)})" if vals else "1 = 0")

        if start is not None:
            where.append("occurred_at >= :start")
            params["start"] = self._ts_param(start)
        if end is not None:
            where.append("occurred_at < :end")
            params["end"] = self._ts_param(end)
        if categories is not None:
            _in("category", categories, "cat")
        if districts is not None:
            _in("district", districts, "dist")
        if sources is not None:
            _in("source", sources, "src")
        if min_precision is not None:
            if min_precision not in PRECISION_LEVELS:
                raise ValueError(f"min_precision {min_precision!r}: not one of {PRECISION_LEVELS}")
            _in("geocode_precision", PRECISION_LEVELS[: PRECISION_LEVELS.index(min_precision) + 1], "prec")
        if bbox is not None:
            where.append("lon >= :x0 AND lat >= :y0 AND lon <= :x1 AND lat <= :y1")
            params.update(dict(zip(("x0", "y0", "x1", "y1"), map(float, bbox), strict=True)))
        if located_only or bbox is not None:
            where.append("lat IS NOT NULL AND lon IS NOT NULL")
        cols = list(INCIDENT_COLUMNS) + (["city", "batch_id", "row_number", "content_hash"] if extra else [])
        sql = f"SELECT {', '.join(cols)} FROM incidents WHERE {' AND '.join(where)} ORDER BY occurred_at, incident_id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self.db.engine.connect() as conn:
            rows = conn.execute(text(sql), params).fetchall()
        df = pd.DataFrame.from_records(rows, columns=cols)
        df["h3"] = pd.to_numeric(df["h3"]).fillna(0).astype(np.int64).astype(np.uint64) if len(df) else df["h3"]
        df["is_dark"] = df["is_dark"].map(lambda v: None if v is None else bool(v))
        out = conform(df)
        if extra:
            for c in ("city", "batch_id", "row_number", "content_hash"):
                out[c] = df[c].to_numpy()
        return out.reset_index(drop=True)

    def _ts_param(self, v):
        t = pd.Timestamp(v)
        t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
        if self.db.backend == "sqlite":
            return t.strftime("%Y-%m-%d %H:%M:%S.%f")
        return t.to_pydatetime()

    def count_incidents(self, city: str | None = None) -> int:
        """Number of stored incidents (of one city, or all)."""
        with self.db.engine.connect() as conn:
            if city is None:
                return int(conn.execute(text("SELECT count(*) FROM incidents")).scalar())
            return int(conn.execute(text("SELECT count(*) FROM incidents WHERE city = :c"), {"c": city}).scalar())

    def pending_geocoding(self, city: str) -> pd.DataFrame:
        """Incidents awaiting geocoding (``geocode_precision = 'none'`` with an address): ``incident_id, address_raw``."""
        with self.db.engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT incident_id, address_raw FROM incidents WHERE city = :c AND geocode_precision = 'none' "
                "AND address_raw IS NOT NULL ORDER BY incident_id"), {"c": city}).fetchall()
        return pd.DataFrame.from_records(rows, columns=["incident_id", "address_raw"])

    def update_geocodes(self, city: str, results: pd.DataFrame) -> int:
        """Store geocoder results for incidents awaiting geocoding, in one transaction.

        Parameters
        ----------
        results : DataFrame
            ``incident_id, lat, lon, precision, score, uncertainty_m`` (decimal degrees, 0–100,
            metres).  ``district``, ``h3`` and ``is_dark`` are derived here.  Rows with a NaN
            point or precision ``none`` are skipped.

        Returns
        -------
        int
            Number of incidents updated.
        """
        from qauipsiz.hotspot.cities import get_city
        from qauipsiz.hotspot.points import derive_point_fields

        r = results[np.isfinite(pd.to_numeric(results["lat"], errors="coerce"))
                    & (results["precision"].astype(str) != "none")].copy()
        if not len(r):
            return 0
        with self.db.engine.connect() as conn:
            occ = conn.execute(text("SELECT incident_id, occurred_at FROM incidents WHERE city = :c AND "
                                    "geocode_precision = 'none'"), {"c": city}).fetchall()
        occ = pd.DataFrame.from_records(occ, columns=["incident_id", "occurred_at"])
        r = r.merge(occ, on="incident_id")
        if not len(r):
            return 0
        r["occurred_at"] = pd.to_datetime(r["occurred_at"], utc=True, format="ISO8601")
        d = derive_point_fields(get_city(city), r["lat"].to_numpy(float), r["lon"].to_numpy(float), r["occurred_at"])
        lat, lon = r["lat"].to_numpy(float), r["lon"].to_numpy(float)
        if self.db.backend == "postgresql":
            geom = shapely.to_wkb(shapely.points(lon, lat), hex=True).tolist()
            gsql = "ST_SetSRID(ST_GeomFromWKB(decode(:geom, 'hex')), 4326)"
        else:
            geom = shapely.to_wkb(shapely.points(lon, lat)).tolist()
            gsql = ":geom"
        recs = [dict(zip(("i", "lat", "lon", "p", "s", "u", "d", "h", "k", "geom"), v, strict=True)) for v in zip(
            r["incident_id"], lat.tolist(), lon.tolist(), r["precision"].astype(str), r["score"].astype(float),
            r["uncertainty_m"].astype(float), d["district"].tolist(),
            d["h3"].astype(np.int64).tolist(), d["is_dark"].tolist(), geom, strict=True)]
        with self.db.write() as conn:
            n = conn.execute(text(
                "UPDATE incidents SET lat = :lat, lon = :lon, geocode_precision = :p, geocode_score = :s, "
                f"geocode_uncertainty_m = :u, district = :d, h3 = :h, is_dark = :k, geom = {gsql} "
                "WHERE incident_id = :i AND geocode_precision = 'none'"), recs).rowcount
            if n:
                self.db.bump(conn, city)
        return int(n)
