"""``qauipsiz export incidents``: incidents to GeoPackage, GeoJSON, CSV (formula-safe) or Parquet."""
from __future__ import annotations

from pathlib import Path

import typer

from qauipsiz.api.cli._app import app

export_app = typer.Typer(help="Export data from the store.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("incidents")
def export_incidents_cmd(
    city: str = typer.Option(..., "--city", help="City key."),
    fmt: str = typer.Option("gpkg", "--format", help="gpkg | geojson | csv | parquet."),
    out: Path = typer.Option(None, "--out", help="Output file (default incidents_<city>.<format>)."),
    start: str = typer.Option(None, "--from", help="Only incidents on/after this date (ISO, UTC)."),
    end: str = typer.Option(None, "--to", help="Only incidents before this date (ISO, UTC)."),
    category: list[str] = typer.Option(None, "--category", help="Taxonomy category key (repeatable)."),
    district: list[str] = typer.Option(None, "--district", help="District key (repeatable)."),
    source: list[str] = typer.Option(None, "--source", help="Source register (repeatable)."),
    located_only: bool = typer.Option(False, "--located-only", help="Skip rows awaiting geocoding."),
    utc: bool = typer.Option(False, "--utc", help="Times in UTC (default: the city's local time)."),
    sep: str = typer.Option(";", "--sep", help="CSV separator."),
) -> None:
    """Export incidents with filters.  CSV cells starting with = + - @ tab CR are neutralised."""
    from qauipsiz.api.store import Store
    from qauipsiz.api.store.export import EXPORT_FORMATS, export_incidents
    from qauipsiz.hotspot.cities import get_city

    fmt = fmt.lower()
    if fmt not in EXPORT_FORMATS:
        typer.echo(f"error: --format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}", err=True)
        raise typer.Exit(2)
    try:
        c = get_city(city)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    store = Store.from_settings()
    df = store.query_incidents(c.key, start=start, end=end, categories=category or None,
                               districts=district or None, sources=source or None, located_only=located_only)
    out = out or Path(f"incidents_{c.key}.{fmt}")
    export_incidents(df, out, fmt, tz=None if utc else c.tz, sep=sep)
    store.audit("export_incidents", resource=str(out), params={"city": c.key, "format": fmt, "rows": len(df),
                                                               "from": start, "to": end})
    typer.echo(f"{len(df)} incidents -> {out}")
