"""The nightly national job on a 2-worker Dask LocalCluster equals a single-machine run, survives a
worker killed from outside with SIGKILL, and reports a city with bad data after its retries while
the others finish (issue 19.3); its progress and summary are in kk/ru/en.

The national set is small and real in format: three user cities registered with
:func:`hotspot.cities.add_city` in ``ROOT/cities`` (small boxes, so res-10 tables stay small) and
about 1,500 incidents each written by :func:`hotspot.analytic.write_city` as hive-partitioned
GeoParquet, with planted clusters over one year.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
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
    from qauipsiz.api.cli.national_run import city_costs

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
        assert rows[key]["attempts"] == 1 and rows[key]["worker_deaths"] == 0  # nothing was rerun
    # largest expected work first in the summary (scheduling order)
    costs = city_costs(national_set, [t[0] for t in TOWNS])
    assert [row["city"] for row in s["rows"]] == sorted(costs, key=lambda k: -costs[k])
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
               {k: v for k, v in rows[key].items() if k not in ("seconds", "attempts", "worker_deaths")}


def test_one_task_per_part_equals_single_machine(national_set, reference, client, tmp_path):
    """``granularity="part"`` (one task per city part, each reading the city) writes the same outputs."""
    from qauipsiz.api.cli.national_run import run_national

    s = run_national(client, national_set, tmp_path / "out", granularity="part", progress=False)
    assert s["failed"] == [] and len(s["parts"]) == 5 * len(TOWNS)
    assert all(p["read_s"] > 0 for p in s["parts"])  # every part read the city itself
    assert_same_outputs(reference, tmp_path / "out")


def test_split_cities_picks_the_cities_too_large_for_an_even_spread():
    from qauipsiz.api.cli.national_run import split_cities

    sizes = {"a": 50, "b": 30, "c": 20}
    assert split_cities(sizes, 1) == []  # one worker: nothing to spread
    assert split_cities(sizes, 2) == ["a"]  # 50 > 0.8 x 100 / 2
    assert split_cities(sizes, 4) == ["a", "b"]  # c = 20 is not over 0.8 x 25
    assert split_cities(sizes, 2, share=1.0) == []  # a is exactly an even share
    assert split_cities({"a": 0}, 4) == []


def test_city_costs_are_events_plus_cells(national_set):
    """Expected work = incidents + 100 per res-9 cell (area / 0.1053 km²): checked against the events
    written and the box's area in UTM metres (geopandas), and against the H3 cells that cover it."""
    import geopandas as gpd

    from qauipsiz.api.cli.national_run import CELL_EVENTS, H3_RES9_KM2, city_area_km2, city_costs
    from qauipsiz.hotspot.h3grid import latlng_to_cells

    costs = city_costs(national_set, [t[0] for t in TOWNS])
    for key, lon, lat, n in TOWNS:
        g = gpd.GeoSeries([_box(lon, lat)], crs=4326)
        area = float(g.to_crs(g.estimate_utm_crs()).area.iloc[0]) / 1e6
        assert city_area_km2(national_set, key) == pytest.approx(area, rel=2e-3)
        assert costs[key] == pytest.approx(n + CELL_EVENTS * area / H3_RES9_KM2, rel=2e-3)
        gx, gy = np.meshgrid(np.linspace(lon - 0.035, lon + 0.035, 300), np.linspace(lat - 0.025, lat + 0.025, 300))
        cells = len(np.unique(latlng_to_cells(gy.ravel(), gx.ravel(), 9)))  # cells touching the box
        assert 0.8 * cells < area / H3_RES9_KM2 < 1.1 * cells


def test_auto_granularity_splits_the_largest_city_only(national_set, reference, client, tmp_path):
    """``granularity="auto"``: with the share set between the largest city's load and the next one's,
    only tkar runs as five part tasks, each reading it; the other cities as one task each; outputs
    equal the single-machine run."""
    from qauipsiz.api.cli.national_run import city_costs, run_national

    costs = city_costs(national_set, [t[0] for t in TOWNS])
    first, second = sorted(costs.values(), reverse=True)[:2]
    assert costs["tkar"] == first  # the premise: tkar, with the most events, is the largest
    share = (first + second) / 2 / (sum(costs.values()) / 2)
    s = run_national(client, national_set, tmp_path / "out", granularity="auto", split_share=share)
    assert s["split_cities"] == ["tkar"] and s["failed"] == []
    assert sorted((t["city"], t["task"]) for t in s["tasks"]) == sorted(
        [("tkar", p) for p in nightly.PARTS] + [("tpav", "city"), ("takt", "city")])
    for key, *_ in TOWNS:
        reads = [p["read_s"] for p in s["parts"] if p["city"] == key]
        assert len(reads) == 5 and (all(r > 0 for r in reads) if key == "tkar" else reads[1:] == [0.0] * 4)
    assert_same_outputs(reference, tmp_path / "out")


