"""``qauipsiz patrol``: one shift's patrol routes (GeoJSON) and printable route cards (HTML)."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from qauipsiz.api.cli._app import app
from qauipsiz.api.cli._inputs import INCIDENTS_HELP, LAYERS_HELP, city_incidents, city_layers
from qauipsiz.api.store.export import write_csv_safe


@app.command("patrol")
def patrol_cmd(
    city: str = typer.Option("astana", "--city", help="City key."),
    shift: str = typer.Option(..., "--shift", help="Local shift, e.g. '2025-12-05 18:00/02:00'."),
    units: int = typer.Option(4, "--units", help="Number of patrol units."),
    depot: str = typer.Option("", "--depot", help="Police station: its station_id or name in police_stations, "
                                                 "or 'lat,lon'. Default: the police station nearest to the shift's riskiest "
                                                 "hotspot (the same rule as the API and dashboard)."),
    hotspots: int = typer.Option(0, "--hotspots", help="Hotspots to visit (default 6 per unit, at most 60)."),
    mode: str = typer.Option("drive", "--mode", help="drive or walk."),
    visits: int = typer.Option(1, "--visits", min=1, max=8,
                               help="Visits to every hotspot: 1 = once near its peak hour; N = once in each "
                                    "of N equal rounds of the shift."),
    seconds: float = typer.Option(10.0, "--seconds", help="Route search time limit, seconds."),
    incidents: Path = typer.Option(None, "--incidents", help=INCIDENTS_HELP),
    layers: Path = typer.Option(None, "--layers", help=LAYERS_HELP + " Uses police_stations."),
    out: Path = typer.Option(Path("out/patrol"), "--out", help="Output folder: routes.geojson, stops.csv, route cards."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
    risk: str = typer.Option("counts", "--risk", help="counts (past incidents at the shift's hours) or forecast "
                                                      "(the shift day's forecast, method auto; docs/forecasting.md)."),
    lang: str = typer.Option("ru", "--lang", help="Language of the route cards: kk, ru or en (one language only)."),
) -> None:
    """Plan patrol routes through tonight's hotspots (OR-Tools) and write route cards."""
    import numpy as np
    from rich.console import Console

    from qauipsiz.hotspot.cities import get_city
    from qauipsiz.hotspot.patrol import (
        DEPOT_RULE,
        default_depot,
        forecast_risk,
        parse_shift,
        plan_patrol,
        route_cards_html,
        shift_risk,
        station_depot,
    )

    err = Console(stderr=True)
    c = get_city(city)
    sh = parse_shift(shift, c.tz)
    with err.status("loading data"):
        inc, _ = city_incidents(city, incidents)
        lay = city_layers(city, layers)
    if lang not in ("kk", "ru", "en"):
        raise typer.BadParameter(f"{lang!r}: use kk, ru or en", param_hint="--lang")
    if risk not in ("counts", "forecast"):
        raise typer.BadParameter("use counts or forecast", param_hint="--risk")
    counts = shift_risk(inc, c, sh)
    pre = forecast_risk(inc, c, sh) if risk == "forecast" else counts
    st = lay.get("police_stations")
    import re

    ll = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*", depot or "")
    if ll:
        lat, lon = float(ll.group(1)), float(ll.group(2))
        if not c.contains(np.array([lat]), np.array([lon]))[0]:
            raise typer.BadParameter(f"--depot {depot!r}: the point is outside {city}")
        name = f"{lat:.5f}, {lon:.5f}"
        rule, i = "--depot lat,lon", None
    else:
        if st is None or len(st) == 0:
            raise typer.BadParameter("no police_stations layer: pass --depot 'lat,lon'")
        if depot:
            m = (st["station_id"].astype(str) == depot) | st["name"].astype(str).str.contains(depot, regex=False)
            if not m.any():
                raise typer.BadParameter(f"--depot {depot!r}: no police station with that id or name")
            i, rule = int(np.flatnonzero(m.to_numpy())[0]), "--depot"
        else:
            # the one default-depot rule, shared with the API and the dashboard
            i, rule = default_depot(c, st, counts), DEPOT_RULE
        d = station_depot(c, st, i)
        lat, lon, name = d["lat"], d["lon"], d["name"]
    dx, dy = c.to_metric(np.array([lon]), np.array([lat]))
    with err.status(f"routing {units} units (≤ {seconds:.0f} s search)"):
        routes, stops = plan_patrol(c, inc, sh.start, sh.end, units, (float(dx[0]), float(dy[0])),
                                    n_hotspots=hotspots or None, mode=mode, time_limit_s=seconds, depot_name=name,
                                    visits=visits, hotspots=pre, depot_rule=rule)
    out.mkdir(parents=True, exist_ok=True)
    r = routes.copy()
    r["start"] = r["start"].astype(str)
    r["end"] = r["end"].astype(str)
    r.to_file(out / "routes.geojson", driver="GeoJSON")
    write_csv_safe(stops, out / "stops.csv", sep=",", bom=False)
    cards = route_cards_html(routes, stops, c, out, lang=lang)
    summary = {"city": city, "shift": f"{sh.start} / {sh.end}", "depot": name,
               "depot_detail": {**stops.attrs["depot"], "station": i}, "units": units,
               "hotspots": int(stops.loc[stops["kind"] == "hotspot", "hotspot"].nunique()), "visits": visits,
               "stops": int((stops["kind"] == "hotspot").sum()), "missed_visits": stops.attrs["missed_visits"],
               "dropped": list(stops.attrs["dropped"]),
               "routes": json.loads(r.drop(columns="geometry").round({"distance_m": 1}).to_json(orient="records")),
               "files": [str(out / "routes.geojson"), str(out / "stops.csv")] +
                        [str(out / f"route_card_unit_{u}.html") for u in cards]}
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
        return
    for rr in routes.itertuples(index=False):
        typer.echo(f"unit {rr.unit}: {rr.n_stops} hotspots, {rr.distance_m / 1000:.1f} km, "
                   f"{rr.start:%H:%M}–{rr.end:%H:%M}")
    typer.echo(f"depot: {name} ({rule}); dropped hotspots: {summary['dropped'] or 'none'}")
    typer.echo(f"written: {out}/routes.geojson, stops.csv and {len(cards)} route cards")
