"""The analysis commands read the store by default (the data `qauipsiz ingest` loaded), files on request."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner


def _env(url: str, root) -> dict:
    return {"DATABASE_URL": url, "QAUIPSIZ_DATA_DIR": str(root)}


def test_empty_store_names_the_fix(tmp_path):
    from qauipsiz.api.cli import app

    env = {**_env(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path), "QAUIPSIZ_DEMO_DIR": str(tmp_path / "no-demo")}
    for args in (["hotspots", "--out", str(tmp_path / "h.geojson")], ["recommend", "sos", "--budget", "2"]):
        r = CliRunner().invoke(app, args, env=env)
        assert r.exit_code == 2, r.output
        text = " ".join(r.output.replace("│", " ").split())  # rich wraps the error box at the terminal width
        assert "no located incidents of 'astana'" in text and "qauipsiz ingest" in text


def test_empty_store_takes_the_demo_city_like_serve(demo_dir, tmp_path):
    from qauipsiz.api.cli import app
    from qauipsiz.api.cli._inputs import ensure_city_data
    from qauipsiz.api.store import Store

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    env = {**_env(url, tmp_path), "QAUIPSIZ_DEMO_DIR": str(demo_dir)}
    r = CliRunner().invoke(app, ["hotspots", "--res", "8", "--out", str(tmp_path / "h.parquet"), "--json"], env=env)
    assert r.exit_code == 0, r.output
    store = Store(url)
    n = store.count_incidents("astana")
    assert n > 1000 and json.loads(r.output.strip().splitlines()[-1])["incidents_binned"] > 0.97 * n
    assert "lamps" in store.list_layers("astana")
    # a demo folder of another city is never ingested under this one
    said = []
    assert ensure_city_data(store, "almaty", demo_dir, echo=said.append) == {"ingested": None, "layers": None}
    assert store.count_incidents("almaty") == 0 and "no demo city" in said[0]
    store.close()


def test_hotspots_and_recommend_default_to_the_store(api_env, tmp_path):
    from qauipsiz.api.cli import app
    from qauipsiz.api.cli.hotspots import read_metadata

    url = api_env["settings"].database_url
    env = _env(url, api_env["root"])
    located = api_env["store"].query_incidents("astana", located_only=True)
    out = tmp_path / "hot.geojson"
    r = CliRunner().invoke(app, ["hotspots", "--res", "8", "--out", str(out), "--json"], env=env)
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output.strip().splitlines()[-1])
    # every located incident inside the city is binned; the demo's few outside-city points are not
    assert 0.97 * len(located) <= summary["incidents_binned"] <= len(located)
    assert read_metadata(out)["incidents"] == url

    r = CliRunner().invoke(app, ["recommend", "sos", "--budget", "3", "--json"], env=env)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [s["rank"] for s in doc["sites"]] == [1, 2, 3]


def test_store_layers_are_validated_like_files(api_env, demo_dir, monkeypatch):
    from qauipsiz.api.cli._inputs import city_layers

    monkeypatch.setenv("DATABASE_URL", api_env["settings"].database_url)
    stored = city_layers("astana")
    files = city_layers("astana", demo_dir / "layers")
    assert set(files) <= set(stored)
    for name in ("lamps", "cameras", "police_stations"):
        assert list(stored[name].columns) == list(files[name].columns), name
        assert len(stored[name]) == len(files[name])


def test_store_url_password_is_not_echoed():
    from qauipsiz.api.cli._inputs import shown_url

    shown = shown_url("postgresql+psycopg2://gis:s3cret@127.0.0.1:5432/city")
    assert "s3cret" not in shown and shown.startswith("postgresql+psycopg2://gis:***@127.0.0.1")


@pytest.mark.parametrize("bad", ["nope.parquet", "x.txt.zip"])
def test_bad_incident_file(tmp_path, bad):
    from qauipsiz.api.cli import app

    if bad.endswith(".zip"):
        (tmp_path / bad).write_bytes(b"PK")
    r = CliRunner().invoke(app, ["hotspots", "--incidents", str(tmp_path / bad), "--out", str(tmp_path / "o.geojson")])
    assert r.exit_code == 2 and "--incidents" in r.output


def test_demo_never_mixes_into_a_store_with_real_incidents(demo_dir, tmp_path):
    from qauipsiz.api.cli._inputs import ensure_city_data
    from qauipsiz.api.ingest import ingest_file
    from qauipsiz.api.store import Store

    csv = tmp_path / "real.csv"
    csv.write_text("Номер ЕРДР;Дата совершения;Статья УК РК;Широта;Долгота\n1;05.06.2025 23:10;188;51,1690;71,4300\n",
                   encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path / 'real.db'}")
    ingest_file(csv, city="astana", store=store, source="erdr")
    assert ensure_city_data(store, "astana", demo_dir, echo=lambda m: None) == {"ingested": None, "layers": None}
    assert store.count_incidents("astana") == 1 and store.list_layers("astana") == {}
    store.close()
