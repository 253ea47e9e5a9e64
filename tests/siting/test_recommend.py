"""Recommenders on the (reduced) demo city: planted hotspots found, greedy gap reported, CLI JSON."""
from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from qauipsiz.hotspot.cities import get_city

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
CITY = get_city("astana")


@pytest.fixture(scope="module")
def demo(demo_dir):
    inc = pd.read_parquet(demo_dir / "incidents_truth.parquet")
    layers = {p.stem: gpd.read_file(p) for p in (demo_dir / "layers").glob("*.geojson")}
    truth = gpd.read_file(demo_dir / "truth_hotspots.geojson")
    return inc, layers, truth


def _dist_to_truth(df, truth):
    x, y = CITY.to_metric(df["lon"].to_numpy(), df["lat"].to_numpy())
    tx, ty = CITY.to_metric(truth.geometry.x.to_numpy(), truth.geometry.y.to_numpy())
    return np.hypot(x[:, None] - tx[None, :], y[:, None] - ty[None, :]).min(1)


def test_cameras_find_planted_hotspots_and_report_gap(demo):
    from qauipsiz.cpted.siting import recommend_cameras

    inc, layers, truth = demo
    df = recommend_cameras("astana", inc, layers, 12, lang="en")
    s = df.attrs["summary"]
    assert list(df["rank"]) == list(range(1, 13))
    assert (np.diff(df["marginal_gain"]) <= 1e-9).all()  # greedy gains never increase
    assert np.all(np.diff(df["cumulative_coverage"]) > 0)
    assert df["cumulative_coverage"].iloc[0] == pytest.approx(
        s["precovered_share"] + df["marginal_share"].iloc[0])
    assert s["exact_status"] == "Optimal" and 0 <= s["greedy_gap"] <= 1 - 1 / np.e
    assert s["greedy_objective"] <= s["optimum"] + 1e-6
    # most of the first picks sit at a planted hotspot (radius ≤ 200 m, plus the camera's reach)
    near = _dist_to_truth(df.head(6), truth) < 350
    assert near.mean() >= 0.5
    assert df["phase"].tolist() == [1] * 4 + [2] * 4 + [3] * 4
    assert df["reason_kk"].str.len().gt(20).all() and df["reason_ru"].str.contains("Этап").all()
    # at most one bearing per site
    assert not df.duplicated(["lat", "lon"]).any()


def test_working_cameras_precover_their_demand(demo):
    from qauipsiz.cpted.siting import recommend_cameras

    inc, layers, _ = demo
    none = dict(layers, cameras=layers["cameras"].iloc[:0])
    a = recommend_cameras("astana", inc, none, 3, exact=False)
    b = recommend_cameras("astana", inc, layers, 3, exact=False)
    assert a.attrs["summary"]["precovered_share"] == 0
    assert b.attrs["summary"]["precovered_share"] > 0


def test_sos_max_and_cover(demo):
    from qauipsiz.cpted.siting import recommend_sos

    inc, layers, _truth = demo
    df = recommend_sos("astana", inc, layers, 6, lang="kk")
    s = df.attrs["summary"]
    assert s["greedy_gap"] <= 0.05 and s["radius_m"] == 300
    assert set(df["kind"]) <= {"transit_stop", "square", "market", "mall", "park_entrance"}
    assert df["reason"].equals(df["reason_kk"])
    cov = recommend_sos("astana", inc, layers, mode="cover", radius_m=300)
    cs = cov.attrs["summary"]
    assert cs["sites_needed"] == len(cov) and cs["greedy_sites"] >= cs["sites_needed"]


def test_posts_and_offices(demo):
    from qauipsiz.cpted.siting import recommend_posts

    inc, layers, _ = demo
    posts = recommend_posts("astana", inc, layers, 8, radius_m=400)
    assert posts.attrs["summary"]["greedy_gap"] <= 1 - 1 / np.e
    off = recommend_posts("astana", inc, layers, 10, kind="offices", inspectors_per_office=20)
    beats = pd.DataFrame(off.attrs["beats"])
    assert set(beats["office_rank"]) == set(off["rank"])
    # the beats partition the residents proxy, which sums to the official city population
    pop = pd.read_csv(sorted((__import__("qauipsiz.hotspot.paths", fromlist=["x"]).data_dir() / "population")
                             .glob("astana_*.csv"))[-1])["official_population"].sum()
    assert off["residents"].sum() == pytest.approx(beats["residents"].sum())
    assert beats["residents"].sum() == pytest.approx(pop, rel=0.02)
    assert np.allclose(off["residents_per_inspector"], off["residents"] / 20)


