/* The design-review panel: upload a GeoJSON design, show the rule-by-rule result, draw the design and
   its failing geometry on the map, open the HTML report. */
import { DESIGN_POINT, DESIGN_STYLE, FAIL_COLOR } from "./config.js";
import { renderLegend } from "./legend.js";
import { map } from "./map.js";
import { state } from "./state.js";
import { $, errorText, esc, fetchRaw, fmt, openDocument, pct, rows, t } from "./util.js";

function reviewState(msg, isError) {
  const el = $("rv-state");
  el.textContent = msg || "";
  el.classList.toggle("error", !!isError);
}

export function clearReview() {
  const r = state.review;
  if (r && r.layer) map.removeLayer(r.layer);
  state.review = null;
  $("rv-file").value = "";
  $("rv-result").innerHTML = "";
  reviewState("");
  ["rv-run", "rv-html", "rv-clear"].forEach((id) => { $(id).disabled = true; });
  renderLegend();
}

function reviewForm(file) {
  const fd = new FormData();
  fd.append("file", file, file.name);
  return fd;
}
function reviewPath(format) {
  const q = new URLSearchParams({ format, lang: state.lang, city: state.city });
  return `/review?${q}`;
}

async function runReview() {
  const file = $("rv-file").files[0] || (state.review && state.review.file);
  if (!file) return;
  const prev = state.review;
  if (prev && prev.layer) map.removeLayer(prev.layer);
  state.review = { file, seq: ((prev && prev.seq) || 0) + 1 };
  const seq = state.review.seq;
  ["rv-run", "rv-html"].forEach((id) => { $(id).disabled = true; });
  $("rv-clear").disabled = false;
  $("rv-result").innerHTML = "";
  $("rv-result").dataset.busy = "1";
  reviewState(t("reviewRunning"));
  let design = null;
  try { design = JSON.parse(await file.text()); } catch (e) { design = null; } // the server explains why
  try {
    const r = await fetchRaw(reviewPath("json"), { method: "POST", body: reviewForm(file) });
    const result = await r.json();
    if (!state.review || state.review.seq !== seq) return;
    Object.assign(state.review, { design, result });
    drawReview();
    renderReview();
    reviewState("");
    $("rv-html").disabled = false;
  } catch (e) {
    if (!state.review || state.review.seq !== seq) return;
    state.review.error = e;
    reviewState(`${t("reviewFailed")} — ${errorText(e)}`, true);
  } finally {
    if (state.review && state.review.seq === seq) { $("rv-run").disabled = false; delete $("rv-result").dataset.busy; }
    renderLegend();
  }
}

function ruleTitle(r) { return r["title_" + state.lang] || r.title_en || r.id; }

function drawReview() {
  const rv = state.review;
  const group = L.featureGroup();
  rv.failLayers = {};
  if (rv.design && rv.design.type === "FeatureCollection") {
    L.geoJSON(rv.design, {
      style: (f) => DESIGN_STYLE[f.properties && f.properties.kind] || { color: "#37474f", weight: 1 },
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 4, weight: 1, color: "#333",
        fillColor: DESIGN_POINT[f.properties && f.properties.kind] || "#9e9e9e", fillOpacity: 0.9 }),
      onEachFeature: (f, l) => l.bindPopup(() => rows(Object.entries(f.properties || {})
        .filter(([, v]) => typeof v !== "object").map(([k, v]) => [k, fmt(v)]))),
    }).addTo(group);
  }
  for (const r of rv.result.rules) {
    if (r.status !== "FAIL" || !r.failing || !(r.failing.features || []).length) continue;
    rv.failLayers[r.id] = L.geoJSON(r.failing, {
      style: () => ({ color: FAIL_COLOR, weight: 4, fillColor: FAIL_COLOR, fillOpacity: 0.35 }),
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 8, weight: 3, color: FAIL_COLOR, fillColor: "#fff", fillOpacity: 0.6 }),
      onEachFeature: (f, l) => l.bindPopup(() => `<b>${esc(r.id)}</b> ${esc(ruleTitle(r))}`
        + rows([[t("measured"), measure(r, "measured")], [t("required"), measure(r, "required")]])
        + (r["fix_" + state.lang] ? `<div class="fix">${esc(t("ruleFix"))}: ${esc(r["fix_" + state.lang])}</div>` : "")),
    }).addTo(group);
  }
  rv.layer = group.addTo(map);
  const b = group.getBounds();
  if (b.isValid()) map.fitBounds(b, { maxZoom: 18, padding: [20, 20] });
}

