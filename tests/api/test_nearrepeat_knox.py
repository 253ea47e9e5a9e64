"""Issue 16.3 in the service: the Knox near-repeat test runs per request for the requested filter
(bands, bounded permutations, cached per data version and parameters), and the near-repeat risk layer
takes its distance and days from that test unless the request gives them."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

API = "/api/v1"
KNOX = API + "/cities/astana/near-repeat/knox.json"


def _theft_points(api_env):
    from qauipsiz.hotspot.cities import get_city

    inc = api_env["store"].query_incidents("astana", located_only=True)
    inc = inc[inc["category"] == "theft"]
    x, y = get_city("astana").to_metric(inc["lon"].to_numpy(float), inc["lat"].to_numpy(float))
    t = (pd.to_datetime(inc["occurred_at"], utc=True) - pd.Timestamp("1970-01-01", tz="UTC")) / pd.Timedelta(days=1)
    return np.column_stack([x, y]), t.to_numpy(float)


def test_knox_per_request_counts_and_roles(client, headers, api_env):
    url = KNOX + "?category=theft&space_edges=0,200,400&time_edges=0,7,14&permutations=49"
    assert client.get(url).status_code == 401
    r = client.get(url, headers=headers["planner"])
    assert r.status_code == 200, r.text
    k = r.json()
    assert k["permutations"] == 49 and k["min_p_value"] == pytest.approx(1 / 50)
    assert len(k["bands"]) == 4 and k["bands"][0]["space_band"] == "0-200" and k["bands"][0]["time_band"] == "0-7"
    # brute force, independent of the library: pairs with d <= 200 m and |dt| <= 7 days
    xy, t = _theft_points(api_env)
    assert k["n_events"] == len(t)
    pr = cKDTree(xy).query_pairs(200.0, output_type="ndarray")
    want = int((np.abs(t[pr[:, 0]] - t[pr[:, 1]]) <= 7.0).sum())
    assert k["bands"][0]["observed"] == want
    pr4 = cKDTree(xy).query_pairs(400.0, output_type="ndarray")
    assert k["n_pairs"] == len(pr4)
    # the same request is served from the cache (same ETag); another filter gives another table
    r2 = client.get(url, headers=headers["analyst"])
    assert r2.headers["etag"] == r.headers["etag"] and r2.json() == k
    other = client.get(url.replace("category=theft", "category=theft&weekdays=5&weekdays=6"), headers=headers["analyst"])
    assert other.status_code == 200 and other.json()["n_events"] < k["n_events"]


def test_knox_permutations_are_bounded(client, headers, monkeypatch):
    from qauipsiz.api.routers import spacetime

    url = KNOX + "?category=theft&space_edges=0,100&time_edges=0,7&permutations=999&seed=3"
    n_pairs = client.get(url.replace("999", "0"), headers=headers["admin"]).json()["n_pairs"]
    monkeypatch.setattr(spacetime, "PAIR_BUDGET", n_pairs * 40)
    k = client.get(url, headers=headers["admin"]).json()
    assert (k["permutations_asked"], k["permutations"]) == (999, 40)
    monkeypatch.setattr(spacetime, "PAIR_BUDGET", n_pairs * 5)
    r = client.get(url.replace("seed=3", "seed=4"), headers=headers["admin"])
    assert r.status_code == 422 and r.json()["type"].endswith("/too-many-pairs")


@pytest.mark.parametrize("query", ["space_edges=0,abc", "space_edges=0,5000", "time_edges=0,7,7",
                                   "space_edges=" + ",".join(str(200 * i) for i in range(12))])
def test_knox_bad_bands_are_400(client, headers, query):
    r = client.get(KNOX + "?category=theft&permutations=0&" + query, headers=headers["analyst"])
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


def test_risk_layer_takes_its_extent_from_the_knox_test(client, headers):
    r = client.get(API + "/cities/astana/near-repeat.geojson?category=theft", headers=headers["commander"])
    assert r.status_code == 200, r.text
    fc = r.json()
    meta = fc["meta"]
    assert meta["extent_from"] == "knox"
    k = client.get(KNOX + "?category=theft", headers=headers["commander"]).json()  # the same default test
    assert (meta["distance_m"], meta["days"]) == (k["significant_distance_m"], k["significant_days"])
    assert meta["knox"]["permutations"] == k["permutations"]
    if meta["distance_m"] > 0:
        assert fc["features"]
        assert all(f["properties"]["nearest_m"] <= meta["distance_m"] for f in fc["features"])
        assert all(0 <= f["properties"]["days_left"] <= meta["days"] for f in fc["features"])
    else:
        assert fc["features"] == []
    given = client.get(API + "/cities/astana/near-repeat.geojson?category=theft&distance_m=150&days=5",
                       headers=headers["commander"]).json()["meta"]
    assert (given["extent_from"], given["distance_m"], given["days"]) == ("request", 150.0, 5.0)
