"""Automatic scale of analysis, after Esri's Optimized Hot Spot Analysis rules."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from qauipsiz.hotspot._inference import check_y
from qauipsiz.hotspot.moran import global_moran_from_sums

N_BANDS = 10
PEAK_Z = 1.65


@dataclass
class ScaleResult:
    """Chosen distance band and the incremental Moran's I profile behind it.

    Attributes
    ----------
    distance_m : float
        Distance band for the weights, metres.
    method : str
        ``"moran_peak"`` (first peak of z > 1.65) or ``"knn"`` (Esri's fallback).
    distances_m, moran_i, moran_z : ndarray
        The 10 bands tested and global Moran's I / z (randomisation) at each.
    k : int or None
        K of the k-NN fallback.
    """

    distance_m: float
    method: str
    distances_m: np.ndarray
    moran_i: np.ndarray
    moran_z: np.ndarray
    k: int | None = None
    params: dict = field(default_factory=dict)


def knn_k(n: int) -> int:
    """Esri's fallback neighbour count: K = clamp(round(0.05 n), 3, 30)."""
    return int(min(30, max(3, round(0.05 * n))))


def band_start_increment(xy) -> tuple[float, float]:
    """Esri's start distance and increment, metres.

    The start is the smallest distance at which every non-outlier feature has a neighbour
    (the largest nearest-neighbour distance after dropping features whose nearest-neighbour
    distance exceeds Q3 + 1.5·IQR); the increment is the mean nearest-neighbour distance.
    """
    xy = np.asarray(xy, float)
    d, _ = cKDTree(xy).query(xy, k=2)
    nn = d[:, 1]
    q1, q3 = np.percentile(nn, [25, 75])
    keep = nn <= q3 + 1.5 * (q3 - q1)
    return float(nn[keep].max()), float(nn.mean())


def incremental_moran(y, xy, distances_m) -> tuple[np.ndarray, np.ndarray]:
    """Global Moran's I and its z (randomisation) for binary distance-band weights at each distance.

    All pairs within the largest band are found once with a KD-tree and the Moran sums of every
    band are cumulative sums over the pairs sorted by length, so 10 bands cost one neighbour search.

    Parameters
    ----------
    y : array (n,)
    xy : array (n, 2)
        Metric coordinates, metres.
    distances_m : array of float
        Band radii in metres (inclusive).

    Returns
    -------
    (I, z) : two ndarrays, one value per distance (NaN where a band holds no pair); features
        without a neighbour in a band simply contribute nothing to it
    """
    y = check_y(y)
    xy = np.asarray(xy, float)
    n = len(y)
    dist = np.asarray(distances_m, float)
    pairs = cKDTree(xy).query_pairs(float(dist.max()) * (1 + 1e-12), output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    length = np.sqrt(((xy[i] - xy[j]) ** 2).sum(axis=1))
    order = np.argsort(length, kind="stable")
    i, j, length = i[order], j[order], length[order]
    z = y - y.mean()
    zz = float(z @ z)
    b2 = n * float((z**4).sum()) / zz**2
    cut = np.searchsorted(length, dist * (1 + 1e-12), side="right")
    prod = np.cumsum(z[i] * z[j])
    out_i = np.full(len(dist), np.nan)
    out_z = np.full(len(dist), np.nan)
    for b, c in enumerate(cut):  # at most 10 bands: one bincount each
        if c == 0:
            continue
        deg = np.bincount(i[:c], minlength=n) + np.bincount(j[:c], minlength=n)
        s0 = 2.0 * c
        s1 = 4.0 * c
        s2 = float(((2.0 * deg) ** 2).sum())
        r = global_moran_from_sums(n, zz, 2.0 * prod[c - 1], s0, s1, s2, b2)
        out_i[b], out_z[b] = r.I, r.z_rand
    return out_i, out_z


def first_peak(z) -> int | None:
    """Index of the first local maximum of ``z`` with z > 1.65, or None.

    A peak needs a lower (or equal) value on the next band, so a profile still rising at the last
    band has no peak (Esri then falls back to the k-NN distance).
    """
    z = np.asarray(z, float)
    for b in range(len(z)):
        if not np.isfinite(z[b]) or z[b] <= PEAK_Z:
            continue
        prev_ok = b == 0 or not np.isfinite(z[b - 1]) or z[b] > z[b - 1]
        next_ok = b < len(z) - 1 and np.isfinite(z[b + 1]) and z[b] >= z[b + 1]
        if prev_ok and next_ok:
            return b
    return None


def optimal_scale(y, xy, *, n_bands: int = N_BANDS) -> ScaleResult:
    """Distance band for hot-spot weights by Esri's Optimized Hot Spot Analysis rules.

    Global Moran's I is computed over ``n_bands`` increasing distance bands (start and increment
    from :func:`band_start_increment`); the first peak with z > 1.65 is the scale.  Without a
    peak, the distance is the mean distance to the K-th nearest neighbour with
    K = clamp(0.05 n, 3, 30).

    Parameters
    ----------
    y : array (n,)
        Value per feature (e.g. incident count per cell).
    xy : array (n, 2)
        Feature coordinates in metres.

    Returns
    -------
    ScaleResult
    """
    y = check_y(y)
    xy = np.asarray(xy, float)
    if xy.shape != (len(y), 2):
        raise ValueError(f"xy: shape {xy.shape}, expected ({len(y)}, 2)")
    start, inc = band_start_increment(xy)
    dist = start + inc * np.arange(n_bands)
    mi, z = incremental_moran(y, xy, dist)
    b = first_peak(z)
    params = {"start_m": start, "increment_m": inc, "n_bands": n_bands}
    if b is not None:
        return ScaleResult(float(dist[b]), "moran_peak", dist, mi, z, None, params)
    k = knn_k(len(y))
    d, _ = cKDTree(xy).query(xy, k=k + 1)
    return ScaleResult(float(d[:, k].mean()), "knn", dist, mi, z, k, params)
