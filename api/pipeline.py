"""The main analysis job: ingest → hotspots → CPTED → recommendations → patrol cards → maps.

``make run`` runs it on the demo city before it serves the dashboard; ``qauipsiz pipeline``
runs it on any city whose export and layers are given.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio

from qauipsiz.api.store.export import write_csv_safe
from qauipsiz.hotspot.cities import get_city

DEMO_NOTICE_FILE = "metadata.json"


def _say(progress: bool, msg: str) -> None:
    if progress:
        print(f"[pipeline] {msg}", flush=True)


def _write_geojson(gdf, path: Path, meta: dict) -> None:
    """GeoJSON with a top-level ``metadata`` member (run parameters, the data's notice)."""
    doc = json.loads(gdf.to_json(drop_id=True, default=str))
    doc["metadata"] = meta
    path.write_text(json.dumps(doc, ensure_ascii=False, default=str), encoding="utf-8")


def _records(df: pd.DataFrame, cols: list[str]) -> list[dict]:
    keep = [c for c in cols if c in df.columns]
    return json.loads(df[keep].to_json(orient="records", force_ascii=False))


def run_pipeline(city: str, export: Path, layers_dir: Path, out: Path, *, store=None, source: str = "demo",  # noqa: PLR0913 -- keyword-only options with defaults
                 notice: str | None = None, res: int = 9, cameras: int = 50, sos: int = 20, posts: int = 10,
                 shift: str | None = None, units: int = 4, progress: bool = True, lang: str = "ru") -> dict:
    """Run the whole analysis for ``city`` and write every output into folder ``out``.

    Parameters
    ----------
    city : str
        City registry key.
    export : path
        A police incident export (CSV/XLSX/GeoJSON/GPKG/Parquet) — ingested through the store's
        ingestion path, with address-only rows geocoded offline.
    layers_dir : path
        Folder of city layers (``lamps.geojson``, ``cameras.geojson`` …), imported into the store.
    out : path
        Output folder.
    store : api.store.Store, optional
        Default: the store of the settings (``DATABASE_URL`` or the embedded SQLite file).
    notice : str, optional
        A notice copied into every output's metadata (the demo's "synthetic" notice).
    res : int
        H3 resolution of the hotspot table.
    cameras, sos, posts : int
        Budgets of the recommendations.
    shift : str, optional
        Patrol shift ``"YYYY-MM-DD HH:MM/HH:MM"`` (local time); default 18:00–02:00 on the last day
        of the data.
    units : int
        Patrol units for that shift.
    lang : {"kk", "ru", "en"}
        Language of the route cards and the fix-first list (one language only).

    Returns
    -------
    dict
        The run summary, also written to ``out/run.json``.
    """
    from qauipsiz.api.ingest import ingest_file
    from qauipsiz.api.ingest.geocoding import city_geocoder
    from qauipsiz.api.store import Store
    from qauipsiz.cpted.fix_list import city_streets, fix_first
    from qauipsiz.cpted.layers import SCHEMAS, validate_layers
    from qauipsiz.cpted.score import score_blocks
    from qauipsiz.cpted.siting import recommend_cameras, recommend_posts, recommend_sos
    from qauipsiz.hotspot.streets import has_streets

    c = get_city(city)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    store = store or Store.from_settings()
    timings: dict[str, float] = {}
    summary: dict = {"city": c.key, "notice": notice, "outputs": {}}

    def stage(name):
        timings[name] = time.perf_counter()

    def done(name):
        timings[name] = round(time.perf_counter() - timings[name], 2)
        _say(progress, f"{name}: {timings[name]} s")

    stage("ingest")
    rep = ingest_file(export, city=c.key, store=store, source=source, geocoder=city_geocoder(c.key), progress=progress)
    summary["ingest"] = rep.as_dict() if hasattr(rep, "as_dict") else dict(rep)
    imported = store.import_layers_dir(c.key, layers_dir)
    summary["layers"] = _layer_report(imported, out, store, layers_dir, progress)
    done("ingest")
    _say(progress, f"ingest: {summary['ingest']}")

    incidents = store.query_incidents(c.key, located_only=True)
    layers = validate_layers({k: v for k, v in imported.layers.items() if k in SCHEMAS})  # the rows stored
    summary["incidents_located"] = len(incidents)

    stage("hotspots")
    table = hotspots_and_density(incidents, c.key, res, out, notice)
    params = table.attrs["params"]
    hot = table[table["gi_bin"] == 3]
    summary["hotspots"] = {"res": res, "cells": len(table), "hot_99": len(hot),
                           "hot_any": int((table["gi_bin"] > 0).sum()), "bandwidth_m": params["bandwidth_m"],
                           "bandwidth_source": params["bandwidth_source"], "value": params["value"]}
    done("hotspots")

    stage("cpted")
    blocks = score_blocks(c.key, layers, table)
    _write_geojson(blocks, out / "cpted_blocks.geojson", {"notice": notice})
    ff = fix_first(blocks, n=50, lang=lang, streets=city_streets(c.key))
    write_csv_safe(ff, out / "fix_first.csv", sep=",")
    if notice:
        (out / "NOTICE.txt").write_text(notice + "\n", encoding="utf-8")
    summary["cpted"] = {"blocks": len(blocks), "mean_score": round(float(blocks["score"].mean()), 1)}
    done("cpted")

    if not has_streets(c.key):
        skipped = (f"no street network for {c.key!r} (data/streets/{c.key}_streets.json): camera, SOS and "
                   "post siting and patrol routing need it")
        summary["skipped"] = {"recommend": skipped, "patrol": skipped}
        _say(progress, f"skipped recommend and patrol: {skipped}")
        return _finish(summary, timings, out, progress, {})

    stage("recommend")
    recs = {}
    for kind, fn, budget in (("cameras", recommend_cameras, cameras), ("sos", recommend_sos, sos),
                             ("posts", recommend_posts, posts)):
        r = fn(c.key, incidents, layers, budget)
        recs[kind] = r
        (out / f"recommend_{kind}.json").write_text(json.dumps(
            {"sites": _records(r, list(r.columns)), "notice": notice}, ensure_ascii=False, indent=1, default=str),
            encoding="utf-8")
    summary["recommend"] = {k: len(v) for k, v in recs.items()}
    done("recommend")

    stage("patrol")
    summary["patrol"] = _patrol(c, incidents, layers, out / "patrol", shift, units, notice, lang)
    done("patrol")

    return _finish(summary, timings, out, progress, recs)


def _layer_report(imported, out: Path, store, layers_dir: Path, progress: bool) -> dict:
    """The layers' part of the run summary; the rows set aside go to ``out/layers_quarantine.csv``
    (the columns of ``qauipsiz ingest-layers --quarantine-out``) and into the audit log."""
    qsum = imported.quarantined()
    rep: dict = {"stored": dict(imported), "quarantined": qsum, "renamed": imported.renamed,
                 "skipped": imported.skipped}
    qfile = out / "layers_quarantine.csv"
    if len(imported.quarantine):
        write_csv_safe(imported.quarantine, qfile, sep=",")
        rep["quarantine_file"] = str(qfile)
    elif qfile.exists():
        qfile.unlink()  # a previous run's rows, no longer true
    store.audit("ingest_layers", resource=str(layers_dir), params={**dict(imported), "quarantined": qsum})
    for lay, reasons in qsum.items():
        _say(progress, f"layers: {lay}: set aside {sum(reasons.values())} rows {reasons} (see {qfile.name})")
    return rep


def hotspots_and_density(incidents: pd.DataFrame, city: str, res: int, out: Path, notice: str | None = None,
                         *, value: str = "weighted", cell_m: float = 50.0) -> pd.DataFrame:
    """The pipeline's hotspot table (``hotspots_res{res}.geojson``) and density raster (``density.tif``).

    Both use one radius, the city default of :func:`hotspot.bandwidth.city_bandwidth_of` on all of
    ``incidents`` (the city's located incidents), and one weighting (``value``: harm-weighted sums by
    default), on the same points: the located incidents inside the city polygon. The raster covers the
    city's UTM bounding box; its tags carry ``bandwidth_m``, ``bandwidth_source`` and ``value``.
    Returns the table (run parameters in ``attrs["params"]``).
    """
    from qauipsiz.hotspot.bandwidth import city_bandwidth_of, resolve
    from qauipsiz.hotspot.kde import kde_geotiff
    from qauipsiz.hotspot.surface import hotspot_table, to_geodataframe

    c = get_city(city)
    cb = city_bandwidth_of(incidents, c)
    h, source, rule = resolve(None, cb)
    table = hotspot_table(incidents, c.key, res=res, value=value, bandwidth_m=h)
    params = {**table.attrs["params"], "bandwidth_source": source, "bandwidth_rule": rule,
              "bandwidth_default": cb.as_dict()}
    table.attrs["params"] = params
    _write_geojson(to_geodataframe(table), out / f"hotspots_res{res}.geojson", {"notice": notice, "params": params})
    lat = incidents["lat"].to_numpy(float)
    lon = incidents["lon"].to_numpy(float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    ok[ok] = c.contains(lat[ok], lon[ok])
    x, y = c.to_metric(lon[ok], lat[ok])
    w = None
    if value == "weighted":
        w = np.nan_to_num(incidents["harm_weight"].to_numpy(float)[ok], nan=0.0)  # as hotspot_table
    tif = kde_geotiff(out / "density.tif", np.c_[x, y], c.epsg, bandwidth_m=params["bandwidth_m"], cell_m=cell_m,
                      bounds=c.boundary_metric.bounds, kernel=params["kernel"], weights=w)
    with rasterio.open(out / "density.tif", "r+") as ds:
        tags = {"bandwidth_source": source, "value": value,
                "units": "harm-weighted incidents per km2" if value == "weighted" else "incidents per km2"}
        if notice:
            tags["NOTICE"] = notice
        ds.update_tags(**tags)
    params["density_tif"] = {k: tif[k] for k in ("bandwidth_m", "kernel", "cell_m", "n_points")}
    return table


def _finish(summary: dict, timings: dict, out: Path, progress, recs: dict) -> dict:
    summary["timings_s"] = timings
    (out / "run.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    if progress:
        _print_top(recs)
    return summary


def _patrol(c, incidents: pd.DataFrame, layers: dict, folder: Path, shift: str | None, units: int,
            notice: str | None, lang: str = "ru") -> dict:
    from qauipsiz.hotspot.patrol import parse_shift, plan_patrol, route_cards_html

    if shift is None:
        last = incidents["occurred_at"].max().tz_convert(c.tz).date()
        shift = f"{last:%Y-%m-%d} 18:00/02:00"
    sh = parse_shift(shift, c.tz)
    stations = layers.get("police_stations")
    if stations is None or not len(stations):
        raise ValueError("patrol: the layers have no police_stations to use as a depot")
    depot = stations.to_crs(c.epsg).iloc[0]
    routes, stops = plan_patrol(c.key, incidents, sh.start, sh.end, units, (depot.geometry.x, depot.geometry.y),
                                depot_name=str(depot.get("name", "")))
    folder.mkdir(parents=True, exist_ok=True)
    _write_geojson(routes, folder / "routes.geojson", {"notice": notice, "shift": shift})
    cards = route_cards_html(routes, stops, c, out_dir=folder, lang=lang)
    return {"shift": shift, "units": units, "hotspots_visited": int((stops["kind"] == "hotspot").sum()),
            "cards": sorted(str(folder / f"route_card_unit_{u}.html") for u in cards)}


def _print_top(recs: dict[str, pd.DataFrame], n: int = 5) -> None:
    for kind, r in recs.items():
        print(f"\nTop {min(n, len(r))} {kind} sites:")
        for row in r.head(n).itertuples():
            print(f"  #{row.rank}  {row.lat:.5f}, {row.lon:.5f}  gain {row.marginal_gain:.3g}  — {row.reason}")


def run_demo(demo_dir: Path, out: Path, **kw) -> dict:
    """Run :func:`run_pipeline` on a demo city folder made by ``qauipsiz demo``."""
    demo_dir = Path(demo_dir)
    meta = json.loads((demo_dir / DEMO_NOTICE_FILE).read_text(encoding="utf-8"))
    return run_pipeline(meta["city"], demo_dir / "incidents_export.csv", demo_dir / "layers", out,
                        notice=meta["notice"], **kw)



