"""Problem-oriented (SARA) cases in the store, on SQLite and PostGIS: round trip, validation, audit."""
from __future__ import annotations

import json
from datetime import date

import pytest
import shapely
from sqlalchemy import text

from qauipsiz.api.store import Store

AREA = {"type": "Polygon", "coordinates": [[[71.40, 51.10], [71.42, 51.10], [71.42, 51.12], [71.40, 51.12],
                                            [71.40, 51.10]]]}


def _audit(store, prefix="case."):
    log = store.audit_log(1000)
    return log[log["action"].str.startswith(prefix)].sort_values("id")


def test_case_round_trip_and_audit(store):
    c = store.create_case("astana", "  Thefts at the bus stops ", layer="cameras", ids=["3", 1, 3],
                          categories="theft,robbery", hours="18-2", description="evening thefts",
                          who="key:1:a", role="analyst")
    assert (c.title, c.status, c.place, c.hours) == ("Thefts at the bus stops", "scanning",
                                                     {"layer": "cameras", "ids": [3, 1]}, "18-02")
    assert c.categories == ["theft", "robbery"] and c.actions == []
    assert c.start_date() == (None, "none")
    c = store.add_action(c.id, "Switch on 5 cameras", owner="akimat", due="2025-06-01", who="key:2:b",
                         role="commander")
    c = store.add_action(c.id, "Patrol the stops 18-22", owner="police", due=date(2025, 5, 20), who="key:2:b",
                         role="commander")
    assert [a.text for a in c.actions] == ["Switch on 5 cameras", "Patrol the stops 18-22"]
    assert c.start_date() == (date(2025, 5, 20), "due")  # nothing done yet: the earliest due date
    first = c.actions[0].id
    c = store.update_action(c.id, first, done_date="2025-06-03", who="key:1:a", role="analyst")
    assert c.actions[0].done_date == date(2025, 6, 3)
    assert c.start_date() == (date(2025, 6, 3), "done")  # a done date wins over due dates
    c = store.update_case(c.id, status="response", area=AREA, who="key:1:a", role="analyst")
    assert c.status == "response" and c.place_layer is None and c.place_ids is None
    assert shapely.equals(shapely.from_geojson(json.dumps(c.place["area"])), shapely.from_geojson(json.dumps(AREA)))
    assert c.updated_by == "key:1:a" and c.created_by == "key:1:a"
    # read back through a second Store on the same database: nothing lives only in memory
    other = Store(store.url)
    try:
        again = other.get_case(c.id)
        assert again.to_dict() == c.to_dict()
        assert json.loads(json.dumps(again.to_dict()))["actions"][0]["done_date"] == "2025-06-03"
    finally:
        other.close()
    log = _audit(store)
    assert list(log["action"]) == ["case.create", "case.action.add", "case.action.add", "case.action.update",
                                   "case.update"]
    assert set(log["resource"]) == {f"cases/{c.id}"}
    assert list(log["role"]) == ["analyst", "commander", "commander", "analyst", "analyst"]
    upd = json.loads(log.iloc[-1]["params"])["changed"]
    assert upd["status"] == ["scanning", "response"] and upd["place"][1] == {"area": True}
    done = json.loads(log.iloc[3]["params"])
    assert done["changed"] == {"done_date": [None, "2025-06-03"]}


def test_no_change_writes_no_audit_row(store):
    c = store.create_case("astana", "Burglaries", area=AREA, categories=["theft"], who="u", role="admin")
    n = len(_audit(store))
    same = store.update_case(c.id, status="scanning", title="Burglaries", who="u", role="admin")
    assert same.to_dict() == c.to_dict() and len(_audit(store)) == n


