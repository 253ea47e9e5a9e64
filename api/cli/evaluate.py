"""``qauipsiz evaluate``: did an intervention (cameras, SOS buttons, lamps, a drawn area) work?"""
from __future__ import annotations

import json
import re
from pathlib import Path

import typer

from qauipsiz.api.cli._app import app
from qauipsiz.api.cli._inputs import INCIDENTS_HELP, LAYERS_HELP, city_incidents, city_layers

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([MWDYmwdy]?)\s*$")
_UNIT_MONTHS = {"": 1.0, "m": 1.0, "y": 12.0, "w": 7 / (365.2425 / 12), "d": 1 / (365.2425 / 12)}


def parse_span(text: str, what: str) -> float:
    """``12M``, ``1Y``, ``2W``, ``14D`` or a bare number of months -> months (float)."""
    m = _SPAN.match(str(text))
    if not m or float(m.group(1)) <= 0:
        raise typer.BadParameter(f"{text!r}: use e.g. 12M, 1Y, 2W or 14D", param_hint=what)
    return float(m.group(1)) * _UNIT_MONTHS[m.group(2).lower()]


def parse_ring(text: str) -> tuple[float, float]:
    """``150:400`` -> (150.0, 400.0) metres."""
    try:
        lo, hi = (float(v) for v in str(text).split(":"))
    except ValueError as e:
        raise typer.BadParameter(f"{text!r}: use INNER:OUTER metres, e.g. 150:400", param_hint="--ring-m") from e
    if not 0 <= lo < hi:
        raise typer.BadParameter(f"{text!r}: need 0 <= inner < outer", param_hint="--ring-m")
    return lo, hi


def read_area(path: Path):
    """Union of the polygons (or points) of a GeoJSON/GPKG/Shapefile, in WGS84."""
    import geopandas as gpd
    import shapely

    if not path.exists():
        raise typer.BadParameter(f"{path}: file not found", param_hint="--area")
    try:
        g = gpd.read_file(path)
    except Exception as e:
        raise typer.BadParameter(f"{path}: not a readable GeoJSON/GPKG ({e})", param_hint="--area") from e
    if len(g) == 0:
        raise typer.BadParameter(f"{path}: no features", param_hint="--area")
    if g.crs is not None:
        g = g.to_crs(4326)
    return shapely.union_all(g.geometry.values)


@app.command("evaluate")
def evaluate_cmd(
    city: str = typer.Option("astana", "--city", help="City key (qauipsiz cities)."),
    area: Path = typer.Option(None, "--area", help="GeoJSON/GPKG of the treated polygons (or points)."),
    layer: str = typer.Option(None, "--layer", help="cameras, sos_buttons or lamps: buffers around its features."),
    ids: str = typer.Option(None, "--ids", help="Comma-separated feature ids of --layer (default: the features "
                                                "whose installed date is --installed)."),
    installed: str = typer.Option(None, "--installed", help="Installation date YYYY-MM-DD (default: the "
                                                            "features' installed column)."),
    before: str = typer.Option("12M", "--before", help="Pre-period: 12M, 1Y, 26W, 90D …"),
    after: str = typer.Option("6M", "--after", help="Post-period: 6M, 2W, 30D …"),
    radius_m: float = typer.Option(150.0, "--radius-m", help="Buffer around point features, metres."),
    ring_m: str = typer.Option("150:400", "--ring-m", help="Displacement ring INNER:OUTER, metres."),
    categories: str = typer.Option(None, "--categories", help="Comma-separated categories (default: all)."),
    dark_only: bool = typer.Option(False, "--dark-only", help="Only incidents in the dark (for lighting)."),
    incidents: Path = typer.Option(None, "--incidents", help=INCIDENTS_HELP),
    layers: Path = typer.Option(None, "--layers", help=LAYERS_HELP),
    seed: int = typer.Option(0, "--seed", help="Seed of the placebo draws."),
    match_cpted: bool = typer.Option(False, "--match-cpted", help="Also match the comparison cells on the block "
                                                                   "CPTED score (needs the city's CPTED layers)."),
    lang: str = typer.Option("ru", "--lang", help="Language of the printed summary: kk, ru or en."),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON."),
    html_out: Path = typer.Option(None, "--html", help="Write a one-page printable report here."),
) -> None:
    """Did it work? Difference-in-differences against matched comparison cells, placebo p-value and
    95 % interval, minimum detectable effect, displacement into the ring (WDQ).  kk: шараның
    нәтижесі; ru: оценка эффекта меры; en: intervention evaluation."""
    from qauipsiz.hotspot.cities import get_city
    from qauipsiz.hotspot.evaluation import evaluate
    from qauipsiz.hotspot.evaluation.areas import select_features

    if (area is None) == (layer is None):
        raise typer.BadParameter("give exactly one of --area FILE or --layer NAME", param_hint="--area/--layer")
    if lang not in ("kk", "ru", "en"):
        raise typer.BadParameter(f"{lang!r}: use kk, ru or en", param_hint="--lang")
    c = get_city(city)
    b, a = parse_span(before, "--before"), parse_span(after, "--after")
    ring = parse_ring(ring_m)
    cats = [s.strip() for s in categories.split(",") if s.strip()] if categories else None
    if area is not None:
        geom, kind = read_area(area), "area"
        if installed is None:
            raise typer.BadParameter("--installed is required with --area", param_hint="--installed")
    else:
        lay = city_layers(city, layers).get(layer)
        id_list = [int(v) for v in ids.split(",") if v.strip()] if ids else None
        geom, installed = select_features(lay, layer, id_list, installed)
        kind = layer
    scores = None
    if match_cpted:
        from qauipsiz.api.cpted_match import cpted_block_scores

        scores = cpted_block_scores(city, city_layers(city, layers))
    df, _source = city_incidents(city, incidents)
    res = evaluate(df, geom, installed, city=c, before_months=b, after_months=a, radius_m=radius_m, ring_m=ring,
                   categories=cats, dark_only=dark_only, seed=seed, intervention=kind, block_scores=scores)
    d = res.to_dict()
    if html_out is not None:
        from qauipsiz.maps.evaluation_report import render_evaluation_html

        html_out.write_text(render_evaluation_html(d, lang), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(d, ensure_ascii=False, indent=1))
    else:
        typer.echo(res.text(lang))
