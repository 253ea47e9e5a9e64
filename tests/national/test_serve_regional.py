"""`qauipsiz serve` with QAUIPSIZ_ANALYTIC_DIR serves a regional-centre city of the analytic store
(`qauipsiz national demo`) without copying it into the data folder: the registry reads the store's
`cities/` folder read-only (hotspot.cities.set_extra_dirs, set by api.settings.apply). A real server
subprocess, as an operator runs it."""
from __future__ import annotations

import dataclasses

import httpx
import numpy as np
import pandas as pd

from qauipsiz.hotspot import analytic
from qauipsiz.hotspot import cities as registry
from qauipsiz.hotspot.national.generate import generate
from qauipsiz.hotspot.surface import hotspot_table
from tests._serve import running_serve


def test_serve_a_regional_centre_from_the_analytic_store(tmp_path):
    from qauipsiz.api.settings import get_settings, to_env
    from qauipsiz.api.store import Store

    nat, data = tmp_path / "national", tmp_path / "data"
    generate(nat, 3_000, seed=8, start="2024-01-01", years=1.0, cities=["aktobe"])
    url = f"sqlite:///{data / 'qauipsiz.db'}"
    data.mkdir()
    store = Store(url)
    key = store.create_api_key("analyst", "regional test")
    store.close()
    settings = dataclasses.replace(get_settings(), data_dir=data, database_url=url, analytic_dir=nat, warm=False)
    with running_serve(to_env(settings)) as port:
        base, hdr = f"http://127.0.0.1:{port}/api/v1", {"X-API-Key": key}
        listed = httpx.get(base + "/cities", headers=hdr, timeout=60).json()
        assert "aktobe" in [c.get("key", c.get("city")) for c in listed]
        r = httpx.get(base + "/cities/aktobe/hotspots.geojson",
                      params={"res": 9, "only_nonzero": "false", "bandwidth_m": 350, "category": "theft"},
                      headers=hdr, timeout=120)
        assert r.status_code == 200, r.text[:500]
        body = r.json()
    assert body["meta"]["city"] == "aktobe" and "SYNTHETIC" in body["meta"]["notice"].upper()
    # nothing copied into the data folder; the columns cached there as files
    assert not (data / "cities" / "aktobe").exists()
    assert [q.name.split("-")[0] for q in (data / "cache" / "analytic").iterdir()] == ["aktobe"]
    # the same counts and Gi* bins as the engine on the store's incidents (aktobe resolved the same way)
    before = registry._extra_dirs
    registry.set_extra_dirs([nat / "cities"])
    try:
        df = analytic.read_events(nat, "aktobe")
        ref = hotspot_table(df[df["category"] == "theft"], "aktobe", res=9, bandwidth_m=350.0, lisa=False)
    finally:
        registry.set_extra_dirs(before)
    got = pd.DataFrame([f["properties"] for f in body["features"]])
    got = got.set_index(np.array([int(h, 16) for h in got["h3"]], dtype=np.uint64)).loc[ref["h3"].to_numpy()]
    np.testing.assert_array_equal(got["count"].to_numpy(int), ref["count"].to_numpy())
    np.testing.assert_array_equal(got["gi_bin"].to_numpy(int), ref["gi_bin"].to_numpy())
    assert ref["count"].sum() > 100


def test_cities_known_at_request_time(tmp_path):
    """The city path parameter is checked against the registry per request, not against the keys
    known when the routers were imported: an app made later (here, after the routers were imported
    by this test) serves the analytic store's regional centre; an unknown key is still a 422."""
    from fastapi.testclient import TestClient

    import qauipsiz.api.routers._deps  # noqa: F401 -- imported first, as in any long-lived process
    from qauipsiz.api.app import create_app
    from qauipsiz.api.settings import get_settings
    from qauipsiz.api.store import Store

    nat = tmp_path / "national"
    generate(nat, 1_500, seed=9, start="2024-01-01", years=1.0, cities=["taraz"])
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    key = store.create_api_key("analyst", "t")
    before = registry._extra_dirs
    try:
        app = create_app(dataclasses.replace(get_settings(), data_dir=tmp_path / "data", database_url=url,
                                             warm=False, analytic_dir=nat), store=store)
        with TestClient(app) as client:
            r = client.get("/api/v1/cities/taraz/hotspots.geojson?res=8", headers={"X-API-Key": key})
            assert r.status_code == 200, r.text[:300]
            assert r.json()["meta"]["city"] == "taraz"
            bad = client.get("/api/v1/cities/atlantis/hotspots.geojson", headers={"X-API-Key": key})
            assert bad.status_code == 422 and "atlantis" not in registry.list_cities()
            assert "taraz" in bad.json()["detail"]
    finally:
        registry.set_extra_dirs(before)
        store.close()
