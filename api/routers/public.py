"""Public, de-identified indicators: districts and coarse H3 cells, small counts suppressed.

Nothing here is incident-level, and what is public is a **fixed published table**: per district
(or coarse H3 cell), per calendar year (or all years), per category *group* — ``all``,
``violent``, ``property``, ``street`` (the taxonomy's flags; a category belongs to a group when
any of its article parts has the flag).  Arbitrary category sets are not offered: differencing
hundreds of them recovered suppressed counts exactly (issue 20).

Counts below ``QAUIPSIZ_MIN_PUBLIC_COUNT`` (k, default 5) — **zero included** — are returned as
``null`` with ``suppressed: true``, and so is every number derived from them (rates, dark share);
a public cell below k is not published at all, so "suppressed" never tells 1–4 apart from none.
Shown counts are rounded to the nearest ``QAUIPSIZ_PUBLIC_ROUND`` (default 5) and rates and shares
come from the rounded counts: differencing (all years minus the others, a res-6 cell minus its res-7
children, all minus a group) gives a range, not a suppressed count.
``tests/api/test_public_attack.py`` runs the integer-programming attack over every published value.
"""
from __future__ import annotations

from functools import cache
from typing import Annotated, Literal

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
    by_group: dict[str, int | None] = Field(default_factory=dict,
                                           description="violent, property, street: counts (null when suppressed)")


class PublicDistricts(BaseModel):
    city: str
    year: int | None
    group: str
    min_count: int
    rounded_to: int = Field(description="shown counts are rounded to the nearest multiple of this")
    notice: str
    districts: list[DistrictIndicator]


NOTICE = ("Recorded incidents only: recorded crime under-counts real crime. Counts below {k} (zero included) are "
          "suppressed and the others rounded to the nearest {base}. Aggregated and de-identified; no incident-level data.")

GROUPS = ("all", "violent", "property", "street")
"""The published category groups (taxonomy flags ``violent``, ``property``, ``street_crime``)."""
_FLAG = {"violent": "violent", "property": "property", "street": "street_crime"}


@cache
def group_categories(group: str) -> frozenset[str] | None:
    """Taxonomy categories of a published ``group`` (None for ``all``)."""
    if group == "all":
        return None
    from qauipsiz.hotspot.taxonomy import articles

    a = articles()
    return frozenset(a.loc[a[_FLAG[group]], "category"])


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


def _subset(svc: Services, city: str, year: int | None, group: str) -> pd.DataFrame:
    c = city_obj(city)
    df = svc.incidents(city)
    m = np.ones(len(df), bool)
    cats = group_categories(group)
    if cats is not None:
        m &= df["category"].isin(cats).to_numpy(bool)
    if year is not None:
        local = df["occurred_at"].dt.tz_convert(c.tz)
        m &= (local.dt.year == year).to_numpy(bool)
    return df.loc[m, ["category", "district", "h3", "is_dark"]]


def suppress(counts: np.ndarray, k: int) -> np.ndarray:
    """Mask of counts to hide: those below ``k``, zero included (so a hidden count is not known to be
    at least one)."""
    return np.asarray(counts) < k


