"""Shared dependencies of the routers: services (store, cache), the city path parameter, filters."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from fastapi import Path, Query, Request
from pydantic import AfterValidator

from qauipsiz.api.cache import SurfaceCache, VersionClock
from qauipsiz.api.errors import ApiError
from qauipsiz.api.settings import Settings


class Services:
    """What the routers share: settings, the store (opened on first use), caches."""

    def __init__(self, settings: Settings, store=None):
        self.settings = settings
        self._store = store
        self._lock = threading.Lock()
        self.cache = SurfaceCache()
        self.version = VersionClock(self._data_version, ttl_s=1.0)

    def store(self):
        """The :class:`api.store.Store` (opened from the settings on first use)."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    from qauipsiz.api.store import Store

                    self._store = Store(self.settings.database_url)
        return self._store

    def _data_version(self, city: str) -> str:
        """The store's data version of ``city``, plus the analytic store's when it holds the city
        (``QAUIPSIZ_ANALYTIC_DIR``), so every cache keyed by version follows both."""
        v = self.store().data_version(city)
        root = getattr(self.settings, "analytic_dir", None)
        if root is not None:
            from qauipsiz.hotspot.national.columns import analytic_version

            av = analytic_version(root, city)
            v = f"{v}+analytic-{av}" if av else v
        return v

    def invalidate(self, city: str) -> None:
        """Forget everything computed for ``city`` (after ingestion)."""
        self.version.forget(city)
        self.cache.invalidate(city)

    def synthetic(self, city: str) -> bool:
        """Whether the store holds demo (synthetic) incidents of ``city`` (source ``"demo"``, as
        ``qauipsiz serve`` and the CLI ingest the demo city), cached per data version."""
        ver = self.version(city)

        def compute() -> bool:
            if "+analytic-" in ver:  # served from the analytic store: its manifest says
                from qauipsiz.hotspot.national.columns import analytic_synthetic

                if analytic_synthetic(self.settings.analytic_dir):
                    return True
            return len(self.store().query_incidents(city, sources=["demo"], limit=1)) > 0

        return self.cache.get_or_compute(("synthetic", city, ver), compute)

    def incidents(self, city: str) -> pd.DataFrame:
        """All located incidents of ``city`` (schema columns), cached per data version."""
        ver = self.version(city)
        return self.cache.get_or_compute(
            ("incidents", city, "located", ver),
            lambda: self.store().query_incidents(city, located_only=True))


async def services(request: Request) -> Services:
    return request.app.state.services


def city_obj(city: str):
    from qauipsiz.hotspot.cities import get_city, list_cities

    if city not in list_cities():
        raise ApiError(404, f"unknown city {city!r}; known: {', '.join(list_cities())}", slug="unknown-city")
    return get_city(city)


def _city_keys() -> tuple[str, ...]:
    from qauipsiz.hotspot.cities import list_cities

    return tuple(list_cities())


def _known_city(city: str) -> str:
    """``city`` when the registry knows it at request time (a 422 otherwise): user cities added
    after start-up and the analytic store's regional centres (``QAUIPSIZ_ANALYTIC_DIR``) count."""
    from qauipsiz.hotspot.cities import list_cities

    known = list_cities()
    if city not in known:
        raise ValueError(f"Input should be one of {', '.join(map(repr, known))}")
    return city


CityKey = Annotated[str, AfterValidator(_known_city),
                    Path(description="city registry key (GET /cities lists them)", examples=list(_city_keys()))]


@dataclass
class Filters:
    """Incident filters shared by hotspots, heat tiles, public indicators and the incident query."""

    category: list[str] | None = None
    start: date | None = None
    end: date | None = None
    hours: str | None = None
    weekdays: list[int] | None = None
    light: str = "any"
    district: list[str] | None = None

    def as_params(self) -> dict:
        return {"category": sorted(self.category) if self.category else None,
                "start": self.start.isoformat() if self.start else None,
                "end": self.end.isoformat() if self.end else None,
                "hours": self.hours, "weekdays": sorted(self.weekdays) if self.weekdays else None,
                "light": self.light, "district": sorted(self.district) if self.district else None}

    def apply(self, df: pd.DataFrame, city) -> pd.DataFrame:
        """Rows of ``df`` that pass the filters (time filters in the city's local time)."""
        from qauipsiz.hotspot.binning import filter_mask

        kw = {}
        if self.category:
            kw["categories"] = self.category
        if self.start:
            kw["start"] = pd.Timestamp(self.start)
        if self.end:
            kw["end"] = pd.Timestamp(self.end)
        if self.hours:
            kw["hours"] = self.hours
        if self.weekdays:
            kw["weekdays"] = self.weekdays
        if self.light != "any":
            kw["dark"] = self.light == "dark"
        m = filter_mask(df, city, **kw) if kw else np.ones(len(df), bool)
        if self.district:
            m &= df["district"].isin(self.district).to_numpy(bool)
        return df[m]


async def filters(
    category: Annotated[list[str] | None, Query(description="taxonomy categories (repeatable)")] = None,
    start: Annotated[date | None, Query(description="first local date included (YYYY-MM-DD)")] = None,
    end: Annotated[date | None, Query(description="local date excluded (YYYY-MM-DD)")] = None,
    hours: Annotated[str | None, Query(description="local hours START-END, wrapping midnight, e.g. `18-02`",
                                       pattern=r"^([01]?\d|2[0-3])-([01]?\d|2[0-4])$")] = None,
    weekdays: Annotated[list[int] | None, Query(description="local weekdays, Monday = 0 (repeatable)")] = None,
    light: Annotated[Literal["any", "dark", "light"], Query(description="darkness: sun below −6°")] = "any",
    district: Annotated[list[str] | None, Query(description="district keys (repeatable)")] = None,
) -> Filters:
    """The filter query parameters as a :class:`Filters`."""
    if weekdays and any(not 0 <= d <= 6 for d in weekdays):
        raise ApiError(422, "weekdays: each must be 0 (Monday) .. 6 (Sunday)", slug="validation-error")
    if hours:
        a, b = (int(v) for v in hours.split("-"))
        if a == b:
            raise ApiError(422, f"hours={hours!r}: START and END must differ", slug="validation-error")
    if start and end and end <= start:
        raise ApiError(422, "end must be after start", slug="invalid-date-range")
    return Filters(category, start, end, hours, weekdays, light, district)
