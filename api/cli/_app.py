"""The Typer application every command module registers on."""
from __future__ import annotations

import typer

from qauipsiz.api.cli._lazy import HELP_ONLY, LazyGroup

app = typer.Typer(
    name="qauipsiz",
    help="qauipsiz (Қауіпсіз) — crime hotspots, CPTED and siting for Kazakhstan's cities.",
    no_args_is_help=True,
    add_completion=False,
    cls=LazyGroup,  # command modules are imported when their command runs (api/cli/_lazy.py)
)


@app.callback()
def _configure(ctx: typer.Context) -> None:
    """qauipsiz (Қауіпсіз) — crime hotspots, CPTED and siting for Kazakhstan's cities."""  # noqa: D403 -- the product name is lower-case
    if ctx.meta.get(HELP_ONLY):  # `qauipsiz CMD --help` prints help only; no settings needed
        return
    from qauipsiz.api.settings import apply, get_settings

    apply(get_settings())
