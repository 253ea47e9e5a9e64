"""Walk every route of the app with the public role: no incident-level data may come back."""
from __future__ import annotations

import json
import re

import pytest

from qauipsiz.maps.tiles import lonlat_to_tile

INCIDENT_FIELDS = ("incident_id", "source_id", "address_raw", "occurred_at", "reported_at", "ukrk_article",
                   "geocode_precision", "coord_flags")
TILE = lonlat_to_tile(71.43, 51.13, 12)
PATH_VALUES = {"city": "astana", "layer": "cameras", "kind": "sos", "z": "12", "x": str(TILE[0]),
               "y": str(TILE[1]), "key_id": "1", "case_id": "1", "action_id": "1",
               "job_id": "0123456789abcdef0123456789abcdef", "beat": "1"}


def _routes(app):
    spec = app.openapi()
    for path, ops in spec["paths"].items():
        for method in ops:
            yield method.upper(), path
    yield "GET", "/"


def _fill(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


def _counts(obj):
    """Every value of a key named like a count, anywhere in a JSON document."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in ("count",) and isinstance(v, int | float):
                yield v
            elif k == "by_group" and isinstance(v, dict):
                yield from (x for x in v.values() if isinstance(x, int | float))
            else:
                yield from _counts(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _counts(v)


def test_public_role_never_gets_incident_level_data(app, client, api_env):
    store = api_env["store"]
    inc = store.query_incidents("astana")
    ids = set(inc["incident_id"].astype(str))
    source_ids = set(inc["source_id"].astype(str))
    min_k = api_env["settings"].min_public_count
    walked = 0
    allowed = []
    paths = set()
    for method, path in _routes(app):
        paths.add(path)
        url = _fill(path)
        kw = {}
        if method == "POST":
            kw["files"] = {"file": ("x.csv", b"a;b\n1;2\n", "text/csv")}
        r = client.request(method, url, **kw)
        walked += 1
        assert r.status_code < 500, (method, url, r.status_code, r.text[:300])
        if r.status_code >= 400:
            assert r.status_code in (401, 403, 404, 405, 422), (method, url, r.status_code)
            continue
        allowed.append(f"{method} {path}")
        body = r.content.decode("utf-8", "replace")
        for f in INCIDENT_FIELDS:
            assert f'"{f}"' not in body, (method, url, f)
        for token in re.findall(r"[0-9a-f]{16}", body):
            assert token not in ids, (method, url, "incident id leaked")
        for token in re.findall(r"\d{12,}", body):
            assert token not in source_ids, (method, url, "source id leaked")
        if "json" in r.headers.get("content-type", ""):
            doc = json.loads(body)
            small = [c for c in _counts(doc) if 0 < c < min_k]
            assert not small, (method, url, "counts under the public minimum", small[:5])
    assert walked >= 25
    # the walk reaches the restricted patrol resources too (plans and printable route cards)
    assert {"/api/v1/cities/{city}/patrol-plans.geojson", "/api/v1/cities/{city}/patrol-cards.html"} <= paths
    # what the public role can reach is exactly the public set
    restricted = [a for a in allowed if any(s in a for s in ("/incidents", "/hotspots", "/heat", "/patrol",
                                                             "/layers", "/cpted", "/recommendations", "/admin"))]
    assert not restricted, restricted


@pytest.mark.parametrize("path", ["/api/v1/cities/astana/incidents", "/api/v1/cities/astana/patrol-plans.geojson",
                                  "/api/v1/cities/astana/hotspots.geojson",
                                  "/api/v1/cities/astana/heat/12/2818/1325.png"])
def test_restricted_with_wrong_credentials(client, path):
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"X-API-Key": ""}).status_code == 401
    assert client.get(path, headers={"X-API-Key": "qk_guess"}).status_code == 401
