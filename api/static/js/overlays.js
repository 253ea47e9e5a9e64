/* The analysis and city layers: public district rates and cells, heat tiles, Gi* hexagons, CPTED block
   scores, lamps, cameras and SOS buttons.  Each registers its loader. */
import { API, GI, SCORE, SEQ } from "./config.js";
import { filterQuery } from "./filters.js";
import { registerLoader } from "./layers.js";
import { AuthTiles, canvas } from "./map.js";
import { state } from "./state.js";
import { esc, fetchJSON, fmt, pct, qs, rows, t } from "./util.js";

function districtName(p) { return p["name_" + state.lang] || p.name_en || p.district; }
function giKey(bin) { const g = GI.find((x) => x[0] === bin); return g ? g[2] : "notSig"; }
function giColor(bin) { const g = GI.find((x) => x[0] === bin); return g ? g[1] : "#f7f7f2"; }
function ramp(colors, v, vmax) {
  if (v === null || v === undefined || !(vmax > 0)) return "#cccccc";
  return colors[Math.min(colors.length - 1, Math.floor((v / vmax) * colors.length))];
}

async function pointLayer(name, color, popup) {
  const fc = await fetchJSON(`/cities/${state.city}/layers/${name}.geojson`);
  return L.geoJSON(fc, {
    pointToLayer: (f, ll) => L.circleMarker(ll, { renderer: canvas, radius: 3, weight: 0.5, color: "#333",
      fillColor: color(f.properties), fillOpacity: 0.9 }),
    onEachFeature: (f, l) => l.bindPopup(() => rows(popup(f.properties))),
  });
}

registerLoader("public", async () => {
  const fc = await fetchJSON(`/public/cities/${state.city}/districts.geojson${qs(filterQuery(true))}`);
  const rates = fc.features.map((f) => f.properties.rate_per_1000).filter((v) => v !== null);
  const vmax = rates.length ? Math.max(...rates) * 1.0001 : 0;
  state.meta.public = { vmax };
  return L.geoJSON(fc, {
    style: (f) => ({ color: "#455a64", weight: 1, fillOpacity: 0.55,
      fillColor: f.properties.suppressed ? "#dddddd" : ramp(SEQ, f.properties.rate_per_1000, vmax) }),
    onEachFeature: (f, l) => l.bindPopup(() => {
      const p = f.properties;
      const synth = state.cityInfo && state.cityInfo.synthetic
        ? `<div class="synth-note">${esc(t("syntheticShort"))}</div>` : "";
      return `<b>${esc(districtName(p))}</b>${synth}` + rows([
        [t("count"), p.suppressed ? t("suppressed").replace("{k}", state.minPublic) : fmt(p.count, 0)],
        [t("population"), fmt(p.population, 0)], [t("ratePer1000"), fmt(p.rate_per_1000)],
        [t("darkShare"), p.dark_share === null ? "—" : fmt(100 * p.dark_share, 1) + " %"]]);
    }),
  });
});

registerLoader("publicCells", async () => {
  const fc = await fetchJSON(`/public/cities/${state.city}/cells.geojson${qs(filterQuery(true))}`);
  const counts = fc.features.map((f) => f.properties.count).filter((v) => v !== null);
  const vmax = counts.length ? Math.max(...counts) * 1.0001 : 0;
  state.meta.publicCells = { vmax };
  return L.geoJSON(fc, {
    style: (f) => ({ color: "#6d4c41", weight: 0.6, fillOpacity: 0.5,
      fillColor: f.properties.suppressed ? "#dddddd" : ramp(SEQ, f.properties.count, vmax) }),
    onEachFeature: (f, l) => l.bindPopup(() => rows([[t("cell"), f.properties.h3],
      [t("count"), f.properties.suppressed ? t("suppressed").replace("{k}", state.minPublic) : fmt(f.properties.count, 0)]])),
  });
});

registerLoader("heat", async () => {
  const q = filterQuery(false);
  const legend = await fetchJSON(`/cities/${state.city}/heat/legend${qs(q)}`);
  state.meta.heat = legend;
  return new AuthTiles(`${API}/cities/${state.city}/heat/{z}/{x}/{y}.png${qs(q)}`,
    { pane: "heat", opacity: 0.85, maxZoom: 19 });
});

