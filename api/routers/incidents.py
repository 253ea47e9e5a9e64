"""Incident upload (through ingestion) and incident query — restricted and audited."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from pydantic import BaseModel

from qauipsiz.api.auth import Principal, audit, require
from qauipsiz.api.errors import ApiError, client_input
from qauipsiz.api.ingest.geocoding import city_geocoder
from qauipsiz.api.ingest.limits import safe_file_name
from qauipsiz.api.routers._deps import (
    CityKey,
    Filters,
    Services,
    city_obj,
    filters,
    services,
)
from qauipsiz.api.routers._geo import GEOJSON, feature_collection
from qauipsiz.api.store.export import csv_text_safe

router = APIRouter(tags=["incidents"])

UPLOAD_FORMATS = {".csv", ".xlsx", ".geojson", ".json", ".gpkg", ".parquet"}
INCIDENT_FIELDS = ["incident_id", "source", "source_id", "occurred_at", "reported_at", "category", "ukrk_article",
                   "severity_class", "harm_weight", "place_type", "address_raw", "lat", "lon",
                   "geocode_precision", "geocode_score", "geocode_uncertainty_m", "coord_flags", "district",
                   "h3", "is_dark"]


class IngestResult(BaseModel):
    input: int
    accepted: int
    duplicates: int
    quarantined: int
    reasons: dict[str, int]
    batch_id: int | None = None
    awaiting_geocoding: int = 0
    data_version: str


@router.post("/cities/{city}/incidents", response_model=IngestResult, status_code=201,
             summary="Upload an incident export (CSV / XLSX / GeoJSON / GeoPackage / Parquet) into the store")
def upload_incidents(
    request: Request,
    city: CityKey,
    file: Annotated[UploadFile, File(description="the export file; its extension names the format")],
    source: Annotated[str | None, Form(description="register name, e.g. `erdr`, `102`", max_length=40,
                                       pattern=r"^[\w.-]+$")] = None,
    p: Principal = Depends(require("incidents:write")),
    svc: Services = Depends(services),
) -> IngestResult:
    city_obj(city)
    from qauipsiz.api import ingest
    name = safe_file_name(file.filename or "upload.csv")
    ext = Path(name).suffix.lower()
    if ext not in UPLOAD_FORMATS:
        raise ApiError(415, f"file {name!r}: unsupported format {ext or '(none)'}; use one of "
                            f"{', '.join(sorted(UPLOAD_FORMATS))}", slug="unsupported-media-type")
    updir = svc.settings.data_dir / "uploads"
    updir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=updir) as tmp:
        path = Path(tmp) / name
        with path.open("wb") as fh:
            shutil.copyfileobj(file.file, fh, length=1 << 20)
        with client_input():
            rep = ingest.ingest_file(path, city=city, store=svc.store(), source=source, who=p.who,
                                     geocoder=city_geocoder(city))
    svc.invalidate(city)
    audit(request, p, "incidents.upload", {"city": city, "file": name, **rep.to_json()})
    return IngestResult(**rep.to_json(), batch_id=rep.batch_id, awaiting_geocoding=rep.awaiting_geocoding,
                        data_version=svc.version(city))


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df[INCIDENT_FIELDS].copy()
    for c in ("occurred_at", "reported_at"):
        out[c] = out[c].map(lambda t: None if pd.isna(t) else t.isoformat())
    out["h3"] = [None if v == 0 else format(int(v), "x") for v in out["h3"].to_numpy(np.uint64)]
    return out.astype(object).where(out.notna(), None)


@router.get("/cities/{city}/incidents", summary="Query incidents (incident-level data: restricted, audited)",
            responses={200: {"content": {GEOJSON: {}, "text/csv": {}},
                             "description": "GeoJSON points (default) or CSV"}})
def query_incidents(
    request: Request,
    city: CityKey,
    f: Filters = Depends(filters),
    limit: Annotated[int, Query(ge=1, le=50_000, description="at most this many rows")] = 1000,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    format: Annotated[Literal["geojson", "csv"], Query()] = "geojson",
    p: Principal = Depends(require("incidents:read")),
    svc: Services = Depends(services),
):
    c = city_obj(city)
    audit(request, p, "incidents.read", {"city": city, **f.as_params(), "limit": limit, "offset": offset,
                                         "format": format})
    with client_input():
        df = f.apply(svc.incidents(city), c)
    total = len(df)
    page = _frame(df.iloc[offset:offset + limit])
    headers = {"X-Total-Count": str(total), "Cache-Control": "private, no-store"}
    if format == "csv":
        return Response(csv_text_safe(page), media_type="text/csv; charset=utf-8", headers=headers)
    geoms = shapely.points(page["lon"].to_numpy(float), page["lat"].to_numpy(float))
    body = feature_collection(geoms, page, precision=0,
                              extra={"meta": {"city": city, "total": total, "offset": offset, "limit": limit,
                                              "notice": "recorded incidents only; recorded crime under-counts"}})
    return Response(body, media_type=GEOJSON, headers=headers)
