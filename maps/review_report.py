"""Self-contained HTML report of a CPTED design review (rendering lives in maps, not in cpted): an
inline SVG map (illuminance as an inline PNG) and the rule table.  No external assets, no CDN: the file works offline."""
from __future__ import annotations

import base64
import html
import io

import geopandas as gpd
import numpy as np
import shapely

from qauipsiz.cpted import cameras, lighting
from qauipsiz.cpted.review import lamp_arrays, lux_field

LABELS = {
    "title": {"kk": "Жобаны CPTED бойынша тексеру", "ru": "Проверка проекта по нормам CPTED", "en": "CPTED design review"},
    "rule": {"kk": "Ереже", "ru": "Правило", "en": "Rule"},
    "status": {"kk": "Нәтиже", "ru": "Результат", "en": "Status"},
    "measured": {"kk": "Өлшенген", "ru": "Измерено", "en": "Measured"},
    "required": {"kk": "Талап", "ru": "Требуется", "en": "Required"},
    "detail": {"kk": "Толығырақ", "ru": "Подробности", "en": "Detail"},
    "source": {"kk": "Дереккөз", "ru": "Источник", "en": "Source"},
    "fix": {"kk": "Қалай түзету", "ru": "Как исправить", "en": "How to fix"},
    "legend": {"kk": "Белгілер: сары — шамдар, көк — камералар («тану» аймағы), жасыл/қызғылт сары — бақыланатын/ашық кіреберістер, "
                     "қызыл — талапқа сай емес геометрия; фон — жарықтандыру (лк)",
               "ru": "Обозначения: жёлтые — светильники, синие — камеры (зона «распознавание»), зелёные/оранжевые — входы с контролем/открытые, "
                     "красное — геометрия, не прошедшая проверку; фон — освещённость (лк)",
               "en": "Legend: yellow — lamps, blue — cameras (recognise zone), green/orange — controlled/open entrances, "
                     "red — failing geometry; background — illuminance (lx)"},
    "PASS": {"kk": "СӘЙКЕС", "ru": "СООТВЕТСТВУЕТ", "en": "PASS"},
    "FAIL": {"kk": "СӘЙКЕС ЕМЕС", "ru": "НЕ СООТВЕТСТВУЕТ", "en": "FAIL"},
    "NOT_CHECKABLE": {"kk": "ТЕКСЕРУ МҮМКІН ЕМЕС", "ru": "НЕЛЬЗЯ ПРОВЕРИТЬ", "en": "NOT CHECKABLE"},
}
COLORS = {"PASS": "#1b7f3b", "FAIL": "#c62828", "NOT_CHECKABLE": "#8a6d00"}


def _lux_png(grid, lux, vmax: float = 20.0) -> str:
    """Illuminance raster → base64 PNG (dark blue 0 lx → yellow ≥ vmax), transparent outside samples."""
    from PIL import Image

    ras = grid.to_raster(lux, fill=np.nan)
    t = np.clip(np.nan_to_num(ras, nan=0.0) / vmax, 0, 1) ** 0.5
    rgba = np.zeros((*ras.shape, 4), np.uint8)
    rgba[..., 0] = (20 + 235 * t).astype(np.uint8)
    rgba[..., 1] = (20 + 215 * t).astype(np.uint8)
    rgba[..., 2] = (60 + 20 * (1 - t)).astype(np.uint8)
    rgba[..., 3] = np.where(np.isfinite(ras), 170, 0).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", optimize=True)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _path_d(geom, tx) -> str:
    """SVG path data of a (multi)polygon / (multi)linestring / point in metres."""
    out = []
    for part in shapely.get_parts(geom):
        if part.geom_type == "Polygon":
            for ring in [part.exterior, *part.interiors]:
                xy = shapely.get_coordinates(ring)
                out.append("M" + " L".join(f"{tx(x, y)}" for x, y in xy) + " Z")
        elif part.geom_type == "LineString":
            xy = shapely.get_coordinates(part)
            out.append("M" + " L".join(f"{tx(x, y)}" for x, y in xy))
    return " ".join(out)


