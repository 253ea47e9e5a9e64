"""Shared fixtures: a reduced demo city built once per session, and the skip-or-fail rule."""
from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def require(available: bool, what: str) -> None:
    """Skip when a system component is missing locally; fail when running in CI (``CI=true``)."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available")
    pytest.skip(f"{what} not available")


DEMO_N = 8_000
DEMO_SEED = 7


@pytest.fixture(scope="session")
def full_demo_truth(tmp_path_factory):
    """The full demo city exactly as ``qauipsiz demo`` makes it (default size and seed, ~10 s),
    generated once per session so a clean checkout (CI) runs the tests that need its planted
    patterns instead of skipping them; returns the path of ``incidents_truth.parquet``."""
    from qauipsiz.hotspot.demo import generate

    out = tmp_path_factory.mktemp("full_demo")
    generate(out)
    return out / "incidents_truth.parquet"


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory):
    """A reduced demo city (8,000 incidents over one year, seed 7), generated once per session."""
    from qauipsiz.hotspot.demo import generate

    out = tmp_path_factory.mktemp("demo")
    generate(out, n=DEMO_N, years=1.0, seed=DEMO_SEED)
    return out
