"""A real ``qauipsiz serve`` subprocess for the tests that need one, and a free local port."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_serve(env: dict, *args: str):
    """``qauipsiz serve --city astana --no-ingest --no-warm ARGS`` on a free port with ``env`` added to
    the environment; yields the port once ``/api/v1/health`` answers 200, and stops the server after."""
    port = free_port()
    p = subprocess.Popen([sys.executable, "-c", "from qauipsiz.api.cli import main; main()", "serve", "--city",
                          "astana", "--host", "127.0.0.1", "--port", str(port), "--no-ingest", "--no-warm", *args],
                         env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(1200):
            if p.poll() is not None:
                raise AssertionError(f"serve exited: {p.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.25)
        else:
            raise AssertionError("serve did not come up")
        yield port
    finally:
        p.terminate()
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
