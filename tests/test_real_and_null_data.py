"""The built defaults on data nobody tuned them to: pattern-free incidents over the real city
polygons (Astana, Almaty, Chicago's hull) and real incidents (the Chicago sample, real Astana malls).

Every check is seeded and can fail: each one was seen failing before its fix (figures in the
commit messages: edge cold spots in every dense null run, all 28 real malls taken for sinks).
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy import stats

from qauipsiz.hotspot import binning
from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.gistar import gi_star
from qauipsiz.hotspot.surface import hotspot_table
from tests._null_real_helpers import (
    CHICAGO,
    MALLS,
    SHARED,
    chicago_hull_city,
    ingest_cli,
    uniform_points,
)
from tests.conftest import require

ALPHA = 0.05
MEANS = (0.02, 0.2, 2.0, 20.0)  # incidents per cell
SEEDS = 20
SHARED_OSM = SHARED / "kz" / "osm"


def _tol(runs: int) -> int:
    """99.9 % binomial quantile of the number of null runs with any flag when BH holds FWER at α."""
    return int(stats.binom.ppf(0.999, runs, ALPHA))


def _null_runs(city, res: int, mu: float, seeds: int, seed0: int = 0) -> tuple[list[float], int]:
    """Shares of cells in Esri's 95 % bins (hot or cold) of the default table over ``seeds`` uniform runs."""
    ncell = len(binning.fill_city_cells(city, res))
    shares, anyrun = [], 0
    for s in range(seeds):
        rng = np.random.default_rng(seed0 + s)
        lat, lon = uniform_points(city, int(rng.poisson(mu * ncell)), rng)
        t = hotspot_table(pd.DataFrame({"lat": lat, "lon": lon}), city, res=res, bandwidth_m=400, lisa=False)
        flagged = int((np.abs(t["gi_bin"].to_numpy()) >= 2).sum())
        shares.append(flagged / len(t))
        anyrun += flagged > 0
    return shares, anyrun


@pytest.fixture(scope="module")
def chicago(tmp_path_factory):
    require(CHICAGO.exists(), "the shared Chicago sample")
    from qauipsiz.hotspot import cities

    tmp = tmp_path_factory.mktemp("chicago_null_real")
    city, env, raw = chicago_hull_city(tmp)
    yield city, env, raw, tmp
    cities.set_user_dir(None)


# ------------------------------------------------------------------ 1. null data, hot spots
@pytest.mark.parametrize("key", ["astana", "almaty"])
def test_default_hotspots_on_uniform_incidents_res8(key):
    """20 seeds × 4 sparsities over the real polygon at res 8: mean 95 % share ≤ α, runs with
    any flagged cell within BH's FWER (≤ α when every cell is null)."""
    c = get_city(key)
    runs = hits = 0
    for mu in MEANS:
        shares, anyrun = _null_runs(c, 8, mu, SEEDS, seed0=int(mu * 100))
        assert np.mean(shares) <= ALPHA, (key, mu, np.mean(shares))
        assert anyrun <= _tol(SEEDS), (key, mu, anyrun)
        runs += SEEDS
        hits += anyrun
    assert hits <= _tol(runs), (key, hits, runs)


def test_default_hotspots_uniform_dense_res9_and_sparse_res10():
    """The case that failed: 20 incidents a cell over Astana at res 9 flagged 2.4 % of cells (edge
    cold spots) in 10 of 10 runs; and the sparse end at res 10."""
    c = get_city("astana")
    shares, anyrun = _null_runs(c, 9, 20.0, 5, seed0=900)
    assert np.mean(shares) <= ALPHA and anyrun <= 1, (shares, anyrun)
    shares, anyrun = _null_runs(c, 10, 0.2, 3, seed0=1000)
    assert max(shares) == 0 or np.mean(shares) <= ALPHA
    assert anyrun <= 1


def test_default_hotspots_chicago_hull(chicago):
    city = chicago[0]
    runs = hits = 0
    for mu in MEANS:
        shares, anyrun = _null_runs(city, 8, mu, 10, seed0=50 + int(mu * 10))
        assert np.mean(shares) <= ALPHA, (mu, shares)
        runs += 10
        hits += anyrun
    assert hits <= _tol(runs), (hits, runs)