// a measured or required value with its unit in the UI language ("3,1 лк", "33 %"), as the server wrote it
function measure(r, which) {
  const txt = r[`${which}_${state.lang}`];
  if (txt) return txt;
  const v = r[which];
  if (v === null || v === undefined) return "—";
  if (r.unit === "share" && typeof v === "number") return pct(v);
  return `${fmt(v)}${r.unit ? " " + r.unit : ""}`;
}

const STATUS_KEY = { PASS: "rulePass", FAIL: "ruleFail", NOT_CHECKABLE: "ruleNotCheckable" };
export function renderReview() {
  const box = $("rv-result");
  const rv = state.review;
  if (!rv || !rv.result) {
    box.innerHTML = "";
    if (rv && rv.error) reviewState(`${t("reviewFailed")} — ${errorText(rv.error)}`, true); // follows the language
    return;
  }
  const res = rv.result, sm = res.summary || {};
  let html = `<div class="rv-summary"><b>${esc(res.design)}</b> · EPSG:${esc(res.epsg)}<br>`
    + `<span class="badge pass" data-n="${sm.PASS || 0}">${esc(t("rulePass"))}: ${sm.PASS || 0}</span> `
    + `<span class="badge fail" data-n="${sm.FAIL || 0}">${esc(t("ruleFail"))}: ${sm.FAIL || 0}</span> `
    + `<span class="badge nc" data-n="${sm.NOT_CHECKABLE || 0}">${esc(t("ruleNotCheckable"))}: ${sm.NOT_CHECKABLE || 0}</span></div>`;
  html += "<ul id='rv-rules'>";
  for (const r of res.rules) {
    const cls = r.status === "PASS" ? "pass" : r.status === "FAIL" ? "fail" : "nc";
    const zoom = rv.failLayers && rv.failLayers[r.id];
    html += `<li class="rule ${cls}${zoom ? " zoom" : ""}" data-rule="${esc(r.id)}" data-status="${esc(r.status)}">`
      + `<span class="badge ${cls}">${esc(t(STATUS_KEY[r.status] || "ruleNotCheckable"))}</span> <b>${esc(ruleTitle(r))}</b>`
      + `<div class="mv">${esc(t("measured"))}: <b>${esc(measure(r, "measured"))}</b> · ${esc(t("required"))}: `
      + `<b>${esc(measure(r, "required"))}</b></div>`
      + `<div class="detail">${esc(r["detail_" + state.lang] || r.detail || "")}</div>`
      + (r["fix_" + state.lang] ? `<div class="fix"><b>${esc(t("ruleFix"))}:</b> ${esc(r["fix_" + state.lang])}</div>` : "")
      + `<div class="src">${esc(t("ruleSource"))}: ${esc(r["source_" + state.lang] || r.source)} <span class="rid">${esc(r.id)}</span></div></li>`;
  }
  box.innerHTML = html + "</ul>";
}

async function reviewReport() {
  const rv = state.review;
  if (!rv || !rv.file) return;
  try {
    await openDocument(() => fetchRaw(reviewPath("html"), { method: "POST", body: reviewForm(rv.file) }),
      `review_${rv.file.name.replace(/\.[^.]*$/, "")}_${state.lang}.html`);
  } catch (e) {
    reviewState(`${t("reviewHtml")}: ${errorText(e)}`, true);
  }
}

export function initReviewPanel() {
  $("rv-file").addEventListener("change", () => { if ($("rv-file").files.length) runReview(); });
  $("rv-run").addEventListener("click", runReview);
  $("rv-html").addEventListener("click", reviewReport);
  $("rv-clear").addEventListener("click", clearReview);
  $("rv-result").addEventListener("click", (ev) => {
    const li = ev.target.closest("li.rule.zoom");
    const fl = li && state.review && state.review.failLayers && state.review.failLayers[li.dataset.rule];
    if (!fl) return;
    map.fitBounds(fl.getBounds(), { maxZoom: 19, padding: [30, 30] });
    const first = fl.getLayers()[0];
    if (first) first.openPopup();
  });
}
