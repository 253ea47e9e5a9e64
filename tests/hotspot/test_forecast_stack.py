"""The ``stack`` member: its least squares against SciPy, its counts against h3-py and pandas,
planted truth (a sparse category borrowing from where the other crimes are must beat its own raw
counts), a null (unrelated context must not make it worse beyond noise) and no leakage through the
context."""
from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import nnls

from qauipsiz.hotspot.forecast import make_forecaster, prepare_events
from qauipsiz.hotspot.forecast._base import top_hits
from qauipsiz.hotspot.forecast.backtest import study_cells_from_events
from qauipsiz.hotspot.forecast.features import CategoryCounts, local_days, ring2_matrix
from qauipsiz.hotspot.forecast.stack import OWN, StackedCounts, nnls_gram
from qauipsiz.hotspot.h3grid import latlng_to_cells

LAT0, LON0 = 51.13, 71.43
START = pd.Timestamp("2024-01-01", tz="UTC")


def places(n=500, seed=0):
    """Place centres over ~6 × 6 km and a skewed rate weight per place."""
    rng = np.random.default_rng(seed)
    lat = LAT0 + rng.uniform(-0.027, 0.027, n)
    lon = LON0 + rng.uniform(-0.043, 0.043, n)
    w = rng.lognormal(0.0, 1.3, n)
    return lat, lon, w / w.sum()


def draw(lat, lon, p, per_day, n_days, label, seed):
    """``per_day`` events a day (Poisson) at places drawn with probabilities ``p``."""
    rng = np.random.default_rng(seed)
    k = rng.poisson(per_day, n_days)
    day = np.repeat(np.arange(n_days), k)
    i = rng.choice(len(p), size=len(day), p=p)
    occ = START + pd.to_timedelta(day, "D") + pd.to_timedelta(rng.uniform(0, 86399, len(day)), "s")
    return pd.DataFrame({"occurred_at": occ, "lat": lat[i], "lon": lon[i], "category": label})


def world(related: bool, seed=1, n_days=300):
    """A sparse target category (3 a day) and 40 a day of other crimes, at the same places when
    ``related``, at unrelated places otherwise."""
    lat, lon, p = places(seed=seed)
    target = draw(lat, lon, p, 3.0, n_days, "battery", seed + 10)
    if related:
        other = draw(lat, lon, p, 40.0, n_days, "theft", seed + 20)
    else:
        lat2, lon2, p2 = places(seed=seed + 100)
        other = draw(lat2, lon2, p2, 40.0, n_days, "theft", seed + 20)
    return target, pd.concat([target, other], ignore_index=True)


def captured(related: bool, days=(250, 270, 290)):
    """Share of the *true* daily rate in the top 1/5/10 % of the cells, ``stack`` ÷ ``longrun``
    (and the oracle ranked by the true rate ÷ ``longrun``), averaged over forecast days.

    A sparse category (1 a day) over ~360 cells, 40 a day of other crimes at the same places
    (``related``) or at unrelated ones. Scoring the planted rate instead of the realised events
    takes the test days' Poisson noise out of the comparison."""
    lat, lon, p = places(seed=1)
    target = draw(lat, lon, p, 1.0, 300, "battery", 11)
    if related:
        other = draw(lat, lon, p, 40.0, 300, "theft", 21)
    else:
        lat2, lon2, p2 = places(seed=101)
        other = draw(lat2, lon2, p2, 40.0, 300, "theft", 21)
    context = pd.concat([target, other], ignore_index=True)
    cells = study(context)
    truth = pd.Series(p).groupby(latlng_to_cells(lat, lon, 9)).sum().reindex(cells, fill_value=0.0).to_numpy()
    st = StackedCounts(res=9, tz="UTC").set_context(context).fit(target)
    lr = make_forecaster("longrun").fit(st.events)
    q = st.query(cells)
    n = len(cells)
    got, oracle = {}, {}
    for f in (0.01, 0.05, 0.10):
        k = round(f * n)
        r = [top_hits(st.predict(q, st.events.first_day + v), truth, k) /
             top_hits(lr.predict(q, st.events.first_day + v), truth, k) for v in days]
        o = [top_hits(truth, truth, k) / top_hits(lr.predict(q, st.events.first_day + v), truth, k) for v in days]
        got[f], oracle[f] = float(np.mean(r)), float(np.mean(o))
    w = st.describe(q, st.events.first_day + days[-1])["params"]
    return got, oracle, dict(zip(w["features"], w["weights"], strict=True))


def study(df):
    return study_cells_from_events(df, 9)


def test_nnls_from_the_gram_matrix_equals_scipy_nnls():
    rng = np.random.default_rng(4)
    x = rng.gamma(1.0, 1.0, (3000, 7))
    x[:, 6] = x[:, 0] + x[:, 1]  # exactly collinear, as own counts are the sum of the categories
    y = x @ np.array([0.5, 0.0, 1.2, -0.7, 0.3, 0.0, 0.2]) + rng.normal(0, 0.5, 3000)
    want, _ = nnls(x, y)
    got = nnls_gram(x.T @ x, x.T @ y)
    assert (got >= 0).all() and (want == 0).sum() >= 1
    # the same objective value (the minimiser is not unique with a collinear column)
    assert np.sum((x @ got - y) ** 2) == pytest.approx(np.sum((x @ want - y) ** 2), rel=1e-9)
    x2 = x[:, :6]
    np.testing.assert_allclose(nnls_gram(x2.T @ x2, x2.T @ y), nnls(x2, y)[0], rtol=1e-7, atol=1e-9)


