"""``qauipsiz demo``: (re)generate the synthetic Astana demo city."""
from __future__ import annotations

from pathlib import Path

import typer

from qauipsiz.api.cli._app import app


@app.command("demo")
def demo_cmd(
    out: Path = typer.Option(Path("data/demo/astana"), "--out", help="Output folder."),
    n: int = typer.Option(60_000, "--n", help="Number of distinct incidents to generate."),
    years: float = typer.Option(2.0, "--years", help="Length of the period in years."),
    seed: int = typer.Option(20240301, "--seed", help="Random seed (same seed, same city)."),
) -> None:
    """Generate the synthetic demo city (incidents export, truth files, city layers) into OUT."""
    from qauipsiz.hotspot.demo import generate

    meta = generate(out, n=n, years=years, seed=seed, progress=True)
    typer.echo(f"demo city written to {out}: {meta['counts']}")
