"""Property tests for the layer parsers: numbers with decimal comma or point, boolean spellings."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from qauipsiz.cpted.layers import validate_layer

TRUE = ["true", "True", "1", "yes", "да", "иә", "t"]
FALSE = ["false", "FALSE", "0", "no", "нет", "жоқ", "f"]


@settings(max_examples=60, deadline=None)
@given(h=st.floats(1.0, 60.0, allow_nan=False), flux=st.floats(0.0, 500_000.0, allow_nan=False),
       comma=st.booleans(), working=st.sampled_from(TRUE + FALSE))
def test_lamp_numbers_and_booleans_roundtrip(h, flux, comma, working):
    def fmt(v):
        s = repr(float(v))
        return s.replace(".", ",") if comma else s

    df = pd.DataFrame({"height_m": [fmt(h)], "flux_lm": [fmt(flux)], "working": [working]})
    g = validate_layer("lamps", gpd.GeoDataFrame(df, geometry=[shapely.Point(71.4, 51.1)], crs=4326))
    assert g["height_m"].iloc[0] == float(h)
    assert g["flux_lm"].iloc[0] == float(flux)
    assert bool(g["working"].iloc[0]) == (working in TRUE)


@settings(max_examples=40, deadline=None)
@given(v=st.floats(-1e6, 1e6, allow_nan=False).filter(lambda x: x < 100 or x > 20_000))
def test_out_of_range_resolution_is_rejected_with_its_row(v):
    df = pd.DataFrame({"bearing_deg": [0.0, 0.0], "fov_deg": [90.0, 90.0], "resolution_px": [1920.0, v]})
    g = gpd.GeoDataFrame(df, geometry=[shapely.Point(71.4, 51.1)] * 2, crs=4326)
    try:
        validate_layer("cameras", g)
    except ValueError as e:
        assert "row 1, field 'resolution_px'" in str(e)
    else:
        raise AssertionError("accepted an out-of-range resolution")
