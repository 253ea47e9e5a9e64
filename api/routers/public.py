"""Public, de-identified indicators: districts and coarse H3 cells, small counts suppressed.

Nothing here is incident-level.  Counts below ``QAUIPSIZ_MIN_PUBLIC_COUNT`` (default 5) are
returned as ``null`` with ``suppressed: true``, and so is every number derived from them (rates,
dark share).  Within a district's category breakdown, when exactly one category is suppressed the
next-smallest is suppressed too, so the hidden one cannot be recovered from the total.  Filters are
coarse on purpose — category and a whole calendar year.  Shown counts are rounded to the nearest
``QAUIPSIZ_PUBLIC_ROUND`` (default 5) and rates and shares are computed from the rounded counts:
differencing two queries (all years minus one year, a res-6 cell minus its res-7 children, all
categories minus the others) then gives a range, not a suppressed count.
"""
from __future__ import annotations

from functools import cache
from typing import Annotated

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from qauipsiz.api.routers._deps import CityKey, Services, city_obj, services
from qauipsiz.api.routers._geo import GEOJSON, cached_bytes, etag_for, feature_collection

router = APIRouter(prefix="/public", tags=["public"])

PUBLIC_RES = (6, 7)
"""H3 resolutions allowed for public cells (≈36 km² and ≈5 km²)."""


class DistrictIndicator(BaseModel):
    district: str
    name_kk: str
    name_ru: str
    name_en: str
    population: int | None = Field(None, description="official population (data/population)")
    count: int | None = Field(None, description="recorded incidents; null when suppressed")
    suppressed: bool
    rate_per_1000: float | None = Field(None, description="incidents per 1,000 residents")
    dark_share: float | None = Field(None, description="share of incidents in darkness (sun below −6°)")
    by_category: dict[str, int | None] = Field(default_factory=dict)


class PublicDistricts(BaseModel):
    city: str
    year: int | None
    category: list[str] | None
    min_count: int
    rounded_to: int = Field(description="shown counts are rounded to the nearest multiple of this")
    notice: str
    districts: list[DistrictIndicator]


NOTICE = ("Recorded incidents only: recorded crime under-counts real crime. Counts below {k} are suppressed "
          "and the others rounded to the nearest {base}. Aggregated and de-identified; no incident-level data.")


@cache
def _population(city: str) -> dict[str, int]:
    from qauipsiz.hotspot.cities import get_city
    from qauipsiz.hotspot.paths import data_dir

    p = data_dir() / "population" / f"{city}_district_population_reference_v2.csv"
    if not p.exists():
        return {}
    t = pd.read_csv(p)
    t = t[t["use_in_metrics"].astype(str).str.lower() == "true"]
    out = {}
    for r in get_city(city).districts.itertuples():
        keys = {str(r.district).lower(), str(r.name_en).lower()}
        for row in t.itertuples():
            toks = {s.strip().lower() for s in str(row.osm_match_tokens).split("|")} | {str(row.district_name).lower()}
            if keys & toks:
                out[str(r.district)] = int(row.official_population)
                break
    return out


def _subset(svc: Services, city: str, year: int | None, category: list[str] | None) -> pd.DataFrame:
    c = city_obj(city)
    df = svc.incidents(city)
    m = np.ones(len(df), bool)
    if category:
        m &= df["category"].isin(category).to_numpy(bool)
    if year is not None:
        local = df["occurred_at"].dt.tz_convert(c.tz)
        m &= (local.dt.year == year).to_numpy(bool)
    return df.loc[m, ["category", "district", "h3", "is_dark"]]


def suppress(counts: np.ndarray, k: int) -> np.ndarray:
    """Mask of counts to hide: those below ``k`` (zero is shown: it reveals no individual)."""
    counts = np.asarray(counts)
    return (counts > 0) & (counts < k)


