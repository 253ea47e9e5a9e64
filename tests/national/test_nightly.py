"""The nightly national job on a 2-worker Dask LocalCluster equals a single-machine run, survives a
killed worker, and reports a city with bad data after its retries while the others finish (issue 19.3).

The national set is small and real in format: three user cities registered with
:func:`hotspot.cities.add_city` in ``ROOT/cities`` (small boxes, so res-10 tables stay small) and
about 1,500 incidents each written by :func:`hotspot.analytic.write_city` as hive-partitioned
GeoParquet, with planted clusters over one year.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qauipsiz.hotspot import cities as cities_mod
from qauipsiz.hotspot import nightly

# (key, lon, lat) of small test cities inside Kazakhstan (Karaganda, Pavlodar, Aktobe)
TOWNS = (("tkar", 73.10, 49.80, 1800), ("tpav", 76.95, 52.29, 1400), ("takt", 57.17, 50.28, 1000))
VOLATILE = {"seconds", "read_s", "cpu_s", "pid", "peak_rss_mib", "finished_utc"}


def _box(lon: float, lat: float, dx: float = 0.035, dy: float = 0.025):
    import shapely

    return shapely.box(lon - dx, lat - dy, lon + dx, lat + dy)


def _events(key: str, lon: float, lat: float, n: int, tz: str, rng) -> pd.DataFrame:
    nh = n // 3
    centres = rng.uniform(-0.02, 0.02, size=(3, 2))
    k = rng.integers(0, 3, nh)
    lo = np.r_[lon + centres[k, 0] + rng.normal(0, 0.0015, nh), lon + rng.uniform(-0.035, 0.035, n - nh)]
    la = np.r_[lat + centres[k, 1] + rng.normal(0, 0.001, nh), lat + rng.uniform(-0.025, 0.025, n - nh)]
    t = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 365, n), unit="D")
    loc = t.tz_convert(tz)
    return pd.DataFrame({"incident_id": [f"{key}-{i}" for i in range(n)], "occurred_at": t,
                         "category": rng.choice(["theft", "robbery", "hooliganism"], n), "lat": la, "lon": lo,
                         "district": None, "is_dark": rng.random(n) < 0.4,
                         "hour_local": loc.hour.to_numpy(np.int8), "weekday_local": loc.day_of_week.to_numpy(np.int8)})


@pytest.fixture(scope="module")
def national_set(tmp_path_factory):
    """ROOT of a 3-city national set (4,200 incidents); the user-city folder is restored after."""
    import geopandas as gpd

    from qauipsiz.hotspot.analytic import write_city, write_manifest

    root = tmp_path_factory.mktemp("national") / "ds"
    before = cities_mod._user_dir
    cities_mod.set_user_dir(root / "cities")
    rng = np.random.default_rng(19)
    try:
        for key, lon, lat, n in TOWNS:
            f = root.parent / f"{key}.geojson"
            gpd.GeoDataFrame({"name": [key]}, geometry=[_box(lon, lat)], crs=4326).to_file(f, driver="GeoJSON")
            c = cities_mod.add_city(key, boundary=f)
            write_city(root, key, _events(key, lon, lat, n, c.tz, rng), synthetic=True, notice="test set")
        write_manifest(root, synthetic=True, notice="test set", seed=19, events=sum(t[3] for t in TOWNS),
                       cities=[t[0] for t in TOWNS])
        yield root
    finally:
        cities_mod.set_user_dir(before)


@pytest.fixture(scope="module")
def reference(national_set, tmp_path_factory):
    """The single-machine run: every part of every city in this process."""
    out = tmp_path_factory.mktemp("single")
    before = cities_mod._user_dir
    try:
        for key, *_ in TOWNS:
            nightly.run_city(national_set, out, key)
    finally:
        cities_mod.set_user_dir(before)
    return out


@pytest.fixture(scope="module")
def client():
    from distributed import Client

    from qauipsiz.api.cli.national_run import local_cluster

    cluster = local_cluster(2, dashboard_address=":0")
    with Client(cluster) as c:
        yield c
    cluster.close()


def assert_same_outputs(ref: Path, got: Path, cities=None, parts=nightly.PARTS) -> None:
    """Every file of the single-machine run equals the cluster run's, cell for cell."""
    import pyarrow.parquet as pq
    import rasterio

    names = {"hotspots9": ["hotspots_res9.parquet"], "hotspots10": ["hotspots_res10.parquet"],
             "density": ["density.tif"], "emerging": ["emerging_res9.parquet"], "forecast": ["forecast.csv"]}
    for key in cities or [t[0] for t in TOWNS]:
        a_dir, b_dir = nightly.city_dir(ref, key), nightly.city_dir(got, key)
        for part in parts:
            for name in names[part]:
                a, b = a_dir / name, b_dir / name
                assert b.exists(), f"{key}: {name} missing"
                if name.endswith(".parquet"):
                    ta, tb = pq.read_table(a), pq.read_table(b)
                    pd.testing.assert_frame_equal(ta.to_pandas(), tb.to_pandas(), check_exact=True)
                    assert json.loads(ta.schema.metadata[b"qauipsiz"]) == json.loads(tb.schema.metadata[b"qauipsiz"])
                    assert ta.num_rows > 0
                elif name.endswith(".tif"):
                    with rasterio.open(a) as ra, rasterio.open(b) as rb:
                        assert ra.transform == rb.transform and ra.crs == rb.crs
                        xa, xb = ra.read(1), rb.read(1)
                        np.testing.assert_array_equal(xa, xb)
                        assert np.nanmax(xa) > 0
                else:
                    assert a.read_bytes() == b.read_bytes()
            ja = json.loads((a_dir / f"part_{part}.json").read_text())
            jb = json.loads((b_dir / f"part_{part}.json").read_text())
            assert {k: v for k, v in ja.items() if k not in VOLATILE} == \
                   {k: v for k, v in jb.items() if k not in VOLATILE}


