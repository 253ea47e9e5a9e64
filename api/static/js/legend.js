/* The map legend: one block per active layer (and the design under review), in the layer order. */
import { FAIL_COLOR, FORECAST_BANDS, GI, LAYERS, PATROL, REC_KINDS, SCORE, SEQ } from "./config.js";
import { map } from "./map.js";
import { state } from "./state.js";
import { $, errorText, esc, fmt, t } from "./util.js";

const legendCtl = L.control({ position: "bottomright" });
legendCtl.onAdd = () => { const d = L.DomUtil.create("div", "legend"); d.id = "legend"; L.DomEvent.disableClickPropagation(d); return d; };
legendCtl.addTo(map);

export function swatch(color, label) { return `<div class="li"><i style="background:${color}"></i>${esc(label)}</div>`; }

export function renderLegend() {
  const el = $("legend");
  let html = `<h3>${esc(t("legend"))}</h3>`;
  for (const L_ of LAYERS) {
    const id = L_.id;
    if (!state.active.has(id)) continue;
    html += `<div class="lg" data-layer="${id}"><h4>${esc(t("layer_" + id))}</h4>`;
    if (state.errors[id]) { html += `<div class="err">${esc(t("unavailable"))}: ${esc(errorText(state.errors[id]))}</div></div>`; continue; }
    const m = state.meta[id] || {};
    if (id === "heat") {
      const stops = (m.stops || []);
      const grad = stops.map(([, c]) => `rgba(${c[0]},${c[1]},${c[2]},${(c[3] / 255).toFixed(2)})`).join(",");
      html += `<div class="bar" style="background:linear-gradient(to right,${grad})"></div>`
        + `<div class="scale"><span>0</span><span>${esc(t("density"))}</span><span>${fmt(m.vmax, 1)}</span></div>`;
      if (m.bandwidth_m) html += `<div class="sub" id="lg-bandwidth">${esc(t("bandwidth"))}: ${fmt(m.bandwidth_m, 0)} `
        + `(${esc(t(m.bandwidth_source === "user" ? "bwUser" : "bwDefault"))})</div>`;
    } else if (id === "hexagons") {
      html += GI.map(([, c, k]) => swatch(c, t(k))).join("");
      if (m.inference) html += `<div class="sub" id="lg-inference">${esc(t("inference"))}: ${esc(m.inference)}`
        + (m.permutations ? `, ${fmt(m.permutations, 0)} ${esc(t("permutations"))}` : "")
        + (m.min_count ? `, ${esc(t("minCount"))} ${fmt(m.min_count, 0)}` : "") + "</div>";
    } else if (id === "emerging") {
      html += (m.legend || []).map((x) => swatch(x.colour, `${x.label[state.lang] || x.label.en} (${fmt((m.patterns || {})[x.pattern] || 0, 0)})`)).join("");
    } else if (id === "forecast") { // bands of the city's cells by rank, and the method's backtested PAI
      html += FORECAST_BANDS.filter(([top]) => top <= (m.returned || 0) / (m.cells || 1) + 1e-9)
        .map(([top, c], i, a) => swatch(c, `${t("fcTop")} ${fmt(100 * (i ? a[i - 1][0] : 0), 0)}–${fmt(100 * top, 0)} %`)).join("");
      if (m.backtest) html += `<div class="sub" id="lg-forecast-pai">${esc(`${m.method}${m.chosen ? " → " + m.chosen : ""}: `)}`
        + `${esc(t("fcPai"))} 1 % ${fmt(m.backtest.pai["1%"][0], 2)}, 5 % ${fmt(m.backtest.pai["5%"][0], 2)}; `
        + `${esc(t("fcBaseline"))} ${fmt(m.backtest.baseline_pai["1%"], 2)} / ${fmt(m.backtest.baseline_pai["5%"], 2)}</div>`;
    } else if (id === "public" || id === "publicCells") {
      const vmax = m.vmax || 0;
      html += `<div class="sub">${esc(id === "public" ? t("ratePer1000") : t("count"))}</div>`;
      html += SEQ.map((c, i) => swatch(c, `${fmt((vmax * i) / SEQ.length, 1)} – ${fmt((vmax * (i + 1)) / SEQ.length, 1)}`)).join("");
      html += swatch("#dddddd", t("suppressed").replace("{k}", state.minPublic));
    } else if (id === "cpted") {
      html += SCORE.map((c, i) => swatch(c, `${i * 20} – ${(i + 1) * 20}`)).join("");
    } else if (id === "lamps") {
      html += swatch("#f9a825", t("working")) + swatch("#9e9e9e", t("broken"));
    } else if (id === "cameras") {
      html += swatch("#1565c0", t("working")) + swatch("#9e9e9e", t("broken"));
    } else if (id === "sos") {
      html += swatch("#c62828", t("layer_sos"));
    } else if (id === "recommended") {
      html += REC_KINDS.map(([k, c, lab]) => swatch(c, `${t(lab)} (${((m.kinds || {})[k] || { sites: [] }).sites.length})`)).join("");
    } else if (id === "patrol") {
      html += (m.units || []).map((u) => swatch(PATROL[u % PATROL.length], `${t("route")} ${u}`)).join("");
    }
    html += "</div>";
  }
  if (state.review && state.review.layer) {
    html += `<div class="lg" data-layer="review"><h4>${esc(t("reviewTitle"))}</h4>`
      + swatch("#0f3b5f", t("reviewDesign")) + swatch(FAIL_COLOR, t("reviewFailing")) + "</div>";
  }
  el.innerHTML = html;
}
