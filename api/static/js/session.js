/* The top bar and the side panel around the map: city, sign-in (role and permissions), language, the
   layer list, exports, and which task panels the role may see. */
import { LAYERS, REC_KINDS } from "./config.js";
import { filterQuery, setPublicMode } from "./filters.js";
import { hasPanel, panelIds, renderPanelState, showLayer } from "./layers.js";
import { renderLegend } from "./legend.js";
import { hideLayer, loadBasemap, map } from "./map.js";
import { loadStations } from "./patrol.js";
import { clearReview, renderReview } from "./review.js";
import { clearFixFirst, renderFixFirst } from "./fixfirst.js";
import { state, today } from "./state.js";
import { $, errorText, fetchJSON, fetchRaw, qs, status, t } from "./util.js";

export function renderLayerList() {
  const box = $("layer-list");
  box.innerHTML = "";
  for (const L_ of LAYERS) {
    if (!state.perms.has(L_.perm)) continue;
    const lab = document.createElement("label");
    lab.className = "layer";
    const cb = document.createElement("input");
    cb.type = "checkbox"; cb.value = L_.id; cb.id = "layer-" + L_.id;
    cb.checked = state.active.has(L_.id);
    cb.addEventListener("change", () => {
      if (cb.checked) { state.active.add(L_.id); showLayer(L_.id); }
      else {
        state.active.delete(L_.id); delete state.errors[L_.id]; hideLayer(L_.id); renderLegend();
        if (hasPanel(L_.id)) renderPanelState(L_.id);
      }
      renderExports(); // the exports follow the layers on the map
    });
    const span = document.createElement("span");
    span.dataset.i18n = "layer_" + L_.id; span.textContent = t("layer_" + L_.id);
    lab.append(cb, " ", span);
    box.appendChild(lab);
  }
}

const EXPORT_FORMATS = [["geojson", "GeoJSON"], ["gpkg", "GeoPackage"], ["csv", "CSV"], ["xlsx", "Excel (XLSX)"]];
const pad2 = (n) => String(n).padStart(2, "0");

// the shift of the patrol layer as the patrol panel asks for it (kept in step with patrol.js)
function patrolExportQuery() {
  const p = state.patrol; const q = new URLSearchParams();
  q.set("shift", `${p.date} ${pad2(p.start)}:00/${pad2(p.end)}:00`); q.set("units", p.units); q.set("mode", p.mode);
  q.set("station", p.station); q.set("visits", p.visits);
  return q;
}

// [i18n key, export layer, query] for each layer on the map (and the fix-first list and incidents for
// the roles that may see them); every one goes through GET /cities/{city}/export/{layer}?format=
function exportItems() {
  const on = (id) => state.active.has(id) && LAYERS.some((x) => x.id === id && state.perms.has(x.perm));
  const items = [];
  if (on("public") || !state.perms.has("hotspots")) items.push(["exportPublic", "districts", () => filterQuery(true)]);
  if (on("publicCells")) items.push(["exportCells", "cells", () => filterQuery(true)]);
  if (state.perms.has("hotspots")) items.push(["exportHexagons", "hotspots", () => filterQuery(false)]);
  if (on("cpted")) items.push(["exportCpted", "cpted-blocks", () => new URLSearchParams()]);
  if (state.perms.has("cpted")) items.push(["exportFixFirst", "fix-first", () => new URLSearchParams({ lang: state.lang })]);
  if (on("recommended")) {
    REC_KINDS.forEach(([kind]) => items.push(["exportRec_" + kind, kind, () => new URLSearchParams({ n: state.budget[kind], lang: state.lang })]));
  }
  if (on("patrol")) items.push(["exportPatrol", "patrol", patrolExportQuery]);
  if (state.perms.has("incidents:read")) items.push(["exportIncidents", "incidents", () => filterQuery(false)]);
  return items;
}

async function download(path, fname) {
  const r = await fetchRaw(path);
  const blob = await r.blob();
  const a = document.createElement("a");
  // files of the demo city say so in their name
  const synth = state.cityInfo && state.cityInfo.synthetic ? "_SYNTHETIC" : "";
  a.href = URL.createObjectURL(blob); a.download = `${state.city}${synth}_${fname}`;
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 5000);
  return r;
}

