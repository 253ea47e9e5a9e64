/* The incident-point layer, for the roles that may read incidents (analyst, commander, admin: permission
   "incidents:read").  It reads GET /cities/{city}/incidents with the map's filter — the restricted, audited
   incident query — capped at CAP points; a box on the map states how many of how many are shown. */
import { registerLoader } from "./layers.js";
import { canvas } from "./map.js";
import { filterQuery } from "./filters.js";
import { state } from "./state.js";
import { esc, fetchRaw, fmt, qs, rows, t } from "./util.js";

export const CAP = 5000;
const COLORS = { violent: "#c62828", property: "#1565c0", other: "#6d4c41" };

function catInfo(k) { return state.categories.find((x) => x.category === k); }
function catColor(k) {
  const c = catInfo(k);
  return !c ? COLORS.other : c.violent ? COLORS.violent : c.property ? COLORS.property : COLORS.other;
}

// a small box on the map with "n of total shown", added and removed with the layer
const NoteCtl = L.Control.extend({
  options: { position: "bottomleft" },
  onAdd() { const d = L.DomUtil.create("div", "inc-note"); d.id = "inc-note"; this._d = d; this.update(); return d; },
  update() {
    if (!this._d) return;
    const m = state.meta.incidents || {};
    let s = t("incShown").replace("{n}", fmt(m.shown || 0, 0)).replace("{total}", fmt(m.total || 0, 0));
    if (m.total > m.shown) s += ` — ${t("incCapped")}`;
    this._d.textContent = s;
    this._d.classList.toggle("capped", m.total > m.shown);
  },
});

function popup(p) {
  const c = catInfo(p.category);
  const when = p.occurred_at ? new Date(p.occurred_at).toLocaleString(state.lang === "en" ? "en-GB" : "ru-RU",
    { timeZone: (state.cityInfo && state.cityInfo.tz) || undefined }) : "—";
  return `<b>${esc(c ? c["name_" + state.lang] : p.category)}</b>` + rows([
    [t("incDate"), when], [t("incAddress"), p.address_raw || "—"],
    [t("incPrecision"), t("prec_" + p.geocode_precision) !== "prec_" + p.geocode_precision ? t("prec_" + p.geocode_precision) : p.geocode_precision]]);
}

registerLoader("incidents", async () => {
  const q = filterQuery(false); q.delete("bandwidth_m");
  q.set("limit", CAP);
  const r = await fetchRaw(`/cities/${state.city}/incidents${qs(q)}`);
  const fc = await r.json();
  const total = Number(r.headers.get("X-Total-Count") || (fc.meta && fc.meta.total) || fc.features.length);
  state.meta.incidents = { shown: fc.features.length, total };
  const note = new NoteCtl();
  const g = L.geoJSON(fc, {
    pointToLayer: (f, ll) => L.circleMarker(ll, { renderer: canvas, radius: 3.5, weight: 0.6, color: "#fff",
      fillColor: catColor(f.properties.category), fillOpacity: 0.85 }),
    onEachFeature: (f, l) => l.bindPopup(() => popup(f.properties)),
  });
  g.on("add", () => note.addTo(g._map)).on("remove", () => note.remove());
  return g;
});
