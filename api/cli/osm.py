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
    s = import_osm(key, file, margin_m=margin_m, progress=_echo_progress(as_json))
    if as_json:
        typer.echo(json.dumps(s, ensure_ascii=False, indent=1))
        return
    typer.echo(f"{s['city']}: {s['ways']:,} ways in the file ({s['highway_ways']:,} highway); kept "
               f"{s['streets']:,} highway ways ({s['named_streets']:,} named, {s['walking_ways']:,} walking; "
               f"{s['network_ways']:,} in the network), {s['address_points']:,} address points "
               f"({s['addresses_in_gazetteer']:,} on known streets), {s['pois']:,} POIs, {s['buildings']:,} buildings; "
               f"gazetteer: {s['gazetteer_streets']:,} streets → {s['folder']}")


def _echo_progress(as_json: bool):
    def progress(msg: str) -> None:
        if not as_json:
            typer.echo(msg, err=True)
    return progress


@city_app.command("import-streets")
def city_import_streets(  # one option per mapped column
    key: str = typer.Argument(..., help="Key of a city added with 'qauipsiz city add'."),
    file: Path = typer.Argument(..., help="Street lines: GeoPackage, GeoJSON, Shapefile, CSV with a WKT column, "
                                          "or the street JSON ({\"streets\": [{\"name\", \"points\"}]})."),
    layer: str | None = typer.Option(None, "--layer", help="Layer of a multi-layer file (GeoPackage)."),
    name_col: str | None = typer.Option(None, "--name-col", help="Street name column (default: 'name')."),
    name_kk_col: str | None = typer.Option(None, "--name-kk-col", help="Kazakh name column (default: 'name:kk' or 'name_kk')."),
    name_ru_col: str | None = typer.Option(None, "--name-ru-col", help="Russian name column (default: 'name:ru' or 'name_ru')."),
    old_name_col: str | None = typer.Option(None, "--old-name-col", help="Former name column (default: 'old_name')."),
    highway_col: str | None = typer.Option(None, "--highway-col", help="Road class column (default: 'highway')."),
    geometry_col: str | None = typer.Option(None, "--geometry-col", help="WKT column of a CSV (default: geometry, wkt …)."),
    margin_m: float = typer.Option(MARGIN_M, "--margin", min=0.0, help="Keep lines this many metres outside the city too."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import a street line layer into a user city (network, intersections, aliases from the name
    columns) and rebuild its gazetteer; addresses and POIs imported before are kept.

    kk: Қала көшелерінің қабатын (GPKG, GeoJSON, Shapefile, CSV) бағандар сәйкестігімен жүктеу.
    ru: Загрузить слой улиц города (GPKG, GeoJSON, Shapefile, CSV) с сопоставлением столбцов.
    """
    from qauipsiz.hotspot.street_layers import import_streets

    cols = {"name": name_col, "name_kk": name_kk_col, "name_ru": name_ru_col, "old_name": old_name_col,
            "highway": highway_col}
    s = import_streets(key, file, layer=layer, columns=cols, geometry_col=geometry_col, margin_m=margin_m,
                       progress=_echo_progress(as_json))
    if as_json:
        typer.echo(json.dumps(s, ensure_ascii=False, indent=1))
        return
    typer.echo(f"{s['city']}: kept {s['streets']:,} of {s['features']:,} lines ({s['named_streets']:,} named; "
               f"{s['network_ways']:,} in the network), {s['intersections']:,} intersection points, "
               f"{s['aliases']:,} aliases; gazetteer: {s['gazetteer_streets']:,} streets, "
               f"{s['addresses_in_gazetteer']:,} addresses, {s['pois_in_gazetteer']:,} POIs → {s['folder']}")


@city_app.command("import-addresses")
def city_import_addresses(
    key: str = typer.Argument(..., help="Key of a city added with 'qauipsiz city add'."),
    file: Path = typer.Argument(..., help="Address points (or building polygons): GeoPackage, GeoJSON, Shapefile, "
                                          "CSV with a WKT column."),
    layer: str | None = typer.Option(None, "--layer", help="Layer of a multi-layer file (GeoPackage)."),
    street_col: str | None = typer.Option(None, "--street-col", help="Street column (default: 'addr:street', "
                                                                     "'addr_street' or 'street')."),
    house_col: str | None = typer.Option(None, "--house-col", help="House number column (default: 'addr:housenumber', "
                                                                   "'addr_housenumber', 'housenumber' or 'house')."),
    geometry_col: str | None = typer.Option(None, "--geometry-col", help="WKT column of a CSV."),
    margin_m: float = typer.Option(MARGIN_M, "--margin", min=0.0, help="Keep points this many metres outside the city too."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import address points into a user city (replacing earlier ones) and rebuild its gazetteer,
    so geocoding reaches house precision.

    kk: Мекенжай нүктелерін жүктеу (үй дәлдігіне дейін геокодтау үшін).
    ru: Загрузить адресные точки (геокодирование до дома).
    """
    from qauipsiz.hotspot.street_layers import import_addresses

    s = import_addresses(key, file, layer=layer, columns={"street": street_col, "house": house_col},
                         geometry_col=geometry_col, margin_m=margin_m, progress=_echo_progress(as_json))
    if as_json:
        typer.echo(json.dumps(s, ensure_ascii=False, indent=1))
        return
    typer.echo(f"{s['city']}: {s['address_points']:,} of {s['features']:,} address points inside the city, "
               f"{s['addresses_in_gazetteer']:,} on streets the gazetteer knows → {s['folder']}")