def _cli(args: list[str]):
    from typer.testing import CliRunner

    from qauipsiz.api.cli import app

    return CliRunner().invoke(app, ["national", "run", *args])


def test_failed_city_is_retried_then_reported(national_set, reference, client, tmp_path):
    """A city whose partition file is corrupt fails on every attempt (1 + 2 retries, each recorded by
    the task itself) and is reported by name and reason, in the chosen language, with exit code 1;
    the other cities finish and equal the single-machine run."""
    root = tmp_path / "ds"
    shutil.copytree(national_set, root)
    bad = sorted((root / "incidents" / "city=tpav").rglob("*.parquet"))[3]
    bad.write_bytes(b"PAR1 this is not a parquet file")
    out = tmp_path / "out"
    r = _cli(["--data", str(root), "--out", str(out), "--scheduler", client.scheduler.address,
              "--parts", "hotspots9", "--retries", "2", "--lang", "kk"])
    assert r.exit_code == 1, r.output
    s = json.loads((out / "national_summary.json").read_text())
    rows = {row["city"]: row for row in s["rows"]}
    assert s["failed"] == ["tpav"]
    assert rows["tpav"]["status"] == "failed" and rows["tpav"]["attempts"] == 3  # first try + 2 retries
    err = rows["tpav"]["error"]
    assert "'tpav'" in err and str(bad.relative_to(root)) in err and "magic bytes" in err, err
    (task,) = [t for t in s["tasks"] if t["city"] == "tpav"]
    assert [a["status"] for a in task["attempts"]] == ["error"] * 3 and task["worker_deaths"] == 0
    for key in ("tkar", "takt"):
        assert rows[key]["status"] == "ok" and rows[key]["attempts"] == 1
    assert_same_outputs(reference, out, cities=["tkar", "takt"], parts=("hotspots9",))
    assert not (nightly.city_dir(out, "tpav") / "hotspots_res9.parquet").exists()
    assert pd.read_csv(out / "national_summary.csv").set_index("city").loc["tpav", "status"] == "failed"
    # the terminal says it in Kazakh: the summary, the failed city with its attempts and reason,
    # and a plain progress line per task (the runner's stderr is not a terminal)
    assert "3 қаланың 2 дайын" in r.stdout
    failed = [ln for ln in r.stdout.splitlines() if "орындалмады: tpav, 3 әрекеттен кейін" in ln]
    assert len(failed) == 1 and "magic bytes" in failed[0]
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("[")]
    assert len(lines) == 3 and sum("ҚАТЕ" in ln and "tpav" in ln for ln in lines) == 1, r.stderr
    assert sum("дайын" in ln for ln in lines) == 2
    assert "Dask басқару тақтасы: http" in r.stderr  # the module's cluster serves a dashboard (bokeh)


