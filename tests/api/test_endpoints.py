"""Every endpoint with every role: status codes, content, problem+json errors, audit, caching."""
from __future__ import annotations

import io

import h3
import numpy as np
import pytest

API = "/api/v1"
ROLES = ("public", "analyst", "planner", "commander", "admin")
PROBLEM = "application/problem+json"

# endpoint -> roles allowed (everyone else: 401 for public, 403 for the others)
MATRIX = {
    "/health": set(ROLES),
    "/ready": set(ROLES),
    "/cities": set(ROLES),
    "/cities/astana": set(ROLES),
    "/cities/astana/districts.geojson": set(ROLES),
    "/cities/astana/streets.geojson": set(ROLES),
    "/categories": set(ROLES),
    "/config": set(ROLES),
    "/me": set(ROLES),
    "/public/cities/astana/districts": set(ROLES),
    "/public/cities/astana/districts.geojson": set(ROLES),
    "/public/cities/astana/cells.geojson": set(ROLES),
    "/cities/astana/layers": {"analyst", "planner", "commander", "admin"},
    "/cities/astana/layers/cameras.geojson": {"analyst", "planner", "commander", "admin"},
    "/cities/astana/hotspots.geojson": {"analyst", "planner", "commander", "admin"},
    "/cities/astana/hotspots.tif": {"analyst", "planner", "commander", "admin"},
    "/cities/astana/heat/legend": {"analyst", "planner", "commander", "admin"},
    "/cities/astana/heat/11/1421/678.png": {"analyst", "planner", "commander", "admin"},
    "/cities/astana/incidents?limit=5": {"analyst", "commander", "admin"},
    "/cities/astana/cpted/blocks.geojson": {"analyst", "planner", "commander", "admin"},
    "/cities/astana/cpted/fix-first?limit=5": {"analyst", "planner", "commander", "admin"},
    "/cities/astana/recommendations/sos.geojson?n=5": {"analyst", "planner", "commander", "admin"},
    "/cities/astana/patrol-plans.geojson?units=2": {"commander", "admin"},
    "/cities/astana/patrol-cards.html?units=2": {"commander", "admin"},
    "/admin/keys": {"admin"},
    "/admin/audit?limit=5": {"admin"},
}


@pytest.mark.parametrize("path", sorted(MATRIX))
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(client, headers, path, role):
    r = client.get(API + path, headers=headers[role])
    if role in MATRIX[path]:
        assert r.status_code == 200, (role, path, r.status_code, r.text[:300])
    else:
        assert r.status_code == (401 if role == "public" else 403), (role, path, r.status_code)
        assert r.headers["content-type"] == PROBLEM
        body = r.json()
        assert body["status"] == r.status_code and body["type"].startswith("https://") and body["detail"]


def test_bad_key_is_401(client):
    r = client.get(API + "/me", headers={"X-API-Key": "qk_not-a-key"})
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
    r = client.get(API + "/me", headers={"Authorization": "Bearer qk_not-a-key"})
    assert r.status_code == 401


def test_bearer_works_like_header(client, api_env):
    r = client.get(API + "/me", headers={"Authorization": f"Bearer {api_env['keys']['commander']}"})
    assert r.status_code == 200 and r.json()["role"] == "commander"


def test_errors_are_problem_json(client, headers):
    cases = [
        ("GET", "/api/v1/no/such/route", 404),
        ("POST", "/api/v1/health", 405),
        ("GET", "/api/v1/cities/atlantis", 422),
        ("GET", "/api/v1/cities/astana/hotspots.geojson?res=99", 422),
        ("GET", "/api/v1/cities/astana/hotspots.geojson?hours=7-7", 422),
        ("GET", "/api/v1/cities/astana/heat/3/99/0.png", 400),
    ]
    for method, path, code in cases:
        r = client.request(method, path, headers=headers["admin"])
        assert r.status_code == code, (path, r.status_code, r.text[:200])
        assert r.headers["content-type"] == PROBLEM
        b = r.json()
        assert set(b) >= {"type", "title", "status", "detail", "instance"} and b["status"] == code
    r = client.get("/api/v1/cities/astana/hotspots.geojson?res=99", headers=headers["admin"])
    assert r.json()["errors"][0]["loc"] == ["query", "res"]


def test_cities_and_basemap(client):
    c = client.get(API + "/cities/astana").json()
    assert c["tz"] == "Asia/Almaty" and len(c["districts"]) == 6
    d = client.get(API + "/cities/astana/districts.geojson").json()
    assert len(d["features"]) == 6
    s = client.get(API + "/cities/astana/streets.geojson").json()
    assert len(s["features"]) > 1000
    assert {f["geometry"]["type"] for f in s["features"]} <= {"LineString", "MultiLineString"}


