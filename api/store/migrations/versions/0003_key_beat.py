"""API keys bound to a beat: ``api_keys.beat`` (the district inspector's beat id, issue 17).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

A store created from scratch already has the column (0001 creates ``api_keys`` from the current
models), so the column is added only when missing.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _has_beat(bind) -> bool:
    return "beat" in {c["name"] for c in sa.inspect(bind).get_columns("api_keys")}


def upgrade() -> None:
    bind = op.get_bind()
    if not _has_beat(bind):
        with op.batch_alter_table("api_keys") as b:
            b.add_column(sa.Column("beat", sa.String(64), nullable=True,
                                   comment="beat id an inspector key is bound to (NULL for other roles)"))


def downgrade() -> None:
    bind = op.get_bind()
    if _has_beat(bind):
        with op.batch_alter_table("api_keys") as b:
            b.drop_column("beat")