def test_boundary_cells_are_what_broke_it():
    """Without the area exposure (gi_star on the same binned counts, defaults) dense uniform
    incidents do flag the city's edge — the check above can fail — and with it they do not."""
    c = get_city("almaty")
    res = 8
    cells = binning.fill_city_cells(c, res)
    w = binning.city_ring_weights(c, res, 1)
    share = binning.city_cell_area_share(c, res)
    assert share.min() < 0.5 and (share == 1).mean() > 0.5
    bare = expo = 0
    for s in range(5):
        rng = np.random.default_rng(s)
        lat, lon = uniform_points(c, int(rng.poisson(20 * len(cells))), rng)
        y = binning.bin_incidents(pd.DataFrame({"lat": lat, "lon": lon}), res, weight_col=None,
                                  cells=cells)["count"].to_numpy(float)
        b0 = gi_star(y, w).bin
        bare += int((np.abs(b0) >= 2).sum())
        assert (share[np.abs(b0) >= 2] < 1).all()  # the false flags sit on boundary cells
        expo += int((np.abs(gi_star(y, w, exposure=share).bin) >= 2).sum())
    assert bare > 0 and expo == 0, (bare, expo)


def test_area_share_against_geopandas_overlay():
    """``city_cell_area_share`` = area of hexagon ∩ polygon / hexagon area, by geopandas overlay."""
    import geopandas as gpd

    from qauipsiz.hotspot.h3grid import cells_to_boundaries

    c = get_city("almaty")
    cells = binning.fill_city_cells(c, 8)
    hexes = gpd.GeoDataFrame({"i": np.arange(len(cells))}, geometry=cells_to_boundaries(cells), crs=4326).to_crs(c.epsg)
    city = gpd.GeoDataFrame(geometry=[c.boundary], crs=4326).to_crs(c.epsg)
    inter = gpd.overlay(hexes, city, how="intersection", keep_geom_type=True)
    want = np.zeros(len(cells))
    want[inter["i"].to_numpy()] = inter.area.to_numpy()
    want /= hexes.area.to_numpy()
    np.testing.assert_allclose(binning.city_cell_area_share(c, 8), want, atol=1e-6)


def test_gi_star_defaults_on_poisson_cells_of_real_polygons_and_esda_parity():
    """``gi_star`` with defaults on homogeneous Poisson counts per cell over the filled real
    polygons (ring-1 weights with their ragged edges): runs with any 95 % cell ≤ BH's FWER; the
    z-scores equal esda's ``G_Local(star=True)``."""
    from esda.getisord import G_Local
    from libpysal.weights import WSP

    runs = hits = 0
    for key, res in (("astana", 8), ("almaty", 8), ("astana", 9)):
        c = get_city(key)
        w = binning.city_ring_weights(c, res, 1)
        n = w.shape[0]
        for mu in MEANS:
            rng = np.random.default_rng(int(mu * 1000) + res)
            for _ in range(SEEDS if res == 8 else 5):
                y = rng.poisson(mu, n).astype(float)
                runs += 1
                if np.ptp(y) == 0:
                    continue
                hits += bool((np.abs(gi_star(y, w).bin) >= 2).any())
    assert hits <= _tol(runs), (hits, runs)
    # esda parity on a real grid (Astana res 8, 1,039 cells), one dense and one sparse draw
    c = get_city("astana")
    w = binning.city_ring_weights(c, 8, 1)
    off = w - sp.diags(w.diagonal())
    wsp = WSP(off.tocsr()).to_W(silence_warnings=True)
    for mu in (0.2, 20.0):
        y = np.random.default_rng(3).poisson(mu, w.shape[0]).astype(float)
        ref = G_Local(y, wsp, transform="B", star=True, permutations=0)
        np.testing.assert_allclose(gi_star(y, w).z, ref.Zs, atol=1e-9)


