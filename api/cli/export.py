"""``qauipsiz export incidents``: incidents to GeoPackage, GeoJSON, CSV (formula-safe) or Parquet."""
from __future__ import annotations

from pathlib import Path

import typer

from qauipsiz.api.cli._app import app

export_app = typer.Typer(help="Export data from the store.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("incidents")
def export_incidents_cmd(
    city: str = typer.Option(..., "--city", help="City key."),
    fmt: str = typer.Option("gpkg", "--format", help="gpkg | geojson | csv | parquet."),
    out: Path = typer.Option(None, "--out", help="Output file (default incidents_<city>.<format>)."),
    start: str = typer.Option(None, "--from", help="Only incidents on/after this date (ISO, UTC)."),
    end: str = typer.Option(None, "--to", help="Only incidents before this date (ISO, UTC)."),
    category: list[str] = typer.Option(None, "--category", help="Taxonomy category key (repeatable)."),
    district: list[str] = typer.Option(None, "--district", help="District key (repeatable)."),
    source: list[str] = typer.Option(None, "--source", help="Source register (repeatable)."),
    located_only: bool = typer.Option(False, "--located-only", help="Skip rows awaiting geocoding."),
    utc: bool = typer.Option(False, "--utc", help="Times in UTC (default: the city's local time)."),
    sep: str = typer.Option(";", "--sep", help="CSV separator."),
) -> None:
    """Export incidents with filters.  CSV cells starting with = + - @ tab CR are neutralised."""
    from qauipsiz.api.store import Store
    from qauipsiz.api.store.export import EXPORT_FORMATS, export_incidents
    from qauipsiz.hotspot.cities import get_city

    fmt = fmt.lower()
    if fmt not in EXPORT_FORMATS:
        typer.echo(f"error: --format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}", err=True)
        raise typer.Exit(2)
    try:
        c = get_city(city)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from e
    store = Store.from_settings()
    df = store.query_incidents(c.key, start=start, end=end, categories=category or None,
                               districts=district or None, sources=source or None, located_only=located_only)
    out = out or Path(f"incidents_{c.key}.{fmt}")
    export_incidents(df, out, fmt, tz=None if utc else c.tz, sep=sep)
    store.audit("export_incidents", resource=str(out), params={"city": c.key, "format": fmt, "rows": len(df),
                                                               "from": start, "to": end})
    typer.echo(f"{len(df)} incidents -> {out}")


def store_to_analytic(store, root: Path, cities: list[str] | None = None) -> dict:
    """Write the store's located incidents as the analytic store (layout: ``hotspot.analytic``).

    Every city with incidents (or ``cities``) gets ``ROOT/incidents/city=<key>/month=<YYYY-MM>/``;
    user cities are copied to ``ROOT/cities/`` in the ``city add`` format; ``ROOT/_dataset.json``
    records the store's data version of each city.  Returns the manifest plus ``skipped`` (rows
    awaiting geocoding, per city: the analytic store holds located incidents only).
    """
    import shutil

    import pandas as pd
    from sqlalchemy import text

    from qauipsiz.hotspot import analytic
    from qauipsiz.hotspot.cities import _COLUMNS, get_city
    from qauipsiz.hotspot.timeutil import is_dark, to_local

    with store.engine.connect() as conn:
        in_store = sorted(r[0] for r in conn.execute(text("SELECT DISTINCT city FROM incidents")))
    keys = [get_city(k).key for k in cities] if cities else in_store
    counts, skipped, versions, synthetic, user_rows = {}, {}, {}, {}, []
    for k in keys:
        c = get_city(k)
        df = store.query_incidents(k)
        located = df["lat"].notna().to_numpy() & df["lon"].notna().to_numpy()
        skipped[k] = int((~located).sum())
        df = df[located].reset_index(drop=True)
        loc = to_local(df["occurred_at"], c.tz)
        dark = df["is_dark"].astype(object).to_numpy()
        missing = pd.isna(dark)
        if missing.any():
            dark[missing] = is_dark(df["lat"].to_numpy(float)[missing], df["lon"].to_numpy(float)[missing],
                                    df["occurred_at"][missing])
        df["is_dark"] = dark.astype(bool)
        df["hour_local"] = loc.dt.hour.to_numpy().astype("int8")
        df["weekday_local"] = loc.dt.day_of_week.to_numpy().astype("int8")
        synthetic[k] = bool((df["source"] == "demo").any())
        shutil.rmtree(root / "incidents" / f"city={k}", ignore_errors=True)
        analytic.write_city(root, k, df, synthetic=synthetic[k],
                            notice="SYNTHETIC DEMO DATA (source 'demo')" if synthetic[k] else None)
        counts[k] = len(df)
        versions[k] = store.data_version(k)
        if c.user:
            shutil.copytree(c.folder, root / "cities" / k, dirs_exist_ok=True)
            user_rows.append({"city": k, **{f: getattr(c, f) for f in _COLUMNS if f != "city"}})
    if user_rows:
        pd.DataFrame(user_rows, columns=list(_COLUMNS)).to_csv(root / "cities" / "cities.csv", index=False)
    meta = analytic.write_manifest(root, synthetic=any(synthetic.values()),
                                   notice="some cities hold SYNTHETIC demo incidents: " + ", ".join(
                                       k for k, v in synthetic.items() if v) if any(synthetic.values()) else "",
                                   seed=None, events=sum(counts.values()), cities=keys, counts=counts,
                                   data_versions=versions, synthetic_cities=synthetic, source="store")
    return {**meta, "skipped": skipped}


@export_app.command("parquet")
def export_parquet_cmd(
    out: Path = typer.Option(..., "--out", help="Output folder (the analytic store's root)."),
    city: list[str] = typer.Option(None, "--city", help="City key (repeatable); default every city in the store."),
) -> None:
    """Write the analytic store: GeoParquet partitioned by city and month (located incidents)."""
    from qauipsiz.api.store import Store

    store = Store.from_settings()
    meta = store_to_analytic(store, out, city or None)
    store.audit("export_parquet", resource=str(out), params={"cities": meta["cities"], "rows": meta["events"]})
    skipped = sum(meta["skipped"].values())
    typer.echo(f"{meta['events']} incidents of {len(meta['cities'])} cities -> {out}"
               + (f" ({skipped} awaiting geocoding not exported)" if skipped else ""))
