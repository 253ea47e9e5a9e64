"""``qauipsiz serve``: run the service and dashboard (making sure the demo city is in the store)."""
from __future__ import annotations

import sys
from pathlib import Path

import typer

from qauipsiz.api.cli._app import app
from qauipsiz.api.cli._inputs import ensure_city_data


@app.command("serve")
def serve_cmd(
    city: str = typer.Option(None, "--city", help="Default city of the dashboard (QAUIPSIZ_CITY)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    demo: Path = typer.Option(None, "--demo", help="Demo city folder to ingest when the store is empty "
                                                   "(default QAUIPSIZ_DEMO_DIR)."),
    ingest: bool = typer.Option(True, "--ingest/--no-ingest", help="Ingest the demo city if the store is empty."),
    warm_cache: bool = typer.Option(True, "--warm/--no-warm", help="Precompute the default surfaces in the background."),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
    workers: int = typer.Option(1, "--workers", min=1, max=32,
                                help="Server processes (each keeps and warms its own cache)."),
) -> None:
    """Serve the API (/api/v1, docs at /api/v1/docs) and the web dashboard (/)."""
    import dataclasses

    import uvicorn

    from qauipsiz.api.app import create_app
    from qauipsiz.api.settings import get_settings, publish

    s = dataclasses.replace(get_settings(), warm=warm_cache)  # each server process warms its own cache
    if city:
        s = dataclasses.replace(s, city=city)
    from qauipsiz.hotspot.cities import list_cities

    if s.city not in list_cities():
        raise typer.BadParameter(f"unknown city {s.city!r}; known: {', '.join(list_cities())}", param_hint="--city")
    from qauipsiz.api.store import Store

    store = Store(s.database_url)
    if ingest:
        ensure_city_data(store, s.city, demo or s.demo_dir, echo=lambda m: typer.echo(m, err=True))
    store.close()
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    typer.echo(f"qauipsiz: serving {s.city} at http://{shown}:{port}/  (API docs: http://{shown}:{port}/api/v1/docs)")
    sys.stdout.flush()
    # idle keep-alive connections close after 5 s, one header block may not exceed 64 KiB, and past
    # 256 open connections new ones get 503 (uvicorn has no header-read timeout: behind a public
    # network run it behind a proxy that has one, e.g. nginx client_header_timeout)
    limits = {"timeout_keep_alive": 5, "h11_max_incomplete_event_size": 64 * 1024, "limit_concurrency": 256,
              "log_level": log_level, "access_log": False}
    if workers > 1:
        publish(s)  # the workers rebuild these settings from the environment they inherit
        uvicorn.run("qauipsiz.api.app:create_app", factory=True, host=host, port=port, workers=workers, **limits)
    else:
        uvicorn.run(create_app(s), host=host, port=port, **limits)
