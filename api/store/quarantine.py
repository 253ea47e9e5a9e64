"""Quarantine and the ingest batch log, as read back (they are written with each batch by
:meth:`IncidentRepository.write_batch <qauipsiz.api.store.incidents.IncidentRepository.write_batch>`)."""
from __future__ import annotations

import pandas as pd

from qauipsiz.api.store import models as m
from qauipsiz.api.store.database import Repository


class QuarantineRepository(Repository):
    """Quarantined rows and ingest batches."""

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
        with self.db.engine.connect() as conn:
            res = conn.execute(q)
            return pd.DataFrame(res.fetchall(), columns=list(res.keys())).drop(columns=["raw_hash"])

    def batches(self, city: str | None = None) -> pd.DataFrame:
        """The ingest batch log, newest last."""
        q = m.ingest_batches.select().order_by(m.ingest_batches.c.id)
        if city:
            q = q.where(m.ingest_batches.c.city == city)
        with self.db.engine.connect() as conn:
            res = conn.execute(q)
            return pd.DataFrame(res.fetchall(), columns=list(res.keys()))
