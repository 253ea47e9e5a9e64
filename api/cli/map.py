"""``qauipsiz map``: a self-contained static HTML map (folium, Leaflet inlined) that opens offline."""
from __future__ import annotations

import contextlib
from pathlib import Path

import typer

from qauipsiz.api.cli._app import app
from qauipsiz.api.cli._inputs import city_incidents, city_layers

LAYERS = ("hotspots", "public", "cpted", "cameras", "sos", "posts", "patrol", "points")


def _check_options(city: str, layer: list[str], lang: str) -> None:
    from qauipsiz.hotspot.cities import list_cities

    bad = [x for x in layer if x not in LAYERS]
    if bad:
        raise typer.BadParameter(f"unknown layer(s) {bad}; use {', '.join(LAYERS)}", param_hint="--layer")
    if city not in list_cities():
        raise typer.BadParameter(f"unknown city {city!r}", param_hint="--city")
    if lang not in ("kk", "ru", "en"):
        raise typer.BadParameter("use kk, ru or en", param_hint="--lang")


@app.command("map")
def map_cmd(
    city: str = typer.Option("astana", "--city", help="City registry key."),
    layer: list[str] = typer.Option(["hotspots"], "--layer", help=f"Layer(s) to draw: {', '.join(LAYERS)} (repeatable)."),
    out: Path = typer.Option(Path("map.html"), "--out", help="Output HTML file."),
    lang: str = typer.Option("ru", "--lang", help="Labels: kk, ru or en."),
    res: int = typer.Option(9, "--res", help="H3 resolution of the hotspot layer (7–10)."),
    n: int = typer.Option(20, "--n", help="Number of recommended sites."),
    shift: str = typer.Option("2025-12-05 18:00/02:00", "--shift", help="Patrol shift (local)."),
    units: int = typer.Option(4, "--units", help="Patrol units."),
    streets: bool = typer.Option(True, "--streets/--no-streets", help="Draw the street basemap."),
) -> None:
    """Write a map of the city's data in the store to OUT (no network needed to open it)."""
    from rich.console import Console

    from qauipsiz.api.settings import get_settings
    from qauipsiz.hotspot.cities import get_city
    from qauipsiz.maps.static import write_map

    _check_options(city, layer, lang)
    con = Console(stderr=True)
    s = get_settings()
    c = get_city(city)
    kw: dict = {"lang": lang, "min_public_count": s.min_public_count}
    with con.status("loading incidents") as st:
        if any(x != "points" for x in layer):
            inc, _ = city_incidents(city)
            # the demo city (ingested with source "demo") is invented: the map says so
            kw["synthetic"] = bool("source" in inc.columns and (inc["source"] == "demo").any())
        layers_ = {}
        if any(x in layer for x in ("cpted", "cameras", "sos", "posts", "patrol", "points")):
            st.update("loading city layers")
            layers_ = city_layers(city)
        hot = None
        if "hotspots" in layer or "cpted" in layer:
            from qauipsiz.hotspot.surface import hotspot_table

            st.update(f"hotspots at res {res}")
            hot = hotspot_table(inc, c, res=res, lisa=False)
            if "hotspots" in layer:
                kw["hotspots"] = hot
        if "public" in layer:
            import pandas as pd

            from qauipsiz.api.routers.public import district_indicators

            st.update("district indicators")
            rows = district_indicators(inc, city, s.min_public_count, s.public_round)
            kw["public"] = pd.DataFrame([r.model_dump(exclude={"by_category"}) for r in rows])
        if "cpted" in layer:
            from qauipsiz.cpted.score import score_blocks

            st.update("CPTED block scores")
            kw["cpted"] = score_blocks(city, layers_, hotspots=hot)
        sites = []
        for kind in ("cameras", "sos", "posts"):
            if kind in layer:
                from qauipsiz.cpted import siting

                st.update(f"{kind} siting")
                fn = {"cameras": siting.recommend_cameras, "sos": siting.recommend_sos,
                      "posts": siting.recommend_posts}[kind]
                t = fn(city, inc, layers_, n, exact=False, lang=lang)
                sites.append(t.assign(kind=kind))
        if sites:
            import pandas as pd

            kw["sites"] = pd.concat(sites, ignore_index=True)
        if "patrol" in layer:
            import numpy as np
            import shapely

            from qauipsiz.hotspot.patrol import parse_shift, plan_patrol

            st.update("patrol routes")
            sts = layers_.get("police_stations")
            if sts is None or not len(sts):
                raise typer.BadParameter("the store has no police_stations layer (patrol depot)")
            pt = shapely.point_on_surface(sts.geometry.values[0])
            x, y = c.to_metric(np.array([pt.x]), np.array([pt.y]))
            sh = parse_shift(shift, c.tz)
            kw["routes"], _ = plan_patrol(c, inc, sh.start, sh.end, units, (float(x[0]), float(y[0])))
        if "points" in layer:
            kw["points"] = {k: layers_[k] for k in ("cameras", "sos_buttons") if k in layers_}
        if streets:
            from qauipsiz.hotspot.streets import load_streets

            with contextlib.suppress(FileNotFoundError, ValueError):
                kw["streets"] = load_streets(city)
        st.update("rendering")
        path = write_map(out, c, **kw)
    typer.echo(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB, self-contained; opens offline)")
