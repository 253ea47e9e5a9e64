"""H3 binning, the filled study area, filters in local time, neighbour weights."""
from __future__ import annotations

import h3
import numpy as np
import pandas as pd
import pytest

from qauipsiz.hotspot import binning
from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.h3grid import cells_to_latlng, cells_to_parent, latlng_to_cells


def _h3_loop(lat, lon, res):
    return np.array([h3.api.basic_int.latlng_to_cell(a, b, res) for a, b in zip(lat, lon, strict=True)],
                    np.uint64)


def test_vectorised_cells_and_parents_match_h3():
    rng = np.random.default_rng(0)
    lat = 51.0 + rng.random(3000) * 0.4
    lon = 71.2 + rng.random(3000) * 0.6
    lat[5] = np.nan
    for res in (7, 9, 10, 11):
        got = latlng_to_cells(lat, lon, res)
        assert got[5] == 0
        ok = np.isfinite(lat)
        np.testing.assert_array_equal(got[ok], _h3_loop(lat[ok], lon[ok], res))
    c11 = latlng_to_cells(lat, lon, 11)
    for res in (7, 8, 9, 10):
        ref = np.array([h3.api.basic_int.cell_to_parent(int(c), res) if c else 0 for c in c11], np.uint64)
        np.testing.assert_array_equal(cells_to_parent(c11, res), ref)
    la, lo = cells_to_latlng(c11[:50])
    assert np.isnan(la[5]) and np.isnan(lo[5])
    ok = c11[:50] != 0
    ref = np.array([h3.api.basic_int.cell_to_latlng(int(c)) for c in c11[:50][ok]])
    np.testing.assert_allclose(np.c_[la[ok], lo[ok]], ref, atol=1e-12)


def test_filled_city_contains_every_inside_point():
    city = get_city("astana")
    cells = binning.fill_city_cells("astana", 9)
    assert cells.dtype == np.uint64 and np.all(np.diff(cells.astype(np.int64)) > 0)
    rng = np.random.default_rng(1)
    minx, miny, maxx, maxy = city.boundary.bounds
    lon = rng.uniform(minx, maxx, 20000)
    lat = rng.uniform(miny, maxy, 20000)
    inside = city.contains(lat, lon)
    c = latlng_to_cells(lat[inside], lon[inside], 9)
    assert np.isin(c, cells).all()
    # and not much more than the polygon: hexagons overlapping it (area check, ±15 %)
    area_km2 = city.boundary_metric.area / 1e6
    cell_km2 = h3.average_hexagon_area(9, "km^2")
    assert len(cells) * cell_km2 == pytest.approx(area_km2, rel=0.15)
    assert binning.fill_city_cells("astana", 9) is cells  # cached


def _incidents(n=4000, seed=2):
    rng = np.random.default_rng(seed)
    occ = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 365 * 24 * 60, n), "min")
    return pd.DataFrame({
        "occurred_at": pd.Series(occ).dt.as_unit("ns"),
        "lat": 51.12 + rng.random(n) * 0.08, "lon": 71.38 + rng.random(n) * 0.12,
        "category": rng.choice(["theft", "robbery", "fraud"], n),
        "place_type": rng.choice(["yard", "street_square_park"], n),
        "harm_weight": rng.choice([5.0, 30.0, 270.0], n),
        "is_dark": rng.random(n) < 0.4,
    })


def test_bin_counts_equal_groupby():
    df = _incidents()
    b = binning.bin_incidents(df, 10)
    ref = df.assign(c=latlng_to_cells(df.lat, df.lon, 10)).groupby("c").agg(n=("lat", "size"),
                                                                          w=("harm_weight", "sum"))
    np.testing.assert_array_equal(b["h3"].to_numpy(), ref.index.to_numpy().astype(np.uint64))
    np.testing.assert_array_equal(b["count"].to_numpy(), ref["n"].to_numpy())
    np.testing.assert_allclose(b["weighted"].to_numpy(), ref["w"].to_numpy())
    # on the filled study area: zeros included, totals preserved
    cells = binning.fill_city_cells("astana", 10)
    f = binning.bin_incidents(df, 10, cells=cells)
    assert len(f) == len(cells) and (f["count"] == 0).sum() > 0.9 * len(cells)
    assert f["count"].sum() + f.attrs["outside"] == len(df)


def test_stored_h3_used_when_no_coordinates():
    df = _incidents(200)
    df["h3"] = latlng_to_cells(df.lat, df.lon, 11)
    df.loc[:9, ["lat", "lon"]] = np.nan
    c = binning.incident_cells(df, 9)
    np.testing.assert_array_equal(c[:10], cells_to_parent(df["h3"].to_numpy()[:10], 9))
    np.testing.assert_array_equal(c[10:], latlng_to_cells(df.lat[10:], df.lon[10:], 9))


