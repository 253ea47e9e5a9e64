"""``qauipsiz cities``, ``qauipsiz city add|remove`` and ``qauipsiz schema``: the registry (shipped
and user cities) and the incident schema."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from qauipsiz.api.cli._app import app
from qauipsiz.hotspot.cities import add_city, get_city, list_cities, remove_city
from qauipsiz.hotspot.schema import schema_markdown

city_app = typer.Typer(help="Register your own city (kept in QAUIPSIZ_DATA_DIR/cities) or remove it.",
                       no_args_is_help=True)
app.add_typer(city_app, name="city")


@city_app.command("add")
def city_add(  # one option per registry field
    key: str = typer.Argument(..., help="New city key: lower-case Latin letters, digits, '_' or '-'."),
    boundary: Path | None = typer.Option(None, "--boundary", exists=True, dir_okay=False,
                                         help="City polygon (GeoJSON, GPKG, Shapefile…; any CRS, none = WGS84)."),
    region: str | None = typer.Option(None, "--region", help="Use a shipped region polygon instead (pcode, e.g. KAZ011)."),
    districts: Path | None = typer.Option(None, "--districts", exists=True, dir_okay=False,
                                          help="District polygons with a 'district' or 'name' column."),
    name_kk: str | None = typer.Option(None, "--name-kk", help="Name in Kazakh."),
    name_ru: str | None = typer.Option(None, "--name-ru", help="Name in Russian."),
    name_en: str | None = typer.Option(None, "--name-en", help="Name in English."),
    tz: str | None = typer.Option(None, "--tz", help="tz database name; in Kazakhstan it comes from the boundary."),
    epsg: int | None = typer.Option(None, "--epsg", help="Metric CRS; default: the boundary's UTM zone."),
    kato: str = typer.Option("", "--kato", help="KATO code (optional)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Register a city from a boundary file (or a shipped region) in QAUIPSIZ_DATA_DIR."""
    c = add_city(key, boundary=boundary, region=region, districts=districts, name_kk=name_kk, name_ru=name_ru,
                 name_en=name_en, tz=tz, epsg=epsg, kato=kato)
    out = _city_json(c.key)
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
    else:
        typer.echo(f"added {c.key}: EPSG:{c.epsg} {c.tz}, {len(out['districts'])} districts, region {c.region_pcode or '—'}"
                   f" ({c.folder})")


@city_app.command("remove")
def city_remove(key: str = typer.Argument(..., help="Key of a city added with 'city add'.")) -> None:
    """Remove a city added with 'city add' (the store's incidents of that city are kept)."""
    remove_city(key)
    typer.echo(f"removed {key}")


def _city_json(k: str) -> dict:
    c = get_city(k)
    return {
        "city": k, "name_kk": c.name_kk, "name_ru": c.name_ru, "name_en": c.name_en,
        "epsg": c.epsg, "tz": c.tz, "kato": c.kato, "source": "user" if c.user else "shipped",
        "districts": c.districts[["district", "name_kk", "name_ru", "name_en", "kato"]].to_dict("records"),
    }


@app.command("cities")
def cities_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the registry's cities with their districts, UTM EPSG code and time zone."""
    out = [_city_json(k) for k in list_cities()]
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    for c in out:
        names = ", ".join(d["name_ru"] for d in c["districts"]) or "(no open district polygons)"
        typer.echo(f"{c['city']:<9} {c['name_kk']:<8} EPSG:{c['epsg']} {c['tz']:<14} {c['source']:<7}  {names}")


@app.command("schema")
def schema_cmd() -> None:
    """Print the incident table schema (Markdown)."""
    typer.echo(schema_markdown())
