"""Charts of the incidents behind the map: hour × weekday table, monthly trend, category mix, count.

The dashboard draws them as inline SVG from these tables (issue 17 item 11).  Two routes:

- ``GET /cities/{city}/charts`` (permission ``hotspots``): the same filters as the map (category,
  dates, hours, weekdays, light, district); exact counts of aggregated incidents.
- ``GET /public/cities/{city}/charts``: the public role's fixed published table (calendar ``year``
  and category ``group`` only, as ``/public/cities/{city}/districts``); every count below
  ``QAUIPSIZ_MIN_PUBLIC_COUNT`` (zero included) is ``null`` and the others are rounded to the nearest
  ``QAUIPSIZ_PUBLIC_ROUND``, exactly as the other public routes do.  No category mix (the group is the finest
  public split) and every month of the period (:func:`public_layout`; issue 20's differencing attack).

Months run in the city's local time.  A monthly series that spans January 2019 carries a
``series_break``: the 2019 reclassification changed severity classes, so counts before and after are
not strictly comparable (``/work/shared/DOMAIN.md``).
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from qauipsiz.api.auth import Principal, require
from qauipsiz.api.errors import client_input
from qauipsiz.api.routers._deps import CityKey, Filters, Services, city_obj, filters, services
from qauipsiz.api.routers._geo import cached_bytes, etag_for
from qauipsiz.api.routers.public import Group, Year, round_counts, suppress

router = APIRouter(tags=["charts"])

SERIES_BREAK = "2019-01"
"""First month after the 2019 reclassification of severity classes (local time)."""
SERIES_BREAK_NOTE = ("2019 reclassification of offences changed severity classes: counts before and after "
                     "January 2019 are not strictly comparable")


class MonthCount(BaseModel):
    month: str = Field(description="local calendar month YYYY-MM")
    count: int | None = Field(description="incidents in the month; null when suppressed")


class CategoryCount(BaseModel):
    category: str
    count: int | None


class SeriesBreak(BaseModel):
    month: str
    note: str


class Charts(BaseModel):
    city: str
    count: int | None = Field(description="incidents matching the filter (null when suppressed)")
    hour_weekday: list[list[int | None]] = Field(
        description="7 rows (Monday = 0 … Sunday = 6) × 24 columns (local hour 0–23) of incident counts")
    monthly: list[MonthCount] = Field(description="every month from the first to the last incident, zeros included")
    categories: list[CategoryCount] = Field(description="incidents per taxonomy category, largest first")
    series_break: SeriesBreak | None = Field(None, description="set when the monthly series spans January 2019")
    public: bool = Field(description="suppressed and rounded (the public role's table)")
    min_count: int | None = None
    rounded_to: int | None = None
    notice: str


def chart_tables(df: pd.DataFrame, tz: str) -> dict:
    """Aggregate incidents into the chart tables.

    Parameters
    ----------
    df : DataFrame
        Incidents with ``occurred_at`` (tz-aware UTC timestamps) and ``category``.
    tz : str
        The city's IANA time zone; hours, weekdays and months are local.

    Returns
    -------
    dict
        ``count`` (int), ``hour_weekday`` (7 × 24 int array, Monday = row 0, local hour = column),
        ``monthly`` (Series of int counts indexed by ``YYYY-MM``, every month from the first to the last,
        zeros included), ``categories`` (Series of int counts by category, largest first, ties by name)
        and ``series_break`` (bool: the months span January 2019).
    """
    occ = pd.to_datetime(df["occurred_at"], utc=True)
    local = occ.dt.tz_convert(tz)
    ok = local.notna().to_numpy(bool)
    local = local[ok]
    table = np.zeros((7, 24), dtype=np.int64)
    np.add.at(table, (local.dt.day_of_week.to_numpy(int), local.dt.hour.to_numpy(int)), 1)
    if len(local):
        months = local.dt.tz_localize(None).dt.to_period("M")
        counts = months.value_counts()
        full = pd.period_range(months.min(), months.max(), freq="M")
        monthly = counts.reindex(full, fill_value=0)
        monthly.index = monthly.index.strftime("%Y-%m")
    else:
        monthly = pd.Series([], dtype=np.int64)
    cats = df["category"].astype(object).fillna("unknown").value_counts()
    cats = cats.sort_index().sort_values(ascending=False, kind="stable")
    brk = bool(len(monthly) and monthly.index[0] < SERIES_BREAK <= monthly.index[-1])
    return {"count": len(df), "hour_weekday": table, "monthly": monthly.astype(np.int64),
            "categories": cats.astype(np.int64), "series_break": brk}


def _shown(values, k: int | None, base: int | None) -> list[int | None]:
    """Counts as published: exact, or (``k`` given) below ``k`` → None and the rest rounded to ``base``."""
    v = np.asarray(values, dtype=np.int64)
    if k is None:
        return [int(x) for x in v]
    hide = suppress(v, k)
    r = round_counts(v, base or 1)
    return [None if h else int(x) for x, h in zip(r, hide, strict=True)]


def charts_model(city: str, tables: dict, *, k: int | None, base: int | None, notice: str) -> Charts:
    """The :class:`Charts` answer of ``tables`` (from :func:`chart_tables`); ``k`` suppresses and
    ``base`` rounds every count (the public role), ``k=None`` keeps exact counts."""
    hw = tables["hour_weekday"]
    monthly = tables["monthly"]
    cats = tables["categories"]
    return Charts(
        city=city, count=_shown([tables["count"]], k, base)[0],
        hour_weekday=[_shown(hw[d], k, base) for d in range(7)],
        monthly=[MonthCount(month=m, count=c) for m, c in zip(monthly.index, _shown(monthly.to_numpy(), k, base),
                                                             strict=True)],
        categories=[CategoryCount(category=str(c), count=n)
                    for c, n in zip(cats.index, _shown(cats.to_numpy(), k, base), strict=True)],
        series_break=SeriesBreak(month=SERIES_BREAK, note=SERIES_BREAK_NOTE) if tables["series_break"] else None,
        public=k is not None, min_count=k, rounded_to=base if k is not None else None, notice=notice)


def _period_months(df: pd.DataFrame, tz: str, year: int | None) -> pd.Index:
    """Every month of the published period: the calendar ``year``, or (``year=None``) every year the
    city's incidents span, whatever the group (``YYYY-MM`` strings, local time)."""
    if year is None:
        yrs = pd.to_datetime(df["occurred_at"], utc=True).dt.tz_convert(tz).dt.year.dropna()
        if not len(yrs):
            return pd.Index([], dtype=object)
        y0, y1 = int(yrs.min()), int(yrs.max())
    else:
        y0 = y1 = int(year)
    return pd.Index(pd.period_range(f"{y0}-01", f"{y1}-12", freq="M").strftime("%Y-%m"))