def test_hotspots_geojson_matches_engine(client, headers, api_env):
    from qauipsiz.hotspot.surface import hotspot_table

    r = client.get(API + "/cities/astana/hotspots.geojson?res=9", headers=headers["analyst"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    fc = r.json()
    feats = fc["features"]
    assert feats and fc["meta"]["res"] == 9
    ids = [f["properties"]["h3"] for f in feats]
    assert all(isinstance(i, str) and h3.is_valid_cell(i) and h3.get_resolution(i) == 9 for i in ids)
    # the same numbers as the engine on the same incidents
    inc = api_env["store"].query_incidents("astana", located_only=True)
    ref = hotspot_table(inc, "astana", res=9, lisa=False).set_index("h3")
    for f in feats[:200]:
        p = f["properties"]
        row = ref.loc[np.uint64(int(p["h3"], 16))]
        assert p["count"] == row["count"]
        assert p["gi_bin"] == row["gi_bin"]
        assert p["gi_z"] == pytest.approx(row["gi_z"], abs=1e-4)
    assert sum(p["properties"]["count"] for p in feats) == int(ref["count"].sum())
    # hexagon geometry is the cell's boundary
    f0 = feats[0]
    lat, lon = h3.cell_to_latlng(f0["properties"]["h3"])
    xs = [x for x, _ in f0["geometry"]["coordinates"][0]]
    ys = [y for _, y in f0["geometry"]["coordinates"][0]]
    assert min(xs) < lon < max(xs) and min(ys) < lat < max(ys)


def test_hotspot_filters_change_result(client, headers):
    a = client.get(API + "/cities/astana/hotspots.geojson", headers=headers["analyst"]).json()
    b = client.get(API + "/cities/astana/hotspots.geojson?category=theft&light=dark&hours=18-02",
                   headers=headers["analyst"]).json()
    na = sum(f["properties"]["count"] for f in a["features"])
    nb = sum(f["properties"]["count"] for f in b["features"])
    assert 0 < nb < na


def test_etag_and_cache(client, headers, app):
    url = API + "/cities/astana/hotspots.geojson?res=8"
    r1 = client.get(url, headers=headers["planner"])
    et = r1.headers["etag"]
    r2 = client.get(url, headers={**headers["planner"], "If-None-Match": et})
    assert r2.status_code == 304
    stats = app.state.services.cache.stats()
    assert stats["entries"] > 0 and stats["hits"] >= 0


def test_heat_tiles(client, headers):
    from PIL import Image

    from qauipsiz.maps.tiles import lonlat_to_tile

    x, y = lonlat_to_tile(71.43, 51.13, 12)
    r = client.get(API + f"/cities/astana/heat/12/{x}/{y}.png", headers=headers["analyst"])
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    im = np.asarray(Image.open(io.BytesIO(r.content)))
    assert im.shape == (256, 256, 4) and im[..., 3].max() > 0, "central Astana tile should show density"
    far = client.get(API + "/cities/astana/heat/12/0/0.png", headers=headers["analyst"])
    assert np.asarray(Image.open(io.BytesIO(far.content)))[..., 3].max() == 0
    leg = client.get(API + "/cities/astana/heat/legend", headers=headers["analyst"]).json()
    assert leg["vmax"] > 0 and leg["bandwidth_m"] > 0


def test_geotiff(client, headers, tmp_path):
    import rasterio

    r = client.get(API + "/cities/astana/hotspots.tif?cell_m=100", headers=headers["commander"])
    assert r.status_code == 200 and r.content[:4] in (b"II*\x00", b"MM\x00*")
    p = tmp_path / "d.tif"
    p.write_bytes(r.content)
    with rasterio.open(p) as ds:
        assert ds.crs.to_epsg() == 32642 and ds.res == (100.0, 100.0)
        g = ds.read(1)
        assert g.max() > 0 and np.isfinite(g).all()


def test_incident_query_is_audited(client, headers, api_env):
    store = api_env["store"]
    before = len(store.audit_log(10_000, action="incidents.read"))
    r = client.get(API + "/cities/astana/incidents?limit=3&category=theft", headers=headers["commander"])
    assert r.status_code == 200
    fc = r.json()
    assert len(fc["features"]) == 3 and all(f["properties"]["category"] == "theft" for f in fc["features"])
    assert int(r.headers["x-total-count"]) > 3
    log = store.audit_log(10_000, action="incidents.read")
    assert len(log) == before + 1
    e = log.iloc[0]
    assert e["role"] == "commander" and "theft" in e["params"] and e["resource"].endswith("/incidents")
    csv = client.get(API + "/cities/astana/incidents?limit=3&format=csv", headers=headers["analyst"])
    assert csv.text.splitlines()[0].startswith("incident_id,")


def test_patrol_read_is_audited(client, headers, api_env):
    store = api_env["store"]
    before = len(store.audit_log(10_000, action="patrol.read"))
    r = client.get(API + "/cities/astana/patrol-plans.geojson?units=2", headers=headers["commander"])
    assert r.status_code == 200
    kinds = {f["properties"]["feature"] for f in r.json()["features"]}
    assert kinds == {"route", "stop"}
    assert len(store.audit_log(10_000, action="patrol.read")) == before + 1


def test_public_indicators_suppress_small_counts(client, api_env):
    r = client.get(API + "/public/cities/astana/districts")
    body = r.json()
    k = body["min_count"]
    assert k == 5
    assert body["districts"] and not all(d["suppressed"] for d in body["districts"])
    for d in body["districts"]:
        if d["suppressed"]:
            assert d["count"] is None and d["rate_per_1000"] is None
        else:
            assert d["count"] >= k
        vals = list(d["by_group"].values())
        assert all(v is None or v >= k for v in vals)  # zero is suppressed too
        assert d["suppressed"] or set(d["by_group"]) == {"violent", "property", "street"}
    # a group, not arbitrary categories: the violent group per district per year is small in the reduced demo
    years = sorted({int(y) for y in api_env["store"].query_incidents("astana")["occurred_at"].dt.year})
    rare = [client.get(API + f"/public/cities/astana/districts?group=violent&year={y}").json() for y in years]
    assert all(r["group"] == "violent" for r in rare)
    assert client.get(API + "/public/cities/astana/districts?group=murder").status_code == 422
    # district totals agree with the store, rounded to the nearest 5; rates come from the rounded counts
    assert body["rounded_to"] == 5 and "rounded to the nearest 5" in body["notice"]
    inc = api_env["store"].query_incidents("astana", located_only=True)
    shown = {d["district"]: d for d in body["districts"] if d["count"] is not None}
    assert shown
    for dist, d in shown.items():
        true = int((inc["district"] == dist).sum())
        assert d["count"] % 5 == 0 and abs(d["count"] - true) <= 2
        if d["population"]:
            assert d["rate_per_1000"] == round(1000 * d["count"] / d["population"], 2)
    cells = client.get(API + "/public/cities/astana/cells.geojson?res=7").json()
    assert cells["features"] and cells["min_count"] == k
    for f in cells["features"]:  # cells below k are not published at all
        p = f["properties"]
        assert p["count"] >= k and p["count"] % 5 == 0
        assert h3.get_resolution(p["h3"]) == 7
    assert client.get(API + "/public/cities/astana/cells.geojson?res=9").status_code == 422


def test_cpted_and_recommendations(client, headers):
    b = client.get(API + "/cities/astana/cpted/blocks.geojson", headers=headers["planner"]).json()
    scores = [f["properties"]["score"] for f in b["features"]]
    assert scores and all(s is None or 0 <= s <= 100 for s in scores)
    ff = client.get(API + "/cities/astana/cpted/fix-first?limit=5&lang=kk", headers=headers["planner"]).json()
    assert [r["priority_rank"] for r in ff] == sorted(r["priority_rank"] for r in ff) and "fix_1_kk" in ff[0]
    rec = client.get(API + "/cities/astana/recommendations/sos.geojson?n=5", headers=headers["analyst"]).json()
    gains = [f["properties"]["marginal_gain"] for f in rec["features"]]
    assert len(gains) == 5 and gains == sorted(gains, reverse=True)


@pytest.fixture
def own_env(api_env, tmp_path):
    """A copy of the session store (SQLite backup, keys included) with its own app and client, for a
    test that writes incidents: the session-wide store the other tests read stays as it was."""
    import dataclasses
    import sqlite3

    from fastapi.testclient import TestClient

    from qauipsiz.api.app import create_app
    from qauipsiz.api.store import Store

    src = api_env["settings"].database_url.removeprefix("sqlite:///")
    dst = tmp_path / "store.db"
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    url = f"sqlite:///{dst}"
    store = Store(url)
    settings = dataclasses.replace(api_env["settings"], data_dir=tmp_path, database_url=url)
    app = create_app(settings, store=store)
    shared = api_env["store"].count_incidents("astana")
    with TestClient(app, raise_server_exceptions=False) as c:
        yield {"store": store, "app": app, "client": c}
    store.close()
    assert api_env["store"].count_incidents("astana") == shared  # the session store was not written


def test_upload_ingests_and_invalidates(own_env, headers):
    client, app, api_env = own_env["client"], own_env["app"], own_env
    svc = app.state.services
    v0 = svc.version("astana")
    n0 = api_env["store"].count_incidents("astana")
    csv = ("Номер ЕРДР;Дата совершения;Дата регистрации;Статья УК РК;Место совершения;Адрес места происшествия;"
           "Широта;Долгота\n"
           "999000000000001;05.06.2025 23:10;06.06.2025 09:00;188 ч.2;улица;ул. Кенесары, 40;51,1690;71,4300\n"
           "999000000000002;06.06.2025 01:20;06.06.2025 10:00;191 ч.1;двор;ул. Кенесары, 42;51,1692;71,4310\n"
           "999000000000003;не дата;06.06.2025 10:00;191 ч.1;двор;ул. Кенесары, 42;51,1692;71,4310\n")
    files = {"file": ("upload.csv", csv.encode("utf-8-sig"), "text/csv")}
    assert client.post(API + "/cities/astana/incidents", files=files, headers=headers["commander"]).status_code == 403
    assert client.post(API + "/cities/astana/incidents", files=files).status_code == 401
    r = client.post(API + "/cities/astana/incidents", files=files, data={"source": "upload_test"},
                    headers=headers["analyst"])
    assert r.status_code == 201, r.text
    rep = r.json()
    assert rep["input"] == 3 and rep["accepted"] + rep["duplicates"] + rep["quarantined"] == 3
    assert rep["accepted"] == 2 and rep["quarantined"] == 1
    assert api_env["store"].count_incidents("astana") == n0 + 2
    assert rep["data_version"] != v0 and svc.version("astana") == rep["data_version"]
    assert len(api_env["store"].audit_log(10_000, action="incidents.upload")) >= 1
    bad = client.post(API + "/cities/astana/incidents", files={"file": ("x.exe", b"MZ", "application/x")},
                      headers=headers["admin"])
    assert bad.status_code == 415 and bad.headers["content-type"] == PROBLEM


def test_body_limit_413(client, headers):
    big = b"x" * (6 * 2**20)  # limit in the fixture: 5 MiB
    r = client.post(API + "/cities/astana/incidents", files={"file": ("big.csv", big, "text/csv")},
                    headers=headers["admin"])
    assert r.status_code == 413 and r.headers["content-type"] == PROBLEM

    def chunks():  # no Content-Length: the limit is found while the body streams
        yield b'--xx\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
        for _ in range(100):
            yield b"x" * 65536
        yield b"\r\n--xx--\r\n"

    r = client.post(API + "/cities/astana/incidents", content=chunks(),
                    headers={**headers["admin"], "content-type": "multipart/form-data; boundary=xx"})
    assert r.request.headers.get("transfer-encoding") == "chunked"
    assert r.status_code == 413 and r.headers["content-type"] == PROBLEM, r.text[:200]


def test_design_review(client, headers):
    from pathlib import Path

    designs = Path(__file__).resolve().parents[2] / "data" / "designs"

    def post(name, role, **q):
        with open(designs / name, "rb") as fh:
            return client.post(API + "/review", params=q, headers=headers[role],
                               files={"file": (name, fh.read(), "application/geo+json")})

    bad, good = post("yard_bad.geojson", "planner").json(), post("yard_good.geojson", "planner").json()
    assert bad["summary"]["FAIL"] > 0 and good["summary"]["FAIL"] == 0
    failing = [r for r in bad["rules"] if r["status"] == "FAIL"]
    assert all(r["title_kk"] and r["source"] for r in failing)
    assert any(r["failing"] and r["failing"]["type"] == "FeatureCollection" for r in failing)
    html = post("yard_bad.geojson", "analyst", format="html", lang="kk")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "<svg" in html.text and "http" not in html.text.replace("http://www.w3.org", "")
    assert post("yard_bad.geojson", "commander").status_code == 403
    assert post("yard_bad.geojson", "public").status_code == 401
    r = client.post(API + "/review", headers=headers["planner"], files={"file": ("x.geojson", b"{not json")})
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM
    r = client.post(API + "/review", headers=headers["planner"],
                    files={"file": ("x.geojson", b'{"type":"FeatureCollection","features":[{"type":"Feature"}]}')})
    assert r.status_code == 400 and "kind" in r.json()["detail"]


def test_key_admin_cycle(client, headers):
    r = client.post(API + "/admin/keys", json={"role": "planner", "label": "temp"}, headers=headers["admin"])
    assert r.status_code == 201
    k = r.json()
    assert client.get(API + "/me", headers={"X-API-Key": k["key"]}).json()["role"] == "planner"
    assert all("key" not in row for row in client.get(API + "/admin/keys", headers=headers["admin"]).json())
    assert client.delete(API + f"/admin/keys/{k['id']}", headers=headers["admin"]).status_code == 204
    assert client.get(API + "/me", headers={"X-API-Key": k["key"]}).status_code == 401
    assert client.post(API + "/admin/keys", json={"role": "root"}, headers=headers["admin"]).status_code == 422


def test_cors_off_unless_configured(api_env):
    import dataclasses

    from fastapi.testclient import TestClient

    from qauipsiz.api.app import create_app

    pre = {"Origin": "https://example.org", "Access-Control-Request-Method": "GET"}
    with TestClient(create_app(api_env["settings"], store=api_env["store"])) as c:
        r = c.get(API + "/health", headers={"Origin": "https://example.org"})
        assert "access-control-allow-origin" not in r.headers
    s = dataclasses.replace(api_env["settings"], cors_origins=("https://example.org",))
    with TestClient(create_app(s, store=api_env["store"])) as c:
        r = c.options(API + "/health", headers=pre)
        assert r.headers.get("access-control-allow-origin") == "https://example.org"


def test_timeout_504(api_env):
    import asyncio
    import dataclasses

    from fastapi.testclient import TestClient

    from qauipsiz.api.app import create_app

    s = dataclasses.replace(api_env["settings"], request_timeout_s=0.2)
    app = create_app(s, store=api_env["store"])

    @app.get("/api/v1/_slow", include_in_schema=False)
    async def slow():
        await asyncio.sleep(2)
        return {"ok": True}

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/api/v1/_slow")
    assert r.status_code == 504 and r.headers["content-type"] == PROBLEM


def test_dashboard_and_vendored_assets(client):
    r = client.get("/")
    assert r.status_code == 200 and "QAUIPSIZ_CONFIG" in r.text
    assert "cdn" not in r.text.lower() and "unpkg" not in r.text.lower()
    for a in ("/static/vendor/leaflet/leaflet.js", "/static/vendor/leaflet/leaflet.css", "/static/app.js",
              "/static/i18n.js", "/static/vendor/leaflet/images/layers.png"):
        assert client.get(a).status_code == 200, a
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "qauipsiz"
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "cdn.jsdelivr" not in docs.text
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_response_cache_keeps_authorisation(client, headers):
    url = API + "/cities/astana/hotspots.geojson?res=7"
    r1 = client.get(url, headers=headers["analyst"])
    r2 = client.get(url, headers=headers["analyst"])  # from the response cache
    assert r1.status_code == r2.status_code == 200 and r1.content == r2.content
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"X-API-Key": "qk_forged"}).status_code == 401
    k = client.post(API + "/admin/keys", json={"role": "analyst", "label": "cache"}, headers=headers["admin"]).json()
    assert client.get(url, headers={"X-API-Key": k["key"]}).status_code == 200
    assert client.delete(API + f"/admin/keys/{k['id']}", headers=headers["admin"]).status_code == 204
    assert client.get(url, headers={"X-API-Key": k["key"]}).status_code == 401
    # audited resources are never served from the cache: every read is logged
    assert client.get(API + "/cities/astana/incidents?limit=1", headers=headers["analyst"]).headers[
        "cache-control"].endswith("no-store")


def test_cached_geojson_gzip(client, headers):
    import gzip

    url = API + "/cities/astana/hotspots.geojson?res=8&light=dark"
    plain = client.get(url, headers={**headers["analyst"], "Accept-Encoding": "identity"})
    again = client.get(url, headers={**headers["analyst"], "Accept-Encoding": "gzip"})
    assert again.headers.get("content-encoding") == "gzip"
    assert again.content == plain.content  # httpx decodes; same document
    raw = client.get(url, headers={**headers["analyst"], "Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers and raw.content == plain.content
    assert "Accept-Encoding" in again.headers["vary"]
    assert gzip.decompress(gzip.compress(plain.content)) == plain.content
