"""Time: local time through the tz database, solar elevation and the darkness flag."""
from __future__ import annotations

import numpy as np
import pandas as pd

DARK_BELOW_DEG = -6.0  # civil twilight: DOMAIN.md §3


def to_utc(local, tz: str) -> pd.Series:
    """Interpret naive local wall-clock times in IANA zone ``tz`` and return tz-aware UTC times.

    Offsets come from the tz database, so Kazakhstan's 2024-03-01 switch from UTC+6 to UTC+5
    (Asia/Almaty) is honoured.  Wall-clock times that occur twice (23:00–23:59 on 2024-02-29 in
    Asia/Almaty) are read as their first occurrence; times skipped by a switch move forward.
    Already tz-aware values are converted, not re-localised.
    """
    s = pd.to_datetime(pd.Series(local), errors="raise")
    if s.dt.tz is None:
        s = s.dt.tz_localize(tz, ambiguous=np.ones(len(s), dtype=bool), nonexistent="shift_forward")
    return s.dt.tz_convert("UTC")


def to_local(utc, tz: str) -> pd.Series:
    """Convert UTC (or any tz-aware) times to local tz-aware times in zone ``tz``."""
    s = pd.to_datetime(pd.Series(utc), utc=True)
    return s.dt.tz_convert(tz)


def solar_elevation(lat, lon, when) -> np.ndarray:
    """Apparent-free (geometric) solar elevation in degrees, vectorised (NOAA solar equations).

    Parameters
    ----------
    lat, lon : array-like
        Decimal degrees (WGS84).
    when : array-like of datetimes
        tz-aware times (naive values are taken as UTC).

    Returns
    -------
    numpy.ndarray
        Elevation of the sun's centre above the horizon in degrees; accurate to about 0.01°
        for 1900–2100, i.e. well under a minute at twilight.
    """
    t = pd.to_datetime(when if isinstance(when, pd.Series) else pd.Series(np.atleast_1d(when)), utc=True)
    secs = t.dt.as_unit("ns").astype("int64").to_numpy() / 1e9
    jd = secs / 86400.0 + 2440587.5
    jc = (jd - 2451545.0) / 36525.0
    lat = np.radians(np.asarray(lat, float))
    lon = np.asarray(lon, float)

    l0 = np.mod(280.46646 + jc * (36000.76983 + jc * 0.0003032), 360.0)
    m = np.radians(357.52911 + jc * (35999.05029 - 0.0001537 * jc))
    e = 0.016708634 - jc * (0.000042037 + 0.0000001267 * jc)
    c = (np.sin(m) * (1.914602 - jc * (0.004817 + 0.000014 * jc))
         + np.sin(2 * m) * (0.019993 - 0.000101 * jc) + np.sin(3 * m) * 0.000289)
    true_long = l0 + c
    omega = np.radians(125.04 - 1934.136 * jc)
    app_long = np.radians(true_long - 0.00569 - 0.00478 * np.sin(omega))
    eps0 = 23 + (26 + (21.448 - jc * (46.815 + jc * (0.00059 - jc * 0.001813))) / 60) / 60
    eps = np.radians(eps0 + 0.00256 * np.cos(omega))
    decl = np.arcsin(np.sin(eps) * np.sin(app_long))
    y = np.tan(eps / 2) ** 2
    l0r = np.radians(l0)
    eot = 4 * np.degrees(
        y * np.sin(2 * l0r) - 2 * e * np.sin(m) + 4 * e * y * np.sin(m) * np.cos(2 * l0r)
        - 0.5 * y * y * np.sin(4 * l0r) - 1.25 * e * e * np.sin(2 * m)
    )  # minutes
    minutes_utc = np.mod(secs, 86400.0) / 60.0
    true_solar = np.mod(minutes_utc + eot + 4 * lon, 1440.0)
    hour_angle = np.radians(true_solar / 4 - 180)
    cos_zen = np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(hour_angle)
    return 90.0 - np.degrees(np.arccos(np.clip(cos_zen, -1, 1)))


def is_dark(lat, lon, when, threshold_deg: float = DARK_BELOW_DEG) -> np.ndarray:
    """Boolean array: is the sun below ``threshold_deg`` (default −6°, civil twilight) at each place and time?"""
    return solar_elevation(lat, lon, when) < threshold_deg
