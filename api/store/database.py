"""The database a :class:`~qauipsiz.api.store.Store` runs on: engine, serialised write
transactions, schema migrations and the per-city data version."""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine

from qauipsiz.api.store import models as m

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _now() -> datetime:
    return datetime.now(UTC)


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


class Database:
    """One SQLAlchemy engine over SQLite (embedded, WAL) or PostgreSQL + PostGIS, shared by the
    store's repositories.

    Parameters
    ----------
    url : str
        Any SQLAlchemy URL (``postgres://`` is accepted for ``postgresql://``); a SQLite file's
        folder is created.
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

    @contextmanager
    def write(self) -> Iterable[Connection]:
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
        with self.write() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            conn.execute(text("INSERT INTO store_meta (key, value) SELECT 'instance_id', :v WHERE NOT EXISTS "
                              "(SELECT 1 FROM store_meta WHERE key = 'instance_id')"), {"v": uuid.uuid4().hex})
        return head

    def bump(self, conn: Connection, city: str) -> None:
        """Raise ``city``'s data version by one, inside the caller's write transaction ``conn``."""
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

    def table_counts(self) -> dict[str, int]:
        """Row count of every table (used by tests and ``--json`` diagnostics)."""
        with self.engine.connect() as conn:
            return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar())
                    for t in m.metadata.tables}

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()


class Repository:
    """Base of the store's repositories: each one concern's tables, over a shared :class:`Database`."""

    def __init__(self, db: Database):
        self.db = db
