"""Ingestion geocodes address-only rows where the city has a gazetteer, and waits where it has none."""
from __future__ import annotations

import subprocess
import sys

import numpy as np

from qauipsiz.api.ingest import ingest_file
from qauipsiz.api.ingest.geocoding import city_geocoder

HEADER = "Номер ЕРДР;Дата совершения;Статья УК РК;Адрес места происшествия;Широта;Долгота"


def _csv(path, rows):
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_city_without_gazetteer_keeps_address_rows_awaiting(tmp_path, store):
    assert city_geocoder("almaty") is None and callable(city_geocoder("astana"))
    p = _csv(tmp_path / "alm.csv", ["1;01.02.2025 12:00;188;;43,2380;76,9450",
                                    "2;01.02.2025 13:00;188;ул. Абая, 10;;"])
    rep = ingest_file(p, city="almaty", store=store, source="t", geocoder=city_geocoder("almaty"))
    assert (rep.accepted, rep.quarantined, rep.awaiting_geocoding) == (2, 0, 1)
    df = store.query_incidents("almaty").set_index("source_id")
    assert df.loc["2", "geocode_precision"] == "none" and np.isnan(df.loc["2", "lat"])
    assert df.loc["1", "district"] is not None


def test_astana_address_rows_are_geocoded(tmp_path, store):
    p = _csv(tmp_path / "ast.csv", ["1;01.02.2025 12:00;188;пр. Кабанбай батыра, д. 10;;"])
    rep = ingest_file(p, city="astana", store=store, source="t", geocoder=city_geocoder("astana"))
    assert (rep.accepted, rep.geocoded, rep.awaiting_geocoding) == (1, 1, 0)
    row = store.query_incidents("astana").iloc[0]
    assert row["geocode_precision"] in ("address", "street") and 51.0 < row["lat"] < 51.3


def test_console_script_prints_library_errors_as_one_line(tmp_path):
    inc = tmp_path / "alm.csv"
    inc.write_text("lat,lon,occurred_at,category,harm_weight\n43.238,76.945,2025-02-01T12:00:00Z,theft,1\n")
    cmd = [sys.executable, "-c", "from qauipsiz.api.cli import main; main()", "recommend", "sos", "--city", "almaty",
           "--incidents", str(inc), "--layers", str(tmp_path)]
    r = subprocess.run(cmd, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("error: no street file for 'almaty'") and "Traceback" not in r.stderr
