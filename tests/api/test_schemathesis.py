"""Property-based run against the OpenAPI schema, in-process over ASGI: no response may be a 5xx.

Every operation of the schema gets a bounded number of generated cases
(``QAUIPSIZ_SCHEMATHESIS_EXAMPLES``, default 5), sent with the admin key (every operation
reachable) and as the public role.  Every error must be ``application/problem+json``.

The stateful phase follows the schema's OpenAPI links (``QAUIPSIZ_SCHEMATHESIS_STATEFUL``
scenarios per chain, default 6) with every schemathesis check: no 5xx, responses conforming to
their schemas, no undocumented status codes or headers.
"""
from __future__ import annotations

import os
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

N = int(os.environ.get("QAUIPSIZ_SCHEMATHESIS_EXAMPLES", "5"))
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def operations(app):
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    ops = [r.ok() for r in schema.get_all_operations()]
    assert len(ops) >= 25
    return ops


def _ctype(resp) -> str:
    v = resp.headers.get("content-type") or resp.headers.get("Content-Type") or ""
    return v[0] if isinstance(v, list) else v


@pytest.mark.parametrize("role", ["admin", "public"])
def test_no_server_errors(operations, api_env, role):
    hdr = {"X-API-Key": api_env["keys"]["admin"]} if role == "admin" else {}
    failures, calls = [], 0
    for op in operations:
        @given(case=op.as_strategy())
        @settings(max_examples=N if role == "admin" else max(2, N // 2), **SETTINGS)
        def run(case):
            nonlocal calls
            resp = case.call(headers=hdr, timeout=600)
            calls += 1
            if resp.status_code >= 500:
                failures.append((case.method, case.formatted_path, case.query, resp.status_code, resp.text[:300]))
            elif resp.status_code >= 400:
                assert _ctype(resp).startswith("application/problem+json"), (case.method, case.formatted_path,
                                                                              resp.status_code, _ctype(resp))
        run()
    assert calls >= len(operations)
    assert not failures, failures[:10]


NS = int(os.environ.get("QAUIPSIZ_SCHEMATHESIS_STATEFUL", "6"))
"""Scenarios of each stateful run (each a chain of up to 4 linked calls)."""
CHAINS = {
    "jobs": r"(patrol-plans\.geojson|/jobs/)",  # an expensive route's 202 -> its job's status and result
    "keys": r"/admin/keys",  # an API key's creation -> its revocation
}
"""Operations joined by OpenAPI links (``api/routers/jobs.py``: ``ACCEPTED``; ``api/routers/admin.py``)."""


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_stateful_links(app, api_env, chain):
    """Follow the schema's links with every schemathesis check (no 5xx, responses, headers and
    status codes as documented, stateful checks such as use-after-free)."""
    import hypothesis

    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app).include(path_regex=CHAINS[chain])
    links = {name for op in (r.ok() for r in schema.get_all_operations())
             for resp in op.definition.raw.get("responses", {}).values() for name in resp.get("links", {})}
    assert links >= ({"GetJob", "GetJobResult"} if chain == "jobs" else {"RevokeKey"}), links
    admin = api_env["keys"]["admin"]
    n_own = len(api_env["keys"])
    calls: list[tuple[str, str, int]] = []

    class Machine(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            # both documented schemes, naming the same key (two different keys are a 400 by design)
            return {"headers": {"X-API-Key": admin, "Authorization": f"Bearer {admin}"}, "timeout": 600}

        def before_call(self, case):
            # the synchronous plans are fuzzed by test_no_server_errors; here every plan is a job, so
            # that each scenario reaches the job routes through the 202's links
            if "patrol-plans" in case.path and isinstance(case.query, dict):
                case.query["async"] = True
            # never revoke the session's own keys (ids 1..4), only keys this run created
            if case.method == "DELETE" and isinstance(case.path_parameters, dict):
                kid = case.path_parameters.get("key_id")
                if isinstance(kid, int) and kid <= n_own:
                    case.path_parameters["key_id"] = 2**31 - 1

        def after_call(self, response, case):
            calls.append((case.method, case.formatted_path, response.status_code))

    Machine.run(settings=hypothesis.settings(max_examples=NS, stateful_step_count=4, deadline=None,
                                             derandomize=True, database=None,
                                             suppress_health_check=list(HealthCheck)))
    for _ in range(6000):  # let the jobs this run queued finish: the session's pool is shared
        if app.state.jobs._inflight == 0:
            break
        time.sleep(0.1)
    assert not [c for c in calls if c[2] >= 500], calls
    # the links were followed: a job read after a 202, a key revoked after its creation
    if chain == "jobs":
        assert any(s == 202 for _, _, s in calls) and any("/jobs/" in p and s == 200 for _, p, s in calls), calls
    else:
        assert ("POST", "/api/v1/admin/keys", 201) in calls and any(m == "DELETE" and s == 204 for m, _, s in calls)
