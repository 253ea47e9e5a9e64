/* The recommended-sites panel: the budget form, the "recommended" layer and the ranked site list. */
import { REC_KINDS } from "./config.js";
import { activate, registerLoader, registerPanel, showLayer } from "./layers.js";
import { map } from "./map.js";
import { state } from "./state.js";
import { $, esc, fetchJSON, fmt, pct, rows, t } from "./util.js";

registerLoader("recommended", async () => {
  const groups = L.layerGroup();
  const kinds = REC_KINDS.map(([k]) => k);
  const budget = Object.assign({}, state.budget);
  const fcs = await Promise.all(kinds.map((kind) =>
    fetchJSON(`/cities/${state.city}/recommendations/${kind}.geojson?n=${budget[kind]}`)));
  const meta = { budget, kinds: {} };
  fcs.forEach((fc, i) => {
    const [kind, color, label] = REC_KINDS[i];
    const markers = [];
    const g = L.geoJSON(fc, {
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: f.properties.rank <= 3 ? 9 : 7, color: "#000", weight: 1,
        fillColor: color, fillOpacity: 0.9 }),
      onEachFeature: (f, l) => {
        markers.push(l);
        l.bindPopup(() => {
          const p = f.properties;
          return `<b>${esc(t(label))} — ${esc(t("rank"))} ${esc(p.rank)}</b>` + rows([
            [t("gain"), fmt(p.marginal_gain)], [t("gainShare"), pct(p.marginal_share)],
            [t("cumulative"), pct(p.cumulative_coverage)], [t("street"), p.street || p.name || "—"]])
            + `<p class="reason">${esc(p["reason_" + state.lang] || p.reason || "")}</p>`;
        });
      },
    }).addTo(groups);
    meta.kinds[kind] = { layer: g, markers, sites: fc.features.map((f) => f.properties), summary: fc.meta || {} };
  });
  state.meta.recommended = meta;
  return groups;
});

registerPanel("recommended", {
  state: "rec-state", button: "rec-apply",
  always: () => renderRecList(),
  summary: (m) => REC_KINDS.map(([k, , lab]) => `${t(lab)}: ${(m.kinds[k] || { sites: [] }).sites.length}`).join(" · "),
});

function renderRecList() {
  const box = $("rec-list");
  const m = state.meta.recommended;
  if (!state.layers.recommended || !m) { box.innerHTML = ""; return; }
  const open = new Set(Array.from(box.querySelectorAll("details[open]")).map((d) => d.dataset.kind));
  let html = "";
  for (const [kind, color, lab] of REC_KINDS) {
    const k = m.kinds[kind];
    if (!k) continue;
    const last = k.sites.length ? k.sites[k.sites.length - 1] : null;
    html += `<details class="rec" data-kind="${kind}"${open.has(kind) ? " open" : ""}><summary><i style="background:${color}"></i>${esc(t(lab))}: `
      + `${k.sites.length} · ${esc(t("cumulative"))} ${pct(last ? last.cumulative_coverage : null)}</summary>`
      + `<table class="rec-sites"><tr><th>${esc(t("rank"))}</th><th>${esc(t("street"))}</th><th>${esc(t("gain"))}</th>`
      + `<th>%</th></tr>`
      + k.sites.map((p, i) => `<tr data-kind="${kind}" data-i="${i}" data-rank="${esc(p.rank)}"><td>${esc(p.rank)}</td>`
        + `<td>${esc(p.street || p.name || "")}</td><td>${fmt(p.marginal_gain)}</td><td>${fmt(100 * p.marginal_share, 1)}</td></tr>`).join("")
      + "</table></details>";
  }
  box.innerHTML = html;
}

function readBudget() {
  const out = {};
  for (const [kind] of REC_KINDS) {
    const el = $("rec-n-" + kind);
    const v = Number(el.value);
    if (!el.value || !Number.isInteger(v) || v < 1 || v > 200) {
      el.setAttribute("aria-invalid", "true");
      throw new Error(t("budgetInvalid"));
    }
    el.removeAttribute("aria-invalid");
    out[kind] = v;
  }
  return out;
}

export function initRecommendPanel() {
  // the budget applies on submit only (button or Enter): no request per keystroke
  $("rec-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    try { state.budget = readBudget(); } catch (e) { $("rec-state").textContent = e.message; $("rec-state").classList.add("error"); return; }
    activate("recommended"); showLayer("recommended");
  });
  $("rec-list").addEventListener("click", (ev) => {
    const tr = ev.target.closest("tr[data-i]");
    const m = state.meta.recommended;
    if (!tr || !m || !m.kinds[tr.dataset.kind]) return;
    const mk = m.kinds[tr.dataset.kind].markers[Number(tr.dataset.i)];
    if (mk) { map.setView(mk.getLatLng(), Math.max(map.getZoom(), 15)); mk.openPopup(); }
  });
}
