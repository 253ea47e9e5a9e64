import datetime as dt

import numpy as np
import pandas as pd
import pytest
from astral import Observer
from astral.sun import dawn, dusk

from qauipsiz.hotspot.timeutil import is_dark, solar_elevation, to_local, to_utc


def test_kazakhstan_2024_03_01_switch_to_utc5():
    utc = to_utc(["2024-02-29 12:00", "2024-03-01 12:00", "2025-06-01 00:30"], "Asia/Almaty")
    assert list(utc.dt.hour) == [6, 7, 19]
    assert list(utc.dt.day) == [29, 1, 31]
    back = to_local(utc, "Asia/Almaty")
    assert list(back.dt.hour) == [12, 12, 0]
    assert [t.utcoffset() for t in back] == [dt.timedelta(hours=6), dt.timedelta(hours=5), dt.timedelta(hours=5)]


def test_repeated_hour_at_the_switch_is_read_as_its_first_occurrence():
    # clocks went from 00:00 (UTC+6) back to 23:00 (UTC+5) on 2024-03-01: 23:30 happened twice
    utc = to_utc(["2024-02-29 23:30", "2024-02-29 22:30"], "Asia/Almaty")
    assert list(utc.dt.strftime("%H:%M")) == ["17:30", "16:30"]


def _crossing(lat, lon, around: dt.datetime) -> dt.datetime:
    """Instant within ±40 min of ``around`` where our elevation crosses −6° (bisection)."""
    lo, hi = around - dt.timedelta(minutes=40), around + dt.timedelta(minutes=40)
    f = lambda t: solar_elevation([lat], [lon], pd.Series([t]))[0] + 6.0  # noqa: E731
    flo = f(lo)
    assert np.sign(flo) != np.sign(f(hi))
    for _ in range(40):
        mid = lo + (hi - lo) / 2
        if np.sign(f(mid)) == np.sign(flo):
            lo = mid
        else:
            hi = mid
    return lo


@pytest.mark.parametrize("lat,lon", [(51.128, 71.430), (43.238, 76.946)])  # Astana, Almaty
@pytest.mark.parametrize("day", [dt.date(2025, 6, 21), dt.date(2025, 6, 5), dt.date(2025, 12, 21), dt.date(2024, 12, 2)])
def test_darkness_matches_astral_within_two_minutes(lat, lon, day):
    obs = Observer(lat, lon)
    for fn in (dawn, dusk):
        ref = fn(obs, day, depression=6, tzinfo=dt.UTC)
        ours = _crossing(lat, lon, ref)
        assert abs((ours - ref).total_seconds()) <= 120, (fn.__name__, ours, ref)
        before, after = ref - dt.timedelta(minutes=3), ref + dt.timedelta(minutes=3)
        dark = is_dark([lat, lat], [lon, lon], pd.Series([before, after]))
        assert list(dark) == ([True, False] if fn is dawn else [False, True])


def test_daylight_length_astana_june_vs_december():
    t = pd.Series(pd.date_range("2025-06-21", periods=1440, freq="min", tz="Asia/Almaty"))
    june = (~is_dark(np.full(1440, 51.128), np.full(1440, 71.43), t)).sum() / 60
    t = pd.Series(pd.date_range("2025-12-21", periods=1440, freq="min", tz="Asia/Almaty"))
    dec = (~is_dark(np.full(1440, 51.128), np.full(1440, 71.43), t)).sum() / 60
    # sun above −6°: longer than the ~17 h / ~7 h of sunshine, by the two twilights
    assert 17 < june < 20.5 and 7 < dec < 9.5
