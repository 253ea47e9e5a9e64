"""Patrol plans for one shift: hotspot cells chosen by risk at those hours, routed with OR-Tools, printed as route cards."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.h3grid import latlng_to_cells
from qauipsiz.hotspot.network import StreetNetwork, load_network, shortest_path, speed_m_per_min
from qauipsiz.hotspot.patrol_cards import MARKING, route_cards_html
from qauipsiz.hotspot.timeutil import is_dark, to_local

DWELL_MIN = (10.0, 16.0)
"""Koper curve: 10–16 minutes at a hotspot is the effective patrol dose."""
REPEAT_GAP_MIN = 30
"""Least time between leaving a hotspot and coming back to it (``visits > 1``), minutes."""
FIRST_SOLUTION = {1: "PATH_CHEAPEST_ARC", 2: "PARALLEL_CHEAPEST_INSERTION"}
"""OR-Tools first-solution strategy for one visit (key 1) and repeat visits (key 2).  With repeat
visits, insertion builds all routes at once against the round windows; path-cheapest-arc left
visits unserved that only a longer search placed (the demo night of ``tests/siting/test_patrol.py``
with the corrected severity classes: 14 of 90 visits missed after 10 solutions, 0 after 40 s; with
insertion 0 after 10 solutions).  One visit keeps path-cheapest-arc, which balances units better."""
DEPOT_RULE = "police station nearest to the shift's riskiest hotspot"
"""The one default-depot rule of the CLI and the API/dashboard (:func:`default_depot`)."""


@dataclass
class Shift:
    """A shift in the city's local time: ``start``/``end`` tz-aware, ``minutes`` its length."""

    start: pd.Timestamp
    end: pd.Timestamp

    @property
    def minutes(self) -> int:
        """Shift length in whole minutes."""
        return round((self.end - self.start).total_seconds() / 60)


def parse_shift(text: str, tz: str) -> Shift:
    """``"2025-12-05 18:00/02:00"`` → a :class:`Shift` in zone ``tz`` (an end before the start
    is on the next day).  ``"2025-12-05 18:00/2025-12-06 02:00"`` also works."""
    if "/" not in str(text):
        raise ValueError(f"shift {text!r}: expected 'YYYY-MM-DD HH:MM/HH:MM'")
    a, b = str(text).split("/", 1)
    try:
        start = pd.Timestamp(a.strip())
        b = b.strip()
        end = pd.Timestamp(b) if len(b) > 5 else pd.Timestamp(f"{start.date()} {b}")
    except ValueError as e:
        raise ValueError(f"shift {text!r}: cannot read the times ({e})") from e
    if end <= start:
        end += pd.Timedelta(days=1)
    if (end - start) > pd.Timedelta(hours=24):
        raise ValueError(f"shift {text!r}: longer than 24 hours")
    start = start.tz_localize(tz) if start.tzinfo is None else start.tz_convert(tz)
    end = end.tz_localize(tz) if end.tzinfo is None else end.tz_convert(tz)
    return Shift(start, end)


