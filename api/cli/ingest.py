"""``qauipsiz ingest`` and ``qauipsiz ingest-layers``: load exports and city layers into the store."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from qauipsiz.api.cli._app import app


@app.command("ingest")
def ingest_cmd(
    path: Path = typer.Argument(..., help="Export file: CSV, XLSX, GeoJSON, GPKG or Parquet."),
    city: str = typer.Option(..., "--city", help="City key, e.g. astana."),
    source: str = typer.Option(None, "--source", help="Register name (erdr, 102, koap…); default: file name."),
    mapping: Path = typer.Option(None, "--mapping", help="Mapping file (YAML/JSON) overriding header auto-mapping."),
    category_map: Path = typer.Option(
        None, "--category-map", exists=True, dir_okay=False,
        help="Police labels -> taxonomy categories: CSV 'label,category' or YAML/JSON {label: category}; "
             "adds to the mapping file's categories."),
    date_format: str = typer.Option(
        None, "--date-format",
        help="How to read dates: a strptime pattern (e.g. '%m/%d/%Y %I:%M:%S %p', '%d.%m.%Y %H:%M') or "
             "day-first / month-first; overrides the mapping file's date_format. Without either, the "
             "day/month order is inferred per column and a column that cannot be decided is refused."),
    sheet: str = typer.Option(None, "--sheet", help="XLSX: sheet name or 0-based number (default: the first with data)."),
    as_json: bool = typer.Option(False, "--json", help="Print only the accounting (with date_order and flags) as JSON."),
    geocode: bool = typer.Option(True, "--geocode/--no-geocode",
                                 help="Geocode address-only rows now (else store them as awaiting geocoding)."),
    who: str = typer.Option(None, "--who", help="Recorded in the batch log (default: OS user)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar on stderr."),
) -> None:
    """Ingest an incident export: every row ends accepted, duplicate or quarantined (with a reason).

    One file is one batch, written in one transaction; re-running the same file adds nothing.
    """
    from qauipsiz.api.ingest import ingest_file
    from qauipsiz.api.ingest.geocoding import city_geocoder
    from qauipsiz.api.ingest.mapping import load_category_map, load_mapping_file
    from qauipsiz.api.store import Store

    try:
        if date_format or category_map:
            mapping = load_mapping_file(mapping) if mapping else {}
            if date_format:
                mapping["date_format"] = date_format
            if category_map:
                mapping["categories"] = {**(mapping.get("categories") or {}), **load_category_map(category_map)}
        store = Store.from_settings()
        geocoder = city_geocoder(city) if geocode else None
        if geocode and geocoder is None:
            typer.echo(f"note: no gazetteer for {city!r}; address-only rows are stored awaiting geocoding "
                       "(build one with `qauipsiz geocode build`)", err=True)
        rep = ingest_file(path, city=city, store=store, source=source, mapping=mapping, geocoder=geocoder,
                          who=who, progress=progress and sys.stderr.isatty(), sheet=sheet)
        store.audit("ingest", who=who, resource=str(path), params={"batch_id": rep.batch_id, **rep.to_json()})
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    if as_json:
        typer.echo(json.dumps({**rep.to_json(), "date_order": rep.date_order,
                               "date_order_basis": rep.date_order_basis, "flags": dict(sorted(rep.flags.items()))},
                              ensure_ascii=False))
        return
    typer.echo(f"batch {rep.batch_id} · {rep.file_name} · {rep.format} {rep.encoding} sep={rep.sep!r} · "
               f"source={rep.source} city={rep.city}")
    typer.echo(f"input {rep.input} = accepted {rep.accepted} + duplicates {rep.duplicates} + "
               f"quarantined {rep.quarantined}")
    for code, n in sorted(rep.reasons.items(), key=lambda kv: -kv[1]):
        typer.echo(f"  quarantined {code}: {n}")
    if rep.flags:
        typer.echo("  flags: " + ", ".join(f"{k} {v}" for k, v in sorted(rep.flags.items())))
    typer.echo(f"  awaiting geocoding: {rep.awaiting_geocoding}; geocoded now: {rep.geocoded}")
    typer.echo(f"  mapping: {json.dumps(rep.mapping, ensure_ascii=False)}")
    if rep.date_order:
        typer.echo(f"  date order: {json.dumps(rep.date_order, ensure_ascii=False)}")
        for f, basis in rep.date_order_basis.items():
            if basis == "layout" and rep.date_order.get(f) == "day-first":
                typer.echo(f"  date order warning: field {f}: no value decides day/month (every field ≤ 12); "
                           "read day-first by the dd.mm.yyyy convention — pass --date-format month-first if not")
            elif basis and basis.startswith("values of"):
                typer.echo(f"  date order: field {f} follows the {basis} (one order per file)")
    for w in rep.date_warnings[:20]:
        typer.echo(f"  date warning: row {w['row']} field {w['field']}: {w['flag']} {w['value']!r}")
    if len(rep.date_warnings) > 20:
        typer.echo(f"  … {len(rep.date_warnings) - 20} more date warnings")


@app.command("ingest-layers")
def ingest_layers_cmd(
    folder: Path = typer.Argument(..., help="Folder of <layer>.geojson / .gpkg files (e.g. data/demo/astana/layers)."),
    city: str = typer.Option(..., "--city", help="City key."),
    as_json: bool = typer.Option(False, "--json", help="Print {layer: features stored, …, \"quarantined\": "
                                 "{layer: {reason: rows}}, \"renamed\": {layer: {column: field}}, \"skipped\": {file: why}} as JSON."),
    quarantine_out: Path | None = typer.Option(None, "--quarantine-out",
                                               help="Write the rows set aside (layer, row, field, reason, "
                                                    "message, raw) to this CSV."),
) -> None:
    """Load city layers (lamps, cameras, SOS buttons, …) into the store, replacing each layer.

    Every row is checked (geometry, inside the city, schema values); bad rows are set aside with
    their row, field and reason, the rest is stored.  Kk: қабаттарды жүктеу; ru: загрузка слоёв.
    """
    from qauipsiz.api.ingest.layers import import_layers
    from qauipsiz.api.store import Store

    if not folder.is_dir():
        typer.echo(f"error: {folder}: not a folder", err=True)
        raise typer.Exit(2)
    store = Store.from_settings()
    try:
        counts, quar, renamed = import_layers(store, city, folder)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    skipped = renamed.pop("_skipped", {})
    qsum = {str(lay): {str(r): int(n) for r, n in g["reason"].value_counts().items()}
            for lay, g in quar.groupby("layer")}
    store.audit("ingest_layers", resource=str(folder), params={**counts, "quarantined": qsum})
    if quarantine_out is not None:
        quar.to_csv(quarantine_out, index=False)
    if as_json:
        typer.echo(json.dumps({**counts, "quarantined": qsum, "renamed": renamed, "skipped": skipped},
                              ensure_ascii=False))
        return
    for name, why in skipped.items():
        typer.echo(f"skipped {name}: {why}")
    for k, v in counts.items():
        extra = f" (set aside {sum(qsum[k].values())}: {qsum[k]})" if k in qsum else ""
        typer.echo(f"{k}: {v}{extra}" + (f"; columns read as {renamed[k]}" if k in renamed else ""))
    for r in quar.head(20).itertuples():
        typer.echo(f"  quarantined: layer {r.layer} row {r.row} field {r.field}: {r.reason} {r.message}")
    if len(quar) > 20:
        typer.echo(f"  … {len(quar) - 20} more (--quarantine-out FILE writes them all)")