def _lux_image(d, site, x0: float, y1: float, scale: float) -> list[str]:
    """The lux raster under the plan as an SVG ``<image>`` (nothing when it cannot be computed)."""
    try:  # display raster: every cell of the site (also under roofs, which are drawn over it)
        lux_field(d)
        lx, ly, lh, li = lamp_arrays(d)
        grid = lighting.sample_grid([site], 1.0)
        lux = lighting.illuminance(grid.x, grid.y, lx, ly, lh, li) if lx is not None else None
    except Exception:  # a map without the lux layer is still a map
        return []
    if lux is None or not len(grid):
        return []
    gw, gh = grid.shape[1] * grid.cell, grid.shape[0] * grid.cell
    return [f'<image x="{(grid.x0 - x0) * scale:.1f}" y="{(y1 - grid.y0) * scale:.1f}" width="{gw * scale:.1f}" '
            f'height="{gh * scale:.1f}" preserveAspectRatio="none" style="image-rendering:pixelated" '
            f'href="data:image/png;base64,{_lux_png(grid, lux)}"/>']


def _camera_marks(d, tx) -> list[str]:
    """Recognition-level coverage wedges and camera dots (when every camera has its optics)."""
    cam = d["camera"]
    optics = ["bearing_deg", "fov_deg", "resolution_px"]
    if not len(cam) or not set(optics) <= set(cam.columns) or cam[optics].isna().any().any():
        return []
    cxy = shapely.get_coordinates(d.geoms("camera"))
    polys = cameras.coverage_polygons(cxy, cam["bearing_deg"].to_numpy(float), cam["fov_deg"].to_numpy(float),
                                      cam["resolution_px"].to_numpy(float), "recognise", d.cache.get("occ"))
    out = [f'<path d="{_path_d(p, tx)}" fill="#1565c0" fill-opacity="0.18" stroke="#1565c0" stroke-width="0.5"/>'
           for p in polys]
    for (x, y), (_, r) in zip(cxy, cam.iterrows(), strict=True):
        out.append(f'<circle cx="{tx(x, y).split(",")[0]}" cy="{tx(x, y).split(",")[1]}" r="5" fill="#1565c0">'
                   f'<title>camera {html.escape(str(r.get("owner", "")))} {r["resolution_px"]:.0f}px '
                   f'{r["fov_deg"]:.0f}°</title></circle>')
    return out


def _failing_marks(rules: list[dict], epsg: int, tx) -> list[str]:
    """Red rings (points) and outlines (areas, lines) on what each failing rule points at."""
    out = []
    for rule in rules:
        fc = rule.get("failing")
        if not fc:
            continue
        gs = gpd.GeoDataFrame.from_features(fc["features"], crs=4326).to_crs(epsg).geometry.values
        for g in gs:
            if g.geom_type in ("Point", "MultiPoint"):
                for p in shapely.get_parts(g):
                    a, b = tx(p.x, p.y).split(",")
                    out.append(f'<circle cx="{a}" cy="{b}" r="9" fill="none" stroke="#c62828" stroke-width="2.5">'
                               f'<title>{html.escape(rule["id"])}</title></circle>')
            else:
                out.append(f'<path d="{_path_d(g, tx)}" fill="#c62828" fill-opacity="0.08" stroke="#c62828" '
                           f'stroke-width="2.5"><title>{html.escape(rule["id"])}</title></path>')
    return out