def test_cli_recommend_json_and_patrol(demo_dir, tmp_path):
    from typer.testing import CliRunner

    import qauipsiz.api.cli.patrol
    import qauipsiz.api.cli.recommend  # noqa: F401
    from qauipsiz.api.cli._app import app

    files = ["--incidents", str(demo_dir / "incidents_truth.parquet"), "--layers", str(demo_dir / "layers")]
    r = CliRunner().invoke(app, ["recommend", "sos", "--city", "astana", "--budget", "4", "--json",
                                 *files])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert len(doc["sites"]) == 4
    assert {"rank", "lat", "lon", "marginal_gain", "cumulative_coverage", "reason", "reason_kk", "reason_en"} \
        <= set(doc["sites"][0])
    out = tmp_path / "patrol"
    r = CliRunner().invoke(app, ["patrol", "--city", "astana", "--shift", "2025-12-05 18:00/02:00", "--units", "2",
                                 "--seconds", "2", *files, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert (out / "routes.geojson").exists() and (out / "route_card_unit_2.html").exists()


def test_cell_demand_equals_hotspot_surface_weighted(demo):
    """Our in-path binning gives the same harm-weighted cell sums as hotspot.surface.hotspot_table."""
    from qauipsiz.cpted.siting import cell_demand
    from qauipsiz.hotspot.surface import hotspot_table

    inc, _, _ = demo
    inc = inc[np.isfinite(inc["lat"]) & np.isfinite(inc["lon"])]
    inc = inc[np.asarray(CITY.contains(inc["lat"].to_numpy(), inc["lon"].to_numpy()), bool)]
    ours = cell_demand(inc, CITY, 10, inc["harm_weight"].to_numpy(float)).set_index("h3")
    ref = hotspot_table(inc, "astana", res=10, value="weighted", lisa=False).set_index("h3")
    ref = ref[ref["count"] > 0]
    common = ours.index.intersection(ref.index)
    assert len(common) >= 0.99 * len(ours)
    assert np.allclose(ours.loc[common, "weight"], ref.loc[common, "weighted"])
    assert (ours.loc[common, "count"] == ref.loc[common, "count"]).all()


def test_camera_demand_accounts_for_every_incident():
    from qauipsiz.cpted.siting import camera_demand

    inc = pd.DataFrame({"lat": [51.13, 51.13, np.nan, 43.2, 51.1301], "lon": [71.43, 71.43, 71.4, 76.9, 71.4301],
                        "harm_weight": [30.0, np.nan, 5.0, 5.0, 2.0], "is_dark": [True, False, False, False, True],
                        "place_type": ["street_square_park", "yard", "yard", "yard", "basement"]})
    d = camera_demand(inc, "astana")
    assert d.attrs == {"incidents_used": 3, "dropped_no_point": 1, "dropped_outside_city": 1,
                       "harm_weight_missing": 1}
    # the basement incident is indoor: excluded; the two others share a cell, NaN harm counts once
    assert d["count"].sum() == 2 and d["weight"].sum() == pytest.approx(31.0) and d["dark"].sum() == 1
    with pytest.raises(ValueError, match="harm_weight"):
        camera_demand(inc.assign(harm_weight=[1.0, -1.0, 1.0, 1.0, 1.0]), "astana")


def test_user_candidates_pick_the_bearing_facing_the_demand():
    from qauipsiz.cpted.siting import recommend_cameras

    x0, y0 = CITY.to_metric(np.array([71.43]), np.array([51.13]))
    # 20 incidents 20 m east of site A, 5 incidents 20 m north of site B (B is 200 m away)
    ex, ey = CITY.to_wgs84(np.r_[np.full(20, x0[0] + 20), np.full(5, x0[0] + 200)],
                           np.r_[np.full(20, y0[0]), np.full(5, y0[0] + 20)])
    inc = pd.DataFrame({"lat": ey, "lon": ex, "harm_weight": 1.0, "is_dark": False, "place_type": "street_square_park"})
    sx, sy = CITY.to_wgs84(np.array([x0[0], x0[0] + 200]), np.array([y0[0], y0[0]]))
    cands = gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=gpd.points_from_xy(sx, sy), crs=4326)
    df = recommend_cameras("astana", inc, {}, 2, candidates=cands, n_bearings=8, phases=1)
    assert df["name"].tolist() == ["A", "B"]
    assert df["bearing_deg"].tolist() == [90.0, 0.0]
    assert df["incidents_new"].tolist() == [20, 5]
    assert df["cumulative_coverage"].iloc[-1] == pytest.approx(1.0)
    fixed = recommend_cameras("astana", inc, {}, 1, candidates=cands.assign(bearing_deg=[270.0, 0.0]))
    assert fixed["name"].tolist() == ["B"]  # A looks away from its incidents
