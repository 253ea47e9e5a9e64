"""Measurements shared by the checks: the illuminance field, lamp and camera arrays, the building
occluder, points along paths and per-polygon shares.  Expensive ones are cached on the design."""
from __future__ import annotations

import numpy as np
import shapely

from qauipsiz.cpted import cameras, lighting
from qauipsiz.cpted.review.design import Design
from qauipsiz.cpted.review.messages import Message, msg

CAMERA_FIELDS = ("bearing_deg", "fov_deg", "resolution_px")


def lux_field(d: Design, cell_m: float = 1.0):
    """Illuminance (lx) on a ``cell_m`` grid over the site (buildings excluded), cached on the design.

    Returns ``(grid, lux)``; ``lux`` is ``None`` when the design has no usable lamps.
    """
    if "lux" in d.cache:
        return d.cache["lux"]
    site = shapely.union_all(d.geoms("site"))
    grid = lighting.sample_grid([site], cell_m, exclude=d.geoms("building"))
    lx, ly, lh, li = lamp_arrays(d)
    lux = lighting.illuminance(grid.x, grid.y, lx, ly, lh, li) if lx is not None else None
    d.cache["lux"] = (grid, lux)
    return grid, lux


def lamp_arrays(d: Design):
    """Working lamps as ``(x, y, height_m, intensity)`` arrays (metres, cd), or four ``None`` when the
    design has no lamps or some lamp lacks ``height_m`` / ``flux_lm``."""
    lamps = d["lamp"]
    if len(lamps) == 0 or lamps[["height_m", "flux_lm"]].isna().any().any():
        return None, None, None, None
    return lighting.lamps_arrays(lamps, working_only=True)


def lux_at(d: Design, x, y) -> np.ndarray:
    """Illuminance (lx) of the design's working lamps at points ``x, y`` (metres)."""
    lx, ly, lh, li = lamp_arrays(d)
    return lighting.illuminance(x, y, lx, ly, lh, li)


def lamps_missing(d: Design) -> Message | None:
    """Why the lighting cannot be computed (no lamps, a lamp without size), or ``None``."""
    if len(d["lamp"]) == 0:
        return msg("no_lamps")
    bad = d["lamp"][["height_m", "flux_lm"]].isna().any(axis=1).to_numpy()
    if bad.any():
        return msg("lamp_lacks_size", feature=int(d["lamp"]["_feature"].iloc[int(np.flatnonzero(bad)[0])]))
    return None


def working_cameras(d: Design):
    """``(cameras that are not broken, None)``, or ``(None, why)`` when camera data is missing."""
    cam = d["camera"]
    if len(cam) == 0:
        return None, msg("no_camera_features")
    miss = [c for c in CAMERA_FIELDS if c not in cam.columns]
    if miss:
        return None, msg("cameras_lack_fields", fields=", ".join(miss))
    bad = cam[list(CAMERA_FIELDS)].isna().any(axis=1).to_numpy()
    if bad.any():
        return None, msg("camera_lacks_fields", feature=int(cam["_feature"].iloc[int(np.flatnonzero(bad)[0])]),
                         fields=", ".join(CAMERA_FIELDS))
    st = cam["status"].astype(str).str.lower().to_numpy() if "status" in cam.columns else np.full(len(cam), "working")
    return cam[st != "broken"], None


def occluder(d: Design) -> cameras.Occluder:
    """The buildings as sight-line occluders, cached on the design."""
    if "occ" not in d.cache:
        d.cache["occ"] = cameras.Occluder(d.geoms("building"))
    return d.cache["occ"]


def camera_matrix(d: Design, cam, level: str, target_xy: np.ndarray):
    """Sparse camera × target visibility at a DORI ``level``, cameras mounted on the nearest facade."""
    occ = occluder(d)
    cxy = shapely.get_coordinates(np.asarray(cam.geometry.values, dtype=object))
    b = cam["bearing_deg"].to_numpy(float)
    x, y = cameras.mount_on_facade(cxy[:, 0], cxy[:, 1], b, occ)
    return cameras.coverage_matrix(np.c_[x, y], b, cam["fov_deg"].to_numpy(float),
                                   cam["resolution_px"].to_numpy(float), level, target_xy, occ)


def path_points(d: Design, step: float):
    """Points every ≤ ``step`` metres along the footpaths.

    Returns ``(lines, line_index, distance_along_m, x, y)``.
    """
    lines = shapely.get_parts(d.geoms("path"))
    lengths = shapely.length(lines)
    n = np.maximum(np.ceil(lengths / step).astype(int), 1) + 1
    li = np.repeat(np.arange(len(lines)), n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    dist = k / (n[li] - 1) * lengths[li]
    pts = shapely.line_interpolate_point(lines[li], dist)
    return lines, li, dist, shapely.get_x(pts), shapely.get_y(pts)


def zone_cells(d: Design, polys):
    """Grid cells of the lux grid inside ``polys``: ``(grid, owner, sel)`` with ``owner`` the 1-based
    polygon of each grid cell (0 outside) and ``sel`` the indices of the cells inside some polygon."""
    grid, _ = lux_field(d)
    owner = grid.burn(polys, np.arange(1, len(polys) + 1))
    return grid, owner, np.flatnonzero(owner > 0)


def share_per_polygon(flag: np.ndarray, owner_sel: np.ndarray, n: int) -> np.ndarray:
    """Share of the cells of each of ``n`` polygons where ``flag`` holds (0 for a polygon without cells)."""
    return np.array([flag[owner_sel == k + 1].mean() if (owner_sel == k + 1).any() else 0.0 for k in range(n)])


def fmt_values(values, spec: str) -> str:
    """``"4.2, 0.0"``: values joined for a message parameter (``spec`` e.g. ``.1f`` or ``.0%``)."""
    return ", ".join(format(v, spec) for v in values)