def test_hours_and_weekdays_are_local_and_wrap():
    # Astana: UTC+6 until 2024-03-01, UTC+5 after (tz database)
    t = pd.to_datetime(["2024-02-10 13:30", "2024-02-10 20:30", "2024-06-10 20:30", "2024-06-10 12:30",
                        "2024-06-09 19:10"], utc=True)
    df = pd.DataFrame({"occurred_at": t})
    # local: 19:30 Sat, 02:30 Sun, 01:30 Tue, 17:30 Mon, 00:10 Mon
    m = binning.filter_mask(df, "astana", hours="18-02")
    assert m.tolist() == [True, False, True, False, True]
    m = binning.filter_mask(df, "astana", hours=(2, 3))
    assert m.tolist() == [False, True, False, False, False]
    m = binning.filter_mask(df, "astana", weekdays=["mon", 6])
    assert m.tolist() == [False, True, False, True, True]
    assert binning.filter_mask(df, "astana", weekdays="mon,sun").tolist() == m.tolist()
    with pytest.raises(ValueError, match="weekday"):
        binning.filter_mask(df, "astana", weekdays=["funday"])
    # naive bounds are local: 2024-02-11 00:00 to 2024-06-10 00:00 Astana time
    m = binning.filter_mask(df, "astana", start="2024-02-11", end="2024-06-10")
    assert m.tolist() == [False, True, False, False, False]
    with pytest.raises(ValueError, match="hours"):
        binning.filter_mask(df, "astana", hours="25-3")
    with pytest.raises(ValueError, match="city"):
        binning.filter_mask(df, None, hours="18-02")


def test_category_place_dark_filters():
    df = _incidents()
    m = binning.filter_mask(df, categories={"theft"}, place_types=["yard"], dark=True)
    ref = (df.category == "theft") & (df.place_type == "yard") & df.is_dark
    np.testing.assert_array_equal(m, ref.to_numpy())
    np.testing.assert_array_equal(binning.filter_mask(df, categories="theft", place_types="yard", dark=True), m)
    # without is_dark the sun position is computed
    d2 = df.drop(columns="is_dark")
    from qauipsiz.hotspot.timeutil import is_dark

    np.testing.assert_array_equal(binning.filter_mask(d2, dark=False),
                                  ~is_dark(d2.lat.to_numpy(), d2.lon.to_numpy(), d2.occurred_at))
    with pytest.raises(ValueError, match="category"):
        binning.filter_mask(df.drop(columns="category"), categories=["theft"])


def test_ring_and_band_weights_match_brute_force():
    cells = binning.fill_city_cells("astana", 8)
    for k in (1, 2):
        w = binning.ring_weights(cells, k)
        assert (w != w.T).nnz == 0 and w.diagonal().sum() == 0
        cs = set(cells.tolist())
        for i in range(0, len(cells), 17):
            nb = set(h3.api.basic_int.grid_disk(int(cells[i]), k)) & cs - {int(cells[i])}
            assert set(cells[w[i].indices].tolist()) == nb
    xy = binning.city_cell_centres("astana", 8)
    d = 1500.0
    wb = binning.distance_band_weights(xy, d)
    D = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    ref = (D <= d) & ~np.eye(len(xy), dtype=bool)
    np.testing.assert_array_equal(wb.toarray() > 0, ref)
    ws = binning.city_ring_weights("astana", 8, 1)
    assert (ws.diagonal() == 1).all()


def test_h3py_fallback_matches_h3ronpy(monkeypatch):
    import qauipsiz.hotspot.h3grid as g

    rng = np.random.default_rng(5)
    lat = 51.1 + rng.random(500) * 0.1
    lon = 71.4 + rng.random(500) * 0.1
    fast = g.latlng_to_cells(lat, lon, 10)
    ll_fast = g.cells_to_latlng(fast)
    src_fast, dst_fast = g.grid_disk_pairs(fast[:20], 2)
    poly_fast = g.cells_to_boundaries(fast[:5])
    monkeypatch.setattr(g, "_h3r", None)
    monkeypatch.setattr(g, "_h3rv", None)
    np.testing.assert_array_equal(g.latlng_to_cells(lat, lon, 10), fast)
    np.testing.assert_allclose(np.c_[g.cells_to_latlng(fast)], np.c_[ll_fast], atol=1e-12)
    src, dst = g.grid_disk_pairs(fast[:20], 2)
    assert sorted(zip(src.tolist(), dst.tolist(), strict=True)) == sorted(
        zip(src_fast.tolist(), dst_fast.tolist(), strict=True))
    import shapely

    assert all(shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), tolerance=1e-9)
               for a, b in zip(g.cells_to_boundaries(fast[:5]), poly_fast, strict=True))


def test_cell_caches_follow_the_boundary_not_only_the_key(tmp_path):
    """A user city removed and added again under the same key with another polygon gets its new
    polygon's cells, centres and ring weights (the caches were keyed by the city key alone)."""
    import dataclasses

    import geopandas as gpd

    big = get_city("astana")
    gpd.GeoDataFrame(geometry=[big.boundary.buffer(-0.03)], crs=4326).to_file(tmp_path / "small.geojson")
    small = dataclasses.replace(big, boundary_file="small.geojson", folder=str(tmp_path))
    assert small.key == big.key
    cells_big, cells_small = binning.fill_city_cells(big, 8), binning.fill_city_cells(small, 8)
    assert 0 < len(cells_small) < len(cells_big)
    assert np.array_equal(cells_small, binning.polygon_cells(small.boundary, 8))
    assert len(binning.city_cell_centres(small, 8)) == len(cells_small)
    assert binning.city_ring_weights(small, 8).shape == (len(cells_small),) * 2
    assert np.array_equal(binning.fill_city_cells(big, 8), cells_big)  # the first is still right
