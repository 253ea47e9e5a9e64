"""Repository API: migrations, exports and formula-injection escaping, quarantine round trip, layers,
audit log, API keys, data version, query filters."""
from __future__ import annotations

import csv
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from qauipsiz.api.ingest import ingest_file
from qauipsiz.api.store import Store
from qauipsiz.api.store.export import FORMULA_TRIGGERS, export_incidents, neutralise_formulas
from qauipsiz.api.store.models import metadata

HEADER = "Номер ЕРДР;Дата совершения;Статья УК РК;Место совершения;Адрес места происшествия;Широта;Долгота\n"
EVIL = ["=HYPERLINK(\"http://x\",\"click\")", "+7 701 000 00 00", "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR"]


def test_schema_and_migrations(store_url):
    s = Store(store_url)
    insp = inspect(s.engine)
    names = set(insp.get_table_names())
    assert set(metadata.tables) <= names and "alembic_version" in names
    cols = {c["name"] for c in insp.get_columns("incidents")}
    from qauipsiz.hotspot.schema import INCIDENT_COLUMNS

    assert set(INCIDENT_COLUMNS) | {"city", "batch_id", "content_hash", "row_number", "geom"} == cols
    if s.backend == "postgresql":
        with s.engine.connect() as c:
            idx = c.execute(text("SELECT indexdef FROM pg_indexes WHERE tablename = 'incidents' "
                                 "AND schemaname = current_schema()")).scalars().all()
            assert any("USING gist (geom)" in i for i in idx)
            gt = c.execute(text("SELECT type, srid FROM geometry_columns WHERE f_table_name = 'incidents' "
                                "AND f_table_schema = current_schema()")).one()
            assert tuple(gt) == ("POINT", 4326)
    else:
        with s.engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert s.migrate() == s.migrate()  # idempotent
    Store(store_url).close()  # re-open: no re-migration, no error


def _write(tmp_path, rows, name="e.csv"):
    p = tmp_path / name
    p.write_text(HEADER + "\n".join(";".join(r) for r in rows) + "\n", encoding="utf-8-sig")
    return p


def test_neutralise_formulas_unit():
    s = pd.Series([*EVIL, "ok", "a=b", "", None, 5, -3.5], dtype=object)
    out = neutralise_formulas(s)
    expected = ["'" + v if isinstance(v, str) and v[:1] in FORMULA_TRIGGERS else v for v in s]
    assert out.tolist() == expected  # None stays None, numbers stay numbers
    assert sum(isinstance(v, str) and v[:1] in FORMULA_TRIGGERS for v in s) == len(EVIL)


def test_csv_export_neutralises_formula_injection(tmp_path, store):
    rows = [[f"id{i}", f"0{i + 1}.02.2024 12:00", "188", "Двор", addr, "51,1694", "71,4491"]
            for i, addr in enumerate([*EVIL[:4], "a", "b"])]
    rows[1][0] = "=cmd|' /C calc'!A0"  # also in the id column
    ingest_file(_write(tmp_path, rows), city="astana", store=store, source="=evil")
    df = store.query_incidents("astana")
    assert set(EVIL[:4]) <= set(df["address_raw"])  # stored as given
    df["address_raw"] = EVIL  # leading tab / CR cannot survive ingestion (whitespace is trimmed)
    out = tmp_path / "x.csv"
    export_incidents(df, out, "csv", tz="Asia/Almaty")
    with open(out, encoding="utf-8-sig", newline="") as f:
        recs = list(csv.DictReader(f, delimiter=";"))
    cells = [v for r in recs for v in r.values()]
    assert not [c for c in cells if c[:1] in FORMULA_TRIGGERS and c[:1] != "-"]
    # every text cell that began with a trigger now begins with a quote; numbers are untouched
    addrs = sorted(r["address_raw"] for r in recs)
    assert addrs == sorted("'" + a for a in EVIL)
    assert all(r["source"] == "'=evil" for r in recs)
    assert "'=cmd|' /C calc'!A0" in {r["source_id"] for r in recs}
    assert all(float(r["lat"]) == pytest.approx(51.1694) for r in recs)
    assert recs[0]["occurred_at"].endswith("+06:00")  # local time with its offset


