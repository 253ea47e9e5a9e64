"""Self-contained static maps: folium HTML with Leaflet inlined, so the file opens offline.

folium references Leaflet, jQuery and Bootstrap on CDNs by default.  :func:`write_map` renders
with Leaflet only, then inlines the vendored copy (``maps/vendor/leaflet``, its marker and
layer-control images as data URIs) into the page; a page that would still reference any remote
script or stylesheet raises ``ValueError`` instead of being written.
"""
from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from qauipsiz.maps.labels import label

VENDOR = Path(__file__).resolve().parent / "vendor" / "leaflet"
GI_BINS = [(3, "#d62f27", "hot99"), (2, "#ed7551", "hot95"), (1, "#fab984", "hot90"), (0, "#f7f7f2", "notSig"),
           (-1, "#c0ccbe", "cold90"), (-2, "#849eba", "cold95"), (-3, "#4575b5", "cold99")]
"""Esri Hot Spot Analysis colours by Gi* bin."""
SEQ = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"]
SCORE = ["#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641"]
_JS, _CSS = "qauipsiz-inline:leaflet.js", "qauipsiz-inline:leaflet.css"


def _inline_css() -> str:
    css = (VENDOR / "leaflet.css").read_text(encoding="utf-8")

    def repl(m):
        p = VENDOR / m.group(1)
        return f"url(data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()})"

    return re.sub(r"url\((images/[\w.-]+\.png)\)", repl, css)


