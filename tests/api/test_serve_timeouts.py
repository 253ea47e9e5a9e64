"""`qauipsiz serve` closes connections that send their headers too slowly, stay silent, or idle after a
response (a real server subprocess and raw sockets; no time thresholds are asserted, only that the
server closed the connection while the client was still trickling)."""
from __future__ import annotations

import select
import socket
import time

import pytest

from tests._serve import running_serve


@pytest.fixture(scope="module")
def server(api_env):
    from qauipsiz.api.settings import to_env

    with running_serve(to_env(api_env["settings"]), "--header-timeout", "1", "--keep-alive", "1") as port:
        yield ("127.0.0.1", port)


def _closed(sock: socket.socket) -> bytes | None:
    """What the server sent if it closed the connection (b'' for nothing), else None (still open)."""
    r, _, _ = select.select([sock], [], [], 0)
    if not r:
        return None
    try:
        data = sock.recv(65536)
    except ConnectionResetError:
        return b""
    return data if data == b"" else data + (_drain(sock) or b"")


def _drain(sock: socket.socket) -> bytes:
    sock.settimeout(30)
    out = b""
    while chunk := sock.recv(65536):
        out += chunk
    return out


def test_slow_header_block_is_closed(server):
    total = 2000  # one byte per 50 ms: 100 s if the server never gave up
    with socket.create_connection(server, timeout=30) as s:
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        sent, got = 0, None
        while sent < total:
            got = _closed(s)
            if got is not None:
                break
            try:
                s.sendall(b"a")
            except (BrokenPipeError, ConnectionResetError):
                got = b""
                break
            sent += 1
            time.sleep(0.05)
        assert got is not None, "the server kept reading a header block that never ended"
        assert sent < total and b"200 OK" not in got


def test_silent_connection_is_closed(server):
    with socket.create_connection(server, timeout=60) as s:
        assert _drain(s) == b""  # closed by the server, nothing sent; a timeout here fails the test


def test_idle_keep_alive_is_closed_and_service_answers(server):
    with socket.create_connection(server, timeout=60) as s:
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = s.recv(65536)
            assert chunk, data
            data += chunk
        assert data.startswith(b"HTTP/1.1 200")
        assert _drain(s) == b""  # then the idle keep-alive connection is closed
    # the header deadline does not cut a normal request short
    with socket.create_connection(server, timeout=60) as s:
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert _drain(s).startswith(b"HTTP/1.1 200")
