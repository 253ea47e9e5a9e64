"""Printable route cards: roles, the restricted-use marking, audit, one computation shared with the plan."""
from __future__ import annotations

import re

import pytest

API = "/api/v1"
PROBLEM = "application/problem+json"
SHIFT = "2025-12-05 18:00/02:00"
CARDS = API + "/cities/astana/patrol-cards.html"
PLANS = API + "/cities/astana/patrol-plans.geojson"


@pytest.mark.parametrize("role,code", [("public", 401), ("analyst", 403), ("planner", 403),
                                       ("commander", 200), ("admin", 200)])
def test_cards_roles(client, headers, role, code):
    r = client.get(CARDS, params={"shift": SHIFT, "units": 2}, headers=headers[role])
    assert r.status_code == code, (role, r.status_code, r.text[:300])
    if code != 200:
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["status"] == code and r.json()["detail"]
        assert "ДЛЯ СЛУЖЕБНОГО" not in r.text


def test_cards_content_audit_and_shared_plan(client, headers, api_env, app):
    from qauipsiz.hotspot.patrol_cards import MARKINGS

    MARKING = MARKINGS["ru"]  # the default card language

    store = api_env["store"]
    svc = app.state.jobs  # plans and cards are computed in the job pool (api/jobs.py), with its own cache
    params = {"shift": "2025-12-06 20:00/04:00", "units": 3, "mode": "drive", "station": 0}
    before = len(store.audit_log(10_000, action="patrol.read"))

    plan = client.get(PLANS, params=params, headers=headers["commander"])
    assert plan.status_code == 200, plan.text[:300]
    units = sorted({f["properties"]["unit"] for f in plan.json()["features"] if f["properties"]["feature"] == "route"})
    assert units == [1, 2, 3]
    misses = svc.pool_cache_stats()["misses"]

    r = client.get(CARDS, params=params, headers=headers["commander"])
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")
    assert "no-store" in r.headers["cache-control"]
    html = r.text
    # the plan was not computed again: the only new cache entry is the rendered cards
    assert svc.pool_cache_stats()["misses"] == misses + 1
    # every unit on its own page, each with the restricted-use marking at top and bottom
    assert html.count("<html") == 1 and html.count("</body>") == 1
    for u in units:
        assert re.search(rf"<h1>[^<]*\b{u}</h1>", html), u
    assert html.count(MARKING) == 2 * len(units)
    assert html.count("page-break-after:always") == len(units) - 1
    assert html.count("<svg") == len(units)
    # stop times on the cards are the plan's
    first_stop = next(f["properties"] for f in plan.json()["features"]
                      if f["properties"]["feature"] == "stop" and f["properties"]["unit"] == 1
                      and f["properties"]["seq"] == 1)
    assert f"<td>{first_stop['arrive'][11:16]}</td>" in html

    # one unit's card only; asking again is served from the cache
    one = client.get(CARDS, params={**params, "unit": 2}, headers=headers["admin"])
    assert one.status_code == 200
    assert svc.pool_cache_stats()["misses"] == misses + 1
    assert one.text.count(MARKING) == 2 and re.search(r"<h1>[^<]*\b2</h1>", one.text)
    assert not re.search(r"<h1>[^<]*\b1</h1>", one.text)

    # the cards are in the asked language only: Kazakh labels and marking, no Russian marking
    kk = client.get(CARDS, params={**params, "unit": 2, "lang": "kk"}, headers=headers["admin"])
    assert kk.status_code == 200
    assert kk.text.count(MARKINGS["kk"]) == 2 and MARKING not in kk.text and MARKINGS["en"] not in kk.text

    # every card read is audited, before the data is returned, with its parameters
    log = store.audit_log(10_000, action="patrol.read")
    assert len(log) == before + 4
    new = log.head(4)  # newest first
    assert new["resource"].str.endswith("/patrol-plans.geojson").sum() == 1
    cards_entries = new[new["resource"].str.endswith("/patrol-cards.html")]
    assert len(cards_entries) == 3
    assert set(cards_entries["role"]) == {"commander", "admin"}
    assert all("cards" in p and "2025-12-06 20:00/04:00" in p for p in cards_entries["params"])


def test_cards_bad_requests(client, headers, api_env):
    store = api_env["store"]
    before = len(store.audit_log(10_000, action="patrol.read"))
    r = client.get(CARDS, params={"shift": SHIFT, "units": 2, "unit": 3}, headers=headers["commander"])
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM and "unit=3" in r.json()["detail"]
    r = client.get(CARDS, params={"shift": "tonight", "units": 2}, headers=headers["commander"])
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    r = client.get(CARDS, params={"shift": SHIFT, "units": 2, "mode": "fly"}, headers=headers["commander"])
    assert r.status_code == 422
    # refused requests leak nothing and are not logged as reads
    assert len(store.audit_log(10_000, action="patrol.read")) == before
