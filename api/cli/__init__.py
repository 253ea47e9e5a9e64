"""Command-line interface: ``qauipsiz --help`` lists every command.

Each command lives in its own module and registers itself on :data:`api.cli._app.app`.
"""
from __future__ import annotations

from qauipsiz.api.cli import case as _case  # noqa: F401
from qauipsiz.api.cli import cities as _cities  # noqa: F401
from qauipsiz.api.cli import cpted as _cpted  # noqa: F401
from qauipsiz.api.cli import demo as _demo  # noqa: F401
from qauipsiz.api.cli import emerging as _emerging  # noqa: F401
from qauipsiz.api.cli import evaluate as _evaluate  # noqa: F401
from qauipsiz.api.cli import export as _export  # noqa: F401
from qauipsiz.api.cli import forecast as _forecast  # noqa: F401
from qauipsiz.api.cli import geocode as _geocode  # noqa: F401
from qauipsiz.api.cli import hotspots as _hotspots  # noqa: F401
from qauipsiz.api.cli import ingest as _ingest  # noqa: F401
from qauipsiz.api.cli import keys as _keys  # noqa: F401
from qauipsiz.api.cli import map as _map  # noqa: F401
from qauipsiz.api.cli import national as _national  # noqa: F401
from qauipsiz.api.cli import national_run as _national_run  # noqa: F401
from qauipsiz.api.cli import nearrepeat as _nearrepeat  # noqa: F401
from qauipsiz.api.cli import osm as _osm  # noqa: F401
from qauipsiz.api.cli import patrol as _patrol  # noqa: F401
from qauipsiz.api.cli import pipeline as _pipeline  # noqa: F401
from qauipsiz.api.cli import quarantine as _quarantine  # noqa: F401
from qauipsiz.api.cli import recommend as _recommend  # noqa: F401
from qauipsiz.api.cli import serve as _serve  # noqa: F401
from qauipsiz.api.cli._app import app


def main() -> None:
    """Console-script entry point.

    Bad input raised by the libraries (``ValueError``, a missing file) is printed as one
    ``error:`` line with exit code 2 instead of a traceback; ``QAUIPSIZ_DEBUG=1`` shows the
    traceback.
    """
    import sys

    from qauipsiz.api.settings import get_settings

    try:
        app()
    except (ValueError, FileNotFoundError) as e:
        if get_settings().debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
