/* The "Evaluation" panel (issue 18): did an intervention work?  Choose cameras / SOS buttons / lamps
   (optionally their ids) or draw an area on the map (click to add vertices), pick the switch-on date,
   and POST /cities/{city}/evaluations.  The answer is drawn here: before/after chart of treated vs
   comparison (inline SVG), the estimate with its 95 % interval, WDQ and its reading, the kk/ru/en
   sentence, and a one-page printable report (print CSS, #eval-print).  renderEvaluation() is shared
   with the cases panel (js/cases.js). */
import { API } from "./config.js";
import { map } from "./map.js";
import { state } from "./state.js";
import { $, errorText, esc, fetchJSON, fmt, headers, t } from "./util.js";

export const EVAL_PERM = "evaluations";  // the permission of POST /cities/{city}/evaluations (api/auth.py)

// a JSON request with the key header; errors carry the problem's status and stable code like fetchRaw's
export async function sendJSON(path, body, method) {
  const r = await fetch(API + path, { method: method || "POST", body: JSON.stringify(body || {}),
    headers: Object.assign({ "Content-Type": "application/json" }, headers()) });
  if (!r.ok) {
    let detail = r.statusText, code = "";
    try { const p = await r.json(); detail = p.detail || p.title || detail; code = String(p.type || "").split("/").pop(); }
    catch (e) { /* not JSON */ }
    const err = new Error(detail); err.status = r.status; err.code = code; throw err;
  }
  return r.json();
}

// ------------------------------------------------------------------ drawing an area (click to add a vertex)
const draw = { on: false, pts: [], shape: null };
function redraw() {
  if (draw.shape) { draw.shape.remove(); draw.shape = null; }
  if (!draw.pts.length || !map) return;
  const style = { color: "#6a1b9a", weight: 2, dashArray: draw.on ? "4 4" : null, fillOpacity: 0.15 };
  draw.shape = (draw.pts.length >= 3 ? L.polygon(draw.pts, style) : L.polyline(draw.pts, style)).addTo(map);
  $("ev-area-state").textContent = t("evVertices").replace("{n}", draw.pts.length);
}
function onMapClick(e) { if (draw.on) { draw.pts.push([e.latlng.lat, e.latlng.lng]); redraw(); } }
export function drawnArea() {
  if (draw.pts.length < 3) return null;
  const ring = draw.pts.map(([la, lo]) => [lo, la]);
  ring.push(ring[0]);
  return { type: "Polygon", coordinates: [ring] };
}
function toggleDraw() {
  draw.on = !draw.on;
  if (draw.on) draw.pts = [];
  $("ev-draw").textContent = t(draw.on ? "evDrawFinish" : "evDraw");
  $("ev-draw").classList.toggle("on", draw.on);
  map.getContainer().style.cursor = draw.on ? "crosshair" : "";
  redraw();
}
function clearDraw() { draw.on = false; draw.pts = []; $("ev-draw").textContent = t("evDraw"); redraw(); $("ev-area-state").textContent = ""; }

// ------------------------------------------------------------------ the evaluated place on the map
const ID_COL = { cameras: "camera_id", sos_buttons: "sos_id", lamps: "lamp_id" };
let placeLayer = null;
// draw the treated place (its features' radius discs, or the area) and the outer edge of the ring
export async function showPlace(place, radius, ring) {
  if (placeLayer) { placeLayer.remove(); placeLayer = null; }
  if (!place) return null;
  const g = L.layerGroup();
  const treated = { color: "#c62828", weight: 2, fillOpacity: 0.12 };
  const outer = { color: "#ef6c00", weight: 1, dashArray: "4 4", fill: false };
  if (place.area) {
    L.geoJSON(place.area, { style: () => treated }).addTo(g);
  } else if (place.layer && place.ids && place.ids.length) {
    const fc = await fetchJSON(`/cities/${state.city}/layers/${place.layer}.geojson`);
    const want = new Set(place.ids.map(Number));
    fc.features.filter((f) => want.has(Number(f.properties[ID_COL[place.layer]]))).forEach((f) => {
      if (!f.geometry || f.geometry.type !== "Point") return;
      const ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
      L.circle(ll, Object.assign({ radius: radius || 150 }, treated)).addTo(g);
      if (ring) L.circle(ll, Object.assign({ radius: ring[1] }, outer)).addTo(g);
    });
  }
  placeLayer = g.addTo(map);
  return placeLayer;
}

