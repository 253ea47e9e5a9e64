"""``qauipsiz quarantine list|export``: see rows that failed validation, fix them, re-ingest."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from qauipsiz.api.cli._app import app

quarantine_app = typer.Typer(help="Rows that failed validation (fix and re-ingest them).", no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")


def _rows(city, status, reason, batch):
    from qauipsiz.api.store import Store

    return Store.from_settings().quarantine_rows(city, status=None if status == "all" else status, reason=reason,
                                                  batch_id=batch)


@quarantine_app.command("list")
def list_cmd(
    city: str = typer.Option(None, "--city", help="City key (default: all)."),
    status: str = typer.Option("open", "--status", help="open | resolved | all."),
    reason: str = typer.Option(None, "--reason", help="Only this reason code."),
    batch: int = typer.Option(None, "--batch", help="Only this ingest batch."),
    limit: int = typer.Option(50, "--limit", help="Rows to show (0 = all)."),
    as_json: bool = typer.Option(False, "--json", help="JSON: counts per reason and the rows."),
) -> None:
    """List quarantined rows with their row number, field and reason."""
    q = _rows(city, status, reason, batch)
    counts = q["reason"].value_counts().to_dict() if len(q) else {}
    shown = q if limit == 0 else q.head(limit)
    if as_json:
        typer.echo(json.dumps({"total": len(q), "reasons": counts,
                               "rows": json.loads(shown.to_json(orient="records", force_ascii=False,
                                                                date_format="iso"))}, ensure_ascii=False))
        return
    typer.echo(f"{len(q)} quarantined rows ({status})" + (": " + ", ".join(f"{k} {v}" for k, v in counts.items())
                                                         if counts else ""))
    for r in shown.itertuples():
        typer.echo(f"#{r.id} batch {r.batch_id} {r.source} {r.file_name or ''} row {r.row_number}: "
                   f"[{r.reason}] {r.message}")


@quarantine_app.command("export")
def export_cmd(
    out: Path = typer.Option(..., "--out", help="File to write: .csv (for Excel, formula-safe) or .json."),
    city: str = typer.Option(None, "--city", help="City key (default: all)."),
    status: str = typer.Option("open", "--status", help="open | resolved | all."),
    reason: str = typer.Option(None, "--reason", help="Only this reason code."),
    batch: int = typer.Option(None, "--batch", help="Only this ingest batch."),
) -> None:
    """Write quarantined rows with their original columns plus _quarantine_id, _reason, _message.

    Fix the cells in a spreadsheet and run ``qauipsiz ingest FILE --city CITY``: fixed rows are
    accepted and their quarantine entries marked resolved.
    """
    import pandas as pd

    from qauipsiz.api.store.export import write_csv_safe

    q = _rows(city, status, reason, batch)
    raw = pd.DataFrame([json.loads(r) for r in q["raw"]]) if len(q) else pd.DataFrame()
    meta = pd.DataFrame({"_quarantine_id": q["id"].to_numpy(), "_source": q["source"].to_numpy(),
                         "_row_number": q["row_number"].to_numpy(), "_reason": q["reason"].to_numpy(),
                         "_field": q["field"].to_numpy(), "_message": q["message"].to_numpy()})
    table = pd.concat([meta, raw.reset_index(drop=True)], axis=1)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".json":
        out.write_text(table.to_json(orient="records", force_ascii=False, indent=1), encoding="utf-8")
    else:
        write_csv_safe(table, out)
    typer.echo(f"{len(table)} quarantined rows -> {out}")
