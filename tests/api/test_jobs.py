"""Background jobs (api/jobs.py): 202 + status URL, the same bytes as the synchronous route, owner-only
access, failures as problem documents, bounded records, and cheap requests answered while a job runs."""
from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime

import pytest

API = "/api/v1"
PROBLEM = "application/problem+json"
PLANS = API + "/cities/astana/patrol-plans.geojson"
CARDS = API + "/cities/astana/patrol-cards.html"


def wait_done(client, url: str, hdr: dict, polls: int = 6000) -> dict:
    """Poll a job's status URL until it is done or failed (bounded number of polls, never a time assert)."""
    seen = []
    for _ in range(polls):
        r = client.get(url, headers=hdr)
        assert r.status_code == 200, r.text[:300]
        assert "no-store" in r.headers["cache-control"]
        doc = r.json()
        seen.append(doc["status"])
        if doc["status"] in ("done", "failed"):
            return doc
        assert r.headers.get("retry-after") == "1"
        time.sleep(0.05)
    raise AssertionError(f"job {url} did not finish; statuses seen {sorted(set(seen))}")


def submit(client, url: str, params: dict, hdr: dict, *, prefer: bool = False) -> tuple[str, dict]:
    if prefer:
        r = client.get(url, params=params, headers={**hdr, "Prefer": "respond-async"})
    else:
        r = client.get(url, params={**params, "async": "true"}, headers=hdr)
    assert r.status_code == 202, r.text[:300]
    loc = r.headers["location"]
    doc = r.json()
    assert loc == f"{API}/jobs/{doc['id']}" == doc["href"]
    assert r.headers["preference-applied"] == "respond-async"
    assert doc["status"] in ("queued", "running", "done")
    return loc, doc


@pytest.mark.parametrize("url,extra,prefer", [(PLANS, {}, False), (CARDS, {"lang": "kk"}, True)])
def test_async_result_equals_sync(client, headers, api_env, url, extra, prefer):
    store = api_env["store"]
    hdr = headers["commander"]
    params = {"shift": "2025-12-07 19:00/01:00", "units": 2, "station": 0, **extra}
    sync = client.get(url, params=params, headers=hdr)
    assert sync.status_code == 200, sync.text[:300]
    before = len(store.audit_log(10_000, action="patrol.read"))

    loc, _ = submit(client, url, params, hdr, prefer=prefer)
    # the submission is audited at once, like the synchronous read
    assert len(store.audit_log(10_000, action="patrol.read")) == before + 1
    doc = wait_done(client, loc, hdr)
    assert doc["status"] == "done" and doc["problem"] is None, doc
    assert doc["started"] and doc["finished"] and doc["created"] <= doc["started"] <= doc["finished"]
    assert doc["result"] == loc + "/result"
    res = client.get(doc["result"], headers=hdr)
    assert res.status_code == 200
    assert res.content == sync.content
    assert res.headers["content-type"].split(";")[0] == sync.headers["content-type"].split(";")[0]
    assert "no-store" in res.headers["cache-control"]
    # reading the result is a restricted read too: audited with the job id and the plan's parameters
    log = store.audit_log(10_000, action="patrol.read")
    assert len(log) == before + 2
    assert log.iloc[0]["resource"] == doc["result"] and doc["id"] in log.iloc[0]["params"]


def test_other_principals_cannot_see_a_job(client, headers):
    hdr = headers["commander"]
    loc, doc = submit(client, PLANS, {"shift": "2025-12-07 19:00/01:00", "units": 2, "station": 0}, hdr)
    wait_done(client, loc, hdr)
    for role in ("admin", "analyst", "planner", "public"):
        for u in (loc, loc + "/result"):
            r = client.get(u, headers=headers[role])
            assert r.status_code == (401 if role == "public" else 404), (role, u, r.status_code)
            assert r.headers["content-type"] == PROBLEM
            assert "features" not in r.text
    assert client.get(loc, headers=hdr).status_code == 200
    # ids that cannot be one, or path tricks, are just not found
    for bad in ("x", "..%2F..%2Fstore.db", "a" * 64, doc["id"][:-1] + ("A" if doc["id"][-1] != "A" else "B")):
        assert client.get(f"{API}/jobs/{bad}", headers=hdr).status_code == 404


def test_roles_of_async_routes(client, headers):
    """``?async=true`` is no way around the route's role check."""
    for role, code in (("public", 401), ("analyst", 403), ("planner", 403)):
        r = client.get(PLANS, params={"async": "true", "units": 1}, headers=headers[role])
        assert r.status_code == code and r.headers["content-type"] == PROBLEM
    r = client.get(API + "/cities/astana/recommendations/posts.geojson", params={"n": 3, "async": "true"},
                   headers=headers["public"])
    assert r.status_code == 401


