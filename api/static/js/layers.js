/* Loading map layers: a registry of loaders (one per layer id, registered by the module that owns the
   layer), showing / hiding a layer, and the busy state of the panels whose layer is a heavy computation. */
import { hideLayer, map } from "./map.js";
import { renderLegend } from "./legend.js";
import { state } from "./state.js";
import { $, errorText, status, t } from "./util.js";

// id → async () => Leaflet layer
const LOADERS = {};
export function registerLoader(id, load) { LOADERS[id] = load; }

// layers whose loading is a heavy computation: their panel shows "computing…" and their apply button
// is disabled until the answer is in.  id → {state, button, always(el), summary(meta)}
const PANELS = {};
export function registerPanel(id, panel) { PANELS[id] = panel; }
export const hasPanel = (id) => Object.prototype.hasOwnProperty.call(PANELS, id);
export const panelIds = () => Object.keys(PANELS);

export async function showLayer(id) {
  const seq = (state.seq[id] = (state.seq[id] || 0) + 1); // a newer load of the same layer wins
  hideLayer(id);
  delete state.errors[id];
  status(t("loading"));
  setBusy(id, true);
  try {
    const layer = await LOADERS[id]();
    if (seq !== state.seq[id]) return;
    status("");
    if (!state.active.has(id)) return;
    hideLayer(id);
    state.layers[id] = layer.addTo(map);
  } catch (e) {
    if (seq !== state.seq[id]) return;
    state.errors[id] = e; // shown through errorText: in the UI language, by its code
    if (e.code === "too-few-incidents") status(t("noMatch"), true);
    else status(`${t("layer_" + id)}: ${t("unavailable")} — ${errorText(e)}`, true);
  } finally {
    if (seq === state.seq[id]) setBusy(id, false);
  }
  renderLegend();
}

export function reloadActive() { for (const id of Array.from(state.active)) showLayer(id); }

export function activate(id) {
  state.active.add(id);
  const cb = $("layer-" + id);
  if (cb) cb.checked = true;
  document.dispatchEvent(new CustomEvent("qauipsiz:layers")); // the exports panel follows the layers on the map
}

function setBusy(id, on) {
  const b = PANELS[id];
  if (!b) return;
  $(b.button).disabled = on;
  $(b.state).dataset.busy = on ? "1" : "";
  renderPanelState(id);
}

export function renderPanelState(id) {
  const b = PANELS[id];
  const el = $(b.state);
  el.classList.remove("error");
  b.always(el);
  if (el.dataset.busy === "1") { el.textContent = t("computing"); return; }
  if (state.errors[id]) { el.textContent = errorText(state.errors[id]); el.classList.add("error"); return; }
  const m = state.meta[id];
  if (!state.layers[id] || !m) { el.textContent = ""; return; }
  el.textContent = b.summary(m);
}
