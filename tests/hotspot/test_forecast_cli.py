"""``qauipsiz forecast`` / ``backtest`` / ``patrol --risk forecast`` inputs and outputs, and the
service's ``forecast.geojson`` roles (issue 16.6/7)."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from qauipsiz.hotspot.h3grid import latlng_to_cells
from tests.hotspot.test_forecast import HOT, synthetic


@pytest.fixture(scope="module")
def inc_csv(tmp_path_factory):
    d = tmp_path_factory.mktemp("fc")
    ev = synthetic(n_days=120)
    ev["category"] = np.where(np.arange(len(ev)) % 2 == 0, "theft", "not-a-taxonomy-label")
    ev["junk"] = "x"
    p = d / "inc.csv"
    ev.to_csv(p, index=False)
    return p


@pytest.fixture(autouse=True)
def _data_dir(tmp_path, monkeypatch):
    """The fitted-state cache and anything else the CLI keeps goes to a temporary data dir."""
    monkeypatch.setenv("QAUIPSIZ_DATA_DIR", str(tmp_path / "var"))


def _run(args):
    from qauipsiz.api.cli import app

    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output + repr(r.exception)
    return r


def test_forecast_city_cells(inc_csv, tmp_path):
    out = tmp_path / "f.csv"
    r = _run(["forecast", "--city", "astana", "--incidents", str(inc_csv), "--day", "2024-04-20",
              "--method", "longrun", "--out", str(out), "--json"])
    t = pd.read_csv(out)
    assert list(t.columns) == ["h3", "score"]
    from qauipsiz.hotspot.binning import fill_city_cells

    assert len(t) == len(fill_city_cells("astana", 9))
    hot = format(int(latlng_to_cells(np.array([HOT[0]]), np.array([HOT[1]]), 9)[0]), "x")
    assert t.sort_values("score", ascending=False)["h3"].iloc[0] == hot
    assert json.loads(r.stdout)["events_before_day"] > 0


def test_forecast_other_grid_and_categories(inc_csv, tmp_path):
    grid = pd.DataFrame({"cell": ["a", "b", "c"], "lon": [HOT[1], 71.40, 71.46], "lat": [HOT[0], 51.12, 51.15],
                         "extra": [1, 2, 3]})
    gp = tmp_path / "grid.csv"
    grid.to_csv(gp, index=False)
    out = tmp_path / "g.csv"
    _run(["forecast", "--city", "astana", "--incidents", str(inc_csv), "--day", "2024-04-20", "--method", "recent",
          "--categories", "theft", "--cells", str(gp), "--out", str(out)])
    t = pd.read_csv(out)
    assert list(t.columns) == ["cell", "score"]
    assert list(t["cell"]) == ["a", "b", "c"]
    assert t["score"].iloc[0] > t["score"].iloc[1:].max()


def test_forecast_bad_cells_file_is_an_error(inc_csv, tmp_path):
    from qauipsiz.api.cli import app

    bad = tmp_path / "bad.csv"
    pd.DataFrame({"cell": [1], "x": [2]}).to_csv(bad, index=False)
    r = CliRunner().invoke(app, ["forecast", "--city", "astana", "--incidents", str(inc_csv), "--day", "2024-04-20",
                                 "--cells", str(bad), "--out", str(tmp_path / "o.csv")])
    assert r.exit_code == 2
    assert "lon" in r.output


def test_backtest_json_has_every_method_and_baselines(inc_csv):
    r = _run(["backtest", "--city", "astana", "--incidents", str(inc_csv), "--from", "2024-04-10", "--to",
              "2024-04-16", "--methods", "kde", "--json"])
    js = json.loads(r.stdout)
    assert [row["method"] for row in js["rows"]] == ["recent", "longrun", "kde"]
    assert js["days"] == 7
    assert all(row["PAI 1%"] > 1 for row in js["rows"])  # the planted cell makes every method beat chance


@pytest.fixture(scope="module")
def service(demo_dir, tmp_path_factory):
    from fastapi.testclient import TestClient

    from qauipsiz.api.app import create_app
    from qauipsiz.api.ingest import ingest_file
    from qauipsiz.api.settings import get_settings
    from qauipsiz.api.store import Store

    root = tmp_path_factory.mktemp("fcapi")
    url = f"sqlite:///{root / 'store.db'}"
    store = Store(url)
    ingest_file(demo_dir / "incidents_export.csv", city="astana", store=store, source="demo")
    keys = {r: store.create_api_key(r, f"test {r}") for r in ("analyst", "planner", "commander", "admin")}
    s = dataclasses.replace(get_settings(), data_dir=root, database_url=url, demo_dir=demo_dir, city="astana",
                            tile_url="", cors_origins=(), warm=False)
    with TestClient(create_app(s, store=store), raise_server_exceptions=False) as c:
        yield c, {r: {"X-API-Key": k} for r, k in keys.items()}, store


def test_service_forecast_roles_and_content(service):
    c, h, store = service
    inc = store.query_incidents("astana", located_only=True)
    day = (pd.Timestamp(inc["occurred_at"].max()).tz_convert("Asia/Almaty") + pd.Timedelta(days=1)).date()
    url = f"/api/v1/cities/astana/forecast.geojson?day={day}&method=recent"
    assert c.get(url).status_code == 401
    assert c.get(url, headers=h["planner"]).status_code == 403
    for role in ("analyst", "commander", "admin"):
        r = c.get(url, headers=h[role])
        assert r.status_code == 200, r.text
    fcoll = r.json()
    props = [f["properties"] for f in fcoll["features"]]
    assert fcoll["meta"]["method"] == "recent"
    assert props[0]["rank"] == 1
    scores = [p["score"] for p in props]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    assert c.get(url.replace("recent", "oracle"), headers=h["analyst"]).status_code == 400
    assert c.get(url.replace(str(day), "tomorrow"), headers=h["analyst"]).status_code == 400


def _hand_pai(cells_hex, inc, tz, days, frac):
    """Long-run counts' pooled PAI at ``frac`` on ``days``, counted with h3-py and pandas (no forecast code)."""
    import h3

    loc = pd.to_datetime(inc["occurred_at"], utc=True).dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    cell = [h3.latlng_to_cell(a, b, 9) for a, b in zip(inc["lat"], inc["lon"], strict=True)]
    df = pd.DataFrame({"day": loc.to_numpy(), "h3": cell})
    n = len(cells_hex)
    k = max(1, round(frac * n))
    hits = total = 0.0
    for d in days:
        s = df[df["day"] < d]["h3"].value_counts().reindex(cells_hex, fill_value=0).to_numpy(float)
        a = df[df["day"] == d]["h3"].value_counts().reindex(cells_hex, fill_value=0).to_numpy(float)
        if a.sum() == 0:
            continue
        thr = np.sort(s)[::-1][k - 1]
        above, tied = s > thr, s == thr
        hits += a[above].sum() + a[tied].sum() * (k - above.sum()) / tied.sum()
        total += a.sum()
    return hits / total / (k / n)


