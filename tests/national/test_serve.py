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
        # the reported p and q are the engine's exactly (the cached Gi* plan and the binomial
        # term evaluated per distinct window change nothing)
        np.testing.assert_array_equal(got["gi_p"], ref["gi_p"])
        np.testing.assert_array_equal(got["gi_q"], ref["gi_q"])
        pd.testing.assert_series_equal(got["lisa"], ref["lisa"])  # same labels, same dtype
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


def _planted_table(n: int = 400, seed: int = 3) -> pd.DataFrame:
    """A hot-spot table over Shymkent's res-9 cells with every kind of value the encoders meet:
    NaN and ±inf, negative zero, p-values below 1e-4 (exponent notation), non-integral weights."""
    from qauipsiz.hotspot.binning import fill_city_cells

    rng = np.random.default_rng(seed)
    cells = fill_city_cells("shymkent", 9)[:n]
    t = pd.DataFrame({"h3": cells, "count": rng.poisson(2.0, n).astype(np.int64)})
    t["weighted"] = t["count"] * rng.choice([1.0, 2.5, 0.3], n)
    t["density"] = rng.gamma(1.0, 300.0, n)
    t["gi_z"] = rng.normal(0, 3, n)
    t["gi_p"] = rng.uniform(0, 1, n) ** 6
    t["gi_q"] = np.minimum(1.0, t["gi_p"] * 3)
    t["gi_bin"] = rng.integers(-3, 4, n).astype(np.int8)
    t.loc[3, "gi_z"], t.loc[4, "gi_z"], t.loc[5, "gi_p"], t.loc[6, "density"] = np.nan, np.inf, -np.inf, -0.0
    t.loc[7, "gi_z"] = -0.000001  # rounds to -0.0
    t.loc[11, "density"], t.loc[12, "gi_p"], t.loc[13, "gi_p"], t.loc[14, "gi_q"] = 2e9 + 0.125, 1e-4, 9e-5, 1e-5
    t.loc[15, "gi_z"], t.loc[16, "density"], t.loc[17, "weighted"] = -12.345678, 1234.5, 7.0
    return t


