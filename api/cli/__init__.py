"""Command-line interface: ``qauipsiz --help`` lists every command.

Each command lives in its own module and registers itself on :data:`api.cli._app.app`. The modules
are imported lazily (:mod:`qauipsiz.api.cli._lazy`): ``qauipsiz forecast`` imports only
``api/cli/forecast.py``, and ``qauipsiz --help`` imports none, so a command no longer pays for
every other command's imports. ``from qauipsiz.api.cli import app`` still gives the app with every
command module imported, as before.
"""
from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    """``app``: the Typer app with every command module imported (what this package used to export)."""
    if name == "app":
        from qauipsiz.api.cli._app import app
        from qauipsiz.api.cli._lazy import load_all

        load_all()
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console-script entry point.

    Bad input raised by the libraries (``ValueError``, a missing file) is printed as one
    ``error:`` line with exit code 2 instead of a traceback; ``QAUIPSIZ_DEBUG=1`` shows the
    traceback.
    """
    import sys

    from qauipsiz.api.cli._app import app
    from qauipsiz.api.settings import get_settings

    try:
        app()
    except (ValueError, FileNotFoundError) as e:
        if get_settings().debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