def test_emerging_hotspots_on_null_cubes():
    """Uniform incidents in space and time over Almaty, 24 monthly steps at res 8: no cell gets a
    pattern other than "no pattern" beyond α (before the fix: 16 % of cells at 20 per cell-step)."""
    from qauipsiz.hotspot.cube import space_time_cube
    from qauipsiz.hotspot.emerging import emerging_hotspots

    c = get_city("almaty")
    ncell = len(binning.fill_city_cells(c, 8))
    t0, t1 = pd.Timestamp("2023-01-02", tz="UTC"), pd.Timestamp("2024-12-30", tz="UTC")
    for mu in (0.2, 2.0, 20.0):
        for s in range(2):
            rng = np.random.default_rng(700 + s + int(mu))
            n = int(rng.poisson(mu * ncell * 24))
            lat, lon = uniform_points(c, n, rng)
            occ = t0 + pd.to_timedelta(rng.uniform(0, (t1 - t0).total_seconds(), n), unit="s")
            cube = space_time_cube(pd.DataFrame({"lat": lat, "lon": lon, "occurred_at": occ}), c, 8, step="month")
            e = emerging_hotspots(cube)
            assert (e["code"] > 0).mean() <= ALPHA, (mu, s, e["pattern"].value_counts().to_dict())


def test_kde_surface_on_uniform_incidents_is_flat_inside():
    """The default surface (city default bandwidth rule's 400 m floor-to-ceiling range) on uniform
    incidents: interior cells (≥ 1 bandwidth from the edge) read the true intensity, incidents per
    km² = n / area (mean within 2 %), spread equal to the kernel's Poisson noise (within 10 %), no
    interior cell beyond 5.5 of those SDs."""
    import shapely

    c = get_city("astana")
    rng = np.random.default_rng(5)
    n = 60_000
    lat, lon = uniform_points(c, n, rng)
    t = hotspot_table(pd.DataFrame({"lat": lat, "lon": lon}), c, res=9, bandwidth_m=400, lisa=False)
    lam = n / (c.boundary_metric.area / 1e6)
    xy = binning.city_cell_centres(c, 9)
    inner = shapely.contains_xy(c.boundary_metric.buffer(-400), xy[:, 0], xy[:, 1])
    d = t["density"].to_numpy()[inner]
    assert inner.sum() > 1000
    assert abs(d.mean() / lam - 1) < 0.02, (d.mean(), lam)
    # Poisson noise of a quartic KDE: Var = λ ∫K² = 9 λ / (5 π r²) (r in km)
    sd = np.sqrt(9 * lam / (5 * np.pi * 0.4**2))
    assert abs(d.std() / sd - 1) < 0.1, (d.std(), sd)
    assert (d - lam).max() / sd < 5.5, ((d - lam).max() / sd)  # no interior bump beyond noise


# ------------------------------------------------------------------ 2. real incidents
def _sample(raw: pd.DataFrame, n: int = 400) -> tuple[pd.DataFrame, pd.Series]:
    sub = raw.dropna(subset=["latitude"]).sample(n, random_state=1).reset_index(drop=True)
    return sub, pd.to_datetime(sub["date"], format="%m/%d/%Y %H:%M")


def _stored_local(env: dict, city: str) -> pd.DataFrame:
    from qauipsiz.api.store import Store

    got = Store(env["DATABASE_URL"]).query_incidents(city)
    got["local"] = pd.to_datetime(got["occurred_at"], utc=True).dt.tz_convert("America/Chicago").dt.tz_localize(None)
    return got


def _ampm(t: pd.Timestamp) -> str:
    return f"{t.month}/{t.day}/{t.year} {(t.hour - 1) % 12 + 1}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