def test_quarantine_export_fix_and_reingest(tmp_path, store):
    rows = [["1", "01.02.2024 12:00", "188", "Двор", "=1+1 ул. Кенесары", "51,1694", "71,4491"],
            ["2", "31.02.2024 12:00", "188", "Двор", "@ул. Абая", "51,1694", "71,4491"],
            ["3", "02.02.2024 12:00", "999", "Двор", "ул. Абая 2", "51,1694", "71,4491"]]
    rep = ingest_file(_write(tmp_path, rows), city="astana", store=store, source="erdr")
    assert rep.reasons == {"bad_date": 1, "unknown_article": 1}
    r = CliRunner()
    import qauipsiz.api.cli  # noqa: F401  (registers the commands)
    from qauipsiz.api.cli._app import app

    env = {"DATABASE_URL": store.url}
    out = tmp_path / "q.csv"
    res = r.invoke(app, ["quarantine", "export", "--out", str(out), "--city", "astana"], env=env)
    assert res.exit_code == 0, res.output
    q = pd.read_csv(out, sep=";", dtype=str, encoding="utf-8-sig")
    assert q["_reason"].tolist() == ["bad_date", "unknown_article"]
    assert q["Адрес места происшествия"].tolist()[0] == "'@ул. Абая"  # neutralised in the export
    res = r.invoke(app, ["quarantine", "list", "--city", "astana", "--json"], env=env)
    assert json.loads(res.output)["reasons"] == {"bad_date": 1, "unknown_article": 1}
    # the analyst fixes one row, leaves the other, and re-ingests the file
    q.loc[0, "Дата совершения"] = "28.02.2024 12:00"
    q.to_csv(out, sep=";", index=False, encoding="utf-8-sig")
    rep2 = ingest_file(out, city="astana", store=store, source="fixes")
    assert rep2.to_json() == {"input": 2, "accepted": 1, "duplicates": 0, "quarantined": 1,
                              "reasons": {"unknown_article": 1}}
    got = store.query_incidents("astana").set_index("source_id")
    assert got.loc["2", "address_raw"] == "@ул. Абая"  # the quote is stripped again on re-ingest
    assert got.loc["2", "source"] == "erdr"  # the original source travels in _source
    open_q = store.quarantine_rows("astana")
    assert open_q["reason"].tolist() == ["unknown_article"] and len(store.quarantine_rows("astana", status=None)) == 2


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "parquet"])
def test_exports_read_back(tmp_path, store, fmt):
    rows = [["1", "01.02.2024 12:00", "188", "Двор", "ул. Кенесары 1", "51,1694", "71,4491"],
            ["2", "01.02.2024 13:00", "191", "Двор", "ул. Абая 2", "", ""]]
    ingest_file(_write(tmp_path, rows), city="astana", store=store, source="erdr")
    df = store.query_incidents("astana")
    p = export_incidents(df, tmp_path / f"out.{fmt}", fmt, tz="Asia/Almaty")
    back = pd.read_parquet(p) if fmt == "parquet" else gpd.read_file(p)
    assert len(back) == 2 and set(back["source_id"]) == {"1", "2"}
    if fmt != "parquet":
        pts = back.set_index("source_id").geometry
        assert pts["1"].x == pytest.approx(71.4491)
        assert pts["2"] is None  # no location: a missing geometry, not a point


