"""Reverse lookup (district, beat, block) and the match-rate report."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.geocode import match_report, reverse
from qauipsiz.hotspot.geocode.reverse import street_blocks


def test_reverse_district_beat_block():
    c = get_city("astana")
    polys, _ = street_blocks("astana")
    # points: representative points of 50 blocks (metric) -> WGS84
    rp = shapely.point_on_surface(polys[:50])
    lon, lat = c.to_wgs84(shapely.get_x(rp), shapely.get_y(rp))
    beats = gpd.GeoDataFrame({"beat": ["west", "east"]}, geometry=[
        shapely.box(60, 50, 71.45, 52), shapely.box(71.45, 50, 80, 52)], crs=4326)
    r = reverse(lat, lon, "astana", beats=beats)
    assert list(r["block"]) == list(range(50))
    expect = [d if isinstance(d, str) else None for d in c.assign_district(lat, lon)]
    assert list(r["district"]) == expect
    assert list(r["beat"]) == ["west" if x < 71.45 else "east" for x in lon]
    far = reverse([43.2], [76.9], "astana", beats=beats)
    assert far["block"][0] == -1 and far["beat"][0] is None and far["district"][0] is None


def test_report_counts_and_warning():
    df = pd.DataFrame({
        "precision": ["street"] * 7 + ["intersection"] + ["none", "district"],
        "score": [100] * 6 + [50, 90, 0, 50],  # one street row below the accept score
        "district": ["esil"] * 5 + ["nura"] * 5,
        "source": ["erdr"] * 8 + ["102"] * 2,
    })
    rep = match_report(df)
    assert rep["n"] == 10 and rep["matched"] == 7 and rep["match_rate"] == pytest.approx(0.7)
    assert not rep["ok"] and "85%" in rep["warning"]
    by_d = {r["group"]: r for r in rep["by_district"]}
    assert by_d["esil"]["match_rate"] == 1.0 and not by_d["esil"]["warning"]
    assert by_d["nura"]["matched"] == 2 and by_d["nura"]["warning"]
    by_s = {r["group"]: r["match_rate"] for r in rep["by_source"]}
    assert by_s == {"102": 0.0, "erdr": pytest.approx(7 / 8)}
    by_p = {r["group"]: r["n"] for r in rep["by_precision"]}
    assert by_p["street"] == 7 and by_p["none"] == 1 and by_p["district"] == 1 and sum(by_p.values()) == 10


def test_report_on_incidents_table_columns():
    df = pd.DataFrame({"geocode_precision": ["address"] * 9 + ["none"], "geocode_score": [100.0] * 9 + [np.nan],
                       "lat": [51.13] * 10, "lon": [71.43] * 10})
    rep = match_report(df, city="astana")
    assert rep["match_rate"] == pytest.approx(0.9) and rep["ok"] and rep["warning"] is None
    assert len(rep["by_district"]) == 1


def test_report_rejects_unknown_precision():
    with pytest.raises(ValueError, match="row 1"):
        match_report(pd.DataFrame({"precision": ["street", "exact"]}))
