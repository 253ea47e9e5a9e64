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
    header_timeout: float = typer.Option(None, "--header-timeout", min=0.0,
                                         help="Seconds a connection may take to send a complete request header "
                                              "block before it is closed; 0 disables (QAUIPSIZ_HEADER_TIMEOUT_S, "
                                              "default 10)."),
    keep_alive: float = typer.Option(5.0, "--keep-alive", min=0.1,
                                     help="Seconds an idle keep-alive connection stays open."),
    job_workers: int = typer.Option(None, "--job-workers", min=1, max=32,
                                    help="Pool processes per server process for patrol plans and recommendations "
                                         "(QAUIPSIZ_JOB_WORKERS, default 1)."),
) -> None:
    """Serve the API (/api/v1, docs at /api/v1/docs) and the web dashboard (/)."""
    import dataclasses

    import uvicorn

    from qauipsiz.api.app import create_app
    from qauipsiz.api.settings import get_settings, publish

    s = dataclasses.replace(get_settings(), warm=warm_cache)  # each server process warms its own cache
    if city:
        s = dataclasses.replace(s, city=city)
    if header_timeout is not None:
        s = dataclasses.replace(s, header_timeout_s=header_timeout)
    if job_workers is not None:
        s = dataclasses.replace(s, job_workers=job_workers)
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
    # a request's header block must be complete within --header-timeout s of the connection opening
    # (or of the previous response; uvicorn itself has no header-read timeout: api/serving.py adds
    # it), idle keep-alive connections close after --keep-alive s, one header block may not exceed
    # 64 KiB (h11), and past 256 open connections new ones get 503
    from qauipsiz.api.serving import http_protocol, set_header_timeout

    limits = {"timeout_keep_alive": keep_alive, "h11_max_incomplete_event_size": 64 * 1024,
              "limit_concurrency": 256, "log_level": log_level, "access_log": False, "http": http_protocol()}
    if workers > 1:
        publish(s)  # the workers rebuild these settings from the environment they inherit
        uvicorn.run("qauipsiz.api.serving:worker_app", factory=True, host=host, port=port, workers=workers, **limits)
    else:
        set_header_timeout(s.header_timeout_s)
        uvicorn.run(create_app(s), host=host, port=port, **limits)
