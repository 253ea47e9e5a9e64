"""The service reading a city from the analytic store (QAUIPSIZ_ANALYTIC_DIR): the hotspot table
of any dashboard filter equals hotspot.surface.hotspot_table on the same incidents (counts, Gi*),
its density is the KDE of the events at their res-11 cell centres, and caches follow the analytic
store's data version."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from qauipsiz.hotspot import analytic
from qauipsiz.hotspot.binning import filter_mask
from qauipsiz.hotspot.national.columns import CityColumns
from qauipsiz.hotspot.national.generate import generate
from qauipsiz.hotspot.surface import hotspot_table

FILTERS = [
    {},
    {"categories": ["theft", "robbery"], "hours": "18-02"},
    {"start": "2024-03-01", "end": "2024-09-01", "dark": True},
    {"weekdays": [4, 5], "hours": "09-17", "categories": ["theft"]},
]


@pytest.fixture(scope="module")
def shymkent(tmp_path_factory):
    out = tmp_path_factory.mktemp("analytic")
    generate(out, 12_000, seed=21, start="2024-01-01", years=1.0, cities=["shymkent"])
    return out


def _reference(root, f, res, h):
    df = analytic.read_events(root, "shymkent")
    kw = {k: (pd.Timestamp(v) if k in ("start", "end") else v) for k, v in f.items()}
    return hotspot_table(df[filter_mask(df, "shymkent", **kw)], "shymkent", res=res, bandwidth_m=h, lisa=False)


@pytest.mark.parametrize("res", [9, 10])
def test_columns_equal_the_engine(shymkent, res):
    cols = CityColumns.load(shymkent, "shymkent")
    assert cols.n == len(analytic.read_events(shymkent, "shymkent", columns=["incident_id"]))
    for f in FILTERS:
        got = cols.hotspot_table(res, bandwidth_m=350.0, **f)
        ref = _reference(shymkent, f, res, 350.0)
        np.testing.assert_array_equal(got["h3"], ref["h3"])
        np.testing.assert_array_equal(got["count"], ref["count"])
        assert got["count"].sum() > 0
        np.testing.assert_allclose(got["gi_z"], ref["gi_z"], atol=1e-9)
        np.testing.assert_array_equal(got["gi_bin"], ref["gi_bin"])
        # density: the points moved to their res-11 centres (<= ~30 m) change it by a few % of the peak
        assert np.abs(got["density"] - ref["density"]).max() <= 0.05 * ref["density"].max()
        assert np.corrcoef(got["density"], ref["density"])[0, 1] > 0.995


def test_density_is_the_kde_of_the_cell_centres(shymkent):
    """Independent check of the sparse kernel matrix: SciPy-free brute-force quartic sum."""
    from qauipsiz.hotspot.binning import city_cell_centres
    from qauipsiz.hotspot.kde import kde_brute

    cols = CityColumns.load(shymkent, "shymkent")
    got = cols.hotspot_table(9, bandwidth_m=300.0, categories=["fraud"])
    cells, n = cols.cell_counts(cols.mask(categories=["fraud"]))
    xy = cols._xy11()[np.searchsorted(cols.cells11, cells)]
    want = kde_brute(xy, city_cell_centres("shymkent", 9), 300.0, "quartic", n.astype(float))
    np.testing.assert_allclose(got["density"], want, rtol=1e-9, atol=1e-9)


def test_service_serves_the_analytic_city(shymkent, tmp_path):
    from fastapi.testclient import TestClient

    from qauipsiz.api.app import create_app
    from qauipsiz.api.settings import get_settings
    from qauipsiz.api.store import Store

    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)  # no incidents at all: everything comes from the analytic store
    key = store.create_api_key("analyst", "test analyst")
    settings = dataclasses.replace(get_settings(), data_dir=tmp_path, database_url=url, warm=False,
                                   analytic_dir=shymkent)
    app = create_app(settings, store=store)
    q = "res=9&only_nonzero=false&category=theft&category=robbery&hours=18-02&bandwidth_m=350"
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get(f"/api/v1/cities/shymkent/hotspots.geojson?{q}", headers={"X-API-Key": key})
        assert r.status_code == 200, r.text
        body = r.json()
        ref = _reference(shymkent, FILTERS[1], 9, 350.0)
        got = pd.DataFrame([ft["properties"] for ft in body["features"]])
        got["h3"] = [int(h, 16) for h in got["h3"]]
        got = got.set_index("h3").loc[ref["h3"].to_numpy()]
        np.testing.assert_array_equal(got["count"].to_numpy(int), ref["count"].to_numpy())
        np.testing.assert_array_equal(got["gi_bin"].to_numpy(int), ref["gi_bin"].to_numpy())
        assert "SYNTHETIC" in str(body["meta"].get("notice", "")).upper()
        # the analytic store changes (a new generation, another seed): the service follows its version
        before = got["count"].sum()
        generate(shymkent, 6_000, seed=22, start="2024-01-01", years=1.0, cities=["shymkent"])
        import time

        time.sleep(1.1)  # the version clock's time-to-live
        r2 = client.get(f"/api/v1/cities/shymkent/hotspots.geojson?{q}", headers={"X-API-Key": key})
        after = sum(ft["properties"]["count"] for ft in r2.json()["features"])
        ref2 = _reference(shymkent, FILTERS[1], 9, 350.0)
        assert after == ref2["count"].sum() != before
    store.close()


def test_district_filter_and_the_numpy_mask(tmp_path):
    """Districts (with null codes outside them) on Astana; the fused numba count = the numpy mask."""
    generate(tmp_path, 5_000, seed=4, start="2024-01-01", years=1.0, cities=["astana"])
    cols = CityColumns.load(tmp_path, "astana")
    df = analytic.read_events(tmp_path, "astana")
    assert df["district"].isna().any() or len(cols.districts) == 6
    d = [cols.districts[0], cols.districts[3]]
    for f in ({"districts": d}, {"districts": d, "categories": ["theft"], "end": "2024-06-01"}, {"dark": False}):
        got = cols.hotspot_table(9, bandwidth_m=300.0, **f)
        kw = {k: (pd.Timestamp(v) if k == "end" else v) for k, v in f.items() if k != "districts"}
        m = filter_mask(df, "astana", **kw)
        if "districts" in f:
            m &= df["district"].isin(f["districts"]).to_numpy(bool)
        ref = hotspot_table(df[m], "astana", res=9, bandwidth_m=300.0, lisa=False)
        np.testing.assert_array_equal(got["count"], ref["count"])
        assert got.attrs["params"]["n_filtered"] == int(m.sum()) == int(cols.mask(**f).sum())


def test_cached_cell_geometry_gives_the_same_bytes():
    """hotspots.geojson encodes a city's cells once (api.routers._geo.cell_geojson): same bytes as
    encoding the table's own cells."""
    from qauipsiz.api.routers._geo import cell_geojson, feature_collection
    from qauipsiz.hotspot.binning import fill_city_cells
    from qauipsiz.hotspot.h3grid import cells_to_boundaries

    allc = fill_city_cells("shymkent", 9)
    sub = allc[::7]
    props = pd.DataFrame({"h3": [format(int(x), "x") for x in sub], "count": np.arange(len(sub))}).astype(object)
    want = feature_collection(cells_to_boundaries(sub), props, precision=1e-5, extra={"meta": {"a": 1}})
    gj = cell_geojson(allc, 1e-5)[np.searchsorted(allc, sub)]
    assert feature_collection(None, props, precision=1e-5, extra={"meta": {"a": 1}}, geojson=gj) == want