def render_review_html(result: dict, lang: str = "ru") -> str:
    """Render a :func:`qauipsiz.cpted.review.review` result as one self-contained HTML page."""
    if lang not in ("kk", "ru", "en"):
        raise ValueError(f"lang must be kk, ru or en, got {lang!r}")
    d = result.get("_design")
    if d is None:
        raise ValueError("render_review_html needs the result of cpted.review.review (with its design)")

    site = shapely.union_all(d.geoms("site"))
    x0, y0, x1, y1 = site.bounds
    pad = 10.0
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    w, h = x1 - x0, y1 - y0
    scale = 900.0 / w

    def tx(x, y):
        return f"{(x - x0) * scale:.1f},{(y1 - y) * scale:.1f}"

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w * scale:.0f}" height="{h * scale:.0f}" '
           f'viewBox="0 0 {w * scale:.0f} {h * scale:.0f}" style="background:#f4f4f0;border:1px solid #ccc">']
    svg += _lux_image(d, site, x0, y1, scale)
    style = {"site": 'fill="none" stroke="#333" stroke-width="2" stroke-dasharray="6,3"',
             "playground": 'fill="#7cc47f" fill-opacity="0.35" stroke="#2e7d32"',
             "parking": 'fill="#9e9e9e" fill-opacity="0.35" stroke="#555"',
             "building": 'fill="#8d8d8d" stroke="#444"',
             "path": 'fill="none" stroke="#8d6e63" stroke-width="3" stroke-dasharray="4,3"',
             "fence": 'fill="none" stroke="#000" stroke-width="2"'}
    for kind in ("site", "parking", "playground", "path", "fence", "building"):
        for g in d.geoms(kind):
            svg.append(f'<path d="{_path_d(g, tx)}" {style[kind]}><title>{kind}</title></path>')
    svg += _camera_marks(d, tx)
    for g, (_, r) in zip(d.geoms("lamp"), d["lamp"].iterrows(), strict=True):
        a, b = tx(g.x, g.y).split(",")
        col = "#fdd835" if r.get("working", True) else "#616161"
        svg.append(f'<circle cx="{a}" cy="{b}" r="4" fill="{col}" stroke="#6d5b00"><title>lamp {r.get("flux_lm", "")} lm, '
                   f'{r.get("height_m", "")} m</title></circle>')
    ent = d["entrance"]
    for g, (_, r) in zip(d.geoms("entrance"), ent.iterrows(), strict=True):
        a, b = tx(g.x, g.y).split(",")
        col = "#2e7d32" if str(r.get("access", "")).lower() in ("intercom", "guarded", "locked") else "#ef6c00"
        svg.append(f'<rect x="{float(a) - 4}" y="{float(b) - 4}" width="8" height="8" fill="{col}">'
                   f'<title>entrance {html.escape(str(r.get("access", "")))}</title></rect>')
    svg += _failing_marks(result["rules"], d.epsg, tx)
    bar = 50.0  # scale bar, metres
    svg.append(f'<line x1="10" y1="{h * scale - 12:.0f}" x2="{10 + bar * scale:.0f}" y2="{h * scale - 12:.0f}" '
               f'stroke="#000" stroke-width="3"/><text x="12" y="{h * scale - 18:.0f}" font-size="12">{bar:.0f} m</text>')
    svg.append("</svg>")

    L = {k: v[lang] for k, v in LABELS.items()}
    rows = []
    for r in result["rules"]:
        st = r["status"]
        meas = r.get(f"measured_{lang}") or ("—" if r["measured"] is None else f'{r["measured"]:g} {r["unit"]}')
        req = r.get(f"required_{lang}") or ("—" if r["required"] is None else f'{r["required"]:g} {r["unit"]}')
        fix = r.get(f"fix_{lang}")
        detail = str(r.get(f"detail_{lang}", r["detail"])) + (f"\n{L['fix']}: {fix}" if fix else "")
        rows.append(f'<tr><td><b>{html.escape(r["id"])}</b><br>{html.escape(r[f"title_{lang}"])}</td>'
                    f'<td style="color:#fff;background:{COLORS[st]};font-weight:bold">{L[st]}</td>'
                    f'<td>{html.escape(meas)}</td><td>{html.escape(req)}</td><td style="white-space:pre-line">{html.escape(detail)}</td>'
                    f'<td style="font-size:85%">{html.escape(r.get(f"source_{lang}") or r["source"])}</td></tr>')
    s = result["summary"]
    summary = " · ".join(f'<span style="color:{COLORS[k]}"><b>{L[k]}</b>: {v}</span>' for k, v in s.items())
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(L['title'])} — {html.escape(result.get('design', ''))}</title>
<style>body{{font-family:system-ui,sans-serif;margin:20px;color:#222}} table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #ccc;padding:6px;vertical-align:top}} th{{background:#eee;text-align:left}}</style></head>
<body><h1>{html.escape(L['title'])}: {html.escape(result.get('design', ''))}</h1>
<p>{summary}</p>
<div>{''.join(svg)}</div>
<p style="font-size:90%">{html.escape(L['legend'])}. UTM EPSG:{result.get('epsg')}.</p>
<table><tr><th>{L['rule']}</th><th>{L['status']}</th><th>{L['measured']}</th><th>{L['required']}</th>
<th>{L['detail']}</th><th>{L['source']}</th></tr>
{''.join(rows)}</table>
<p style="font-size:80%">qauipsiz · cpted review · illuminance: point-source model (cpted/lighting.py);
cameras: IEC 62676-4 DORI with 2-D occlusion by buildings (cpted/cameras.py).</p>
</body></html>
"""
