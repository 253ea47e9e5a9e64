"""Checks for rows that already carry coordinates: swapped, zero, outside, low precision, sinks.

Everything here is relative to the city (its registry polygon plus :data:`CITY_TOLERANCE_M`);
nothing assumes a country.  The sink rule (:func:`classify_repeats`) is the one used both by
:func:`check_coordinates` and by the ingest path (``qauipsiz.api.ingest.validate``).
"""
from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import shapely

from qauipsiz.hotspot.cities import City, get_city

CITY_TOLERANCE_M = 2000.0
"""Points up to this distance (metres) outside the city polygon still count as in the city: the
registry polygons are generalised and edge neighbourhoods / ring roads fall just outside them."""

SINK_MIN_COUNT = 10
"""A coordinate is examined as a possible sink or repeat place from this many rows in a batch."""
SINK_MIN_SHARE = 0.005
"""An 'abnormal share' of a batch at one coordinate (0.5 %)."""
SINK_MIN_ADDRESSES = 5
"""A coordinate whose rows carry at least this many distinct (normalised) addresses …"""
SINK_MAX_TOP_SHARE = 0.5
"""… and whose most common address holds less than this share of its addressed rows is a sink:
one point standing in for many different places.  A coordinate whose most common address holds
at least this share is a *repeat place* (a mall, a market, an apartment block): kept."""
SINK_MIN_ADDRESSED = 0.5
"""Addresses decide only when at least this share of a coordinate's rows carry one."""
SINK_EXTREME_SHARE = 0.02
"""Without addresses, a coordinate is a sink by count only if it holds at least this share of the
batch (2 %) *and* lies within :data:`DEFAULT_NEAR_M` of a known default point."""
DEFAULT_NEAR_M = 250.0
"""Radius (metres) of the 'matches a known default point' test for the no-address extreme rule."""
KNOWN_SINK_RADIUS_M = 10.0
"""A row within this distance (metres) of a known default point (police station, district or city
centroid) is a sink whatever its count.  Exact default points repeat to the metre; 10 m absorbs
rounding of the stored point, while a real incident next door (tens of metres) is not taken."""
ROUND_DECIMALS = 5
"""Coordinates are compared rounded to 5 decimals (≈ 1 m)."""


def _to_float(v) -> tuple[np.ndarray, np.ndarray | None]:
    """Floats from numbers or strings (decimal comma allowed); also decimals typed, if strings."""
    s = pd.Series(v)
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        txt = s.astype("string").str.strip().str.replace(",", ".", regex=False)
        num = pd.to_numeric(txt, errors="coerce").to_numpy(float)
        frac = txt.str.extract(r"\.(\d*)$", expand=False).str.len()
        dec = frac.fillna(0).to_numpy(float)
        return num, dec
    return s.to_numpy(float), None


def _decimals_lt(x: np.ndarray, d: int) -> np.ndarray:
    """True where float ``x`` has fewer than ``d`` decimals (i.e. is a multiple of 10^-(d-1))."""
    scaled = x * 10 ** (d - 1)
    return np.isfinite(x) & (np.abs(scaled - np.round(scaled)) < 1e-6 * np.maximum(1.0, np.abs(scaled)) * 1e-3 + 1e-7)


def _city(city: str | City) -> City:
    return city if isinstance(city, City) else get_city(city)


@cache
def _zone(city: City, tolerance_m: float):
    z = shapely.buffer(city.boundary_metric, tolerance_m) if tolerance_m > 0 else city.boundary_metric
    shapely.prepare(z)
    return z


def city_zone(city: str | City, tolerance_m: float = CITY_TOLERANCE_M):
    """The city's polygon buffered by ``tolerance_m`` metres, in the city's metric CRS (prepared)."""
    return _zone(_city(city), float(tolerance_m))


def in_city(lat, lon, city: str | City, tolerance_m: float = CITY_TOLERANCE_M) -> np.ndarray:
    """Boolean array: does each point (decimal degrees) lie in the city polygon + ``tolerance_m``?"""
    c = _city(city)
    la = np.atleast_1d(np.asarray(lat, float))
    lo = np.atleast_1d(np.asarray(lon, float))
    ok = np.isfinite(la) & np.isfinite(lo) & (np.abs(la) <= 90) & (np.abs(lo) <= 180)
    out = np.zeros(la.shape, bool)
    if ok.any():
        x, y = c.to_metric(lo[ok], la[ok])
        out[ok] = shapely.contains_xy(city_zone(c, tolerance_m), x, y)
    return out


