"""Coordinate checks: swap, zero, outside, low precision and sinks."""
from __future__ import annotations

import numpy as np
import pandas as pd

from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.geocode import check_coordinates, find_sinks


def _inside_points(n, seed=0):
    c = get_city("astana")
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = c.boundary.bounds
    lon = rng.uniform(minx, maxx, 20 * n)
    lat = rng.uniform(miny, maxy, 20 * n)
    ok = c.contains(lat, lon)
    return lat[ok][:n], lon[ok][:n]


def test_flags_and_repairs():
    lat, lon = _inside_points(200)
    la, lo = lat.copy(), lon.copy()
    la[0], lo[0] = lon[0], lat[0]          # swapped
    la[1], lo[1] = 0.0, 0.0                # zero
    la[2], lo[2] = 43.2512, 76.9512           # Almaty: outside Astana
    la[3], lo[3] = round(lat[3], 3), round(lon[3], 3)  # 3 decimals
    la[4] = np.nan                         # missing
    r = check_coordinates(la, lo, "astana")
    assert r["flags"][0] == "swapped" and r["ok"][0]
    assert r["lat"][0] == lat[0] and r["lon"][0] == lon[0]
    assert r["flags"][1] == "zero" and not r["ok"][1] and np.isnan(r["lat"][1])
    assert r["flags"][2] == "outside" and not r["ok"][2]
    assert "low_precision" in r["flags"][3] and r["ok"][3]
    assert r["flags"][4] == "missing" and not r["ok"][4]
    assert (r["flags"][5:] == "").all() and r["ok"][5:].all()


def test_string_input_with_decimal_comma_counts_typed_decimals():
    r = check_coordinates(["51,1801", "51,18"], ["71,4460", "71,446012"], "astana")
    assert list(r["flags"]) == ["", "low_precision"]
    assert r["lat"][0] == 51.1801


def test_planted_sink_found_and_nothing_else():
    lat, lon = _inside_points(3000, seed=1)
    lat, lon = lat.copy(), lon.copy()
    lat[:120], lon[:120] = 51.16, 71.47      # 4 % of rows at one default point: 60 different addresses
    lat[200:203], lon[200:203] = lat[203], lon[203]  # a genuine small repeat
    addr = np.array([f"ул. Улица {i}" for i in range(len(lat))], dtype=object)
    addr[:120] = [f"мкр. Самал {i % 60}" for i in range(120)]
    s = find_sinks(lat, lon, addr)
    assert len(s) == 1 and s["count"][0] == 120
    r = check_coordinates(lat, lon, "astana", addresses=addr)
    assert r["flags"][:120].str.contains("sink").all() and not r["ok"][:120].any()
    assert not r["flags"][120:].str.contains("sink").any()


def test_known_sinks_catch_small_station_defaults():
    lat, lon = _inside_points(3000, seed=2)
    lat, lon = lat.copy(), lon.copy()
    lat[:5], lon[:5] = 51.15, 71.42                     # only 5 rows: below the share rule
    r = check_coordinates(lat, lon, "astana", known_sinks=([51.15], [71.42]))
    assert r["flags"][:5].str.contains("sink").all()
    assert not r["flags"][5:].str.contains("sink").any()


def test_demo_dirt_is_detected(demo_dir):
    """The demo export's planted coordinate dirt (swapped, zero, outside, 2 decimals, station
    defaults) is flagged, and clean rows are not."""
    import geopandas as gpd

    e = pd.read_csv(demo_dir / "incidents_export.csv", sep=";", dtype=str, encoding="utf-8-sig",
                    keep_default_na=False)
    t = pd.read_parquet(demo_dir / "incidents_truth.parquet")[["source_id", "dirt"]]
    e = e.merge(t, left_on="Номер ЕРДР", right_on="source_id", how="inner")
    e = e[e["dirt"] != "address_only"].reset_index(drop=True)
    st = gpd.read_file(demo_dir / "layers" / "police_stations.geojson")
    r = check_coordinates(e["Широта"], e["Долгота"], "astana", known_sinks=(st.geometry.y, st.geometry.x))
    for dirt, flag in (("swapped", "swapped"), ("zero", "zero"), ("outside", "outside"),
                       ("low_precision", "low_precision"), ("station_sink", "sink")):
        m = (e["dirt"] == dirt).to_numpy()
        assert m.sum() > 0
        hit = r["flags"][m].str.contains(flag).mean()
        assert hit >= 0.9, f"{dirt}: flagged {hit:.0%}"
    clean = (e["dirt"] == "clean").to_numpy()
    assert (r["flags"][clean] == "").mean() >= 0.99
    assert r["ok"][clean].mean() >= 0.99


def test_district_centroid_defaults_are_sinks():
    from qauipsiz.hotspot.geocode import default_points

    lat, lon = _inside_points(2000, seed=3)
    lat, lon = lat.copy(), lon.copy()
    dla, dlo = default_points("astana")
    assert len(dla) == 2 * (len(get_city("astana").districts) + 1)
    lat[:2], lon[:2] = dla[0], dlo[0]                     # two rows at the first district's centroid
    r = check_coordinates(lat, lon, "astana")
    assert r["flags"][:2].str.contains("sink").all()
    assert not r["flags"][2:].str.contains("sink").any()
    r = check_coordinates(lat, lon, "astana", district_defaults=False)
    assert not r["flags"].str.contains("sink").any()
