"""``qauipsiz pipeline``: the main analysis job (what ``make run`` runs before serving)."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from qauipsiz.api.cli._app import app


@app.command("pipeline")
def pipeline_cmd(
    city: str = typer.Option("astana", "--city", help="City registry key."),
    demo: Path = typer.Option(None, "--demo", help="A demo city folder (made by `qauipsiz demo`)."),
    export: Path = typer.Option(None, "--export", help="An incident export to ingest (instead of --demo)."),
    layers: Path = typer.Option(None, "--layers", help="Folder of city layers (with --export)."),
    out: Path = typer.Option(Path("out"), "--out", help="Output folder."),
    res: int = typer.Option(9, "--res", help="H3 resolution of the hotspot table (7–11)."),
    cameras: int = typer.Option(50, "--cameras", help="Camera budget."),
    sos: int = typer.Option(20, "--sos", help="SOS-button budget."),
    posts: int = typer.Option(10, "--posts", help="Police-post budget."),
    shift: str = typer.Option(None, "--shift", help='Patrol shift "YYYY-MM-DD HH:MM/HH:MM" (local time).'),
    units: int = typer.Option(4, "--units", help="Patrol units."),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as JSON."),
    lang: str = typer.Option("ru", "--lang", help="Language of the route cards and fix-first list: kk, ru or en."),
) -> None:
    """Ingest incidents and layers, then write hotspots, density, CPTED scores, a fix-first list,
    camera/SOS/post recommendations and patrol route cards into OUT."""
    from qauipsiz.api.pipeline import run_demo, run_pipeline

    if lang not in ("kk", "ru", "en"):
        raise typer.BadParameter(f"{lang!r}: use kk, ru or en", param_hint="--lang")
    kw = dict(res=res, cameras=cameras, sos=sos, posts=posts, shift=shift, units=units, progress=not as_json,
              lang=lang)
    if demo is not None:
        summary = run_demo(demo, out, **kw)
    elif export is not None and layers is not None:
        summary = run_pipeline(city, export, layers, out, source=export.stem.lower(), **kw)
    else:
        raise typer.BadParameter("give --demo DIR, or --export FILE with --layers DIR")
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=1, default=str))
    else:
        typer.echo(f"\noutputs written to {out}/ (summary: {out}/run.json)")
