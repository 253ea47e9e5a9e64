"""Memory bounds of a server process (issue 20): cache accounting that sees GEOS geometries, the byte
budget honoured, and freed heap handed back to the OS (glibc)."""
from __future__ import annotations

import sys

import numpy as np
import pytest


def test_geometry_accounted_at_least_as_wkb():
    import geopandas as gpd
    import shapely

    from qauipsiz.api.cache import _size_of

    rng = np.random.default_rng(3)
    polys = [shapely.Polygon(rng.random((40, 2)) + i).convex_hull.buffer(0.01) for i in range(200)]
    g = gpd.GeoDataFrame({"v": np.arange(200)}, geometry=polys, crs=4326)
    wkb = sum(len(b) for b in shapely.to_wkb(np.asarray(polys, dtype=object)))
    shallow = int(g.memory_usage(deep=True).sum())
    assert wkb > 4 * shallow  # pandas alone sees almost nothing of the geometries
    assert _size_of(g) >= wkb  # the estimate counts at least the coordinates' bytes
    assert _size_of({"layer": g}) >= wkb and _size_of(g.geometry) >= wkb
    assert _size_of(np.zeros(1000)) == 8000 and _size_of(b"x" * 10) == 10


def test_budget_and_eviction_order():
    from qauipsiz.api.cache import SurfaceCache

    c = SurfaceCache(max_bytes=10_000)
    for i in range(8):
        c.put(("k", "astana", i), np.zeros(250))  # 2,000 bytes each
    st = c.stats()
    assert st["bytes"] <= 10_000 and st["entries"] == 5
    assert c.get(("k", "astana", 0)) is None and c.get(("k", "astana", 7)) is not None
    assert c.invalidate("astana") == 5 and c.stats()["bytes"] == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc controls")
def test_glibc_controls_available():
    from qauipsiz.api.memory import limit_malloc_arenas, malloc_trim

    assert limit_malloc_arenas(2) is True
    assert malloc_trim() in (True, False)  # 1 when memory was released, 0 when there was none to release