FORMATS = {
    "dotted": lambda s: s.dt.strftime("%d.%m.%Y %H:%M"),
    "ampm": lambda s: s.map(_ampm),
    "iso_offset": lambda s: s.dt.tz_localize("America/Chicago", ambiguous="NaT", nonexistent="NaT")
    .dt.tz_convert("Asia/Almaty").map(lambda t: t.isoformat() if not pd.isna(t) else ""),
    "excel_serial": lambda s: ((s - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)).round(8).astype(str),
    "day_first_slash": lambda s: s.dt.strftime("%d/%m/%Y %H:%M"),
}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_chicago_dates_in_police_formats_never_swap(chicago, fmt):
    """400 real rows rewritten as a police export could write the date: every stored local time
    (day ≤ 12 included) equals the source's."""
    _city, env, raw, tmp = chicago
    sub, src = _sample(raw)
    d = sub.copy()
    d["date"] = FORMATS[fmt](src).to_numpy()
    d.to_csv(tmp / f"{fmt}.csv", index=False)
    code, rep, env2 = ingest_cli(env, tmp / f"{fmt}.csv", "chicago")
    assert code == 0, rep
    assert rep["accepted"] >= 300 and rep["input"] == rep["accepted"] + rep["duplicates"] + rep["quarantined"]
    got = _stored_local(env2, "chicago")
    want = pd.to_datetime(got["source_id"].map(dict(zip(sub["id"].astype(float).astype(str), src, strict=True))))
    assert (want.dt.day <= 12).sum() > 100
    same = got["local"].dt.floor("min").to_numpy() == want.to_numpy()
    assert same.all(), got.loc[~same, ["source_id", "local"]].head()


@pytest.mark.parametrize("fmt", ["%m/%d/%Y %H:%M", "%m-%d-%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%y %H:%M"])
def test_every_day_le_12_is_refused_not_guessed(chicago, fmt):
    """A slash/dash file whose every day is ≤ 12 is refused naming --date-format; with
    ``--date-format month-first`` the same file is read right."""
    _city, env, raw, tmp = chicago
    sub, src = _sample(raw)
    low = (src.dt.day <= 12).to_numpy()
    d = sub[low].copy()
    d["date"] = src[low].dt.strftime(fmt).to_numpy()
    p = tmp / f"amb_{abs(hash(fmt))}.csv"
    d.to_csv(p, index=False)
    code, out, _ = ingest_cli(env, p, "chicago")
    errs = [ln for ln in out.splitlines() if ln.startswith("error:")]
    assert code == 2 and len(errs) == 1 and "--date-format" in errs[0], out
    code, rep, env2 = ingest_cli(env, p, "chicago", "--date-format", "month-first", db=str(p) + ".mf.db")
    assert code == 0 and rep["date_order_basis"]["occurred_at"] == "date_format"
    got = _stored_local(env2, "chicago")
    want = pd.to_datetime(got["source_id"].map(dict(zip(sub["id"].astype(float).astype(str), src, strict=True))))
    assert (got["local"].dt.floor("min").to_numpy() == want.to_numpy()).all()


def test_dotted_all_le_12_says_it_assumed_day_first(chicago):
    """docs/store.md: an undecided dotted column is read day-first and the report says so."""
    _city, env, raw, tmp = chicago
    sub, src = _sample(raw)
    low = (src.dt.day <= 12).to_numpy()
    d = sub[low].copy()
    d["date"] = src[low].dt.strftime("%d.%m.%Y %H:%M").to_numpy()
    d.to_csv(tmp / "amb_dotted.csv", index=False)
    code, rep, _ = ingest_cli(env, tmp / "amb_dotted.csv", "chicago")
    assert code == 0 and rep["date_order"]["occurred_at"] == "day-first"
    assert rep["date_order_basis"]["occurred_at"] == "layout"


