"""``qauipsiz near-repeat``: the Knox near-repeat table (Ratcliffe's calculator) and the risk layer."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from qauipsiz.api.cli._app import app
from qauipsiz.api.cli._inputs import INCIDENTS_HELP, city_incidents
from qauipsiz.api.cli.emerging import incident_filters, split_list


def _edges(v: str, name: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in v.split(","))
    except ValueError as e:
        raise typer.BadParameter(f"{v!r}: comma-separated numbers, e.g. 0,200,400", param_hint=name) from e


def write_risk(risk, out: Path, params: dict) -> None:
    """The risk cells as hexagons (GeoJSON, GPKG or Parquet by suffix), params in the metadata."""
    from qauipsiz.api.cli.hotspots import write_table

    r = risk.copy()
    for c in ("last_event_utc", "risk_until_utc"):
        r[c] = r[c].astype(str)
    write_table(r, out, params)


@app.command("near-repeat")
def near_repeat_cmd(
    city: str = typer.Option("astana", "--city", help="City key (qauipsiz cities)."),
    out: Path = typer.Option(..., "--out", help="Knox table: .csv (one row per space band x time band) or .json."),
    incidents: Path = typer.Option(None, "--incidents", help=INCIDENTS_HELP),
    space_edges: str = typer.Option("0,200,400,600,800,1000", "--space-edges", help="Space band edges, metres."),
    time_edges: str = typer.Option("0,7,14,21,28", "--time-edges", help="Time band edges, days."),
    permutations: int = typer.Option(999, "--permutations", min=0, help="Shuffles of the event times."),
    seed: int = typer.Option(0, "--seed", help="Permutation seed."),
    alpha: float = typer.Option(0.01, "--alpha", help="Significance of a band (one-sided p-value)."),
    risk_out: Path = typer.Option(None, "--risk-out",
                                  help="Also write the risk cells (.geojson/.gpkg/.parquet) around recent events."),
    as_of: str = typer.Option(None, "--as-of", help="Local date/time of the risk layer (default: the last event)."),
    risk_res: int = typer.Option(10, "--risk-res", min=8, max=11, help="H3 resolution of the risk cells."),
    categories: str = typer.Option(None, "--categories", help="Comma-separated category keys, e.g. theft."),
    place_types: str = typer.Option(None, "--place-types", help="Comma-separated place types."),
    districts: str = typer.Option(None, "--districts", help="Comma-separated district keys."),
    start: str = typer.Option(None, "--start", help="From this local date/time (inclusive)."),
    end: str = typer.Option(None, "--end", help="Until this local date/time (exclusive)."),
    hours: str = typer.Option(None, "--hours", help="Local hours START-END, wrapping, e.g. 18-02."),
    weekdays: str = typer.Option(None, "--weekdays", help="Comma-separated: mon..sun or 0–6."),
    dark: bool = typer.Option(None, "--dark/--light", help="Only in darkness / daylight."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary instead of text."),
) -> None:
    """Near repeats (kk: жақын қайталанулар; ru: близкие повторы): Knox observed/expected pairs and
    p-values per space band x time band (event times permuted), and optionally the cells within the
    significant distance of an event of the significant number of days."""
    import pandas as pd

    from qauipsiz.api.cli.hotspots import district_filter
    from qauipsiz.hotspot.binning import filter_mask
    from qauipsiz.hotspot.nearrepeat import incident_points, knox_table, near_repeat_risk

    if out.suffix.lower() not in (".csv", ".json"):
        raise typer.BadParameter("use .csv or .json", param_hint="--out")
    df, source = city_incidents(city, incidents)
    try:
        sub = district_filter(df, split_list(districts))
        filters = incident_filters(categories, place_types, start, end, hours, weekdays, dark)
        sub = sub[filter_mask(sub, city, **filters)] if filters else sub
        xy, t, _ = incident_points(sub, city)
        k = knox_table(xy, t, _edges(space_edges, "--space-edges"), _edges(time_edges, "--time-edges"),
                       permutations=permutations, seed=seed)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    frame = k.to_frame(alpha)
    dist, days = k.significant_extent(alpha)
    params = {"generator": "qauipsiz near-repeat", "city": city, "incidents": source, "n_events": k.n_events,
              "n_pairs": k.n_pairs, "permutations": permutations, "seed": seed, "alpha": alpha,
              "filters": {a: b if isinstance(b, list | str | bool) else str(b) for a, b in filters.items()},
              "significant_distance_m": dist, "significant_days": days, **k.params}
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        frame.to_csv(out, index=False)
    else:
        out.write_text(json.dumps({"metadata": params, "bands": frame.to_dict("records")}, ensure_ascii=False),
                       encoding="utf-8")
    summary = {"out": str(out), **{a: params[a] for a in ("n_events", "n_pairs", "permutations",
                                                           "significant_distance_m", "significant_days")},
               "risk_out": None, "risk_cells": 0}
    if risk_out is not None:
        if dist <= 0:
            typer.echo("no significant near-repeat band at --alpha: no risk layer written", err=True)
        else:
            when = as_of or str(pd.to_datetime(sub["occurred_at"], utc=True).max() + pd.Timedelta(seconds=1))
            risk = near_repeat_risk(sub, city, as_of=when, distance_m=dist, days=days, res=risk_res)
            write_risk(risk, risk_out, {**params, "as_of": when, "risk_res": risk_res})
            summary.update(risk_out=str(risk_out), risk_cells=len(risk), as_of=when)
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
        return
    typer.echo(f"{out}: {k.n_events:,} events, {k.n_pairs:,} pairs, {permutations} permutations")
    typer.echo(frame[["space_band", "time_band", "observed", "expected", "ratio", "p_value"]]
               .round({"expected": 1, "ratio": 2, "p_value": 4}).to_string(index=False))
    typer.echo(f"near-repeat zone at p < {alpha}: {dist:g} m, {days:g} days")
