"""The synthetic national generator (hotspot/national): seeded, proportional to population (chi-square,
SciPy), every point inside its city's polygon, the demo's category and hour profiles, regional
centre cities resolvable through the registry's user folder."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from qauipsiz.hotspot import analytic
from qauipsiz.hotspot import cities as registry
from qauipsiz.hotspot.demo import incidents as demo
from qauipsiz.hotspot.national.centres import SHIPPED, load_centres
from qauipsiz.hotspot.national.generate import allocate, generate

N = 20_000


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    out = tmp_path_factory.mktemp("national")
    meta = generate(out, N, seed=3, start="2024-01-01", years=1.0)
    return out, meta


@pytest.fixture
def user_dir(national):
    """Point the registry at the dataset's cities folder, and back afterwards."""
    before = registry._user_dir
    registry.set_user_dir(national[0] / "cities")
    yield
    registry.set_user_dir(before)


def test_every_city_and_the_manifest(national):
    out, _ = national
    table = load_centres()
    assert len(table) == 20 and set(SHIPPED) <= set(table["city"])
    assert analytic.dataset_cities(out) == sorted(table["city"])
    m = json.loads((out / "_dataset.json").read_text(encoding="utf-8"))
    assert m["synthetic"] is True and set(m["notice"]) == {"kk", "ru", "en"} and m["seed"] == 3
    assert sum(m["distinct"].values()) == N
    for k, c in m["counts"].items():  # rows on disk = distinct + the demo's 2 % duplicates
        assert len(analytic.read_events(out, k, columns=["incident_id"])) == c
        assert c == m["distinct"][k] + round(demo.DUPLICATE_SHARE * m["distinct"][k])
    # shipped cities are not copied into the dataset's user folder
    assert not any((out / "cities" / k).exists() for k in SHIPPED)


def test_proportional_to_population(national):
    _, meta = national
    keys = list(meta["distinct"])
    obs = np.array([meta["distinct"][k] for k in keys], float)
    pop = np.array([meta["population"][k] for k in keys], float)
    exp = N * pop / pop.sum()
    assert stats.chisquare(obs, exp).pvalue > 1e-3
    # the same test rejects a split that ignores population (the test can fail)
    assert stats.chisquare(obs, np.full(len(obs), N / len(obs))).pvalue < 1e-12
    # and the allocation itself, on a large draw, matches population shares to sampling error
    big = allocate(5_000_000, pop, np.random.default_rng(0))
    assert stats.chisquare(big, 5_000_000 * pop / pop.sum()).pvalue > 1e-3


def test_points_inside_their_city(national, user_dir):
    out, _ = national
    for k in analytic.dataset_cities(out):
        c = registry.get_city(k)
        assert c.user == (k not in SHIPPED)
        df = analytic.read_events(out, k, columns=["lat", "lon", "district"])
        assert np.asarray(c.contains(df["lat"].to_numpy(), df["lon"].to_numpy()), bool).all(), k
        if len(c.districts):  # districts as the registry assigns them
            np.testing.assert_array_equal(df["district"].fillna("-"),
                                          pd.Series(c.assign_district(df["lat"], df["lon"])).fillna("-"))


def test_demo_profiles(national):
    out, _ = national
    df = pd.concat([analytic.read_events(out, k, columns=["category", "hour_local"])
                    for k in analytic.dataset_cities(out)])
    keys = list(demo.CATEGORY_SHARES)
    p = np.array(list(demo.CATEGORY_SHARES.values()))
    obs = df["category"].value_counts().reindex(keys, fill_value=0).to_numpy()
    assert obs.sum() == len(df)
    assert stats.chisquare(obs, obs.sum() * p / p.sum()).pvalue > 1e-3
    day = df[df["category"].isin(demo.HOUR_PROFILE["day"])]
    h = np.bincount(day["hour_local"].astype(int), minlength=24)
    assert stats.chisquare(h, h.sum() * demo._hour_weights("day")).pvalue > 1e-3
    night = df[df["category"].isin(demo.HOUR_PROFILE["night"])]
    hn = np.bincount(night["hour_local"].astype(int), minlength=24)
    assert stats.chisquare(hn, hn.sum() * demo._hour_weights("day")).pvalue < 1e-6  # profiles differ


def test_seeded_and_deterministic(tmp_path):
    a = generate(tmp_path / "a", 3000, seed=5, cities=["oral", "shymkent"], years=1.0)
    b = generate(tmp_path / "b", 3000, seed=5, cities=["oral", "shymkent"], years=1.0)
    generate(tmp_path / "c", 3000, seed=6, cities=["oral", "shymkent"], years=1.0)
    assert a["counts"] == b["counts"]
    for k in ("oral", "shymkent"):
        ra = analytic.read_events(tmp_path / "a", k, columns=list(analytic.COLUMNS))
        rb = analytic.read_events(tmp_path / "b", k, columns=list(analytic.COLUMNS))
        rc = analytic.read_events(tmp_path / "c", k, columns=list(analytic.COLUMNS))
        pd.testing.assert_frame_equal(ra, rb)
        assert not (len(ra) == len(rc) and np.array_equal(ra["lat"], rc["lat"]))


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="unknown nowhere"):
        generate(tmp_path, 10, cities=["nowhere"])
    with pytest.raises(ValueError, match="events"):
        generate(tmp_path, 0)
