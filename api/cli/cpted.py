"""``qauipsiz cpted``: score city blocks for CPTED and review a design against crime-prevention norms."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from qauipsiz.api.cli._app import app
from qauipsiz.api.cli._inputs import LAYERS_HELP, city_layers
from qauipsiz.api.store.export import write_csv_safe

cpted_app = typer.Typer(help="CPTED: block scores with fixes (score) and design review against norms (review).",
                        no_args_is_help=True)
app.add_typer(cpted_app, name="cpted")


def _read_hotspots(path: Path):
    import pandas as pd

    suf = path.suffix.lower()
    if suf == ".parquet":
        return pd.read_parquet(path)
    if suf in (".geojson", ".json", ".gpkg"):
        import geopandas as gpd

        return pd.DataFrame(gpd.read_file(path).drop(columns="geometry", errors="ignore"))
    if suf == ".csv":
        return pd.read_csv(path, dtype={"h3": str})
    raise typer.BadParameter(f"{path}: hotspot table must be .parquet, .csv, .geojson or .gpkg")


@cpted_app.command("score")
def score_cmd(
    city: str = typer.Option("astana", "--city", help="City registry key (its UTM zone is used)."),
    layers: Path | None = typer.Option(None, "--layers", help=LAYERS_HELP),
    hotspots: Path | None = typer.Option(None, "--hotspots",
                                         help="Per-H3-cell risk table (h3 + weighted/count/density)."),
    risk_col: str | None = typer.Option(None, "--risk-col", help="Risk column of the hotspot table."),
    risk_basis: str = typer.Option("per_ha", "--risk-basis", help="Priority from risk per hectare (per_ha) or block total (total)."),
    blocks: Path | None = typer.Option(None, "--blocks", help="Official block layer (else from the street network)."),
    weights: Path | None = typer.Option(None, "--weights", help="Score weights YAML (default cpted/config/score_weights.yaml)."),
    norms: Path | None = typer.Option(None, "--norms", help="Lighting norm table CSV (default SanPiN 1.2.3685-21)."),
    out: Path = typer.Option(Path("out/cpted"), "--out", help="Output folder."),
    top: int = typer.Option(50, "--top", help="Rows in the fix-first list."),
    lang: str = typer.Option("ru", "--lang", help="Language of the fix-first CSV: kk, ru or en."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Score every block 0–100 (six ISO 22341 strategies), list fixes and rank blocks to fix first.

    Writes OUT/block_scores.geojson, OUT/block_scores.csv, OUT/fix_first.csv, OUT/dark_spots.geojson,
    OUT/lighting_zones.csv (per block and norm zone: mean lux vs norm) and OUT/summary.json.
    """
    from rich.console import Console

    from qauipsiz.cpted.fix_list import city_streets, fix_first
    from qauipsiz.cpted.layers import read_layer
    from qauipsiz.cpted.score import assess_blocks

    con = Console(stderr=True)
    try:
        with con.status("loading layers …") as st:
            L = city_layers(city, layers)
            hs = _read_hotspots(hotspots) if hotspots else None
            bl = read_layer(blocks, "blocks") if blocks else None
            res = assess_blocks(city, L, hs, bl, weights=weights, norms=norms, risk_col=risk_col,
                                risk_basis=risk_basis, progress=lambda s: st.update(f"cpted: {s} done …"))
    except ValueError as e:
        con.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    out.mkdir(parents=True, exist_ok=True)
    b = res.blocks
    b.to_file(out / "block_scores.geojson", driver="GeoJSON")
    write_csv_safe(b.drop(columns="geometry"), out / "block_scores.csv", sep=",", bom=False)
    ff = fix_first(b, top, lang, streets=city_streets(city))
    write_csv_safe(ff, out / "fix_first.csv", sep=",", bom=False)
    res.dark_spots.to_file(out / "dark_spots.geojson", driver="GeoJSON")
    write_csv_safe(res.zones, out / "lighting_zones.csv", sep=",", bom=False)
    summary = {"city": city, "blocks": len(b), "samples": res.samples, "mean_score": round(float(b["score"].mean()), 1),
               "dark_spots": len(res.dark_spots), "dark_area_km2": round(float(res.dark_spots["area_m2"].sum()) / 1e6, 3),
               "hotspots": bool(hotspots), "seconds": {k: round(v, 2) for k, v in res.timings.items()},
               "files": ["block_scores.geojson", "block_scores.csv", "fix_first.csv", "dark_spots.geojson",
                         "lighting_zones.csv"]}
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    con.print(f"[green]{len(b)} blocks scored[/green] (mean {summary['mean_score']}) → {out}")
    for r in ff.head(10).itertuples():
        typer.echo(f"{r.priority_rank:>3}. block {r.block_id}: score {r.score:.0f}, priority {r.priority:.3f} — "
                   f"{getattr(r, f'fix_1_{lang}')}")