def test_one_order_per_file(chicago):
    """The file decides, not the row or the column: one deciding value makes 160 ambiguous rows
    month-first; a reported-at column that proves day-first decides an ambiguous occurred-at."""
    _city, env, raw, tmp = chicago
    sub, src = _sample(raw)
    low = (src.dt.day <= 12).to_numpy()
    first_hi = int(np.flatnonzero(~low)[0])
    keep = low.copy()
    keep[first_hi] = True
    d = sub[keep].copy()
    d["date"] = src[keep].dt.strftime("%m/%d/%Y %H:%M").to_numpy()
    d.to_csv(tmp / "one_decides.csv", index=False)
    code, rep, env2 = ingest_cli(env, tmp / "one_decides.csv", "chicago")
    assert code == 0 and rep["date_order"]["occurred_at"] == "month-first", rep
    got = _stored_local(env2, "chicago")
    want = pd.to_datetime(got["source_id"].map(dict(zip(sub["id"].astype(float).astype(str), src, strict=True))))
    assert (got["local"].dt.floor("min").to_numpy() == want.to_numpy()).all()
    d = sub[low].copy()
    d["date"] = src[low].dt.strftime("%d/%m/%Y %H:%M").to_numpy()
    d["Дата регистрации"] = (src[low] + pd.Timedelta(days=3)).dt.strftime("%d/%m/%Y %H:%M").to_numpy()
    assert ((src[low] + pd.Timedelta(days=3)).dt.day > 12).any()
    d.to_csv(tmp / "two_cols.csv", index=False)
    code, rep, env3 = ingest_cli(env, tmp / "two_cols.csv", "chicago")
    assert code == 0, rep
    assert rep["date_order"] == {"occurred_at": "day-first", "reported_at": "day-first"}
    assert rep["date_order_basis"]["occurred_at"].startswith("values of")
    got = _stored_local(env3, "chicago")
    want = pd.to_datetime(got["source_id"].map(dict(zip(sub["id"].astype(float).astype(str), src, strict=True))))
    assert (got["local"].dt.floor("min").to_numpy() == want.to_numpy()).all()


def test_block_centroid_repeats_are_kept_when_times_differ(chicago):
    """Chicago's points are block centroids: rows at one point with different times are distinct
    incidents (all kept, flagged repeat_place), a row repeated verbatim is a duplicate."""
    _city, env, raw, tmp = chicago
    r = raw.dropna(subset=["latitude"])
    key = r.groupby(["latitude", "longitude"]).size().sort_values(ascending=False)
    lat, lon = key.index[0]
    same = r[(r["latitude"] == lat) & (r["longitude"] == lon)]
    assert len(same) >= 10 and same["date"].nunique() >= 10
    d = pd.concat([same, same.iloc[:3]])  # three verbatim repeats
    d.to_csv(tmp / "block.csv", index=False)
    code, rep, env2 = ingest_cli(env, tmp / "block.csv", "chicago")
    assert code == 0, rep
    got = _stored_local(env2, "chicago")
    assert rep["duplicates"] >= 3
    assert rep["accepted"] == len(got) == rep["input"] - rep["duplicates"] - rep["quarantined"]
    assert rep["accepted"] + rep["quarantined"] == len(same)
    assert not got["coord_flags"].fillna("").str.contains("sink").any()


def test_real_malls_are_repeat_places_not_sinks():
    """All 28 real Astana malls (OSM 2022 polygons) with 40 incidents at each centroid, written as
    police do (street address, the mall's name, both, with a boutique or a floor) among 6,000
    scattered incidents: none is a sink.  A planted default point with 150 different addresses on
    real streets stays a sink."""
    require(MALLS.exists(), "the shared Astana malls layer")
    import geopandas as gpd

    from qauipsiz.hotspot.geocode import check_coordinates

    c = get_city("astana")
    m = gpd.read_file(MALLS)
    cen = m.to_crs(c.epsg).geometry.centroid.to_crs(4326)
    rng = np.random.default_rng(0)
    lat, lon = uniform_points(c, 6000, rng)
    la, lo = list(lat.round(6)), list(lon.round(6))
    addr = [f"ул. Улица {i}, д. {i % 97}" for i in range(len(la))]
    for i, r in m.iterrows():
        forms = [f"{r.addr_street} {r.addr_housenumber}", f"ТРЦ {r['name']}",
                 f"{r['name']}, {r.addr_street}, {r.addr_housenumber}",
                 f"{r.addr_street}, д. {r.addr_housenumber}, бутик {{}}", f"ТЦ «{r['name']}», 2 этаж"]
        for j in range(40):
            addr.append(forms[j % 5].format(j))
            la.append(round(cen.y[i], 6))
            lo.append(round(cen.x[i], 6))
    streets = [s["name"] for s in json.loads((CHICAGO.parents[1] / "kz" / "astana_streets.json")
                                              .read_text(encoding="utf-8"))["streets"]][:150]
    for j in range(150):  # a default point 1 km off any centroid, many real streets and houses
        addr.append(f"{streets[j]}, д. {j % 40 + 1}")
        la.append(51.147213)
        lo.append(71.442871)
    res = check_coordinates(np.array(la), np.array(lo), "astana", addresses=np.array(addr, dtype=object))
    flags = res["flags"].fillna("")
    mall = np.zeros(len(la), bool)
    mall[len(lat): len(lat) + 40 * len(m)] = True
    assert not flags[mall].str.contains("sink").any()
    assert flags[mall].str.contains("repeat_place").all() and res["ok"][mall].all()
    assert flags[-150:].str.contains("sink").all()
    assert flags.str.contains("sink").mean() <= 0.03


