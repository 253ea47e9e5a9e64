"""`qauipsiz geocode` CLI, and the demo city's address-only rows (≥ 85 % match rate)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner

import qauipsiz.api.cli  # noqa: F401  (registers the commands)
from qauipsiz.api.cli._app import app
from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.geocode import Geocoder, match_report

runner = CliRunner()


def test_single_address_json():
    r = runner.invoke(app, ["geocode", "пр. Кабанбай батыра, 10", "--city", "astana", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert set(out) == {"lat", "lon", "precision", "score", "uncertainty_m", "matched"}
    assert out["precision"] == "street" and out["matched"] == "Қабанбай Батыр даңғылы"
    assert get_city("astana").contains([out["lat"]], [out["lon"]])[0]


def test_batch_keeps_columns_in_order(tmp_path):
    src = tmp_path / "in.csv"
    df = pd.DataFrame({"Номер": ["1", "2", "3"], "Адрес": ["угол Сыганак и Туран", "ул. Абая, д. 5", "абракадабра"],
                       "Прочее": ["x", "y", "z"]})
    df.to_csv(src, sep=";", index=False, encoding="utf-8-sig")
    out = tmp_path / "out.csv"
    r = runner.invoke(app, ["geocode", "--file", str(src), "--column", "Адрес", "--city", "astana", "--out", str(out)])
    assert r.exit_code == 0, r.output
    got = pd.read_csv(out, sep=";", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    assert list(got.columns) == ["Номер", "Адрес", "Прочее", "lat", "lon", "precision", "score", "uncertainty_m", "matched"]
    assert list(got["Номер"]) == ["1", "2", "3"] and list(got["Прочее"]) == ["x", "y", "z"]
    assert list(got["precision"]) == ["intersection", "street", "none"]
    q = pd.read_csv(out.with_name("out.quarantine.csv"), sep=";", dtype=str, encoding="utf-8-sig")
    assert list(q["row"]) == ["3"]


def test_build_and_report(tmp_path):
    gz = tmp_path / "gz"
    r = runner.invoke(app, ["geocode", "build", "--city", "astana", "--out", str(gz), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["streets"] > 1000
    r = runner.invoke(app, ["geocode", "ул. Сыганак", "--gazetteer", str(gz), "--json"])
    assert json.loads(r.output)["matched"] == "Сығанақ көшесі"
    t = tmp_path / "g.csv"
    pd.DataFrame({"precision": ["street"] * 8 + ["none"] * 2, "score": [100] * 8 + [0, 0],
                  "source": ["a"] * 10}).to_csv(t, index=False)
    r = runner.invoke(app, ["geocode", "report", str(t), "--json"])
    assert r.exit_code == 0
    rep = json.loads(r.stdout)
    assert rep["match_rate"] == 0.8 and not rep["ok"]
    assert "WARNING" in r.output


def test_errors_are_clear(tmp_path):
    r = runner.invoke(app, ["geocode", "--file", str(tmp_path / "nope.csv"), "--column", "a"])
    assert r.exit_code != 0 and "not found" in r.output
    r = runner.invoke(app, ["geocode", "x", "--district", "nowhere"])
    assert r.exit_code != 0 and "nowhere" in r.output


def test_demo_address_only_rows_reach_85_percent(demo_dir):
    """The reduced demo city's address-only rows: match rate ≥ 85 %, right street, points near truth."""
    t = pd.read_parquet(demo_dir / "incidents_truth.parquet")
    a = t[t["dirt"] == "address_only"].reset_index(drop=True)
    assert len(a) >= 300
    geo = Geocoder.for_city("astana")
    res = geo.geocode(a["address_raw"].tolist())
    rep = match_report(res.assign(district=a["district"].to_numpy()))
    assert rep["match_rate"] >= 0.85, rep
    names = [set(s.split("|")) for s in geo.gaz.streets["names"]]
    right = np.array([s >= 0 and n in names[s] for s, n in zip(res["street_id"], a["street_name"], strict=True)])
    acc = res["accepted"].to_numpy()
    assert right[acc].mean() >= 0.95
    # the true point lies within the reported uncertainty radius for almost every accepted row
    c = get_city("astana")
    x, y = c.to_metric(res["lon"].to_numpy(), res["lat"].to_numpy())
    tx, ty = c.to_metric(a["true_lon"].to_numpy(), a["true_lat"].to_numpy())
    d = np.hypot(np.asarray(x) - tx, np.asarray(y) - ty)
    inside = d[acc & right] <= res["uncertainty_m"].to_numpy()[acc & right] + 100.0
    assert inside.mean() >= 0.9
