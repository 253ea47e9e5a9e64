"""Store fixtures: every store test runs on SQLite and, given a server, on PostgreSQL + PostGIS.

The PostGIS URL comes from ``QAUIPSIZ_TEST_PG_URL`` (``.ci/postgis.sh start`` prints it) or a
``postgresql`` ``DATABASE_URL``.  Without one the PostGIS cases skip locally and fail when
``CI=true``.  Each PostGIS test gets its own schema (``search_path``), dropped afterwards.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from qauipsiz.api.store import Store
from tests.conftest import require

BACKENDS = ["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)]


def pg_url() -> str | None:
    url = os.environ.get("QAUIPSIZ_TEST_PG_URL")
    if not url and os.environ.get("DATABASE_URL", "").startswith("postgres"):
        url = os.environ["DATABASE_URL"]
    return url


def _pg_available(url: str) -> str | None:
    from sqlalchemy import create_engine, text

    try:
        eng = create_engine(url)
        with eng.connect() as c:
            c.execute(text("SELECT 1"))
            has = c.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")).scalar()
        eng.dispose()
        return None if has else "the server has no postgis extension"
    except Exception as e:
        return f"cannot connect: {e.__class__.__name__}: {str(e).splitlines()[0]}"


def _need_pg() -> str:
    url = pg_url()
    why = "QAUIPSIZ_TEST_PG_URL is not set" if not url else _pg_available(url)
    require(not why, f"PostGIS ({why})")
    return url


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path: Path):
    """A fresh, empty store URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    base = _need_pg()
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    eng = create_engine(base)
    with eng.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
        c.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options={quote(f'-csearch_path={schema},public')}"
    with eng.begin() as c:
        c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    eng.dispose()


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    yield s
    s.close()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """A small synthetic demo city (the same generator as ``qauipsiz demo``)."""
    from qauipsiz.hotspot.demo import generate

    out = tmp_path_factory.mktemp("demo")
    generate(out, n=1500, years=1.0, seed=7)
    return out
