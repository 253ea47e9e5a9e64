"""``qauipsiz city import-osm KEY FILE``: streets, addresses, POIs and buildings of a user city from an
OpenStreetMap extract (``.osm.pbf``, ``.osm`` XML or Overpass JSON); the gazetteer is rebuilt."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from qauipsiz.api.cli.cities import city_app
from qauipsiz.hotspot.osm import MARGIN_M, import_osm


@city_app.command("import-osm")
def city_import_osm(
    key: str = typer.Argument(..., help="Key of a city added with 'qauipsiz city add'."),
    file: Path = typer.Argument(..., help="OSM extract: .osm.pbf, .osm XML (pyosmium) or Overpass JSON."),
    margin_m: float = typer.Option(MARGIN_M, "--margin", min=0.0,
                                   help="Keep OSM objects this many metres outside the city polygon too."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import an OpenStreetMap extract into a user city: every highway way (walking paths included),
    address points, POIs and building footprints; then rebuild the city's gazetteer.

    kk: Қала көшелерін, мекенжайларын, нысандарын және ғимараттарын OSM файлынан жүктеу.
    ru: Загрузить улицы, адреса, объекты и здания города из выгрузки OSM.
    """
    def progress(msg: str) -> None:
        if not as_json:
            typer.echo(msg, err=True)

    s = import_osm(key, file, margin_m=margin_m, progress=progress)
    if as_json:
        typer.echo(json.dumps(s, ensure_ascii=False, indent=1))
        return
    typer.echo(f"{s['city']}: {s['ways']:,} ways in the file ({s['highway_ways']:,} highway); kept "
               f"{s['streets']:,} highway ways ({s['named_streets']:,} named, {s['walking_ways']:,} walking; "
               f"{s['network_ways']:,} in the network), {s['address_points']:,} address points "
               f"({s['addresses_in_gazetteer']:,} on known streets), {s['pois']:,} POIs, {s['buildings']:,} buildings; "
               f"gazetteer: {s['gazetteer_streets']:,} streets → {s['folder']}")
