"""The ranker's darkness and covariate features: darkness against astral (an independent solar
model), the feature's counts against pandas, and a planted covariate that must help the ranking."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from astral import Observer
from astral.sun import dawn, dusk, elevation

from qauipsiz.hotspot.forecast import make_forecaster, prepare_events
from qauipsiz.hotspot.forecast._base import top_hits
from qauipsiz.hotspot.forecast.features import day_darkness, event_darkness
from qauipsiz.hotspot.h3grid import latlng_to_cells
from tests.hotspot.test_forecast_stack import draw, places, study

TZ = "Asia/Almaty"


@pytest.fixture(scope="module")
def events():
    lat, lon, p = places(seed=4)
    return draw(lat, lon, p, 6.0, 420, "theft", 5)


def test_event_darkness_equals_astral(events):
    ev = prepare_events(events, 9, TZ)
    dark = event_darkness(ev, TZ)
    # the same events straight from their UTC times, sorted as prepare_events sorts them
    e = events.assign(t=pd.to_datetime(events["occurred_at"], utc=True))
    e = e.sort_values(["t", "lat", "lon"]).reset_index(drop=True)
    rows = np.random.default_rng(0).choice(len(e), 400, replace=False)
    n_checked = 0
    for i in rows:
        r = e.iloc[i]
        el = elevation(Observer(r["lat"], r["lon"]), r["t"].floor("us").to_pydatetime(), with_refraction=False)
        if abs(el + 6.0) > 0.05:  # away from the threshold, both models must agree
            assert dark[i] == (el < -6.0), (i, el)
            n_checked += 1
    assert n_checked > 390 and 0.2 < dark.mean() < 0.8


def test_day_darkness_equals_astral_civil_night(events):
    ev = prepare_events(events, 9, TZ)
    lat, lon = ev.xy[0, 1] / ev.proj.ky, ev.xy[0, 0] / ev.proj.kx
    import zoneinfo

    z = zoneinfo.ZoneInfo(TZ)
    for day in ("2024-06-21", "2024-12-21", "2024-03-20"):
        d = dt.date.fromisoformat(day)
        obs = Observer(lat, lon)
        light = (dusk(obs, d, tzinfo=z) - dawn(obs, d, tzinfo=z)).total_seconds() / 86400.0
        got = day_darkness(ev, TZ, [(d - dt.date(1970, 1, 1)).days])[0]
        assert got == pytest.approx(1.0 - light, abs=1.5 / 96), day


def test_dark365_feature_counts_by_hand(events):
    fc = make_forecaster("ranker", tz=TZ).fit(events)
    ev = fc.events
    d = ev.first_day + 400
    f = fc.features(d)
    dark = event_darkness(ev, TZ)
    rows = (ev.day >= d - 365) & (ev.day < d) & dark
    want = pd.Series(ev.pos[rows]).value_counts().reindex(range(len(ev.index_cells)), fill_value=0).to_numpy()
    np.testing.assert_array_equal(f[:, 11], want)
    assert np.all(f[:, 12] == day_darkness(ev, TZ, [d])[0])
    assert f.shape[1] == 13 and make_forecaster("ranker", tz=TZ, darkness=False).fit(ev).features(d).shape[1] == 11


def test_planted_covariate_helps_the_ranking():
    """Rates follow a per-place score the ranker is given; with a short, sparse history the
    score ranks the true rates better than the counts alone."""
    lat, lon, p = places(seed=7)
    target = draw(lat, lon, p, 2.0, 200, "theft", 8)
    cells = study(target)
    cell_of = latlng_to_cells(lat, lon, 9)
    truth = pd.Series(p).groupby(cell_of).sum()
    score = np.log(truth)  # the planted place score (known for every cell with a place)
    plain = make_forecaster("ranker", seed=0).fit(target)
    cov = make_forecaster("ranker", seed=0, covariates=score).fit(plain.events)
    t = truth.reindex(cells, fill_value=0.0).to_numpy()
    q = plain.query(cells)
    got = {}
    for f in (0.05, 0.10):
        k = round(f * len(cells))
        r = [top_hits(cov.predict(q, plain.events.first_day + v), t, k) /
             top_hits(plain.predict(q, plain.events.first_day + v), t, k) for v in (170, 190)]
        got[f] = float(np.mean(r))
    assert got[0.05] > 1.05 and got[0.10] > 1.05, got
    assert cov.covariates_key and plain.covariates_key is None
    with pytest.raises(ValueError, match="covariates"):
        make_forecaster("ranker", covariates={}).fit(plain.events)
