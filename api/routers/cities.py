"""The city registry, districts and our own basemap (district boundaries and streets)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from qauipsiz.api.routers._deps import CityKey, Services, city_obj, services
from qauipsiz.api.routers._geo import GEOJSON, cached_bytes, etag_for, feature_collection

router = APIRouter(tags=["cities"])

GEOJSON_RESPONSE = {200: {"content": {GEOJSON: {}}, "description": "GeoJSON FeatureCollection"}}


class District(BaseModel):
    district: str
    name_kk: str
    name_ru: str
    name_en: str
    kato: str | None = None


class City(BaseModel):
    city: str
    name_kk: str
    name_ru: str
    name_en: str
    epsg: int
    tz: str
    bbox: list[float]
    center: list[float]
    districts: list[District]
    synthetic: bool = Field(False, description="the store's incidents of this city are the synthetic demo "
                                               "(invented, not real crime): show the notice with every map and file")
    notice: str | None = Field(None, description="the synthetic-data notice (English) when ``synthetic``")


SYNTHETIC_NOTICE = ("SYNTHETIC DEMO DATA: the incidents are invented by `qauipsiz demo` on real boundaries and "
                    "streets; they describe no real crime.")


def _city_model(key: str, svc: Services | None = None) -> City:
    c = city_obj(key)
    d = c.districts
    x0, y0, x1, y1 = (float(v) for v in c.boundary.bounds)
    synthetic = bool(svc is not None and svc.synthetic(key))
    return City(city=key, name_kk=c.name_kk, name_ru=c.name_ru, name_en=c.name_en, epsg=int(c.epsg), tz=c.tz,
                bbox=[x0, y0, x1, y1], center=[(y0 + y1) / 2, (x0 + x1) / 2],
                districts=[District(district=str(r.district), name_kk=str(r.name_kk), name_ru=str(r.name_ru),
                                    name_en=str(r.name_en), kato=None if pd.isna(r.kato) else str(r.kato))
                           for r in d.itertuples()],
                synthetic=synthetic, notice=SYNTHETIC_NOTICE if synthetic else None)


@router.get("/cities", response_model=list[City], summary="Cities of the registry")
def cities(svc: Services = Depends(services)) -> list[City]:
    from qauipsiz.hotspot.cities import list_cities

    return [_city_model(k, svc) for k in list_cities()]


@router.get("/cities/{city}", response_model=City, summary="One city with its districts")
def city(city: CityKey, svc: Services = Depends(services)) -> City:
    return _city_model(city, svc)


@router.get("/cities/{city}/districts.geojson", responses=GEOJSON_RESPONSE,
            summary="District boundaries (GeoJSON, EPSG:4326) — part of our own basemap")
def districts_geojson(request: Request, city: CityKey, svc: Services = Depends(services)):
    c = city_obj(city)

    def build():
        d = c.districts
        props = pd.DataFrame(d.drop(columns="geometry")).astype(object)
        return feature_collection(d.geometry.values, props, precision=1e-5)

    body = svc.cache.get_or_compute(("districts", city), build)
    return cached_bytes(request, body, GEOJSON, etag_for("districts", city, len(body)), public=True, max_age=3600)


@router.get("/cities/{city}/streets.geojson", responses=GEOJSON_RESPONSE,
            summary="Street lines (GeoJSON, simplified to ~3 m) — part of our own basemap")
def streets_geojson(request: Request, city: CityKey, svc: Services = Depends(services)):
    city_obj(city)

    def build():
        import shapely

        from qauipsiz.hotspot.streets import load_streets

        try:
            s = load_streets(city)
        except (FileNotFoundError, ValueError):
            return feature_collection(np.array([], dtype=object), pd.DataFrame({"name": []}))
        g = shapely.simplify(s.geometry.values, 3e-5)
        return feature_collection(g, pd.DataFrame({"name": s["name"].astype(object).to_numpy()}), precision=1e-5)

    body = svc.cache.get_or_compute(("streets", city), build)
    return cached_bytes(request, body, GEOJSON, etag_for("streets", city, len(body)), public=True, max_age=3600)


class Category(BaseModel):
    category: str
    name_kk: str
    name_ru: str
    name_en: str
    violent: bool
    street_crime: bool
    property: bool


@router.get("/categories", response_model=list[Category], summary="Incident categories of the taxonomy (kk/ru/en)")
def categories() -> list[Category]:
    from qauipsiz.hotspot.taxonomy import categories as cats

    t = cats()
    return [Category(category=str(r.category), name_kk=str(r.category_kk), name_ru=str(r.category_ru),
                     name_en=str(r.category_en), violent=bool(r.violent), street_crime=bool(r.street_crime),
                     property=bool(r.property)) for r in t.itertuples()]