def test_service_forecast_has_the_methods_backtested_pai(service):
    from qauipsiz.hotspot.binning import fill_city_cells
    from qauipsiz.hotspot.cities import get_city

    c, h, store = service
    inc = store.query_incidents("astana", located_only=True)
    tz = get_city("astana").tz
    last = pd.Timestamp(inc["occurred_at"].max()).tz_convert(tz).tz_localize(None).normalize()
    url = f"/api/v1/cities/astana/forecast.geojson?day={(last + pd.Timedelta(days=1)).date()}&method="
    r = c.get(url + "longrun", headers=h["commander"])
    assert r.status_code == 200, r.text
    b = r.json()["meta"]["backtest"]
    assert (b["method"], b["days"], b["to"]) == ("longrun", 28, str(last.date()))
    assert b["vs_baseline"] is None and b["baseline"]["1%"] in ("recent", "longrun")
    cells = [format(int(x), "x") for x in fill_city_cells(get_city("astana"), 9)]
    days = pd.date_range(last - pd.Timedelta(days=27), last)
    for lab, frac in (("1%", 0.01), ("5%", 0.05)):
        want = _hand_pai(cells, inc, tz, days, frac)
        assert b["pai"][lab][0] == pytest.approx(want, abs=2e-3)
        assert b["pai"][lab][1] <= b["pai"][lab][0] <= b["pai"][lab][2]
        assert b["baseline_pai"][lab] >= b["pai"][lab][0] - 1e-9  # longrun is one of the two baselines
    r = c.get(url + "blend", headers=h["analyst"])
    assert r.status_code == 200, r.text
    bb = r.json()["meta"]["backtest"]
    assert bb["method"] == "blend" and set(bb["vs_baseline"]) == {"1%", "5%", "10%"}
    assert bb["baseline_pai"] == b["baseline_pai"]  # the same baselines on the same days
    assert c.get(url + "blend&record=false", headers=h["analyst"]).json()["meta"].get("backtest") is None


