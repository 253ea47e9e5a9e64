"""Fixtures of the hotspot-engine tests: libpysal's columbus and a small H3 ring grid."""
from __future__ import annotations

import h3
import numpy as np
import pytest


@pytest.fixture(scope="session")
def _columbus_source():
    """libpysal's shipped columbus example, read once: (GeoDataFrame, queen neighbour lists)."""
    import geopandas as gpd
    import libpysal
    from libpysal import examples

    df = gpd.read_file(examples.get_path("columbus.shp"))
    w = libpysal.weights.Queen.from_dataframe(df, use_index=False)
    return df, {k: list(v) for k, v in w.neighbors.items()}


@pytest.fixture
def columbus(_columbus_source):
    """Columbus (49 neighbourhoods): a copy of the GeoDataFrame and a fresh queen W per test.

    esda sets ``w.transform`` on the W it is given (G_Local to "B", Moran_Local to "r"), and tests
    set it too; a fresh W per test keeps one test's transform out of the next test.
    """
    import libpysal

    df, neighbors = _columbus_source
    w = libpysal.weights.W({k: list(v) for k, v in neighbors.items()}, silence_warnings=True)
    assert w.transform == "O"
    return df.copy(), w


@pytest.fixture(scope="session")
def ring_grid():
    """A res-9 hexagonal disk (k=12: 469 cells) with Poisson counts and one planted bump."""
    from qauipsiz.hotspot.binning import ring_weights

    c = h3.api.basic_int.latlng_to_cell(51.16, 71.44, 9)
    cells = np.sort(np.asarray(h3.api.basic_int.grid_disk(c, 12), np.uint64))
    rng = np.random.default_rng(11)
    hot = np.isin(cells, np.asarray(h3.api.basic_int.grid_disk(c, 2), np.uint64))
    y = rng.poisson(np.where(hot, 9.0, 3.0)).astype(float)
    return cells, y, ring_weights(cells, 1)
