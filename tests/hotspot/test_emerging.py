"""Emerging hot spot analysis: space-time Gi* vs gi_star on the explicit weights, Mann–Kendall vs
pymannkendall, and each of the 17 patterns recovered on a cube planted for it."""
from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest

from qauipsiz.hotspot.binning import ring_weights
from qauipsiz.hotspot.cube import SpaceTimeCube
from qauipsiz.hotspot.emerging import (
    PATTERNS,
    classify,
    emerging_analysis,
    mann_kendall,
    pattern_labels,
    spacetime_gi,
    spacetime_weights,
)
from qauipsiz.hotspot.gistar import gi_star

T = 20
BG = 10.0


def _disk(k: int = 10):
    centre = h3.latlng_to_cell(51.128, 71.430, 9)
    cells = np.array(sorted(h3.str_to_int(c) for c in h3.grid_disk(centre, k)), np.uint64)
    patch = np.array(sorted(h3.str_to_int(c) for c in h3.grid_disk(centre, 1)), np.uint64)
    return cells, np.searchsorted(cells, patch), int(np.searchsorted(cells, h3.str_to_int(centre)))


def _cube(counts, cells):
    times = pd.date_range("2024-01-01", periods=counts.shape[1], freq="W-MON")
    return SpaceTimeCube(cells, times, counts.astype(np.int64), counts.astype(float), "week", 9, None, {})


def _planted(means, seed: int = 7):
    """Poisson(BG) everywhere, Poisson(means[t]) in the centre cell and its six neighbours."""
    cells, patch, centre = _disk()
    rng = np.random.default_rng(seed)
    lam = np.full((len(cells), T), BG)
    lam[patch] = np.asarray(means, float)[None, :]
    return _cube(rng.poisson(lam), cells), centre


def _at(steps, value, base=BG):
    m = np.full(T, base)
    m[list(steps)] = value
    return m


t = np.arange(T)
PLANTS = {
    "no_pattern": np.full(T, BG),
    "new_hot": _at([19], 40),
    "consecutive_hot": _at(range(16, 20), 40),
    "intensifying_hot": 25 + 3 * t,
    "persistent_hot": np.full(T, 40.0),
    "diminishing_hot": 82 - 3 * t,
    "sporadic_hot": _at([3, 9, 19], 40),
    "oscillating_hot": _at([19], 40) * (~np.isin(t, [5, 6, 7])),
    "historical_hot": _at(range(18), 40),
    "new_cold": _at([19], 0),
    "consecutive_cold": _at(range(16, 20), 0),
    "intensifying_cold": 5 * (1 - t / 19),
    "persistent_cold": np.zeros(T),
    "diminishing_cold": 5 * t / 19,
    "sporadic_cold": _at([3, 9, 19], 0),
    "oscillating_cold": np.where(np.isin(t, [5, 6, 7]), 40.0, _at([19], 0)),
    "historical_cold": _at(range(18), 0),
}


@pytest.mark.parametrize("pattern", list(PLANTS))
def test_each_pattern_recovered_on_its_planted_cube(pattern):
    assert set(PLANTS) == set(PATTERNS)
    cube, centre = _planted(PLANTS[pattern])
    r = emerging_analysis(cube)
    got = r.table["pattern"].iloc[centre]
    assert got == pattern, (pattern, got, r.bins[centre].tolist(), r.table.iloc[centre].to_dict())


def test_background_alone_has_few_patterns():
    cube, _ = _planted(np.full(T, BG), seed=11)
    tab = emerging_analysis(cube).table
    assert (tab["pattern"] != "no_pattern").mean() < 0.02


def test_spacetime_gi_equals_gi_star_on_explicit_weights():
    cells, _, _ = _disk(5)
    rng = np.random.default_rng(3)
    x = rng.poisson(3.0, (len(cells), 8)).astype(float)
    x[:7, 5:] += 6
    w = ring_weights(cells, 1, self_weight=True)
    for tw in (0, 1, 2):
        z, _ = spacetime_gi(x, w, tw, inference="analytic")
        g = gi_star(x.ravel(), spacetime_weights(w, x.shape[1], tw), permutations=0, inference="analytic")
        np.testing.assert_allclose(z.ravel(), g.z, rtol=0, atol=1e-9)
    with pytest.raises(AssertionError):  # the time window matters
        z0, _ = spacetime_gi(x, w, 0, inference="analytic")
        g1 = gi_star(x.ravel(), spacetime_weights(w, x.shape[1], 1), permutations=0, inference="analytic")
        np.testing.assert_allclose(z0.ravel(), g1.z, atol=1e-6)


