"""The synthetic Astana demo city: a deterministic, seeded generator on the real Astana streets.

**Everything it writes is synthetic.**  No open incident-level crime data exists for any Kazakh
city; the incidents, lamps, cameras, buildings and every other layer are invented, laid along the
real OpenStreetMap street network of Astana.  Use it to learn the product and to test it, never to
draw conclusions about Astana.  See ``data/incidents/README.md``.
"""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.demo import incidents as inc
from qauipsiz.hotspot.demo.interventions import plant_interventions
from qauipsiz.hotspot.demo.layers import build_layers
from qauipsiz.hotspot.h3grid import latlng_to_cells
from qauipsiz.hotspot.schema import H3_STORE_RES, make_incident_id
from qauipsiz.hotspot.streets import load_intersections, load_streets
from qauipsiz.hotspot.taxonomy import place_types
from qauipsiz.hotspot.timeutil import is_dark, to_utc

NOTICE = ("SYNTHETIC DEMO DATA — invented incidents and city layers on the real Astana street network "
          "(© OpenStreetMap contributors). No open incident-level crime data exists for any Kazakh city; "
          "nothing here describes real crime in Astana.")
LAYER_NAMES = ("lamps", "cameras", "sos_buttons", "buildings", "entrances", "fences", "landuse",
               "transit_stops", "bars", "police_stations", "blocks")


def _progress(enabled: bool, msg: str) -> None:
    if enabled:
        print(f"[demo] {msg}", flush=True)


def _dirty_coordinates(lat, lon, dirt, stations_ll, rng):
    """Apply each row's coordinate dirt; returns exported lat, lon as strings (decimal comma)."""
    lat = lat + rng.normal(0, 4e-5, len(lat))  # ~5 m GPS noise
    lon = lon + rng.normal(0, 6e-5, len(lon))
    out_lat = np.round(lat, 6).astype(object)
    out_lon = np.round(lon, 6).astype(object)
    m = dirt == "swapped"
    out_lat[m], out_lon[m] = out_lon[m], out_lat[m]
    m = dirt == "zero"
    out_lat[m], out_lon[m] = 0.0, 0.0
    m = dirt == "outside"
    out_lat[m] = np.round(lat[m] + rng.choice([-1, 1], m.sum()) * rng.uniform(0.3, 0.6, m.sum()), 6)
    out_lon[m] = np.round(lon[m] + rng.choice([-1, 1], m.sum()) * rng.uniform(0.4, 0.9, m.sum()), 6)
    m = dirt == "low_precision"
    out_lat[m], out_lon[m] = np.round(lat[m], 2), np.round(lon[m], 2)
    m = dirt == "station_sink"
    k = rng.integers(0, len(stations_ll), m.sum())
    out_lat[m], out_lon[m] = stations_ll[k, 1], stations_ll[k, 0]
    m = dirt == "address_only"
    out_lat[m], out_lon[m] = "", ""

    def fmt(v):
        return "" if v == "" else str(v).replace(".", ",")

    return np.array([fmt(v) for v in out_lat]), np.array([fmt(v) for v in out_lon])