# ------------------------------------------------------------------ 3. messy Kazakh/Russian addresses
_TYPES = ("тұйық көшесі", "көшесі", "даңғылы", "улица", "проспект", "переулок", "бульвар", "шоссе")
_RU = {"улица": "ул.", "проспект": "пр-т", "переулок": "пер.", "көшесі": "ул.", "даңғылы": "пр.", "шоссе": "ш.",
       "бульвар": "б-р", "тұйық көшесі": "пер."}
_KZ = {"улица": "көшесі", "проспект": "даңғылы", "переулок": "тұйық көшесі", "көшесі": "көшесі",
       "даңғылы": "даңғылы", "шоссе": "тас жолы"}


def _split_type(name: str) -> tuple[str, str | None]:
    low = name.lower()
    for t in _TYPES:
        if low.startswith(t + " "):
            return name[len(t) + 1:], t
        if low.endswith(" " + t):
            return name[: -len(t) - 1], t
    return name, None


def _namesake_queries(g, seed: int = 42) -> pd.DataFrame:
    """Queries on the real Astana streets whose base name carries several street types (a street
    and a prospekt / переулок of one name, 47 names): Russian and Kazakh type words, one typo,
    house numbers with дробь/корпус/letters, and the name without any type (truth: ambiguous)."""
    from collections import defaultdict

    names = [s["name"] for s in json.loads((CHICAGO.parents[1] / "kz" / "astana_streets.json")
                                           .read_text(encoding="utf-8"))["streets"]]
    base: dict = defaultdict(list)
    for n in names:
        b, t = _split_type(n)
        base[b.lower()].append((n, t))
    sid_of: dict = defaultdict(set)
    for i, ns in enumerate(g.gaz.streets["names"]):
        for n in ns.split("|"):
            sid_of[n].add(i)
    rng = np.random.default_rng(seed)
    rows = []
    for v in base.values():
        if len({t for _, t in v}) < 2 or len(set().union(*(sid_of[n] for n, _ in v))) < 2:
            continue
        for n, t in v:
            if t is None or len(sid_of[n]) != 1:
                continue
            truth = next(iter(sid_of[n]))
            disp = _split_type(n)[0]
            h = str(rng.integers(1, 120))
            house = str(rng.choice([h, h + "/2", h + " корп. 3", h + "а", h + " корпус 1"]))
            rows.append((f"{_RU[t]} {disp}, д. {house}", truth, "ru_type"))
            if t in _KZ:
                rows.append((f"{disp} {_KZ[t]}, {house}", truth, "kz_type"))
            if len(disp) > 5:
                k = int(rng.integers(1, len(disp) - 1))
                rows.append((f"{_RU[t]} {disp[:k] + disp[k + 1:]}, {house}", truth, "typo"))
        rows.append((f"{_split_type(v[0][0])[0]} {rng.integers(1, 99)}", -2, "no_type"))
    return pd.DataFrame(rows, columns=["text", "truth", "kind"])


