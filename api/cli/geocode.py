"""``qauipsiz geocode``: geocode one address or a CSV offline, build a gazetteer, report match rates.

    qauipsiz geocode "пр. Кабанбай батыра, 10" --city astana --json
    qauipsiz geocode --file incidents.csv --column "Адрес места происшествия" --city astana --out geocoded.csv
    qauipsiz geocode build --city almaty --streets s.json --intersections i.json [--addresses a.csv] --out DIR
    qauipsiz geocode report geocoded.csv [--json]
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import typer
from typer.core import TyperGroup

from qauipsiz.api.cli._app import app
from qauipsiz.api.store.export import write_csv_safe

ADDED = ("lat", "lon", "precision", "score", "uncertainty_m", "matched")


class _LookupByDefault(TyperGroup):
    """``qauipsiz geocode ADDRESS …`` and ``qauipsiz geocode --file …`` run the ``lookup`` command."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["lookup", *args]
        return super().parse_args(ctx, args)


geo = typer.Typer(
    cls=_LookupByDefault, no_args_is_help=True, add_completion=False,
    help="Geocode Kazakh/Russian addresses offline against the city gazetteer "
         "(Мекенжай геокодтау / Геокодирование адресов). "
         "Use `qauipsiz geocode ADDRESS` or `qauipsiz geocode --file F --column C --out OUT`.")
app.add_typer(geo, name="geocode")


def _geocoder(city: str, gazetteer: Path | None):
    from qauipsiz.hotspot.geocode import Geocoder

    if gazetteer is not None:
        return Geocoder.from_gazetteer(gazetteer)
    return Geocoder.for_city(city)


def _read_table(path: Path) -> tuple[pd.DataFrame, str, bool]:
    if not path.exists():
        raise typer.BadParameter(f"file not found: {path}", param_hint="--file")
    suf = path.suffix.lower()
    if suf in (".parquet", ".pq"):
        return pd.read_parquet(path), ",", False
    if suf in (".xlsx", ".xls"):
        return pd.read_excel(path, dtype=str).fillna(""), ",", False
    raw = path.read_bytes()[:65536]
    bom = raw.startswith(b"\xef\xbb\xbf")
    head = raw.decode("utf-8", errors="replace").lstrip("\ufeff").splitlines()[0] if raw else ""
    sep = ";" if head.count(";") > head.count(",") else ("\t" if head.count("\t") > head.count(",") else ",")
    df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return df, sep, bom


