"""A real store with the reduced demo city ingested through ingestion, one API key per role."""
from __future__ import annotations

import dataclasses

import pytest

ROLES = ("analyst", "planner", "commander", "admin")


@pytest.fixture(scope="session")
def api_env(demo_dir, tmp_path_factory):
    from qauipsiz.api.ingest import ingest_file
    from qauipsiz.api.settings import get_settings
    from qauipsiz.api.store import Store

    root = tmp_path_factory.mktemp("api")
    url = f"sqlite:///{root / 'store.db'}"
    store = Store(url)
    rep = ingest_file(demo_dir / "incidents_export.csv", city="astana", store=store, source="demo")
    assert rep.accepted > 1000
    store.import_layers_dir("astana", demo_dir / "layers")
    keys = {r: store.create_api_key(r, f"test {r}") for r in ROLES}
    settings = dataclasses.replace(get_settings(), data_dir=root, database_url=url, demo_dir=demo_dir,
                                   city="astana", tile_url="", cors_origins=(), max_upload_mb=5.0,
                                   request_timeout_s=600.0, min_public_count=5)
    return {"store": store, "settings": settings, "keys": keys, "root": root}


@pytest.fixture(scope="session")
def app(api_env):
    from qauipsiz.api.app import create_app

    return create_app(api_env["settings"], store=api_env["store"])


@pytest.fixture(scope="session")
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def headers(api_env):
    """role -> request headers (public: none)."""
    h = {r: {"X-API-Key": k} for r, k in api_env["keys"].items()}
    h["public"] = {}
    return h
