"""Design review: upload a GeoJSON design, get the rule-by-rule report (JSON or HTML)."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Query, UploadFile

from api.auth import Principal, require
from api.routers._deps import Services, optional_module, services

router = APIRouter(tags=["review"])


@router.post("/review", summary="Check a GeoJSON design against the crime-prevention norms")
def review_design(file: Annotated[UploadFile, File(description="the design as GeoJSON")],
                  format: Annotated[Literal["json", "html"], Query()] = "json",
                  p: Principal = Depends(require("review")), svc: Services = Depends(services)):
    optional_module("cpted.review", "design review")
