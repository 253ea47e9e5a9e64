"""``qauipsiz national …``: national scale (issue 19) — every city of a national dataset.

The sub-commands register themselves on :data:`national_app` (``national run`` in
:mod:`api.cli.national_run`).
"""
from __future__ import annotations

import typer

from qauipsiz.api.cli._app import app

national_app = typer.Typer(
    name="national",
    help="National scale: every city's incidents in a partitioned GeoParquet dataset, the nightly Dask job.",
    no_args_is_help=True,
)
app.add_typer(national_app, name="national")