def generate(out: str | Path, *, n: int = 60_000, years: float = 2.0, seed: int = 20240301,
             start: str = "2024-01-01", progress: bool = False) -> dict:
    """Generate the demo city into folder ``out`` and return its metadata.

    Parameters
    ----------
    out : path
        Output folder (created).  Layout: ``docs/architecture.md``.
    n : int
        Number of distinct incidents (before duplicates are added to the export).
    years : float
        Length of the period in years, starting at ``start`` (local dates, Asia/Almaty).
    seed : int
        Random seed; the same seed gives byte-identical files.
    """
    out = Path(out)
    (out / "layers").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    city = get_city("astana")
    _progress(progress, "streets and layers")
    streets = load_streets("astana")
    L = build_layers(city, streets, rng)
    L["streets_m"] = streets.to_crs(city.epsg)
    L["streets_m"] = L["streets_m"][shapely.intersects(L["streets_m"].geometry.values, city.boundary_metric)]

    _progress(progress, f"{n} incidents")
    df, hot_rows = inc.generate_incidents(city, L, n, years, rng, start=start)
    df, interventions = plant_interventions(df, L, hot_rows, city, seed)  # issue 18: dated, known effects
    df = inc.assign_articles(df, rng)
    lon, lat = city.to_wgs84(df.x.to_numpy(), df.y.to_numpy())
    df["true_lat"], df["true_lon"] = lat, lon
    df["district"] = city.assign_district(lat, lon)
    dnames = city.districts.set_index("district")["name_ru"].str.replace("район ", "")
    inter = load_intersections("astana")
    inter = inter[(inter.crossroad != "") & (inter.street != "")].reset_index(drop=True)
    ix, iy = city.to_metric(inter.lon.to_numpy(), inter.lat.to_numpy())
    inter["x"], inter["y"] = ix, iy
    _progress(progress, "addresses")
    df = inc.assign_addresses(df, L, inter, df["district"].map(dnames).to_numpy(), rng)

    df = df.sort_values("occurred_local", kind="stable").reset_index(drop=True)
    df["occurred_at"] = to_utc(df["occurred_local"], city.tz)
    delay_h = np.round(rng.lognormal(1.0, 1.2, len(df)), 2)
    df["reported_local"] = (df["occurred_local"] + pd.to_timedelta(delay_h, "h")).dt.floor("min")
    df["reported_at"] = to_utc(df["reported_local"], city.tz)
    year = df["occurred_local"].dt.year.to_numpy() % 100
    df["source"] = "demo"
    df["source_id"] = [f"{y:02d}7111{k:09d}" for y, k in zip(year, range(1, len(df) + 1), strict=True)]
    df["incident_id"] = make_incident_id(df["source"], df["source_id"])
    kinds = list(inc.DIRT_SHARES)
    r = rng.random(len(df))
    edges = np.cumsum(list(inc.DIRT_SHARES.values()))
    k = np.searchsorted(edges, r, side="right")
    df["dirt"] = np.where(k < len(kinds), np.array([*kinds, "clean"], dtype=object)[np.minimum(k, len(kinds))], "clean")
    df["is_dark"] = is_dark(df.true_lat.to_numpy(), df.true_lon.to_numpy(), df["occurred_at"])
    df["h3"] = latlng_to_cells(df.true_lat.to_numpy(), df.true_lon.to_numpy(), H3_STORE_RES)

    stations_ll = np.c_[city.to_wgs84(L["police_stations"].geometry.x.to_numpy(), L["police_stations"].geometry.y.to_numpy())]
    exp_lat, exp_lon = _dirty_coordinates(df.true_lat.to_numpy(), df.true_lon.to_numpy(), df["dirt"].to_numpy(),
                                          stations_ll, rng)
    pt_ru = dict(zip(place_types()["place_type"], place_types()["name_ru"], strict=True))
    export = pd.DataFrame({
        "Номер ЕРДР": df["source_id"],
        "Дата совершения": df["occurred_local"].dt.strftime("%d.%m.%Y %H:%M"),
        "Дата регистрации": df["reported_local"].dt.strftime("%d.%m.%Y %H:%M"),
        "Статья УК РК": df["article_text"],
        "Место совершения": df["place_type"].map(pt_ru),
        "Адрес места происшествия": df["address_raw"],
        "Широта": exp_lat,
        "Долгота": exp_lon,
    })
    # duplicates: re-exported rows (same ЕРДР number) and the same event registered twice (new number)
    n_dup = round(inc.DUPLICATE_SHARE * len(df))
    dup_src = rng.choice(len(export), size=n_dup, replace=False)
    dups = export.iloc[dup_src].copy()
    renumber = rng.random(n_dup) < 0.3
    dups.loc[renumber, "Номер ЕРДР"] = [f"{v[:6]}9{v[7:]}" for v in dups.loc[renumber, "Номер ЕРДР"]]
    export_all = pd.concat([export, dups], ignore_index=True)
    export_all = export_all.iloc[np.argsort(np.r_[np.arange(len(export)), dup_src + 0.5], kind="stable")]
    export_all.to_csv(out / "incidents_export.csv", sep=";", index=False, encoding="utf-8-sig")

    truth_cols = ["incident_id", "source", "source_id", "occurred_at", "reported_at", "category", "ukrk_article",
                  "severity_class", "harm_weight", "place_type", "address_raw", "district", "h3", "is_dark",
                  "true_lat", "true_lon", "dirt", "street_name", "house", "cross_street", "address_style",
                  "hotspot_id", "near_repeat_of"]
    truth = df[truth_cols].copy()
    truth["lat"] = truth["true_lat"]
    truth["lon"] = truth["true_lon"]
    truth.to_parquet(out / "incidents_truth.parquet", index=False)

    hot = pd.DataFrame(hot_rows)
    hlon, hlat = city.to_wgs84(hot.x.to_numpy(), hot.y.to_numpy())
    gpd.GeoDataFrame(hot.drop(columns=["x", "y"]), geometry=shapely.points(hlon, hlat), crs=4326).to_file(
        out / "truth_hotspots.geojson", driver="GeoJSON")

    (out / "interventions_truth.json").write_text(json.dumps(interventions, ensure_ascii=False, indent=1),
                                                  encoding="utf-8")
    _progress(progress, "layers")
    for name in LAYER_NAMES:
        path = out / "layers" / f"{name}.geojson"
        path.unlink(missing_ok=True)
        L[name].to_crs(4326).to_file(path, driver="GeoJSON")
    b = L["buildings"]
    c = shapely.centroid(b.geometry.values)
    blon, blat = city.to_wgs84(shapely.get_x(c), shapely.get_y(c))
    pd.DataFrame({"street": b["street"], "house": b["house"], "lat": np.round(blat, 6), "lon": np.round(blon, 6)}
                 ).to_csv(out / "layers" / "address_points.csv", index=False)

    meta = {
        "synthetic": True,
        "notice": NOTICE,
        "city": "astana",
        "seed": seed,
        "start": start,
        "years": years,
        "params": {
            "category_shares": inc.CATEGORY_SHARES,
            "place_shares": dict(zip(place_types()["place_type"], place_types()["demo_share"], strict=True)),
            "dirt_shares": inc.DIRT_SHARES,
            "duplicate_share": inc.DUPLICATE_SHARE,
            "near_repeat": inc.NEAR_REPEAT,
            "weekday_weights": inc.WEEKDAY_WEIGHTS,
            "season_amplitude": inc.SEASON_AMPLITUDE,
            "dark_shift": inc.DARK_SHIFT,
            "hotspots": inc.HOTSPOTS,
        },
        "counts": {"incidents": len(df), "export_rows": len(export_all), "duplicates": n_dup,
                   **{f"layer_{k}": len(L[k]) for k in LAYER_NAMES}},
        "attribution": "Streets and boundaries © OpenStreetMap contributors (ODbL); everything else synthetic.",
    }
    (out / "metadata.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    _progress(progress, f"done: {meta['counts']}")
    return meta
