"""Patrol plans: depot at both ends, time windows, Koper dwell, every chosen hotspot visited; cards."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.network import from_edges
from qauipsiz.hotspot.patrol import (
    DEPOT_RULE,
    MARKING,
    default_depot,
    parse_shift,
    plan_patrol,
    route_cards_html,
    shift_risk,
    station_depot,
)

CITY = get_city("astana")
# the search stops after 10 solutions (< 2 s here), never at the wall-clock limit, which is only a
# cap for a runaway search: the plans are the same on a fast or a loaded machine
DETERMINISTIC = {"solution_limit": 10, "time_limit_s": 600.0}


def _grid(ox, oy, n=21, step=100.0):
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    x = (ox + ii * step).ravel()
    y = (oy + jj * step).ravel()
    idx = (ii * n + jj)
    u = np.r_[idx[:-1, :].ravel(), idx[:, :-1].ravel()]
    v = np.r_[idx[1:, :].ravel(), idx[:, 1:].ravel()]
    return from_edges(x, y, u, v, epsg=CITY.epsg)


@pytest.fixture(scope="module")
def plan():
    ox, oy = CITY.to_metric(np.array([71.43]), np.array([51.13]))
    ox, oy = float(ox[0]), float(oy[0])
    net = _grid(ox, oy)
    rng = np.random.default_rng(3)
    k = 12
    hs = pd.DataFrame({"x": ox + rng.integers(0, 21, k) * 100.0, "y": oy + rng.integers(0, 21, k) * 100.0,
                       "risk": rng.random(k) * 100, "peak_min": rng.integers(60, 420, k).astype(float),
                       "h3": np.arange(k, dtype=np.uint64), "top_category": "robbery"})
    sh = parse_shift("2025-12-05 18:00/02:00", CITY.tz)
    routes, stops = plan_patrol(CITY, None, sh.start, sh.end, 3, (ox, oy), mode="walk", net=net,
                                hotspots=hs, depot_name="УП тест", max_radius_m=np.inf, **DETERMINISTIC)
    return net, hs, sh, routes, stops, (ox, oy)


def test_routes_start_and_end_at_depot(plan):
    _, _, _, routes, stops, depot = plan
    dlon, dlat = CITY.to_wgs84(np.array([depot[0]]), np.array([depot[1]]))
    for _u, st in stops.groupby("unit"):
        st = st.sort_values("seq")
        assert st["kind"].iloc[0] == "depot" and st["kind"].iloc[-1] == "depot"
        assert st["lat"].iloc[0] == pytest.approx(dlat[0]) and st["lon"].iloc[-1] == pytest.approx(dlon[0])
    assert len(routes) == 3


def test_every_hotspot_visited_once_with_koper_dwell(plan):
    _, hs, _, _, stops, _ = plan
    hot = stops[stops["kind"] == "hotspot"]
    assert sorted(hot["hotspot"]) == list(range(len(hs)))
    assert stops.attrs["dropped"] == []
    assert hot["dwell_min"].between(10, 16).all()
    assert ((hot["depart"] - hot["arrive"]).dt.total_seconds() / 60 == hot["dwell_min"]).all()
    # the riskiest hotspot gets the longest dose
    top = hs["risk"].idxmax()
    assert hot.set_index("hotspot").loc[top, "dwell_min"] == 16


def test_time_windows_shift_and_travel_times(plan):
    net, hs, sh, _, stops, depot = plan
    hot = stops[stops["kind"] == "hotspot"]
    assert (hot["arrive"] >= hot["window_start"]).all()
    assert (hot["arrive"] <= hot["window_end"]).all()
    assert (stops["arrive"] >= sh.start).all() and (stops["depart"] <= sh.end).all()
    xy = np.vstack([np.asarray(depot)[None, :], hs[["x", "y"]].to_numpy()])
    nodes, _ = net.snap(xy[:, 0], xy[:, 1])
    D = net.distances(nodes)[:, nodes]
    for _, st in stops.groupby("unit"):
        st = st.sort_values("seq")
        ids = np.where(st["kind"] == "depot", 0, st["hotspot"] + 1)
        for a in range(len(st) - 1):
            walk = D[ids[a], ids[a + 1]] / 80.0
            gap = (st["arrive"].iloc[a + 1] - st["depart"].iloc[a]).total_seconds() / 60
            assert gap >= walk - 1e-6


def test_load_is_balanced(plan):
    _, _, _, routes, _, _ = plan
    assert routes["n_stops"].min() >= 2
    assert routes["n_stops"].max() - routes["n_stops"].min() <= 3


def test_route_cards(plan, tmp_path):
    _, _, _, routes, stops, _ = plan
    cards = route_cards_html(routes, stops, CITY, tmp_path, streets=None)
    assert sorted(cards) == [1, 2, 3]
    for u, doc in cards.items():
        assert doc.count(MARKING) == 2
        assert "<svg" in doc and "<table>" in doc
        assert "src=\"http" not in doc and "href=\"http" not in doc  # works offline
        assert (tmp_path / f"route_card_unit_{u}.html").exists()
        n = int((stops["unit"] == u).sum()) - 2
        assert doc.count("<circle") == n


def test_parse_shift_wraps_midnight():
    s = parse_shift("2025-12-05 18:00/02:00", "Asia/Almaty")
    assert s.minutes == 480
    assert str(s.end) == "2025-12-06 02:00:00+05:00"
    with pytest.raises(ValueError, match="shift"):
        parse_shift("2025-12-05 18:00", "Asia/Almaty")


def test_shift_risk_uses_local_hours_weekday_and_darkness():
    # 2025-12-05 is a Friday; one cell with evening incidents, one with morning ones
    t_even = pd.to_datetime(["2025-11-28 20:30", "2025-11-21 21:00"]).tz_localize("Asia/Almaty")
    t_morn = pd.to_datetime(["2025-11-28 09:00", "2025-11-27 10:00", "2025-11-26 11:00"]).tz_localize("Asia/Almaty")
    inc = pd.DataFrame({"lat": [51.13] * 2 + [51.16] * 3, "lon": [71.43] * 2 + [71.40] * 3,
                        "occurred_at": list(t_even.tz_convert("UTC")) + list(t_morn.tz_convert("UTC")),
                        "harm_weight": 1.0, "is_dark": [True, True, False, False, False], "category": "robbery"})
    sh = parse_shift("2025-12-05 18:00/02:00", "Asia/Almaty")
    r = shift_risk(inc, CITY, sh, half_life_days=None)
    assert len(r) == 1 and r["count"].iloc[0] == 2  # morning incidents are outside the shift
    # both are Friday evenings (×2) and dark like the shift midpoint (×2)
    assert r["risk"].iloc[0] == pytest.approx(2 * 2 + 1 * 2 * 2)
    assert 120 <= r["peak_min"].iloc[0] <= 190


def test_walking_patrol_keeps_to_reachable_hotspots(plan):
    net, hs, sh, _, _, depot = plan
    # 1,000 m on foot from the depot corner of the grid: only cells with x + y offsets ≤ 1,000 m
    _routes, stops = plan_patrol(CITY, None, sh.start, sh.end, 2, depot, mode="walk", net=net, hotspots=hs,
                                 max_radius_m=1000.0, **DETERMINISTIC)
    hot = stops[stops["kind"] == "hotspot"]
    x, y = CITY.to_metric(hot["lon"].to_numpy(), hot["lat"].to_numpy())
    assert ((x - depot[0]) + (y - depot[1]) <= 1000.0 + 0.01).all()
    near = ((hs["x"] - depot[0]) + (hs["y"] - depot[1]) <= 1000.0).sum()
    assert 0 < len(hot) == near
    with pytest.raises(ValueError, match="within reach"):
        plan_patrol(CITY, None, sh.start, sh.end, 2, depot, mode="walk", net=net, hotspots=hs,
                    max_radius_m=1.0, **DETERMINISTIC)


def test_repeated_visits_one_per_round(plan):
    net, hs, sh, _, _, depot = plan
    # 4 units: the first solutions already visit every hotspot in every round
    routes, stops = plan_patrol(CITY, None, sh.start, sh.end, 4, depot, mode="walk", net=net, hotspots=hs,
                                max_radius_m=np.inf, visits=3, **DETERMINISTIC)
    hot = stops[stops["kind"] == "hotspot"]
    assert stops.attrs["missed_visits"] == 0 and stops.attrs["dropped"] == []
    # every hotspot three times, once in each third of the 8-hour shift
    assert (hot.groupby("hotspot")["visit"].apply(sorted) == pd.Series([[1, 2, 3]] * len(hs))).all()
    third = (sh.end - sh.start) / 3
    for v in (1, 2, 3):
        arr = hot.loc[hot["visit"] == v, "arrive"]
        assert (arr >= sh.start + (v - 1) * third).all() and (arr < sh.start + v * third).all()
    assert (hot["arrive"] >= hot["window_start"]).all() and (hot["arrive"] <= hot["window_end"]).all()
    # stops of a hotspot carry its own place and dose on every visit
    one = hot[hot["hotspot"] == 0]
    assert one["lat"].nunique() == 1 and one["dwell_min"].nunique() == 1
    assert int(routes["n_stops"].sum()) == 3 * len(hs)
    with pytest.raises(ValueError, match="visits"):
        plan_patrol(CITY, None, sh.start, sh.end, 3, depot, mode="walk", net=net, hotspots=hs, visits=0)


@pytest.fixture(scope="module")
def night(demo_dir):
    """Issue 17 item 7: the demo city, 20:00–04:00 with 5 units, three rounds, the default depot."""
    import geopandas as gpd

    inc = pd.read_parquet(demo_dir / "incidents_truth.parquet")
    st = gpd.read_file(demo_dir / "layers" / "police_stations.geojson")
    sh = parse_shift("2025-12-05 20:00/04:00", CITY.tz)
    hs = shift_risk(inc, CITY, sh)
    d = station_depot(CITY, st, default_depot(CITY, st, hs))
    _routes, stops = plan_patrol(CITY, inc, sh.start, sh.end, 5, (d["x"], d["y"]), visits=3, hotspots=hs,
                                 depot_name=d["name"], depot_rule=DEPOT_RULE, **DETERMINISTIC)
    return sh, stops, d


def _repeat_gaps(hot: pd.DataFrame) -> list[float]:
    """Minutes from leaving a hotspot to the next arrival there, over every hotspot."""
    gaps = []
    for _, g in hot.sort_values("arrive").groupby("hotspot"):
        gaps += list((g["arrive"].iloc[1:].to_numpy() - g["depart"].iloc[:-1].to_numpy()) / pd.Timedelta(minutes=1))
    return gaps


def test_repeat_visits_are_30_min_apart_and_fill_the_shift(night):
    sh, stops, _ = night
    hot = stops[stops["kind"] == "hotspot"]
    assert hot.groupby("hotspot")["visit"].nunique().max() == 3
    gaps = _repeat_gaps(hot)
    assert gaps and min(gaps) >= 30
    # the rounds spread over the whole shift, not a block in its middle
    hour = pd.Timedelta(hours=1)
    assert hot["arrive"].min() <= sh.start + hour
    assert hot["arrive"].max() >= sh.end - hour
    assert (hot["depart"] <= sh.end).all()
    # 3 × 30 visits fit 5 units' night: their dwell plus the cheapest drive into each hotspot is
    # about 1,215 of the fleet's 2,400 minutes, and a 40 s search serves all 90.  So the plan may miss
    # none: the misses once seen here (10, then 14 with the corrected severity classes) came from the
    # first-solution heuristic, not from the shift (patrol.FIRST_SOLUTION)
    assert stops.attrs["missed_visits"] == 0 and stops.attrs["dropped"] == []


def test_repeat_visits_follow_each_hotspots_own_hours(plan):
    net, hs, sh, _, _, depot = plan
    # two hotspots side by side, one risky early in the shift, one late: their visits lean that way
    hs2 = hs.head(2).copy()
    hs2["peak_min"] = [30.0, 450.0]
    _routes, stops = plan_patrol(CITY, None, sh.start, sh.end, 1, depot, mode="walk", net=net, hotspots=hs2,
                                 max_radius_m=np.inf, visits=2, **DETERMINISTIC)
    hot = stops[stops["kind"] == "hotspot"]
    mean = hot.groupby("hotspot")["arrive"].apply(lambda a: (a - sh.start).dt.total_seconds().mean())
    assert mean[0] < mean[1]
    assert min(_repeat_gaps(hot)) >= 30


def test_one_depot_rule_for_cli_and_api(night, demo_dir, tmp_path):
    import json

    from typer.testing import CliRunner

    import qauipsiz.api.cli.patrol  # noqa: F401
    from qauipsiz.api.cli._app import app

    _, stops, d = night
    assert stops.attrs["depot"]["name"] == d["name"] and stops.attrs["depot"]["rule"] == DEPOT_RULE
    r = CliRunner().invoke(app, ["patrol", "--city", "astana", "--shift", "2025-12-05 20:00/04:00", "--units", "1",
                                 "--hotspots", "3", "--seconds", "1", "--json",
                                 "--incidents", str(demo_dir / "incidents_truth.parquet"),
                                 "--layers", str(demo_dir / "layers"), "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    # the CLI's default depot is hotspot.patrol.default_depot, the function the API calls for station=-1
    assert doc["depot"] == d["name"] and doc["depot_detail"]["station"] == d["station"]
    assert doc["depot_detail"]["rule"] == DEPOT_RULE
