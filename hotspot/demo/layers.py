"""Synthetic city layers laid along the real street network (blocks, buildings, lamps, cameras …).

Everything here is invented for the demo city; only the streets and boundaries are real.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from qauipsiz.hotspot.cities import City

LANDUSE_SHARES = {  # share of blocks (by count) given a non-residential use
    "park": 0.06, "garage_estate": 0.03, "wasteland": 0.04, "market": 0.015,
    "construction": 0.015, "square": 0.01,
}


def _blocks(streets_m: gpd.GeoSeries, boundary_m) -> gpd.GeoDataFrame:
    """Polygons enclosed by the street lines, inside the city, 2,000 m² to 0.6 km²."""
    merged = shapely.union_all(streets_m.values)
    polys = shapely.get_parts(shapely.polygonize(shapely.get_parts(merged)))
    polys = polys[shapely.within(polys, boundary_m)]
    area = shapely.area(polys)
    keep = (area > 2_000) & (area < 2_000_000)
    return gpd.GeoDataFrame(geometry=polys[keep])


def _rect(cx, cy, ux, uy, length, depth):
    """Rectangles centred at (cx, cy) with long axis along unit vector (ux, uy)."""
    vx, vy = -uy, ux
    hl, hd = length / 2, depth / 2
    corners = np.stack([
        np.c_[cx - ux * hl - vx * hd, cy - uy * hl - vy * hd],
        np.c_[cx + ux * hl - vx * hd, cy + uy * hl - vy * hd],
        np.c_[cx + ux * hl + vx * hd, cy + uy * hl + vy * hd],
        np.c_[cx - ux * hl + vx * hd, cy - uy * hl + vy * hd],
    ], axis=1)
    return shapely.polygons(corners)


def _points_along(lines, spacing_m: float, rng: np.random.Generator):
    """Points every ``spacing_m`` (random phase) along metric lines: x, y, unit tangent, line index."""
    lengths = np.nan_to_num(shapely.length(lines))
    n = np.maximum((lengths // spacing_m).astype(int), 0)
    idx = np.repeat(np.arange(len(lines)), n)
    k = np.concatenate([np.arange(m) for m in n]) if n.sum() else np.array([], int)
    d = (k + rng.uniform(0.2, 0.8, len(k))) * spacing_m
    p = shapely.line_interpolate_point(lines[idx], d)
    q = shapely.line_interpolate_point(lines[idx], np.minimum(d + 1.0, lengths[idx]))
    p0 = shapely.line_interpolate_point(lines[idx], np.maximum(d - 1.0, 0))
    x, y = shapely.get_x(p), shapely.get_y(p)
    tx, ty = shapely.get_x(q) - shapely.get_x(p0), shapely.get_y(q) - shapely.get_y(p0)
    norm = np.hypot(tx, ty)
    norm[norm == 0] = 1
    return x, y, tx / norm, ty / norm, idx


def build_layers(city: City, streets: gpd.GeoDataFrame, rng: np.random.Generator) -> dict[str, gpd.GeoDataFrame]:
    """Build every synthetic layer in the city's UTM CRS.

    Parameters
    ----------
    city : City
        The city (its ``epsg`` is the metric CRS used throughout).
    streets : GeoDataFrame
        Street segments in EPSG:4326 (``hotspot.streets.load_streets``).
    rng : numpy.random.Generator
        Seeded generator: same seed, same city.

    Returns
    -------
    dict of GeoDataFrame
        ``blocks, buildings, entrances, lamps, cameras, sos_buttons, fences, landuse, transit_stops,
        bars, police_stations, address_points`` in EPSG:``city.epsg`` (metres).
    """
    crs = city.epsg
    st = streets.to_crs(crs)
    inside = shapely.intersects(st.geometry.values, city.boundary_metric)
    st = st[inside].reset_index(drop=True)
    blocks = _blocks(st.geometry, city.boundary_metric)
    nb = len(blocks)
    use = np.full(nb, "residential", dtype=object)
    r = rng.random(nb)
    edge = 0.0
    for lu, share in LANDUSE_SHARES.items():
        use[(r >= edge) & (r < edge + share)] = lu
        edge += share
    area = blocks.area.to_numpy()
    use[(use == "square") & (area > 40_000)] = "park"
    blocks["use"] = use
    blocks["block_id"] = np.arange(nb)

    # --- buildings on the inner ring of built-up blocks (perimeter blocks) ---
    built = blocks[blocks["use"] == "residential"]
    rings, ring_blocks = [], []
    for inset in (22.0, 75.0, 130.0):
        r_ = shapely.buffer(built.geometry.values, -inset)
        parts, pidx = shapely.get_parts(r_, return_index=True)
        rings.append(shapely.get_exterior_ring(parts))
        ring_blocks.append(built["block_id"].to_numpy()[pidx])
    ring, ring_block = np.concatenate(rings), np.concatenate(ring_blocks)
    ok = ~shapely.is_empty(ring)
    ring, ring_block = ring[ok], ring_block[ok]
    bx, by, ux, uy, li = _points_along(ring, 60.0, rng)
    keep = rng.random(len(bx)) < 0.8
    bx, by, ux, uy, li = bx[keep], by[keep], ux[keep], uy[keep], li[keep]
    length = rng.uniform(18, 60, len(bx))
    depth = rng.uniform(12, 16, len(bx))
    bgeom = _rect(bx, by, ux, uy, length, depth)
    # drop buildings that overlap an earlier one or a street
    tree = shapely.STRtree(bgeom)
    a, b = tree.query(bgeom, predicate="intersects")
    clash = np.zeros(len(bgeom), bool)
    clash[b[(a < b)]] = True
    street_buf = shapely.STRtree(shapely.buffer(st.geometry.values, 6.0))
    hit = np.unique(street_buf.query(bgeom, predicate="intersects")[0])
    clash[hit] = True
    sel = ~clash
    bgeom, bx, by, ux, uy = bgeom[sel], bx[sel], by[sel], ux[sel], uy[sel]
    bblock = ring_block[li[sel]]
    n_b = len(bgeom)
    buse = rng.choice(["residential", "commercial", "public"], n_b, p=[0.78, 0.17, 0.05])
    levels = np.where(buse == "residential", rng.choice([5, 9, 12, 16, 22], n_b, p=[.25, .35, .2, .15, .05]),
                      rng.integers(1, 4, n_b))
    active = (buse != "residential") | (rng.random(n_b) < 0.15)
    buildings = gpd.GeoDataFrame({
        "building_id": np.arange(n_b), "levels": levels, "active_ground_floor": active, "use": buse,
        "block_id": bblock,
    }, geometry=bgeom, crs=crs)

    # address: nearest street segment's name, house numbers in order along that street
    sidx, bidx = shapely.STRtree(st.geometry.values).query_nearest(shapely.points(bx, by), return_distance=False)
    street_of = np.empty(n_b, dtype=object)
    street_of[sidx] = st["name"].to_numpy()[bidx]
    buildings["street"] = street_of
    proj = shapely.line_locate_point(st.geometry.values[bidx], shapely.points(bx, by)[sidx])
    order_key = pd.DataFrame({"street": street_of[sidx], "seg": bidx, "pos": proj, "b": sidx})
    order_key = order_key.sort_values(["street", "seg", "pos"])
    house = order_key.groupby("street").cumcount().to_numpy() + 1
    suffix = np.where(rng.random(len(house)) < 0.08, rng.choice(["а", "б", "/1", "/2"], len(house)), "")
    hn = np.empty(n_b, dtype=object)
    hn[order_key["b"].to_numpy()] = [f"{h}{s}" for h, s in zip(house, suffix, strict=True)]
    buildings["house"] = hn

    # --- entrances: on the yard side (away from the street) of each building ---
    n_ent = np.where(buse == "residential", rng.integers(1, 5, n_b), 1)
    e_b = np.repeat(np.arange(n_b), n_ent)
    k = np.concatenate([np.arange(m) for m in n_ent])
    frac = (k + 0.5) / n_ent[e_b] - 0.5
    c = shapely.centroid(bgeom)
    cx, cy = shapely.get_x(c), shapely.get_y(c)
    # inward normal: towards the block centroid
    bc = shapely.centroid(blocks.set_index("block_id").geometry.loc[bblock].values)
    nx, ny = -uy, ux
    sign = np.sign((shapely.get_x(bc) - cx) * nx + (shapely.get_y(bc) - cy) * ny)
    sign[sign == 0] = 1
    ex = cx[e_b] + ux[e_b] * frac * length[sel][e_b] + nx[e_b] * sign[e_b] * (depth[sel][e_b] / 2 + 0.5)
    ey = cy[e_b] + uy[e_b] * frac * length[sel][e_b] + ny[e_b] * sign[e_b] * (depth[sel][e_b] / 2 + 0.5)
    access = np.where(buse[e_b] == "residential",
                      rng.choice(["open", "intercom", "guarded", "locked"], len(e_b), p=[.35, .5, .05, .1]),
                      rng.choice(["open", "guarded"], len(e_b), p=[.85, .15]))
    entrances = gpd.GeoDataFrame({
        "entrance_id": np.arange(len(e_b)), "building_id": e_b, "access": access, "main": k == 0,
    }, geometry=shapely.points(ex, ey), crs=crs)

    # --- landuse: parks etc. are whole blocks; yards are the interiors of residential blocks ---
    lu_blocks = blocks[blocks["use"] != "residential"]
    yard_geom = shapely.difference(shapely.buffer(built.geometry.values, -32.0),
                                    shapely.buffer(shapely.union_all(bgeom), 4.0))
    ysel = ~shapely.is_empty(yard_geom) & (shapely.area(yard_geom) > 400)
    yards = yard_geom[ysel]
    yard_cent = shapely.point_on_surface(yards)
    play = rng.random(len(yards)) < 0.55
    pg = shapely.buffer(yard_cent[play], 12.0, cap_style="square")
    park_x = shapely.get_x(yard_cent[~play])
    park_y = shapely.get_y(yard_cent[~play])
    pk = _rect(park_x, park_y, np.ones(len(park_x)), np.zeros(len(park_x)), 30, 16)
    landuse = gpd.GeoDataFrame({
        "landuse": np.r_[lu_blocks["use"].to_numpy(), np.full(len(yards), "yard"), np.full(len(pg), "playground"),
                         np.full(len(pk), "parking")],
        "fenced": np.r_[lu_blocks["use"].isin(["construction", "garage_estate"]).to_numpy(),
                        rng.random(len(yards)) < 0.3, rng.random(len(pg)) < 0.5, np.zeros(len(pk), bool)],
    }, geometry=np.r_[lu_blocks.geometry.values, yards, pg, pk], crs=crs)
    landuse.insert(0, "landuse_id", np.arange(len(landuse)))

    fence_src = landuse[landuse["fenced"]]
    fences = gpd.GeoDataFrame({"fence_id": np.arange(len(fence_src)),
                               "kind": np.where(fence_src["landuse"] == "yard", "yard_fence", "site_fence")},
                              geometry=shapely.boundary(fence_src.geometry.values), crs=crs)

    # --- lamps: along streets (some segments dark), and in yards near entrances ---
    dark_seg = rng.random(len(st)) < 0.15
    lx, ly, tx, ty, seg = _points_along(st.geometry.values, 35.0, rng)
    side = rng.choice([-1, 1], len(lx))
    lx, ly = lx - ty * 8 * side, ly + tx * 8 * side
    working = ~dark_seg[seg] & (rng.random(len(lx)) < 0.92)
    yard_lamp = rng.random(len(entrances)) < 0.45
    ylx = entrances.geometry.x.to_numpy()[yard_lamp] + rng.normal(0, 3, yard_lamp.sum())
    yly = entrances.geometry.y.to_numpy()[yard_lamp] + rng.normal(0, 3, yard_lamp.sum())
    n_l, n_y = len(lx), len(ylx)
    lamps = gpd.GeoDataFrame({
        "height_m": np.r_[rng.choice([8.0, 10.0, 12.0], n_l), rng.choice([4.0, 5.0, 6.0], n_y)],
        "flux_lm": np.r_[rng.choice([8000.0, 12000.0, 18000.0], n_l), rng.choice([2500.0, 4000.0, 6000.0], n_y)],
        "lamp_class": np.r_[np.full(n_l, "street"), np.full(n_y, "yard")],
        "working": np.r_[working, rng.random(n_y) < 0.85],
    }, geometry=shapely.points(np.r_[lx, ylx], np.r_[ly, yly]), crs=crs)
    lamps.insert(0, "lamp_id", np.arange(len(lamps)))

    # --- transit stops every ~450 m on the longer streets ---
    long_st = st[st["length_m"] > 600]
    sx, sy, stx, sty, sseg = _points_along(long_st.geometry.values, 450.0, rng)
    stops = gpd.GeoDataFrame({
        "stop_id": np.arange(len(sx)),
        "name": [f"{n} (остановка {i + 1})" for i, n in enumerate(long_st["name"].to_numpy()[sseg])],
    }, geometry=shapely.points(sx - sty * 10, sy + stx * 10), crs=crs)

    # --- cameras: public ЦОУ cameras at stops and some intersections of lit streets, private at shops ---
    com = np.flatnonzero(buse == "commercial")
    pick_com = com[rng.random(len(com)) < 0.35]
    pick_stop = rng.random(len(sx)) < 0.5
    cam_x = np.r_[cx[pick_com], sx[pick_stop]]
    cam_y = np.r_[cy[pick_com], sy[pick_stop]]
    n_c = len(cam_x)
    cameras = gpd.GeoDataFrame({
        "camera_id": np.arange(n_c),
        "bearing_deg": rng.uniform(0, 360, n_c).round(0),
        "fov_deg": rng.choice([60.0, 90.0, 110.0], n_c),
        "resolution_px": rng.choice([1280, 1920, 2560, 3840], n_c, p=[.2, .5, .2, .1]),
        "height_m": rng.choice([3.0, 4.0, 6.0], n_c),
        "owner": np.r_[np.full(len(pick_com), "private"), np.full(pick_stop.sum(), "public_cou")],
        "status": rng.choice(["working", "broken"], n_c, p=[0.9, 0.1]),
    }, geometry=shapely.points(cam_x, cam_y), crs=crs)

    # --- SOS buttons at a few stops, bars at commercial buildings, police stations per district ---
    sos_i = rng.choice(len(sx), size=min(40, len(sx)), replace=False)
    sos = gpd.GeoDataFrame({"sos_id": np.arange(len(sos_i)), "status": "working", "connected_cou": True},
                           geometry=shapely.points(sx[sos_i] - sty[sos_i] * 12, sy[sos_i] + stx[sos_i] * 12), crs=crs)
    bar_b = rng.choice(com, size=min(350, len(com)), replace=False)
    bars = gpd.GeoDataFrame({
        "bar_id": np.arange(len(bar_b)),
        "kind": rng.choice(["bar", "liquor_shop"], len(bar_b), p=[0.45, 0.55]),
        "name": [f"Заведение №{i + 1}" for i in range(len(bar_b))],
    }, geometry=shapely.points(cx[bar_b], cy[bar_b]), crs=crs)

    d_m = city.districts.to_crs(crs)
    st_rows: list[tuple] = []
    for d in d_m.itertuples():
        inside_b = np.flatnonzero(shapely.within(shapely.points(cx, cy), d.geometry))
        for j in rng.choice(inside_b, size=min(2, len(inside_b)), replace=False):
            st_rows.append((f"УП района {d.name_ru.replace('район ', '')} №{len(st_rows) + 1}", cx[j], cy[j]))
    police = gpd.GeoDataFrame({"station_id": np.arange(len(st_rows)), "name": [s[0] for s in st_rows]},
                              geometry=shapely.points([s[1] for s in st_rows], [s[2] for s in st_rows]), crs=crs)

    return {
        "blocks": blocks.set_crs(crs), "buildings": buildings, "entrances": entrances, "lamps": lamps,
        "cameras": cameras, "sos_buttons": sos, "fences": fences, "landuse": landuse,
        "transit_stops": stops, "bars": bars, "police_stations": police,
    }