def test_namesake_streets_never_confidently_wrong():
    """Measured on the shipped gazetteer (seed 42, 227 queries): ru_type 69 (51 confident, 0 wrong),
    kz_type 68 (50, 0 wrong), typo 55 (37, 0 wrong), no_type 35 (0 confident, 35 ambiguous):
    precision of confident answers 100 %, recall (accepted and right) 85.4 %.  Before the
    Набережная fix: 2 confident wrong of 139 (98.6 %).  Bounds: precision ≥ 99 %, recall ≥ 75 %,
    a name without its type never confident."""
    from qauipsiz.hotspot.geocode import Geocoder

    g = Geocoder.for_city("astana")
    q = _namesake_queries(g)
    r = g.geocode(q["text"].tolist())
    conf = (r["score"].to_numpy() >= 85) & ~r["ambiguous"].to_numpy()
    right = r["street_id"].to_numpy() == q["truth"].to_numpy()
    typed = (q["kind"] != "no_type").to_numpy()
    assert typed.sum() >= 150
    precision = right[conf & typed].mean()
    recall = (right & r["accepted"].to_numpy())[typed].mean()
    assert precision >= 0.99 and recall >= 0.75, (precision, recall)
    assert not conf[~typed].any(), q[~typed & conf]
    assert r["ambiguous"].to_numpy()[~typed].mean() >= 0.9


def test_embankment_name_is_a_name_not_a_type():
    """'Набережная' is a type word (embankment) and a street name: 'Набережная 40' parsed as a street
    named '40' and landed on 'улица 20-40' at score 85 (±15 m); 'Набережная улица' was built as a
    street named 'улица'.  Now both read the name Набережная (house 40), which in Astana has two
    pieces 4.7 km apart in one district: ambiguous, never a confident point."""
    from qauipsiz.hotspot.geocode import Geocoder
    from qauipsiz.hotspot.geocode.normalize import parse_address

    p = parse_address("Набережная 40")
    assert p.street == ["набережн"] and p.house == "40"
    assert parse_address("Набережная улица").street == ["набережн"]
    assert parse_address("наб. Есиль 5").street_kind == "embankment"      # still a type word before a name
    assert parse_address("улица 2").street == ["2"]                        # numbered streets stay names
    g = Geocoder.for_city("astana")
    for text in ("Набережная 40", "ул. Набережная, д. 40/2", "Набережная улица, 3"):
        a = g.geocode_one(text)
        assert a["score"] < 85 and "20-40" not in a["matched"], (text, a)
    assert g.geocode_one("улица Набережная 2")["matched"] == "улица Набережная 2"


# ------------------------------------------------------------------ 4. other real layers
def _layers_cli(tmp, folder, city: str, *extra: str):
    from typer.testing import CliRunner

    from qauipsiz.api.cli._app import app

    env = {"QAUIPSIZ_DATA_DIR": str(tmp / "var"), "DATABASE_URL": f"sqlite:///{tmp / 'layers.db'}"}
    r = CliRunner().invoke(app, ["ingest-layers", str(folder), "--city", city, "--json", *extra], env=env)
    return r, env


def _inside_zone(gdf, city) -> np.ndarray:
    """Independent of the importer: geopandas intersects with the city polygon buffered 2 km in UTM."""
    import geopandas as gpd

    zone = gpd.GeoSeries([city.boundary], crs=4326).to_crs(city.epsg).buffer(2000).iloc[0]
    return gdf.to_crs(city.epsg).intersects(zone).to_numpy()


def test_almaty_real_transit_stops_import_with_their_names(tmp_path):
    """Almaty's 2,142 real stops (``id, stop_name``) through ``ingest-layers``: the ids and names are
    read (they were stored empty), every stop within the city + 2 km is stored, the suburban
    rest is set aside as outside_city with its row."""
    import geopandas as gpd

    from qauipsiz.api.store import Store

    src = SHARED_OSM / "almaty_transit_cityger_stops.geojson"
    require(src.exists(), "the shared Almaty transit stops")
    st = gpd.read_file(src)
    (tmp_path / "lay").mkdir()
    st.to_file(tmp_path / "lay" / "transit_stops.geojson", driver="GeoJSON")
    r, env = _layers_cli(tmp_path, tmp_path / "lay", "almaty", "--quarantine-out", str(tmp_path / "q.csv"))
    assert r.exit_code == 0, r.output
    out = json.loads(r.output[r.output.index("{"):])
    inside = _inside_zone(st, get_city("almaty"))
    assert out["transit_stops"] == int(inside.sum()) and 2000 < inside.sum() < len(st)
    assert out["quarantined"] == {"transit_stops": {"outside_city": int((~inside).sum())}}
    assert out["renamed"]["transit_stops"] == {"id": "stop_id", "stop_name": "name"}
    got = Store(env["DATABASE_URL"]).load_layer("almaty", "transit_stops")
    assert got["name"].str.len().gt(0).all()
    assert sorted(got["stop_id"].astype(int)) == sorted(st.loc[inside, "id"].astype(int))
    q = pd.read_csv(tmp_path / "q.csv")
    assert sorted(q["row"]) == list(np.flatnonzero(~inside)) and set(q["field"]) == {"geometry"}


