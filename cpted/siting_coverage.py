"""Camera coverage for siting: uses ``cpted.cameras.coverage_matrix`` when present, else a DORI sector model with occlusion."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.spatial import cKDTree

DORI_PX_PER_M = {"detect": 25.0, "observe": 62.5, "recognise": 125.0, "identify": 250.0}
"""IEC 62676-4 pixel densities (pixels per metre at the target)."""


def dori_range_m(resolution_px, fov_deg, level: str = "observe") -> np.ndarray:
    """Distance (metres) at which a camera still delivers the DORI ``level``'s pixel density.

    ``range = resolution_px / (px_per_m · 2 · tan(fov/2))`` for horizontal resolution (pixels)
    and horizontal field of view (degrees).
    """
    if level not in DORI_PX_PER_M:
        raise ValueError(f"DORI level {level!r}: expected one of {sorted(DORI_PX_PER_M)}")
    fov = np.asarray(fov_deg, float)
    if ((fov <= 0) | (fov >= 360)).any():
        raise ValueError("fov_deg: must be within (0, 360) degrees")
    half = np.radians(np.minimum(fov, 179.0) / 2)
    return np.asarray(resolution_px, float) / (DORI_PX_PER_M[level] * 2 * np.tan(half))


def sector_coverage(camera_xy, bearing_deg, fov_deg, resolution_px, level, target_xy,
                    buildings=None) -> sp.csr_matrix:
    """Which targets each camera sees: inside its DORI range and field of view, line of sight clear.

    Parameters
    ----------
    camera_xy : array-like, shape (m, 2)
        Camera positions, metres (city UTM).
    bearing_deg : array-like, shape (m,)
        Viewing direction, degrees clockwise from north.
    fov_deg, resolution_px : float or array-like
        Horizontal field of view (degrees) and horizontal resolution (pixels).
    level : str
        DORI level (``detect``, ``observe``, ``recognise``, ``identify``).
    target_xy : array-like, shape (n, 2)
        Target points, metres.
    buildings : array of shapely Polygons (metres), optional
        Occluders; a sight line that crosses a footprint is blocked.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (m, n)
        Stored value = distance in metres (1e-9 for zero) where the camera sees the target.
    """
    cam = np.asarray(camera_xy, float).reshape(-1, 2)
    tgt = np.asarray(target_xy, float).reshape(-1, 2)
    m = len(cam)
    bearing = np.broadcast_to(np.asarray(bearing_deg, float), (m,))
    fov = np.broadcast_to(np.asarray(fov_deg, float), (m,))
    rng_m = np.broadcast_to(dori_range_m(resolution_px, fov_deg, level), (m,))
    if m == 0 or len(tgt) == 0:
        return sp.csr_matrix((m, len(tgt)))
    D = cKDTree(cam).sparse_distance_matrix(cKDTree(tgt), float(rng_m.max()), output_type="coo_matrix")
    i, j, d = D.row, D.col, D.data
    dx = tgt[j, 0] - cam[i, 0]
    dy = tgt[j, 1] - cam[i, 1]
    d = np.hypot(dx, dy)
    az = np.degrees(np.arctan2(dx, dy)) % 360
    diff = np.abs((az - bearing[i] + 180) % 360 - 180)
    ok = (d <= rng_m[i]) & ((diff <= fov[i] / 2) | (d < 1.0))
    i, j, d, dx, dy = i[ok], j[ok], d[ok], dx[ok], dy[ok]
    if buildings is not None and hasattr(buildings, "buildings"):  # a cpted.cameras.Occluder
        buildings = buildings.buildings
    if buildings is not None and len(buildings) and len(i):
        b = np.asarray(buildings)
        b = b[~shapely.is_empty(b)]
        # shorten the sight line by 0.5 m at the camera end (a façade mount touches its wall)
        s = np.minimum(0.5, d / 2) / np.maximum(d, 1e-9)
        lines = shapely.linestrings(np.stack([np.c_[cam[i, 0] + dx * s, cam[i, 1] + dy * s],
                                              np.c_[tgt[j, 0], tgt[j, 1]]], axis=1))
        li, _ = shapely.STRtree(b).query(lines, predicate="intersects")
        blocked = np.zeros(len(i), bool)
        blocked[li] = True
        i, j, d = i[~blocked], j[~blocked], d[~blocked]
    return sp.csr_matrix((np.maximum(d, 1e-9), (i, j)), shape=(m, len(tgt)))


def camera_coverage(camera_xy, bearing_deg, fov_deg, resolution_px, level, target_xy,
                    buildings=None) -> sp.csr_matrix:
    """Camera × target coverage, from the CPTED camera model when available.

    Calls ``cpted.cameras.coverage_matrix`` (same arguments) if that module exists, otherwise
    :func:`sector_coverage`.  Either way the result is binarised by the siting solvers.
    """
    try:
        from cpted.cameras import coverage_matrix
    except ImportError:
        coverage_matrix = None
    if coverage_matrix is not None:
        return sp.csr_matrix(coverage_matrix(camera_xy, bearing_deg, fov_deg, resolution_px, level,
                                             target_xy, buildings))
    return sector_coverage(camera_xy, bearing_deg, fov_deg, resolution_px, level, target_xy, buildings)


def prepare_occluders(buildings):
    """Building footprints (metres) in the form the coverage model reuses across calls."""
    if buildings is None:
        return None
    try:
        from cpted.cameras import Occluder
    except ImportError:
        return np.asarray(buildings)
    return Occluder(buildings)


def camera_model_name() -> str:
    """Which coverage model :func:`camera_coverage` uses (for reports)."""
    try:
        from cpted.cameras import coverage_matrix  # noqa: F401

        return "cpted.cameras.coverage_matrix"
    except ImportError:
        return "cpted.siting_coverage.sector_coverage (DORI sector + building occlusion)"