export function renderExports() {
  const box = $("exports");
  const prev = $("export-format") ? $("export-format").value : "geojson";
  box.innerHTML = "";
  const lab = document.createElement("label");
  const span = document.createElement("span");
  span.dataset.i18n = "exportFormat"; span.textContent = t("exportFormat");
  const sel = document.createElement("select");
  sel.id = "export-format";
  EXPORT_FORMATS.forEach(([v, name]) => sel.append(new Option(name, v)));
  sel.value = prev;
  lab.append(span, " ", sel);
  box.appendChild(lab);
  const add = (k, run) => {
    const b = document.createElement("button");
    b.type = "button"; b.className = "export"; b.dataset.i18n = k; b.textContent = t(k);
    b.addEventListener("click", async () => {
      try { await run(); } catch (e) { status(`${t(k)}: ${errorText(e)}`, true); }
    });
    box.appendChild(b);
  };
  for (const [k, layer, query] of exportItems()) {
    add(k, async () => {
      const fmt = sel.value;
      const q = query(); q.set("format", fmt);
      const r = await download(`/cities/${state.city}/export/${layer}${qs(q)}`, `${layer}.${fmt}`);
      // the server sends every row; say how many (and of how many) the file holds
      const n = Number(r.headers.get("X-Exported-Count")), total = Number(r.headers.get("X-Total-Count"));
      if (Number.isFinite(n) && Number.isFinite(total)) {
        const el = $("export-state");
        el.textContent = `${t(k)}: ${t("exportRows").replace("{n}", fmt_(n)).replace("{total}", fmt_(total))}`;
        el.classList.toggle("error", n < total);
      }
    });
  }
  if (state.perms.has("hotspots")) {
    add("exportTiff", () => download(`/cities/${state.city}/hotspots.tif${qs(filterQuery(false))}`, "density.tif"));
  }
  const msg = document.createElement("div");
  msg.id = "export-state"; msg.setAttribute("role", "status");
  box.appendChild(msg);
}

document.addEventListener("qauipsiz:layers", () => renderExports());

const fmt_ = (v) => v.toLocaleString(state.lang === "en" ? "en" : "ru");

export function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  document.querySelectorAll(".lang-btn").forEach((b) => b.classList.toggle("on", b.dataset.lang === state.lang));
  document.querySelectorAll("#f-weekdays label span").forEach((s) => { s.textContent = t(s.dataset.day); });
  const cat = $("f-category");
  Array.from(cat.options).forEach((o) => {
    const c = state.categories.find((x) => x.category === o.value);
    if (c) o.textContent = c["name_" + state.lang];
  });
  const d = $("f-district");
  Array.from(d.options).forEach((o) => {
    if (!o.value) { o.textContent = t("allDistricts"); return; }
    const x = state.cityInfo && state.cityInfo.districts.find((y) => y.district === o.value);
    if (x) o.textContent = x["name_" + state.lang];
  });
  const cs = $("city");
  Array.from(cs.options).forEach((o) => { const c = (state.cities || []).find((x) => x.city === o.value); if (c) o.textContent = c["name_" + state.lang]; });
  $("role").textContent = `${t("signedInAs")}: ${state.role === "public" ? t("rolePublic") : state.role}`;
  $("login").textContent = state.key ? t("signOut") : t("signIn");
  renderLegend();
  renderReview();
  renderFixFirst();
  panelIds().forEach(renderPanelState);
  if (map) map.eachLayer((l) => { if (l.isPopupOpen && l.isPopupOpen()) l.closePopup(); });
}

function setTaskPanels() {
  $("rec-section").hidden = !state.perms.has("recommendations");
  $("patrol-section").hidden = !state.perms.has("patrol");
  $("review-section").hidden = !state.perms.has("review");
  $("ff-section").hidden = !state.perms.has("cpted");
  if (!state.perms.has("cpted")) clearFixFirst();
  if (!state.perms.has("review") && state.review) clearReview();
  if (state.perms.has("patrol")) loadStations();
}

export async function loadCity() {
  state.cityInfo = await fetchJSON(`/cities/${state.city}`);
  $("synthetic-banner").hidden = !state.cityInfo.synthetic; // the demo city's incidents are invented
  clearFixFirst();
  if (state.patrol.date === today()) {  // not chosen by the user yet
    state.patrol.date = today(state.cityInfo.tz);
    if ($("pt-date")) $("pt-date").value = state.patrol.date;
  }
  const d = $("f-district");
  d.innerHTML = "";
  d.append(new Option(t("allDistricts"), ""));
  state.cityInfo.districts.forEach((x) => d.append(new Option(x["name_" + state.lang], x.district)));
  const c = state.cityInfo.center;
  map.fitBounds([[state.cityInfo.bbox[1], state.cityInfo.bbox[0]], [state.cityInfo.bbox[3], state.cityInfo.bbox[2]]]);
  if (!c) map.setView([51.13, 71.43], 11);
  await loadBasemap();
}

export async function whoami() {
  let badKey = false;
  try {
    const me = await fetchJSON("/me");
    state.role = me.role; state.perms = new Set(me.permissions);
  } catch (e) {
    // a mistyped, unknown or revoked key: say so where the key was typed (it stays until the next sign-in)
    badKey = !!state.key;
    if (!badKey) status(errorText(e), true);
    state.key = ""; sessionStorage.removeItem("qauipsiz.key");
    state.role = "public"; state.perms = new Set(["public"]);
  }
  for (const id of Array.from(state.active)) {
    const def = LAYERS.find((x) => x.id === id);
    if (!state.perms.has(def.perm)) { state.active.delete(id); hideLayer(id); }
  }
  const restricted = state.perms.has("hotspots");
  if (!state.active.size) {
    LAYERS.forEach((x) => {
      if (x.on && state.perms.has(x.perm) && !(restricted && x.perm === "public")) state.active.add(x.id);
    });
  }
  $("key-msg").hidden = !badKey;
  $("apikey").setAttribute("aria-invalid", badKey ? "true" : "false");
  renderLayerList(); renderExports(); setPublicMode(); setTaskPanels(); applyLanguage();
}
