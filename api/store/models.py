"""SQLAlchemy 2 tables of the store: incidents, quarantine, ingest batches, city layers, audit, API keys.

One schema serves both backends.  Geometry columns are PostGIS ``geometry(…, 4326)`` with a GiST
index on PostgreSQL and WKB blobs on SQLite (coordinates are also kept as ``lat``/``lon`` columns).
"""
from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from qauipsiz.hotspot.schema import INCIDENT_COLUMNS

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
})


def Geom(geometry_type: str = "GEOMETRY"):
    """Geometry in EPSG:4326: PostGIS ``geometry(<type>, 4326)`` on PostgreSQL, WKB ``BLOB`` elsewhere."""
    return LargeBinary().with_variant(Geometry(geometry_type, srid=4326, spatial_index=False), "postgresql")


def _gist(table: str, col: str = "geom") -> Index:
    return Index(f"ix_{table}_{col}", col, postgresql_using="gist").ddl_if(dialect="postgresql")


_SQL_TYPES = {"string": Text, "float64": Float, "uint64": BigInteger, "boolean": Boolean}


def _incident_columns() -> list[Column]:
    cols = []
    for name, (dtype, doc) in INCIDENT_COLUMNS.items():
        if name == "incident_id":
            cols.append(Column(name, String(32), primary_key=True, comment=doc))
        elif dtype.startswith("datetime64"):
            cols.append(Column(name, DateTime(timezone=True), comment=doc))
        else:
            cols.append(Column(name, _SQL_TYPES[dtype], comment=doc))
    return cols


incidents = Table(
    "incidents", metadata,
    *_incident_columns(),
    Column("city", String(32), nullable=False, comment="city registry key"),
    Column("content_hash", String(32), nullable=False, comment="hash of the event's content (duplicate check)"),
    Column("batch_id", Integer, nullable=False, comment="ingest_batches.id that added the row"),
    Column("row_number", Integer, comment="row of the source file (header = row 1)"),
    Column("geom", Geom("POINT"), comment="WGS84 point; NULL while awaiting geocoding"),
    UniqueConstraint("content_hash", name="uq_incidents_content_hash"),
    Index("ix_incidents_city_occurred_at", "city", "occurred_at"),
    _gist("incidents"),
)

