"""The store: one repository per concern (incidents, quarantine, layers, audit, keys) over embedded
SQLite (WAL) or PostgreSQL + PostGIS, composed by :class:`Store`.

>>> from qauipsiz.api.store import Store
>>> store = Store.from_settings()           # DATABASE_URL, else sqlite under QAUIPSIZ_DATA_DIR
>>> store.query_incidents("astana")        # DataFrame in hotspot.schema.INCIDENT_COLUMNS

See ``docs/store.md``.
"""
from __future__ import annotations

from qauipsiz.api.store.incidents import INCIDENT_STORE_COLUMNS, BatchResult, IngestBatch
from qauipsiz.api.store.keys import ApiKey
from qauipsiz.api.store.models import LAYER_SCHEMAS
from qauipsiz.api.store.store import Store

__all__ = ["INCIDENT_STORE_COLUMNS", "LAYER_SCHEMAS", "ApiKey", "BatchResult", "IngestBatch", "Store", "open_store"]


def open_store(url: str | None = None) -> Store:
    """Open the store at ``url`` (any SQLAlchemy URL), or the one the settings name."""
    return Store(url) if url else Store.from_settings()