def test_ring2_and_category_counts_against_h3_and_pandas():
    target, context = world(True, n_days=60)
    ev = prepare_events(target, 9, "UTC")
    r2 = ring2_matrix(ev)
    for i in range(0, len(ev.index_cells), 97):
        hx = format(int(ev.index_cells[i]), "x")
        want = {int(x, 16) for x in h3.grid_ring(hx, 2)} & set(ev.index_cells.tolist())
        got = set(ev.index_cells[r2[i].indices].tolist())
        assert got == want
    cc = CategoryCounts(context.sample(frac=1, random_state=3), ev, "UTC")  # row order is free
    d = 40
    got = cc.counts(-np.inf, d)
    ctx = context.assign(day=local_days(context["occurred_at"], "UTC"),
                         cell=latlng_to_cells(context["lat"].to_numpy(), context["lon"].to_numpy(), 9))
    want = ctx[ctx["day"] < d].groupby(["cell", "category"]).size()
    for (cell, cat), n in want.items():
        i = int(np.searchsorted(ev.index_cells, np.uint64(cell)))
        assert got[i, list(cc.labels).index(cat)] == n
    assert got.sum() == want.sum()


def test_stack_weights_equal_nnls_on_the_stacked_days():
    target, context = world(True, n_days=150)
    fc = StackedCounts(res=9, tz="UTC", train_days=40).set_context(context).fit(target)
    cut = fc.events.first_day + 140
    p = fc.tune(fc.query(study(target)), cut)
    cats = [list(fc._ctx.labels).index(lab) for lab in p["categories"]]
    x = np.concatenate([fc._features(v, cats) for v in range(cut - 40, cut)])
    y = np.concatenate([fc.events.window_counts(v, v + 1) for v in range(cut - 40, cut)])
    assert p["features"][:len(OWN)] == list(OWN) and len(p["weights"]) == x.shape[1]
    got = np.asarray(p["weights"])
    want, _ = nnls(x, y)
    assert np.sum((x @ got - y) ** 2) == pytest.approx(np.sum((x @ want - y) ** 2), rel=1e-8)
    # the long-run feature is the count by hand / days of history
    d = fc.events.first_day + 120
    lr = make_forecaster("longrun").fit(target).predict(fc.query(study(target)), d)
    np.testing.assert_allclose(fc._features(d, cats)[fc.query(study(target)).pos, 0] * (d - fc.events.first_day),
                               lr, rtol=1e-12)


def test_planted_sparse_category_borrows_from_the_other_crimes():
    got, oracle, w = captured(True)
    # the category's own 250 events are a noisy map; the other crimes show where it happens
    assert got[0.05] > 1.05 and got[0.10] > 1.10, got
    for f in got:  # and the stack gets (nearly) all the way to ranking by the planted rate
        assert got[f] >= 1.0 and got[f] > oracle[f] - 0.02, (got, oracle)
    assert w["cat:theft"] > 0


def test_null_unrelated_context_does_not_hurt():
    got, _, w = captured(False)
    assert all(v > 0.95 for v in got.values()), got
    assert w["cat:theft"] < 0.1 * w["cat:battery"] + 1e-9, w


def test_no_leakage_through_the_context():
    target, context = world(True, n_days=200)
    cells = study(context)
    day = START + pd.Timedelta(days=170)
    base = StackedCounts(res=9, tz="UTC").set_context(context).fit(target).predict(cells, day.date())
    moved = context.copy()
    future = (moved["occurred_at"] >= day).to_numpy()
    moved.loc[future, "lat"] = moved.loc[future, "lat"].to_numpy()[::-1]
    burst = pd.DataFrame({"occurred_at": day + pd.to_timedelta(np.linspace(0, 20, 200), "D"),
                          "lat": 51.11, "lon": 71.40, "category": "arson"})
    after = StackedCounts(res=9, tz="UTC").set_context(pd.concat([moved, burst], ignore_index=True)
                                                       ).fit(target).predict(cells, day.date())
    np.testing.assert_array_equal(base, after)
    top = target["occurred_at"] < day
    where = target[top].groupby(["lat", "lon"]).size().idxmax()  # the target's busiest place so far
    early = pd.concat([context, burst.assign(occurred_at=day - pd.Timedelta(hours=3), lat=where[0], lon=where[1],
                                             category="theft")], ignore_index=True)
    changed = StackedCounts(res=9, tz="UTC").set_context(early).fit(target).predict(cells, day.date())
    assert not np.array_equal(base, changed)


def test_running_window_counts_equal_direct_counts():
    from qauipsiz.hotspot.forecast.stack import _Running

    target, context = world(True, n_days=800)  # more than two years: both seasonal windows in use
    fc = StackedCounts(res=9, tz="UTC").set_context(context).fit(target)
    ev = fc.events
    run = _Running(ev, fc._ctx, fc.season_days)
    cats = fc._ctx.top(ev.first_day + 790, 4)
    for v in range(ev.first_day + 20, ev.first_day + 790, 7):
        got, want = run.at(v), fc._counts(v)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=str(k))
        np.testing.assert_array_equal(fc._features(v, cats, _Running(ev, fc._ctx, fc.season_days)),
                                      fc._features(v, cats))
    with pytest.raises(ValueError, match="decrease"):
        run.at(ev.first_day)
