"""Near repeats: Knox counts equal pointpats' on the same points, the planted near-repeat thefts of
the demo city are significant in 0–200 m x 0–7 days and not after shuffling their times, and the
risk layer holds the cells around recent events."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qauipsiz.hotspot.nearrepeat import incident_points, knox_table, near_repeat_risk


def _points(seed=0, n=500):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 2000, (n, 2))
    xy[:40] = np.round(xy[:40] / 200) * 200  # points exactly 200 / 400 m apart
    t = rng.uniform(0, 90, n)
    t[:60] = np.round(t[:60] / 7) * 7  # time gaps of exactly 7, 14 … days
    return xy, t


@pytest.mark.parametrize("seed", [0, 1])
def test_knox_counts_equal_pointpats(seed):
    st = pytest.importorskip("pointpats.spacetime")
    xy, t = _points(seed)
    se, te = (0, 100, 200, 400), (0, 3, 7, 14)
    k = knox_table(xy, t, se, te, permutations=0)
    cum = k.observed.cumsum(axis=0).cumsum(axis=1)
    for a, delta in enumerate(se[1:]):
        for b, tau in enumerate(te[1:]):
            ref = st.Knox(xy, t.reshape(-1, 1), delta=delta, tau=tau, permutations=0)
            assert cum[a, b] == ref.nst, (delta, tau)
    # non-uniform time edges take the general path
    k2 = knox_table(xy, t, se, (0, 2, 7, 30), permutations=0)
    ref = st.Knox(xy, t.reshape(-1, 1), delta=400, tau=30, permutations=0)
    assert k2.observed.sum() == ref.nst


def test_permutations_are_seeded_and_find_a_planted_interaction():
    rng = np.random.default_rng(4)
    xy = rng.uniform(0, 3000, (800, 2))
    t = rng.uniform(0, 365, 800)
    # 150 follow-ups within 100 m and 5 days of a random source
    src = rng.integers(0, 800, 150)
    xy2 = xy[src] + rng.uniform(-70, 70, (150, 2))
    t2 = t[src] + rng.uniform(0.1, 5, 150)
    X, T_ = np.vstack([xy, xy2]), np.r_[t, t2]
    a = knox_table(X, T_, (0, 100, 500), (0, 7, 30), permutations=199, seed=3)
    b = knox_table(X, T_, (0, 100, 500), (0, 7, 30), permutations=199, seed=3)
    assert np.array_equal(a.p_value, b.p_value) and np.array_equal(a.expected, b.expected)
    assert a.p_value[0, 0] == pytest.approx(1 / 200)
    assert a.ratio[0, 0] > 2
    assert a.p_value[1, 1] > 0.01
    assert a.significant_extent(0.01) == (100.0, 7.0)
    null = knox_table(xy, t, (0, 100, 500), (0, 7, 30), permutations=199, seed=3)
    assert null.p_value[0, 0] > 0.01


@pytest.fixture(scope="module")
def demo_thefts(full_demo_truth):
    df = pd.read_parquet(full_demo_truth)
    return df[df["category"] == "theft"].reset_index(drop=True)


def test_demo_near_repeats_significant_and_gone_after_shuffling(demo_thefts):
    xy, t, keep = incident_points(demo_thefts, "astana")
    k = knox_table(xy, t, (0, 200), (0, 7), permutations=999, seed=1)
    assert k.p_value[0, 0] < 0.01, k.to_frame().to_dict("records")
    assert k.ratio[0, 0] > 1
    # shuffle the times of the planted near repeats among themselves: the excess pairs go
    nr = (demo_thefts["near_repeat_of"].to_numpy() >= 0)[keep]
    assert nr.sum() > 500
    t2 = t.copy()
    t2[nr] = np.random.default_rng(2).permutation(t[nr])
    k2 = knox_table(xy, t2, (0, 200), (0, 7), permutations=999, seed=1)
    assert k2.p_value[0, 0] >= 0.01, k2.to_frame().to_dict("records")
    assert k2.observed[0, 0] < k.observed[0, 0]


def test_risk_layer_cells_around_recent_events():
    from qauipsiz.hotspot.binning import city_cell_centres, fill_city_cells
    from qauipsiz.hotspot.cities import get_city

    c = get_city("astana")
    centres = city_cell_centres(c, 10)
    x0, y0 = centres[len(centres) // 2]
    lon, lat = c.to_wgs84(np.array([x0, x0 + 3000, x0]), np.array([y0, y0, y0 + 3000]))
    df = pd.DataFrame({"lat": lat, "lon": lon, "occurred_at": pd.to_datetime(
        ["2025-05-09 10:00", "2025-05-05 10:00", "2025-04-01 10:00"], utc=True)})
    r = near_repeat_risk(df, c, as_of="2025-05-10 16:00", distance_m=200, days=7, res=10)
    d = np.hypot(*(centres - [x0, y0]).T)
    d2 = np.hypot(*(centres - [x0 + 3000, y0]).T)
    expect = set(fill_city_cells(c, 10)[(d <= 200) | (d2 <= 200)].tolist())
    assert set(r["h3"].tolist()) == expect  # the April event is older than 7 days
    near = r[r["h3"].isin(fill_city_cells(c, 10)[d <= 200])]
    # 2025-05-09 10:00 UTC + 7 days - (2025-05-10 16:00 Asia/Almaty = 11:00 UTC)
    assert near["days_left"].to_numpy() == pytest.approx(7 - 25 / 24)
    assert (r["nearest_m"] <= 200).all()
    with pytest.raises(ValueError):
        near_repeat_risk(df, c, as_of="2025-05-10", distance_m=0, days=7)


def test_cli_near_repeat_table_zone_and_risk(tmp_path):
    import json

    from typer.testing import CliRunner

    from qauipsiz.api.cli import app
    from qauipsiz.hotspot.cities import get_city

    c = get_city("astana")
    rng = np.random.default_rng(8)
    x0, y0 = c.boundary_metric.centroid.x, c.boundary_metric.centroid.y
    xy = rng.uniform(-3000, 3000, (600, 2)) + [x0, y0]
    t = rng.uniform(0, 300, 600)
    src = rng.integers(0, 600, 200)
    xy = np.vstack([xy, xy[src] + rng.uniform(-60, 60, (200, 2))])
    t = np.r_[t, t[src] + rng.uniform(0.2, 4, 200)]
    lon, lat = c.to_wgs84(xy[:, 0], xy[:, 1])
    occ = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(t, unit="D")
    inc = tmp_path / "inc.csv"
    pd.DataFrame({"lat": lat, "lon": lon, "occurred_at": occ.astype(str), "category": "theft"}).to_csv(inc, index=False)
    out, risk = tmp_path / "knox.csv", tmp_path / "risk.geojson"
    r = CliRunner().invoke(app, ["near-repeat", "--city", "astana", "--incidents", str(inc), "--categories", "theft",
                                 "--space-edges", "0,100,400", "--time-edges", "0,7,30", "--permutations", "199",
                                 "--out", str(out), "--risk-out", str(risk), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout.strip().splitlines()[-1])
    assert (s["significant_distance_m"], s["significant_days"]) == (100.0, 7.0)
    table = pd.read_csv(out)
    assert len(table) == 4 and table.loc[0, "p_value"] == pytest.approx(1 / 200)
    assert s["risk_cells"] > 0 and json.loads(risk.read_text(encoding="utf-8"))["features"]