registerLoader("hexagons", async () => {
  const fc = await fetchJSON(`/cities/${state.city}/hotspots.geojson${qs(filterQuery(false))}`);
  state.meta.hexagons = fc.meta || {};
  if (!fc.features.some((f) => f.properties.count > 0)) { // a clear word instead of a blank map
    const e = new Error(t("noMatch")); e.code = "too-few-incidents"; throw e;
  }
  return L.geoJSON(fc, {
    renderer: canvas,
    style: (f) => ({ color: "#666", weight: 0.3, fillOpacity: f.properties.gi_bin === 0 ? 0.15 : 0.7,
      fillColor: giColor(f.properties.gi_bin) }),
    onEachFeature: (f, l) => l.bindPopup(() => {
      const p = f.properties;
      return rows([[t("cell"), p.h3], [t("count"), fmt(p.count, 0)], [t("density"), fmt(p.density)],
        [t("giZ"), fmt(p.gi_z)], [t("giP"), fmt(p.gi_p, 4)], [t("giClass"), t(giKey(p.gi_bin))]]);
    }),
  });
});

// the CPTED block popup: readable labels and units in the UI language, the fixes in that language only
const CP_STRATEGIES = ["natural_surveillance", "natural_access_control", "territorial_reinforcement",
  "image_maintenance", "activity_support", "target_hardening"];
const CP_MEASURES = [ // [property, label key, format]
  ["area_m2", "cp_area", (v) => fmt(v, 0)], ["mean_lux", "cp_mean_lux", (v) => fmt(v, 1)],
  ["dark_area_m2", "cp_dark_area", (v) => fmt(v, 0)], ["camera_detect_share", "cp_cam_detect", pct],
  ["camera_recognise_share", "cp_cam_recognise", pct], ["n_entrances", "cp_entrances", (v) => fmt(v, 0)],
  ["entrances_dark", "cp_entrances_dark", (v) => fmt(v, 0)], ["bars_nearby", "cp_bars", (v) => fmt(v, 0)],
  ["n_yards", "cp_yards", (v) => fmt(v, 0)], ["yard_gaps", "cp_yard_gaps", (v) => fmt(v, 0)],
  ["yards_passable", "cp_yards_passable", (v) => (typeof v === "boolean" ? t(v ? "yes" : "no") : fmt(v, 0))],
  ["risk_per_ha", "cp_risk_per_ha", (v) => fmt(v, 2)], ["priority", "cp_priority", (v) => fmt(v, 3)]];
function cptedPopup(p) {
  const fixes = [1, 2, 3].map((i) => p[`fix_${i}_${state.lang}`]).filter(Boolean);
  const head = rows([[t("cp_block"), p.block_id], [t("cp_score"), fmt(p.score, 0)], [t("cp_rank"), fmt(p.priority_rank, 0)]]);
  const fx = fixes.length ? `<div class="pp-h">${esc(t("cp_fixes"))}</div><ol class="fixes">`
    + fixes.map((f) => `<li>${esc(f)}</li>`).join("") + "</ol>" : "";
  const strat = `<div class="pp-h">${esc(t("cp_subscores"))}</div>`
    + rows(CP_STRATEGIES.filter((k) => k in p).map((k) => [t("cp_" + k), fmt(p[k], 0)]));
  const meas = rows(CP_MEASURES.filter(([k]) => k in p && p[k] !== null).map(([k, lab, f]) => [t(lab), f(p[k])]));
  return `<div class="cpted-pp">${head}${fx}${strat}${meas}</div>`;
}

registerLoader("cpted", async () => {
  const fc = await fetchJSON(`/cities/${state.city}/cpted/blocks.geojson`);
  return L.geoJSON(fc, {
    renderer: canvas,
    style: (f) => ({ color: "#555", weight: 0.4, fillOpacity: 0.6, fillColor: ramp(SCORE, f.properties.score, 100.0001) }),
    onEachFeature: (f, l) => l.bindPopup(() => cptedPopup(f.properties), { maxWidth: 320 }),
  });
});

registerLoader("lamps", () => pointLayer("lamps", (p) => p.working === false ? "#9e9e9e" : "#f9a825",
  (p) => [["id", p.lamp_id], [t("working"), p.working ? "✓" : "✗"], ["lm", p.flux_lm]]));
registerLoader("cameras", () => pointLayer("cameras", (p) => p.status === "broken" ? "#9e9e9e" : "#1565c0",
  (p) => [["id", p.camera_id], [t("working"), p.status === "broken" ? t("broken") : t("working")], ["°", p.bearing_deg]]));
registerLoader("sos", () => pointLayer("sos_buttons", () => "#c62828", (p) => [["id", p.sos_id], ["status", p.status]]));
