"""Sinks (default points: many different addresses at one coordinate) versus repeat places (one
consistent address with many incidents: a mall, a market, an apartment block) — issue 14 item 3."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from qauipsiz.api.ingest import validate
from qauipsiz.hotspot.cities import City, get_city
from qauipsiz.hotspot.geocode import check_coordinates, default_points
from qauipsiz.hotspot.geocode.coords import classify_repeats

CHICAGO = Path("/work/shared/data/peer/chicago_sample_2017_2019.csv")


def _inside_points(n, seed=0, city="astana"):
    c = get_city(city)
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = c.boundary.bounds
    lon = rng.uniform(minx, maxx, 20 * n)
    lat = rng.uniform(miny, maxy, 20 * n)
    ok = c.contains(lat, lon)
    return lat[ok][:n].round(6), lon[ok][:n].round(6)


def _batch(seed=0):
    """5000 scattered incidents, each with its own address."""
    lat, lon = _inside_points(5000, seed=seed)
    addr = np.array([f"ул. Улица {i}, д. {i % 97}" for i in range(len(lat))], dtype=object)
    return lat.copy(), lon.copy(), addr


def test_planted_mall_is_a_repeat_place_not_a_sink():
    lat, lon, addr = _batch(1)
    lat[:500], lon[:500] = 51.128912, 71.430561         # Khan Shatyr: 500 thefts, 10 % of the batch
    addr[:500] = "пр. Туран, 37"
    addr[:40] = "Пр.  Туран 37"                         # the same address typed differently
    r = check_coordinates(lat, lon, "astana", addresses=addr)
    assert not r["flags"][:500].str.contains("sink").any()
    assert r["flags"][:500].str.contains("repeat_place").all() and r["ok"][:500].all()
    assert (r["lat"][:500] == 51.128912).all()                      # kept at its precision
    assert not r["flags"][500:].str.contains("sink|repeat_place").any()
    assert r.attrs["repeat_places"] == 1 and r.attrs["repeat_place_rows"] == 500 and r.attrs["sink_rows"] == 0


def test_planted_default_point_with_many_addresses_is_a_sink():
    lat, lon, addr = _batch(2)
    lat[:300], lon[:300] = 51.147213, 71.442871
    addr[:300] = [f"мкр. Самал {i % 150}" for i in range(300)]       # 150 distinct addresses
    r = check_coordinates(lat, lon, "astana", addresses=addr)
    assert r["flags"][:300].str.contains("sink").all() and not r["ok"][:300].any()
    assert not r["flags"][300:].str.contains("sink|repeat_place").any()
    assert r.attrs["sink_rows"] == 300


def test_mall_and_default_point_in_one_batch_agree_between_ingest_and_hotspot():
    lat, lon, addr = _batch(3)
    lat[:500], lon[:500] = 51.128912, 71.430561
    addr[:500] = "пр. Туран, 37"
    lat[500:800], lon[500:800] = 51.147213, 71.442871
    addr[500:800] = [f"мкр. Самал {i % 150}" for i in range(300)]
    lat[800:830], lon[800:830] = 51.160012, 71.470034               # small point, 3 addresses disagree
    addr[800:830] = [f"ул. Кенесары {i % 3}" for i in range(30)]
    r = check_coordinates(lat, lon, "astana", addresses=addr)
    v = validate.check_coordinates(pd.Series(lat.astype(str)), pd.Series(lon.astype(str)), get_city("astana"),
                                   addresses=pd.Series(addr))
    sink = r["flags"].str.contains("sink").to_numpy()
    rep = r["flags"].str.contains("repeat_place").to_numpy()
    np.testing.assert_array_equal(sink, v["sink"].to_numpy())
    np.testing.assert_array_equal(rep, v["repeat_place"].to_numpy())
    assert sink[500:800].all() and rep[:500].all() and not sink[:500].any()
    # 30 rows (0.6 % share, abnormal) whose 3 addresses disagree: a sink
    assert sink[800:830].all()
    assert v["precision"][:500].eq("address").all() and v["precision"][500:800].eq("district").all()
    assert v["flags"][:500].str.contains("repeat_place").all()


def test_without_addresses_count_alone_is_not_a_sink():
    lat, lon = _inside_points(3000, seed=4)
    lat, lon = lat.copy(), lon.copy()
    lat[:120], lon[:120] = 51.16, 71.47               # 4 %, but far from any known default point
    r = check_coordinates(lat, lon, "astana")
    assert not r["flags"].str.contains("sink").any()
    assert r["flags"][:120].str.contains("repeat_place").all() and r["ok"][:120].all()


def test_without_addresses_extreme_share_near_a_default_point_is_a_sink():
    c = get_city("astana")
    lat, lon = _inside_points(3000, seed=5)
    lat, lon = lat.copy(), lon.copy()
    dla, dlo = default_points("astana")
    x, y = c.to_metric(dlo[0], dla[0])
    plon, plat = c.to_wgs84(x + 120.0, y)               # 120 m from a district centroid (shifted default)
    lat[:120], lon[:120] = round(float(plat), 6), round(float(plon), 6)     # 4 % of the batch
    lat[200:215], lon[200:215] = round(float(plat), 6) + 0.0005, round(float(plon), 6)  # 0.5 %: not extreme
    r = check_coordinates(lat, lon, "astana")
    assert r["flags"][:120].str.contains("sink").all()
    assert not r["flags"][200:215].str.contains("sink").any()
    assert r["flags"][200:215].str.contains("repeat_place").all()


def test_known_default_point_is_a_sink_even_with_one_address():
    lat, lon, addr = _batch(6)
    lat[:12], lon[:12] = 51.15, 71.42
    addr[:12] = "ул. Бейбитшилик, 1"
    r = check_coordinates(lat, lon, "astana", addresses=addr, known_sinks=([51.15], [71.42]))
    assert r["flags"][:12].str.contains("sink").all()
    assert not r["flags"][:12].str.contains("repeat_place").any()


def _chicago_city(lat, lon) -> City:
    """A city outside the registry: a square around the sample's points (UTM 16N)."""
    c = City("chicago_sample", "Chicago", "Chicago", "Chicago", 32616, "America/Chicago", "", "")
    c.__dict__["boundary"] = shapely.box(np.nanmin(lon) - 0.01, np.nanmin(lat) - 0.01,
                                         np.nanmax(lon) + 0.01, np.nanmax(lat) + 0.01)
    return c


@pytest.mark.skipif(not CHICAGO.exists(), reason="Chicago sample not available")
def test_chicago_sample_sinks_touch_at_most_two_percent():
    d = pd.read_csv(CHICAGO, usecols=["block", "latitude", "longitude"])
    d = d.dropna(subset=["latitude", "longitude"]).reset_index(drop=True)
    c = _chicago_city(d["latitude"], d["longitude"])
    r = check_coordinates(d["latitude"], d["longitude"], c, addresses=d["block"], district_defaults=True)
    sink = r["flags"].str.contains("sink").mean()
    assert sink <= 0.02, f"sink flag on {sink:.1%} of rows"
    assert r["ok"].mean() >= 0.98
    assert r.attrs["repeat_places"] > 0           # repeat places (O'Hare, malls, blocks) are counted, kept
    s, rep, _t = classify_repeats(d["latitude"], d["longitude"], c, d["block"])
    assert s.mean() <= 0.02 and rep.sum() == r.attrs["repeat_place_rows"]
    v = validate.check_coordinates(d["latitude"].astype(str), d["longitude"].astype(str), c,
                                   addresses=d["block"])
    assert v["sink"].mean() <= 0.02 and v["usable"].mean() >= 0.99
