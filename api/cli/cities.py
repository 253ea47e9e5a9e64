"""``qauipsiz cities`` and ``qauipsiz schema``: the registry and the incident schema."""
from __future__ import annotations

import json

import typer

from qauipsiz.api.cli._app import app
from qauipsiz.hotspot.cities import get_city, list_cities
from qauipsiz.hotspot.schema import schema_markdown


@app.command("cities")
def cities_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the registry's cities with their districts, UTM EPSG code and time zone."""
    out = []
    for k in list_cities():
        c = get_city(k)
        out.append({
            "city": k, "name_kk": c.name_kk, "name_ru": c.name_ru, "name_en": c.name_en,
            "epsg": c.epsg, "tz": c.tz, "kato": c.kato,
            "districts": c.districts[["district", "name_kk", "name_ru", "name_en", "kato"]].to_dict("records"),
        })
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    for c in out:
        names = ", ".join(d["name_ru"] for d in c["districts"]) or "(no open district polygons)"
        typer.echo(f"{c['city']:<9} {c['name_kk']:<8} EPSG:{c['epsg']} {c['tz']}  {names}")


@app.command("schema")
def schema_cmd() -> None:
    """Print the incident table schema (Markdown)."""
    typer.echo(schema_markdown())
