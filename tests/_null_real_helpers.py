"""Helpers of tests/test_real_and_null_data.py: pattern-free incidents over real city polygons,
the Chicago sample's user city, and ingest through the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CHICAGO = SHARED / "peer" / "chicago_sample_2017_2019.csv"
MALLS = SHARED / "kz" / "osm" / "astana_malls_osm_2022.geojson"
CATMAP = ROOT / "docs" / "examples" / "chicago_categories.csv"


def uniform_points(city, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform *by area* inside the city polygon (drawn in its metric CRS): lat, lon."""
    bm = city.boundary_metric
    x0, y0, x1, y1 = bm.bounds
    xs, ys = [], []
    got = 0
    while got < n:
        m = int((n - got) * 1.7) + 16
        x = rng.uniform(x0, x1, m)
        y = rng.uniform(y0, y1, m)
        ok = shapely.contains_xy(bm, x, y)
        x, y = x[ok][: n - got], y[ok][: n - got]
        xs.append(x)
        ys.append(y)
        got += len(x)
    lon, lat = city.to_wgs84(np.concatenate(xs), np.concatenate(ys))
    return np.asarray(lat), np.asarray(lon)


def chicago_hull_city(tmp: Path, key: str = "chicago"):
    """A user city around the Chicago sample (convex hull + 500 m, as docs/any-city.md does);
    returns (City, env for the CLI, raw sample)."""
    import geopandas as gpd
    from typer.testing import CliRunner

    from qauipsiz.api.cli._app import app
    from qauipsiz.hotspot import cities

    raw = pd.read_csv(CHICAGO, dtype={"id": str})
    hull = shapely.convex_hull(shapely.multipoints(raw[["longitude", "latitude"]].dropna().to_numpy()))
    gpd.GeoSeries([hull], crs=4326).to_crs(32616).buffer(500).to_crs(4326).to_file(tmp / f"{key}.geojson")
    env = {"QAUIPSIZ_DATA_DIR": str(tmp / "var"), "DATABASE_URL": f"sqlite:///{tmp / 'q.db'}"}
    r = CliRunner().invoke(app, ["city", "add", key, "--boundary", str(tmp / f"{key}.geojson"),
                                 "--tz", "America/Chicago"], env=env)
    assert r.exit_code == 0, r.output
    cities.set_user_dir(Path(env["QAUIPSIZ_DATA_DIR"]) / "cities")
    return cities.get_city(key), env, raw


def ingest_cli(env: dict, path: Path, city: str, *extra: str, db: str | None = None):
    """``qauipsiz ingest … --json`` into its own SQLite file; (exit code, report or output, env)."""
    from typer.testing import CliRunner

    from qauipsiz.api.cli._app import app

    env = dict(env, DATABASE_URL=f"sqlite:///{db or str(path) + '.db'}")
    r = CliRunner().invoke(app, ["ingest", str(path), "--city", city, "--category-map", str(CATMAP),
                                 "--json", "--no-progress", *extra], env=env)
    if r.exit_code != 0:
        return r.exit_code, r.output, env
    return 0, json.loads(r.output[r.output.index("{"):]), env