@geo.command("lookup")
def lookup_cmd(
    address: str = typer.Argument(None, help="Address text (omit with --file)."),
    file: Path = typer.Option(None, "--file", "-f", help="CSV (, or ; separated), XLSX or Parquet to geocode."),
    column: str = typer.Option(None, "--column", "-c", help="Address column of --file."),
    out: Path = typer.Option(None, "--out", "-o", help="Output CSV for --file (default: <file>.geocoded.csv)."),
    city: str = typer.Option("astana", "--city", help="City registry key."),
    district: str = typer.Option(None, "--district", help="District key hint for every address."),
    district_column: str = typer.Option(None, "--district-column", help="Column of --file with district keys."),
    gazetteer: Path = typer.Option(None, "--gazetteer", help="Gazetteer folder built by `geocode build`."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Geocode one ADDRESS, or every row of --file (keeps all input columns in order and adds
    lat, lon, precision, score, uncertainty_m, matched; rows below the accept score are also
    written to <out>.quarantine.csv with their best three candidates)."""
    if (address is None) == (file is None):
        raise typer.BadParameter("give either an ADDRESS or --file", param_hint="ADDRESS / --file")
    try:
        g = _geocoder(city, gazetteer)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--city / --gazetteer") from e
    if address is not None:
        try:
            r = g.geocode_one(address, district)
        except ValueError as e:
            raise typer.BadParameter(str(e), param_hint="--district") from e
        if as_json:
            typer.echo(json.dumps(r, ensure_ascii=False))
        else:
            typer.echo(f"{r['precision']:<12} score {r['score']:>5}  ±{r['uncertainty_m']} m  "
                       f"{r['lat']}, {r['lon']}  {r['matched']}")
            for c in r.get("candidates", []):  # an ambiguous answer: every candidate, for a person to choose
                typer.echo(f"  ambiguous: {c}")
        return
    _batch(g, file, column, out, district, district_column, as_json)


def _batch(g, file: Path, column: str | None, out: Path | None, district, district_column, as_json) -> None:
    from rich.progress import Progress

    from qauipsiz.hotspot.geocode import match_report

    df, sep, bom = _read_table(file)
    if column is None:
        raise typer.BadParameter("--column is required with --file", param_hint="--column")
    if column not in df.columns:
        raise typer.BadParameter(f"no column {column!r} in {file} (columns: {list(df.columns)})", param_hint="--column")
    if district_column is not None and district_column not in df.columns:
        raise typer.BadParameter(f"no column {district_column!r} in {file}", param_hint="--district-column")
    texts = df[column].astype(object).where(df[column].notna(), None).tolist()
    hints = (df[district_column].replace("", None).tolist() if district_column else district)
    parts = []
    step = 20_000
    with Progress(transient=True, disable=as_json) as prog:
        task = prog.add_task("geocoding", total=len(texts))
        for i in range(0, max(len(texts), 1), step):
            h = hints[i:i + step] if isinstance(hints, list) else hints
            try:
                parts.append(g.geocode(texts[i:i + step], h))
            except ValueError as e:
                raise typer.BadParameter(str(e)) from e
            prog.update(task, advance=min(step, len(texts) - i))
    res = pd.concat(parts, ignore_index=True) if parts else g.geocode([])
    outdf = df.copy()
    for c in ADDED:
        name = c if c not in df.columns else f"{c}_geocode"
        outdf[name] = res[c].to_numpy()
    out = out or file.with_name(file.stem + ".geocoded.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_csv_safe(outdf, out, sep=sep, bom=bom)
    q = ~res["accepted"].to_numpy()
    qpath = out.with_name(out.stem + ".quarantine.csv")
    qdf = pd.DataFrame({"row": np.flatnonzero(q) + 1, "address": np.asarray(texts, object)[q],
                        "precision": res["precision"][q].to_numpy(), "score": res["score"][q].to_numpy(),
                        "candidates": res["candidates"][q].to_numpy(), "ambiguous": res["ambiguous"][q].to_numpy()})
    write_csv_safe(qdf, qpath, sep=sep, bom=bom)
    rep = match_report(res[["precision", "score", "lat", "lon", "ambiguous"]], city=g.city.key) if len(res) else None
    summary = {"rows": len(df), "out": str(out), "quarantine": str(qpath), "quarantined": int(q.sum()),
               "ambiguous": int(res["ambiguous"].sum()),
               "match_rate": rep["match_rate"] if rep else None, "warning": rep["warning"] if rep else None,
               "by_precision": {r["group"]: r["n"] for r in rep["by_precision"]} if rep else {}}
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
        return
    typer.echo(f"{len(df)} rows → {out}  (match rate {summary['match_rate']:.1%}; "
               f"{summary['quarantined']} rows to {qpath}, {summary['ambiguous']} of them ambiguous)")
    if summary["warning"]:
        typer.secho("WARNING: " + summary["warning"], fg=typer.colors.YELLOW, err=True)


@geo.command("build")
def build_cmd(
    city: str = typer.Option(..., "--city", help="City registry key (CRS and districts)."),
    streets: Path = typer.Option(None, "--streets", help='Streets JSON {"streets":[{"name","points":[{"lat","lng"}]}]} (default: shipped).'),
    intersections: Path = typer.Option(None, "--intersections", help="Intersections JSON {street:[{crossroad,lat,lng}]} (default: shipped)."),
    addresses: Path = typer.Option(None, "--addresses", help="House-level address points CSV: street, house, lat, lon."),
    pois: Path = typer.Option(None, "--pois", help="Landmarks (CSV/Parquet/GeoJSON): name, lat, lon[, kind]."),
    aliases: Path = typer.Option(None, "--aliases", help="Alias table CSV (default data/gazetteer/aliases.csv)."),
    out: Path = typer.Option(None, "--out", "-o", help="Output folder (default: the shipped data/gazetteer/<city>/)."),
    as_json: bool = typer.Option(False, "--json", help="Print the build summary as JSON."),
) -> None:
    """Build a city's gazetteer (Parquet tables + meta.json) from its streets and intersections."""
    from qauipsiz.hotspot.geocode.gazetteer import build_gazetteer, shipped_dir

    try:
        with _status(f"building the {city} gazetteer", as_json):
            g = build_gazetteer(city, streets, intersections, addresses=addresses, pois=pois, aliases=aliases)
            path = g.save(out or shipped_dir(city))
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    if as_json:
        typer.echo(json.dumps({"out": str(path), **g.meta["counts"]}, ensure_ascii=False))
    else:
        typer.echo(f"gazetteer → {path}: " + ", ".join(f"{k} {v}" for k, v in g.meta["counts"].items()))


def _status(msg: str, quiet: bool):
    from contextlib import nullcontext

    from rich.console import Console

    return nullcontext() if quiet else Console(stderr=True).status(msg)


@geo.command("report")
def report_cmd(
    file: Path = typer.Argument(..., help="Geocoded CSV or Parquet (batch output or the incidents table)."),
    city: str = typer.Option(None, "--city", help="Assign districts from lat/lon when the table has no district column."),
    min_rate: float = typer.Option(0.85, "--min-rate", help="Warn below this match rate (0–1)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Match rate overall, per district, per source and per precision level (warns below 85 %)."""
    from rich.console import Console
    from rich.table import Table

    from qauipsiz.hotspot.geocode.report import match_report, read_geocoded

    try:
        rep = match_report(read_geocoded(file), city=city, min_rate=min_rate)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="FILE") from e
    if as_json:
        typer.echo(json.dumps(rep, ensure_ascii=False))
    else:
        con = Console()
        con.print(f"[bold]{file}[/]: {rep['n']} rows, matched {rep['matched']} — match rate "
                  f"[bold]{rep['match_rate']:.1%}[/] (Сәйкестік / Доля сопоставленных)")
        if rep.get("ambiguous") is not None:
            con.print(f"ambiguous (several streets, nothing separating them): {rep['ambiguous']} rows")
        for title, rows in (("district", rep["by_district"]), ("source", rep["by_source"])):
            if not rows:
                continue
            t = Table(title=f"by {title}")
            for col in (title, "rows", "matched", "rate"):
                t.add_column(col, justify="right" if col != title else "left")
            for r in rows:
                t.add_row(r["group"], str(r["n"]), str(r["matched"]),
                          ("[red]" if r["warning"] else "") + f"{r['match_rate']:.1%}")
            con.print(t)
        t = Table(title="by precision")
        for col in ("precision", "rows", "share"):
            t.add_column(col)
        for r in rep["by_precision"]:
            t.add_row(r["group"], str(r["n"]), f"{r['share']:.1%}")
        con.print(t)
    if rep["warning"]:
        typer.secho("WARNING: " + rep["warning"], fg=typer.colors.YELLOW, err=True)
