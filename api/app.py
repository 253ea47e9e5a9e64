"""The FastAPI service: ``api.app.create_app()`` builds it; ``qauipsiz serve`` runs it.

Everything is versioned under ``/api/v1``; the OpenAPI schema is at ``/api/v1/openapi.json`` and
the interactive docs at ``/api/v1/docs``.  The dashboard is served at ``/`` from ``api/static``.
"""
from __future__ import annotations

import asyncio
import json
import threading
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from qauipsiz import __version__
from qauipsiz.api import errors
from qauipsiz.api.auth import _KeyCache
from qauipsiz.api.routers._deps import Services
from qauipsiz.api.settings import Settings, apply, get_settings
from qauipsiz.maps.static import VENDOR as LEAFLET_DIR

API = "/api/v1"
STATIC = Path(__file__).resolve().parent / "static"

TAGS = [
    {"name": "health", "description": "liveness and readiness"},
    {"name": "cities", "description": "the city registry, districts and our own basemap"},
    {"name": "incidents", "description": "incident upload and query (restricted, audited)"},
    {"name": "hotspots", "description": "KDE and Gi* surfaces: GeoJSON hexagons, GeoTIFF, heat tiles"},
    {"name": "cpted", "description": "CPTED block scores and the fix-first list"},
    {"name": "review", "description": "design review against crime-prevention norms"},
    {"name": "recommendations", "description": "camera, SOS-button and post sites"},
    {"name": "patrol", "description": "patrol plans (restricted, audited)"},
    {"name": "public", "description": "de-identified district and coarse-cell indicators"},
    {"name": "admin", "description": "API keys and the audit log"},
    {"name": "exports", "description": "every dashboard layer as GeoJSON, GeoPackage, CSV or XLSX"},
    {"name": "jobs", "description": "status and result of expensive requests made with ?async=true"},
]


class BodyLimitMiddleware:
    """Reject request bodies over ``max_bytes`` with 413 (by ``Content-Length`` and while streaming)."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, int(max_bytes)

    async def __call__(self, scope, receive, send):
        """ASGI entry: refuse (413) a body larger than ``max_bytes``, by header or as it streams."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for k, v in scope.get("headers", ()):
            if k == b"content-length":
                try:
                    n = int(v)
                except ValueError:
                    n = 0
                if n > self.max_bytes:
                    return await self._reject(scope, send)
        seen = 0
        started = exceeded = False

        async def limited_receive():
            nonlocal seen, exceeded
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    raise _TooLarge()
            return msg

        async def tracking_send(msg):
            nonlocal started
            if exceeded:
                # a chunked body went over the limit inside the app's body parsing, which answers
                # with its own 400: the caller gets the 413 instead
                if msg["type"] == "http.response.start" and not started:
                    started = True
                    await self._reject(scope, send)
                return
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(scope, send)

    async def _reject(self, scope, send):
        resp = errors.problem_response(
            413, f"request body is larger than the limit of {self.max_bytes / 2**20:g} MiB "
                 "(QAUIPSIZ_MAX_UPLOAD_MB)", instance=scope.get("path"), slug="payload-too-large")
        await resp(scope, _noop_receive, send)


class _TooLarge(Exception):
    pass


async def _noop_receive():
    return {"type": "http.disconnect"}


class TimeoutMiddleware:
    """Answer 504 when no response has started within ``timeout_s`` seconds."""

    def __init__(self, app, timeout_s: float):
        self.app, self.timeout_s = app, float(timeout_s)

    async def __call__(self, scope, receive, send):
        """ASGI entry: answer 504 unless the response starts within ``timeout_s``."""
        if scope["type"] != "http" or self.timeout_s <= 0:
            return await self.app(scope, receive, send)
        started = asyncio.Event()

        async def tracking_send(msg):
            if msg["type"] == "http.response.start":
                started.set()
            await send(msg)

        task = asyncio.ensure_future(self.app(scope, receive, tracking_send))
        done, _ = await asyncio.wait({task}, timeout=self.timeout_s)
        if task in done:
            return task.result()
        if started.is_set():  # streaming already: let it finish
            return await task
        task.cancel()
        resp = errors.problem_response(
            504, f"the request took longer than {self.timeout_s:g} s (QAUIPSIZ_REQUEST_TIMEOUT_S)",
            instance=scope.get("path"), slug="timeout")
        await resp(scope, _noop_receive, send)


def _dashboard_html(settings: Settings) -> str:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    cfg = {"api": API, "city": settings.city, "tileUrl": settings.tile_url or ""}
    return html.replace("/*__QAUIPSIZ_CONFIG__*/", "window.QAUIPSIZ_CONFIG = " + json.dumps(cfg) + ";")


