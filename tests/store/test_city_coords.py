"""Coordinate checks relative to the city (issue 15 item 3) and sinks versus repeat places at
ingest (issue 14 item 3): the city's polygon plus a tolerance, never a national box."""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from qauipsiz.api.ingest import ingest_file, validate
from qauipsiz.hotspot.cities import City, get_city
from qauipsiz.hotspot.geocode import check_coordinates
from qauipsiz.hotspot.geocode import coords as gc


def _square_city() -> City:
    """A city outside the registry and far from Kazakhstan: a ~20 km square around Chicago's Loop."""
    c = City("square_chicago", "Chicago", "Chicago", "Chicago", 32616, "America/Chicago", "", "")
    c.__dict__["boundary"] = shapely.box(-87.75, 41.78, -87.55, 41.95)
    return c


def _pts(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(41.79, 41.94, n).round(6), rng.uniform(-87.74, -87.56, n).round(6)


def test_square_city_accepts_its_points_and_fixes_swapped_ones():
    c = _square_city()
    lat, lon = _pts(50)
    la, lo = lat.astype(str).astype(object), lon.astype(str).astype(object)
    la[0], lo[0] = str(lon[0]), str(lat[0])                 # swapped
    la[1], lo[1] = "51.1694", "71.4491"                     # Astana: outside this city
    la[2], lo[2] = "71.4491", "51.1694"                     # Astana swapped: outside, not "fixed"
    v = validate.check_coordinates(pd.Series(la), pd.Series(lo), c)
    assert v["swapped"][0] and v["usable"][0]
    assert v["lat"][0] == lat[0] and v["lon"][0] == lon[0]
    assert v["outside"][1] and v["outside"][2] and not v["swapped"][1:3].any()
    assert v["usable"][3:].all() and (v["flags"][3:] == "").all()
    r = check_coordinates(la, lo, c)
    assert r["flags"][0] == "swapped" and r["ok"][0] and r["lat"][0] == lat[0]
    assert r["flags"][1] == "outside" and r["flags"][2] == "outside"
    assert (r["flags"][3:] == "").all() and r["ok"][3:].all()


def test_tolerance_band_around_the_polygon():
    c = get_city("astana")
    b = c.boundary_metric
    near = shapely.difference(shapely.buffer(b, gc.CITY_TOLERANCE_M * 0.5), b).representative_point()
    far = shapely.difference(shapely.buffer(b, gc.CITY_TOLERANCE_M * 5), shapely.buffer(b, gc.CITY_TOLERANCE_M * 2))
    far = far.representative_point()
    lon, lat = c.to_wgs84([near.x, far.x], [near.y, far.y])
    assert not c.contains(lat, lon).any()
    ins = gc.in_city(lat, lon, c)
    assert ins[0] and not ins[1]
    v = validate.check_coordinates(pd.Series([f"{x:.6f}" for x in lat]), pd.Series([f"{x:.6f}" for x in lon]), c)
    assert list(v["usable"]) == [True, False] and list(v["outside"]) == [False, True]


def test_no_national_box():
    """A pair that lies in Kazakhstan read the other way but in no city is outside, not 'swapped'."""
    assert not hasattr(validate, "KZ_LAT") and not hasattr(gc, "KZ_LAT")
    v = validate.check_coordinates(pd.Series(["76.9512"]), pd.Series(["43.2512"]), get_city("astana"))
    assert v["outside"][0] and not v["swapped"][0]
    r = check_coordinates(["76.9512"], ["43.2512"], "astana")
    assert r["flags"][0] == "outside"
    # the same pair is a swap for Almaty, where it falls in the city
    v = validate.check_coordinates(pd.Series(["76.9512"]), pd.Series(["43.2512"]), get_city("almaty"))
    assert v["swapped"][0] and v["usable"][0] and v["lat"][0] == 43.2512


def _write(path, rows):
    header = ["id", "occurred_at", "article", "address", "latitude", "longitude"]
    pd.DataFrame(rows, columns=header).to_csv(path, index=False)
    return path


def test_ingest_counts_repeat_places_and_flags_default_points(tmp_path, store):
    c = get_city("astana")
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = c.boundary.bounds
    lo, la = rng.uniform(minx, maxx, 4000), rng.uniform(miny, maxy, 4000)
    keep = c.contains(la, lo)
    la, lo = la[keep][:1000], lo[keep][:1000]
    rows = []
    t0 = pd.Timestamp("2024-03-01 10:00")
    for i in range(1000):
        addr, lat, lon = f"ул. Улица {i}, д. {i % 50 + 1}", f"{la[i]:.6f}", f"{lo[i]:.6f}"
        if i < 60:                                          # a mall: one address, 60 thefts
            addr, lat, lon = "пр. Туран, 37", "51.128912", "71.430561"
        elif i < 120:                                       # a default point: 30 addresses
            addr, lat, lon = f"мкр. Самал {i % 30}", "51.147213", "71.442871"
        rows.append([f"r{i}", (t0 + pd.Timedelta(minutes=17 * i)).strftime("%d.%m.%Y %H:%M"), "188 ч.1", addr,
                     lat, lon])
    rep = ingest_file(_write(tmp_path / "a.csv", rows), city="astana", store=store, source="t")
    assert rep.accepted == 1000
    assert rep.flags.get("repeat_place") == 60 and rep.flags.get("sink") == 60
    df = store.query_incidents("astana").set_index("source_id")
    mall = df.loc[[f"r{i}" for i in range(60)]]
    assert mall["coord_flags"].str.contains("repeat_place").all()
    assert (mall["geocode_precision"] == "address").all() and (mall["lat"] - 51.128912).abs().max() < 1e-9
    dflt = df.loc[[f"r{i}" for i in range(60, 120)]]
    assert dflt["coord_flags"].str.contains("sink").all() and (dflt["geocode_precision"] == "district").all()
