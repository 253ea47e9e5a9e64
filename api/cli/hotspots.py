"""``qauipsiz hotspots``: one row per H3 cell (counts, density, Gi*, LISA) to GeoJSON / GPKG / Parquet."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from qauipsiz.api.cli._app import app
from qauipsiz.api.cli._inputs import INCIDENTS_HELP, city_incidents

FORMATS = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".parquet": "parquet"}


def _split(v: str | None) -> list[str] | None:
    return [s.strip() for s in v.split(",") if s.strip()] if v else None


def write_table(table, out: Path, params: dict) -> str:
    """Write the hotspot table with hexagon geometries; run parameters go in the metadata.

    GeoJSON: a top-level ``"metadata"`` member; GeoPackage: the layer's ``DESCRIPTION`` metadata
    item ``qauipsiz`` (JSON); Parquet (GeoParquet): schema metadata key ``qauipsiz`` (JSON).
    """
    from qauipsiz.hotspot.surface import to_geodataframe

    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise typer.BadParameter(f"--out {out}: use .geojson, .gpkg or .parquet")
    out.parent.mkdir(parents=True, exist_ok=True)
    g = to_geodataframe(table)
    g["h3"] = g["h3"].astype("uint64")
    meta = json.dumps(params, ensure_ascii=False, default=str)
    if fmt == "geojson":
        g2 = g.copy()
        g2["h3"] = g2["h3"].astype(str)  # JavaScript cannot hold uint64; h3_hex is the key
        fc = json.loads(g2.to_json(drop_id=True))
        fc["metadata"] = json.loads(meta)
        out.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    elif fmt == "gpkg":
        g2 = g.copy()
        g2["h3"] = g2["h3"].astype("int64")  # GPKG has no unsigned 64-bit; H3 ids fit in int64
        g2.to_file(out, driver="GPKG", layer="hotspots", layer_metadata={"qauipsiz": meta},
                   engine="pyogrio")
    else:
        import pyarrow.parquet as pq

        g.to_parquet(out)
        t = pq.read_table(out)
        t = t.replace_schema_metadata({**(t.schema.metadata or {}), b"qauipsiz": meta.encode()})
        pq.write_table(t, out)
    return fmt


def read_metadata(path: Path) -> dict:
    """The run parameters written by :func:`write_table`."""
    path = Path(path)
    suf = path.suffix.lower()
    if FORMATS.get(suf) == "geojson":
        return json.loads(path.read_text(encoding="utf-8"))["metadata"]
    if suf == ".gpkg":
        import pyogrio

        return json.loads(pyogrio.read_info(path, layer="hotspots")["layer_metadata"]["qauipsiz"])
    import pyarrow.parquet as pq

    return json.loads(pq.read_schema(path).metadata[b"qauipsiz"])


def city_default_bandwidth(df, city: str, user_bandwidth_m: float | None):
    """``(bandwidth_m, source, rule, default)`` for a run on ``df`` (the city's **unfiltered** incidents).

    The user's radius wins; otherwise the city default (:func:`hotspot.bandwidth.city_bandwidth_of`),
    recomputed deterministically from all the located incidents read, so every filter of the same
    data gets the same radius. ``default`` is the city default as a dict (None when the user set one).
    """
    from qauipsiz.hotspot.bandwidth import city_bandwidth_of, resolve

    if user_bandwidth_m is not None:
        h, src, rule = resolve(user_bandwidth_m, None)
        return h, src, rule, None
    cb = city_bandwidth_of(df, city)
    h, src, rule = resolve(None, cb)
    return h, src, rule, cb.as_dict()


def district_filter(df, districts: list[str] | None):
    """Rows of ``df`` in ``districts`` (keys of the city registry, column ``district``)."""
    if not districts:
        return df
    if "district" not in df.columns:
        raise ValueError("--districts: the incidents have no 'district' column")
    return df[df["district"].isin(districts).to_numpy(bool)]


def write_density_geotiff(df, city: str, filters: dict, params: dict, path: Path, cell_m: float) -> dict:
    """Density of the filtered incidents over the city's UTM bounding box as a GeoTIFF, with the
    table's kernel and bandwidth (value ``count`` or ``weighted`` as in ``params``)."""
    import numpy as np

    from qauipsiz.hotspot.binning import filter_mask
    from qauipsiz.hotspot.cities import get_city
    from qauipsiz.hotspot.kde import kde_geotiff

    c = get_city(city)
    sub = df[filter_mask(df, c, **filters)] if filters else df
    x, y = c.to_metric(sub["lon"].to_numpy(float), sub["lat"].to_numpy(float))
    inside = c.contains(sub["lat"].to_numpy(float), sub["lon"].to_numpy(float))
    xy = np.column_stack([x, y])[inside]
    w = sub["harm_weight"].to_numpy(float)[inside] if params["value"] == "weighted" else None
    path.parent.mkdir(parents=True, exist_ok=True)
    return kde_geotiff(path, xy, c.epsg, bandwidth_m=params["bandwidth_m"], cell_m=cell_m,
                       bounds=c.boundary_metric.bounds, kernel=params["kernel"], weights=w)


@app.command("hotspots")
def hotspots_cmd(
    city: str = typer.Option("astana", "--city", help="City key (qauipsiz cities)."),
    res: int = typer.Option(9, "--res", min=7, max=11, help="H3 resolution 7–11."),
    out: Path = typer.Option(..., "--out", help="Output file: .geojson, .gpkg or .parquet."),
    incidents: Path = typer.Option(None, "--incidents", help=INCIDENTS_HELP),
    value: str = typer.Option("count", "--value", help="count or weighted (harm-weighted sums)."),
    k: int = typer.Option(1, "--k", help="H3 ring radius of the neighbourhood."),
    distance_m: str = typer.Option(None, "--distance-m",
                                   help="Distance band in metres instead of rings, or 'auto' (Esri rules)."),
    kernel: str = typer.Option("quartic", "--kernel", help="quartic, epanechnikov or gaussian."),
    bandwidth_m: float = typer.Option(None, "--bandwidth-m", min=1.0,
                                      help="KDE radius, metres (default: the city default radius, computed once "
                                           "from all the city's located incidents, the same for every filter)."),
    permutations: int = typer.Option(None, "--permutations",
                                     help="Default: chosen by --inference; 0 = analytic; else the draw count (≥ 9,999)."),
    inference: str = typer.Option("auto", "--inference",
                                  help="auto (default: permutations where the normal approximation fails, "
                                       "e.g. sparse counts), analytic or permutation."),
    min_count: int = typer.Option(0, "--min-count", help="Least incidents in a hot cell's window (0 = no floor)."),
    seed: int = typer.Option(None, "--seed", help="Permutation seed."),
    alpha: float = typer.Option(0.05, "--alpha", help="FDR level for LISA clusters / significance."),
    categories: str = typer.Option(None, "--categories", help="Comma-separated category keys."),
    place_types: str = typer.Option(None, "--place-types", help="Comma-separated place types."),
    districts: str = typer.Option(None, "--districts", help="Comma-separated district keys (qauipsiz cities)."),
    start: str = typer.Option(None, "--start", help="From this local date/time (inclusive)."),
    end: str = typer.Option(None, "--end", help="Until this local date/time (exclusive)."),
    hours: str = typer.Option(None, "--hours", help="Local hours START-END, wrapping, e.g. 18-02."),
    weekdays: str = typer.Option(None, "--weekdays", help="Comma-separated: mon..sun or 0–6."),
    dark: bool = typer.Option(None, "--dark/--light", help="Only in darkness (sun < −6°) / daylight."),
    geotiff: Path = typer.Option(None, "--geotiff",
                                 help="Also write the density surface as a GeoTIFF (city UTM grid)."),
    cell_m: float = typer.Option(50.0, "--cell-m", help="GeoTIFF pixel size, metres."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary instead of text."),
    lang: str = typer.Option("ru", "--lang", help="Language of the summary line: kk, ru or en."),
) -> None:
    """Hot-spot table of a city: one row per H3 cell with count, weighted, density (per km²),
    gi_z, gi_p, gi_q, gi_bin (−3..3 after FDR) and lisa; run parameters in the file's metadata."""
    from rich.console import Console

    from qauipsiz.hotspot.surface import hotspot_table
    from qauipsiz.maps.labels import LANGS

    if lang not in LANGS:
        raise typer.BadParameter(f"use one of {', '.join(LANGS)}", param_hint="--lang")
    console = Console(stderr=True)
    dist: float | str | None = None
    if distance_m is not None:
        dist = "auto" if distance_m == "auto" else float(distance_m)
    filters = {"categories": _split(categories), "place_types": _split(place_types), "start": start,
               "end": end, "hours": hours, "weekdays": _split(weekdays), "dark": dark}
    filters = {a: b for a, b in filters.items() if b is not None}
    with console.status("reading incidents"):
        df, source = city_incidents(city, incidents)
    try:
        bw, bw_source, bw_rule, bw_default = city_default_bandwidth(df, city, bandwidth_m)
        sub = district_filter(df, _split(districts))
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    with console.status(f"binning {len(sub):,} incidents, density, Gi*, LISA at res {res}"):
        try:
            table = hotspot_table(sub, city, res, value=value, k=k, distance_m=dist, kernel=kernel,
                                  bandwidth_m=bw, permutations=permutations, seed=seed,
                                  alpha=alpha, inference=inference, min_count=min_count, **filters)
        except ValueError as e:
            raise typer.BadParameter(str(e)) from e
    params = dict(table.attrs["params"], incidents=source, bandwidth_source=bw_source, bandwidth_rule=bw_rule)
    bw = params["bandwidth_m"]  # the radius the table used
    if bw_default is not None:
        params["bandwidth_default"] = bw_default
    if districts:
        params["filters"] = {**params["filters"], "districts": _split(districts)}
        params["n_input"] = len(df)
    with console.status(f"writing {out}"):
        fmt = write_table(table, out, params)
    if geotiff is not None:
        with console.status(f"writing density GeoTIFF {geotiff}"):
            write_density_geotiff(sub, city, filters, params, geotiff, cell_m)
    bins = table["gi_bin"].value_counts().sort_index()
    summary = {"out": str(out), "format": fmt, "cells": len(table), "incidents_binned": params["n_binned"],
               "hot_99": int(bins.get(3, 0)), "hot_95": int(bins.get(2, 0)), "hot_90": int(bins.get(1, 0)),
               "cold_any": int(bins[bins.index < 0].sum()),
               "inference": params.get("inference"), "permutations": params.get("permutations"),
               "min_count": params.get("min_count"), "reason": params.get("reason"),
               "lisa": {k_: int(v) for k_, v in table["lisa"].value_counts().items()},
               "bandwidth_m": round(bw, 1), "bandwidth_source": bw_source, "bandwidth_rule": bw_rule}
    console.print(f"KDE radius {bw:.0f} m ({bw_source}: {bw_rule})", highlight=False)
    console.print(f"Gi*: {params.get('inference')} ({params.get('permutations')} permutations, "
                  f"min_count {params.get('min_count')}): {params.get('reason')}", highlight=False)
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
    else:
        from qauipsiz.maps.labels import label

        typer.echo(label("hotspotsSummary", lang, cells=summary["cells"], n=summary["incidents_binned"], out=out,
                         fmt=fmt, h99=summary["hot_99"], h95=summary["hot_95"], h90=summary["hot_90"],
                         cold=summary["cold_any"]))