def round_counts(counts: np.ndarray, base: int) -> np.ndarray:
    """Counts rounded half up to the nearest multiple of ``base``; a non-zero count never shows as 0."""
    n = np.asarray(counts, dtype=np.int64)
    if base <= 1:
        return n
    r = base * ((n + base // 2) // base)
    return np.where(n > 0, np.maximum(r, base), 0)


def district_indicators(sub: pd.DataFrame, city: str, k: int, base: int) -> list[DistrictIndicator]:
    """Public indicators per district of ``city`` from incidents ``sub`` (``category, district,
    is_dark``): counts below ``k`` suppressed, shown counts rounded to ``base``, rate per 1,000
    residents and dark share from the rounded counts, and the count of each group."""
    c = city_obj(city)
    pop = _population(city)
    members = {g: group_categories(g) for g in GROUPS[1:]}
    rows = []
    for d in c.districts.itertuples():
        s = sub[sub["district"] == d.district]
        n = len(s)
        hide = bool(suppress([n], k)[0])
        ndark = int(s["is_dark"].fillna(False).astype(bool).sum())
        dark_ok = not hide and not suppress([ndark], k)[0] and not suppress([n - ndark], k)[0]
        n_r, ndark_r = (int(v) for v in round_counts([n, ndark], base))
        gn = np.array([int(s["category"].isin(members[g]).sum()) for g in members])
        ghide = suppress(gn, k)
        by_group = {} if hide else {g: (None if h else int(v)) for g, v, h in
                                    zip(members, round_counts(gn, base), ghide, strict=True)}
        popn = pop.get(str(d.district))
        rows.append(DistrictIndicator(
            district=str(d.district), name_kk=str(d.name_kk), name_ru=str(d.name_ru), name_en=str(d.name_en),
            population=popn, count=None if hide else n_r, suppressed=hide,
            rate_per_1000=None if hide or not popn else round(1000.0 * n_r / popn, 2),
            dark_share=round(min(ndark_r / n_r, 1.0), 2) if dark_ok and n_r else None, by_group=by_group))
    return rows


def _district_rows(svc: Services, city: str, year, group: str) -> list[DistrictIndicator]:
    return district_indicators(_subset(svc, city, year, group), city, svc.settings.min_public_count,
                               svc.settings.public_round)


def _notice(svc: Services, city: str) -> str:
    from qauipsiz.api.routers.cities import SYNTHETIC_NOTICE

    base = NOTICE.format(k=svc.settings.min_public_count, base=svc.settings.public_round)
    return f"{SYNTHETIC_NOTICE} {base}" if svc.synthetic(city) else base


Year = Annotated[int | None, Query(ge=2000, le=2100, description="calendar year (local time); default all")]
Group = Annotated[Literal["all", "violent", "property", "street"],
                  Query(description="published category group (taxonomy flags); arbitrary category sets are "
                                    "not public")]


@router.get("/cities/{city}/districts", response_model=PublicDistricts,
            summary="District indicators: counts, rate per 1,000 residents, dark share (small counts suppressed)")
def public_districts(city: CityKey, year: Year = None, group: Group = "all",
                     svc: Services = Depends(services)) -> PublicDistricts:
    k = svc.settings.min_public_count
    return PublicDistricts(city=city, year=year, group=group, min_count=k,
                           rounded_to=svc.settings.public_round, notice=_notice(svc, city),
                           districts=_district_rows(svc, city, year, group))


@router.get("/cities/{city}/districts.geojson",
            responses={200: {"content": {GEOJSON: {}}, "description": "GeoJSON FeatureCollection"}},
            summary="District indicators with boundaries (GeoJSON)")
def public_districts_geojson(request: Request, city: CityKey, year: Year = None, group: Group = "all",
                             svc: Services = Depends(services)):
    c = city_obj(city)
    ver = svc.version(city)
    key = ("public-districts", city, year, group, ver)

    def build():
        rows = _district_rows(svc, city, year, group)
        if not rows:
            return feature_collection(np.array([], dtype=object), pd.DataFrame({"district": []}),
                                      extra={"notice": _notice(svc, city)})
        props = pd.DataFrame([{kk: v for kk, v in r.model_dump().items() if kk != "by_group"} for r in rows])
        geoms = c.districts.set_index("district").loc[props["district"]].geometry.values
        return feature_collection(geoms, props.astype(object), precision=1e-5, extra={"notice": _notice(svc, city)})

    body = svc.cache.get_or_compute(key, build)
    return cached_bytes(request, body, GEOJSON, etag_for(*key), public=True)


@router.get("/cities/{city}/cells.geojson",
            responses={200: {"content": {GEOJSON: {}}, "description": "GeoJSON FeatureCollection"}},
            summary="Coarse H3 cells (res 6–7) with incident counts; cells below the minimum are not published")
def public_cells(request: Request, city: CityKey,
                 res: Annotated[int, Query(ge=min(PUBLIC_RES), le=max(PUBLIC_RES), description="H3 resolution")] = 7,
                 year: Year = None, group: Group = "all", svc: Services = Depends(services)):
    city_obj(city)
    ver = svc.version(city)
    key = ("public-cells", city, res, year, group, ver)
    k = svc.settings.min_public_count

    def build():
        from qauipsiz.hotspot.h3grid import cells_to_boundaries, cells_to_parent

        sub = _subset(svc, city, year, group)
        h = sub["h3"].to_numpy(np.uint64)
        h = h[h != 0]
        parents = cells_to_parent(h, res)
        u, n = np.unique(parents, return_counts=True)
        show = ~suppress(n, k)  # a cell below k is left out, like an empty one
        u = u[show]
        props = pd.DataFrame({"h3": [format(int(x), "x") for x in u],
                              "count": round_counts(n[show], svc.settings.public_round).astype(int)})
        return feature_collection(cells_to_boundaries(u), props.astype(object),
                                  extra={"notice": _notice(svc, city) + f" Cells with fewer than {k} incidents are not shown.",
                                         "res": res, "group": group, "min_count": k})

    body = svc.cache.get_or_compute(key, build)
    return cached_bytes(request, body, GEOJSON, etag_for(*key), public=True)
