"""Property-based run against the OpenAPI schema, in-process over ASGI: no response may be a 5xx.

Bounded: a few examples per operation (``QAUIPSIZ_SCHEMATHESIS_EXAMPLES``, default 6), with the
admin key (every operation reachable) and, separately, as the public role.
"""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

N = int(os.environ.get("QAUIPSIZ_SCHEMATHESIS_EXAMPLES", "6"))


@pytest.fixture(scope="session")
def api_schema(app):
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


def _check(response, case):
    assert response.status_code < 500, (case.method, case.formatted_path, case.query, response.status_code,
                                        response.text[:500])
    if response.status_code >= 400 and response.status_code != 304:
        assert response.headers["content-type"][0].startswith("application/problem+json") \
            if isinstance(response.headers["content-type"], list) \
            else response.headers["content-type"].startswith("application/problem+json")


@schema.parametrize()
@settings(max_examples=N, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
def test_no_server_errors_admin(case, api_env):
    response = case.call(headers={"X-API-Key": api_env["keys"]["admin"]})
    _check(response, case)


@schema.parametrize()
@settings(max_examples=max(2, N // 2), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
def test_no_server_errors_public(case):
    response = case.call()
    _check(response, case)