def test_worker_killed_from_outside_mid_task(national_set, reference, tmp_path):
    """SIGKILL to the worker process running a city's task, from outside, while ``national run`` runs
    in its own process: the nanny starts a new worker, the scheduler reruns the task, the outputs
    are complete and equal the single-machine run, and the report names the city, the killed pid
    and the scheduler's count of worker deaths."""
    from distributed import Client

    from qauipsiz.api.cli.national_run import local_cluster

    def executing(dask_worker):
        return [str(ts.key) for ts in dask_worker.state.executing]

    out = tmp_path / "out"
    cluster = local_cluster(2, dashboard_address=":0")  # its own: fresh worker processes, cold caches
    try:
        with Client(cluster) as c:
            pids = c.run(os.getpid)  # worker address -> pid
            cmd = [sys.executable, "-c", "from qauipsiz.api.cli import main; main()", "national", "run",
                   "--data", str(national_set), "--out", str(out), "--scheduler", c.scheduler.address,
                   "--lang", "en"]
            env = {**os.environ, "QAUIPSIZ_DATA_DIR": str(tmp_path / "home")}
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            try:
                # tkar, the largest city, goes first; its task records its start (and pid) before reading
                deadline = time.monotonic() + 120
                while not (recs := sorted(out.glob("_attempts/*/tkar.city.*.json"))):
                    assert proc.poll() is None, proc.communicate()
                    assert time.monotonic() < deadline, "tkar's task never started"
                    time.sleep(0.01)
                victim = json.loads(recs[0].read_text())["pid"]
                addr = next(a for a, p in pids.items() if p == victim)
                assert len(c.run(executing, workers=[addr])[addr]) == 1  # busy with that task right now
                os.kill(victim, signal.SIGKILL)
                stdout, stderr = proc.communicate(timeout=180)
            finally:
                if proc.poll() is None:
                    proc.kill()
            assert proc.returncode == 0, stdout + stderr
            c.wait_for_workers(2, timeout=60)
            assert victim not in c.run(os.getpid).values()  # the nanny replaced the killed process
    finally:
        cluster.close()
    s = json.loads((out / "national_summary.json").read_text())
    assert s["failed"] == [] and all(r["status"] == "ok" for r in s["rows"])
    assert_same_outputs(reference, out)
    (task,) = [t for t in s["tasks"] if t["city"] == "tkar"]
    assert task["interrupted_pids"] == [victim] and task["worker_deaths"] == 1
    assert [a["status"] for a in task["attempts"]] == ["interrupted", "ok"]
    assert task["attempts"][1]["pid"] != victim
    row = {r["city"]: r for r in s["rows"]}["tkar"]
    assert row["attempts"] == 2 and row["worker_deaths"] == 1
    assert s["allowed_failures"] == 3  # distributed.scheduler.allowed-failures default
    parts = [p for p in s["parts"] if p["city"] == "tkar"]
    assert len(parts) == 5 and {p["pid"] for p in parts} == {task["attempts"][1]["pid"]}
    assert (f"retried: tkar (city task): the worker process (pid {victim}) died during the task and Dask "
            "ran it again elsewhere; scheduler count: 1 of 3 allowed worker deaths") in stdout
    # any other task that was queued on the dead worker is reported as rescheduled, not as retried
    for t in s["tasks"]:
        if t["city"] != "tkar":
            assert t["interrupted_pids"] == [] and [a["status"] for a in t["attempts"]] == ["ok"]
            assert (f"rescheduled: {t['city']} (city task)" in stdout) == (t["worker_deaths"] > 0)
    assert "3/3 cities done" in stdout and "Dask dashboard: http" in stderr
    assert sum(ln.startswith("[") and "done in" in ln for ln in stderr.splitlines()) == 3


@pytest.mark.parametrize(("lang", "done", "failed"), [("kk", "дайын", "ҚАТЕ"), ("ru", "готово за", "ОШИБКА"),
                                                      ("en", "done in", "FAILED")])
def test_progress_bar_on_a_terminal_plain_lines_otherwise(lang, done, failed):
    """``Progress``: plain lines in the language when the stream is not a terminal; a rich bar when it is."""
    from qauipsiz.api.cli._national_text import Progress, say

    plain = io.StringIO()
    p = Progress(lang, file=plain, terminal=False)
    assert not p.is_bar
    p.start(2)
    p("almaty", None, 12.34)
    p("astana", "hotspots10", 0.0, error="hotspots10: ValueError: bad")
    p.stop()
    lines = plain.getvalue().splitlines()
    assert lines[0].startswith("[1/2] almaty:") and done in lines[0] and "12.3" in lines[0]
    assert lines[1].startswith("[2/2] astana hotspots10:") and failed in lines[1] and "ValueError: bad" in lines[1]
    tty = io.StringIO()
    p = Progress(lang, file=tty, terminal=True)
    assert p.is_bar
    p.start(2)
    p("almaty", None, 1.0)
    p.stop()
    text = tty.getvalue()
    assert "\x1b[" in text and "1/2" in text and say("bar", lang) in text  # ANSI-drawn bar with its count
    assert "[1/2] almaty" not in text  # no plain line on a terminal
    with pytest.raises(ValueError, match="lang"):
        Progress("de")


def test_dashboard_link_only_when_the_scheduler_serves_one(client):
    from distributed import Client, LocalCluster

    from qauipsiz.api.cli.national_run import dashboard_link

    link = dashboard_link(client)
    assert link is not None and link.startswith("http") and link.endswith("/status")
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as bare, Client(bare) as c:
        assert dashboard_link(c) is None


def test_unknown_lang_is_a_bad_parameter(national_set, tmp_path):
    r = _cli(["--data", str(national_set), "--out", str(tmp_path / "o"), "--lang", "de"])
    assert r.exit_code == 2 and "--lang" in r.output


def test_unknown_city_and_part_are_value_errors(national_set, client, tmp_path):
    from qauipsiz.api.cli.national_run import run_national

    with pytest.raises(ValueError, match="nowhere"):
        run_national(client, national_set, tmp_path, cities=["nowhere"], progress=False)
    with pytest.raises(ValueError, match="parts: unknown"):
        run_national(client, national_set, tmp_path, parts=("hotspots8",), progress=False)