def round_counts(counts: np.ndarray, base: int) -> np.ndarray:
    """Counts rounded half up to the nearest multiple of ``base``; a non-zero count never shows as 0."""
    n = np.asarray(counts, dtype=np.int64)
    if base <= 1:
        return n
    r = base * ((n + base // 2) // base)
    return np.where(n > 0, np.maximum(r, base), 0)


def district_indicators(sub: pd.DataFrame, city: str, k: int, base: int) -> list[DistrictIndicator]:
    """Public indicators per district of ``city`` from incidents ``sub`` (``category, district,
    is_dark``): counts below ``k`` suppressed (with secondary suppression in the category
    breakdown), shown counts rounded to ``base``, rate per 1,000 residents and dark share from the
    rounded counts."""
    c = city_obj(city)
    pop = _population(city)
    cats = sorted(sub["category"].dropna().unique())
    rows = []
    for d in c.districts.itertuples():
        s = sub[sub["district"] == d.district]
        n = len(s)
        hide = bool(suppress([n], k)[0])
        ndark = int(s["is_dark"].fillna(False).astype(bool).sum())
        dark_ok = not hide and not suppress([ndark], k)[0] and not suppress([n - ndark], k)[0]
        n_r, ndark_r = (int(v) for v in round_counts([n, ndark], base))
        bc = s["category"].value_counts().reindex(cats, fill_value=0)
        hidden = suppress(bc.to_numpy(), k)
        if hidden.sum() == 1 and len(bc) > 1:  # secondary suppression
            vis = np.flatnonzero(~hidden & (bc.to_numpy() > 0))
            if len(vis):
                hidden[vis[np.argmin(bc.to_numpy()[vis])]] = True
        shown = round_counts(bc.to_numpy(), base)
        by_cat = {} if hide else {cat: (None if h else int(v)) for cat, v, h in zip(bc.index, shown, hidden,
                                                                                     strict=True)}
        popn = pop.get(str(d.district))
        rows.append(DistrictIndicator(
            district=str(d.district), name_kk=str(d.name_kk), name_ru=str(d.name_ru), name_en=str(d.name_en),
            population=popn, count=None if hide else n_r, suppressed=hide,
            rate_per_1000=None if hide or not popn else round(1000.0 * n_r / popn, 2),
            dark_share=round(min(ndark_r / n_r, 1.0), 2) if dark_ok and n_r else None, by_category=by_cat))
    return rows


def _district_rows(svc: Services, city: str, year, category) -> list[DistrictIndicator]:
    return district_indicators(_subset(svc, city, year, category), city, svc.settings.min_public_count,
                               svc.settings.public_round)


def _notice(svc: Services) -> str:
    return NOTICE.format(k=svc.settings.min_public_count, base=svc.settings.public_round)


Year = Annotated[int | None, Query(ge=2000, le=2100, description="calendar year (local time); default all")]
Category = Annotated[list[str] | None, Query(description="taxonomy categories (repeatable)")]


@router.get("/cities/{city}/districts", response_model=PublicDistricts,
            summary="District indicators: counts, rate per 1,000 residents, dark share (small counts suppressed)")
def public_districts(city: CityKey, year: Year = None, category: Category = None,
                     svc: Services = Depends(services)) -> PublicDistricts:
    k = svc.settings.min_public_count
    return PublicDistricts(city=city, year=year, category=sorted(category) if category else None, min_count=k,
                           rounded_to=svc.settings.public_round, notice=_notice(svc),
                           districts=_district_rows(svc, city, year, category))


@router.get("/cities/{city}/districts.geojson",
            responses={200: {"content": {GEOJSON: {}}, "description": "GeoJSON FeatureCollection"}},
            summary="District indicators with boundaries (GeoJSON)")
def public_districts_geojson(request: Request, city: CityKey, year: Year = None, category: Category = None,
                             svc: Services = Depends(services)):
    c = city_obj(city)
    ver = svc.version(city)
    key = ("public-districts", city, year, tuple(sorted(category or ())), ver)

    def build():
        rows = _district_rows(svc, city, year, category)
        if not rows:
            return feature_collection(np.array([], dtype=object), pd.DataFrame({"district": []}),
                                      extra={"notice": _notice(svc)})
        props = pd.DataFrame([{kk: v for kk, v in r.model_dump().items() if kk != "by_category"} for r in rows])
        geoms = c.districts.set_index("district").loc[props["district"]].geometry.values
        return feature_collection(geoms, props.astype(object), precision=1e-5, extra={"notice": _notice(svc)})

    body = svc.cache.get_or_compute(key, build)
    return cached_bytes(request, body, GEOJSON, etag_for(*key), public=True)


@router.get("/cities/{city}/cells.geojson",
            responses={200: {"content": {GEOJSON: {}}, "description": "GeoJSON FeatureCollection"}},
            summary="Coarse H3 cells (res 6–7) with incident counts (small counts suppressed)")
def public_cells(request: Request, city: CityKey,
                 res: Annotated[int, Query(ge=min(PUBLIC_RES), le=max(PUBLIC_RES), description="H3 resolution")] = 7,
                 year: Year = None, category: Category = None, svc: Services = Depends(services)):
    city_obj(city)
    ver = svc.version(city)
    key = ("public-cells", city, res, year, tuple(sorted(category or ())), ver)
    k = svc.settings.min_public_count

    def build():
        from qauipsiz.hotspot.h3grid import cells_to_boundaries, cells_to_parent

        sub = _subset(svc, city, year, category)
        h = sub["h3"].to_numpy(np.uint64)
        h = h[h != 0]
        parents = cells_to_parent(h, res)
        u, n = np.unique(parents, return_counts=True)
        hide = suppress(n, k)
        shown = round_counts(n, svc.settings.public_round)
        props = pd.DataFrame({"h3": [format(int(x), "x") for x in u],
                              "count": [None if s else int(v) for v, s in zip(shown, hide, strict=True)],
                              "suppressed": hide})
        return feature_collection(cells_to_boundaries(u), props.astype(object),
                                  extra={"notice": _notice(svc), "res": res})

    body = svc.cache.get_or_compute(key, build)
    return cached_bytes(request, body, GEOJSON, etag_for(*key), public=True)