def test_forecast_fit_cache_second_run_and_no_cache(inc_csv, tmp_path):
    """The second run of the same cut-off reads the fitted state from <data dir>/cities/<city>/cache/forecast
    and writes the same CSV; --no-cache fits afresh and keeps nothing."""
    args = ["forecast", "--city", "astana", "--incidents", str(inc_csv), "--method", "kde", "--json"]
    first = json.loads(_run([*args, "--day", "2024-04-20", "--out", str(tmp_path / "a.csv")]).stdout)
    folder = tmp_path / "var" / "cities" / "astana" / "cache" / "forecast"
    assert first["fit_cache"] == {"dir": str(folder), "hits": 0, "misses": 1}
    assert len(list(folder.glob("kde-*.pkl"))) == 1
    second = json.loads(_run([*args, "--day", "2024-04-20", "--out", str(tmp_path / "b.csv")]).stdout)
    assert (second["fit_cache"]["hits"], second["fit_cache"]["misses"]) == (1, 0)
    assert second["params"] == first["params"]
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    off = json.loads(_run([*args, "--day", "2024-04-20", "--out", str(tmp_path / "c.csv"), "--no-cache"]).stdout)
    assert off["fit_cache"] is None
    assert (tmp_path / "c.csv").read_bytes() == (tmp_path / "a.csv").read_bytes()
    assert len(list(folder.glob("*.pkl"))) == 1


def test_category_forecast_borrows_from_every_incident(inc_csv):
    """``--categories`` filters the forecast's events, but ``stack`` (alone or inside ``auto``)
    still gets every incident as its context, as ``fit`` on the unfiltered table would give it."""
    from qauipsiz.api.cli.forecast import forecast_events, give_context
    from qauipsiz.hotspot.forecast import make_forecaster, make_set

    df, _, everything = forecast_events("astana", inc_csv, "theft")
    assert len(df) < len(everything) and set(everything["category"]) > {"theft"}
    alone = make_forecaster("stack", res=9, tz="Asia/Almaty")
    give_context([alone], everything)
    alone.fit(df)
    own = make_forecaster("stack", res=9, tz="Asia/Almaty").fit(df)
    assert alone.context_key is not None and alone.context_key != own.context_key
    fs = make_set(["auto"], res=9, tz="Asia/Almaty")
    give_context(fs.values(), everything)
    fs["auto"].fit(df)
    assert fs["auto"].members["stack"].context_key == alone.context_key
    # auto fitted on a table with categories hands it to stack, as stack's own fit does
    auto = make_forecaster("auto", res=9, tz="Asia/Almaty").fit(everything)
    direct = make_forecaster("stack", res=9, tz="Asia/Almaty").fit(everything)
    assert auto.members["stack"].context_key == direct.context_key is not None
