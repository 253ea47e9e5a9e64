"""``qauipsiz recommend cameras|sos|posts|offices``: ranked, phased sites with reasons."""
from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer

from qauipsiz.api.cli._app import app
from qauipsiz.api.cli._inputs import INCIDENTS_HELP, LAYERS_HELP, city_incidents, city_layers


class What(StrEnum):
    """What ``qauipsiz recommend`` sites."""

    cameras = "cameras"
    sos = "sos"
    posts = "posts"
    offices = "offices"


def _phases_opt(text: str | None):
    if not text:
        return None
    parts = [int(p) for p in text.replace(";", ",").split(",") if p.strip()]
    return parts[0] if len(parts) == 1 else parts


@app.command("recommend")
def recommend_cmd(
    what: What = typer.Argument(..., help="cameras, sos (SOS buttons), posts (modular police posts) or offices (inspector offices)."),
    city: str = typer.Option("astana", "--city", help="City key (qauipsiz cities)."),
    budget: int = typer.Option(20, "--budget", help="Number of sites to place."),
    phases: str = typer.Option("", "--phases", help="Budget phases: a count ('3') or sizes ('20,15,15'). Default 3 phases."),
    method: str = typer.Option("greedy", "--method", help="greedy (nested phases) or exact (the MILP optimum, ranked)."),
    radius: float = typer.Option(0.0, "--radius", help="Walking radius in metres (sos default 300, posts default 500)."),
    mode: str = typer.Option("max", "--mode", help="sos only: max (budgeted covering) or cover (cover every busy place)."),
    lang: str = typer.Option("ru", "--lang", help="Language of the reason: kk, ru or en (the JSON carries all three)."),
    incidents: Path = typer.Option(None, "--incidents", help=INCIDENTS_HELP),
    layers: Path = typer.Option(None, "--layers", help=LAYERS_HELP),
    inspectors: int = typer.Option(1, "--inspectors-per-office", help="offices only: inspectors sharing an office."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON {'summary': ..., 'sites': [...]}."),
    out: Path = typer.Option(None, "--out", help="Also write sites as GeoJSON to this file."),
) -> None:
    """Recommend camera / SOS-button / post / office sites, ranked by marginal coverage, with reasons."""
    import numpy as np
    from rich.console import Console

    from qauipsiz.cpted import siting

    err = Console(stderr=True)
    with err.status(f"loading {city} data"):
        inc, _ = city_incidents(city, incidents)
        lay = city_layers(city, layers)
    ph = _phases_opt(phases)
    with err.status(f"solving {what.value} siting (greedy + exact check)"):
        if what is What.cameras:
            df = siting.recommend_cameras(city, inc, lay, budget, phases=ph, method=method, lang=lang)
        elif what is What.sos:
            df = siting.recommend_sos(city, inc, lay, budget, radius_m=radius or 300.0, mode=mode, phases=ph,
                                      method=method, lang=lang)
        elif what is What.posts:
            df = siting.recommend_posts(city, inc, lay, budget, kind="posts", radius_m=radius or 500.0, phases=ph,
                                        method=method, lang=lang)
        else:
            df = siting.recommend_posts(city, inc, lay, budget, kind="offices", phases=ph, lang=lang,
                                        inspectors_per_office=inspectors)
    summary = {k: (v.item() if hasattr(v, "item") else v) for k, v in df.attrs.get("summary", {}).items()}
    if out is not None:
        import geopandas as gpd
        import pandas as pd

        g = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=4326)
        out.parent.mkdir(parents=True, exist_ok=True)
        g.to_file(out, driver="GeoJSON")
        beats = df.attrs.get("beats")
        if beats is not None:  # offices: every demand cell with the rank of the office serving it
            beats = pd.DataFrame(beats)
            b = gpd.GeoDataFrame(beats.assign(h3=beats["h3"].map(lambda v: format(int(v), "x"))),
                                 geometry=gpd.points_from_xy(beats["lon"], beats["lat"]), crs=4326)
            b.to_file(out.with_name(out.stem + "_beats.geojson"), driver="GeoJSON")
    if as_json:
        recs = json.loads(df.to_json(orient="records", force_ascii=False))
        typer.echo(json.dumps({"what": what.value, "city": city, "summary": summary, "sites": recs},
                              ensure_ascii=False, default=str))
        return
    from rich.table import Table

    t = Table(title=f"{what.value} — {city}")
    for col in ("rank", "phase", "lat", "lon", "marginal_gain", "cumulative_coverage", "reason"):
        t.add_column(col, overflow="fold")
    for r in df.itertuples(index=False):
        t.add_row(str(r.rank), str(r.phase), f"{r.lat:.5f}", f"{r.lon:.5f}", f"{r.marginal_gain:,.3g}",
                  f"{100 * r.cumulative_coverage:.1f}%" if what is not What.offices else f"{r.cumulative_coverage:.3f}",
                  r.reason)
    Console(width=max(Console().width, 160)).print(t)
    if "greedy_gap" in summary and summary["greedy_gap"] is not None and np.isfinite(summary["greedy_gap"]):
        typer.echo(f"greedy covers {summary['greedy_objective']:.6g}, exact optimum {summary['optimum']:.6g} "
                   f"({summary['exact_status']}); greedy gap {100 * summary['greedy_gap']:.2f} %")
    elif summary:
        typer.echo(json.dumps(summary, ensure_ascii=False, default=str))
