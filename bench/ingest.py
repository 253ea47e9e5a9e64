"""Ingestion speed: 1,000,000 coordinate rows of a police-style CSV into the store, against a peer.

Ours: ``api.ingest.ingest_file`` — read (encoding/separator detection), header mapping, date
parsing with the tz database, article lookup, coordinate checks against the city, district /
H3 / darkness derivation, duplicate checks, one atomic batch into SQLite (WAL).
Peer: ``pandas.read_csv`` + ``DataFrame.to_sql`` of the same file into a fresh SQLite file — no
validation at all, so the ratio shows what validation and accounting cost.
With ``DATABASE_URL=postgresql…`` both run against PostGIS too (in a throwaway schema).

    python bench/ingest.py            # 1,000,000 rows
    python bench/ingest.py --quick    # 50,000 rows
Target: ≥ 20,000 rows/s into SQLite.
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

from qauipsiz.api.ingest import ingest_file  # noqa: E402
from qauipsiz.api.store import Store  # noqa: E402

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


def run_ours(url: str, path: Path) -> tuple[float, dict]:
    store = Store(url)
    t0 = time.perf_counter()
    rep = ingest_file(path, city="astana", store=store, source="bench", who="bench")
    dt = time.perf_counter() - t0
    store.close()
    return dt, rep.to_json()


def run_peer_sqlite(db: Path, path: Path) -> float:
    t0 = time.perf_counter()
    df = pd.read_csv(path, sep=";", encoding="utf-8-sig", dtype=str)
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    df.to_sql("incidents", con, index=False, chunksize=50_000)
    con.commit()
    con.close()
    return time.perf_counter() - t0


def run_peer_sqlalchemy(url: str, path: Path) -> float:
    from sqlalchemy import create_engine

    t0 = time.perf_counter()
    df = pd.read_csv(path, sep=";", encoding="utf-8-sig", dtype=str)
    eng = create_engine(url)
    df.to_sql("peer_incidents", eng, index=False, chunksize=50_000)
    eng.dispose()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="50,000 rows (smoke run)")
    a = ap.parse_args()
    n = 50_000 if a.quick else a.rows
    with tempfile.TemporaryDirectory(prefix="qauipsiz-bench-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        src = make_csv(tmp / "export.csv", n)
        print(f"input: {n:,} rows, {src.stat().st_size / 2**20:.1f} MiB CSV (made in {time.perf_counter() - t0:.1f} s)")

        dt, j = run_ours(f"sqlite:///{tmp / 'ours.db'}", src)
        ours = n / dt
        print(f"ours  SQLite : {dt:7.1f} s  {ours:10,.0f} rows/s  {j}")
        dp = run_peer_sqlite(tmp / "peer.db", src)
        peer = n / dp
        print(f"peer  SQLite : {dp:7.1f} s  {peer:10,.0f} rows/s  (pandas read_csv + to_sql, no validation)")
        print(f"ratio ours/peer throughput (SQLite): {ours / peer:.2f}  ·  target ≥ {TARGET:,.0f} rows/s: "
              f"{'MET' if ours >= TARGET else 'MISSED'}")
        assert j["input"] == j["accepted"] + j["duplicates"] + j["quarantined"] == n

        url = os.environ.get("DATABASE_URL", "")
        if url.startswith("postgres"):
            from sqlalchemy import create_engine, text

            schema = f"bench_{uuid.uuid4().hex[:8]}"
            eng = create_engine(url)
            with eng.begin() as c:
                c.execute(text(f"CREATE SCHEMA {schema}"))
            sep = "&" if "?" in url else "?"
            surl = f"{url}{sep}options={quote(f'-csearch_path={schema},public')}"
            try:
                dt, j = run_ours(surl, src)
                ours_pg = n / dt
                print(f"ours  PostGIS: {dt:7.1f} s  {ours_pg:10,.0f} rows/s  {j}")
                dp = run_peer_sqlalchemy(surl, src)
                print(f"peer  PostGIS: {dp:7.1f} s  {n / dp:10,.0f} rows/s  (pandas read_csv + to_sql)")
                print(f"ratio ours/peer throughput (PostGIS): {ours_pg / (n / dp):.2f}")
            finally:
                with eng.begin() as c:
                    c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                eng.dispose()
        else:
            print("PostGIS: skipped (set DATABASE_URL=postgresql+psycopg2://… to time it)")


if __name__ == "__main__":
    main()
