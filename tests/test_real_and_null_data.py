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
    chicago_hull_city,
    ingest_cli,
    uniform_points,
)
from tests.conftest import require

ALPHA = 0.05
MEANS = (0.02, 0.2, 2.0, 20.0)  # incidents per cell
SEEDS = 20


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
    """Without the area exposure (gi_star on the same binned counts with plain ring weights) dense
    uniform incidents do flag the city's edge — the check above can fail — and with it (passed, or
    carried by ``city_ring_weights`` so ``gi_star``'s defaults use it) they do not."""
    c = get_city("almaty")
    res = 8
    cells = binning.fill_city_cells(c, res)
    w = binning.ring_weights(cells, 1, self_weight=True)   # no exposure attached
    wc = binning.city_ring_weights(c, res, 1)              # carries .exposure
    share = binning.city_cell_area_share(c, res)
    np.testing.assert_array_equal(wc.toarray(), w.toarray())
    assert wc.exposure is share
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
        expo += int((np.abs(gi_star(y, wc).bin) >= 2).sum())
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
    "portal_seconds_ampm": lambda s: s.dt.strftime("%m/%d/%Y %I:%M:%S %p"),   # the Chicago portal's own
    "dotted_two_digit_year": lambda s: s.dt.strftime("%d.%m.%y %H:%M"),
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


def _check_stored(env: dict, sub: pd.DataFrame, src: pd.Series, min_rows: int = 300) -> None:
    got = _stored_local(env, "chicago")
    want = pd.to_datetime(got["source_id"].map(dict(zip(sub["id"].astype(float).astype(str), src, strict=True))))
    assert len(got) >= min_rows
    same = got["local"].dt.floor("min").to_numpy() == want.to_numpy()
    assert same.all(), got.loc[~same, ["source_id", "local"]].head()


@pytest.mark.parametrize("kind", ["csv", "xlsx", "date_then_time"])
def test_split_date_and_time_columns_keep_the_time(chicago, kind):
    """'Дата совершения' + 'Время совершения' (both synonyms of the date field): the time was
    dropped, every incident at 00:00 (251 of 256 rows wrong); XLSX date and time cells likewise;
    'Дата' + 'Время совершения' the other way round."""
    _city, env, raw, tmp = chicago
    sub, src = _sample(raw)
    d = sub.drop(columns=["date"])
    if kind == "csv":
        d["Дата совершения"] = src.dt.strftime("%d.%m.%Y").to_numpy()
        d["Время совершения"] = src.dt.strftime("%H:%M").to_numpy()
        d.to_csv(tmp / "split.csv", index=False)
        path = tmp / "split.csv"
    elif kind == "xlsx":
        d["Дата совершения"] = src.dt.date.to_numpy()
        d["Время совершения"] = src.dt.time.to_numpy()
        d.to_excel(tmp / "split.xlsx", index=False)
        path = tmp / "split.xlsx"
    else:
        d["Дата"] = src.dt.strftime("%d.%m.%Y").to_numpy()
        d["Время совершения"] = src.dt.strftime("%H:%M").to_numpy()
        d.to_csv(tmp / "split2.csv", index=False)
        path = tmp / "split2.csv"
    code, rep, env2 = ingest_cli(env, path, "chicago")
    assert code == 0, rep
    assert rep["quarantined"] == rep["reasons"].get("unknown_category", 0), rep
    _check_stored(env2, sub, src)


@pytest.mark.parametrize("cells", ["datetime", "serial"])
def test_xlsx_date_cells_and_serial_numbers(chicago, cells):
    """An XLSX export with real datetime cells, or with Excel serial day numbers as numbers."""
    _city, env, raw, tmp = chicago
    sub, src = _sample(raw)
    d = sub.copy()
    d["date"] = src.to_numpy() if cells == "datetime" else \
        ((src - pd.Timestamp("1899-12-30")) / pd.Timedelta(days=1)).to_numpy()
    d.to_excel(tmp / f"{cells}.xlsx", index=False)
    code, rep, env2 = ingest_cli(env, tmp / f"{cells}.xlsx", "chicago")
    assert code == 0, rep
    _check_stored(env2, sub, src)


@pytest.mark.parametrize(("key", "res", "mu"), [("astana", 8, 20.0), ("almaty", 9, 0.2)])
def test_cli_hotspots_on_uniform_incidents(tmp_path, key, res, mu):
    """``qauipsiz hotspots --incidents`` (the command's defaults: city default bandwidth, LISA) on
    uniform incidents: no cell in any Gi* bin, no LISA cluster, in the JSON and in the file."""
    from typer.testing import CliRunner

    from qauipsiz.api.cli._app import app

    c = get_city(key)
    rng = np.random.default_rng(11)
    n = int(rng.poisson(mu * len(binning.fill_city_cells(c, res))))
    lat, lon = uniform_points(c, n, rng)
    occ = pd.Timestamp("2024-05-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 86400 * 300, n), unit="s")
    pd.DataFrame({"lat": lat, "lon": lon, "occurred_at": occ, "category": "theft"}).to_parquet(tmp_path / "n.parquet")
    r = CliRunner().invoke(app, ["hotspots", "--city", key, "--res", str(res), "--incidents", str(tmp_path / "n.parquet"),
                                 "--out", str(tmp_path / "h.parquet"), "--json"],
                           env={"QAUIPSIZ_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}"})
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout[r.stdout.index("{"):])
    assert out["incidents_binned"] == n
    assert out["hot_99"] == out["hot_95"] == out["hot_90"] == out["cold_any"] == 0, out
    assert set(out["lisa"]) == {"ns"}
    assert (pd.read_parquet(tmp_path / "h.parquet")["gi_bin"] == 0).all()



def test_one_typo_does_not_swap_a_dotted_file(chicago):
    """A dd.mm.yyyy export whose days are all ≤ 12 and one typo '05.13.2018': the typo "proved"
    month-first and every other date of the file was swapped; now the convention stands, the typo
    row is a bad date, the rest equal the source."""
    _city, env, raw, tmp = chicago
    sub, src = _sample(raw)
    low = (src.dt.day <= 12).to_numpy()
    d = sub[low].copy()
    d["date"] = src[low].dt.strftime("%d.%m.%Y %H:%M").to_numpy()
    d.iloc[0, d.columns.get_loc("date")] = "05.13.2018 10:00"
    d.to_csv(tmp / "dotted_typo.csv", index=False)
    code, rep, env2 = ingest_cli(env, tmp / "dotted_typo.csv", "chicago")
    assert code == 0 and rep["date_order"]["occurred_at"] == "day-first", rep
    assert rep["date_order_basis"]["occurred_at"] == "layout"
    assert rep["reasons"].get("bad_date", 0) == 1  # the typo row, named in the quarantine
    _check_stored(env2, sub, src, min_rows=100)
