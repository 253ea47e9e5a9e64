"""Space-time cube: zero-filled city cells x steps, counts equal a pandas groupby of the same
filtered incidents, filters as in hotspot_table, NetCDF and Parquet round trips."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qauipsiz.hotspot.binning import fill_city_cells, filter_mask, incident_cells
from qauipsiz.hotspot.cube import read_cube, space_time_cube
from qauipsiz.hotspot.surface import hotspot_table
from qauipsiz.hotspot.timeutil import to_local


@pytest.fixture(scope="module")
def demo(full_demo_truth):
    return pd.read_parquet(full_demo_truth).iloc[::4].reset_index(drop=True)


@pytest.mark.parametrize(("step", "freq"), [("day", "D"), ("week", "W-SUN"), ("month", "M")])
def test_counts_equal_groupby_and_zero_filled(demo, step, freq):
    cube = space_time_cube(demo, "astana", 8, step=step, categories=["theft", "robbery"])
    cells = fill_city_cells("astana", 8)
    assert np.array_equal(cube.cells, cells)
    sub = demo[filter_mask(demo, "astana", categories=["theft", "robbery"])]
    loc = to_local(sub["occurred_at"], "Asia/Almaty").dt.tz_localize(None)
    per = pd.PeriodIndex(loc, freq=freq)
    all_per = pd.PeriodIndex(to_local(demo["occurred_at"], "Asia/Almaty").dt.tz_localize(None), freq=freq)
    assert cube.shape == (len(cells), all_per.max().ordinal - all_per.min().ordinal + 1)
    ref = pd.DataFrame({"h3": incident_cells(sub, 8), "t": per.to_timestamp()}).groupby(["h3", "t"]).size()
    long = cube.to_frame()
    got = long[long["count"] > 0].set_index(["h3", "time"])["count"]
    got.index.names = ["h3", "t"]
    ref = ref[ref.index.get_level_values(0).isin(cells)]
    pd.testing.assert_series_equal(got.sort_index().astype(int), ref.sort_index().astype(int), check_names=False)
    assert (long["count"] == 0).sum() > 0  # zeros present
    assert len(long) == len(cells) * cube.shape[1]


def test_cube_sums_to_the_hotspot_table_counts_under_the_same_filters(demo):
    filters = {"categories": ["theft"], "hours": "18-02", "start": "2024-02-01", "end": "2024-08-01"}
    cube = space_time_cube(demo, "astana", 9, step="week", **filters)
    tab = hotspot_table(demo, "astana", 9, lisa=False, bandwidth_m=300, **filters)
    assert np.array_equal(cube.cells, tab["h3"].to_numpy(np.uint64))
    assert np.array_equal(cube.counts.sum(axis=1), tab["count"].to_numpy())
    assert cube.params["first_step_partial"] is True  # 2024-02-01 is a Thursday
    assert str(cube.times[0].date()) == "2024-01-29"


@pytest.mark.parametrize("suffix", [".nc", ".parquet"])
def test_round_trip(demo, tmp_path, suffix):
    cube = space_time_cube(demo, "astana", 8, step="month", categories=["fraud"])
    path = tmp_path / f"cube{suffix}"
    (cube.to_netcdf if suffix == ".nc" else cube.to_parquet)(path)
    back = read_cube(path)
    assert np.array_equal(back.cells, cube.cells)
    assert np.array_equal(back.counts, cube.counts)
    np.testing.assert_allclose(back.weighted, cube.weighted)
    assert list(back.times) == list(cube.times)
    assert (back.step, back.res, back.city) == ("month", 8, "astana")
    assert back.params["filters"] == {"categories": ["fraud"]}


def test_netcdf_opens_with_xarray(demo, tmp_path):
    xr = pytest.importorskip("xarray")
    cube = space_time_cube(demo, "astana", 8, step="month")
    cube.to_netcdf(tmp_path / "c.nc")
    with xr.open_dataset(tmp_path / "c.nc") as ds:
        assert ds["count"].dims == ("h3", "time")
        assert int(ds["count"].sum()) == cube.counts.sum()


def test_bad_step_is_refused(demo):
    with pytest.raises(ValueError, match="step"):
        space_time_cube(demo, "astana", 8, step="year")
