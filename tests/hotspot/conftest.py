"""Fixtures of the hotspot-engine tests: libpysal's columbus and a small H3 ring grid."""
from __future__ import annotations

import h3
import numpy as np
import pytest


@pytest.fixture(scope="session")
def columbus():
    """libpysal's shipped columbus example (49 neighbourhoods): (GeoDataFrame, queen W)."""
    import geopandas as gpd
    import libpysal
    from libpysal import examples

    df = gpd.read_file(examples.get_path("columbus.shp"))
    w = libpysal.weights.Queen.from_dataframe(df, use_index=False)
    return df, w


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
