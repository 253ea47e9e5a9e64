"""Atomic batches: a process killed with SIGKILL mid-batch leaves the store exactly as before; a re-run completes.

The fault is injected from the test side: the ingest runs in a subprocess whose bootstrap wraps
``IncidentRepository._insert_incidents`` so that, after the first chunk of rows is written (inside the batch's
transaction), it logs a marker and sleeps; the test kills the process at that marker.  No hook
lives in the production write path."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from qauipsiz.api.ingest import ingest_file, prepare, read_table
from qauipsiz.api.store import Store
from qauipsiz.hotspot.cities import get_city

HEADER = "Номер ЕРДР;Дата совершения;Статья УК РК;Место совершения;Адрес места происшествия;Широта;Долгота\n"


def _export(path, n, seed, id0=0):
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2024-04-01")
    t = t0 + pd.to_timedelta(rng.integers(0, 200 * 24 * 60, n), "min")
    lat = rng.uniform(51.10, 51.20, n)
    lon = rng.uniform(71.38, 71.50, n)
    art = rng.choice(["188 ч.1", "188 ч.2", "191 ч.1", "190", "КоАП 440"], n)
    bad = rng.random(n) < 0.05
    dates = np.where(bad, "не указано", t.strftime("%d.%m.%Y %H:%M"))
    lines = [f"{id0 + i};{d};{a};Двор;ул. Тестовая, {i % 300};" + f"{la:.6f};{lo:.6f}".replace(".", ",")
             for i, (d, a, la, lo) in enumerate(zip(dates, art, lat, lon, strict=True))]
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8-sig")
    return path


def _snapshot(store: Store) -> tuple:
    inc = store.query_incidents("astana", extra=True).sort_values("incident_id").reset_index(drop=True)
    q = store.quarantine_rows("astana", status=None).reset_index(drop=True)
    return store.table_counts(), store.data_version("astana"), inc, q


def _same(a, b):
    assert a[0] == b[0] and a[1] == b[1]
    pd.testing.assert_frame_equal(a[2], b[2])
    pd.testing.assert_frame_equal(a[3], b[3])


MARKER = "test fault: paused in batch after"

# Bootstrap for the child process: optionally pause (once) right after the first chunk of
# incident rows is written — still inside the batch's transaction — then run the CLI.
_CHILD = f"""
import sys, time
pause = float(sys.argv.pop(1))
if pause:
    from qauipsiz.api.store.incidents import IncidentRepository
    orig = IncidentRepository._insert_incidents
    state = {{"done": False}}
    def _insert(self, conn, df):
        orig(self, conn, df)
        if len(df) and not state["done"]:
            state["done"] = True
            n = conn.exec_driver_sql("SELECT count(*) FROM incidents").scalar()
            print("{MARKER}", len(df), "rows; rows visible in the transaction:", n, file=sys.stderr, flush=True)
            time.sleep(pause)
    IncidentRepository._insert_incidents = _insert
from qauipsiz.api.cli import main
main()
"""


def _cli(url, *args, pause: float = 0):
    env = {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(pause), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_mid_batch_then_rerun(tmp_path, store_url):
    store = Store(store_url)
    first = _export(tmp_path / "first.csv", 500, seed=1)
    ingest_file(first, city="astana", store=store, source="erdr")  # the store is not empty before the batch
    before = _snapshot(store)
    second = _export(tmp_path / "second.csv", 3000, seed=2, id0=10_000)

    # the child sleeps inside the transaction after the first chunk of rows is written
    p = _cli(store_url, "ingest", str(second), "--city", "astana", "--source", "erdr", "--json", "--no-geocode",
             pause=60)
    deadline = time.time() + 120
    line = ""
    while time.time() < deadline:
        line = p.stderr.readline()
        if MARKER in line or not line:
            break
    assert MARKER in line, f"the ingest never reached its batch: {line!r} {p.stderr.read()}"
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    assert p.returncode == -signal.SIGKILL

    store.close()
    store = Store(store_url)
    _same(_snapshot(store), before)
    if store.backend == "sqlite":
        with store.engine.connect() as c:
            assert c.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"

    # re-run without the fault: completes, with the same accounting as a clean run
    p = _cli(store_url, "ingest", str(second), "--city", "astana", "--source", "erdr", "--json", "--no-geocode")
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    import json

    j = json.loads(out.strip().splitlines()[-1])
    assert j["input"] == 3000 == j["accepted"] + j["duplicates"] + j["quarantined"]
    assert j["accepted"] > 2500 and j["reasons"].get("bad_date", 0) == j["quarantined"]
    after = store.table_counts()
    assert after["incidents"] == before[0]["incidents"] + j["accepted"]
    assert after["ingest_batches"] == before[0]["ingest_batches"] + 1


@pytest.mark.parametrize("delay", [0.3, 1.5])
def test_sigkill_at_a_random_moment_is_all_or_nothing(tmp_path, store_url, delay):
    """No hook: kill after ``delay`` seconds, whatever the process is doing; the batch is all or nothing."""
    store = Store(store_url)
    before = _snapshot(store)
    f = _export(tmp_path / "big.csv", 20_000, seed=3)
    expected = len(prepare(read_table(f), get_city("astana"), source="erdr").accepted)
    p = _cli(store_url, "ingest", str(f), "--city", "astana", "--source", "erdr", "--json", "--no-geocode")
    time.sleep(delay)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    store.close()
    store = Store(store_url)
    now = _snapshot(store)
    if now[0]["ingest_batches"] == before[0]["ingest_batches"]:
        _same(now, before)
    else:  # it finished before the kill: then completely
        assert now[0]["incidents"] == before[0]["incidents"] + expected
    ingest_file(f, city="astana", store=store, source="erdr")
    assert store.count_incidents("astana") == before[0]["incidents"] + expected
