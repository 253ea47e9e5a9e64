"""``qauipsiz keys``: create, list and revoke API keys (only their sha256 is stored)."""
from __future__ import annotations

import os
from pathlib import Path

import typer

from qauipsiz.api.cli._app import app

keys_app = typer.Typer(help="API keys for the service: create, list, revoke. The store keeps only hashes.",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _store():
    from qauipsiz.api.store import Store

    return Store.from_settings()


@keys_app.command("create")
def create(
    role: str = typer.Argument(..., help="public | analyst | planner | commander | admin | inspector"),
    label: str = typer.Option("", "--label", help="Who or what the key is for."),
    beat: str | None = typer.Option(None, "--beat", help="Beat id an inspector key is bound to (required for "
                                    "inspector; ids from GET /cities/{city}/beats.geojson)."),
    city: str | None = typer.Option(None, "--city", help="City whose beats --beat is checked against "
                                    "(default: the configured city)."),
    save: Path = typer.Option(None, "--save", help="Also write the key to this file (mode 600)."),
) -> None:
    """Create a key and print it once (an inspector key: bound to the beat given by --beat)."""
    from qauipsiz.api.auth import ROLES

    if role not in ROLES:
        raise typer.BadParameter(f"unknown role {role!r}; roles: {', '.join(ROLES)}", param_hint="ROLE")
    store = _store()
    if role == "inspector" and beat:
        from qauipsiz.api.routers.beats import compute_beats
        from qauipsiz.api.settings import get_settings

        c = city or get_settings().city
        ids = sorted(compute_beats(store, c)["beat_id"])
        if beat not in ids:
            typer.echo(f"error: --beat {beat!r}: not a beat of {c} ({len(ids)} beats, e.g. "
                       f"{', '.join(ids[:3])}; GET /cities/{c}/beats.geojson lists them)", err=True)
            raise typer.Exit(2)
    try:
        key = store.create_api_key(role, label, beat)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    if save is not None:
        save.parent.mkdir(parents=True, exist_ok=True)
        save.write_text(key + "\n", encoding="utf-8")
        os.chmod(save, 0o600)
    typer.echo(key)


@keys_app.command("list")
def list_keys() -> None:
    """List keys (id, prefix, role, label, created, revoked) — never the keys themselves."""
    df = _store().list_api_keys()
    typer.echo(df.astype(object).where(df.notna(), "—").to_string(index=False) if len(df) else "no keys")


@keys_app.command("revoke")
def revoke(key_id: int = typer.Argument(..., help="The key's id from `qauipsiz keys list`.")) -> None:
    """Revoke a key by id."""
    if not _store().revoke_api_key(key_id):
        raise typer.BadParameter(f"no active key with id {key_id}", param_hint="KEY_ID")
    typer.echo(f"revoked key {key_id}")
