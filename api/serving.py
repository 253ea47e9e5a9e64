"""HTTP connection limits that uvicorn lacks: a deadline for reading a request's header block.

uvicorn (0.55) bounds an *idle* keep-alive connection (``timeout_keep_alive``) but not a client
that opens a connection and sends its request line and headers slowly (a "slowloris"): neither
its h11 nor its httptools protocol has a header-read timeout, so such a client holds a connection
(and, past ``limit_concurrency``, the whole server) for as long as it likes.

:class:`HeaderTimeoutHttpTools` and :class:`HeaderTimeoutH11` add one: from the moment a
connection opens, and again from the end of each response, the complete header block of the next
request must arrive within :data:`HEADER_TIMEOUT_S` seconds, however it trickles in; otherwise the
connection is closed.  ``qauipsiz serve --header-timeout S`` sets it (``QAUIPSIZ_HEADER_TIMEOUT_S``
in the workers, through :func:`worker_app`).  A slow request *body* is bounded by the service's
request timeout (``QAUIPSIZ_REQUEST_TIMEOUT_S``, 504).
"""
from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT_S = 10.0
"""Seconds a connection may take to deliver a complete request header block."""


class _HeaderDeadline:
    """Mixin: close the connection unless the next header block is complete in time."""

    _hdr_timer: asyncio.TimerHandle | None = None

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        if HEADER_TIMEOUT_S > 0:
            self._hdr_timer = self.loop.call_later(HEADER_TIMEOUT_S, self._header_deadline_passed)

    def _disarm_header_deadline(self) -> None:
        if self._hdr_timer is not None:
            self._hdr_timer.cancel()
            self._hdr_timer = None

    def _header_deadline_passed(self) -> None:
        self._hdr_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport) -> None:
        """Start the header deadline of the connection's first request."""
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc) -> None:
        """Drop the deadline with the connection."""
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        """A response went out: the next request's headers have the same deadline."""
        self._arm_header_deadline()
        super().on_response_complete()


class HeaderTimeoutHttpTools(_HeaderDeadline, HttpToolsProtocol):
    """uvicorn's httptools protocol with a header-read deadline."""

    def on_headers_complete(self) -> None:
        """The header block is complete: the deadline is met."""
        self._disarm_header_deadline()
        super().on_headers_complete()


class HeaderTimeoutH11(_HeaderDeadline, H11Protocol):
    """uvicorn's h11 protocol with a header-read deadline."""

    def handle_events(self) -> None:
        """After h11 has parsed what arrived: a request in progress means its headers are complete."""
        super().handle_events()
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm_header_deadline()


def http_protocol():
    """The protocol class ``qauipsiz serve`` runs: httptools when installed (as uvicorn's ``auto``), else h11."""
    try:
        import httptools  # noqa: F401
    except ImportError:
        return HeaderTimeoutH11
    return HeaderTimeoutHttpTools


def set_header_timeout(seconds: float) -> None:
    """Set :data:`HEADER_TIMEOUT_S` of this process (0 disables the deadline)."""
    global HEADER_TIMEOUT_S
    HEADER_TIMEOUT_S = float(seconds)


def worker_app():
    """App factory of a ``serve --workers N`` worker: the settings from the environment, the header
    deadline from them, then :func:`api.app.create_app`."""
    from qauipsiz.api.app import create_app
    from qauipsiz.api.settings import get_settings

    s = get_settings()
    set_header_timeout(s.header_timeout_s)
    return create_app(s)
