"""The store: one :class:`Store` over SQLite (embedded, WAL) or PostgreSQL + PostGIS, composed of
one repository per concern over a shared :class:`~qauipsiz.api.store.database.Database`.

==============================  ==============================================================
``store.incidents``             :class:`~qauipsiz.api.store.incidents.IncidentRepository`: ingest batches, queries, geocodes
``store.quarantine``            :class:`~qauipsiz.api.store.quarantine.QuarantineRepository`: quarantined rows, batch log
``store.layers``                :class:`~qauipsiz.api.store.layers.LayerRepository`: city layers
``store.audit_trail``           :class:`~qauipsiz.api.store.audit.AuditRepository`: the audit log
``store.keys``                  :class:`~qauipsiz.api.store.keys.KeyRepository`: API keys
``store.cases``                 :class:`~qauipsiz.api.store.cases.CaseRepository`: problem-oriented (SARA) cases
==============================  ==============================================================

Every repository method is also a method of :class:`Store` of the same name (``store.query_incidents``).
"""
from __future__ import annotations

import functools

from qauipsiz.api.store.audit import AuditRepository
from qauipsiz.api.store.cases import CaseRepository
from qauipsiz.api.store.database import Database
from qauipsiz.api.store.incidents import IncidentRepository
from qauipsiz.api.store.keys import KeyRepository
from qauipsiz.api.store.layers import LayerRepository
from qauipsiz.api.store.quarantine import QuarantineRepository


def _delegate(part: str, method):
    """A :class:`Store` method calling ``method`` on its component ``self.<part>`` (same signature and docstring)."""
    name = method.__name__

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        return getattr(getattr(self, part), name)(*args, **kwargs)

    return call


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
        self.db = Database(url, migrate=migrate)
        self.url = self.db.url
        self.engine = self.db.engine
        self.backend = self.db.backend
        self.incidents = IncidentRepository(self.db)
        self.quarantine = QuarantineRepository(self.db)
        self.layers = LayerRepository(self.db)
        self.audit_trail = AuditRepository(self.db)
        self.keys = KeyRepository(self.db)
        self.cases = CaseRepository(self.db)

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
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    # ------------------------------------------------------------------ schema and versions
    migrate = _delegate("db", Database.migrate)
    data_version = _delegate("db", Database.data_version)
    table_counts = _delegate("db", Database.table_counts)

    # ------------------------------------------------------------------ incidents
    write_batch = _delegate("incidents", IncidentRepository.write_batch)
    query_incidents = _delegate("incidents", IncidentRepository.query_incidents)
    count_incidents = _delegate("incidents", IncidentRepository.count_incidents)
    pending_geocoding = _delegate("incidents", IncidentRepository.pending_geocoding)
    update_geocodes = _delegate("incidents", IncidentRepository.update_geocodes)

    # ------------------------------------------------------------------ quarantine and batches
    quarantine_rows = _delegate("quarantine", QuarantineRepository.quarantine_rows)
    batches = _delegate("quarantine", QuarantineRepository.batches)

    # ------------------------------------------------------------------ city layers
    save_layer = _delegate("layers", LayerRepository.save_layer)
    load_layer = _delegate("layers", LayerRepository.load_layer)
    list_layers = _delegate("layers", LayerRepository.list_layers)
    load_layers = _delegate("layers", LayerRepository.load_layers)
    import_layers_dir = _delegate("layers", LayerRepository.import_layers_dir)

    # ------------------------------------------------------------------ audit log
    audit = _delegate("audit_trail", AuditRepository.audit)
    audit_log = _delegate("audit_trail", AuditRepository.audit_log)

    # ------------------------------------------------------------------ API keys
    create_api_key = _delegate("keys", KeyRepository.create_api_key)
    verify_api_key = _delegate("keys", KeyRepository.verify_api_key)
    revoke_api_key = _delegate("keys", KeyRepository.revoke_api_key)
    list_api_keys = _delegate("keys", KeyRepository.list_api_keys)

    # ------------------------------------------------------------------ problem-oriented (SARA) cases
    create_case = _delegate("cases", CaseRepository.create_case)
    get_case = _delegate("cases", CaseRepository.get_case)
    list_cases = _delegate("cases", CaseRepository.list_cases)
    update_case = _delegate("cases", CaseRepository.update_case)
    add_action = _delegate("cases", CaseRepository.add_action)
    update_action = _delegate("cases", CaseRepository.update_action)