def test_astana_real_pois_with_planted_bad_rows_are_quarantined_by_row(tmp_path):
    """Astana's OSM stops and police from the shared POI table (``osm_id, name, latitude,
    longitude``) as layer files, with five planted bad rows: each is set aside with its row, field
    and reason; every other row inside the city is stored."""
    import geopandas as gpd
    import shapely

    src = SHARED_OSM / "astana_pois_osm_roadrisk.parquet"
    require(src.exists(), "the shared Astana POI table")
    p = pd.read_parquet(src)
    c = get_city("astana")
    (tmp_path / "lay").mkdir()
    layers = {"transit_stops": p[p["poi_category"] == "transit_stop"], "police_stations": p[p["amenity"] == "police"]}
    planted = {}
    for name, d in layers.items():
        d = d[["osm_id", "name", "latitude", "longitude"]].reset_index(drop=True).astype({"osm_id": object})
        geom = list(shapely.points(d["longitude"], d["latitude"]))
        if name == "transit_stops":
            geom[3] = shapely.Point()                                           # empty
            geom[5] = shapely.points(d["latitude"][5], d["longitude"][5])       # lat/lon swapped
            geom[8] = shapely.box(71.4, 51.1, 71.41, 51.11)                     # polygon in a point layer
            planted[name] = {3: "bad_geometry", 5: "outside_city", 8: "bad_geometry"}
        else:
            d = d.rename(columns={"osm_id": "station_id"})
            d.loc[2, "station_id"] = "x12"                                      # an id that is not a number
            geom[4] = shapely.points(*c.to_metric(d["longitude"][4], d["latitude"][4]))  # UTM metres
            planted[name] = {2: "bad_value", 4: "not_wgs84"}
        gpd.GeoDataFrame(d.drop(columns=["latitude", "longitude"]), geometry=geom, crs=4326).to_file(
            tmp_path / "lay" / f"{name}.geojson", driver="GeoJSON")
        layers[name] = (d, geom)
    from qauipsiz.api.store import Store

    r, _env = _layers_cli(tmp_path, tmp_path / "lay", "astana", "--quarantine-out", str(tmp_path / "q.csv"))
    assert r.exit_code == 0, r.output
    out = json.loads(r.output[r.output.index("{"):])
    q = pd.read_csv(tmp_path / "q.csv")
    for name, (d, geom) in layers.items():
        g = gpd.GeoDataFrame(d, geometry=geom, crs=4326)
        ok = np.array([i not in planted[name] for i in range(len(d))])
        inside = np.zeros(len(d), bool)
        inside[ok] = _inside_zone(g[ok], c)
        qq = q[q["layer"] == name]
        want = {**planted[name], **{int(i): "outside_city" for i in np.flatnonzero(ok & ~inside)}}
        got = dict(zip(qq["row"].astype(int), qq["reason"], strict=True))
        assert got == want, (name, got, want)
        assert out[name] == len(d) - len(want)
    assert out["renamed"]["transit_stops"] == {"osm_id": "stop_id"}
    bad = q[(q["layer"] == "police_stations") & (q["reason"] == "bad_value")].iloc[0]
    assert bad["field"] == "station_id" and "x12" in bad["message"] and "x12" in bad["raw"]
    stored = Store(_env["DATABASE_URL"]).load_layer("astana", "police_stations")
    assert len(stored) == out["police_stations"] and stored["name"].notna().all()
