"""API keys: created with a role, stored as their sha256 only, verified and revoked."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import text

from qauipsiz.api.store import models as m
from qauipsiz.api.store.database import Repository, _now


@dataclass(frozen=True)
class ApiKey:
    """A verified API key: its id, role and label, and the beat an inspector key is bound to (the key
    itself is never stored)."""

    id: int
    role: str
    label: str
    prefix: str
    beat: str | None = None


class KeyRepository(Repository):
    """The ``api_keys`` table."""

    @staticmethod
    def _key_hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    def create_api_key(self, role: str, label: str = "", beat: str | None = None) -> str:
        """Create a key with ``role`` and return it; only its sha256 is stored, so show it once.

        ``beat`` binds the key to one beat id (required for the ``inspector`` role, refused for others).
        """
        if not role or not role.strip():
            raise ValueError("api key: role must be a non-empty string")
        beat = beat.strip() if beat else None
        if role.strip() == "inspector" and not beat:
            raise ValueError("api key: field beat: an inspector key needs the beat it covers (--beat BEAT_ID)")
        if beat and role.strip() != "inspector":
            raise ValueError(f"api key: field beat: only an inspector key is bound to a beat, not {role.strip()!r}")
        key = "qk_" + secrets.token_urlsafe(32)
        with self.db.write() as conn:
            conn.execute(m.api_keys.insert().values(key_hash=self._key_hash(key), prefix=key[:10], role=role.strip(),
                                                    label=label, created_at=_now(), beat=beat))
        return key

    def verify_api_key(self, key: str | None) -> ApiKey | None:
        """The key's :class:`ApiKey` when it exists and is not revoked, else ``None``."""
        if not key:
            return None
        with self.db.engine.connect() as conn:
            r = conn.execute(m.api_keys.select().where(m.api_keys.c.key_hash == self._key_hash(key),
                                                       m.api_keys.c.revoked_at.is_(None))).first()
        return None if r is None else ApiKey(int(r.id), r.role, r.label or "", r.prefix, r.beat)

    def revoke_api_key(self, key_id: int) -> bool:
        """Revoke key ``key_id``; ``True`` if it was active."""
        with self.db.write() as conn:
            return bool(conn.execute(m.api_keys.update().where(m.api_keys.c.id == key_id,
                                                               m.api_keys.c.revoked_at.is_(None))
                                     .values(revoked_at=_now())).rowcount)

    def list_api_keys(self) -> pd.DataFrame:
        """All keys without their hashes: ``id, prefix, role, beat, label, created_at, revoked_at``."""
        with self.db.engine.connect() as conn:
            res = conn.execute(text("SELECT id, prefix, role, beat, label, created_at, revoked_at FROM api_keys "
                                    "ORDER BY id"))
            return pd.DataFrame(res.fetchall(), columns=list(res.keys()))
