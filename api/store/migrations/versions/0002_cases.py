"""Problem-oriented (SARA) cases: ``cases`` and their action-plan items ``case_actions``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _geom(bind):
    if bind.dialect.name == "postgresql":
        from geoalchemy2 import Geometry

        return Geometry("GEOMETRY", srid=4326, spatial_index=False)
    return sa.LargeBinary()


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("city", sa.String(32), nullable=False, comment="city registry key"),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False,
                  comment="scanning | analysis | response | assessment | closed"),
        sa.Column("place_layer", sa.String(64), comment="layer of the place's features (cameras, sos_buttons, "
                                                        "lamps); NULL when the place is a drawn area"),
        sa.Column("place_ids", sa.Text, comment="JSON list of the layer's feature ids (NULL: every feature)"),
        sa.Column("geom", _geom(bind), comment="WGS84 area of the place (Polygon/MultiPolygon) when drawn"),
        sa.Column("categories", sa.Text, comment="JSON list of taxonomy categories of the problem"),
        sa.Column("hours", sa.String(8), comment="local hours of the problem START-END, e.g. 18-02"),
        sa.Column("description", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
    )
    op.create_index("ix_cases_city", "cases", ["city"])
    if bind.dialect.name == "postgresql":
        op.create_index("ix_cases_geom", "cases", ["geom"], postgresql_using="gist")
    op.create_table(
        "case_actions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
        sa.Column("text", sa.Text, nullable=False, comment="what is to be done"),
        sa.Column("owner", sa.Text, comment="who answers for it (agency, person)"),
        sa.Column("due_date", sa.Date, comment="local date it is due"),
        sa.Column("done_date", sa.Date, comment="local date it was done (NULL while open)"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_case_actions"),
    )
    op.create_index("ix_case_actions_case_id", "case_actions", ["case_id"])


def downgrade() -> None:
    op.drop_table("case_actions")
    op.drop_table("cases")