@pytest.mark.parametrize("res", [9, 10])
def test_column_wise_geojson_equals_the_per_feature_encoder(shymkent, res):
    """hotspots.geojson's body (api.routers._hotspot_body.hotspot_body, column-wise) has the same
    bytes as the previous per-feature encoder (one dict and json.dumps per feature), for real tables
    from the analytic columns and a planted table with NaN, inf, -0.0, tiny p-values, float weights,
    unsorted rows and hidden small counts; and it is strict JSON."""
    import json

    from qauipsiz.api.routers._hotspot_body import hotspot_body, hotspot_body_per_feature

    cols = CityColumns.load(shymkent, "shymkent")
    tables = [cols.hotspot_table(res, bandwidth_m=350.0, **f).iloc[:: 4 if res == 9 else 25] for f in FILTERS[:3]]
    planted = _planted_table()
    tables += [planted, planted.iloc[::-1], planted.iloc[:0]]
    meta = {"city": "shymkent", "res": res, "notice": "SYNTHETIC — синтетикалық", "x": 1.5}
    for t in tables:
        for only_nonzero in (True, False):
            for k_min in (0, 3):
                want = hotspot_body_per_feature(t, only_nonzero=only_nonzero, k_min=k_min, meta=meta)
                got = hotspot_body(t, only_nonzero=only_nonzero, k_min=k_min, meta=meta)
                assert got == want
                doc = json.loads(got, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
                keep = (t["count"] > 0) | (t["gi_bin"] != 0) if only_nonzero else np.ones(len(t), bool)
                assert len(doc["features"]) == int(np.sum(keep))
                if k_min and len(doc["features"]):
                    hidden = [ft["properties"]["count"] is None for ft in doc["features"]]
                    assert hidden == (t.loc[keep, "count"] < k_min).tolist()
    doc = json.loads(hotspot_body(planted, only_nonzero=False))
    p = {int(ft["properties"]["h3"], 16): ft["properties"] for ft in doc["features"]}
    h = planted["h3"].to_numpy()
    assert p[h[3]]["gi_z"] is None and p[h[4]]["gi_z"] is None and p[h[5]]["gi_p"] is None
    assert p[h[8]]["gi_p"] == round(float(planted.loc[8, "gi_p"]), 5)
    assert p[h[9]]["weighted"] == float(planted.loc[9, "weighted"])
    assert p[h[10]]["gi_class"] == {3: "hot_99", 2: "hot_95", 1: "hot_90", 0: "not_significant", -1: "cold_90",
                                    -2: "cold_95", -3: "cold_99"}[int(planted.loc[10, "gi_bin"])]


def test_large_bodies_are_gzipped_on_first_demand(shymkent, tmp_path, monkeypatch):
    """The response cache stores a large body plain; the first client asking for gzip gets it
    compressed (and it is kept), clients that do not ask get it plain."""
    import gzip

    from fastapi.testclient import TestClient

    from qauipsiz.api.app import create_app
    from qauipsiz.api.cache import ResponseCacheMiddleware
    from qauipsiz.api.settings import get_settings
    from qauipsiz.api.store import Store

    monkeypatch.setattr(ResponseCacheMiddleware, "GZIP_NOW_BYTES", 10_000)  # "large" = over 10 kB here
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    key = store.create_api_key("analyst", "test analyst")
    settings = dataclasses.replace(get_settings(), data_dir=tmp_path, database_url=url, warm=False,
                                   analytic_dir=shymkent)
    app = create_app(settings, store=store)
    u = "/api/v1/cities/shymkent/hotspots.geojson?res=9&only_nonzero=false&bandwidth_m=300"
    with TestClient(app) as client:
        first = client.get(u, headers={"X-API-Key": key, "Accept-Encoding": "gzip"})
        assert first.status_code == 200 and "content-encoding" not in first.headers  # computed: sent plain
        assert len(first.content) > 10_000
        plain = client.get(u, headers={"X-API-Key": key, "Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == first.content
        gz = client.get(u, headers={"X-API-Key": key, "Accept-Encoding": "gzip"})
        assert gz.headers.get("content-encoding") == "gzip" and gz.content == first.content
        assert int(gz.headers["content-length"]) < len(first.content) / 3
        again = client.get(u, headers={"X-API-Key": key, "Accept-Encoding": "gzip"})
        assert again.headers.get("content-encoding") == "gzip" and again.content == first.content
        raw = client.stream("GET", u, headers={"X-API-Key": key, "Accept-Encoding": "gzip"})
        with raw as r:
            assert gzip.decompress(b"".join(r.iter_raw())) == first.content
    store.close()


def test_columns_cached_as_memory_mapped_files(tmp_path):
    """CityColumns.load(cache_dir=…) writes the columns once per data version and maps them back
    (np.memmap) on the next load with the same tables; a rewritten store gets a new folder and the
    old one is removed."""
    root, cache = tmp_path / "store", tmp_path / "cache"
    generate(root, 4_000, seed=5, start="2024-01-01", years=1.0, cities=["shymkent"])
    built = CityColumns.load(root, "shymkent", cache_dir=cache)
    assert not isinstance(built.cell_code, np.memmap)
    (folder,) = cache.iterdir()
    assert folder.name == f"shymkent-{built.version}"
    bw = built.city_default_bandwidth()  # the city default radius is kept beside the columns
    assert (folder / "bandwidth.json").exists()
    mapped = CityColumns.load(root, "shymkent", cache_dir=cache)
    assert mapped._centres["bandwidth"] == bw
    assert isinstance(mapped.cell_code, np.memmap) and isinstance(mapped.res_codes[10], np.memmap)
    assert (mapped.version, mapped.day0, mapped.categories, mapped.districts) == (
        built.version, built.day0, built.categories, built.districts)
    for f in FILTERS:
        a, b = built.hotspot_table(10, bandwidth_m=300.0, **f), mapped.hotspot_table(10, bandwidth_m=300.0, **f)
        pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError, match="not 'astana'"):
        CityColumns.open(folder, "astana")
    (folder / "cell_code.npy").write_bytes(b"damaged")  # a damaged folder is rebuilt and rewritten
    rebuilt = CityColumns.load(root, "shymkent", cache_dir=cache)
    assert not isinstance(rebuilt.cell_code, np.memmap)
    healed = CityColumns.open(folder, "shymkent")
    np.testing.assert_array_equal(healed.cell_code, built.cell_code)
    pd.testing.assert_frame_equal(healed.hotspot_table(10, bandwidth_m=300.0), built.hotspot_table(10, bandwidth_m=300.0))
    generate(root, 3_000, seed=6, start="2024-01-01", years=1.0, cities=["shymkent"])
    again = CityColumns.load(root, "shymkent", cache_dir=cache)
    assert again.version != built.version and again.n != built.n
    assert [p.name for p in cache.iterdir()] == [f"shymkent-{again.version}"]


def test_binomial_term_equals_scipy_per_cell():
    """``gistar.binomial_two_sided_p`` (distinct pairs once, the smaller tail first) gives the same
    bits as SciPy's ``binom.sf`` / ``binom.cdf`` evaluated for every cell, on planted windows:
    sparse and dense totals, equal and boundary shares, counts at 0, at the mean and at N."""
    from scipy import stats

    from qauipsiz.hotspot.gistar import binomial_two_sided_p

    rng = np.random.default_rng(5)
    for t in range(120):
        n = int(rng.integers(30, 3000))
        N = int(rng.integers(0, 40)) if t % 3 == 0 else int(rng.integers(40, 2_000_000))
        share = rng.choice(np.r_[rng.uniform(0, 1, 4), 7 / n, 0.0, 1.0], n)
        obs = np.clip(rng.poisson(N * share * rng.uniform(0.3, 3.0, n)), 0, N).astype(float)
        obs[:3] = (0, N, np.round(N * share[2]))
        up, lo = stats.binom.sf(obs - 1, N, share), stats.binom.cdf(obs, N, share)
        ref = np.minimum(1.0, 2.0 * np.minimum(up, lo))
        np.testing.assert_array_equal(binomial_two_sided_p(obs, N, share), ref)
    # and the test can fail: a shifted count changes the answer
    assert not np.array_equal(binomial_two_sided_p(obs + 1, N, share), ref)


@pytest.mark.parametrize("res", [9, 10])
def test_gi_plan_is_gi_star_bit_for_bit(res):
    """The per-(res, k) Gi* plan of the analytic path returns gi_star's z, p, q and bins exactly on
    a real city's ring weights and area shares: uniform, clustered (planted hot cells), sparse."""
    from qauipsiz.hotspot import binning
    from qauipsiz.hotspot.gistar import gi_star
    from qauipsiz.hotspot.national.columns import _GiPlan

    w = binning.city_ring_weights("shymkent", res, 1)
    e = binning.city_cell_area_share("shymkent", res)
    plan = _GiPlan.build(w, e)
    assert plan is not None and plan.info["inference"] == "binomial+analytic"
    n = w.shape[0]
    rng = np.random.default_rng(res)
    hot = rng.choice(n, 20, replace=False)
    for lam in (0.05, 0.8, 30.0):
        y = rng.poisson(lam * e).astype(float)
        y[hot] += rng.poisson(10 * lam + 5, len(hot))
        z, p, q, b = plan(y)
        g = gi_star(y, w, star=True, exposure=e)
        for a, r in ((z, g.z), (p, g.p), (q, g.q), (b, g.bin)):
            np.testing.assert_array_equal(a, r)
        assert (b[hot] > 0).sum() >= 10  # the planted cells are found
    # a total so large that the squared counts no longer sum exactly: the plan takes gi_star's dot
    y = rng.poisson(2.0 * e).astype(float) * 1e6
    assert y.sum() ** 2 >= 2.0**53
    g = gi_star(y, w, star=True, exposure=e)
    for a, r in zip(plan(y), (g.z, g.p, g.q, g.bin), strict=True):
        np.testing.assert_array_equal(a, r)


def test_packed_filter_equals_the_five_columns(shymkent):
    """The one-lookup filter pass over packed (category, district, hour, weekday, light) codes
    counts the same events as the pass over the five columns, for every kind of filter; both are
    checked against a plain numpy mask."""
    base = CityColumns.load(shymkent, "shymkent")
    # the synthetic city has no districts: planted ones (code -1 = none on a tenth of the events)
    rng = np.random.default_rng(3)
    cols = dataclasses.replace(base, district=rng.choice(np.array([-1, 0, 1, 2], np.int8), base.n,
                                                         p=[0.1, 0.3, 0.3, 0.3]),
                               districts=["Abay", "Al-Farabi", "Enbekshi"], _centres={})
    assert cols._packed() is not None
    dist = cols.districts[:2]
    filters = [*FILTERS, {"districts": dist, "dark": False}, {"weekdays": [0, 6], "categories": ["fraud"]},
               {"hours": "23-01", "districts": dist[:1], "start": "2024-06-01"}]
    for f in filters:
        packed = cols.hotspot_table(10, bandwidth_m=300.0, **f)
        saved, cols._centres["packed"] = cols._centres["packed"], None  # the five-column pass
        try:
            plain = cols.hotspot_table(10, bandwidth_m=300.0, **f)
        finally:
            cols._centres["packed"] = saved
        pd.testing.assert_frame_equal(packed, plain)
        assert int(packed["count"].sum()) == int(cols.mask(**f)[cols.res_codes[10] > 0].sum()) > 0