def create_app(settings: Settings | None = None, *, store=None) -> FastAPI:
    """Build the service.

    Parameters
    ----------
    settings : Settings, optional
        Defaults to :func:`api.settings.get_settings` (the environment).
    store : api.store.Store, optional
        Use this store instead of opening the one the settings name (tests).

    Returns
    -------
    fastapi.FastAPI
    """
    from qauipsiz.api.routers import ROUTERS

    settings = apply(settings or get_settings())

    @asynccontextmanager
    async def lifespan(app_: FastAPI):
        from threadpoolctl import threadpool_limits

        # requests already run in parallel threads; a threaded BLAS dot per request leaves its
        # workers spinning ~0.1 s on the other core (measured: twice the request's own CPU)
        threadpool_limits(1, user_api="blas")
        if settings.warm:
            from qauipsiz.api.routers._engine import warm

            threading.Thread(target=warm, args=(app_.state.services, settings.city), daemon=True,
                             name="qauipsiz-warm").start()
        yield
        app_.state.jobs.shutdown()

    app = FastAPI(
        lifespan=lifespan,
        title="qauipsiz",
        version=__version__,
        summary="Crime hotspots, CPTED and siting for Kazakhstan's cities (Қауіпсіз — safe).",
        description=("Recorded incidents under-count real crime; every number here is about *recorded* "
                     "incidents. Errors are `application/problem+json` (RFC 9457). Authenticate with "
                     "`X-API-Key` or `Authorization: Bearer <key>`; without a key you are the public role."),
        openapi_url=f"{API}/openapi.json",
        docs_url=None,
        redoc_url=None,
        openapi_tags=TAGS,
    )
    app.state.settings = settings
    app.state.services = Services(settings, store)
    app.state.key_cache = _KeyCache()
    from qauipsiz.api.jobs import JobManager
    from qauipsiz.api.memory import limit_malloc_arenas
    from qauipsiz.api.routers import jobs as jobs_router

    limit_malloc_arenas(2)  # one glibc arena per request thread only fragments the heap (docs/service.md)
    app.state.jobs = JobManager(settings, app.state.services)  # expensive routes off the request workers
    app.include_router(jobs_router.router, prefix=API, responses=errors.PROBLEM_RESPONSES)
    errors.install(app)
    for r in ROUTERS:
        app.include_router(r, prefix=API, responses=errors.PROBLEM_RESPONSES)
    app.include_router(__import__("qauipsiz.api.routers.forecast", fromlist=["router"]).router, prefix=API, responses=errors.PROBLEM_RESPONSES)
    app.include_router(__import__("qauipsiz.api.routers.spacetime", fromlist=["router"]).router, prefix=API, responses=errors.PROBLEM_RESPONSES)
    app.include_router(__import__("qauipsiz.api.routers.evaluations", fromlist=["router"]).router, prefix=API,
                       responses=errors.PROBLEM_RESPONSES)  # intervention evaluation (issue 18)
    for _name in ("charts", "compare", "search"):  # the analyst's tools (issue 17 item 11)
        app.include_router(__import__(f"qauipsiz.api.routers.{_name}", fromlist=["router"]).router, prefix=API,
                           responses=errors.PROBLEM_RESPONSES)

    def openapi_with_cities() -> dict:
        """The schema, with the registry's cities at the time of the call as the enum of every
        ``{city}`` path parameter (the routers check it per request, so a city added later counts)."""
        from qauipsiz.hotspot.cities import list_cities

        keys = list(list_cities())
        if app.openapi_schema is None or getattr(app.state, "openapi_cities", None) != keys:
            app.openapi_schema = None
            schema = FastAPI.openapi(app)
            for item in schema.get("paths", {}).values():
                for op in item.values():
                    for p in op.get("parameters", []) if isinstance(op, dict) else []:
                        if p.get("in") == "path" and p.get("name") == "city":
                            p["schema"]["enum"] = keys
            app.state.openapi_cities = keys
        return app.openapi_schema

    app.openapi = openapi_with_cities  # type: ignore[method-assign]

    # one vendored Leaflet for the dashboard and the static maps (maps/vendor/leaflet)
    app.mount("/static/vendor/leaflet", StaticFiles(directory=LEAFLET_DIR), name="leaflet")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    page = _dashboard_html(settings)

    @app.get("/", include_in_schema=False, response_class=HTMLResponse)
    def dashboard() -> HTMLResponse:
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    @app.get(f"{API}/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        from fastapi.openapi.docs import get_swagger_ui_html

        return get_swagger_ui_html(openapi_url=f"{API}/openapi.json", title="qauipsiz API",
                                   swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
                                   swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
                                   swagger_favicon_url="/static/favicon.svg")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    app.add_middleware(TimeoutMiddleware, timeout_s=settings.request_timeout_s)
    app.add_middleware(BodyLimitMiddleware, max_bytes=int(settings.max_upload_mb * 2**20))
    from qauipsiz.api.cache import ResponseCacheMiddleware

    app.add_middleware(ResponseCacheMiddleware, services=app.state.services, key_cache=app.state.key_cache)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST", "PATCH", "DELETE"],
                           allow_headers=["X-API-Key", "Authorization", "Content-Type"])
    return app
