"""One error schema for the whole service: RFC 9457 ``application/problem+json``.

Every error the service returns — validation errors, 401/403/404/405/413/504 and unhandled
exceptions (500) — has the body::

    {"type": "https://qauipsiz.kz/problems/<slug>", "title": "...", "status": 404,
     "detail": "...", "instance": "/api/v1/...", "errors": [...]}   # errors: validation only
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM = "application/problem+json"
TYPE_BASE = "https://qauipsiz.kz/problems/"
log = logging.getLogger("qauipsiz.api")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(description="URI naming the problem type")
    title: str = Field(description="short summary of the problem type")
    status: int = Field(description="HTTP status code")
    detail: str | None = Field(default=None, description="what went wrong in this request")
    instance: str | None = Field(default=None, description="the request path")
    errors: list[dict] | None = Field(default=None, description="field errors (validation only)")


PROBLEM_RESPONSES = {
    code: {"model": Problem, "content": {PROBLEM: {}}, "description": HTTPStatus(code).phrase}
    for code in (400, 401, 403, 404, 413, 422, 500)
}
"""``responses=`` entry for routers, so the OpenAPI schema documents the error bodies."""


class ApiError(Exception):
    """Raise anywhere in a handler to answer with a problem document.

    Parameters
    ----------
    status : int
        HTTP status.
    detail : str
        Human-readable explanation for this request.
    slug : str, optional
        Problem type slug (default from the status phrase, e.g. ``not-found``).
    headers : dict, optional
        Extra response headers (e.g. ``WWW-Authenticate``).
    """

    def __init__(self, status: int, detail: str, *, slug: str | None = None, headers: dict | None = None,
                 errors: list[dict] | None = None):
        super().__init__(detail)
        self.status = int(status)
        self.detail = detail
        self.slug = slug
        self.headers = headers
        self.errors = errors


@contextmanager
def client_input():
    """Turn a library ``ValueError`` (bad input, named by the library) into a 400 problem."""
    try:
        yield
    except ValueError as e:
        raise ApiError(400, str(e), slug="bad-request") from e


def _slug(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")
    except ValueError:
        return "error"


def problem_response(status: int, detail: str | None = None, *, instance: str | None = None,
                     slug: str | None = None, errors: list[dict] | None = None,
                     headers: dict | None = None) -> JSONResponse:
    """Build a ``application/problem+json`` response."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body = {"type": TYPE_BASE + (slug or _slug(status)), "title": title, "status": status,
            "detail": detail, "instance": instance}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _jsonable_errors(errs) -> list[dict]:
    out = []
    for e in errs:
        out.append({"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", "")),
                    "type": str(e.get("type", ""))})
    return out


def install(app: FastAPI) -> None:
    """Register the exception handlers that turn every error into a problem document."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return problem_response(exc.status, exc.detail, instance=request.url.path, slug=exc.slug,
                                errors=exc.errors, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no resource at {request.url.path}"
        elif exc.status_code == 405:
            detail = f"method {request.method} is not allowed on {request.url.path}"
        return problem_response(exc.status_code, detail, instance=request.url.path,
                                headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errs = _jsonable_errors(exc.errors())
        first = errs[0] if errs else {"loc": [], "msg": "invalid request"}
        return problem_response(422, f"invalid request: {'.'.join(first['loc'])}: {first['msg']}",
                                instance=request.url.path, slug="validation-error", errors=errs)

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "internal error; the incident was logged", instance=request.url.path)
