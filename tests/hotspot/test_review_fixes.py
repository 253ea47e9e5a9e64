"""Review fixes (issue 14, item 5): esri_bandwidth weight alignment, resolution-independent
recency decay in patrol risk, and bin_incidents' ``n_input`` attribute."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qauipsiz.hotspot.binning import bin_incidents
from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.kde import esri_bandwidth
from qauipsiz.hotspot.patrol import parse_shift, shift_risk

CITY = get_city("astana")


# ---------------------------------------------------------------- 1. esri_bandwidth weights
def test_esri_bandwidth_weights_follow_their_points_when_rows_are_dropped():
    rng = np.random.default_rng(5)
    xy = rng.normal(0, 500, (40, 2))
    w = rng.uniform(0.5, 3.0, 40)
    xy_nan = xy.copy()
    xy_nan[[0, 7, 19], 0] = np.nan  # dropped rows at the start and in the middle
    xy_nan[25, 1] = np.inf
    drop = np.isin(np.arange(40), [0, 7, 19, 25])
    expected = esri_bandwidth(xy[~drop], w[~drop])
    assert esri_bandwidth(xy_nan, w) == pytest.approx(expected, rel=1e-12)


def test_esri_bandwidth_weight_on_a_far_point_after_a_dropped_row():
    # the heavy weight belongs to the far point; a weight shift would move it to a near one
    xy = np.array([[np.nan, 0.0], [0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [5000.0, 5000.0]])
    w = np.array([1.0, 1.0, 1.0, 1.0, 50.0])
    assert esri_bandwidth(xy, w) == pytest.approx(esri_bandwidth(xy[1:], w[1:]), rel=1e-12)


def test_esri_bandwidth_weights_length_must_match():
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="weights"):
        esri_bandwidth(xy, [1.0, 1.0])


# ---------------------------------------------------------------- 2. patrol recency decay
def _two_cell_incidents(unit: str) -> pd.DataFrame:
    """Two cells, one incident each, same local evening hour and darkness, 180 days apart."""
    local = pd.to_datetime(["2025-11-28 20:30", "2025-06-01 20:30"]).tz_localize("Asia/Almaty")
    occ = pd.Series(local.tz_convert("UTC")).astype(f"datetime64[{unit}, UTC]")
    assert str(occ.dtype) == f"datetime64[{unit}, UTC]"
    return pd.DataFrame({"lat": [51.13, 51.16], "lon": [71.43, 71.40], "occurred_at": occ,
                         "harm_weight": 1.0, "is_dark": [True, True], "category": "robbery"})


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_shift_risk_half_life_is_in_days_at_any_datetime_resolution(unit):
    inc = _two_cell_incidents(unit)
    age_days = (inc["occurred_at"].iloc[0] - inc["occurred_at"].iloc[1]) / pd.Timedelta(days=1)
    sh = parse_shift("2025-12-05 18:00/02:00", "Asia/Almaty")
    r = shift_risk(inc, CITY, sh, weekday_weight=1.0, dark_weight=1.0, half_life_days=180.0)
    assert len(r) == 2
    assert r["risk"].iloc[0] == pytest.approx(1.0)
    assert r["risk"].iloc[1] == pytest.approx(0.5 ** (age_days / 180.0), rel=1e-9)
    assert 0.4 < r["risk"].iloc[1] < 0.6


def test_shift_risk_decay_is_the_same_for_us_and_ns_inputs():
    sh = parse_shift("2025-12-05 18:00/02:00", "Asia/Almaty")
    r_us = shift_risk(_two_cell_incidents("us"), CITY, sh, half_life_days=30.0)
    r_ns = shift_risk(_two_cell_incidents("ns"), CITY, sh, half_life_days=30.0)
    np.testing.assert_allclose(r_us["risk"].to_numpy(), r_ns["risk"].to_numpy(), rtol=1e-12)


# ---------------------------------------------------------------- 3. bin_incidents n_input
def test_bin_incidents_sets_n_input():
    occ = pd.Series(pd.to_datetime(["2025-01-05 10:00", "2025-02-05 10:00", "2025-03-05 10:00",
                                    "2025-04-05 10:00"], utc=True)).astype("datetime64[us, UTC]")
    inc = pd.DataFrame({"lat": [51.13, 51.13, 51.16, np.nan], "lon": [71.43, 71.43, 71.40, np.nan],
                        "occurred_at": occ, "harm_weight": 1.0})
    out = bin_incidents(inc, 9)
    assert out.attrs["n_input"] == 4
    assert out.attrs["n_filtered"] == 4 and out.attrs["n_binned"] == 3 and out.attrs["no_point"] == 1
    filt = bin_incidents(inc, 9, start="2025-02-01")
    assert filt.attrs["n_input"] == 4 and filt.attrs["n_filtered"] == 3
    assert set(filt.attrs) >= {"n_input", "n_filtered", "n_binned", "outside", "no_point"}
