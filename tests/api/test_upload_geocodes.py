"""An uploaded export is geocoded like `qauipsiz ingest`: address-only rows get a point."""
from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient


def test_upload_geocodes_address_only_rows(tmp_path, api_env):
    from qauipsiz.api.app import create_app
    from qauipsiz.api.store import Store

    store = Store(f"sqlite:///{tmp_path / 'up.db'}")
    key = store.create_api_key("analyst", "upload test")
    settings = dataclasses.replace(api_env["settings"], data_dir=tmp_path, database_url=str(store.engine.url))
    csv = ("Номер ЕРДР;Дата совершения;Статья УК РК;Адрес места происшествия;Широта;Долгота\n"
           "1;05.06.2025 23:10;188 ч.2;пр. Кабанбай батыра, д. 10;;\n"
           "2;05.06.2025 23:20;188 ч.2;ул. Кенесары, 40;51,1690;71,4300\n")
    with TestClient(create_app(settings, store=store)) as c:
        r = c.post("/api/v1/cities/astana/incidents", headers={"X-API-Key": key},
                   files={"file": ("u.csv", csv.encode("utf-8"), "text/csv")})
    assert r.status_code == 201, r.text
    assert r.json()["accepted"] == 2 and r.json()["awaiting_geocoding"] == 0
    df = store.query_incidents("astana").set_index("source_id")
    assert df.loc["1", "geocode_precision"] in ("address", "street") and 51.0 < df.loc["1", "lat"] < 51.3
    store.close()
