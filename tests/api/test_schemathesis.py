"""Property-based run against the OpenAPI schema, in-process over ASGI: no response may be a 5xx.

Every operation of the schema gets a bounded number of generated cases
(``QAUIPSIZ_SCHEMATHESIS_EXAMPLES``, default 5), sent with the admin key (every operation
reachable) and as the public role.  Every error must be ``application/problem+json``.
"""
from __future__ import annotations

import os

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
