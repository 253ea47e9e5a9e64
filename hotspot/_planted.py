"""Private: synthetic H3 grids with planted hotspots, for ground-truth tests and benchmarks."""
from __future__ import annotations

from dataclasses import dataclass

import h3
import numpy as np
import scipy.sparse as sp

from qauipsiz.hotspot.binning import ring_weights


@dataclass
class PlantedGrid:
    cells: np.ndarray        # uint64, sorted
    y: np.ndarray            # counts per cell
    planted: np.ndarray      # bool: cell inside a planted hotspot
    touched: np.ndarray      # bool: cell whose k-ring neighbourhood contains a planted cell
    w: sp.csr_matrix         # binary ring weights (no diagonal)
    centres: np.ndarray      # uint64 hotspot centre cells


def planted_grid(*, res: int = 10, k_disk: int = 129, n_hot: int = 5, hot_radius: int = 4,  # noqa: PLR0913 -- keyword-only options with defaults
                 background: float = 2.0, hot_rate: float = 7.0, ring_k: int = 1,
                 seed: int = 0, centre_latlng=(51.15, 71.45)) -> PlantedGrid:
    """A hexagonal disk of H3 cells (k_disk=129 at res 10: 50,311 cells, ~750 km²) with Poisson
    counts of mean ``background`` and ``n_hot`` planted disks of ``hot_radius`` rings at mean
    ``hot_rate``.  Centres are ≥ 4·hot_radius+4 rings apart and ≥ 2·hot_radius rings from the edge."""
    rng = np.random.default_rng(seed)
    centre = h3.api.basic_int.latlng_to_cell(centre_latlng[0], centre_latlng[1], res)
    cells = np.sort(np.asarray(h3.api.basic_int.grid_disk(centre, k_disk), np.uint64))
    dist_c = np.asarray([h3.api.basic_int.grid_distance(centre, int(c)) for c in cells])
    cand = cells[dist_c <= k_disk - 2 * hot_radius]
    chosen: list[int] = []
    while len(chosen) < n_hot:
        c = int(rng.choice(cand))
        if all(h3.api.basic_int.grid_distance(c, o) >= 4 * hot_radius + 4 for o in chosen):
            chosen.append(c)
    hot = np.unique(np.concatenate([np.asarray(h3.api.basic_int.grid_disk(c, hot_radius), np.uint64)
                                    for c in chosen]))
    planted = np.isin(cells, hot)
    touch = np.unique(np.concatenate([np.asarray(h3.api.basic_int.grid_disk(c, hot_radius + ring_k), np.uint64)
                                      for c in chosen]))
    touched = np.isin(cells, touch)
    y = rng.poisson(np.where(planted, hot_rate, background)).astype(float)
    w = ring_weights(cells, ring_k)
    return PlantedGrid(cells, y, planted, touched, w, np.asarray(chosen, np.uint64))


def recovery(flag: np.ndarray, g: PlantedGrid) -> tuple[float, float]:
    """(share of planted cells flagged, share of flagged cells whose neighbourhood has no planted
    cell — the cells where Gi*'s null hypothesis is true)."""
    rec = float(flag[g.planted].mean())
    fd = float((flag & ~g.touched).sum() / max(flag.sum(), 1))
    return rec, fd
