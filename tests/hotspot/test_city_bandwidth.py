"""The city default KDE bandwidth (issue 14.2): one radius per city and data version.

* the rule on planted points gives the documented value (a square lattice: the 20th neighbour is
  at √5 spacings), its clip range, its fallback, and it does not depend on the row order;
* filtered and unfiltered runs get the same default (CLI ``--json``, API metadata and legend);
* a user radius overrides it and is reported as such;
* the pipeline's density raster and its hotspot table use the same radius and the same weights,
  and the API's heat raster and hexagons too.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from qauipsiz.hotspot.bandwidth import MAX_M, MIN_M, city_bandwidth, city_bandwidth_of
from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.kde import esri_bandwidth, kde


def lattice(spacing: float, n: int = 120) -> np.ndarray:
    g = np.arange(n) * spacing
    x, y = np.meshgrid(g, g)
    return np.column_stack([x.ravel(), y.ravel()]) + [500_000.0, 5_600_000.0]


# --- the rule on planted data ------------------------------------------------------------------

def test_lattice_gives_the_20th_neighbour_distance():
    # on a square lattice of spacing s the neighbours are 4 at s, 4 at √2 s, 4 at 2 s, 8 at √5 s:
    # the 20th is at √5 s for every interior point, so the median is √5 s
    cb = city_bandwidth(lattice(200.0))
    assert cb.raw_m == pytest.approx(math.sqrt(5) * 200.0, rel=1e-9)
    assert cb.bandwidth_m == pytest.approx(447.2136, abs=1e-3)
    assert cb.k == 20 and cb.n_points == 120 * 120
    assert (cb.min_m, cb.max_m) == (300.0, 600.0) == (MIN_M, MAX_M)


def test_clip_range_and_sparse_fallback():
    assert city_bandwidth(lattice(50.0)).bandwidth_m == 300.0  # raw 112 m: floor
    assert city_bandwidth(lattice(50.0)).raw_m == pytest.approx(math.sqrt(5) * 50.0)
    assert city_bandwidth(lattice(400.0)).bandwidth_m == 600.0  # raw 894 m: ceiling
    few = city_bandwidth(lattice(10.0, n=4))  # 16 points < k + 1
    assert few.bandwidth_m == 600.0 and math.isnan(few.raw_m) and "only 16 points" in few.rule
    with pytest.raises(ValueError, match="min_m"):
        city_bandwidth(lattice(10.0), min_m=700, max_m=600)


def test_matches_an_independent_neighbour_search_and_ignores_row_order():
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(3)
    # clustered points, some duplicated (block-centroid coordinates, as in real exports)
    c = rng.uniform(0, 20_000, size=(40, 2))
    P = c[rng.integers(0, 40, 6000)] + rng.normal(0, 400, size=(6000, 2))
    P = np.vstack([P, P[:500]])
    d, _ = NearestNeighbors(n_neighbors=21).fit(P).kneighbors(P)
    want = float(np.median(d[:, 20]))
    cb = city_bandwidth(P, min_m=1.0, max_m=1e6)
    assert cb.raw_m == pytest.approx(want, rel=1e-12)
    perm = rng.permutation(len(P))
    assert city_bandwidth(P[perm]).bandwidth_m == city_bandwidth(P).bandwidth_m
    # with a query subset the value is still order-independent
    assert city_bandwidth(P[perm], max_query=1000).raw_m == city_bandwidth(P, max_query=1000).raw_m


def test_city_bandwidth_of_uses_points_inside_the_city_only():
    c = get_city("astana")
    x0, y0 = c.to_metric(71.43, 51.13)
    xy = lattice(250.0, n=30) - lattice(250.0, n=30).mean(axis=0) + [x0, y0]
    lon, lat = c.to_wgs84(xy[:, 0], xy[:, 1])
    df = pd.DataFrame({"lat": np.r_[lat, np.nan, 0.0], "lon": np.r_[lon, 71.4, 0.0]})
    cb = city_bandwidth_of(df, "astana")
    assert cb.n_points == 900
    assert cb.bandwidth_m == pytest.approx(math.sqrt(5) * 250.0, rel=1e-3)  # UTM of the city, not degrees


# --- CLI: filtered and unfiltered runs, user override, GeoTIFF --------------------------------

def _cli(args):
    from qauipsiz.api.cli import app

    r = CliRunner().invoke(app, ["hotspots", "--city", "astana", "--res", "9", *args, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.output.strip().splitlines()[-1])


def test_cli_same_default_for_every_filter(demo_dir, tmp_path):
    from qauipsiz.api.cli.hotspots import read_metadata

    inc = str(demo_dir / "incidents_truth.parquet")
    df = pd.read_parquet(inc)
    district = df["district"].dropna().value_counts().index[0]
    runs = {
        "all": ["--incidents", inc, "--out", str(tmp_path / "a.geojson")],
        "district": ["--incidents", inc, "--districts", district, "--out", str(tmp_path / "d.geojson")],
        "night theft": ["--incidents", inc, "--categories", "theft", "--hours", "18-02",
                        "--out", str(tmp_path / "n.geojson")],
    }
    out = {k: _cli(v) for k, v in runs.items()}
    want = city_bandwidth_of(df, "astana").bandwidth_m
    for k, s in out.items():
        assert s["bandwidth_m"] == round(want, 1), k
        assert s["bandwidth_source"] == "city default" and "20th-nearest" in s["bandwidth_rule"], k
    assert out["district"]["incidents_binned"] < out["all"]["incidents_binned"]
    # the old default (Esri's rule on the filtered points) would differ between these runs
    c = get_city("astana")
    sub = df[df["district"] == district].dropna(subset=["lat"])
    x, y = c.to_metric(sub["lon"].to_numpy(), sub["lat"].to_numpy())
    assert abs(esri_bandwidth(np.column_stack([x, y])) - want) > 50
    meta = read_metadata(tmp_path / "d.geojson")
    assert meta["bandwidth_m"] == pytest.approx(want) and meta["bandwidth_source"] == "city default"
    assert meta["filters"]["districts"] == [district] and meta["bandwidth_default"]["k"] == 20


def test_cli_user_bandwidth_overrides(demo_dir, tmp_path):
    import rasterio

    from qauipsiz.api.cli.hotspots import read_metadata

    inc = str(demo_dir / "incidents_truth.parquet")
    s = _cli(["--incidents", inc, "--out", str(tmp_path / "u.parquet"), "--bandwidth-m", "250",
              "--geotiff", str(tmp_path / "u.tif"), "--cell-m", "200"])
    assert s["bandwidth_m"] == 250.0 and s["bandwidth_source"] == "user"
    meta = read_metadata(tmp_path / "u.parquet")
    assert meta["bandwidth_m"] == 250.0 and meta["bandwidth_source"] == "user"
    with rasterio.open(tmp_path / "u.tif") as ds:
        assert float(ds.tags()["bandwidth_m"]) == 250.0
    # and without it, table and raster both take the city default
    s = _cli(["--incidents", inc, "--out", str(tmp_path / "c.parquet"), "--geotiff", str(tmp_path / "c.tif"),
              "--cell-m", "200"])
    with rasterio.open(tmp_path / "c.tif") as ds:
        assert float(ds.tags()["bandwidth_m"]) == pytest.approx(s["bandwidth_m"], abs=0.05)
    assert read_metadata(tmp_path / "c.parquet")["bandwidth_m"] == pytest.approx(s["bandwidth_m"], abs=0.05)


# --- pipeline: the raster and the table use the same radius and weights -------------------------

def test_pipeline_raster_and_table_share_bandwidth_and_weights(demo_dir, tmp_path):
    import rasterio

    from qauipsiz.api.pipeline import hotspots_and_density
    from qauipsiz.hotspot.binning import city_cell_centres

    c = get_city("astana")
    inc = pd.read_parquet(demo_dir / "incidents_truth.parquet")
    inc = inc[np.isfinite(inc["lat"]) & np.isfinite(inc["lon"])]
    t = hotspots_and_density(inc, "astana", 9, tmp_path, notice="test", cell_m=200.0)
    p = t.attrs["params"]
    h = city_bandwidth_of(inc, "astana").bandwidth_m
    assert p["bandwidth_m"] == h and p["bandwidth_source"] == "city default" and p["value"] == "weighted"
    inside = c.contains(inc["lat"].to_numpy(), inc["lon"].to_numpy())
    x, y = c.to_metric(inc["lon"].to_numpy()[inside], inc["lat"].to_numpy()[inside])
    xy = np.column_stack([x, y])
    w = inc["harm_weight"].to_numpy(float)[inside]
    assert not np.allclose(w, w[0]), "the demo must have unequal harm weights for this test to bite"
    # the table's density is the harm-weighted KDE at radius h
    centres = city_cell_centres("astana", 9)
    np.testing.assert_allclose(t["density"].to_numpy(), kde(xy, centres, h, "quartic", w), rtol=1e-9, atol=1e-9)
    with rasterio.open(tmp_path / "density.tif") as ds:
        tags = ds.tags()
        assert float(tags["bandwidth_m"]) == h and tags["bandwidth_source"] == "city default"
        assert tags["value"] == "weighted" and tags["NOTICE"] == "test"
        g = ds.read(1)
        rows, cols = np.unravel_index(np.argsort(g.ravel())[-50:], g.shape)  # the densest pixels
        px, py = ds.xy(rows, cols)  # pixel centres
    want = kde(xy, np.column_stack([px, py]), h, "quartic", w)
    np.testing.assert_allclose(g[rows, cols], want, rtol=1e-5)
    # an unweighted raster or another radius would not match
    assert not np.allclose(g[rows, cols], kde(xy, np.column_stack([px, py]), h, "quartic"), rtol=1e-3)
    assert not np.allclose(g[rows, cols], kde(xy, np.column_stack([px, py]), 400.0, "quartic", w), rtol=1e-3)
    gj = json.loads((tmp_path / "hotspots_res9.geojson").read_text(encoding="utf-8"))
    assert gj["metadata"]["params"]["bandwidth_m"] == h


# --- API: one default for every filter, user override, raster = hexagons -------------------------

@pytest.fixture(scope="module")
def api(demo_dir, tmp_path_factory):
    import dataclasses

    from fastapi.testclient import TestClient

    from qauipsiz.api.app import create_app
    from qauipsiz.api.ingest import ingest_file
    from qauipsiz.api.settings import get_settings
    from qauipsiz.api.store import Store

    root = tmp_path_factory.mktemp("api_bw")
    url = f"sqlite:///{root / 'store.db'}"
    store = Store(url)
    ingest_file(demo_dir / "incidents_export.csv", city="astana", store=store, source="demo")
    key = store.create_api_key("analyst", "bandwidth test")
    settings = dataclasses.replace(get_settings(), data_dir=root, database_url=url, demo_dir=demo_dir,
                                   city="astana", tile_url="", cors_origins=(), request_timeout_s=600.0)
    app = create_app(settings, store=store)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, {"X-API-Key": key}, store


def test_api_same_default_for_every_filter_and_user_override(api):
    client, h, store = api
    base = "/api/v1/cities/astana"
    inc = store.query_incidents("astana", located_only=True)
    want = city_bandwidth_of(inc, "astana")
    cb = client.get(base + "/bandwidth", headers=h)
    assert cb.status_code == 200, cb.text
    cb = cb.json()
    assert cb["bandwidth_m"] == round(want.bandwidth_m, 1) and cb["bandwidth_source"] == "city default"
    assert cb["n_points"] == want.n_points and cb["k"] == 20
    district = inc["district"].dropna().value_counts().index[0]
    metas, legends = {}, {}
    for name, q in (("all", ""), ("district", f"&district={district}"), ("dark", "&light=dark&category=theft")):
        r = client.get(base + f"/hotspots.geojson?res=9{q}", headers=h)
        assert r.status_code == 200, r.text
        metas[name] = r.json()["meta"]
        lg = client.get(base + f"/heat/legend?x=1{q}", headers=h)
        assert lg.status_code == 200, lg.text
        legends[name] = lg.json()
    for name in metas:
        assert metas[name]["bandwidth_m"] == pytest.approx(want.bandwidth_m), name
        assert metas[name]["bandwidth_source"] == "city default", name
        assert legends[name]["bandwidth_m"] == pytest.approx(want.bandwidth_m), name  # raster = hexagons
        assert legends[name]["bandwidth_source"] == "city default", name
        assert legends[name]["bandwidth_default_m"] == cb["bandwidth_m"]
    assert legends["district"]["n_points"] < legends["all"]["n_points"]
    # the user's radius overrides, and is reported as the user's
    r = client.get(base + f"/hotspots.geojson?res=9&district={district}&bandwidth_m=250", headers=h).json()
    assert r["meta"]["bandwidth_m"] == 250.0 and r["meta"]["bandwidth_source"] == "user"
    lg = client.get(base + f"/heat/legend?district={district}&bandwidth_m=250", headers=h).json()
    assert lg["bandwidth_m"] == 250.0 and lg["bandwidth_source"] == "user"
    assert lg["bandwidth_default_m"] == cb["bandwidth_m"] and lg["vmax"] != legends["district"]["vmax"]
    dens_user = {f["properties"]["h3"]: f["properties"]["density"] for f in r["features"]}
    r0 = client.get(base + f"/hotspots.geojson?res=9&district={district}", headers=h).json()
    dens_def = {f["properties"]["h3"]: f["properties"]["density"] for f in r0["features"]}
    common = sorted(set(dens_user) & set(dens_def))
    assert any(dens_user[k] != dens_def[k] for k in common)


def test_city_bandwidth_of_falls_back_to_the_stored_h3_cell():
    from qauipsiz.hotspot.h3grid import latlng_to_cells

    c = get_city("astana")
    x0, y0 = c.to_metric(71.43, 51.13)
    xy = lattice(250.0, n=30) - lattice(250.0, n=30).mean(axis=0) + [x0, y0]
    lon, lat = c.to_wgs84(xy[:, 0], xy[:, 1])
    only_h3 = pd.DataFrame({"h3": latlng_to_cells(lat, lon, 11)})
    a = city_bandwidth_of(pd.DataFrame({"lat": lat, "lon": lon}), "astana")
    b = city_bandwidth_of(only_h3, "astana")
    assert b.n_points == a.n_points == 900
    assert b.raw_m == pytest.approx(a.raw_m, abs=30.0)  # res-11 cells: centres within ~25 m
    with pytest.raises(ValueError, match="lat and lon"):
        city_bandwidth_of(pd.DataFrame({"x": [1.0]}), "astana")