def test_list_filters_by_city_and_status(store):
    a = store.create_case("astana", "A", area=AREA)
    b = store.create_case("astana", "B", layer="lamps")
    store.update_case(b.id, status="analysis")
    c = store.create_case("almaty", "C", layer="sos_buttons", ids=[])
    assert [x.id for x in store.list_cases("astana")] == [a.id, b.id]
    assert [x.id for x in store.list_cases("astana", status="analysis")] == [b.id]
    assert [x.id for x in store.list_cases()] == [a.id, b.id, c.id]
    assert store.get_case(c.id, city="astana") is None and store.get_case(10_000) is None
    assert c.place == {"layer": "sos_buttons", "ids": None}


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"title": "", "layer": "cameras"}, "'title' is required"),
    ({"area": AREA, "layer": "cameras"}, "exactly one"),
    ({}, "exactly one"),
    ({"layer": "bars"}, "'layer': 'bars' is not one of"),
    ({"layer": "cameras", "ids": ["x7"]}, "'ids': 'x7' is not an integer"),
    ({"area": {"type": "Point", "coordinates": [71.4, 51.1]}}, "Polygon or MultiPolygon, got Point"),
    ({"area": {"type": "Polygon", "coordinates": [[[71.4, 51.1], [71.5, 51.2], [71.5, 51.1], [71.4, 51.2],
                                                   [71.4, 51.1]]]}}, "invalid polygon"),
    ({"area": {"type": "Polygon", "coordinates": [[[500000, 5600000], [500100, 5600000], [500100, 5600100],
                                                   [500000, 5600000]]]}}, "not WGS84"),
    ({"area": "{not json"}, "'area': not JSON"),
    ({"layer": "cameras", "categories": ["theft", "jaywalking"]}, "unknown category 'jaywalking'"),
    ({"layer": "cameras", "hours": "25-3"}, "'hours'"),
    ({"layer": "cameras", "hours": "18-18"}, "'hours'"),
    ({"layer": "cameras", "status": "done"}, "'status': 'done' is not one of"),
])
def test_bad_input_names_the_field(store, kwargs, match):
    kw = {"title": "t", **kwargs}
    with pytest.raises(ValueError, match=match):
        store.create_case("astana", kw.pop("title"), **kw)
    assert store.list_cases() == [] and len(_audit(store)) == 0  # nothing written, nothing audited


def test_bad_updates(store):
    c = store.create_case("astana", "t", layer="cameras")
    with pytest.raises(ValueError, match="'due_date': '2025-13-01' is not a date"):
        store.add_action(c.id, "x", due="2025-13-01")
    with pytest.raises(ValueError, match="'text' is required"):
        store.add_action(c.id, " ")
    with pytest.raises(ValueError, match="cannot change field"):
        store.update_case(c.id, city="almaty", created_by="me")
    with pytest.raises(KeyError):
        store.add_action(c.id + 1, "x")
    with pytest.raises(KeyError):
        store.update_action(c.id, 999, done_date="2025-01-01")
    with pytest.raises(KeyError):
        store.update_case(c.id, city="almaty", status="closed")  # of another city: not found
    assert store.get_case(c.id).actions == []


def test_unknown_city_refused(store):
    with pytest.raises(ValueError, match="unknown city 'atlantis'"):
        store.create_case("atlantis", "t", layer="cameras")


def test_deleting_a_case_removes_its_actions(store):
    """The action items belong to their case (ON DELETE CASCADE, SQLite foreign keys on)."""
    c = store.add_action(store.create_case("astana", "t", layer="cameras").id, "a")
    with store.db.write() as conn:
        conn.execute(text("DELETE FROM cases WHERE id = :i"), {"i": c.id})
    assert store.table_counts()["case_actions"] == 0


def test_postgis_geometry_column(store):
    """On PostGIS the area is a real geometry in EPSG:4326 (QGIS reads it); on SQLite WKB."""
    c = store.create_case("astana", "t", area=AREA)
    with store.engine.connect() as conn:
        if store.backend == "postgresql":
            srid, kind, area = conn.execute(text(
                "SELECT ST_SRID(geom), GeometryType(geom), ST_Area(geom::geography) FROM cases WHERE id = :i"),
                {"i": c.id}).one()
            assert (srid, kind) == (4326, "POLYGON")
            assert area == pytest.approx(1390 * 2224, rel=0.02)  # 0.02° lon × 0.02° lat at 51.11° N, m²
        else:
            wkb = conn.execute(text("SELECT geom FROM cases WHERE id = :i"), {"i": c.id}).scalar()
            assert shapely.from_wkb(bytes(wkb)).geom_type == "Polygon"


def test_a_store_made_before_cases_is_upgraded(store_url):
    """A store at migration 0001 (made before issue 18) gains the case tables on open, keeping its data."""
    from alembic import command
    from alembic.config import Config

    from qauipsiz.api.store.database import _MIGRATIONS, Database

    old = Database(store_url, migrate=False)
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with old.write() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(text("INSERT INTO store_meta (key, value) VALUES ('instance_id', 'abc')"))
    with old.engine.connect() as conn:
        names = set(old.engine.dialect.get_table_names(conn))
    assert "api_keys" in names and "cases" not in names
    old.close()
    s = Store(store_url)  # migrates to the newest revision
    try:
        c = s.create_case("astana", "after the upgrade", area=AREA)
        assert s.get_case(c.id).title == "after the upgrade"
        with s.engine.connect() as conn:
            assert conn.execute(text("SELECT value FROM store_meta WHERE key = 'instance_id'")).scalar() == "abc"
    finally:
        s.close()
