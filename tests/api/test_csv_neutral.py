"""Issue 20.6: every CSV the service or CLI writes goes through one neutralising writer, and
ingestion keeps a leading ``'`` as data."""
from __future__ import annotations

import csv
import dataclasses
import io

import pandas as pd
from fastapi.testclient import TestClient

from qauipsiz.api.store.export import FORMULA_TRIGGERS, csv_text_safe

EVIL = ["=HYPERLINK(\"http://x\",\"y\")", "+7 701 000", "-1+2", "@SUM(A1)", "'=already quoted"]


def test_csv_text_safe_prefixes_every_trigger():
    df = pd.DataFrame({"a": EVIL + ["ул. Абая 1"], "n": [-1, 2, 3, 4, 5, 6]})
    rows = list(csv.reader(io.StringIO(csv_text_safe(df))))
    cells = [r[0] for r in rows[1:]]
    assert cells[:4] == ["'" + v for v in EVIL[:4]]
    assert cells[4:] == ["'=already quoted", "ул. Абая 1"]
    assert [r[1] for r in rows[1:]] == ["-1", "2", "3", "4", "5", "6"]  # numbers stay numbers


def test_api_incident_csv_is_neutralised(tmp_path, api_env):
    from qauipsiz.api.app import create_app
    from qauipsiz.api.ingest import ingest_file
    from qauipsiz.api.store import Store

    url = f"sqlite:///{tmp_path / 's.db'}"
    store = Store(url)
    f = tmp_path / "e.csv"
    body = "\n".join(f"{i};0{i}.02.2024 12:00;188;{a.replace(';', ',')};51,16{90 + i};71,44{90 + i}"
                     for i, a in enumerate(EVIL, start=1))
    f.write_text("Номер ЕРДР;Дата совершения;Статья УК РК;Адрес места происшествия;Широта;Долгота\n" + body + "\n",
                 encoding="utf-8")
    rep = ingest_file(f, city="astana", store=store, source="t", geocoder=None)
    assert rep.accepted == len(EVIL)
    assert "'=already quoted" in set(store.query_incidents("astana")["address_raw"])  # ' kept as data
    key = store.create_api_key("analyst", "t")
    settings = dataclasses.replace(api_env["settings"], data_dir=tmp_path, database_url=url)
    with TestClient(create_app(settings, store=store)) as c:
        r = c.get("/api/v1/cities/astana/incidents", params={"format": "csv", "limit": 100},
                  headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == len(EVIL)
    for row in rows:
        for v in row.values():
            assert not v or v[0] not in FORMULA_TRIGGERS or (v[0] == "-" and v[1:].replace(".", "").isdigit()), v
    assert {row["address_raw"] for row in rows} >= {"'=HYPERLINK(\"http://x\",\"y\")", "'@SUM(A1)", "'=already quoted"}
