"""Initial schema: incidents, quarantine, ingest batches, city layers, audit log, API keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""
from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The first revision creates the tables exactly as declared in ``api.store.models`` at this
# revision.  Later revisions must be explicit ``op.*`` scripts against the previous schema.
TABLES = ("incidents", "quarantine", "ingest_batches", "audit_log", "api_keys", "data_versions",
          "store_meta", "layer_lamps", "layer_cameras", "layer_sos_buttons", "layer_entrances",
          "layer_buildings", "layer_fences", "layer_landuse", "layer_transit_stops", "layer_bars",
          "layer_police_stations", "layer_blocks", "layer_features")


def upgrade() -> None:
    from qauipsiz.api.store.models import metadata

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    metadata.create_all(bind, tables=[metadata.tables[t] for t in TABLES], checkfirst=False)


def downgrade() -> None:
    from qauipsiz.api.store.models import metadata

    metadata.drop_all(op.get_bind(), tables=[metadata.tables[t] for t in TABLES])
