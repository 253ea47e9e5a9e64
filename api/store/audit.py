"""The audit log: who did what, when, to which resource."""
from __future__ import annotations

import json

import pandas as pd

from qauipsiz.api.store import models as m
from qauipsiz.api.store.database import Repository, _now


class AuditRepository(Repository):
    """Append-only audit entries."""

    def audit(self, action: str, *, who: str | None = None, role: str | None = None, resource: str | None = None,
              params: dict | None = None) -> None:
        """Append one audit-log entry (its own committed transaction)."""
        with self.db.write() as conn:
            conn.execute(m.audit_log.insert().values(
                at=_now(), who=who, role=role, action=action, resource=resource,
                params=json.dumps(params or {}, ensure_ascii=False, default=str)))

    def audit_log(self, limit: int = 100, *, action: str | None = None) -> pd.DataFrame:
        """The newest ``limit`` audit entries, newest first: ``id, at, who, role, action, resource, params``."""
        q = m.audit_log.select().order_by(m.audit_log.c.id.desc()).limit(limit)
        if action:
            q = q.where(m.audit_log.c.action == action)
        with self.db.engine.connect() as conn:
            res = conn.execute(q)
            return pd.DataFrame(res.fetchall(), columns=list(res.keys()))