def test_failing_job_reports_a_problem(client, headers):
    hdr = headers["commander"]
    params = {"shift": "2025-12-07 19:00/01:00", "units": 1, "station": 9999}
    sync = client.get(PLANS, params=params, headers=hdr)
    assert sync.status_code == 422 and sync.headers["content-type"] == PROBLEM
    loc, _ = submit(client, PLANS, params, hdr)
    doc = wait_done(client, loc, hdr)
    assert doc["status"] == "failed"
    pr = doc["problem"]
    assert pr["status"] == 422 and pr["type"] == sync.json()["type"] and pr["detail"] == sync.json()["detail"]
    res = client.get(doc["result"], headers=hdr)  # the job failed, not this request: 409 job-failed
    assert res.status_code == 409 and res.headers["content-type"] == PROBLEM
    jp = res.json()["job_problem"]
    assert res.json()["type"].endswith("/job-failed")
    assert (jp["status"], jp["type"], jp["detail"]) == (pr["status"], pr["type"], pr["detail"])


def test_recommendations_async_equals_sync(client, headers):
    hdr = headers["planner"]
    url = API + "/cities/astana/recommendations/cameras.geojson"
    loc, _ = submit(client, url, {"n": 4, "lang": "en"}, hdr)
    doc = wait_done(client, loc, hdr)
    assert doc["status"] == "done", doc
    sync = client.get(url, params={"n": 4, "lang": "en"}, headers=hdr)
    assert sync.status_code == 200
    assert client.get(doc["result"], headers=hdr).content == sync.content
    assert len(sync.json()["features"]) == 4


def test_cheap_requests_answered_while_a_job_runs(client, headers):
    """The event loop is free while the pool computes: a cheap request issued while a long plan is
    running completes before the plan does (ordering from the job's own record, no time threshold)."""
    hdr = headers["commander"]
    params = {"shift": "2025-12-08 06:00/18:00", "units": 8, "visits": 4, "station": 0}
    loc, _ = submit(client, PLANS, params, hdr)
    for _ in range(6000):
        st = client.get(loc, headers=hdr).json()["status"]
        if st != "queued":
            break
        time.sleep(0.02)
    answered = []
    while client.get(loc, headers=hdr).json()["status"] == "running" and len(answered) < 20:
        r = client.get(API + "/cities/astana/districts.geojson", headers=hdr)
        assert r.status_code == 200
        answered.append(datetime.now(UTC).isoformat(timespec="milliseconds"))
    doc = wait_done(client, loc, hdr)
    assert doc["status"] == "done", doc
    assert answered, "the job finished before a cheap request could be sent; the test did not run"
    assert all(doc["started"] <= t <= doc["finished"] for t in answered[:-1]), (doc, answered)
    assert answered[0] < doc["finished"]


def test_thread_pool_and_bounds(api_env, headers, tmp_path):
    """The thread-pool variant gives the same bytes; records are swept by count and age."""
    from fastapi.testclient import TestClient

    from qauipsiz.api.app import create_app
    from qauipsiz.api.jobs import JobManager

    s = dataclasses.replace(api_env["settings"], job_pool="thread", data_dir=tmp_path)
    app = create_app(s, store=api_env["store"])
    hdr = headers["commander"]
    params = {"shift": "2025-12-09 20:00/22:00", "units": 1, "station": 0}
    with TestClient(app, raise_server_exceptions=False) as c:
        loc, _ = submit(c, PLANS, params, hdr)
        doc = wait_done(c, loc, hdr)
        assert doc["status"] == "done"
        sync = c.get(PLANS, params=params, headers=hdr)
        assert c.get(doc["result"], headers=hdr).content == sync.content
        assert app.state.jobs.pool_pids() == []  # threads, no processes

    jm = JobManager(s, app.state.services, max_jobs=2, ttl_s=60)
    from qauipsiz.api.auth import Principal

    who = Principal("commander", 1, "t")
    ids = []
    for _ in range(4):
        rec = jm.submit(who, kind="stats", permission="patrol", resource="/x", media_type="application/json",
                        target="qauipsiz.api.jobs:cache_stats", args=())
        ids.append(rec["id"])
        jm.pool().submit(lambda: None).result()  # one thread: the job above has finished
    assert jm.get(ids[-1], who)["status"] == "done"
    jm.sweep()
    kept = [i for i in ids if jm._read(i) is not None]
    assert len(kept) == 2 and kept == ids[-2:]
    assert jm.sweep(now=time.time() + 61) == 2
    assert not list(jm.dir.glob("*.json")) and not list(jm.dir.glob("*.result"))
    jm.shutdown()

    # a full pool refuses with 429 + Retry-After and leaves no record behind; finished tasks free their place
    from qauipsiz.api.errors import ApiError

    full = JobManager(s, app.state.services, max_backlog=0)
    with pytest.raises(ApiError) as e:
        full.submit(who, kind="stats", permission="patrol", resource="/x", media_type="application/json",
                    target="qauipsiz.api.jobs:cache_stats", args=())
    assert e.value.status == 429 and e.value.headers["Retry-After"]
    assert not list(full.dir.glob("*.json"))
    one = JobManager(s, app.state.services, max_backlog=1)
    for _ in range(3):
        rec = one.submit(who, kind="stats", permission="patrol", resource="/x", media_type="application/json",
                         target="qauipsiz.api.jobs:cache_stats", args=())
        one.pool().submit(lambda: None).result()
        assert one.get(rec["id"], who)["status"] == "done"
    one.shutdown()
