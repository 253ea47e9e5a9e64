"""The repository: one :class:`Store` over SQLite (embedded, WAL) or PostgreSQL + PostGIS."""
from __future__ import annotations

import hashlib
import io
import json
import secrets
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine

from qauipsiz.api.store import models as m
from qauipsiz.hotspot.schema import INCIDENT_COLUMNS, PRECISION_LEVELS, conform

INCIDENT_STORE_COLUMNS = [*INCIDENT_COLUMNS, "city", "content_hash", "batch_id", "row_number"]
"""Columns written for each incident row (``geom`` is derived from ``lat``/``lon``)."""

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ApiKey:
    """A verified API key: its id, role and label (the key itself is never stored)."""

    id: int
    role: str
    label: str
    prefix: str


@dataclass
class BatchResult:
    """What :meth:`Store.write_batch` did: the batch id and the final counts."""

    batch_id: int
    accepted: int
    duplicates: int
    quarantined: int
    new_quarantine_rows: int
    duplicate_mask: np.ndarray


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _rec):
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA cache_size=-262144")  # 256 MiB of page cache (a limit, not an allocation)
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


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


class Store:
    """The system of record: incidents, quarantine, ingest batches, city layers, audit log, API keys.

    Parameters
    ----------
    url : str
        Any SQLAlchemy URL: ``sqlite:///PATH`` (embedded; WAL mode, created on first use) or
        ``postgresql+psycopg2://user@host:port/db`` (PostGIS; the ``postgis`` extension is created
        by the first migration when the role may do so).
    migrate : bool
        Bring the schema to the newest migration on open (default ``True``).
    """

    def __init__(self, url: str, *, migrate: bool = True):
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        if url.startswith("sqlite:///"):
            path = url[len("sqlite:///"):]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.engine: Engine = create_engine(url, future=True, pool_pre_ping=not url.startswith("sqlite"))
        self.backend = self.engine.dialect.name
        if self.backend == "sqlite":
            _sqlite_setup(self.engine)
        if migrate:
            self.migrate()

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def from_settings(cls, settings=None, *, migrate: bool = True) -> Store:
        """Open the store named by the settings (``DATABASE_URL``, else SQLite under ``QAUIPSIZ_DATA_DIR``)."""
        if settings is None:
            from qauipsiz.api.settings import get_settings

            settings = get_settings()
        return cls(settings.database_url, migrate=migrate)

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    @contextmanager
    def _write(self) -> Iterable[Connection]:
        """One write transaction, serialised against other writers (SQLite ``BEGIN IMMEDIATE``,
        PostgreSQL transaction-level advisory lock)."""
        with self.engine.connect() as conn:
            if self.backend == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                if self.backend == "postgresql":
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(781245)")
                yield conn

    def migrate(self) -> str:
        """Upgrade the schema to the newest Alembic revision; returns the revision id."""
        from alembic import command
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        head = ScriptDirectory.from_config(cfg).get_current_head()
        with self.engine.connect() as conn:
            schema = None
            if self.backend == "postgresql":  # our own schema only, not another one on the search_path
                schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
            has = self.engine.dialect.has_table(conn, "alembic_version", schema=schema)
            vt = f'"{schema}".alembic_version' if schema else "alembic_version"
            if has and conn.exec_driver_sql(f"SELECT version_num FROM {vt}").scalar() == head:
                return head
        with self._write() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.execute(text("INSERT INTO store_meta (key, value) SELECT 'instance_id', :v WHERE NOT EXISTS "
                              "(SELECT 1 FROM store_meta WHERE key = 'instance_id')"), {"v": uuid.uuid4().hex})
        return head

    # ------------------------------------------------------------------ versions
    def _bump(self, conn: Connection, city: str) -> None:
        now = _now()
        n = conn.execute(text("UPDATE data_versions SET version = version + 1, updated_at = :t WHERE city = :c"),
                         {"t": now, "c": city}).rowcount
        if not n:
            conn.execute(m.data_versions.insert().values(city=city, version=1, updated_at=now))

    def data_version(self, city: str) -> str:
        """An opaque string that changes whenever the city's incidents, quarantine or layers change.

        Use it as a cache key; it is ``"<store instance>-<counter>"``, the counter rising by one
        per committed change.
        """
        with self.engine.connect() as conn:
            inst = conn.execute(text("SELECT value FROM store_meta WHERE key = 'instance_id'")).scalar() or "0"
            v = conn.execute(text("SELECT version FROM data_versions WHERE city = :c"), {"c": city}).scalar() or 0
        return f"{inst[:12]}-{v}"

    # ------------------------------------------------------------------ writing incidents
    def write_batch(
        self,
        *,
        city: str,
        source: str,
        accepted: pd.DataFrame,
        quarantined: pd.DataFrame,
        batch_meta: dict,
        n_input: int,
        file_duplicates: int = 0,
        reasons: dict | None = None,
        resolve_quarantine_ids: Iterable[int] = (),
        progress: Callable[[int], None] | None = None,
        chunk_rows: int = 50_000,
    ) -> BatchResult:
        """Write one ingest batch in **one transaction**: all of it, or nothing.

        Parameters
        ----------
        accepted : DataFrame
            Rows ready for the incidents table: :data:`INCIDENT_STORE_COLUMNS` except ``batch_id``.
            Rows whose ``incident_id`` or ``content_hash`` is already stored become duplicates.
        quarantined : DataFrame
            ``source, file_name, row_number, reason, field, message, raw, candidates`` per row.
            Rows quarantined before (same city, source and raw content) are counted but not re-added.
        batch_meta : dict
            ``file_name, file_sha256, format, mapping, who`` for the ``ingest_batches`` row.
        n_input, file_duplicates, reasons
            Accounting of the whole input; ``reasons`` counts quarantine reason codes.
        resolve_quarantine_ids : iterable of int
            Quarantine rows this batch fixes (re-ingested from a quarantine export); they are
            marked ``resolved`` in the same transaction.
        progress : callable, optional
            Called with the number of incident rows written after each chunk.
        """
        started = _now()
        with self._write() as conn:
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
            ids = [int(i) for i in resolve_quarantine_ids]
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
                n_accepted=n_acc, n_duplicates=n_dup, n_quarantined=int(len(quarantined)),
                reasons=json.dumps(reasons or {}, ensure_ascii=False), finished_at=_now(), status="done"))
            if n_acc or n_newq or resolved:
                self._bump(conn, city)
        return BatchResult(int(bid), n_acc, n_dup, int(len(quarantined)), n_newq, dup)

    def _existing(self, conn: Connection, col: str, values: pd.Series, table: str = "incidents") -> set:
        """Which of ``values`` are already in ``table.col`` (one query per 50,000 values)."""
        vals = pd.unique(pd.Series(values).dropna().astype(str))
        found: set = set()
        for i in range(0, len(vals), 50_000):
            chunk = vals[i:i + 50_000].tolist()
            if self.backend == "postgresql":
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
                if self.backend == "sqlite":
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
                if self.backend == "sqlite":  # SQLite stores a bound NaN as NULL
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
        if self.backend == "postgresql":
            pts[ok] = _point_wkb(lon[ok], lat[ok], srid=4326, hex=True)
            frame = pd.DataFrame(cols)
            frame["geom"] = pts
            buf = io.StringIO()
            frame.to_csv(buf, index=False, header=False, na_rep="")
            buf.seek(0)
            raw = conn.connection.dbapi_connection
            with raw.cursor() as cur:
                cur.copy_expert(f"COPY incidents ({', '.join(names + ['geom'])}) FROM STDIN WITH (FORMAT csv)", buf)
        else:
            pts[ok] = _point_wkb(lon[ok], lat[ok])
            rows = list(zip(*cols.values(), pts.tolist(), strict=True))
            ph = ", ".join(["?"] * (len(names) + 1))
            conn.exec_driver_sql(f"INSERT INTO incidents ({', '.join(names + ['geom'])}) VALUES ({ph})", rows)

    # ------------------------------------------------------------------ reading incidents
    def query_incidents(
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
        with self.engine.connect() as conn:
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
        if self.backend == "sqlite":
            return t.strftime("%Y-%m-%d %H:%M:%S.%f")
        return t.to_pydatetime()

    def count_incidents(self, city: str | None = None) -> int:
        """Number of stored incidents (of one city, or all)."""
        with self.engine.connect() as conn:
            if city is None:
                return int(conn.execute(text("SELECT count(*) FROM incidents")).scalar())
            return int(conn.execute(text("SELECT count(*) FROM incidents WHERE city = :c"), {"c": city}).scalar())

    def pending_geocoding(self, city: str) -> pd.DataFrame:
        """Incidents awaiting geocoding (``geocode_precision = 'none'`` with an address): ``incident_id, address_raw``."""
        with self.engine.connect() as conn:
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
        with self.engine.connect() as conn:
            occ = conn.execute(text("SELECT incident_id, occurred_at FROM incidents WHERE city = :c AND "
                                    "geocode_precision = 'none'"), {"c": city}).fetchall()
        occ = pd.DataFrame.from_records(occ, columns=["incident_id", "occurred_at"])
        r = r.merge(occ, on="incident_id")
        if not len(r):
            return 0
        r["occurred_at"] = pd.to_datetime(r["occurred_at"], utc=True, format="ISO8601")
        d = derive_point_fields(get_city(city), r["lat"].to_numpy(float), r["lon"].to_numpy(float), r["occurred_at"])
        lat, lon = r["lat"].to_numpy(float), r["lon"].to_numpy(float)
        if self.backend == "postgresql":
            geom = shapely.to_wkb(shapely.points(lon, lat), hex=True).tolist()
            gsql = "ST_SetSRID(ST_GeomFromWKB(decode(:geom, 'hex')), 4326)"
        else:
            geom = shapely.to_wkb(shapely.points(lon, lat)).tolist()
            gsql = ":geom"
        recs = [dict(zip(("i", "lat", "lon", "p", "s", "u", "d", "h", "k", "geom"), v, strict=True)) for v in zip(
            r["incident_id"], lat.tolist(), lon.tolist(), r["precision"].astype(str), r["score"].astype(float),
            r["uncertainty_m"].astype(float), d["district"].tolist(),
            d["h3"].astype(np.int64).tolist(), d["is_dark"].tolist(), geom, strict=True)]
        with self._write() as conn:
            n = conn.execute(text(
                "UPDATE incidents SET lat = :lat, lon = :lon, geocode_precision = :p, geocode_score = :s, "
                f"geocode_uncertainty_m = :u, district = :d, h3 = :h, is_dark = :k, geom = {gsql} "
                "WHERE incident_id = :i AND geocode_precision = 'none'"), recs).rowcount
            if n:
                self._bump(conn, city)
        return int(n)

    # ------------------------------------------------------------------ quarantine and batches
    def quarantine_rows(self, city: str | None = None, *, status: str | None = "open", reason: str | None = None,
                        batch_id: int | None = None) -> pd.DataFrame:
        """Quarantined rows: ``id, city, source, file_name, row_number, reason, field, message, raw, candidates,
        batch_id, status, resolved_batch_id, created_at`` (``raw`` and ``candidates`` are JSON text)."""
        q = m.quarantine.select().order_by(m.quarantine.c.id)
        if city:
            q = q.where(m.quarantine.c.city == city)
        if status:
            q = q.where(m.quarantine.c.status == status)
        if reason:
            q = q.where(m.quarantine.c.reason == reason)
        if batch_id is not None:
            q = q.where(m.quarantine.c.batch_id == batch_id)
        with self.engine.connect() as conn:
            res = conn.execute(q)
            return pd.DataFrame(res.fetchall(), columns=list(res.keys())).drop(columns=["raw_hash"])

    def batches(self, city: str | None = None) -> pd.DataFrame:
        """The ingest batch log, newest last."""
        q = m.ingest_batches.select().order_by(m.ingest_batches.c.id)
        if city:
            q = q.where(m.ingest_batches.c.city == city)
        with self.engine.connect() as conn:
            res = conn.execute(q)
            return pd.DataFrame(res.fetchall(), columns=list(res.keys()))

    def table_counts(self) -> dict[str, int]:
        """Row count of every table (used by tests and ``--json`` diagnostics)."""
        with self.engine.connect() as conn:
            return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar())
                    for t in m.metadata.tables}

    # ------------------------------------------------------------------ city layers
    def save_layer(self, city: str, name: str, gdf: gpd.GeoDataFrame) -> int:
        """Replace layer ``name`` of ``city`` with ``gdf`` (any CRS; stored in EPSG:4326), atomically.

        Known layers (:data:`api.store.models.LAYER_SCHEMAS`) get their typed columns; other
        attributes, and every attribute of an unknown layer, are kept in ``props`` JSON.
        Returns the number of features written.
        """
        if not isinstance(gdf, gpd.GeoDataFrame):
            raise ValueError(f"layer {name!r}: expected a GeoDataFrame, got {type(gdf).__name__}")
        g = gdf.to_crs(4326) if gdf.crs is not None and gdf.crs.to_epsg() != 4326 else gdf
        geoms = g.geometry.values
        typed = m.LAYER_SCHEMAS.get(name, (None, {}))[1]
        attrs = pd.DataFrame(g.drop(columns=g.geometry.name))
        cols = {c: attrs[c] if c in attrs else pd.Series([None] * len(attrs), index=attrs.index) for c in typed}
        rest = attrs.drop(columns=[c for c in typed if c in attrs])
        props = rest.to_json(orient="records", force_ascii=False, date_format="iso")
        props = [json.dumps(p, ensure_ascii=False) for p in json.loads(props)] if len(rest.columns) else [None] * len(g)
        if self.backend == "postgresql":
            wkb = np.asarray(shapely.to_wkb(geoms, hex=True), dtype=object)
            gsql = "ST_SetSRID(ST_GeomFromWKB(decode(:geom, 'hex')), 4326)"
        else:
            wkb = np.asarray(shapely.to_wkb(geoms), dtype=object)
            gsql = ":geom"
        recs = pd.DataFrame({c: s.astype(object).where(s.notna(), None).to_numpy() for c, s in cols.items()})
        recs = recs.astype(object)
        for c, typ in typed.items():
            recs[c] = [None if v is None else (bool(v) if typ is m.Boolean else int(v) if typ is m.BigInteger
                                               else float(v) if typ is m.Float else str(v)) for v in recs[c]]
        recs["props"] = props
        recs["geom"] = wkb
        recs["city"] = city
        if name in m.layer_tables:
            table = m.layer_tables[name].name
            where = "city = :city"
        else:
            table = "layer_features"
            recs["layer"] = name
            where = "city = :city AND layer = :layer"
        names = list(recs.columns)
        vals = ", ".join((gsql if c == "geom" else f":{c}") for c in names)
        with self._write() as conn:
            conn.execute(text(f"DELETE FROM {table} WHERE {where}"), {"city": city, "layer": name})
            if len(recs):
                conn.execute(text(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({vals})"),
                             recs.to_dict("records"))
            self._bump(conn, city)
        return len(recs)

    def load_layer(self, city: str, name: str) -> gpd.GeoDataFrame:
        """Layer ``name`` of ``city`` as a GeoDataFrame in EPSG:4326 (typed columns, then ``props`` expanded)."""
        typed = list(m.LAYER_SCHEMAS.get(name, (None, {}))[1])
        gexpr = "ST_AsBinary(geom)" if self.backend == "postgresql" else "geom"
        if name in m.layer_tables:
            sql = (f"SELECT {', '.join([*typed, 'props', gexpr])} FROM {m.layer_tables[name].name} "
                   "WHERE city = :city ORDER BY fid")
        else:
            sql = f"SELECT props, {gexpr} FROM layer_features WHERE city = :city AND layer = :layer ORDER BY fid"
        with self.engine.connect() as conn:
            rows = conn.execute(text(sql), {"city": city, "layer": name}).fetchall()
        cols = [*typed, "props", "geom"]
        df = pd.DataFrame.from_records(rows, columns=cols)
        geom = shapely.from_wkb([None if g is None else bytes(g) for g in df["geom"]]) if len(df) else []
        extra = pd.DataFrame([json.loads(p) if p else {} for p in df["props"]], index=df.index)
        out = pd.concat([df[typed], extra], axis=1)
        for c, typ in m.LAYER_SCHEMAS.get(name, (None, {}))[1].items():
            if typ is m.Float:
                out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
            elif typ is m.BigInteger:
                out[c] = pd.to_numeric(out[c], errors="coerce").astype("Int64")
            elif typ is m.Boolean:
                out[c] = out[c].map(lambda v: None if v is None else bool(v)).astype("boolean")
        return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geom, crs=4326, index=df.index), crs=4326)

    def list_layers(self, city: str) -> dict[str, int]:
        """Layers stored for ``city``: name -> feature count."""
        out = {}
        with self.engine.connect() as conn:
            for name, t in m.layer_tables.items():
                n = conn.execute(text(f"SELECT count(*) FROM {t.name} WHERE city = :c"), {"c": city}).scalar()
                if n:
                    out[name] = int(n)
            for layer, n in conn.execute(text("SELECT layer, count(*) FROM layer_features WHERE city = :c "
                                              "GROUP BY layer ORDER BY layer"), {"c": city}):
                out[layer] = int(n)
        return out

    def load_layers(self, city: str, names: Iterable[str] | None = None) -> dict[str, gpd.GeoDataFrame]:
        """Several layers at once: ``{name: GeoDataFrame}`` (all stored layers when ``names`` is None)."""
        names = list(self.list_layers(city)) if names is None else list(names)
        return {n: self.load_layer(city, n) for n in names}

    def import_layers_dir(self, city: str, folder: str | Path) -> dict[str, int]:
        """Save every ``*.geojson`` / ``*.gpkg`` in ``folder`` as a layer named after the file."""
        out = {}
        for p in sorted(Path(folder).iterdir()):
            if p.suffix.lower() in (".geojson", ".gpkg", ".json") and p.is_file():
                out[p.stem] = self.save_layer(city, p.stem, gpd.read_file(p))
        return out

    # ------------------------------------------------------------------ audit log
    def audit(self, action: str, *, who: str | None = None, role: str | None = None, resource: str | None = None,
              params: dict | None = None) -> None:
        """Append one audit-log entry (its own committed transaction)."""
        with self._write() as conn:
            conn.execute(m.audit_log.insert().values(
                at=_now(), who=who, role=role, action=action, resource=resource,
                params=json.dumps(params or {}, ensure_ascii=False, default=str)))

    def audit_log(self, limit: int = 100, *, action: str | None = None) -> pd.DataFrame:
        """The newest ``limit`` audit entries, newest first: ``id, at, who, role, action, resource, params``."""
        q = m.audit_log.select().order_by(m.audit_log.c.id.desc()).limit(limit)
        if action:
            q = q.where(m.audit_log.c.action == action)
        with self.engine.connect() as conn:
            res = conn.execute(q)
            return pd.DataFrame(res.fetchall(), columns=list(res.keys()))

    # ------------------------------------------------------------------ API keys
    @staticmethod
    def _key_hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    def create_api_key(self, role: str, label: str = "") -> str:
        """Create a key with ``role`` and return it; only its sha256 is stored, so show it once."""
        if not role or not role.strip():
            raise ValueError("api key: role must be a non-empty string")
        key = "qk_" + secrets.token_urlsafe(32)
        with self._write() as conn:
            conn.execute(m.api_keys.insert().values(key_hash=self._key_hash(key), prefix=key[:10], role=role.strip(),
                                                    label=label, created_at=_now()))
        return key

    def verify_api_key(self, key: str | None) -> ApiKey | None:
        """The key's :class:`ApiKey` when it exists and is not revoked, else ``None``."""
        if not key:
            return None
        with self.engine.connect() as conn:
            r = conn.execute(m.api_keys.select().where(m.api_keys.c.key_hash == self._key_hash(key),
                                                       m.api_keys.c.revoked_at.is_(None))).first()
        return None if r is None else ApiKey(int(r.id), r.role, r.label or "", r.prefix)

    def revoke_api_key(self, key_id: int) -> bool:
        """Revoke key ``key_id``; ``True`` if it was active."""
        with self._write() as conn:
            return bool(conn.execute(m.api_keys.update().where(m.api_keys.c.id == key_id,
                                                               m.api_keys.c.revoked_at.is_(None))
                                     .values(revoked_at=_now())).rowcount)

    def list_api_keys(self) -> pd.DataFrame:
        """All keys without their hashes: ``id, prefix, role, label, created_at, revoked_at``."""
        with self.engine.connect() as conn:
            res = conn.execute(text("SELECT id, prefix, role, label, created_at, revoked_at FROM api_keys ORDER BY id"))
            return pd.DataFrame(res.fetchall(), columns=list(res.keys()))