// ------------------------------------------------------------------ the request
function parseIds(text) {
  const ids = text.split(/[\s,;]+/).filter(Boolean).map(Number);
  if (ids.some((x) => !Number.isInteger(x) || x < 0)) throw new Error(t("evIdsInvalid"));
  return ids;
}
// the place chosen in the panel: {layer, ids} or {area}
export function chosenPlace() {
  if ($("ev-kind-area").checked) {
    const area = drawnArea();
    if (!area) throw new Error(t("evNeedArea"));
    return { area };
  }
  const ids = parseIds($("ev-ids").value || "");
  return ids.length ? { layer: $("ev-layer").value, ids } : { layer: $("ev-layer").value };
}
export function evaluationRequest() {
  const installed = $("ev-date").value;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(installed)) throw new Error(t("evNeedDate"));
  const body = Object.assign(chosenPlace(), { installed, before_months: Number($("ev-before").value) || 12,
    after_months: Number($("ev-after").value) || 6 });
  const cat = $("ev-category").value;
  if (cat) body.categories = [cat];
  if ($("ev-dark").checked) body.dark_only = true;
  return body;
}

// ------------------------------------------------------------------ the answer: chart, numbers, sentence
const pctTxt = (v) => (v === null || v === undefined ? "—" : (v > 0 ? "+" : "") + fmt(v, 1) + " %");

// before/after chart of the monthly counts, treated vs comparison (scaled to the treated pre-period total)
export function chartSVG(series, W = 440, H = 190) {
  const s = series || [];
  if (!s.length) return "";
  const m = { l: 34, r: 8, t: 10, b: 34 };
  const vals = s.flatMap((p) => [Number(p.treated) || 0, Number(p.comparison) || 0]);
  const ymax = Math.max(1, ...vals);
  const x = (i) => m.l + (s.length === 1 ? 0 : (i * (W - m.l - m.r)) / (s.length - 1));
  const y = (v) => H - m.b - ((Number(v) || 0) / ymax) * (H - m.t - m.b);
  const line = (k) => s.map((p, i) => `${x(i).toFixed(1)},${y(p[k]).toFixed(1)}`).join(" ");
  const firstAfter = s.findIndex((p) => p.after);
  let after = "";
  if (firstAfter >= 0) {
    const x0 = firstAfter === 0 ? m.l : (x(firstAfter - 1) + x(firstAfter)) / 2;
    after = `<rect class="after" x="${x0.toFixed(1)}" y="${m.t}" width="${(W - m.r - x0).toFixed(1)}" height="${H - m.t - m.b}" fill="#fff3e0"/>`
      + `<line x1="${x0.toFixed(1)}" x2="${x0.toFixed(1)}" y1="${m.t}" y2="${H - m.b}" stroke="#ef6c00" stroke-dasharray="4 3"/>`
      + `<text x="${(x0 + 3).toFixed(1)}" y="${m.t + 10}" font-size="10" fill="#ef6c00">${esc(t("evAfter"))}</text>`;
  }
  const anchor = (i) => (i === 0 ? "start" : i === s.length - 1 ? "end" : "middle"); // the end labels stay inside
  const lab = (i) => `<text x="${x(i).toFixed(1)}" y="${H - m.b + 13}" font-size="10" text-anchor="${anchor(i)}">${esc(String(s[i].period).slice(0, 7))}</text>`;
  const ticks = [0, firstAfter > 0 ? firstAfter : -1, s.length - 1].filter((i, k, a) => i >= 0 && a.indexOf(i) === k).map(lab).join("");
  return `<svg class="ev-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(t("evChart"))}">`
    + after
    + `<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#888"/>`
    + `<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#888"/>`
    + `<text x="${m.l - 4}" y="${m.t + 8}" font-size="10" text-anchor="end">${fmt(ymax, 0)}</text>`
    + `<text x="${m.l - 4}" y="${H - m.b}" font-size="10" text-anchor="end">0</text>`
    + `<polyline class="comparison" fill="none" stroke="#1565c0" stroke-width="2" stroke-dasharray="5 3" points="${line("comparison")}"/>`
    + `<polyline class="treated" fill="none" stroke="#c62828" stroke-width="2" points="${line("treated")}"/>`
    + ticks
    + `<g font-size="11"><rect x="${m.l + 6}" y="${H - 14}" width="14" height="3" fill="#c62828"/><text x="${m.l + 24}" y="${H - 10}">${esc(t("evTreated"))}</text>`
    + `<rect x="${m.l + 150}" y="${H - 14}" width="14" height="3" fill="#1565c0"/><text x="${m.l + 168}" y="${H - 10}">${esc(t("evComparison"))}</text></g>`
    + "</svg>";
}