def inline_assets(page: str) -> str:
    """Replace the Leaflet placeholders with the vendored script and stylesheet; refuse remote assets."""
    js = (VENDOR / "leaflet.js").read_text(encoding="utf-8").replace("</script", "<\\/script")
    page = re.sub(r'<script src="' + re.escape(_JS) + r'"></script>', lambda m: f"<script>{js}</script>", page)
    page = re.sub(r'<link rel="stylesheet" href="' + re.escape(_CSS) + r'"/>',
                  lambda m: f"<style>{_inline_css()}</style>", page)
    remote = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?:[^"]+)"', page)
    if remote:
        raise ValueError(f"static map would load remote assets: {remote[:3]}")
    return page


def _legend_html(title: str, items: list[tuple[str, str]], extra: str = "") -> str:
    rows = "".join(f'<div><i style="background:{c};display:inline-block;width:12px;height:12px;'
                   f'border:1px solid #777;margin-right:5px"></i>{html.escape(t)}</div>' for c, t in items)
    return f'<div style="margin-top:4px"><b>{html.escape(title)}</b>{rows}{extra}</div>'


def _ramp(colors, v, vmax):
    if v is None or (isinstance(v, float) and np.isnan(v)) or not vmax > 0:
        return "#cccccc"
    return colors[min(len(colors) - 1, int(v / vmax * len(colors)))]


def build_map(city, *, hotspots: pd.DataFrame | None = None, public=None, cpted=None, sites: pd.DataFrame | None = None,  # noqa: PLR0913 -- keyword-only options with defaults
              routes=None, points: dict | None = None, streets=None, lang: str = "ru", min_public_count: int = 5,
              title: str | None = None, tile_url: str | None = None, synthetic: bool = False):
    """A folium map of a city's layers (nothing fetched from the network).

    Parameters
    ----------
    city : hotspot.cities.City
        The city (district boundaries and extent).
    hotspots : DataFrame, optional
        ``hotspot.surface.hotspot_table`` output: ``h3`` (uint64), ``count``, ``density``,
        ``gi_z``, ``gi_bin``; cells with bin 0 and no incidents are left out.
    public : DataFrame, optional
        District indicators: ``district``, ``count`` (None when suppressed), ``rate_per_1000``.
    cpted : GeoDataFrame, optional
        Blocks with ``block_id`` and ``score`` (0–100).
    sites : DataFrame, optional
        Recommended sites: ``lat``, ``lon``, ``rank``, ``marginal_gain`` (and ``kind``).
    routes : GeoDataFrame, optional
        Patrol route lines with ``unit``.
    points : dict of GeoDataFrame, optional
        Point layers by name (``lamps``, ``cameras``, ``sos_buttons``).
    streets : GeoDataFrame, optional
        Street lines drawn as the basemap.
    lang : {"kk", "ru", "en"}
        Language of the labels and legends.
    tile_url : str, optional
        An XYZ basemap (left out by default: the file must work offline).
    synthetic : bool
        The incidents are the synthetic demo: a banner across the top says so (and the legend).

    Returns
    -------
    folium.Map
    """
    import folium
    import shapely

    label("title", lang)  # validates lang
    x0, y0, x1, y1 = city.boundary.bounds
    m = folium.Map(location=[(y0 + y1) / 2, (x0 + x1) / 2], zoom_start=11, tiles=None, prefer_canvas=True,
                   control_scale=True)
    m.default_js = [("leaflet", _JS)]
    m.default_css = [("leaflet_css", _CSS)]
    if tile_url:
        folium.TileLayer(tile_url, attr="basemap", name="basemap").add_to(m)
    legend = []
    d = city.districts
    if len(d):
        folium.GeoJson(d[["district", f"name_{lang}", "geometry"]].to_json(), name=label("districts", lang),
                       style_function=lambda f: {"color": "#37474f", "weight": 2, "fill": False, "dashArray": "6 4"},
                       tooltip=folium.GeoJsonTooltip([f"name_{lang}"], labels=False)).add_to(m)
    else:  # a city added from a boundary alone has no districts: outline the city
        folium.GeoJson(shapely.to_geojson(city.boundary), name=city.name(lang),
                       style_function=lambda f: {"color": "#37474f", "weight": 2, "fill": False, "dashArray": "6 4"}
                       ).add_to(m)
    if streets is not None and len(streets):
        s = streets[["geometry"]].copy()
        s["geometry"] = shapely.simplify(s.geometry.values, 3e-5)
        folium.GeoJson(s.to_json(), name=label("streets", lang), control=True,
                       style_function=lambda f: {"color": "#9aa3ad", "weight": 1, "opacity": 0.8}).add_to(m)
    if public is not None and len(public):
        t = pd.DataFrame(public)
        g = d.merge(t[["district", "count", "rate_per_1000"]], on="district", how="left")
        vmax = float(np.nanmax(g["rate_per_1000"].astype(float))) * 1.0001 if g["rate_per_1000"].notna().any() else 0
        g["fill"] = [_ramp(SEQ, None if pd.isna(v) else float(v), vmax) for v in g["rate_per_1000"]]
        g["count_s"] = [label("suppressed", lang, k=min_public_count) if pd.isna(c) else str(int(c)) for c in g["count"]]
        g["rate_s"] = ["—" if pd.isna(v) else f"{float(v):.2f}" for v in g["rate_per_1000"]]
        folium.GeoJson(g[[f"name_{lang}", "count_s", "rate_s", "fill", "geometry"]].to_json(),
                       name=label("public", lang),
                       style_function=lambda f: {"fillColor": f["properties"]["fill"], "color": "#455a64",
                                                 "weight": 1, "fillOpacity": 0.55},
                       popup=folium.GeoJsonPopup([f"name_{lang}", "count_s", "rate_s"],
                                                 aliases=["", label("count", lang), label("rate", lang)])).add_to(m)
        legend.append(_legend_html(label("public", lang) + " — " + label("rate", lang),
                                   [(c, f"{vmax * i / 5:.1f} – {vmax * (i + 1) / 5:.1f}") for i, c in enumerate(SEQ)]
                                   + [("#cccccc", label("suppressed", lang, k=min_public_count))]))
    if cpted is not None and len(cpted):
        b = cpted[["block_id", "score", "geometry"]].to_crs(4326).copy()
        b["fill"] = [_ramp(SCORE, None if pd.isna(v) else float(v), 100.0001) for v in b["score"]]
        b["score"] = b["score"].round(1)
        folium.GeoJson(b.to_json(), name=label("cpted", lang),
                       style_function=lambda f: {"fillColor": f["properties"]["fill"], "color": "#555",
                                                 "weight": 0.4, "fillOpacity": 0.6},
                       popup=folium.GeoJsonPopup(["block_id", "score"], aliases=["#", label("score", lang)])).add_to(m)
        legend.append(_legend_html(label("cpted", lang), [(c, f"{i * 20}–{(i + 1) * 20}") for i, c in enumerate(SCORE)]))
    if hotspots is not None and len(hotspots):
        import geopandas as gpd

        from qauipsiz.hotspot.h3grid import cells_to_boundaries

        t = hotspots[(hotspots["count"] > 0) | (hotspots["gi_bin"] != 0)]
        colors = {b: c for b, c, _ in GI_BINS}
        g = gpd.GeoDataFrame({
            "h3": [format(int(x), "x") for x in t["h3"].to_numpy(np.uint64)],
            "count": t["count"].to_numpy(int), "density": t["density"].to_numpy(float).round(2),
            "gi_z": t["gi_z"].to_numpy(float).round(2),
            "fill": [colors.get(int(b), "#f7f7f2") for b in t["gi_bin"]]},
            geometry=cells_to_boundaries(t["h3"].to_numpy(np.uint64)), crs=4326)
        folium.GeoJson(g.to_json(), name=label("hotspots", lang),
                       style_function=lambda f: {"fillColor": f["properties"]["fill"], "color": "#666", "weight": 0.3,
                                                 "fillOpacity": 0.15 if f["properties"]["fill"] == "#f7f7f2" else 0.7},
                       popup=folium.GeoJsonPopup(["h3", "count", "density", "gi_z"],
                                                 aliases=[label("cell", lang), label("count", lang), "KDE", "Gi* z"])
                       ).add_to(m)
        legend.append(_legend_html(label("hotspots", lang), [(c, label(k, lang)) for _, c, k in GI_BINS]))
    for name, gdf in (points or {}).items():
        if gdf is None or not len(gdf):
            continue
        color = {"lamps": "#f9a825", "cameras": "#1565c0", "sos_buttons": "#c62828"}.get(name, "#555")
        nm = label(name, lang) if name in ("lamps", "cameras", "sos_buttons") else name
        g = gdf.to_crs(4326)[["geometry"]]
        folium.GeoJson(g.to_json(), name=nm,
                       marker=folium.CircleMarker(radius=3, color="#333", weight=0.5, fill=True, fill_color=color,
                                                  fill_opacity=0.9)).add_to(m)
        legend.append(_legend_html(nm, [(color, nm)]))
    if routes is not None and len(routes):
        r = routes.to_crs(4326)
        palette = ["#2e7d32", "#6a1b9a", "#00838f", "#ef6c00", "#37474f", "#ad1457"]
        r = r.assign(color=[palette[i % len(palette)] for i in range(len(r))])
        cols = [c for c in ("unit", "minutes", "distance_m") if c in r.columns]
        folium.GeoJson(r[[*cols, "color", "geometry"]].to_json(), name=label("routes", lang),
                       style_function=lambda f: {"color": f["properties"]["color"], "weight": 4},
                       popup=folium.GeoJsonPopup(cols) if cols else None).add_to(m)
        legend.append(_legend_html(label("routes", lang), [(c, f"{label('unit', lang)} {i + 1}")
                                                           for i, c in enumerate(palette[: len(r)])]))
    if sites is not None and len(sites):
        fg = folium.FeatureGroup(name=label("sites", lang))
        for row in sites.itertuples():
            tip = f"{label('rank', lang)} {int(row.rank)} — {label('gain', lang)}: {float(row.marginal_gain):.3g}"
            folium.CircleMarker([float(row.lat), float(row.lon)], radius=7, color="#000", weight=1, fill=True,
                                fill_color="#8e24aa", fill_opacity=0.9, tooltip=tip).add_to(fg)
        fg.add_to(m)
        legend.append(_legend_html(label("sites", lang), [("#8e24aa", label("gain", lang))]))
    folium.LayerControl(collapsed=False).add_to(m)
    head = html.escape(title or f"{label('title', lang)} — {city.name(lang)}")
    box = (f'<div id="qauipsiz-legend" style="position:fixed;bottom:18px;right:10px;z-index:1000;background:#fff;'
           f'padding:6px 10px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);font:12px sans-serif;'
           f'max-height:60vh;overflow:auto"><b>{head}</b><div style="font-size:11px;color:#555">'
           f'{html.escape(label("notice", lang))}</div><div style="margin-top:4px;font-weight:600">'
           f'{html.escape(label("legend", lang))}</div>{"".join(legend)}</div>')
    m.get_root().html.add_child(folium.Element(box))
    if synthetic:
        m.get_root().html.add_child(folium.Element(
            f'<div id="qauipsiz-synthetic" role="alert" style="position:fixed;top:8px;left:50%;'
            f'transform:translateX(-50%);z-index:1001;background:#fff3cd;color:#7a4d00;border:2px solid #e0a800;'
            f'padding:4px 12px;border-radius:4px;font:bold 13px sans-serif;max-width:80%">'
            f'{html.escape(label("synthetic", lang))}</div>'))
    # the street basemap and district boundaries derive from OpenStreetMap: credit it on every map
    m.get_root().script.add_child(folium.Element(
        f"{m.get_name()}.attributionControl.addAttribution({json.dumps(label('osm', lang), ensure_ascii=False)});"))
    m.get_root().header.add_child(folium.Element(f"<title>{head}</title>"))
    m.fit_bounds([[y0, x0], [y1, x1]])
    return m


def write_map(out, city, **layers) -> Path:
    """Render :func:`build_map` (same keyword arguments) to ``out`` as one self-contained HTML file.

    Returns
    -------
    pathlib.Path
        The written file.  It loads nothing from the network unless ``tile_url`` was given.
    """
    m = build_map(city, **layers)
    page = inline_assets(m.get_root().render())
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