def test_query_filters(tmp_path, store):
    rows = [["1", "01.02.2024 12:00", "188", "Двор", "a", "51,1694", "71,4491"],
            ["2", "05.02.2024 12:00", "191", "Двор", "b", "51,1280", "71,4300"],
            ["3", "09.02.2024 12:00", "188", "Двор", "c", "", ""]]
    ingest_file(_write(tmp_path, rows), city="astana", store=store, source="erdr")
    q = store.query_incidents
    assert len(q("astana")) == 3 and len(q("almaty")) == 0
    assert q("astana", categories=["theft"])["source_id"].tolist() == ["1", "3"]
    assert q("astana", start="2024-02-03", end="2024-02-06")["source_id"].tolist() == ["2"]
    assert q("astana", located_only=True)["source_id"].tolist() == ["1", "2"]
    assert q("astana", bbox=(71.44, 51.16, 71.46, 51.18))["source_id"].tolist() == ["1"]
    assert q("astana", min_precision="address")["source_id"].tolist() == ["1", "2"]
    d = q("astana")["district"].iloc[0]
    assert q("astana", districts=[d])["district"].eq(d).all()
    assert len(q("astana", limit=1)) == 1


def test_layers_round_trip(store):
    lamps = gpd.GeoDataFrame({"lamp_id": [1, 2], "height_m": [8.0, 10.0], "flux_lm": [12000.0, 9000.0],
                              "lamp_class": ["LED", "HPS"], "working": [True, False], "note": ["a", None]},
                             geometry=shapely.points([71.40, 71.41], [51.10, 51.11]), crs=4326)
    v0 = store.data_version("astana")
    assert store.save_layer("astana", "lamps", lamps) == 2
    assert store.data_version("astana") != v0
    back = store.load_layer("astana", "lamps")
    assert back.crs.to_epsg() == 4326 and back["lamp_id"].tolist() == [1, 2]
    assert back["working"].tolist() == [True, False] and back["note"].tolist()[0] == "a"
    assert shapely.equals_exact(back.geometry.values, lamps.geometry.values, 1e-9).all()
    # metric CRS in, WGS84 stored; unknown layers are kept generically; replace is whole-layer
    bm = gpd.GeoDataFrame({"kind": ["school"]}, geometry=[shapely.box(0, 0, 100, 100)], crs=32642)
    store.save_layer("astana", "schools", bm)
    assert store.list_layers("astana") == {"lamps": 2, "schools": 1}
    sc = store.load_layer("astana", "schools")
    assert sc["kind"].tolist() == ["school"] and 60 < sc.geometry.iloc[0].centroid.x < 70
    store.save_layer("astana", "lamps", lamps.iloc[:1])
    assert len(store.load_layers("astana", ["lamps"])["lamps"]) == 1


def test_audit_and_api_keys(store):
    key = store.create_api_key("analyst", "Almaty akimat GIS")
    assert key.startswith("qk_") and len(key) > 30
    k = store.verify_api_key(key)
    assert k is not None and k.role == "analyst" and k.label == "Almaty akimat GIS"
    assert store.verify_api_key(key + "x") is None and store.verify_api_key("") is None
    with store.engine.connect() as c:
        stored = c.execute(text("SELECT key_hash FROM api_keys")).scalars().all()
    assert key not in stored  # only the hash is kept
    assert store.revoke_api_key(k.id) and store.verify_api_key(key) is None
    with pytest.raises(ValueError):
        store.create_api_key("  ")
    store.audit("incidents.read", who="u1", role="police", resource="/api/v1/cities/astana/incidents",
                params={"limit": 10})
    log = store.audit_log(10)
    assert log["action"].iloc[0] == "incidents.read" and json.loads(log["params"].iloc[0]) == {"limit": 10}


def test_batches_log(tmp_path, store):
    rows = [["1", "01.02.2024 12:00", "188", "Двор", "a", "51,1694", "71,4491"]]
    p = _write(tmp_path, rows)
    ingest_file(p, city="astana", store=store, source="erdr", who="analyst1")
    b = store.batches("astana")
    assert b[["n_input", "n_accepted", "n_duplicates", "n_quarantined", "status", "who"]].iloc[0].tolist() == \
        [1, 1, 0, 0, "done", "analyst1"]
    import hashlib

    assert b["file_sha256"].iloc[0] == hashlib.sha256(p.read_bytes()).hexdigest()
    assert np.isfinite(store.query_incidents("astana")["lat"]).all()
