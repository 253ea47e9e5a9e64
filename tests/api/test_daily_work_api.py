"""Issue 17 on the API side: the synthetic flag of a city, stable error codes, route cards for the screen."""
from __future__ import annotations

import dataclasses


def test_synthetic_flag_follows_the_source(client, api_env, demo_dir, tmp_path):
    from fastapi.testclient import TestClient

    from qauipsiz.api.app import create_app
    from qauipsiz.api.ingest import ingest_file
    from qauipsiz.api.store import Store

    c = client.get("/api/v1/cities/astana").json()
    assert c["synthetic"] is True and "SYNTHETIC" in c["notice"]
    assert next(x for x in client.get("/api/v1/cities").json() if x["city"] == "astana")["synthetic"] is True
    # the same rows ingested as a police register: not flagged
    url = f"sqlite:///{tmp_path / 'real.db'}"
    store = Store(url)
    ingest_file(demo_dir / "incidents_export.csv", city="astana", store=store, source="erdr")
    app = create_app(dataclasses.replace(api_env["settings"], database_url=url, data_dir=tmp_path), store=store)
    with TestClient(app) as other:
        c = other.get("/api/v1/cities/astana").json()
    assert c["synthetic"] is False and c["notice"] is None


def test_stable_error_codes(client, headers):
    r = client.post("/api/v1/review", params={"city": "astana"}, headers=headers["analyst"],
                    files={"file": ("garbage.csv", b"\xff\xfe,;", "text/csv")})
    assert r.status_code == 400 and r.json()["type"].endswith("/invalid-design")
    r = client.get("/api/v1/cities/astana/hotspots.geojson", params={"start": "2025-06-01", "end": "2025-01-01"},
                   headers=headers["analyst"])
    assert r.status_code == 422 and r.json()["type"].endswith("/invalid-date-range")


def test_route_cards_for_screen():
    from qauipsiz.maps.route_cards import for_screen

    doc = "<!doctype html><html><head><meta charset=\"utf-8\"><title>x</title></head><body><h1>1</h1></body></html>"
    out = for_screen(doc, "kk")
    assert out.count('name="viewport"') == 1 and "@media print" in out and "Басып шығару" in out
    assert out.index('name="viewport"') < out.index("</head>") < out.index('id="qz-print"') < out.index("<h1>")
    assert for_screen(out, "kk") == out
