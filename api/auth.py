"""Roles, API-key authentication and the audit trail of restricted reads.

A request carries its key as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``.  No key
means the **public** role; an unknown, revoked, empty or malformed key is a 401 on every route, and
more than one key (two ``X-API-Key`` headers, or a header and a bearer token that differ) is a 400.
The key is parsed and verified once per request (:func:`identify`); authorisation and the
response cache both use that one :class:`Principal`.  Keys are created by an admin
(``POST /api/v1/admin/keys`` or :meth:`api.store.Store.create_api_key`); the store keeps only
their sha256.

Roles and what they may do (``PERMISSIONS``):

============  ==============================================================================
public        health, cities/districts/streets basemap, the public indicators
analyst       + hotspots, heat tiles, city layers, CPTED, recommendations, incident query
              and upload, problem-oriented cases, intervention evaluations (audited)
planner       + hotspots, city layers, CPTED, design review, recommendations (no incidents)
commander     + hotspots, city layers, CPTED, recommendations, incident query, patrol plans,
              problem-oriented cases
inspector     the district inspector (участковый инспектор / учаскелік инспектор): only the beat
              the key is bound to (``qauipsiz keys create inspector --beat BEAT_ID``) — its outline,
              aggregated profile (trend, top places, social-map layers, fix-first CPTED blocks) and
              its incidents inside the beat (audited), and the problem-oriented cases whose place
              touches the beat (``api/routers/cases.py``); 403 on any other beat or case; no
              city-wide incident query or export
admin         everything, and API-key management
============  ==============================================================================

Beats (``beats``: outlines and profiles of any beat) are for analyst, commander and admin; the
inspector's ``beat:own`` is checked against :attr:`Principal.beat` by the beats router.

The analyst's tools (issue 17 item 11): charts of the current filter and the before/after comparison
need ``hotspots`` (aggregated counts); the public role gets the fixed public chart table
(``/public/cities/{city}/charts``, suppressed and rounded); address search and map labels are public
(shipped street and district names only); the incident-point layer is the ``incidents:read`` query.

Restricted reads — incident-level data and patrol plans — are written to the store's audit log
(who, role, action, resource, parameters) before the data is returned.

Background jobs (``?async=true`` on patrol plans, route cards and recommendations; ``/jobs/{id}``,
:mod:`api.jobs`) add no permission: a job is readable only by the key that submitted it (no key:
401, another key: 404), only while its role holds the submitting route's permission, and reading a
patrol plan's result is audited as ``patrol.read`` like the route itself.
"""
from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from qauipsiz.api.errors import ApiError

ROLES = ("public", "analyst", "planner", "commander", "admin", "inspector")

PERMISSIONS: dict[str, frozenset[str]] = {
    "public": frozenset({"public"}),
    "analyst": frozenset({"public", "hotspots", "layers", "cpted", "recommendations", "incidents:read",
                          "incidents:write", "review", "forecast", "cases", "evaluations", "beats"}),
    "planner": frozenset({"public", "hotspots", "layers", "cpted", "recommendations", "review"}),
    "commander": frozenset({"public", "hotspots", "layers", "cpted", "recommendations", "incidents:read",
                            "patrol", "forecast", "cases", "beats"}),
    "admin": frozenset({"public", "hotspots", "layers", "cpted", "recommendations", "incidents:read",
                        "incidents:write", "review", "patrol", "admin", "forecast", "cases", "evaluations",
                        "beats"}),
    "inspector": frozenset({"public", "beat:own"}),
}
"""role -> permissions.  Restricted reads (``incidents:read``, ``patrol``) are audited by their
routers (:func:`audit`)."""

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key of a user")
_bearer = HTTPBearer(auto_error=False, description="the same API key as a bearer token")


@dataclass(frozen=True)
class Principal:
    """Who is calling: role, key id and label (``key_id`` is ``None`` for the public role), and the
    beat an inspector key is bound to."""

    role: str
    key_id: int | None = None
    label: str = ""
    beat: str | None = None

    @property
    def who(self) -> str:
        """The audit log's name of the caller: ``anonymous`` or ``key:<id>:<label>``."""
        return "anonymous" if self.key_id is None else f"key:{self.key_id}:{self.label}"

    def can(self, permission: str) -> bool:
        """Whether this principal's role grants ``permission`` (see ``PERMISSIONS``)."""
        return permission in PERMISSIONS.get(self.role, frozenset())


PUBLIC = Principal("public")


class _KeyCache:
    """Verified keys for a few seconds, so a burst of requests does not hit the store per request.

    Only sha256 digests are held; a revoked key stops working within ``ttl_s`` seconds (and at once
    in this process, since revocation through the API clears the cache).
    """

    def __init__(self, ttl_s: float = 5.0, max_items: int = 1024):
        self.ttl_s, self.max_items = ttl_s, max_items
        self._d: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str):
        with self._lock:
            hit = self._d.get(digest)
        if hit and time.monotonic() - hit[0] < self.ttl_s:
            return hit
        return None

    def put(self, digest: str, p: Principal | None) -> None:
        with self._lock:
            if len(self._d) >= self.max_items:
                self._d.clear()
            self._d[digest] = (time.monotonic(), p)

    def clear(self) -> None:
        with self._lock:
            self._d.clear()


