/* The forecast layer "tomorrow / this shift" (issue 16.7): the best cells of the chosen method for the
   local day, from GET /cities/{city}/forecast.geojson, with the method's backtested PAI on the city's own
   last four weeks beside the better count baseline (meta.backtest). Analyst, commander, admin. */
import { FORECAST_BANDS } from "./config.js";
import { registerLoader, registerPanel, renderPanelState, showLayer } from "./layers.js";
import { canvas } from "./map.js";
import { state, today } from "./state.js";
import { $, fetchJSON, fmt, pct, qs, rows, t } from "./util.js";

export const FORECAST_PERM = "forecast";

// the local date of the forecast: "tomorrow" or "today" (this shift) in the city's time zone
export function forecastDay(which) {
  const d = today(state.cityInfo && state.cityInfo.tz);
  if (which !== "tomorrow") return d;
  const x = new Date(d + "T12:00:00Z");
  x.setUTCDate(x.getUTCDate() + 1);
  return x.toISOString().slice(0, 10);
}

// colour of a cell by its rank: the darkest for the top 1 % of the city's cells
export function bandColour(areaShare) {
  const b = FORECAST_BANDS.find(([top]) => areaShare <= top + 1e-12);
  return (b || FORECAST_BANDS[FORECAST_BANDS.length - 1])[1];
}

// "PAI 1 %: 9.4 (8.6–10.3) · better baseline (longrun) 9.1 · ×1.03" in the UI language
export function recordText(m) {
  const b = m && m.backtest;
  if (!b) return "";
  const p = b.pai["1%"] || [null, null, null];
  let s = `${t("fcPai")} 1 %: ${fmt(p[0], 2)} (${fmt(p[1], 2)}–${fmt(p[2], 2)})`;
  if (b.vs_baseline) s += ` · ${t("fcBaseline")} (${b.baseline["1%"]}): ${fmt(b.baseline_pai["1%"], 2)} · ×${fmt(b.vs_baseline["1%"], 2)}`;
  return s + ` · ${t("fcBacktest").replace("{n}", b.days).replace("{from}", b.from).replace("{to}", b.to)}`;
}

registerLoader("forecast", async () => {
  const q = new URLSearchParams({ day: forecastDay($("fc-day").value), method: $("fc-method").value });
  const fc = await fetchJSON(`/cities/${state.city}/forecast.geojson${qs(q)}`);
  state.meta.forecast = fc.meta || {};
  return L.geoJSON(fc, {
    renderer: canvas,
    style: (f) => ({ color: "#555", weight: 0.3, fillOpacity: 0.75, fillColor: bandColour(f.properties.area_share) }),
    onEachFeature: (f, l) => l.bindPopup(() => {
      const p = f.properties;
      return rows([[t("fcRank"), fmt(p.rank, 0)], [t("fcTop"), pct(p.area_share)], [t("fcScore"), fmt(p.score, 4)],
        [t("cell"), p.h3]]);
    }),
  });
});

registerPanel("forecast", {
  state: "fc-state", button: "fc-method",
  always: () => {},
  summary: (m) => {
    const chosen = m.chosen ? ` (${t("fcChosen")}: ${m.chosen})` : "";
    return `${m.day} · ${m.method}${chosen} · ${recordText(m)}`;
  },
});

export function initForecastPanel() {
  ["fc-day", "fc-method"].forEach((id) => $(id).addEventListener("change", () => {
    if (state.active.has("forecast")) showLayer("forecast"); else renderPanelState("forecast");
  }));
}

// the panel follows the role: shown to the roles with the forecast permission
export function renderForecastPanel() { $("fc-section").hidden = !state.perms.has(FORECAST_PERM); }
