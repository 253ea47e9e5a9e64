"""``qauipsiz emerging``: emerging hot spot analysis (17 ArcGIS patterns) of a city's space-time cube."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from qauipsiz.api.cli._app import app
from qauipsiz.api.cli._inputs import INCIDENTS_HELP, city_incidents


def split_list(v: str | None) -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]``; None or empty -> None."""
    return [s.strip() for s in v.split(",") if s.strip()] if v else None


def incident_filters(categories, place_types, start, end, hours, weekdays, dark) -> dict:
    """The ``hotspots`` filters as keywords of :func:`hotspot.binning.filter_mask` (unset ones left out)."""
    f = {"categories": split_list(categories), "place_types": split_list(place_types), "start": start,
         "end": end, "hours": hours, "weekdays": split_list(weekdays), "dark": dark}
    return {a: b for a, b in f.items() if b is not None}


def pattern_table(table, lang: str):
    """The emerging table with ``label`` (in ``lang``) and ``colour`` columns of its pattern."""
    from qauipsiz.hotspot.emerging import pattern_labels

    lab = pattern_labels().set_index("code")
    out = table.copy()
    out["label"] = lab[f"label_{lang}"].reindex(out["code"].to_numpy()).to_numpy()
    out["colour"] = lab["colour"].reindex(out["code"].to_numpy()).to_numpy()
    out.attrs = dict(table.attrs)
    return out


@app.command("emerging")
def emerging_cmd(
    city: str = typer.Option("astana", "--city", help="City key (qauipsiz cities)."),
    res: int = typer.Option(9, "--res", min=7, max=10, help="H3 resolution 7–10."),
    step: str = typer.Option("week", "--step", help="Time step: day, week (Monday first) or month."),
    out: Path = typer.Option(..., "--out", help="Output file: .geojson, .gpkg or .parquet (one hexagon per cell)."),
    incidents: Path = typer.Option(None, "--incidents", help=INCIDENTS_HELP),
    cube_out: Path = typer.Option(None, "--cube", help="Also write the space-time cube: .nc (NetCDF) or .parquet."),
    k: int = typer.Option(1, "--k", min=1, max=5, help="H3 ring radius of the spatial neighbourhood."),
    time_window: int = typer.Option(1, "--time-window", min=0, help="Steps back in the neighbourhood."),
    value: str = typer.Option("count", "--value", help="count or weighted (harm-weighted sums)."),
    alpha: float = typer.Option(0.10, "--alpha", help="FDR level of a hot/cold bin (0.10: Esri's 90 %)."),
    trend_alpha: float = typer.Option(0.05, "--trend-alpha", help="Level of a significant Mann–Kendall trend."),
    categories: str = typer.Option(None, "--categories", help="Comma-separated category keys."),
    place_types: str = typer.Option(None, "--place-types", help="Comma-separated place types."),
    districts: str = typer.Option(None, "--districts", help="Comma-separated district keys (qauipsiz cities)."),
    start: str = typer.Option(None, "--start", help="From this local date/time (inclusive)."),
    end: str = typer.Option(None, "--end", help="Until this local date/time (exclusive)."),
    hours: str = typer.Option(None, "--hours", help="Local hours START-END, wrapping, e.g. 18-02."),
    weekdays: str = typer.Option(None, "--weekdays", help="Comma-separated: mon..sun or 0–6."),
    dark: bool = typer.Option(None, "--dark/--light", help="Only in darkness (sun < −6°) / daylight."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary instead of text."),
    lang: str = typer.Option("ru", "--lang", help="Language of the pattern labels: kk, ru or en."),
) -> None:
    """Emerging hot spots (kk: жаңа пайда болған ыстық нүктелер; ru: возникающие очаги): space-time Gi*
    per cell and step, Mann–Kendall trend, one of 17 patterns per H3 cell; run parameters in the
    file's metadata."""
    from rich.console import Console

    from qauipsiz.api.cli.hotspots import district_filter, write_table
    from qauipsiz.hotspot.cube import STEPS, space_time_cube
    from qauipsiz.hotspot.emerging import emerging_hotspots
    from qauipsiz.maps.labels import LANGS

    if lang not in LANGS:
        raise typer.BadParameter(f"use one of {', '.join(LANGS)}", param_hint="--lang")
    if step not in STEPS:
        raise typer.BadParameter(f"use one of {', '.join(STEPS)}", param_hint="--step")
    console = Console(stderr=True)
    filters = incident_filters(categories, place_types, start, end, hours, weekdays, dark)
    with console.status("reading incidents"):
        df, source = city_incidents(city, incidents)
    try:
        sub = district_filter(df, split_list(districts))
        with console.status(f"space-time cube: {len(sub):,} incidents, res {res}, step {step}"):
            cube = space_time_cube(sub, city, res, step=step, **filters)
        with console.status(f"space-time Gi* on {cube.shape[0]:,} cells x {cube.shape[1]} steps, Mann–Kendall"):
            table = emerging_hotspots(cube, k=k, time_window=time_window, value=value, alpha=alpha,
                                      trend_alpha=trend_alpha)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    params = dict(table.attrs["params"], incidents=source)
    if districts:
        params["filters"] = {**params["cube"]["filters"], "districts": split_list(districts)}
    if cube_out is not None:
        suf = cube_out.suffix.lower()
        if suf not in (".nc", ".parquet"):
            raise typer.BadParameter("use .nc or .parquet", param_hint="--cube")
        (cube.to_netcdf if suf == ".nc" else cube.to_parquet)(cube_out)
    fmt = write_table(pattern_table(table, lang), out, params)
    summary = {"out": str(out), "format": fmt, "cube": str(cube_out) if cube_out else None,
               "cells": len(table), "steps": cube.shape[1], "step": step,
               "first_step": params["first_step"], "last_step": params["last_step"],
               "incidents_binned": cube.params["n_binned"], "patterns": params["patterns"]}
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
        return
    from qauipsiz.hotspot.emerging import pattern_labels

    lab = pattern_labels().set_index("pattern")[f"label_{lang}"]
    typer.echo(f"{out}: {len(table):,} cells x {cube.shape[1]} {step}s "
               f"({params['first_step']} … {params['last_step']}), {cube.params['n_binned']:,} incidents")
    for key, n in sorted(params["patterns"].items(), key=lambda kv: -kv[1]):
        typer.echo(f"  {lab[key]}: {n:,}")
