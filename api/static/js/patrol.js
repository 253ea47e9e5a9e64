/* The patrol panel: shift controls, the "patrol" layer (routes and stops) and printable route cards. */
import { PATROL } from "./config.js";
import { activate, registerLoader, registerPanel, showLayer } from "./layers.js";
import { map } from "./map.js";
import { pad2, state } from "./state.js";
import { $, errorText, fetchJSON, fetchRaw, fmt, openDocument, qs, rows, t } from "./util.js";

function shiftText(p) { return `${p.date} ${pad2(p.start)}:00/${pad2(p.end)}:00`; }
function patrolQuery(p) {
  const q = new URLSearchParams();
  q.set("shift", shiftText(p)); q.set("units", p.units); q.set("mode", p.mode); q.set("station", p.station);
  q.set("visits", p.visits);
  return q;
}

registerLoader("patrol", async () => {
  const plan = Object.assign({}, state.patrol);
  const fc = await fetchJSON(`/cities/${state.city}/patrol-plans.geojson${qs(patrolQuery(plan))}`);
  const hhmm = (v) => (v ? String(v).slice(11, 16) : "—");
  const units = [...new Set(fc.features.filter((f) => f.properties.feature === "route").map((f) => Number(f.properties.unit)))];
  const stops = fc.features.filter((f) => f.properties.feature === "stop" && f.properties.kind !== "depot").length;
  state.meta.patrol = { units: units.sort((a, b) => a - b), stops, plan,
    dropped: ((fc.meta || {}).dropped || []).length };
  return L.geoJSON(fc, {
    style: (f) => ({ color: PATROL[(Number(f.properties.unit) || 0) % PATROL.length], weight: 4, opacity: 0.85 }),
    pointToLayer: (f, ll) => L.circleMarker(ll, { radius: f.properties.kind === "depot" ? 8 : 5, weight: 2,
      color: PATROL[(Number(f.properties.unit) || 0) % PATROL.length],
      fillColor: f.properties.kind === "depot" ? "#000000" : "#ffffff", fillOpacity: 1 }),
    onEachFeature: (f, l) => l.bindPopup(() => {
      const p = f.properties;
      if (p.feature === "route") {
        return rows([[t("route"), p.unit], ["min", fmt(p.minutes, 0)], ["m", fmt(p.distance_m, 0)]]);
      }
      return rows([[t("route"), p.unit], ["#", p.seq], [t("cell"), p.h3], ["→", hhmm(p.arrive)],
        ["←", hhmm(p.depart)], ["min", fmt(p.dwell_min, 0)]]
        .concat(p.visit > 0 && state.meta.patrol.plan.visits > 1 ? [[t("visit"), p.visit]] : []));
    }),
  });
});

registerPanel("patrol", {
  state: "pt-state", button: "pt-apply",
  always: (el) => { $("pt-cards").disabled = el.dataset.busy === "1" || !state.layers.patrol; }, // cards of the plan shown
  summary: (m) => {
    renderUnitSelect();
    return t("patrolSummary").replace("{units}", m.units.length).replace("{stops}", m.stops)
      + (m.dropped ? " · " + t("patrolDropped").replace("{n}", m.dropped) : "");
  },
});

function buildPatrolControls() {
  const s = $("pt-start"), e = $("pt-end");
  for (let h = 0; h < 24; h++) {
    s.append(new Option(pad2(h) + ":00", h));
    e.append(new Option(pad2(h) + ":00", h));
  }
  const p = state.patrol;
  $("pt-date").value = p.date; s.value = p.start; e.value = p.end;
  $("pt-units").value = p.units; $("pt-mode").value = p.mode; $("pt-visits").value = p.visits;
}

function readPatrol() {
  const date = $("pt-date").value, start = Number($("pt-start").value), end = Number($("pt-end").value);
  const units = Number($("pt-units").value);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error(t("shiftInvalid"));
  if (start === end) throw new Error(t("shiftInvalid"));
  if (!Number.isInteger(units) || units < 1 || units > 20) {
    $("pt-units").setAttribute("aria-invalid", "true");
    throw new Error(t("unitsInvalid"));
  }
  $("pt-units").removeAttribute("aria-invalid");
  return { date, start, end, units, mode: $("pt-mode").value, station: Number($("pt-station").value || 0),
           visits: Number($("pt-visits").value || 1) };
}

export async function loadStations() {
  const sel = $("pt-station");
  sel.innerHTML = "";
  try {
    const fc = await fetchJSON(`/cities/${state.city}/layers/police_stations.geojson`);
    fc.features.forEach((f, i) => sel.append(new Option(f.properties.name || `${t("depot")} ${i + 1}`, i)));
  } catch (e) {
    sel.append(new Option(`${t("depot")} 1`, 0));
  }
  sel.prepend(new Option(t("depotAuto"), -1)); sel.value = String(state.patrol.station < 0 ? -1 : Math.min(state.patrol.station, sel.options.length - 2));
}

function renderUnitSelect() {
  const sel = $("pt-unit");
  const m = state.meta.patrol;
  const keep = sel.value;
  sel.innerHTML = "";
  sel.append(new Option(t("allUnits"), ""));
  ((m && m.units) || []).forEach((u) => sel.append(new Option(`${t("route")} ${u}`, u)));
  if (Array.from(sel.options).some((o) => o.value === keep)) sel.value = keep;
}

async function printCards() {
  // the cards of the plan on the map (same parameters, so the server reuses its computation)
  const q = patrolQuery(state.patrol);
  if ($("pt-unit").value) q.set("unit", $("pt-unit").value);
  q.set("lang", state.lang); // the print button's language
  try {
    await openDocument(() => fetchRaw(`/cities/${state.city}/patrol-cards.html${qs(q)}`),
      `${state.city}_route_cards_${state.patrol.date}.html`);
  } catch (e) {
    const el = $("pt-state");
    el.textContent = `${t("printCards")}: ${errorText(e)}`;
    el.classList.add("error");
  }
}

export function initPatrolPanel() {
  buildPatrolControls();
  // the shift applies on submit only (button or Enter): no request per keystroke
  $("patrol-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    try { state.patrol = readPatrol(); } catch (e) { $("pt-state").textContent = e.message; $("pt-state").classList.add("error"); return; }
    activate("patrol");
    showLayer("patrol").then(() => { // show the plan just computed
      const l = state.layers.patrol;
      if (l && l.getBounds && l.getBounds().isValid()) map.fitBounds(l.getBounds(), { padding: [30, 30], maxZoom: 16 });
    });
  });
  $("pt-cards").addEventListener("click", printCards);
}
