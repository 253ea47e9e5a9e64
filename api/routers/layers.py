"""City layers from the store: lamps, cameras, SOS buttons and the rest (analyst, planner, commander)."""
from __future__ import annotations

from typing import Literal

import pandas as pd
from fastapi import APIRouter, Depends, Request

from qauipsiz.api.auth import Principal, require
from qauipsiz.api.routers._deps import CityKey, Services, city_obj, services
from qauipsiz.api.routers._geo import GEOJSON, cached_bytes, etag_for, feature_collection

router = APIRouter(tags=["cities"])

LayerName = Literal["lamps", "cameras", "sos_buttons", "buildings", "entrances", "fences", "landuse",
                    "transit_stops", "bars", "police_stations", "blocks"]


@router.get("/cities/{city}/layers", summary="City layers in the store: name → feature count")
def list_layers(city: CityKey, p: Principal = Depends(require("layers")),
                svc: Services = Depends(services)) -> dict[str, int]:
    city_obj(city)
    return svc.store().list_layers(city)


@router.get("/cities/{city}/layers/{layer}.geojson",
            responses={200: {"content": {GEOJSON: {}}, "description": "GeoJSON FeatureCollection"}},
            summary="One city layer as GeoJSON (EPSG:4326)")
def layer_geojson(request: Request, city: CityKey, layer: LayerName, p: Principal = Depends(require("layers")),
                  svc: Services = Depends(services)):
    city_obj(city)
    ver = svc.version(city)

    def build():
        g = svc.store().load_layer(city, layer)
        props = pd.DataFrame(g.drop(columns=g.geometry.name))
        return feature_collection(g.geometry.values, props)

    body = svc.cache.get_or_compute(("layer", city, layer, ver), build)
    return cached_bytes(request, body, GEOJSON, etag_for("layer", city, layer, ver))