def test_cli_on_cluster_equals_single_machine(national_set, reference, client, tmp_path):
    """``qauipsiz national run --scheduler tcp://…`` on the 2-worker cluster == the single-machine run."""
    from typer.testing import CliRunner

    from qauipsiz.api.cli import app

    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["national", "run", "--data", str(national_set), "--out", str(out),
                                 "--scheduler", client.scheduler.address, "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.output.strip().splitlines()[-1])
    assert s["workers"] == 2 and s["failed"] == []
    rows = {row["city"]: row for row in s["rows"]}
    assert set(rows) == {t[0] for t in TOWNS}
    for key, _, _, n in TOWNS:
        assert rows[key]["status"] == "ok" and rows[key]["events"] == n and rows[key]["parts_done"] == 5
        assert rows[key]["forecast_method"] == nightly.FORECAST_METHOD
    # largest city first in the summary (scheduling order)
    assert [row["city"] for row in s["rows"]] == [t[0] for t in sorted(TOWNS, key=lambda t: -t[3])]
    csv = pd.read_csv(out / "national_summary.csv")
    assert list(csv["city"]) == [row["city"] for row in s["rows"]]
    # both workers computed something: the work was spread
    parts = json.loads((out / "national_summary.json").read_text())["parts"]
    assert len({p["pid"] for p in parts}) == 2
    for key, *_ in TOWNS:  # default: one task per city, which read the city's incidents once
        reads = [p["read_s"] for p in parts if p["city"] == key]
        assert reads[0] > 0 and reads[1:] == [0.0] * 4
    assert_same_outputs(reference, out)
    # the single-machine summary rows agree with the cluster's (apart from timings)
    for key, *_ in TOWNS:
        parts = [json.loads((nightly.city_dir(reference, key) / f"part_{p}.json").read_text()) for p in nightly.PARTS]
        want = nightly.city_row(key, parts)
        assert {k: v for k, v in want.items() if k != "seconds"} == \
               {k: v for k, v in rows[key].items() if k != "seconds"}


def test_one_task_per_part_equals_single_machine(national_set, reference, client, tmp_path):
    """``granularity="part"`` (one task per city part, each reading the city) writes the same outputs."""
    from qauipsiz.api.cli.national_run import run_national

    s = run_national(client, national_set, tmp_path / "out", granularity="part", progress=False)
    assert s["failed"] == [] and len(s["parts"]) == 5 * len(TOWNS)
    assert all(p["read_s"] > 0 for p in s["parts"])  # every part read the city itself
    assert_same_outputs(reference, tmp_path / "out")


def test_failed_city_is_retried_then_reported(national_set, reference, client, tmp_path):
    """A city whose partition is corrupt fails on every attempt (1 + retries) and is reported; the others finish."""
    from qauipsiz.api.cli.national_run import run_national

    root = tmp_path / "ds"
    shutil.copytree(national_set, root)
    bad = sorted((root / "incidents" / "city=tpav").rglob("*.parquet"))[3]
    bad.write_bytes(b"PAR1 this is not a parquet file")
    log = tmp_path / "attempts.log"

    def logged(root_, out_, city, part, **kw):
        with open(log, "a") as fh:
            fh.write(f"{city}\n")
        return nightly.run_part(root_, out_, city, part, **kw)

    s = run_national(client, root, tmp_path / "out", parts=("hotspots9",), retries=2, progress=False,
                     part_fn=logged, granularity="part")
    rows = {r["city"]: r for r in s["rows"]}
    assert s["failed"] == ["tpav"]
    assert rows["tpav"]["status"] == "failed" and "hotspots9" in rows["tpav"]["error"]
    assert log.read_text().split().count("tpav") == 3  # first try + 2 retries
    for key in ("tkar", "takt"):
        assert rows[key]["status"] == "ok"
    assert_same_outputs(reference, tmp_path / "out", cities=["tkar", "takt"], parts=("hotspots9",))
    assert (pd.read_csv(tmp_path / "out" / "national_summary.csv").set_index("city").loc["tpav", "status"]
            == "failed")


def test_killed_worker_still_gives_complete_outputs(national_set, reference, client, tmp_path):
    """A worker process that dies mid-task (it exits the first time it runs tkar's res-9 table) has the
    task rerun by the scheduler on a live worker; every output is complete and equals the reference."""
    from qauipsiz.api.cli.national_run import run_national

    marker = tmp_path / "died.json"

    def die_once(root_, out_, city, part, **kw):
        if city == "tkar" and part == "hotspots9" and not marker.exists():
            marker.write_text(json.dumps({"pid": os.getpid()}))
            os._exit(1)  # the worker process is gone mid-task
        return nightly.run_part(root_, out_, city, part, **kw)

    before = set(client.scheduler_info()["workers"])
    s = run_national(client, national_set, tmp_path / "out", parts=("hotspots9", "forecast"), retries=1,
                     progress=False, part_fn=die_once, granularity="part")
    assert marker.exists(), "the worker was not killed"
    dead = json.loads(marker.read_text())["pid"]
    assert s["failed"] == [] and all(r["status"] == "ok" for r in s["rows"])
    redo = [p for p in s["parts"] if p["city"] == "tkar" and p["part"] == "hotspots9"]
    assert len(redo) == 1 and redo[0]["pid"] != dead
    assert_same_outputs(reference, tmp_path / "out", parts=("hotspots9", "forecast"))
    client.wait_for_workers(2, timeout=60)
    assert set(client.scheduler_info()["workers"]) != before  # the nanny started a new worker


def test_unknown_city_and_part_are_value_errors(national_set, client, tmp_path):
    from qauipsiz.api.cli.national_run import run_national

    with pytest.raises(ValueError, match="nowhere"):
        run_national(client, national_set, tmp_path, cities=["nowhere"], progress=False)
    with pytest.raises(ValueError, match="parts: unknown"):
        run_national(client, national_set, tmp_path, parts=("hotspots8",), progress=False)