def shift_risk(incidents: pd.DataFrame, city, shift: Shift, res: int = 10, weekday_weight: float = 2.0,
               dark_weight: float = 2.0, half_life_days: float | None = 180.0) -> pd.DataFrame:
    """Risk per H3 cell for the shift's hours, weekday and darkness.

    An incident counts when its local hour falls within the shift's hours; its weight is
    ``harm_weight`` × ``weekday_weight`` (same weekday as the shift) × ``dark_weight`` (when its
    darkness matches the darkness at the shift's midpoint) × recency decay (half-life in days).

    Returns
    -------
    DataFrame
        ``h3, x, y, lat, lon, risk, count, peak_min, hourly`` sorted by risk descending; ``peak_min``
        is the minute after the shift start where the cell's incidents concentrate (weighted circular
        mean of the time of day); ``hourly`` is the cell's risk in each hour of the shift (an array
        per cell), which shapes the times of repeat visits in :func:`plan_patrol`.
    """
    c = get_city(city) if isinstance(city, str) else city
    df = incidents[np.isfinite(incidents["lat"].to_numpy(float)) & np.isfinite(incidents["lon"].to_numpy(float))]
    if "occurred_at" not in df.columns:
        raise ValueError("incidents: missing column 'occurred_at'")
    loc = to_local(df["occurred_at"], c.tz)
    tod = (loc.dt.hour * 60 + loc.dt.minute).to_numpy()
    s0 = shift.start.hour * 60 + shift.start.minute
    rel = (tod - s0) % 1440
    in_hours = rel < shift.minutes
    df = df[in_hours]
    rel = rel[in_hours]
    loc = loc[in_hours]
    w = df["harm_weight"].to_numpy(float) if "harm_weight" in df.columns else np.ones(len(df))
    wd = loc.dt.day_of_week.to_numpy()
    w = w * np.where(wd == shift.start.weekday(), weekday_weight, 1.0)
    mid = shift.start + (shift.end - shift.start) / 2
    dark_mid = bool(is_dark([c.boundary.centroid.y], [c.boundary.centroid.x], [mid.tz_convert("UTC")])[0])
    dk = df["is_dark"].fillna(False).to_numpy(bool) if "is_dark" in df.columns else np.zeros(len(df), bool)
    w = w * np.where(dk == dark_mid, dark_weight, 1.0)
    if half_life_days and len(df):
        # age in days from Timedeltas: independent of the datetime unit (ns, us, ms, s)
        age = ((loc.max() - loc) / pd.Timedelta(days=1)).to_numpy(float)
        w = w * 0.5 ** (age / half_life_days)
    lat = df["lat"].to_numpy(float)
    lon = df["lon"].to_numpy(float)
    x, y = c.to_metric(lon, lat)
    cells = latlng_to_cells(lat, lon, res)
    u, inv = np.unique(cells, return_inverse=True)
    inv = inv.ravel()
    sw = np.bincount(inv, w, len(u))
    safe = np.where(sw > 0, sw, 1)
    ang = rel / shift.minutes * np.pi  # half circle over the shift keeps the order of times
    peak = np.arctan2(np.bincount(inv, w * np.sin(ang), len(u)), np.bincount(inv, w * np.cos(ang), len(u)))
    out = pd.DataFrame({"h3": u, "x": np.bincount(inv, w * x, len(u)) / safe,
                        "y": np.bincount(inv, w * y, len(u)) / safe, "risk": sw,
                        "count": np.bincount(inv, minlength=len(u)),
                        "peak_min": np.clip(peak / np.pi * shift.minutes, 0, shift.minutes)})
    nb = max(1, -(-shift.minutes // 60))
    hb = np.minimum((np.asarray(rel) // 60).astype(np.int64), nb - 1)
    hourly = np.bincount(inv * nb + hb, w, len(u) * nb).reshape(len(u), nb)
    out["hourly"] = list(hourly)
    out["lon"], out["lat"] = c.to_wgs84(out["x"].to_numpy(), out["y"].to_numpy())
    if "category" in df.columns and len(df):
        top = pd.DataFrame({"i": inv, "cat": df["category"].astype(str).to_numpy(), "w": w})
        top = top.groupby(["i", "cat"])["w"].sum().reset_index().sort_values("w", ascending=False).drop_duplicates("i")
        out["top_category"] = top.set_index("i")["cat"].reindex(np.arange(len(u))).fillna("").to_numpy()
    return out.sort_values("risk", ascending=False, kind="stable").reset_index(drop=True)


def forecast_risk(incidents: pd.DataFrame, city, shift: Shift, res: int = 10, method: str = "auto",
                  forecast_res: int = 9) -> pd.DataFrame:
    """:func:`shift_risk`'s cells re-ranked by the forecast of the shift's (local) start day.

    ``risk`` becomes the forecast score of the cell's parent at ``forecast_res`` (issue 16: a
    :mod:`hotspot.forecast` method, fitted on the incidents before that day only); cells with equal
    scores keep the order of their past counts at the shift's hours. ``past_risk`` keeps the old value.

    Returns
    -------
    DataFrame
        The columns of :func:`shift_risk` plus ``past_risk``, sorted by ``risk`` descending.
    """
    from qauipsiz.hotspot.forecast import make_forecaster
    from qauipsiz.hotspot.h3grid import cells_to_parent

    c = get_city(city) if isinstance(city, str) else city
    hs = shift_risk(incidents, c, shift, res)
    fc = make_forecaster(method, res=forecast_res, tz=c.tz).fit(incidents)
    parents = cells_to_parent(hs["h3"].to_numpy(np.uint64), forecast_res)
    hs = hs.assign(past_risk=hs["risk"], risk=fc.predict(parents, shift.start.date()))
    return hs.sort_values("risk", ascending=False, kind="stable").reset_index(drop=True)


def _travel_matrix(net: StreetNetwork, xy: np.ndarray, mode: str):
    """Travel minutes between points along the network, with paths (node sequences)."""
    from scipy.sparse.csgraph import dijkstra

    n, off = net.snap(xy[:, 0], xy[:, 1], main_only=False)
    D, pred = dijkstra(net.graph, directed=False, indices=n, return_predecessors=True)
    M = D[:, n] + off[:, None] + off[None, :]
    E = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    M = np.where(np.isfinite(M), M, 1.4 * E)  # disconnected fragments: detour-factor fallback
    np.fill_diagonal(M, 0)
    return M, M / speed_m_per_min(mode), n, pred


def _local_shift(shift_start, shift_end, tz: str) -> Shift:
    """The shift in local time ``tz`` (naive values are local); an end before the start is next day."""
    s0 = pd.Timestamp(shift_start)
    s1 = pd.Timestamp(shift_end)
    s0 = s0.tz_localize(tz) if s0.tzinfo is None else s0.tz_convert(tz)
    s1 = s1.tz_localize(tz) if s1.tzinfo is None else s1.tz_convert(tz)
    if s1 <= s0:
        s1 += pd.Timedelta(days=1)
    return Shift(s0, s1)


def _time_windows(hs: pd.DataFrame, H: int, visits: int, window_min: float,
                  target: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Earliest and latest arrival (minutes into the shift) of every routing node but the depot.

    One visit: a window of ``window_min`` centred on ``target`` (:func:`_single_targets`), else on
    each hotspot's peak.  ``visits > 1``: one node per (round, hotspot), node ``1 + r·k + h``, each
    allowed anywhere in its round.
    """
    k = len(hs)
    if visits == 1:
        if target is not None:
            peak = np.asarray(target, float)
        else:
            peak = hs["peak_min"].to_numpy(float) if "peak_min" in hs.columns else np.full(k, H / 2)
        half = window_min / 2
        ws = np.clip(np.round(peak - half), 0, max(H - window_min, 0)).astype(int)
        we = np.minimum(ws + int(window_min), H - 1).astype(int)  # latest arrival
    else:
        rnd = np.repeat(np.arange(visits), k)
        ws = (rnd * H) // visits
        we = ((rnd + 1) * H) // visits - 1
    return ws, np.maximum(we, ws)


def _minute_profile(hs: pd.DataFrame, H: int) -> np.ndarray:
    """Each hotspot's risk by minute of the shift (``k × H``), half its own hourly risk and half flat.

    From the ``hourly`` column of :func:`shift_risk`; without it, a bump (σ = 60 min) at ``peak_min``;
    without that, flat.  The flat half keeps one noisy hour from pulling every visit onto it.
    """
    k = len(hs)
    m = np.arange(H) + 0.5
    if "hourly" in hs.columns:
        prof = np.zeros((k, H))
        for i, h in enumerate(hs["hourly"]):
            h = np.asarray(h, float).ravel()
            if h.size and np.isfinite(h).all():
                prof[i] = h[np.minimum((m // 60).astype(int), h.size - 1)]
    elif "peak_min" in hs.columns:
        prof = np.exp(-0.5 * ((m[None, :] - hs["peak_min"].to_numpy(float)[:, None]) / 60.0) ** 2)
    else:
        prof = np.ones((k, H))
    tot = prof.mean(axis=1, keepdims=True)
    prof = np.where(tot > 0, prof / np.where(tot > 0, tot, 1), 1.0)
    return 0.5 * prof + 0.5


def _visit_targets(hs: pd.DataFrame, H: int, visits: int) -> np.ndarray:
    """Target arrival (minutes into the shift) of every (round, hotspot) node, node order of
    :func:`_time_windows`: the risk-weighted mean minute of the hotspot's own profile
    (:func:`_minute_profile`) within each round, so every round is visited where that hotspot's
    risk sits and the rounds together span the shift."""
    prof = _minute_profile(hs, H)
    m = np.arange(H) + 0.5
    out = []
    for r in range(visits):
        a, b = (r * H) // visits, ((r + 1) * H) // visits
        p = prof[:, a:b]
        out.append((p * m[None, a:b]).sum(axis=1) / p.sum(axis=1))
    return np.round(np.concatenate(out)).astype(int)


def _single_targets(hs: pd.DataFrame, H: int, earliest: np.ndarray, latest: np.ndarray,
                    width: int = 60) -> np.ndarray:
    """Target arrival (minutes into the shift) of each hotspot's one visit: the middle of its
    riskiest ``width``-minute window of the shift by its own hourly risk (:func:`_minute_profile`,
    the profile the repeat visits follow) among the arrivals it can make, ``earliest`` (the drive
    from the depot) to ``latest`` (time left for the dose and the way back).  Ties (a flat profile)
    take the middle of the tied windows."""
    prof = _minute_profile(hs, H)
    k = len(hs)
    w = int(min(width, H))
    cs = np.c_[np.zeros(k), np.cumsum(prof, axis=1)]
    win = cs[:, w:] - cs[:, :-w]  # risk of the window starting at minute a, a = 0 … H − w
    mid = np.arange(win.shape[1]) + w / 2
    out = np.empty(k)
    for i in range(k):
        ok = (mid >= earliest[i]) & (mid <= latest[i])
        if not ok.any():  # no whole window fits: the feasible arrival nearest the middle of the shift
            out[i] = float(np.clip(H / 2, earliest[i], max(earliest[i], latest[i])))
            continue
        score = np.where(ok, win[i], -np.inf)
        best = np.flatnonzero(score >= score.max() - 1e-9 * max(1.0, abs(score.max())))
        out[i] = mid[best[len(best) // 2]]
    return np.round(out).astype(int)


def _unit_sequence(routing, manager, sol, time_dim, v: int, T: np.ndarray) -> list[tuple[int, int, int]]:
    """Unit ``v``'s solved route as ``(node, earliest, latest)`` minutes, depot to depot.

    The finaliser keeps the start at its earliest; the unit leaves the depot as late as possible,
    so as to arrive at the first stop exactly when the plan says.
    """
    idx = routing.Start(v)
    seq = []
    while True:
        node = manager.IndexToNode(idx)
        seq.append((node, sol.Min(time_dim.CumulVar(idx)), sol.Max(time_dim.CumulVar(idx))))
        if routing.IsEnd(idx):
            break
        idx = sol.Value(routing.NextVar(idx))
    if len(seq) > 2:
        first_arr = seq[1][1]
        seq[0] = (0, max(0, first_arr - int(T[0, seq[1][0]])), seq[0][2])
    return seq


def _spread_rounds(routing, manager, time_dim, hs, H, visits, ws, we, dwell, gap_min,  # noqa: PLR0913 -- the routing model's parts
                   single=None) -> None:
    """Soft arrival targets (±10 min free, 20 per minute beyond): one visit, the middle of each
    hotspot's riskiest feasible hour (``single``, :func:`_single_targets`); repeat visits, inside
    each round (:func:`_visit_targets`) and, for every two visits to one hotspot that are both
    served, the later arrival at least ``dwell + gap_min`` after the earlier."""
    k = len(hs)
    target = single if visits == 1 else _visit_targets(hs, H, visits)
    for node in range(1, k * visits + 1):
        idx = manager.NodeToIndex(node)
        lo, hi = int(ws[node - 1]), int(we[node - 1])
        t = int(np.clip(target[node - 1], lo, hi))
        time_dim.SetCumulVarSoftLowerBound(idx, max(lo, t - 10), 20)
        time_dim.SetCumulVarSoftUpperBound(idx, min(hi, t + 10), 20)
    if visits == 1:
        return
    solver = routing.solver()
    for h in range(k):
        gap = int(dwell[h] + gap_min)
        for r1 in range(visits):
            for r2 in range(r1 + 1, visits):
                i1, i2 = manager.NodeToIndex(1 + r1 * k + h), manager.NodeToIndex(1 + r2 * k + h)
                both = routing.ActiveVar(i1) + routing.ActiveVar(i2) - 1  # 1 when both are served
                solver.Add(time_dim.CumulVar(i2) - time_dim.CumulVar(i1) >= gap * both - 2 * H * (1 - both))


def plan_patrol(city, incidents: pd.DataFrame, shift_start, shift_end, units: int, depot_xy, *,  # noqa: PLR0913 -- keyword-only options with defaults
                n_hotspots: int | None = None, mode: str = "drive", res: int = 10,
                dwell_min: tuple[float, float] = DWELL_MIN, window_min: float = 120.0,
                time_limit_s: float = 10.0, balance_weight: float = 300.0, max_radius_m: float | None = None,
                net: StreetNetwork | None = None, hotspots: pd.DataFrame | None = None,
                depot_name: str = "", visits: int = 1, solution_limit: int | None = None,
                repeat_gap_min: int = REPEAT_GAP_MIN, depot_rule: str = "") -> tuple:
    """Plan patrol routes for one shift.

    Parameters
    ----------
    city : str or City
    incidents : DataFrame
        Incident table (:mod:`hotspot.schema`).
    shift_start, shift_end : str or Timestamp
        Local times (naive values are in the city's zone); an end before the start is next day.
    units : int
        Number of patrol units (vehicles / foot pairs).
    depot_xy : (float, float)
        Depot (police station) in metres (city UTM).  Every route starts and ends here.
    n_hotspots : int, optional
        Hotspot cells to visit (default ``min(60, 6 × units)``).
    mode : {"drive", "walk"}
        Travel speed along the street network (:mod:`hotspot.network`).
    dwell_min : (float, float)
        Dwell at a hotspot, minutes: the riskiest gets the upper end, the least risky the lower
        (Koper curve).
    window_min : float
        Width of each hotspot's time window, minutes, centred on its peak time in the shift
        (one visit per hotspot).
    visits : int
        Visits to every hotspot during the shift (default 1). With ``visits > 1`` the shift is cut
        into that many equal rounds and each hotspot is to be visited once in every round, so
        hotspots are dosed again and again through the shift (Koper's intermittent presence)
        instead of once near their peak.  Within its round each visit is drawn (soft bound, ±10 min
        free) to the risk-weighted mean minute of the hotspot's own hourly risk in that round (half
        flat), so the rounds fill the shift; two visits to one hotspot are at least
        ``repeat_gap_min`` apart (from leaving it to coming back).
    repeat_gap_min : int
        Least minutes between leaving a hotspot and the next visit to it (default 30).
    depot_name, depot_rule : str
        The depot's name and how it was chosen (reported in ``stops.attrs["depot"]``).
    time_limit_s : float
        OR-Tools search time, seconds.
    solution_limit : int, optional
        Stop the search after this many solutions instead of at the time limit (which then only
        caps a runaway search): the plan no longer depends on the machine's speed, so the same
        input gives the same plan everywhere (tests use it).
    max_radius_m : float, optional
        Consider only hotspots within this network distance of the depot, metres (default 2,500 m on
        foot, unlimited by car); cells whose round trip does not fit in the shift are skipped too.
    balance_weight : float
        Cost (in travel minutes) of one more hotspot on the busiest unit than the routing would
        otherwise choose; together with the global span of the time dimension it balances load.
    hotspots : DataFrame, optional
        Pre-chosen hotspots with ``x, y, risk`` (and optional ``peak_min``) instead of
        :func:`shift_risk`.

    Returns
    -------
    routes : GeoDataFrame (EPSG:4326)
        ``unit, n_stops, distance_m, minutes, start, end`` and the route LineString along streets.
    stops : DataFrame
        ``unit, seq, kind ('depot'/'hotspot'), hotspot, visit, h3, lat, lon, arrive, depart,
        dwell_min, window_start, window_end, risk, top_category, street`` — times are tz-aware
        local; ``hotspot`` is 0-based, ``visit`` counts from 1.  ``stops.attrs["dropped"]`` lists
        the 1-based numbers of hotspots that missed a visit (no route could serve it within its
        window); ``stops.attrs["missed_visits"]`` counts the missed visits; ``stops.attrs["depot"]``
        is ``{"name", "lat", "lon", "rule"}``.
    """
    import geopandas as gpd
    import shapely
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    c = get_city(city) if isinstance(city, str) else city
    if units < 1:
        raise ValueError(f"units {units}: must be ≥ 1")
    if visits < 1:
        raise ValueError(f"visits {visits}: must be ≥ 1")
    shift = _local_shift(shift_start, shift_end, c.tz)
    H = shift.minutes
    net = net or load_network(c.key)
    n_hot = n_hotspots or min(60, 6 * units)
    hs = hotspots if hotspots is not None else shift_risk(incidents, c, shift, res)
    if len(hs) == 0:
        raise ValueError("plan_patrol: no incidents at the shift's hours")
    # only cells a unit can reach from the depot: within max_radius_m along the streets, and with
    # time for the round trip plus the shortest dose inside the shift
    radius = max_radius_m if max_radius_m is not None else (2500.0 if mode == "walk" else np.inf)
    dn, doff = net.snap(np.atleast_1d(depot_xy[0]), np.atleast_1d(depot_xy[1]), main_only=False)
    hn, hoff = net.snap(hs["x"].to_numpy(float), hs["y"].to_numpy(float), main_only=False)
    dd = net.distances(dn)[0][hn] + hoff + doff[0]
    straight = np.hypot(hs["x"].to_numpy(float) - depot_xy[0], hs["y"].to_numpy(float) - depot_xy[1])
    dd = np.where(np.isfinite(dd), dd, 1.4 * straight)
    reach = (dd <= radius) & (2 * dd / speed_m_per_min(mode) + dwell_min[0] <= H)
    if not reach.any():
        raise ValueError(f"plan_patrol: no hotspot within reach of the depot ({mode}, {radius:.0f} m, {H} min)")
    hs = hs[reach].head(n_hot).reset_index(drop=True)
    k = len(hs)
    risk = hs["risk"].to_numpy(float)
    rr = (risk - risk.min()) / (risk.max() - risk.min()) if risk.max() > risk.min() else np.ones(k)
    dwell = np.round(dwell_min[0] + (dwell_min[1] - dwell_min[0]) * rr).astype(int)
    hot_of = np.tile(np.arange(k), visits)  # routing node − 1 → hotspot
    visit_of = np.repeat(np.arange(1, visits + 1), k)
    xy = np.vstack([np.asarray(depot_xy, float).reshape(1, 2), hs[["x", "y"]].to_numpy(float)])
    dist_m, tmin, nodes, pred = _travel_matrix(net, xy, mode)
    loc = np.r_[0, 1 + hot_of]  # routing node → row of the travel matrix
    T = np.ceil(tmin).astype(np.int64)[np.ix_(loc, loc)]
    # one visit: at the riskiest hour of the hotspot's own hourly risk that the unit can reach from
    # the depot and still dose and get back before the shift ends
    single = (_single_targets(hs, H, T[0, 1:k + 1].astype(float), (H - dwell - T[1:k + 1, 0]).astype(float))
              if visits == 1 else None)
    ws, we = _time_windows(hs, H, visits, window_min, single)
    dwell, rr = dwell[hot_of], rr[hot_of]
    service = np.r_[0, dwell]
    kv = k * visits

    manager = pywrapcp.RoutingIndexManager(kv + 1, units, 0)
    routing = pywrapcp.RoutingModel(manager)
    transit = (T + service[:, None]).astype(np.int64)

    def cb(i, j):
        return int(transit[manager.IndexToNode(i), manager.IndexToNode(j)])

    ti = routing.RegisterTransitCallback(cb)
    routing.SetArcCostEvaluatorOfAllVehicles(ti)
    routing.AddDimension(ti, H, H, False, "Time")
    time_dim = routing.GetDimensionOrDie("Time")
    # no span cost: the soft targets place every stop at its hotspot's risky hours (one visit) or
    # through the rounds (repeat visits); a span cost would pull them towards one block of the shift
    time_dim.SetGlobalSpanCostCoefficient(0)
    # balance the number of hotspots per unit too: the longest list of stops costs
    ci = routing.RegisterUnaryTransitCallback(lambda i: 0 if manager.IndexToNode(i) == 0 else 1)
    routing.AddDimension(ci, 0, kv, True, "Stops")
    routing.GetDimensionOrDie("Stops").SetGlobalSpanCostCoefficient(int(balance_weight))
    for node in range(1, kv + 1):
        idx = manager.NodeToIndex(node)
        time_dim.CumulVar(idx).SetRange(int(ws[node - 1]), int(we[node - 1]))
        # dropping a hotspot costs more than any route: only when its window cannot be met
        routing.AddDisjunction([idx], int(10_000_000 * (1 + rr[node - 1])))
    _spread_rounds(routing, manager, time_dim, hs, H, visits, ws, we, dwell[:k], repeat_gap_min, single)
    for v in range(units):
        time_dim.CumulVar(routing.Start(v)).SetRange(0, H)
        time_dim.CumulVar(routing.End(v)).SetRange(0, H)
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.Start(v)))
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(v)))
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, FIRST_SOLUTION[min(visits, 2)])
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    if solution_limit is not None:
        params.solution_limit = int(solution_limit)
    sol = routing.SolveWithParameters(params)
    if sol is None:
        raise ValueError("plan_patrol: OR-Tools found no feasible plan (shift too short for the depot legs?)")

    def at(minute):
        return shift.start + pd.Timedelta(minutes=int(minute))

    top = hs["top_category"].to_numpy(object) if "top_category" in hs.columns else np.full(k, "", object)
    h3c = hs["h3"].to_numpy() if "h3" in hs.columns else np.zeros(k, np.uint64)
    lon_all, lat_all = c.to_wgs84(xy[:, 0], xy[:, 1])
    rows, routes, geoms = [], [], []
    served = set()
    for v in range(units):
        seq = _unit_sequence(routing, manager, sol, time_dim, v, T)
        path_nodes = []
        dist = 0.0
        for s_, (node, tmin_, _) in enumerate(seq):
            is_depot = node == 0
            h = -1 if is_depot else int(hot_of[node - 1])
            arrive = tmin_
            depart = arrive + (0 if is_depot else int(dwell[node - 1]))
            if not is_depot:
                served.add(node)
            rows.append({"unit": v + 1, "seq": s_, "kind": "depot" if is_depot else "hotspot",
                         "hotspot": h, "visit": 0 if is_depot else int(visit_of[node - 1]),
                         "h3": 0 if is_depot else int(h3c[h]),
                         "lat": float(lat_all[h + 1]), "lon": float(lon_all[h + 1]),
                         "arrive": at(arrive), "depart": at(depart),
                         "dwell_min": 0 if is_depot else int(dwell[node - 1]),
                         "window_start": pd.NaT if is_depot else at(ws[node - 1]),
                         "window_end": pd.NaT if is_depot else at(we[node - 1]),
                         "risk": np.nan if is_depot else float(risk[h]),
                         "top_category": "" if is_depot else top[h]})
            if s_ > 0:
                a, b = loc[seq[s_ - 1][0]], loc[node]
                dist += float(dist_m[a, b])
                ok = pred[a][nodes[b]] >= 0 or nodes[a] == nodes[b]
                p = shortest_path(net, pred[a], nodes[b]) if ok else np.array([nodes[a], nodes[b]])
                path_nodes.append(np.c_[net.x[p], net.y[p]])
        pts = np.vstack([xy[:1], *path_nodes, xy[:1]]) if len(seq) > 2 else np.vstack([xy[:1], xy[:1]])
        lo, la = c.to_wgs84(pts[:, 0], pts[:, 1])
        geoms.append(shapely.linestrings(np.c_[lo, la]))
        end_t = seq[-1][1]
        routes.append({"unit": v + 1, "n_stops": len(seq) - 2, "distance_m": dist,
                       "minutes": int(end_t - seq[0][1]), "start": at(seq[0][1]), "end": at(end_t),
                       "dwell_total_min": int(sum(dwell[n - 1] for n, _, _ in seq[1:-1])), "mode": mode})
    routes_gdf = gpd.GeoDataFrame(routes, geometry=geoms, crs=4326)
    stops = pd.DataFrame(rows)
    stops["street"] = _nearest_street_names(c, stops["lon"].to_numpy(), stops["lat"].to_numpy())
    missed = sorted(set(range(1, kv + 1)) - served)
    stops.attrs["dropped"] = sorted({int(hot_of[n - 1]) + 1 for n in missed})
    stops.attrs["missed_visits"] = len(missed)
    stops.attrs["visits"] = visits
    stops.attrs["shift"] = shift
    stops.attrs["depot_name"] = depot_name
    stops.attrs["depot"] = {"name": depot_name, "lat": float(lat_all[0]), "lon": float(lon_all[0]),
                            "rule": depot_rule}
    stops.attrs["repeat_gap_min"] = repeat_gap_min
    stops.attrs["mode"] = mode
    routes_gdf.attrs["objective"] = sol.ObjectiveValue()
    return routes_gdf, stops


def station_depot(city, stations, i: int) -> dict:
    """Row ``i`` of a ``police_stations`` layer as a depot: ``{"station", "name", "lat", "lon", "x", "y"}``
    (``x, y`` city metres; a polygon station stands at a point on its surface)."""
    import shapely

    c = get_city(city) if isinstance(city, str) else city
    pt = shapely.point_on_surface(stations.geometry.values[int(i)])
    x, y = c.to_metric(np.array([pt.x]), np.array([pt.y]))
    name = str(stations.iloc[int(i)]["name"]) if "name" in stations.columns else ""
    return {"station": int(i), "name": name, "lat": float(pt.y), "lon": float(pt.x),
            "x": float(x[0]), "y": float(y[0])}


def default_depot(city, stations, hotspots: pd.DataFrame) -> int:
    """The one default-depot rule (:data:`DEPOT_RULE`) of ``qauipsiz patrol`` and the patrol API /
    dashboard: the row of ``stations`` nearest (straight line) to the first (riskiest) row of
    ``hotspots`` (:func:`shift_risk` order)."""
    import shapely

    c = get_city(city) if isinstance(city, str) else city
    if stations is None or len(stations) == 0:
        raise ValueError("default_depot: no police stations")
    if len(hotspots) == 0:
        return 0
    pts = shapely.point_on_surface(stations.geometry.values)
    sx, sy = c.to_metric(shapely.get_x(pts), shapely.get_y(pts))
    hx, hy = float(hotspots["x"].iloc[0]), float(hotspots["y"].iloc[0])
    return int(np.argmin(np.hypot(np.asarray(sx) - hx, np.asarray(sy) - hy)))


def _nearest_street_names(c, lon, lat) -> np.ndarray:
    import shapely

    from qauipsiz.hotspot.streets import load_streets

    try:
        st = load_streets(c.key)
    except ValueError:
        return np.full(len(lon), "", dtype=object)
    x, y = c.to_metric(lon, lat)
    sm = st.to_crs(c.epsg)
    idx = shapely.STRtree(sm.geometry.values).nearest(shapely.points(np.c_[x, y]))
    return sm["name"].to_numpy(object)[idx]


__all__ = ["DEPOT_RULE", "DWELL_MIN", "MARKING", "REPEAT_GAP_MIN", "Shift", "default_depot", "forecast_risk",
           "parse_shift", "plan_patrol", "route_cards_html", "shift_risk", "station_depot"]
