"""Where the analysis commands get their data: the store by default, files when given.

The store (``DATABASE_URL`` or the embedded SQLite file) is the system of record, so
``hotspots``, ``cpted score``, ``recommend``, ``patrol`` and ``map`` read a city's located
incidents and layers from it, the same data the service uses. When the store holds nothing of
the demo city, the demo folder (``QAUIPSIZ_DEMO_DIR``) is ingested first, as ``qauipsiz serve``
does. ``--incidents FILE`` and ``--layers DIR`` analyse files instead, without touching the store.
"""
from __future__ import annotations

import logging
from pathlib import Path

import typer

INCIDENTS_HELP = ("Incident table (Parquet/CSV/GeoJSON/GPKG in the schema's columns). "
                  "Default: the city's located incidents in the store.")
LAYERS_HELP = "Folder of city layers (lamps.geojson, cameras.csv, …). Default: the city's layers in the store."


def read_incidents(path: Path):
    """Incidents from Parquet, CSV, GeoJSON or GeoPackage in the schema's columns.

    Points come from ``lat``/``lon`` (decimal degrees, WGS 84) or from the geometry; ``occurred_at``
    is parsed as UTC when present.
    """
    import pandas as pd

    if not path.exists():
        raise typer.BadParameter(f"{path}: file not found", param_hint="--incidents")
    suf = path.suffix.lower()
    if suf == ".parquet":
        df = pd.read_parquet(path)
    elif suf in (".csv", ".txt"):
        df = pd.read_csv(path)
    elif suf in (".geojson", ".json", ".gpkg"):
        import geopandas as gpd

        g = gpd.read_file(path)
        df = pd.DataFrame(g.drop(columns="geometry"))
        if "lat" not in df.columns:
            df["lat"], df["lon"] = g.geometry.y.to_numpy(), g.geometry.x.to_numpy()
    else:
        raise typer.BadParameter(f"{path}: unsupported incident file type {suf!r} (parquet, csv, geojson, gpkg)",
                                 param_hint="--incidents")
    if "occurred_at" in df.columns:
        df["occurred_at"] = pd.to_datetime(df["occurred_at"], utc=True)
    return df


def shown_url(url: str) -> str:
    """A store URL fit for messages and metadata: the password masked."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def ensure_city_data(store, city: str, demo_dir: Path, *, echo=print) -> dict:
    """Ingest the demo city's export and layers into ``store`` when it holds no incidents of ``city``.

    Only a demo folder made for ``city`` (its ``metadata.json``) is used, and a store that already
    holds incidents of ``city`` is never touched, so synthetic layers cannot mix with real data.
    Returns what was done: ``{"ingested": report or None, "layers": {name: n} or None}`` and, when
    layers were imported, ``"layers_quarantined": {layer: {reason: rows}}`` (rows set aside by the
    checks of :mod:`qauipsiz.api.layer_checks`).
    """
    import json

    done = {"ingested": None, "layers": None}
    if store.count_incidents(city) > 0:
        return done
    meta_path = Path(demo_dir) / "metadata.json"
    demo_city = json.loads(meta_path.read_text(encoding="utf-8")).get("city") if meta_path.exists() else None
    if demo_city != city:
        echo(f"qauipsiz: the store has no incidents of {city!r} and there is no demo city for it at {demo_dir}; "
             f"ingest your own export (`qauipsiz ingest FILE --city {city}`)")
        return done
    from qauipsiz.api.ingest import ingest_file
    from qauipsiz.api.ingest.geocoding import city_geocoder

    export = Path(demo_dir) / "incidents_export.csv"
    echo(f"qauipsiz: the store is empty; ingesting the demo city from {export} …")
    rep = ingest_file(export, city=city, store=store, source="demo", geocoder=city_geocoder(city),
                      who="qauipsiz (demo)", progress=True)
    echo(f"qauipsiz: ingested {rep.to_json()}")
    done["ingested"] = rep.to_json()
    if not store.list_layers(city):
        layers = Path(demo_dir) / "layers"
        if layers.is_dir():
            echo(f"qauipsiz: importing city layers from {layers} …")
            imported = store.import_layers_dir(city, layers)  # the rows checked as by `ingest-layers`
            done["layers"] = dict(imported)
            done["layers_quarantined"] = imported.quarantined()
            for lay, reasons in done["layers_quarantined"].items():
                echo(f"qauipsiz: layer {lay}: set aside {sum(reasons.values())} rows {reasons}")
    return done


def _say(msg: str) -> None:
    typer.echo(msg, err=True)


def _store(city: str):
    """The settings' store, with the demo city ingested when the store holds none of ``city``."""
    from qauipsiz.api.settings import get_settings
    from qauipsiz.api.store import Store

    s = get_settings()
    store = Store(s.database_url)
    ensure_city_data(store, city, s.demo_dir, echo=_say)
    return store, shown_url(s.database_url)


def city_incidents(city: str, path: Path | None = None):
    """Located incidents of ``city``: from ``path`` when given, else from the store.

    Returns ``(DataFrame, source)`` where ``source`` names the file or the store URL (for the
    output's metadata). Raises ``typer.BadParameter`` when the store holds none.
    """
    if path is not None:
        return read_incidents(path), str(path)
    store, url = _store(city)
    try:
        df = store.query_incidents(city, located_only=True)
    finally:
        store.close()
    if len(df) == 0:
        raise typer.BadParameter(
            f"the store ({url}) has no located incidents of {city!r}. Ingest an export first "
            f"(`qauipsiz ingest FILE --city {city}`; `make run` loads the demo city), "
            "or pass --incidents FILE", param_hint="--incidents")
    return df, url


def city_layers(city: str, folder: Path | None = None) -> dict:
    """City layers (lamps, cameras, police_stations …) of ``city``: from ``folder`` when given,
    else from the store (``qauipsiz ingest-layers``). May be empty.

    A folder's rows go through the checks of ``ingest-layers`` (:mod:`qauipsiz.api.layer_checks`),
    so ``--layers DIR`` analyses the same rows the store would hold; the rows set aside are logged
    (logger ``qauipsiz.layers``, level INFO), not printed, so the commands' output is unchanged."""
    if folder is not None:
        if not folder.is_dir():
            raise typer.BadParameter(f"{folder}: not a folder", param_hint="--layers")
        from qauipsiz.api.layer_checks import check_layers_dir
        from qauipsiz.cpted.layers import SCHEMAS, validate_layers

        try:  # the rows `ingest-layers` would store; the others are reported and left out
            checked = check_layers_dir(city, folder)
            for lay, reasons in checked.quarantined().items():  # a log line: stdout/stderr stay as they were
                logging.getLogger("qauipsiz.layers").info(
                    "layer %s: set aside %d rows %s (`qauipsiz ingest-layers --quarantine-out FILE` lists them)",
                    lay, sum(reasons.values()), reasons)
            return validate_layers({k: v for k, v in checked.layers.items() if k in SCHEMAS})
        except ValueError as e:
            raise typer.BadParameter(str(e), param_hint="--layers") from e
    from qauipsiz.cpted.layers import validate_layers

    store, _ = _store(city)
    try:
        raw = store.load_layers(city)
    finally:
        store.close()
    try:
        return validate_layers(raw)
    except ValueError as e:
        raise typer.BadParameter(f"stored layers of {city!r}: {e}", param_hint="--layers") from e
