"""Design review: upload a GeoJSON design, get the rule-by-rule report (JSON or self-contained HTML)."""
from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import HTMLResponse, Response

from qauipsiz.api.auth import Principal, require
from qauipsiz.api.errors import ApiError, client_input
from qauipsiz.api.routers._deps import Services, _city_keys, services

router = APIRouter(tags=["review"])
MAX_DESIGN_BYTES = 20 * 2**20


@router.post("/review", summary="Check a GeoJSON design against the crime-prevention norms, rule by rule",
             responses={200: {"content": {"application/json": {}, "text/html": {}},
                              "description": "`{design, epsg, summary, rules: [...]}` or an HTML report"}})
def review_design(file: Annotated[UploadFile, File(description="the design as GeoJSON (see docs/cpted.md)")],
                  format: Annotated[Literal["json", "html"], Query()] = "json",
                  lang: Annotated[Literal["kk", "ru", "en"], Query(description="language of the HTML report")] = "ru",
                  city: Annotated[Literal[_city_keys()] | None,  # type: ignore[valid-type]
                                  Query(description="city whose UTM zone to use")] = None,
                  p: Principal = Depends(require("review")), svc: Services = Depends(services)):
    from qauipsiz.cpted import review as rv
    from qauipsiz.cpted.norms import find_city_norms
    from qauipsiz.maps.review_report import render_review_html

    raw = file.file.read(MAX_DESIGN_BYTES + 1)
    if len(raw) > MAX_DESIGN_BYTES:
        raise ApiError(413, f"design larger than {MAX_DESIGN_BYTES // 2**20} MiB", slug="payload-too-large")
    try:
        gj = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ApiError(400, f"design {file.filename!r}: not valid UTF-8 GeoJSON ({e})", slug="invalid-design") from e
    except RecursionError as e:
        raise ApiError(400, f"design {file.filename!r}: JSON nested too deeply", slug="invalid-design") from e
    if not isinstance(gj, dict):
        raise ApiError(400, "design: expected a GeoJSON FeatureCollection object", slug="invalid-design")
    gj.setdefault("name", (file.filename or "design").rsplit(".", 1)[0])
    with client_input():
        try:
            result = rv.review(gj, city=city, norms=find_city_norms(svc.settings.data_dir, city))
        except (KeyError, TypeError, AttributeError) as e:  # malformed feature members
            raise ApiError(400, f"design: malformed GeoJSON ({type(e).__name__}: {e})", slug="invalid-design") from e
    if format == "html":
        return HTMLResponse(render_review_html(result, lang=lang))
    return Response(rv.to_json(result, indent=None), media_type="application/json")
