"""Ingestion speed: 1,000,000 coordinate rows of a police-style CSV into the store, against a peer.

Ours: ``api.ingest.ingest_file`` — read (encoding/separator detection), header mapping, date
parsing with the tz database, article lookup, coordinate checks against the city, district /
H3 / darkness derivation, duplicate checks, one atomic batch into SQLite (WAL).
Peer: ``pandas.read_csv`` + ``DataFrame.to_sql`` of the same file into a fresh SQLite file — no
validation at all, so the ratio shows what validation and accounting cost.
With ``DATABASE_URL=postgresql…`` both run against PostGIS too (in a throwaway schema).

Both are timed the one way of ``bench/_timing.py``: one warm-up run, then the same number of timed
runs, each into a fresh database (created outside the timed region), from the same CSV file;
median, min–max and the ratio of medians. The row accounting is checked after the timing.

    python bench/ingest.py            # 1,000,000 rows
    python bench/ingest.py --quick    # 50,000 rows
Target: ≥ 20,000 rows/s into SQLite (median).
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import add_args, compare, header

from qauipsiz.api.ingest import ingest_file
from qauipsiz.api.store import Store

TARGET = 20_000.0
HEADER = ["Номер ЕРДР", "Дата совершения", "Дата регистрации", "Статья УК РК", "Место совершения",
          "Адрес места происшествия", "Широта", "Долгота"]


def make_csv(path: Path, n: int, seed: int = 1) -> Path:
    """``n`` rows in the demo export's format: UTF-8 BOM, ``;``, Russian headers, decimal comma, local times."""
    rng = np.random.default_rng(seed)
    t = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365 * 24 * 60, n), "min")
    rep = t + pd.to_timedelta(rng.integers(5, 600, n), "min")
    lat = rng.uniform(51.08, 51.22, n)
    lon = rng.uniform(71.33, 71.55, n)
    arts = np.array(["188 ч.1", "188 ч.2", "191 ч.1", "190 ч.1", "293 ч.1", "КоАП 440", "109", "202 ч.1"])
    places = np.array(["Двор", "Улица / площадь / парк", "ТРЦ / магазин / рынок", "Подъезд / лестничная клетка"])
    df = pd.DataFrame({
        HEADER[0]: np.char.add("24711100", np.arange(n).astype(str)),
        HEADER[1]: t.strftime("%d.%m.%Y %H:%M"),
        HEADER[2]: rep.strftime("%d.%m.%Y %H:%M"),
        HEADER[3]: arts[rng.integers(0, len(arts), n)],
        HEADER[4]: places[rng.integers(0, len(places), n)],
        HEADER[5]: np.char.add("ул. Кенесары, д. ", rng.integers(1, 200, n).astype(str)),
        HEADER[6]: np.char.replace(np.round(lat, 6).astype(str), ".", ","),
        HEADER[7]: np.char.replace(np.round(lon, 6).astype(str), ".", ","),
    })
    df.to_csv(path, sep=";", index=False, encoding="utf-8-sig")
    return path


def run_ours(url: str, path: Path) -> dict:
    store = Store(url)
    try:
        return ingest_file(path, city="astana", store=store, source="bench", who="bench").to_json()
    finally:
        store.close()


def run_peer_sqlite(db: Path, path: Path) -> int:
    df = pd.read_csv(path, sep=";", encoding="utf-8-sig", dtype=str)
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    df.to_sql("incidents", con, index=False, chunksize=50_000)
    con.commit()
    con.close()
    return len(df)


def run_peer_sqlalchemy(url: str, path: Path) -> int:
    from sqlalchemy import create_engine

    df = pd.read_csv(path, sep=";", encoding="utf-8-sig", dtype=str)
    eng = create_engine(url)
    df.to_sql("peer_incidents", eng, index=False, chunksize=50_000, if_exists="replace")
    eng.dispose()
    return len(df)


def main() -> int:
    ap = add_args(argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))
    ap.add_argument("--rows", type=int, default=1_000_000)
    a = ap.parse_args()
    n = 50_000 if a.quick else a.rows
    runs = a.runs
    header("ingest benchmark", a.quick, runs)
    with tempfile.TemporaryDirectory(prefix="qauipsiz-bench-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        src = make_csv(tmp / "export.csv", n)
        print(f"input: {n:,} rows, {src.stat().st_size / 2**20:.1f} MiB CSV (made in {time.perf_counter() - t0:.1f} s)")
        k = iter(range(10**6))

        def fresh_db() -> Path:  # a new database file for every run, outside the timed region
            d = tmp / f"db{next(k)}"
            d.mkdir()
            return d

        t_o, t_p, j, n_p = compare(
            f"SQLite, {n:,} rows", lambda d: run_ours(f"sqlite:///{d / 'ours.db'}", src),
            lambda d: run_peer_sqlite(d / "peer.db", src),
            "pandas read_csv + DataFrame.to_sql into SQLite (WAL), no validation at all", runs, setup=fresh_db)
        ours = n / t_o.median
        print(f"  throughput (medians): ours {ours:,.0f} rows/s, peer {n / t_p.median:,.0f} rows/s; "
              f"target ≥ {TARGET:,.0f} rows/s: {'MET' if ours >= TARGET else 'MISSED'}")
        print(f"  ours, last run: {j}")
        ok = j["input"] == j["accepted"] + j["duplicates"] + j["quarantined"] == n and n_p == n  # outside timing
        print(f"  accounting input = accepted + duplicates + quarantined = {n:,}: {'YES' if ok else 'NO'}")

        url = os.environ.get("DATABASE_URL", "")
        if url.startswith("postgres"):
            from sqlalchemy import create_engine, text

            eng = create_engine(url)
            schemas: list[str] = []

            def fresh_schema() -> str:
                schema = f"bench_{uuid.uuid4().hex[:8]}"
                with eng.begin() as c:
                    c.execute(text(f"CREATE SCHEMA {schema}"))
                schemas.append(schema)
                sep = "&" if "?" in url else "?"
                return f"{url}{sep}options={quote(f'-csearch_path={schema},public')}"

            try:
                t_o, t_p, j, _ = compare(f"PostGIS, {n:,} rows", lambda u: run_ours(u, src),
                                         lambda u: run_peer_sqlalchemy(u, src),
                                         "pandas read_csv + DataFrame.to_sql through SQLAlchemy", runs,
                                         setup=fresh_schema)
                print(f"  throughput (medians): ours {n / t_o.median:,.0f} rows/s, peer {n / t_p.median:,.0f} rows/s")
            finally:
                with eng.begin() as c:
                    for schema in schemas:
                        c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                eng.dispose()
        else:
            print("PostGIS: skipped (set DATABASE_URL=postgresql+psycopg2://… to time it)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
