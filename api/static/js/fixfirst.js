/* The fix-first panel: CPTED blocks by priority (risk × (1 − score/100)) with the nearest street, the
   score and the first fixes in the UI language; a row shows its block on the map. */
import { map } from "./map.js";
import { state } from "./state.js";
import { $, errorText, esc, fetchJSON, fmt, t } from "./util.js";

const LIMIT = 20;
const ff = { lang: null, rows: null, error: null, seq: 0, marker: null };

export function clearFixFirst() {
  ff.rows = null; ff.error = null; ff.lang = null; ff.seq++;
  if (ff.marker) { map.removeLayer(ff.marker); ff.marker = null; }
  if ($("ff-list")) renderFixFirst();
}

async function loadFixFirst() {
  const seq = ++ff.seq, lang = state.lang;
  $("ff-load").disabled = true;
  $("ff-state").dataset.busy = "1"; $("ff-state").textContent = t("computing"); $("ff-state").classList.remove("error");
  try {
    const rows = await fetchJSON(`/cities/${state.city}/cpted/fix-first?lang=${lang}&limit=${LIMIT}`);
    if (seq !== ff.seq) return;
    Object.assign(ff, { rows, lang, error: null });
  } catch (e) {
    if (seq !== ff.seq) return;
    Object.assign(ff, { rows: null, error: e });
  } finally {
    if (seq === ff.seq) { $("ff-load").disabled = false; $("ff-state").dataset.busy = ""; }
  }
  renderFixFirst();
}

export function renderFixFirst() {
  const box = $("ff-list"), st = $("ff-state");
  if (!box) return;
  if (st.dataset.busy === "1") return;
  st.classList.toggle("error", !!ff.error);
  st.textContent = ff.error ? errorText(ff.error) : (ff.rows && !ff.rows.length ? t("ffNone") : "");
  if (!ff.rows) { box.innerHTML = ""; return; }
  if (ff.lang !== state.lang) { loadFixFirst(); return; } // the fixes come in the UI language
  box.innerHTML = `<table class="ff"><tr><th>№</th><th>${esc(t("street"))}</th><th>${esc(t("score"))}</th>`
    + `<th>${esc(t("cp_fixes"))}</th></tr>`
    + ff.rows.map((r, i) => `<tr data-i="${i}" data-block="${esc(r.block_id)}"><td>${esc(r.priority_rank)}</td>`
      + `<td>${esc(r.street || "—")}</td><td>${fmt(r.score, 0)}</td>`
      + `<td>${esc(r["fix_1_" + ff.lang] || "")}</td></tr>`).join("") + "</table>";
}

function showRow(i) {
  const r = ff.rows && ff.rows[i];
  if (!r || r.lat === null || r.lon === null) return;
  if (ff.marker) map.removeLayer(ff.marker);
  const fixes = [1, 2, 3].map((k) => r[`fix_${k}_${ff.lang}`]).filter(Boolean);
  ff.marker = L.circleMarker([r.lat, r.lon], { radius: 9, weight: 3, color: "#b71c1c", fillColor: "#fff", fillOpacity: 0.6 })
    .bindPopup(`<b>${esc(t("cp_rank"))}: ${esc(r.priority_rank)}</b><br>${esc(r.street || "")}`
      + ` · ${esc(t("score"))}: ${fmt(r.score, 0)}<ol class="fixes">${fixes.map((f) => `<li>${esc(f)}</li>`).join("")}</ol>`)
    .addTo(map);
  map.setView([r.lat, r.lon], Math.max(map.getZoom(), 16));
  ff.marker.openPopup();
}

export function initFixFirstPanel() {
  $("ff-load").addEventListener("click", loadFixFirst);
  $("ff-list").addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr[data-i]");
    if (tr) showRow(Number(tr.dataset.i));
  });
}
