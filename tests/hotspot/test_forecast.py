"""Forecasters (issue 16.4/5): planted truth, no leakage, determinism, metrics, EM recovery."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qauipsiz.hotspot.forecast import BASELINES, METHODS, make_forecaster, make_set, prepare_events
from qauipsiz.hotspot.forecast._base import best_hits, day_number, top_hits
from qauipsiz.hotspot.forecast.backtest import backtest, study_cells_from_events
from qauipsiz.hotspot.h3grid import latlng_to_cells

LAT0, LON0 = 51.13, 71.43  # Astana
HOT = (51.135, 71.445)
START = pd.Timestamp("2024-01-01", tz="UTC")


def synthetic(n_days=240, per_day=12, hot_per_day=2.0, seed=0) -> pd.DataFrame:
    """Uniform background over ~6 × 6 km plus a planted hot spot (≈ 40 m spread)."""
    rng = np.random.default_rng(seed)
    nb = rng.poisson(per_day, n_days)
    nh = rng.poisson(hot_per_day, n_days)
    days = np.concatenate([np.repeat(np.arange(n_days), nb), np.repeat(np.arange(n_days), nh)])
    k_b, k_h = nb.sum(), nh.sum()
    lat = np.concatenate([LAT0 + rng.uniform(-0.027, 0.027, k_b), HOT[0] + rng.normal(0, 0.0004, k_h)])
    lon = np.concatenate([LON0 + rng.uniform(-0.043, 0.043, k_b), HOT[1] + rng.normal(0, 0.0006, k_h)])
    occ = START + pd.to_timedelta(days, "D") + pd.to_timedelta(rng.uniform(0, 86399, len(days)), "s")
    return pd.DataFrame({"occurred_at": occ, "lat": lat, "lon": lon, "category": "theft"})


@pytest.fixture(scope="module")
def events():
    return synthetic()


@pytest.fixture(scope="module")
def cells(events):
    return study_cells_from_events(events, 9)


@pytest.mark.parametrize("method", list(METHODS))
def test_planted_hot_cell_ranked_top(method, events, cells):
    fc = make_forecaster(method, res=9, tz="UTC", seed=0).fit(events)
    day = (START + pd.Timedelta(days=200)).date()
    s = fc.predict(cells, day)
    hot = latlng_to_cells(np.array([HOT[0]]), np.array([HOT[1]]), 9)[0]
    assert s.shape == (len(cells),)
    assert cells[int(np.argmax(s))] == hot, method
    assert np.sum(s >= s[cells == hot][0]) == 1, method  # strictly top, no tie


@pytest.mark.parametrize("method", list(METHODS))
def test_no_leakage_future_events_do_not_change_the_forecast(method, events, cells):
    day = START + pd.Timedelta(days=190)
    base = make_forecaster(method, res=9, tz="UTC", seed=0).fit(events).predict(cells, day.date())
    rng = np.random.default_rng(5)
    changed = events.copy()
    future = (changed["occurred_at"] >= day).to_numpy()
    # move every event of the forecast day and later, and add a burst far from the old ones
    changed.loc[future, "lat"] = LAT0 + rng.uniform(-0.027, 0.027, int(future.sum()))
    changed.loc[future, "lon"] = LON0 + rng.uniform(-0.043, 0.043, int(future.sum()))
    burst = pd.DataFrame({"occurred_at": day + pd.to_timedelta(rng.uniform(0, 40, 300), "D"),
                          "lat": 51.11, "lon": 71.40, "category": "theft"})
    changed = pd.concat([changed, burst], ignore_index=True)
    after = make_forecaster(method, res=9, tz="UTC", seed=0).fit(changed).predict(cells, day.date())
    np.testing.assert_array_equal(base, after)
    # and the check can fail: the same change one day earlier moves the forecast
    earlier = pd.concat([events, burst.assign(occurred_at=day - pd.Timedelta(hours=3))], ignore_index=True)
    moved = make_forecaster(method, res=9, tz="UTC", seed=0).fit(earlier).predict(cells, day.date())
    assert not np.array_equal(base, moved), method


def test_deterministic_and_row_order_free(events, cells):
    day = (START + pd.Timedelta(days=170)).date()
    a = make_forecaster("ranker", seed=3).fit(events).predict(cells, day)
    b = make_forecaster("ranker", seed=3).fit(events.sample(frac=1, random_state=1)).predict(cells, day)
    np.testing.assert_array_equal(a, b)


def test_counts_baselines_by_hand(events, cells):
    day = START + pd.Timedelta(days=100)
    c9 = latlng_to_cells(events["lat"].to_numpy(), events["lon"].to_numpy(), 9)
    occ = events["occurred_at"]
    for method, lo in (("recent", day - pd.Timedelta(days=28)), ("longrun", START - pd.Timedelta(days=1))):
        s = make_forecaster(method).fit(events).predict(cells, day.date())
        m = ((occ >= lo) & (occ < day)).to_numpy()
        want = pd.Series(c9[m]).value_counts().reindex(cells, fill_value=0).to_numpy(float)
        np.testing.assert_array_equal(s, want)


def test_top_hits_ties_and_pei():
    score = np.array([3.0, 2.0, 2.0, 0.0])
    actual = np.array([1.0, 4.0, 0.0, 5.0])
    assert top_hits(score, actual, 1) == 1.0
    assert top_hits(score, actual, 2) == 1.0 + 4.0 * 1 / 2  # one slot for two tied cells
    assert best_hits(actual, 2) == 9.0


def test_backtest_oracle_and_table(events, cells):
    fs = make_set(["recent", "longrun", "kde"], res=9, tz="UTC")
    ev = prepare_events(events, 9, "UTC")
    for f in fs.values():
        f.fit(ev)
    r = backtest(fs, cells, (START + pd.Timedelta(days=200)).date(), (START + pd.Timedelta(days=209)).date())
    t = r.table(n_boot=200).set_index("method")
    assert len(r.days) == 10
    n = len(cells)
    k1 = max(1, round(0.01 * n))
    # PAI by hand for 'longrun' at 1 %
    hits = total = 0.0
    for d in r.days:
        q = fs["longrun"].query(cells)
        a = q.counts(ev, int(d), int(d) + 1)
        hits += top_hits(fs["longrun"].predict(cells, int(d)), a, k1)
        total += a.sum()
    assert t.loc["longrun", "PAI 1%"] == pytest.approx(hits / total / (k1 / n))
    for m in fs:
        assert 0 <= t.loc[m, "PEI* 1%"] <= 1
        assert t.loc[m, "PAI 1% lo"] <= t.loc[m, "PAI 1%"] <= t.loc[m, "PAI 1% hi"]
    assert t.loc["kde", "vs base 1%"] == pytest.approx(
        t.loc["kde", "PAI 1%"] / max(t.loc[b, "PAI 1%"] for b in BASELINES))


def simulate_hawkes(theta=0.5, omega=0.2, sigma=80.0, mu_per_day=8.0, days=400, seed=1) -> pd.DataFrame:
    """A branching simulation of the SEPP model over a 6 × 6 km square (metres → degrees)."""
    rng = np.random.default_rng(seed)
    n0 = rng.poisson(mu_per_day * days)
    t = list(rng.uniform(0, days, n0))
    x = list(rng.uniform(0, 6000, n0))
    y = list(rng.uniform(0, 6000, n0))
    gen = list(range(n0))
    while gen:
        nxt = []
        for i in gen:
            for _ in range(rng.poisson(theta)):
                t.append(t[i] + rng.exponential(1 / omega))
                x.append(x[i] + rng.normal(0, sigma))
                y.append(y[i] + rng.normal(0, sigma))
                nxt.append(len(t) - 1)
        gen = nxt
    t, x, y = np.array(t), np.array(x), np.array(y)
    keep = t < days
    lat = LAT0 + y[keep] / 111_195.0
    lon = LON0 + x[keep] / (111_195.0 * np.cos(np.radians(LAT0)))
    return pd.DataFrame({"occurred_at": START + pd.to_timedelta(t[keep], "D"), "lat": lat, "lon": lon})


def test_em_recovers_planted_sepp_parameters():
    ev = simulate_hawkes()
    fc = make_forecaster("seppp", history_days=400, iterations=40).fit(ev)
    cells = study_cells_from_events(ev, 9)
    d = day_number((START + pd.Timedelta(days=400)).date())
    p = fc.describe(fc.query(cells), d + 27)["params"]  # cut-off at or after day 400: all events
    assert p["theta"] == pytest.approx(0.5, abs=0.1)
    assert p["omega"] == pytest.approx(0.2, rel=0.3)
    assert p["sigma_m"] == pytest.approx(80.0, rel=0.25)


def test_bad_input_is_a_value_error():
    with pytest.raises(ValueError, match="occurred_at"):
        make_forecaster("recent").fit(pd.DataFrame({"lat": [1.0], "lon": [2.0]}))
    with pytest.raises(ValueError, match="method"):
        make_forecaster("oracle")
    with pytest.raises(ValueError, match="fit"):
        make_forecaster("recent").predict(np.array([0], np.uint64), "2024-01-01")


def test_patrol_forecast_risk_ranks_the_planted_cell_first(events):
    from qauipsiz.hotspot.cities import get_city
    from qauipsiz.hotspot.h3grid import cells_to_parent
    from qauipsiz.hotspot.patrol import forecast_risk, parse_shift, shift_risk

    c = get_city("astana")
    sh = parse_shift("2024-07-20 00:00/23:59", c.tz)
    past = events[events["occurred_at"] < pd.Timestamp("2024-07-19", tz="UTC")]
    hs = forecast_risk(past, c, sh, method="longrun")
    base = shift_risk(past, c, sh)
    assert len(hs) == len(base) and "past_risk" in hs.columns
    hot = latlng_to_cells(np.array([HOT[0]]), np.array([HOT[1]]), 9)[0]
    assert cells_to_parent(hs["h3"].to_numpy(np.uint64)[:1], 9)[0] == hot
    assert np.all(np.diff(hs["risk"].to_numpy()) <= 0)


def _small_auto(**kw):
    from qauipsiz.hotspot.forecast import AutoSelect

    members = make_set(["kde", "blend", "seppp"], res=9, tz="UTC", seed=0)  # members with tuned state
    return AutoSelect(members=members, res=9, tz="UTC", seed=0, **kw)


def test_fit_cache_reused_after_the_cut_off_and_refitted_before_it(events, cells, tmp_path):
    """Fitted state on disk: the next day's run (same cut-off, newer events) reuses it and equals a
    fresh fit; an event moved before the cut-off, other options or a damaged entry refit."""
    from qauipsiz.hotspot.forecast.fitcache import FitCache

    day = START + pd.Timedelta(days=200)  # day 19923: cut-off 19908, as is the next day's
    d = day_number(day.date())
    assert _small_auto().cutoff(d) == _small_auto().cutoff(d + 1)
    past = events[events["occurred_at"] < day]
    first = FitCache(tmp_path)
    fc = _small_auto().use_cache(first).fit(past)
    s0 = fc.predict(cells, d)
    assert first.hits == 0 and first.misses > 0
    n_files = len(list(tmp_path.glob("*.pkl")))
    assert n_files == first.misses  # auto's choice + every member at the validation cut-off + the chosen one
    np.testing.assert_array_equal(s0, _small_auto().fit(past).predict(cells, d))

    # the next day: one more day of events (after the cut-off) -> every fitted state comes from disk
    nxt = events[events["occurred_at"] < day + pd.Timedelta(days=1)]
    again = FitCache(tmp_path)
    fc2 = _small_auto().use_cache(again).fit(nxt)
    s1 = fc2.predict(cells, d + 1)
    assert again.misses == 0 and again.hits == 2  # auto's choice and the chosen member's parameters
    np.testing.assert_array_equal(s1, _small_auto().fit(nxt).predict(cells, d + 1))
    assert fc2.chosen(cells, d + 1) == fc.chosen(cells, d)

    # an incident before the cut-off moved: a different key, so a fresh fit (equal to the uncached one)
    moved = nxt.copy()
    moved.loc[moved.index[10], "lat"] += 0.001
    third = FitCache(tmp_path)
    s2 = _small_auto().use_cache(third).fit(moved).predict(cells, d + 1)
    assert third.hits == 0 and third.misses > 0
    np.testing.assert_array_equal(s2, _small_auto().fit(moved).predict(cells, d + 1))

    # other options (a shorter validation window) miss too
    other = FitCache(tmp_path)
    _small_auto(window=14).use_cache(other).fit(nxt).predict(cells, d + 1)
    assert other.misses > 0 and all(p.stat().st_size > 0 for p in tmp_path.glob("*.pkl"))

    # a damaged entry is a miss, removed and written again
    for p in tmp_path.glob("auto-*.pkl"):
        p.write_bytes(b"not a pickle")
    fourth = FitCache(tmp_path)
    s3 = _small_auto().use_cache(fourth).fit(nxt).predict(cells, d + 1)
    assert fourth.misses >= 1
    np.testing.assert_array_equal(s3, s1)


def test_fit_cache_keeps_the_most_recently_used(events, cells, tmp_path):
    from qauipsiz.hotspot.forecast.fitcache import FitCache

    c = FitCache(tmp_path, max_entries=3)
    for i in range(5):
        c.save(f"k{i}", {"i": i})
    assert sorted(p.stem for p in tmp_path.glob("*.pkl")) == ["k2", "k3", "k4"]
    assert c.load("k4") == (True, {"i": 4}) and c.load("k0") == (False, None)
    assert (c.hits, c.misses) == (1, 1)


def test_seppp_sparse_sums_equal_kde_brute(events, cells):
    """seppp's day score (background + triggering, one cached sparse matrix per cut-off) and its
    background sum equal the direct O(n·m) KDE of hotspot.kde.kde_brute."""
    from qauipsiz.hotspot.kde import kde_brute

    ev = prepare_events(events, 9, "UTC")
    fc = make_forecaster("seppp").fit(ev)
    q = fc.query(cells)
    for d in (day_number((START + pd.Timedelta(days=200)).date()), day_number((START + pd.Timedelta(days=219)).date())):
        p = fc.params_for(q, d)
        assert p["theta"] > 0
        horizon = min(fc.max_days, 20.0 / p["omega"])
        i, j = ev.before(d - horizon), ev.before(d)
        age = d - ev.t[i:j]
        w = p["theta"] * (np.exp(-p["omega"] * age) - np.exp(-p["omega"] * (age + 1.0)))
        want = p["mu"] + kde_brute(ev.xy[i:j], q.xy, p["sigma_m"], "gaussian", weights=w)
        np.testing.assert_allclose(fc.predict(q, d), want, rtol=1e-9, atol=1e-12)
    wb = np.random.default_rng(0).uniform(0, 1, j)
    np.testing.assert_allclose(fc.background_at(q, ev.xy[:j], wb), kde_brute(ev.xy[:j], q.xy, 400.0, weights=wb),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("names", [("recent", "longrun", "ranker"), ("seppp", "kde")])
def test_auto_with_a_side_process_equals_serial(names, events, cells):
    """jobs=2 validates the heaviest member in a forked process (which then fits it at the cut-off in
    case it is chosen, or is stopped): the choice, validation PAIs and scores equal the serial run's."""
    from qauipsiz.hotspot.forecast import AutoSelect

    d = day_number((START + pd.Timedelta(days=200)).date())
    runs = []
    for jobs in (1, 2):
        fc = AutoSelect(members=make_set(names, res=9, tz="UTC"), res=9, tz="UTC", jobs=jobs).fit(events)
        runs.append((fc.predict(cells, d), fc.describe(fc.query(cells), d), fc.chosen(cells, d)))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1] and runs[0][2] == runs[1][2]
    # the first case takes the side process's fit of the chosen heavy member, the second stops it
    assert (runs[0][2] == names[-1]) if names[-1] == "ranker" else (runs[0][2] != names[0])