def public_layout(tables: dict, months: pd.Index) -> dict:
    """The public charts' layout: nothing in it may tell what the suppression hides.

    - ``categories`` is empty: the public table is published per category *group* (as the district
      table), never split by category.  A category mix beside the group's own rounded total let the
      differencing attack of ``tests/api/test_public_attack.py`` pin hidden category counts to a range
      1 wide (the total's rounding band less the shown categories' bands), and listing only the
      categories present told a hidden 0 from a hidden 1..k-1.
    - ``monthly`` covers every month of the period (``months``, :func:`_period_months`), not from the
      first to the last incident of the group, whose ends would show months with at least one.
    """
    monthly = tables["monthly"].reindex(months.union(tables["monthly"].index), fill_value=0).astype(np.int64)
    return {**tables, "categories": pd.Series([], dtype=np.int64), "monthly": monthly}


def _json(model: BaseModel) -> bytes:
    return json.dumps(model.model_dump(), ensure_ascii=False, separators=(",", ":")).encode()


@router.get("/cities/{city}/charts", response_model=Charts,
            summary="Hour × weekday table, monthly trend, category mix and count of the incidents matching the "
                    "map's filter (aggregated)")
def charts(request: Request, city: CityKey, f: Filters = Depends(filters),
           p: Principal = Depends(require("hotspots")), svc: Services = Depends(services)):
    c = city_obj(city)
    ver = svc.version(city)
    key = ("charts", city, json.dumps(f.as_params(), sort_keys=True), ver)

    def build() -> bytes:
        from qauipsiz.api.routers.public import _notice

        with client_input():
            df = f.apply(svc.incidents(city), c)
        return _json(charts_model(city, chart_tables(df, c.tz), k=None, base=None, notice=_notice(svc, city)))

    body = svc.cache.get_or_compute(key, build)
    return cached_bytes(request, body, "application/json", etag_for(*key))


@router.get("/public/cities/{city}/charts", response_model=Charts,
            summary="Public charts: hour × weekday, monthly trend, category mix (small counts suppressed, rounded)")
def public_charts(request: Request, city: CityKey, year: Year = None, group: Group = "all",
                  svc: Services = Depends(services)):
    from qauipsiz.api.routers.public import _notice, _subset

    c = city_obj(city)
    ver = svc.version(city)
    k, base = svc.settings.min_public_count, svc.settings.public_round
    key = ("public-charts", city, year, group, k, base, ver)

    def build() -> bytes:
        sub = _subset(svc, city, year, group)
        every = svc.incidents(city)
        df = every.loc[sub.index, ["occurred_at", "category"]]
        tables = public_layout(chart_tables(df, c.tz), _period_months(every, c.tz, year))
        return _json(charts_model(city, tables, k=k, base=base, notice=_notice(svc, city)))

    body = svc.cache.get_or_compute(key, build)
    return cached_bytes(request, body, "application/json", etag_for(*key), public=True)