quarantine = Table(
    "quarantine", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("city", String(32), nullable=False),
    Column("source", Text, nullable=False),
    Column("file_name", Text),
    Column("row_number", Integer, comment="row of the source file (header = row 1; GeoJSON: feature number)"),
    Column("reason", String(40), nullable=False, comment="reason code, e.g. bad_date"),
    Column("field", Text, comment="schema field the reason is about"),
    Column("message", Text, nullable=False),
    Column("raw", Text, nullable=False, comment="the raw row as JSON {header: value}"),
    Column("raw_hash", String(40), nullable=False, comment="hash of (city, source, raw): re-quarantine check"),
    Column("candidates", Text, comment="geocoder candidates as JSON, when there were any"),
    Column("batch_id", Integer, nullable=False),
    Column("status", String(16), nullable=False, default="open", comment="open | resolved"),
    Column("resolved_batch_id", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("raw_hash", name="uq_quarantine_raw_hash"),
    Index("ix_quarantine_city_status", "city", "status"),
)

ingest_batches = Table(
    "ingest_batches", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("city", String(32), nullable=False),
    Column("source", Text, nullable=False),
    Column("file_name", Text),
    Column("file_sha256", String(64), comment="sha256 of the input file's bytes"),
    Column("format", String(16)),
    Column("n_input", Integer, nullable=False, default=0),
    Column("n_accepted", Integer, nullable=False, default=0),
    Column("n_duplicates", Integer, nullable=False, default=0),
    Column("n_quarantined", Integer, nullable=False, default=0),
    Column("reasons", Text, comment="JSON {reason code: count}"),
    Column("mapping", Text, comment="JSON {header: field} used"),
    Column("who", Text),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(16), nullable=False, comment="running (inside its transaction) | done"),
    Index("ix_ingest_batches_file_sha256", "file_sha256"),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("who", Text),
    Column("role", Text),
    Column("action", Text, nullable=False),
    Column("resource", Text),
    Column("params", Text, comment="JSON"),
    Index("ix_audit_log_at", "at"),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key_hash", String(64), nullable=False, comment="sha256 hex of the key; the key itself is never stored"),
    Column("prefix", String(12), nullable=False, comment="first characters of the key, to recognise it"),
    Column("role", String(32), nullable=False),
    Column("label", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("beat", String(64), comment="beat id an inspector key is bound to (NULL for other roles); migration 0003"),
    UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
)

data_versions = Table(
    "data_versions", metadata,
    Column("city", String(32), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

store_meta = Table(
    "store_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text),
)

# --- city layers (docs/architecture.md): typed attribute columns + props JSON for the rest + geometry
LAYER_SCHEMAS: dict[str, tuple[str, dict[str, type]]] = {
    "lamps": ("POINT", {"lamp_id": BigInteger, "height_m": Float, "flux_lm": Float, "lamp_class": Text,
                        "working": Boolean}),
    "cameras": ("POINT", {"camera_id": BigInteger, "bearing_deg": Float, "fov_deg": Float, "resolution_px": Float,
                          "height_m": Float, "owner": Text, "status": Text}),
    "sos_buttons": ("POINT", {"sos_id": BigInteger, "status": Text, "connected_cou": Boolean}),
    "entrances": ("POINT", {"entrance_id": BigInteger, "building_id": BigInteger, "access": Text, "main": Boolean}),
    "buildings": ("GEOMETRY", {"building_id": BigInteger, "levels": Float, "active_ground_floor": Boolean,
                               "use": Text}),
    "fences": ("GEOMETRY", {"fence_id": BigInteger, "kind": Text}),
    "landuse": ("GEOMETRY", {"landuse_id": BigInteger, "landuse": Text, "fenced": Boolean}),
    "transit_stops": ("POINT", {"stop_id": BigInteger, "name": Text}),
    "bars": ("POINT", {"bar_id": BigInteger, "kind": Text, "name": Text}),
    "police_stations": ("POINT", {"station_id": BigInteger, "name": Text}),
    "blocks": ("GEOMETRY", {"block_id": BigInteger, "use": Text}),
}
"""Known city layers: name -> (geometry type, typed attribute columns).  Other attributes go to ``props``."""

layer_tables: dict[str, Table] = {}
for _name, (_gtype, _cols) in LAYER_SCHEMAS.items():
    _t = f"layer_{_name}"
    layer_tables[_name] = Table(
        _t, metadata,
        Column("fid", Integer, primary_key=True, autoincrement=True),
        Column("city", String(32), nullable=False),
        *[Column(c, t()) for c, t in _cols.items()],
        Column("props", Text, comment="other attributes as JSON"),
        Column("geom", Geom(_gtype)),
        Index(f"ix_{_t}_city", "city"),
        _gist(_t),
    )

layer_features = Table(
    "layer_features", metadata,
    Column("fid", Integer, primary_key=True, autoincrement=True),
    Column("city", String(32), nullable=False),
    Column("layer", String(64), nullable=False, comment="name of a layer without a typed table"),
    Column("props", Text, comment="attributes as JSON"),
    Column("geom", Geom("GEOMETRY")),
    Index("ix_layer_features_city_layer", "city", "layer"),
    _gist("layer_features"),
)

# --- problem-oriented (SARA) cases: api/store/cases.py; created by migration 0002
CASE_STATUSES = ("scanning", "analysis", "response", "assessment", "closed")
"""SARA stages of a case, in order (scanning, analysis, response, assessment), then closed."""

cases = Table(
    "cases", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("city", String(32), nullable=False, comment="city registry key"),
    Column("title", Text, nullable=False),
    Column("status", String(16), nullable=False, comment="scanning | analysis | response | assessment | closed"),
    Column("place_layer", String(64), comment="layer of the place's features (cameras, sos_buttons, lamps); "
                                              "NULL when the place is a drawn area"),
    Column("place_ids", Text, comment="JSON list of the layer's feature ids (NULL: every feature)"),
    Column("geom", Geom("GEOMETRY"), comment="WGS84 area of the place (Polygon/MultiPolygon) when drawn"),
    Column("categories", Text, comment="JSON list of taxonomy categories of the problem"),
    Column("hours", String(8), comment="local hours of the problem START-END, e.g. 18-02"),
    Column("description", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", Text),
    Index("ix_cases_city", "city"),
    _gist("cases"),
)

case_actions = Table(
    "case_actions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("text", Text, nullable=False, comment="what is to be done"),
    Column("owner", Text, comment="who answers for it (agency, person)"),
    Column("due_date", Date, comment="local date it is due"),
    Column("done_date", Date, comment="local date it was done (NULL while open)"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", Text),
    Index("ix_case_actions_case_id", "case_id"),
)
