"""One router per resource; :data:`ROUTERS` is what :func:`api.app.create_app` mounts under ``/api/v1``."""
from __future__ import annotations

from qauipsiz.api.routers import (
    admin,
    beats,
    cases,
    cities,
    cpted,
    exports,
    health,
    hotspots,
    incidents,
    layers,
    patrol,
    public,
    recommendations,
    review,
)

ROUTERS = [health.router, cities.router, layers.router, incidents.router, hotspots.router, cpted.router,
           review.router, recommendations.router, patrol.router, public.router, admin.router,
           exports.router, cases.router, beats.router]
