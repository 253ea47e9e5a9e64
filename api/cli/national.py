"""``qauipsiz national …``: national scale (issue 19) — every city of a national dataset.

The sub-commands register themselves on :data:`national_app` (``national run`` in
:mod:`api.cli.national_run`).
"""
from __future__ import annotations

import json
from pathlib import Path

import typer

from qauipsiz.api.cli._app import app

national_app = typer.Typer(
    name="national",
    help="National scale: every city's incidents in a partitioned GeoParquet dataset, the nightly Dask job.",
    no_args_is_help=True,
)
app.add_typer(national_app, name="national")


@national_app.command("demo")
def national_demo_cmd(
    out: Path = typer.Option(..., "--out", help="Output folder (dataset root)."),
    events: int = typer.Option(1_000_000, "--events", min=1, help="Distinct incidents in total (duplicates come on top)."),
    seed: int = typer.Option(20240301, "--seed", help="Random seed (same seed, same data)."),
    start: str = typer.Option("2021-01-01", "--start", help="First local date (ISO)."),
    years: float = typer.Option(5.0, "--years", min=0.1, help="Length of the period in years."),
    cities: list[str] = typer.Option(None, "--city", help="Only this national city (repeatable); default all."),
    as_json: bool = typer.Option(False, "--json", help="Print the dataset manifest as JSON."),
) -> None:
    """Write a SYNTHETIC national dataset: every city (shipped + regional centres) ∝ population, as
    GeoParquet partitioned by city and month.  Синтетические данные / Синтетикалық деректер."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from qauipsiz.hotspot.national.generate import generate

    with Progress(TextColumn("[bold]national demo[/] {task.description}"), BarColumn(),
                  TextColumn("{task.completed:,}/{task.total:,}"), TimeElapsedColumn(),
                  disable=as_json, transient=True) as bar:
        task = bar.add_task("", total=events)

        def progress(city: str, done: int, total: int) -> None:
            bar.update(task, completed=done, description=city)

        meta = generate(out, events, seed=seed, start=start, years=years, cities=cities or None, progress=progress)
    rows = sum(meta["counts"].values())
    if as_json:
        typer.echo(json.dumps(meta, ensure_ascii=False, indent=1, default=str))
        return
    typer.echo(f"SYNTHETIC national dataset written to {out}: {len(meta['cities'])} cities, {events:,} events "
               f"+ {rows - events:,} duplicates")
    typer.echo(f"national demo: {rows:,} rows in {meta['seconds']:.1f} s wall ({meta['rows_per_s']:,.0f} rows/s)")