function numbers(res) {
  const rowsOf = [];
  if (res.decidable) {
    rowsOf.push([t("evEffect"), `${pctTxt(res.effect_pct)} (95 %: ${pctTxt(res.ci_low_pct)} … ${pctTxt(res.ci_high_pct)})`]);
    rowsOf.push([t("evP"), fmt(res.p_value, 3)]);
    if (res.synth_effect_pct !== null && res.synth_effect_pct !== undefined) rowsOf.push([t("evSynth"), pctTxt(res.synth_effect_pct)]);
    rowsOf.push(["WDQ", `${fmt(res.wdq, 2)} — ${t("evReading_" + (res.wdq_reading || "not_applicable"))}`]);
  }
  rowsOf.push([t("evMde"), res.mde_pct === null || res.mde_pct === undefined ? "—" : fmt(res.mde_pct, 1) + " %"]);
  rowsOf.push([t("evCells"), `${fmt(res.n_treated_cells, 0)} / ${fmt(res.n_comparison, 0)}`]);
  if (res.installed) rowsOf.push([t("evInstalled"), String(res.installed).slice(0, 10)]);
  if (res.before_months) rowsOf.push([t("evPeriods"), `${fmt(res.before_months, 1)} / ${fmt(res.after_months, 1)}`]);
  if (res.radius_m) {
    const ring = res.ring_m ? `; ${t("evRing")} ${fmt(res.ring_m[0], 0)}–${fmt(res.ring_m[1], 0)} m` : "";
    rowsOf.push([t("evRadius"), `${fmt(res.radius_m, 0)} m${ring}`]);
  }
  const cats = (res.categories || []).map((k) => {
    const c = (state.categories || []).find((x) => x.category === k);
    return c ? c["name_" + state.lang] : k;
  }).join(", ");
  rowsOf.push([t("category"), (cats || t("evAllCategories")) + (res.dark_only ? ` · ${t("evDark")}` : "")]);
  return "<table class='pp ev-num'>" + rowsOf.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("") + "</table>";
}

// the result block (chart, verdict, numbers, sentence) in the UI language
export function resultHTML(res) {
  const verdict = res.decidable ? "" : `<div class="ev-undecidable" role="note">${esc(t("evUndecidable"))}</div>`;
  return `<div class="ev-sentence">${esc((res.text || {})[state.lang] || "")}</div>${verdict}${chartSVG(res.series)}${numbers(res)}`;
}

// the one-page printable report: filled into #eval-print, shown alone by the print CSS
export function printReport(res, title, extra) {
  let box = $("eval-print");
  if (!box) { box = document.createElement("div"); box.id = "eval-print"; document.body.appendChild(box); }
  const city = state.cityInfo ? state.cityInfo["name_" + state.lang] || state.city : state.city;
  const synth = state.cityInfo && state.cityInfo.synthetic ? `<p class="ev-synth-note">${esc(t("syntheticBanner"))}</p>` : "";
  box.innerHTML = `<h1>${esc(title || t("evTitle"))}</h1><p class="ev-meta">${esc(city)} · ${esc(new Date().toISOString().slice(0, 10))}</p>`
    + synth + (extra || "") + resultHTML(res) + `<p class="notice">${esc(t("evNotice"))}</p>`;
  document.body.classList.add("print-eval");
  window.addEventListener("afterprint", () => document.body.classList.remove("print-eval"), { once: true });
  window.print();
}

