/* Before / after comparison: counts of two periods per H3 cell (GET /cities/{city}/compare.geojson with the
   map's other filters), drawn as a difference layer (red = more incidents per 30 days after, blue = fewer),
   with the totals and the districts' numbers in the panel. */
import { filterQuery } from "./filters.js";
import { canvas, map } from "./map.js";
import { state } from "./state.js";
import { $, errorText, esc, fetchJSON, fmt, qs, rows, t } from "./util.js";

const DIV = ["#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b"];
const cmp = { layer: null, data: null, error: null, seq: 0 };

function color(v, vmax) {
  if (!(vmax > 0)) return DIV[3];
  const i = Math.round(3 + 3 * Math.max(-1, Math.min(1, v / vmax)));
  return DIV[i];
}

export function clearCompare() {
  cmp.seq++;
  if (cmp.layer) { map.removeLayer(cmp.layer); cmp.layer = null; }
  cmp.data = null; cmp.error = null;
  renderCompare();
}

function districtName(d) { return d["name_" + state.lang] || d.name_en; }

export function renderCompare() {
  const box = $("cmp-result"), st = $("cmp-state");
  if (!box) return;
  if (st.dataset.busy === "1") return;
  st.classList.toggle("error", !!cmp.error);
  st.textContent = cmp.error ? (typeof cmp.error === "string" ? cmp.error : errorText(cmp.error)) : "";
  const m = cmp.data && cmp.data.meta;
  if (!m) { box.innerHTML = ""; return; }
  const per30 = (a, b) => 30 * (a / m.days_after - b / m.days_before);
  const sum = t("compareSummary").replace("{b}", fmt(m.total_before, 0)).replace("{a}", fmt(m.total_after, 0))
    .replace("{d}", (per30(m.total_after, m.total_before) > 0 ? "+" : "") + fmt(per30(m.total_after, m.total_before), 1));
  box.innerHTML = `<div id="cmp-summary">${esc(sum)}</div>`
    + `<div class="sub">${esc(t("compareBefore"))}: ${m.before[0]} – ${m.before[1]} (${m.days_before} ${esc(t("compareDays"))}); `
    + `${esc(t("compareAfter"))}: ${m.after[0]} – ${m.after[1]} (${m.days_after} ${esc(t("compareDays"))})</div>`
    + `<div class="cmp-legend">${DIV.map((c) => `<i style="background:${c}"></i>`).join("")}</div>`
    + `<div class="scale sub"><span>${esc(t("compareLess"))}</span><span>${esc(t("compareDiff"))}</span><span>${esc(t("compareMore"))}</span></div>`
    + `<table class="ff" id="cmp-districts"><tr><th>${esc(t("district"))}</th><th>${esc(t("compareBefore"))}</th>`
    + `<th>${esc(t("compareAfter"))}</th><th>Δ</th></tr>`
    + m.districts.map((d) => `<tr><td>${esc(districtName(d))}</td><td>${fmt(d.count_before, 0)}</td>`
      + `<td>${fmt(d.count_after, 0)}</td><td>${d.diff > 0 ? "+" : ""}${fmt(d.diff, 0)}</td></tr>`).join("") + "</table>";
}

async function runCompare() {
  const v = (id) => $(id).value;
  if (!v("cmp-b0") || !v("cmp-b1") || !v("cmp-a0") || !v("cmp-a1")) {
    cmp.error = t("compareInvalid"); renderCompare(); return;
  }
  const q = filterQuery(false);
  ["start", "end", "bandwidth_m"].forEach((k) => q.delete(k));
  q.set("before_start", v("cmp-b0")); q.set("before_end", v("cmp-b1"));
  q.set("after_start", v("cmp-a0")); q.set("after_end", v("cmp-a1"));
  const seq = ++cmp.seq, st = $("cmp-state");
  st.dataset.busy = "1"; st.textContent = t("computing"); st.classList.remove("error"); $("cmp-run").disabled = true;
  try {
    const fc = await fetchJSON(`/cities/${state.city}/compare.geojson${qs(q)}`);
    if (seq !== cmp.seq) return;
    if (cmp.layer) map.removeLayer(cmp.layer);
    const vmax = Math.max(0, ...fc.features.map((f) => Math.abs(f.properties.diff_per_30d)));
    cmp.layer = L.geoJSON(fc, {
      renderer: canvas,
      style: (f) => ({ color: "#777", weight: 0.3, fillOpacity: 0.7, fillColor: color(f.properties.diff_per_30d, vmax) }),
      onEachFeature: (f, l) => l.bindPopup(() => rows([[t("cell"), f.properties.h3],
        [t("compareBefore"), fmt(f.properties.count_before, 0)], [t("compareAfter"), fmt(f.properties.count_after, 0)],
        [t("compareDiff"), fmt(f.properties.diff_per_30d, 2)]])),
    }).addTo(map);
    Object.assign(cmp, { data: fc, error: null });
  } catch (e) {
    if (seq !== cmp.seq) return;
    Object.assign(cmp, { data: null, error: e });
  } finally {
    if (seq === cmp.seq) { st.dataset.busy = ""; $("cmp-run").disabled = false; }
  }
  renderCompare();
}

export function initComparePanel() {
  $("cmp-run").addEventListener("click", runCompare);
  $("cmp-clear").addEventListener("click", clearCompare);
}

export function setComparePanel() {
  const on = state.perms.has("hotspots");
  $("cmp-section").hidden = !on;
  if (!on) clearCompare();
}
