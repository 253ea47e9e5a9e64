"""The one settings object: environment variables ``QAUIPSIZ_*`` and ``DATABASE_URL``.

Nothing else in the package reads or writes ``os.environ``: :func:`get_settings` reads it and
:func:`publish` writes it (for the worker processes ``qauipsiz serve --workers N`` starts, which
rebuild their settings from the environment they inherit).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    """Runtime settings, read from the environment by :func:`get_settings`.

    Attributes
    ----------
    data_dir : Path
        Where the embedded store, caches and uploads live (``QAUIPSIZ_DATA_DIR``, default ``./var``).
    database_url : str
        Any SQLAlchemy URL (``DATABASE_URL``); default ``sqlite:///<data_dir>/qauipsiz.db``.
        ``postgresql+psycopg2://...`` selects the PostGIS store.
    demo_dir : Path
        The demo city's folder (``QAUIPSIZ_DEMO_DIR``, default ``data/demo/astana``).
    city : str
        Default city key (``QAUIPSIZ_CITY``, default ``astana``).
    tile_url : str
        Optional XYZ basemap URL for the dashboard (``QAUIPSIZ_TILE_URL``); empty means our own basemap.
    cors_origins : tuple[str, ...]
        Allowed CORS origins, comma-separated (``QAUIPSIZ_CORS_ORIGINS``); empty means CORS off.
    max_upload_mb : float
        Request body limit in MiB (``QAUIPSIZ_MAX_UPLOAD_MB``, default 50).
    request_timeout_s : float
        Per-request time limit in seconds (``QAUIPSIZ_REQUEST_TIMEOUT_S``, default 60).
    min_public_count : int
        Counts below this are suppressed in public outputs (``QAUIPSIZ_MIN_PUBLIC_COUNT``, default 5).
    public_round : int
        Public counts that are shown are rounded to the nearest multiple of this
        (``QAUIPSIZ_PUBLIC_ROUND``, default 5; 1 shows exact counts), so that differencing two
        public queries cannot recover a suppressed count.
    warm : bool
        Precompute the default surfaces in a background thread when the service starts
        (``QAUIPSIZ_WARM=1``; default off; ``qauipsiz serve`` turns it on unless ``--no-warm``).
    debug : bool
        Show tracebacks instead of one ``error:`` line in the CLI (``QAUIPSIZ_DEBUG``, any
        non-empty value; default off).
    job_workers : int
        Processes (or threads) per server process that compute patrol plans, route cards and site
        recommendations off the request workers (``QAUIPSIZ_JOB_WORKERS``, default 1; see
        ``api/jobs.py``).
    job_pool : str
        ``process`` (default) or ``thread`` (``QAUIPSIZ_JOB_POOL``): what that pool is made of.
    header_timeout_s : float
        Seconds a connection of ``qauipsiz serve`` may take to send a complete request header
        block before it is closed (``QAUIPSIZ_HEADER_TIMEOUT_S``, default 10; 0 disables; see
        ``api/serving.py``).
    analytic_dir : Path or None
        An analytic store (``qauipsiz export parquet`` / ``qauipsiz national demo``;
        ``QAUIPSIZ_ANALYTIC_DIR``, default none): the service computes hotspot tables of the cities
        it holds from it (compact in-memory columns, ``hotspot.national.columns``).
    """

    data_dir: Path
    database_url: str
    demo_dir: Path
    city: str = "astana"
    tile_url: str = ""
    cors_origins: tuple[str, ...] = field(default_factory=tuple)
    max_upload_mb: float = 50.0
    request_timeout_s: float = 60.0
    min_public_count: int = 5
    public_round: int = 5
    warm: bool = False
    debug: bool = False
    job_workers: int = 1
    job_pool: str = "process"
    header_timeout_s: float = 10.0
    analytic_dir: Path | None = None


def get_settings() -> Settings:
    """Read :class:`Settings` from the environment now (no caching, so tests can change it)."""
    data_dir = Path(_env("QAUIPSIZ_DATA_DIR", "var")).resolve()
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'qauipsiz.db'}"
    cors = tuple(o.strip() for o in _env("QAUIPSIZ_CORS_ORIGINS", "").split(",") if o.strip())
    return Settings(
        data_dir=data_dir,
        database_url=url,
        demo_dir=Path(_env("QAUIPSIZ_DEMO_DIR", "data/demo/astana")).resolve(),
        city=_env("QAUIPSIZ_CITY", "astana"),
        tile_url=_env("QAUIPSIZ_TILE_URL", ""),
        cors_origins=cors,
        max_upload_mb=float(_env("QAUIPSIZ_MAX_UPLOAD_MB", "50")),
        request_timeout_s=float(_env("QAUIPSIZ_REQUEST_TIMEOUT_S", "60")),
        min_public_count=int(_env("QAUIPSIZ_MIN_PUBLIC_COUNT", "5")),
        public_round=max(1, int(_env("QAUIPSIZ_PUBLIC_ROUND", "5"))),
        warm=_env("QAUIPSIZ_WARM", "0") == "1",
        debug=bool(_env("QAUIPSIZ_DEBUG", "")),
        job_workers=max(1, int(_env("QAUIPSIZ_JOB_WORKERS", "1"))),
        job_pool=_env("QAUIPSIZ_JOB_POOL", "process"),
        header_timeout_s=float(_env("QAUIPSIZ_HEADER_TIMEOUT_S", "10")),
        analytic_dir=Path(_env("QAUIPSIZ_ANALYTIC_DIR", "")).resolve() if _env("QAUIPSIZ_ANALYTIC_DIR", "") else None,
    )


def apply(settings: Settings) -> Settings:
    """Point the libraries at the user's data: the city registry reads ``<data_dir>/cities``, and
    ``<analytic_dir>/cities`` (the analytic store's regional centres, read-only) after it.

    Called by every entry point (the CLI before each command, :func:`api.app.create_app`).
    Returns ``settings`` unchanged.
    """
    from qauipsiz.hotspot.cities import set_extra_dirs, set_user_dir

    set_user_dir(settings.data_dir / "cities")
    set_extra_dirs([settings.analytic_dir / "cities"] if settings.analytic_dir is not None else [])
    return settings


def to_env(settings: Settings) -> dict[str, str]:
    """The environment variables that make :func:`get_settings` return ``settings`` again.

    Parameters
    ----------
    settings : Settings

    Returns
    -------
    dict of str to str
        Variable name to value (paths absolute, CORS origins comma-separated, flags ``"1"``/``"0"``
        or empty).
    """
    return {
        "QAUIPSIZ_DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": settings.database_url,
        "QAUIPSIZ_DEMO_DIR": str(settings.demo_dir),
        "QAUIPSIZ_CITY": settings.city,
        "QAUIPSIZ_TILE_URL": settings.tile_url,
        "QAUIPSIZ_CORS_ORIGINS": ",".join(settings.cors_origins),
        "QAUIPSIZ_MAX_UPLOAD_MB": repr(settings.max_upload_mb),
        "QAUIPSIZ_REQUEST_TIMEOUT_S": repr(settings.request_timeout_s),
        "QAUIPSIZ_MIN_PUBLIC_COUNT": str(settings.min_public_count),
        "QAUIPSIZ_PUBLIC_ROUND": str(settings.public_round),
        "QAUIPSIZ_WARM": "1" if settings.warm else "0",
        "QAUIPSIZ_DEBUG": "1" if settings.debug else "",
        "QAUIPSIZ_JOB_WORKERS": str(settings.job_workers),
        "QAUIPSIZ_JOB_POOL": settings.job_pool,
        "QAUIPSIZ_HEADER_TIMEOUT_S": repr(settings.header_timeout_s),
        "QAUIPSIZ_ANALYTIC_DIR": str(settings.analytic_dir) if settings.analytic_dir else "",
    }


def publish(settings: Settings) -> None:
    """Write ``settings`` into this process's environment, for child processes to inherit.

    ``qauipsiz serve --workers N`` calls this before uvicorn starts its workers: each worker
    builds its app with ``create_app()``, whose :func:`get_settings` then sees the same values
    (including a ``--city`` or ``--no-warm`` given on the command line).

    Parameters
    ----------
    settings : Settings
    """
    os.environ.update(to_env(settings))