// extra: trusted HTML (escaped by its maker) printed above the result, e.g. a case's plan
export function renderEvaluation(box, res, title, extra) {
  box.innerHTML = resultHTML(res);
  const b = document.createElement("button");
  b.type = "button"; b.className = "ev-print"; b.textContent = t("evPrint");
  b.addEventListener("click", () => printReport(res, title, typeof extra === "function" ? extra() : extra));
  box.appendChild(b);
  box.dataset.done = "1";
}

// ------------------------------------------------------------------ the panel
const last = { res: null };
async function run(ev) {
  ev.preventDefault();
  const st = $("ev-state");
  st.classList.remove("error");
  let body;
  try { body = evaluationRequest(); } catch (e) { st.textContent = e.message; st.classList.add("error"); return; }
  st.textContent = t("computing"); $("ev-run").disabled = true;
  $("ev-result").dataset.done = "";
  try {
    last.res = await sendJSON(`/cities/${state.city}/evaluations`, body);
    last.body = body;
    st.textContent = "";
    renderEvaluation($("ev-result"), last.res);
    showPlace(body, last.res.radius_m, last.res.ring_m).catch(() => {}); // the map shows what was evaluated
    $("ev-save").disabled = false;
  } catch (e) { st.textContent = errorText(e); st.classList.add("error"); }
  finally { $("ev-run").disabled = false; }
}

// save the evaluated place, problem and date as a new case (its action plan starts with the intervention)
async function saveAsCase() {
  const st = $("ev-state");
  const title = ($("ev-case-title").value || "").trim();
  if (!title) { st.textContent = t("caseNeedTitle"); st.classList.add("error"); return; }
  const b = last.body;
  const body = Object.assign({ title, categories: b.categories || [], actions: [
    { text: t("caseFirstAction_" + (b.layer || "area")), done_date: b.installed }] },
  b.area ? { area: b.area } : { layer: b.layer, ids: b.ids || [] });
  try {
    const c = await sendJSON(`/cities/${state.city}/cases`, body);
    st.textContent = t("caseSaved").replace("{id}", c.id); st.classList.remove("error");
    document.dispatchEvent(new CustomEvent("qauipsiz:cases"));
  } catch (e) { st.textContent = errorText(e); st.classList.add("error"); }
}

export const fillEvalCategories = () => fillCategorySelect("ev-category");

/** Fill a category <select> (first option: all categories) in the UI language, keeping its choice. */
export function fillCategorySelect(id) {
  const sel = $(id);
  if (!sel) return;
  const keep = sel.value;
  sel.innerHTML = "";
  sel.append(new Option(t("evAllCategories"), ""));
  (state.categories || []).forEach((c) => sel.append(new Option(c["name_" + state.lang], c.category)));
  sel.value = keep;
}

export function initEvaluationPanel() {
  map.on("click", onMapClick);
  $("ev-form").addEventListener("submit", run);
  $("ev-draw").addEventListener("click", toggleDraw);
  $("ev-clear").addEventListener("click", clearDraw);
  $("ev-save").addEventListener("click", saveAsCase);
  const kind = () => {
    const area = $("ev-kind-area").checked;
    $("ev-layer-box").hidden = area; $("ev-area-box").hidden = !area;
    if (!area && draw.on) toggleDraw();
  };
  $("ev-kind-layer").addEventListener("change", kind); $("ev-kind-area").addEventListener("change", kind);
  kind();
}

// the language changed: redraw the answer and the labels made here
export function renderEvaluationPanel() {
  fillEvalCategories();
  if ($("ev-draw")) $("ev-draw").textContent = t(draw.on ? "evDrawFinish" : "evDraw");
  if (last.res && $("ev-result").dataset.done) renderEvaluation($("ev-result"), last.res);
}