@cpted_app.command("review")
def review_cmd(
    design: Path = typer.Argument(..., help="Design GeoJSON (features with kind: site, building, entrance, lamp, …)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    html_out: Path | None = typer.Option(None, "--html", help="Write a self-contained HTML report here."),
    rules: Path | None = typer.Option(None, "--rules", help="Rule set YAML (default cpted/rules/default.yaml)."),
    norms: Path | None = typer.Option(None, "--norms", help="Lighting norm table CSV (a city's СП РК / СН РК "
                                      "values); default <data dir>/cities/<city>/norms/lighting.csv or "
                                      "<data dir>/norms/lighting.csv if present, else SanPiN 1.2.3685-21 (RF)."),
    city: str | None = typer.Option(None, "--city", help="City key for the metric CRS (default: UTM zone of the site)."),
    lang: str = typer.Option("ru", "--lang", help="Report language: kk, ru or en."),
) -> None:
    """Check a design rule by rule: PASS / FAIL / NOT_CHECKABLE with measured vs required values.

    Exit code 0 when no rule fails, 1 when some rule fails, 2 on bad input.
    """
    from qauipsiz.api.settings import get_settings
    from qauipsiz.cpted.norms import find_city_norms
    from qauipsiz.cpted.review import review, to_json
    from qauipsiz.maps.review_report import render_review_html

    if lang not in ("kk", "ru", "en"):
        typer.echo(f"error: --lang {lang!r}: use kk, ru or en", err=True)
        raise typer.Exit(2)
    try:
        res = review(design, rules, norms=norms or find_city_norms(get_settings().data_dir, city), city=city)
    except (ValueError, FileNotFoundError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    if html_out:
        html_out.parent.mkdir(parents=True, exist_ok=True)
        html_out.write_text(render_review_html(res, lang), encoding="utf-8")
    if as_json:
        typer.echo(to_json(res))
    else:
        words = {"kk": ("өлшенді", "талап", "қалай түзету", "дереккөз", "нормалар"),
                 "ru": ("измерено", "требуется", "как исправить", "источник", "нормы"),
                 "en": ("measured", "required", "how to fix", "source", "norms")}[lang]
        nm = res["norms"]
        typer.echo(f"{words[4]}: {nm['designation']} — {nm[f'note_{lang}']}")
        for r in res["rules"]:
            typer.echo(f"{r['status']:<14} {r['id']:<24} {words[0]} {r[f'measured_{lang}']} / "
                       f"{words[1]} {r[f'required_{lang}']}  {r[f'title_{lang}']}")
            if r[f"fix_{lang}"]:
                typer.echo(f"{'':<15}{words[2]}: {r[f'fix_{lang}']}")
            typer.echo(f"{'':<15}{words[3]}: {r[f'source_{lang}']}")
        typer.echo(f"summary: {res['summary']}" + (f"; report: {html_out}" if html_out else ""))
    raise typer.Exit(1 if res["summary"]["FAIL"] else 0)