def test_mann_kendall_equals_pymannkendall():
    mk_ref = pytest.importorskip("pymannkendall")
    rng = np.random.default_rng(5)
    series = np.vstack([
        rng.normal(size=(20, 15)),
        rng.integers(0, 4, size=(20, 15)).astype(float),  # many ties
        np.cumsum(rng.normal(0.3, 1, size=(10, 15)), axis=1),  # trends
        np.zeros((1, 15)),  # constant
    ])
    # plus the real z series of a planted cube (ties among identical windows)
    cube, _ = _planted(PLANTS["sporadic_hot"])
    z = emerging_analysis(cube, inference="analytic").z[:40]
    checked = 0
    for arr in (series, z):
        checked += _same_as_pymannkendall(mk_ref, arr)
    assert checked == len(series) + len(z)


def _same_as_pymannkendall(mk_ref, series) -> int:
    ours = mann_kendall(series)
    for i, row in enumerate(series):
        ref = mk_ref.original_test(row)
        assert ours["s"].iloc[i] == ref.s
        assert ours["var_s"].iloc[i] == pytest.approx(ref.var_s, rel=1e-12, abs=1e-12)
        if ref.var_s > 0:
            assert ours["z"].iloc[i] == pytest.approx(ref.z, rel=1e-10, abs=1e-12)
            assert ours["p"].iloc[i] == pytest.approx(ref.p, rel=1e-8, abs=1e-12)
        assert ours["tau"].iloc[i] == pytest.approx(ref.Tau, rel=1e-12)
    return len(series)


def test_mann_kendall_matches_kendalltau_without_ties():
    from scipy.stats import kendalltau

    rng = np.random.default_rng(9)
    x = rng.normal(size=(5, 12))
    ours = mann_kendall(x)
    for i, row in enumerate(x):
        ref = kendalltau(np.arange(12), row)
        assert ours["tau"].iloc[i] == pytest.approx(ref.statistic, rel=1e-12)


def test_classify_rules_on_hand_made_bins():
    def one(series, tz=0.0, tp=1.0):
        return PATTERNS[classify(np.array([series]), np.array([tz]), np.array([tp]))[0]]

    z10 = [0] * 10
    assert one(z10[:-1] + [2]) == "new_hot"
    assert one([0] * 7 + [1, 2, 3]) == "consecutive_hot"
    assert one([0] * 6 + [1, 0, 2, 3]) == "sporadic_hot"
    assert one([0, -1] + [0] * 7 + [2]) == "oscillating_hot"
    assert one([1] * 9 + [0]) == "historical_hot"  # exactly 90 %
    assert one([1] * 8 + [0, 0]) == "no_pattern"  # 80 % and not hot now
    assert one([0] + [1] * 9) == "persistent_hot"
    assert one([0] + [1] * 9, 2.5, 0.01) == "intensifying_hot"
    assert one([0] + [1] * 9, -2.5, 0.01) == "diminishing_hot"
    assert one([0] + [-1] * 9, -2.5, 0.01) == "intensifying_cold"
    assert one([0] + [-1] * 9, 2.5, 0.01) == "diminishing_cold"
    assert one([0, 0, 1] + [0] * 6 + [-1]) == "oscillating_cold"
    assert one([-1] * 9 + [0]) == "historical_cold"


def test_pattern_labels_cover_the_17_codes_in_three_languages():
    t = pattern_labels()
    assert t["code"].tolist() == list(range(17))
    assert t["pattern"].tolist() == list(PATTERNS)
    for c in ("label_kk", "label_ru", "label_en", "colour"):
        assert t[c].notna().all() and (t[c].str.len() > 0).all()
    assert t["colour"].nunique() == 17


def test_cli_emerging_writes_the_library_patterns(tmp_path, full_demo_truth):
    import json

    from typer.testing import CliRunner

    from qauipsiz.api.cli import app
    from qauipsiz.api.cli.hotspots import read_metadata
    from qauipsiz.hotspot.cube import read_cube, space_time_cube
    from qauipsiz.hotspot.emerging import emerging_hotspots

    df = pd.read_parquet(full_demo_truth).iloc[::3]
    inc = tmp_path / "inc.parquet"
    df.to_parquet(inc)
    out, cube_nc = tmp_path / "em.geojson", tmp_path / "cube.nc"
    r = CliRunner().invoke(app, ["emerging", "--city", "astana", "--res", "8", "--step", "month", "--incidents",
                                 str(inc), "--categories", "theft", "--out", str(out), "--cube", str(cube_nc),
                                 "--lang", "en", "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    ref = emerging_hotspots(space_time_cube(df, "astana", 8, step="month", categories=["theft"]))
    assert summary["patterns"] == ref.attrs["params"]["patterns"]
    fc = json.loads(out.read_text(encoding="utf-8"))
    got = {f["properties"]["h3_hex"]: (f["properties"]["pattern"], f["properties"]["label"]) for f in fc["features"]}
    for row in ref.itertuples():
        assert got[format(int(row.h3), "x")][0] == row.pattern
    assert read_metadata(out)["step"] == "month"
    assert read_cube(cube_nc).counts.sum() == (df["category"] == "theft").sum()