_KEY_RE = re.compile(r"[A-Za-z0-9._~+/=-]{8,256}")
"""What a key can look like (``qk_`` + url-safe base64 today); anything else is malformed (401)."""


def _unauthorized(detail: str) -> ApiError:
    return ApiError(401, detail, slug="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="qauipsiz"'})


def parse_credentials(raw_headers) -> str | None:
    """The one API key a request presents, from its raw ASGI headers; ``None`` when it presents none.

    Every header is looked at, not only the first of a name, so that nothing downstream can read a
    different key than the one authorised: two ``X-API-Key`` headers, two ``Authorization`` headers,
    or an ``X-API-Key`` and a bearer token naming different keys are a 400.  A presented key that is
    empty or not shaped like a key is a 401.  An ``Authorization`` header of another scheme than
    ``Bearer`` is not a key and is ignored.
    """
    xs: list[bytes] = []
    auths: list[bytes] = []
    for k, v in raw_headers or ():
        name = k.lower()
        if name == b"x-api-key":
            xs.append(v)
        elif name == b"authorization":
            auths.append(v)
    if len(xs) > 1:
        raise ApiError(400, f"{len(xs)} X-API-Key headers; send exactly one", slug="duplicate-credentials")
    if len(auths) > 1:
        raise ApiError(400, f"{len(auths)} Authorization headers; send exactly one", slug="duplicate-credentials")
    x = xs[0].decode("latin-1").strip() if xs else None
    bearer = None
    if auths:
        scheme, _, cred = auths[0].decode("latin-1").strip().partition(" ")
        if scheme.lower() == "bearer":
            bearer = cred.strip()
    if x is not None and bearer is not None and x != bearer:
        raise ApiError(400, "X-API-Key and Authorization: Bearer name different keys; send one",
                       slug="duplicate-credentials")
    key = x if x is not None else bearer
    if key is None:
        return None
    if not _KEY_RE.fullmatch(key):
        raise _unauthorized("malformed API key" if key else "empty API key")
    return key


async def identify(scope, key_cache: _KeyCache, services) -> Principal:
    """The request's :class:`Principal`, resolved **once** and kept in ``scope["state"]["principal"]``.

    The response cache (:class:`api.cache.ResponseCacheMiddleware`) calls this before anything else,
    for every request, and the route dependency :func:`principal` reads the same value — so the
    role that authorises a route and the role that keys its cached response are one and the same.
    Raises :class:`ApiError` 400 (ambiguous credentials) or 401 (malformed, unknown or revoked key),
    on every route, public ones included: a client learns its key is bad.
    """
    state = scope.setdefault("state", {})
    p = state.get("principal")
    if isinstance(p, Principal):
        return p
    key = parse_credentials(scope.get("headers"))
    if key is None:
        p = PUBLIC
    else:
        digest = hashlib.sha256(key.encode()).hexdigest()
        hit = key_cache.get(digest)
        if hit is not None:
            p = hit[1]
        else:
            from starlette.concurrency import run_in_threadpool

            k = await run_in_threadpool(services.store().verify_api_key, key)
            p = None if k is None or k.role not in ROLES else Principal(k.role, k.id, k.label,
                                                                        getattr(k, "beat", None))
            key_cache.put(digest, p)
        if p is None:
            raise _unauthorized("unknown or revoked API key")
    state["principal"] = p
    return p


async def principal(
    request: Request,
    api_key: str | None = Depends(_api_key_header),
    bearer: HTTPAuthorizationCredentials | None = Depends(_bearer),
) -> Principal:
    """FastAPI dependency: the caller's :class:`Principal` (public without a key; 401 on a bad key).

    ``api_key``/``bearer`` are declared only so the OpenAPI schema documents both schemes; the
    identity itself comes from :func:`identify` (parsed once per request from all raw headers).
    """
    return await identify(request.scope, request.app.state.key_cache, request.app.state.services)


def require(permission: str):
    """Dependency factory: the caller must hold ``permission`` (401 for the public role, else 403)."""

    async def _dep(p: Principal = Depends(principal)) -> Principal:
        if not p.can(permission):
            if p.role == "public":
                raise ApiError(401, f"this resource needs an API key with the {permission!r} permission",
                               slug="unauthorized", headers={"WWW-Authenticate": 'Bearer realm="qauipsiz"'})
            raise ApiError(403, f"role {p.role!r} lacks the {permission!r} permission", slug="forbidden")
        return p

    _dep.__name__ = f"require_{permission.replace(':', '_')}"
    return _dep


def audit(request: Request, p: Principal, action: str, params: dict | None = None) -> None:
    """Write one restricted read (or any write) to the store's audit log, before answering."""
    request.app.state.services.store().audit(
        action, who=p.who, role=p.role, resource=str(request.url.path), params=params or {})
