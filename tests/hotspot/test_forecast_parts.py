"""The forecasters' fast parts against direct computations: the self-exciting process's pair search
and background sum (brute force / ``kde_brute``), and the count blend (its zero-weight point is the
long-run baseline; its neighbour term is the ring-1 sum counted with h3-py)."""
from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest

from qauipsiz.hotspot.forecast import make_forecaster, prepare_events
from qauipsiz.hotspot.forecast.backtest import study_cells_from_events
from qauipsiz.hotspot.forecast.blend import CountBlend
from qauipsiz.hotspot.forecast.etas import BackgroundKernel, trigger_pairs
from qauipsiz.hotspot.kde import kde_brute
from tests.hotspot.test_forecast import START, synthetic


def test_trigger_pairs_equal_brute_force():
    rng = np.random.default_rng(2)
    n = 600
    t = np.sort(rng.uniform(0, 120, n))
    t[10] = t[11]  # a tie in time: not a triggering pair
    xy = rng.uniform(0, 3000, (n, 2))
    early, late, dt, r2 = trigger_pairs(t, xy, 30.0, 500.0)
    got = set(zip(early.tolist(), late.tolist(), strict=True))
    d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    lag = t[None, :] - t[:, None]  # [i, j] = t_j - t_i
    ii, jj = np.nonzero((lag > 0) & (lag <= 30.0) & (d2 <= 500.0**2))
    assert got == set(zip(ii.tolist(), jj.tolist(), strict=True)) and len(got) > 100
    np.testing.assert_allclose(dt, t[late] - t[early])
    np.testing.assert_allclose(r2, ((xy[late] - xy[early]) ** 2).sum(1))


def test_background_kernel_equals_kde():
    rng = np.random.default_rng(3)
    xy = np.r_[rng.uniform(0, 4000, (1500, 2)), rng.normal(2000, 60, (300, 2))]
    w = rng.uniform(0, 1, len(xy))
    np.testing.assert_allclose(BackgroundKernel(xy, 400.0)(w), kde_brute(xy, xy, 400.0, "quartic", weights=w),
                               rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def events():
    return synthetic(n_days=200)


def test_blend_zero_weights_is_the_longrun_baseline(events):
    cells = study_cells_from_events(events, 9)
    ev = prepare_events(events, 9, "UTC")
    day = (START + pd.Timedelta(days=150)).date()
    plain = CountBlend(grid_a=(0.0,), grid_b=(0.0,), grid_beta=(0.0,)).fit(ev)
    lr = make_forecaster("longrun").fit(ev)
    s, want = plain.predict(cells, day), lr.predict(cells, day)
    span = (pd.Timestamp(day) - pd.Timestamp(ev.first_day, unit="D")).days
    np.testing.assert_allclose(s * span, want, rtol=1e-12)


def test_blend_neighbour_term_is_the_ring1_sum(events):
    cells = study_cells_from_events(events, 9)
    ev = prepare_events(events, 9, "UTC")
    d = int(ev.day.max()) - 10
    fc = CountBlend().fit(ev)
    p = {"a": 0.0, "b": 0.0, "beta": 1.0}
    got = fc.score_with(fc.query(cells), d, p)
    # long-run daily rate per cell with h3-py, then own + sum over the six neighbours
    hexes = [h3.latlng_to_cell(a, b, 9) for a, b in zip(events["lat"], events["lon"], strict=True)]
    before = (pd.to_datetime(events["occurred_at"], utc=True) < pd.Timestamp(d, unit="D", tz="UTC")).to_numpy()
    rate = pd.Series(np.array(hexes)[before]).value_counts() / (d - ev.first_day)
    want = []
    for c in cells:
        hx = format(int(c), "x")
        want.append(rate.get(hx, 0.0) + sum(rate.get(x, 0.0) for x in h3.grid_disk(hx, 1) if x != hx))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-15)
    assert fc.describe(fc.query(cells), d)["params"]["beta"] in (0.0, 0.1, 0.2, 0.4)


def test_kde_and_prospective_sparse_sums_equal_direct_sums(events):
    from qauipsiz.hotspot.forecast._base import cell_spacing_m

    cells = study_cells_from_events(events, 9)
    ev = prepare_events(events, 9, "UTC")
    d = int(ev.day.max()) - 20
    j = ev.before(d)
    kd = make_forecaster("kde").fit(ev)
    q = kd.query(cells)
    for h, tau in ((150.0, 30.0), (600.0, np.inf)):
        i = 0 if not np.isfinite(tau) else ev.before(d - 8 * tau)
        w = np.ones(j - i) if not np.isfinite(tau) else np.exp(-(d - ev.t[i:j]) / tau)
        want = kde_brute(ev.xy[i:j], q.xy, h, "quartic", weights=w)
        np.testing.assert_allclose(kd.score_with(q, d, {"bandwidth_m": h, "tau_days": tau}), want, rtol=1e-10, atol=1e-12)
    ph = make_forecaster("prospective").fit(ev)
    q = ph.query(cells)
    i = ev.before(d - 7 * 8)
    r = np.sqrt(((q.xy[:, None, :] - ev.xy[None, i:j, :]) ** 2).sum(-1))
    age = np.floor((d - ev.t[i:j]) / 7.0)
    want = np.where(r <= 400.0, 1.0 / (1.0 + r / cell_spacing_m(9)) / (1.0 + age)[None, :], 0.0).sum(1)
    np.testing.assert_allclose(ph.score_with(q, d, {"bandwidth_m": 400.0, "weeks": 8}), want, rtol=1e-10)
