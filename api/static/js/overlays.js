/* The analysis and city layers: public district rates and cells, heat tiles, Gi* hexagons, CPTED block
   scores, lamps, cameras and SOS buttons.  Each registers its loader. */
import { API, GI, SCORE, SEQ } from "./config.js";
import { filterQuery } from "./filters.js";
import { registerLoader } from "./layers.js";
import { AuthTiles, canvas } from "./map.js";
import { state } from "./state.js";
import { esc, fetchJSON, fmt, qs, rows, t } from "./util.js";

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
      return `<b>${esc(districtName(p))}</b>` + rows([
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

registerLoader("cpted", async () => {
  const fc = await fetchJSON(`/cities/${state.city}/cpted/blocks.geojson`);
  return L.geoJSON(fc, {
    renderer: canvas,
    style: (f) => ({ color: "#555", weight: 0.4, fillOpacity: 0.6, fillColor: ramp(SCORE, f.properties.score, 100.0001) }),
    onEachFeature: (f, l) => l.bindPopup(() => rows(Object.entries(f.properties)
      .filter(([, v]) => typeof v !== "object").map(([k, v]) => [k === "score" ? t("score") : k, fmt(v)]))),
  });
});

registerLoader("lamps", () => pointLayer("lamps", (p) => p.working === false ? "#9e9e9e" : "#f9a825",
  (p) => [["id", p.lamp_id], [t("working"), p.working ? "✓" : "✗"], ["lm", p.flux_lm]]));
registerLoader("cameras", () => pointLayer("cameras", (p) => p.status === "broken" ? "#9e9e9e" : "#1565c0",
  (p) => [["id", p.camera_id], [t("working"), p.status === "broken" ? t("broken") : t("working")], ["°", p.bearing_deg]]));
registerLoader("sos", () => pointLayer("sos_buttons", () => "#c62828", (p) => [["id", p.sos_id], ["status", p.status]]));