def locate_in_city(lat, lon, city: str | City, tolerance_m: float = CITY_TOLERANCE_M):
    """Place points relative to the city; put swapped pairs back.

    A pair is ``swapped`` when it is not in the city (polygon + ``tolerance_m``) but the pair read
    the other way is.  Zero / missing values are neither inside nor swapped.

    Returns
    -------
    lat, lon : ndarray
        Repaired coordinates (swapped pairs exchanged).
    inside, swapped : ndarray of bool
    """
    la = np.asarray(lat, float)
    lo = np.asarray(lon, float)
    good = np.isfinite(la) & np.isfinite(lo) & (la != 0) & (lo != 0)
    inside = good & in_city(la, lo, city, tolerance_m)
    cand = good & ~inside
    sw = np.zeros(la.shape, bool)
    if cand.any():
        sw[cand] = in_city(lo[cand], la[cand], city, tolerance_m)
    la2 = np.where(sw, lo, la)
    lo2 = np.where(sw, la, lo)
    return la2, lo2, inside | sw, sw


def _norm_addresses(addresses, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer code per row of the normalised address text (case, ё, punctuation and spacing
    folded); -1 for blank / missing.  Also the normalised text of each code."""
    if addresses is None:
        return np.full(n, -1, np.int64), np.zeros(0, dtype=object)
    s = pd.Series(addresses).reset_index(drop=True)
    if len(s) != n:
        raise ValueError(f"addresses has {len(s)} values, coordinates {n}")
    codes, uniq = pd.factorize(s.astype(object), use_na_sentinel=True)
    u = pd.Series(uniq, dtype=object).astype("string").str.lower().str.replace("ё", "е", regex=False)
    u = u.str.replace(r"[^\w]+", " ", regex=True).str.strip()
    u = u.mask(u == "")
    ucodes, utext = pd.factorize(u, use_na_sentinel=True)
    out = np.full(n, -1, np.int64)
    ok = codes >= 0
    out[ok] = ucodes[codes[ok]]
    return out, np.asarray(utext, dtype=object)


PLACE_STOP_TOKENS = frozenset({"авен", "avenue", "стреет", "st", "ст", "етаж", "етаз", "бутик", "павилон",
                               "павилион", "корпус", "блок", "вход", "ряд", "контеинер", "магазин", "кафе"})
"""Folded words that name no particular place (English type words the lexicon does not know,
floors, boutiques, rows): they never link two addresses in :func:`_place_agreement`."""
PLACE_MAX_ADDRESSES = 300
"""Coordinates with more distinct addresses than this are not linked (a pairwise test): their
most common text decides, as before."""


@cache
def _city_names(c: City) -> frozenset:
    from qauipsiz.hotspot.geocode.sources import city_fold_names

    return city_fold_names(c)


def _place_tokens(text: str, c: City) -> tuple[frozenset, str | None]:
    """Name tokens of an address — the street, cross-street and landmark tokens of the whole text
    and of each comma segment parsed alone with the city's names (so "Хан Шатыр, Туран 37" keeps
    both names and "г. Астана" gives none) — and its house number."""
    from qauipsiz.hotspot.geocode.normalize import parse_address

    cities = _city_names(c)
    p = parse_address(text, cities=cities)
    parts = [p] + ([parse_address(seg, cities=cities) for seg in text.split(",") if seg.strip()]
                   if "," in text else [])
    toks = frozenset(t for q in parts for t in (*q.street, *q.cross, *q.landmark)
                     if len(t) >= 3 and not any(ch.isdigit() for ch in t) and t not in PLACE_STOP_TOKENS)
    return toks, (str(p.house).lower() if p.house else None)


def _largest_linked(idx: list[int], toks: list[frozenset], counts: np.ndarray) -> float:
    """Rows (``counts``) of the largest group of texts ``idx`` linked by shared tokens."""
    parent = list(range(len(idx)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a in range(len(idx)):
        for b in range(a + 1, len(idx)):
            if toks[a] & toks[b]:
                parent[find(a)] = find(b)
    sizes: dict[int, float] = {}
    for a, i in enumerate(idx):
        r = find(a)
        sizes[r] = sizes.get(r, 0.0) + float(counts[i])
    return max(sizes.values(), default=0.0)


def _place_agreement(texts: np.ndarray, counts: np.ndarray, c: City) -> float:
    """Share of a coordinate's addressed rows that name one place, however it is written.

    Two address texts name the same place when they share a name token (street, landmark or
    cross-street name, stemmed and folded) and their house numbers do not differ: "пр. Туран 37",
    "ТРЦ Хан Шатыр", "Хан Шатыр, Туран 37" and "Туран, д. 37, бутик 5" are one place (a mall);
    "мкр. Самал 12" and "мкр. Самал 45" are two.  A place has one house number (or none): for each
    house h, the texts with house h or with none are linked by shared tokens, and the largest
    linked group's share of the rows is the answer (a text without a house never joins two
    different houses into one place).
    """
    k = len(texts)
    if k <= 1:
        return 1.0
    if k > PLACE_MAX_ADDRESSES:
        return float(counts.max() / counts.sum())
    parsed = [_place_tokens(str(t), c) for t in texts]
    houses = {h for _, h in parsed if h is not None}
    none = [i for i, (_, h) in enumerate(parsed) if h is None]
    best = 0.0
    for h in (*sorted(houses), None):
        idx = ([i for i, (_, hh) in enumerate(parsed) if hh == h] if h is not None else []) + none
        best = max(best, _largest_linked(idx, [parsed[i][0] for i in idx], counts))
    return best / float(counts.sum())


def _default_xy(c: City, known_sinks, district_defaults: bool):
    ks = [tuple(np.asarray(v, float) for v in known_sinks)] if known_sinks is not None else []
    if district_defaults:
        ks.append(default_points(c))
    ks = [k for k in ks if len(k[0])]
    if not ks:
        return None
    kla = np.concatenate([k[0] for k in ks])
    klo = np.concatenate([k[1] for k in ks])
    ok = np.isfinite(kla) & np.isfinite(klo)
    if not ok.any():
        return None
    kx, ky = c.to_metric(klo[ok], kla[ok])
    return np.c_[kx, ky]


def classify_repeats(lat, lon, city: str | City, addresses=None, *, known_sinks=None,  # noqa: PLR0913 -- keyword-only options with defaults
                     district_defaults: bool = True, min_count: int = SINK_MIN_COUNT,
                     min_share: float = SINK_MIN_SHARE, min_addresses: int = SINK_MIN_ADDRESSES,
                     max_top_share: float = SINK_MAX_TOP_SHARE, extreme_share: float = SINK_EXTREME_SHARE,
                     known_radius_m: float = KNOWN_SINK_RADIUS_M, default_near_m: float = DEFAULT_NEAR_M):
    """THE sink rule: which repeated coordinates are default points (sinks) and which are real
    places where many incidents happen (repeat places).

    Rows are grouped by coordinate (rounded to :data:`ROUND_DECIMALS`).  A row is a **sink** when

    1. it lies within ``known_radius_m`` of a known default point (``known_sinks``, e.g. police
       stations, and — with ``district_defaults`` — the district and city centroids /
       representative points of :func:`default_points`), whatever its count; or
    2. its coordinate holds ≥ ``min_count`` rows, at least :data:`SINK_MIN_ADDRESSED` of them carry
       an address, and the addresses disagree: either ≥ ``min_addresses`` distinct normalised
       addresses with the most common one under ``max_top_share`` of the addressed rows, or an
       abnormal share (≥ ``min_share`` of the batch) with ≥ 2 distinct addresses and the most common
       under ``max_top_share``; or
    3. (no usable addresses at that coordinate) it holds ≥ ``min_count`` rows *and* an extreme share
       (≥ ``extreme_share``) *and* lies within ``default_near_m`` of a known default point.  Count
       alone never makes a sink.

    Any other coordinate with ≥ ``min_count`` rows is a **repeat place** (one consistent address:
    a mall, a market, an apartment block; or no addresses to tell): kept at its precision.

    Parameters
    ----------
    lat, lon : array-like of float
        Decimal degrees WGS84 (already repaired); NaN rows are ignored.
    city : str or City
        Metric CRS and default points.
    addresses : array-like of str, optional
        Address text per row (same length).

    Returns
    -------
    sink, repeat_place : ndarray of bool
        Per row.
    table : DataFrame
        One row per examined coordinate (≥ ``min_count`` rows, or near a known default point):
        ``lat, lon, count, share, addressed, n_addresses, top_share, kind`` (``sink`` /
        ``repeat_place``), largest first.
    """
    c = _city(city)
    la = np.asarray(lat, float)
    lo = np.asarray(lon, float)
    if len(la) != len(lo):
        raise ValueError(f"lat has {len(la)} values, lon has {len(lo)}")
    n = len(la)
    ok = np.isfinite(la) & np.isfinite(lo)
    sink = np.zeros(n, bool)
    rep = np.zeros(n, bool)
    cols = ["lat", "lon", "count", "share", "addressed", "n_addresses", "top_share", "kind"]
    if not ok.any():
        return sink, rep, pd.DataFrame({k: [] for k in cols})
    idx = np.flatnonzero(ok)
    rla, rlo = np.round(la[idx], ROUND_DECIMALS), np.round(lo[idx], ROUND_DECIMALS)
    g, uniq = pd.factorize(pd.MultiIndex.from_arrays([rla, rlo]))
    ng = len(uniq)
    cnt = np.bincount(g, minlength=ng)
    share = cnt / len(idx)
    # known default points
    near_known = np.zeros(len(idx), bool)
    near_default = np.zeros(ng, bool)
    kxy = _default_xy(c, known_sinks, district_defaults)
    if kxy is not None:
        from scipy.spatial import cKDTree

        tree = cKDTree(kxy)
        x, y = c.to_metric(lo[idx], la[idx])
        d, _ = tree.query(np.c_[x, y], k=1)
        near_known = d <= known_radius_m
        gx, gy = c.to_metric(uniq.get_level_values(1).to_numpy(float), uniq.get_level_values(0).to_numpy(float))
        gd, _ = tree.query(np.c_[gx, gy], k=1)
        near_default = gd <= default_near_m
    # addresses per coordinate
    a_all, a_text = _norm_addresses(addresses, n)
    a = a_all[idx]
    has = a >= 0
    addressed = np.bincount(g[has], minlength=ng)
    n_addr = np.zeros(ng, np.int64)
    top = np.zeros(ng, np.int64)
    if has.any():
        pairs = pd.DataFrame({"g": g[has], "a": a[has]}).value_counts().reset_index(name="n")
        n_addr = np.bincount(pairs["g"].to_numpy(), minlength=ng)
        top_s = pairs.groupby("g")["n"].max()
        top[top_s.index.to_numpy()] = top_s.to_numpy()
    top_share = np.where(addressed > 0, top / np.maximum(addressed, 1), np.nan)
    cand = cnt >= min_count
    informed = addressed >= SINK_MIN_ADDRESSED * cnt
    disagree = informed & (top_share < max_top_share)
    # texts that disagree may still name one place (a mall written by its street address, its
    # name, or both): the share of the largest such place replaces the most common text's
    for gi in np.flatnonzero(disagree & (cnt >= min_count)):
        sub = pairs[pairs["g"] == gi]
        top_share[gi] = max(top_share[gi], _place_agreement(a_text[sub["a"].to_numpy()], sub["n"].to_numpy(float), c))
    disagree = informed & (top_share < max_top_share)
    g_sink = cand & (
        (disagree & (n_addr >= min_addresses))
        | (disagree & (n_addr >= 2) & (share >= min_share))
        | (~informed & (share >= extreme_share) & near_default)
    )
    row_sink = g_sink[g] | near_known
    g_known = np.bincount(g[near_known], minlength=ng) > 0
    g_rep = cand & ~g_sink & ~g_known
    sink[idx] = row_sink
    rep[idx] = g_rep[g] & ~row_sink
    keep = cand | g_known
    t = pd.DataFrame({
        "lat": uniq.get_level_values(0).to_numpy(float), "lon": uniq.get_level_values(1).to_numpy(float),
        "count": cnt, "share": share, "addressed": addressed, "n_addresses": n_addr, "top_share": top_share,
        "kind": np.where(g_sink | g_known, "sink", "repeat_place"),
    })[keep]
    return sink, rep, t.sort_values("count", ascending=False, kind="stable").reset_index(drop=True)


def find_sinks(lat, lon, addresses=None, *, city: str | City = "astana", **kw) -> pd.DataFrame:
    """Coordinates that behave like default points ("sinks"), by the rule of
    :func:`classify_repeats` (keyword arguments are passed on).

    Returns
    -------
    DataFrame
        ``lat, lon, count, share, addressed, n_addresses, top_share, kind``, largest first.
    """
    _, _, t = classify_repeats(lat, lon, city, addresses, **kw)
    return t[t["kind"] == "sink"].reset_index(drop=True)


def default_points(city: str | City = "astana") -> tuple[np.ndarray, np.ndarray]:
    """Points exports use as a default location: the centroid and representative point of each
    district polygon and of the city polygon.  Returns ``(lat, lon)`` arrays, degrees WGS84."""
    return _default_points(_city(city))


@cache
def _default_points(c: City) -> tuple[np.ndarray, np.ndarray]:
    geoms = [*c.districts.to_crs(c.epsg).geometry.values, c.boundary_metric]
    xs, ys = [], []
    for g in geoms:
        for p in (g.centroid, g.representative_point()):
            xs.append(p.x)
            ys.append(p.y)
    lon, lat = c.to_wgs84(np.asarray(xs), np.asarray(ys))
    return np.asarray(lat, float), np.asarray(lon, float)


def check_coordinates(lat, lon, city: str | City = "astana", *, addresses=None, min_decimals: int = 4,  # noqa: PLR0913 -- keyword-only options with defaults
                      sink_min_count: int = SINK_MIN_COUNT, sink_min_share: float = SINK_MIN_SHARE,
                      known_sinks=None, known_sink_radius_m: float = KNOWN_SINK_RADIUS_M,
                      district_defaults: bool = True, tolerance_m: float = CITY_TOLERANCE_M) -> pd.DataFrame:
    """Validate and repair source coordinates.

    Parameters
    ----------
    lat, lon : array-like of float or str
        Source coordinates, decimal degrees (strings may use a decimal comma; then the typed
        number of decimals is used for the precision check).
    city : str or City
        City registry key (or a :class:`City`); its boundary polygon buffered by ``tolerance_m``
        decides "outside" and whether a pair read the other way is "swapped".
    addresses : array-like of str, optional
        Address text per row; tells sinks (many different addresses at one point) from repeat
        places (one address, many incidents).  See :func:`classify_repeats`.
    min_decimals : int
        Fewer decimals than this in either coordinate flags ``low_precision`` (4 decimals ≈ 11 m).
    sink_min_count, sink_min_share :
        See :func:`classify_repeats` (``min_count``, ``min_share``).
    known_sinks : (lat array, lon array), optional
        Points known to be used as defaults (e.g. police stations): rows within
        ``known_sink_radius_m`` metres are sinks.
    district_defaults : bool
        Also treat the district and city centroids / representative points
        (:func:`default_points`) as known default points.

    Returns
    -------
    DataFrame
        Same length and order: ``lat, lon`` (repaired: swapped pairs put back, NaN for missing/zero),
        ``flags`` (comma-separated: ``missing, zero, swapped, outside, low_precision, sink,
        repeat_place``) and ``ok`` (False for missing, zero, outside and sink rows, which need
        geocoding from the address instead; swapped, low-precision and repeat-place rows stay
        usable, flagged).  ``attrs`` holds ``sink_rows``, ``repeat_place_rows`` and
        ``repeat_places`` (number of coordinates).
    """
    c = _city(city)
    la, dla = _to_float(lat)
    lo, dlo = _to_float(lon)
    if len(la) != len(lo):
        raise ValueError(f"lat has {len(la)} values, lon has {len(lo)}")
    n = len(la)
    missing = ~(np.isfinite(la) & np.isfinite(lo))
    zero = ~missing & ((np.abs(la) < 1e-9) | (np.abs(lo) < 1e-9))
    good = ~missing & ~zero
    la = np.where(good, la, np.nan)
    lo = np.where(good, lo, np.nan)
    la2, lo2, inside, sw = locate_in_city(la, lo, c, tolerance_m)
    outside = good & ~inside
    if dla is not None and dlo is not None:
        lowp = good & ((dla < min_decimals) | (dlo < min_decimals))
    else:
        lowp = good & (_decimals_lt(la2, min_decimals) | _decimals_lt(lo2, min_decimals))
    usable = good & ~outside
    sink, rep, t = classify_repeats(np.where(usable, la2, np.nan), np.where(usable, lo2, np.nan), c, addresses,
                                    known_sinks=known_sinks, district_defaults=district_defaults,
                                    min_count=sink_min_count, min_share=sink_min_share,
                                    known_radius_m=known_sink_radius_m)
    flags = np.full(n, "", dtype=object)
    for name, m in (("missing", missing), ("zero", zero), ("swapped", sw), ("outside", outside),
                    ("low_precision", lowp), ("sink", sink), ("repeat_place", rep)):
        if m.any():
            flags[m] = np.where(flags[m] == "", name, flags[m] + "," + name)
    ok = good & ~outside & ~sink
    r = pd.DataFrame({"lat": la2, "lon": lo2, "flags": flags, "ok": ok})
    r.attrs.update(sink_rows=int(sink.sum()), repeat_place_rows=int(rep.sum()),
                   repeat_places=int((t["kind"] == "repeat_place").sum()))
    return r
