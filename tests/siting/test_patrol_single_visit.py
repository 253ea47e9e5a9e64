"""One visit per hotspot (issue 17 item 7): each stop lands in its hotspot's riskiest feasible hour,
not in a block at the start of the shift."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.network import from_edges
from qauipsiz.hotspot.patrol import _single_targets, parse_shift, plan_patrol, shift_risk

CITY = get_city("astana")
SHIFT = "2025-12-05 20:00/04:00"
# grid node offsets (×100 m) of the planted hotspots and the local hour their incidents happen
PLANTED = {"a": ((3, 14), 2), "b": ((15, 4), 21), "c": ((12, 16), 0), "d": ((6, 5), 23)}


def _grid(ox, oy, n=21, step=100.0):
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    idx = ii * n + jj
    u = np.r_[idx[:-1, :].ravel(), idx[:, :-1].ravel()]
    v = np.r_[idx[1:, :].ravel(), idx[:, 1:].ravel()]
    return from_edges((ox + ii * step).ravel(), (oy + jj * step).ravel(), u, v, epsg=CITY.epsg)


@pytest.fixture(scope="module")
def planted():
    ox, oy = CITY.to_metric(np.array([71.43]), np.array([51.13]))
    ox, oy = float(ox[0]), float(oy[0])
    rng = np.random.default_rng(11)
    rows = []
    for key, ((i, j), hour) in PLANTED.items():
        lon, lat = CITY.to_wgs84(np.array([ox + i * 100.0]), np.array([oy + j * 100.0]))
        for d in range(40):  # 40 nights, every incident inside that one hour
            day = pd.Timestamp("2025-10-01") + pd.Timedelta(days=d + (1 if hour < 12 else 0))
            t = day + pd.Timedelta(hours=hour, minutes=int(rng.integers(0, 60)))
            rows.append({"key": key, "lat": float(lat[0]), "lon": float(lon[0]), "category": "robbery",
                         "occurred_at": t.tz_localize(CITY.tz).tz_convert("UTC"), "harm_weight": 1.0})
    inc = pd.DataFrame(rows)
    sh = parse_shift(SHIFT, CITY.tz)
    hs = shift_risk(inc, CITY, sh, half_life_days=None)
    # which planted hotspot each cell is (one cell each)
    key_of = {}
    for key, ((i, j), _h) in PLANTED.items():
        dist = np.hypot(hs["x"] - (ox + i * 100.0), hs["y"] - (oy + j * 100.0))
        key_of[int(dist.idxmin())] = key
    assert len(hs) == len(PLANTED) == len(key_of)
    _routes, stops = plan_patrol(CITY, None, sh.start, sh.end, 2, (ox, oy), mode="walk", net=_grid(ox, oy),
                                 hotspots=hs, max_radius_m=np.inf, solution_limit=10, time_limit_s=600.0)
    return sh, hs, stops, key_of


def test_each_stop_in_its_riskiest_hour(planted):
    sh, hs, stops, key_of = planted
    hot = stops[stops["kind"] == "hotspot"]
    assert stops.attrs["missed_visits"] == 0 and sorted(hot["hotspot"]) == list(range(len(hs)))
    for _, s in hot.iterrows():
        hour = PLANTED[key_of[int(s["hotspot"])]][1]
        start = sh.start.normalize() + pd.Timedelta(days=1 if hour < 12 else 0, hours=hour)
        # the whole stop (arrival to departure) inside the hour its incidents happen
        assert start <= s["arrive"] and s["depart"] <= start + pd.Timedelta(hours=1), (key_of[int(s["hotspot"])], s)
    # the 02:00–03:00 hotspot is visited then, 5 to 6 hours into the shift, not near its start
    a = hot[hot["hotspot"].map(key_of) == "a"].iloc[0]
    assert a["arrive"] >= sh.start + pd.Timedelta(hours=6)
    # and the stops spread over the shift in the order of their hours
    order = hot.sort_values("arrive")["hotspot"].map(key_of).tolist()
    assert order == ["b", "d", "c", "a"]


def test_single_targets_respect_reach():
    """A hotspot whose riskiest hour cannot be reached gets the riskiest hour it can reach."""
    H = 480
    hourly = np.zeros(8)
    hourly[0], hourly[5] = 10.0, 4.0  # riskiest in hour 0, second in hour 5
    hs = pd.DataFrame({"hourly": [hourly, np.ones(8)]})
    t = _single_targets(hs, H, earliest=np.array([0.0, 0.0]), latest=np.array([H, H], float))
    assert t[0] == 30 and t[1] == pytest.approx(H / 2, abs=1)  # flat: the middle of the shift
    t = _single_targets(hs, H, earliest=np.array([100.0, 0.0]), latest=np.array([H, H], float))
    assert 300 <= t[0] <= 360  # hour 0 out of reach (100 min to drive there): hour 5
