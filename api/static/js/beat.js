/* The beat panel (issue 17): the district inspector, once signed in, sees their beat's outline on the
   map and its profile — residents, incidents and the monthly trend (an SVG bar chart, no library), top
   places, the social map (bars, schools, gathering places, police) and the blocks to fix first.  Roles
   that see every beat (analyst, commander, admin) pick one from the list.  Texts in the UI language. */
import { map } from "./map.js";
import { state } from "./state.js";
import { $, errorText, esc, fetchJSON, fmt, t } from "./util.js";

const bt = { me: null, beats: null, beat: "", profile: null, lang: null, error: null, seq: 0, layer: null };
const SOCIAL = [["bars", "btBars", "#6a1b9a"], ["schools", "btSchools", "#1565c0"],
  ["gathering", "btGathering", "#2e7d32"], ["police", "btPolice", "#37474f"]];

const canAll = () => state.perms.has("beats");
const canOwn = () => state.perms.has("beat:own");

export function clearBeat() {
  bt.seq++;
  Object.assign(bt, { me: null, beats: null, beat: "", profile: null, lang: null, error: null });
  if (bt.layer) { map.removeLayer(bt.layer); bt.layer = null; }
  state.beat = null;
  if ($("bt-profile")) { $("bt-profile").innerHTML = ""; $("bt-state").textContent = ""; }
}

// called after each sign-in and city change: show the panel to the roles that have beats, load the
// inspector's own beat at once
export async function renderBeatPanel() {
  const sec = $("beat-section");
  if (!sec) return;
  const show = canAll() || canOwn();
  sec.hidden = !show;
  clearBeat();
  if (!show) return;
  const seq = bt.seq;
  try {
    const [me, fc] = await Promise.all([fetchJSON("/me"), fetchJSON(`/cities/${state.city}/beats.geojson`)]);
    if (seq !== bt.seq) return;
    bt.me = me; bt.beats = fc;
    const sel = $("bt-select");
    sel.innerHTML = "";
    fc.features.map((f) => f.properties.beat_id).sort().forEach((id) => sel.append(new Option(id, id)));
    sel.hidden = !canAll();
    bt.beat = canOwn() ? me.beat : (sel.options[0] ? sel.options[0].value : "");
    sel.value = bt.beat;
    if (canOwn() && bt.beat) {  // the inspector's own beat: loaded at once, the panel brought into view
      await loadBeat();
      sec.scrollIntoView({ block: "start" });
    }
  } catch (e) {
    if (seq !== bt.seq) return;
    bt.error = e; renderProfile();
  }
}

async function loadBeat() {
  if (canAll()) bt.beat = $("bt-select").value;
  if (!bt.beat) return;
  const seq = ++bt.seq, lang = state.lang;
  const st = $("bt-state");
  st.dataset.busy = "1"; st.textContent = t("computing"); st.classList.remove("error");
  $("bt-load").disabled = true;
  try {
    const prof = await fetchJSON(`/cities/${state.city}/beats/${encodeURIComponent(bt.beat)}/profile?lang=${lang}`);
    if (seq !== bt.seq) return;
    Object.assign(bt, { profile: prof, lang, error: null });
    drawBeat();
  } catch (e) {
    if (seq !== bt.seq) return;
    Object.assign(bt, { profile: null, error: e });
  } finally {
    if (seq === bt.seq) { st.dataset.busy = ""; $("bt-load").disabled = false; }
  }
  renderProfile();
}

function drawBeat() {
  if (bt.layer) map.removeLayer(bt.layer);
  const f = bt.beats && bt.beats.features.find((x) => x.properties.beat_id === bt.beat);
  const g = L.featureGroup();
  if (f) {
    L.geoJSON(f, { style: () => ({ color: "#0d47a1", weight: 3, dashArray: "6 4", fill: true, fillOpacity: 0.04 }),
      interactive: false }).addTo(g);
  }
  const p = bt.profile;
  for (const [grp, key, color] of SOCIAL) {
    for (const s of (p.social[grp] || { features: [] }).features) {
      L.circleMarker([s.lat, s.lon], { radius: 5, weight: 1, color: "#fff", fillColor: color, fillOpacity: 0.95 })
        .bindPopup(`<b>${esc(t(key))}</b>${s.name ? "<br>" + esc(s.name) : ""}`).addTo(g);
    }
  }
  p.top_places.forEach((pl, i) => {
    L.circleMarker([pl.lat, pl.lon], { radius: 8, weight: 2, color: "#b71c1c", fillColor: "#fff", fillOpacity: 0.7 })
      .bindPopup(`<b>${i + 1}. ${esc(pl.street)}</b><br>${esc(t("btIncidents"))}: ${fmt(pl.n, 0)}`).addTo(g);
  });
  bt.layer = g.addTo(map);
  state.beat = { id: bt.beat, layer: g, outline: f || null }; // what the map shows (tests and printing read it)
  const b = p.bounds;
  if (b && b.length === 4) map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [20, 20], maxZoom: 16 });
}

function trendSvg(trend) {
  if (!trend.length) return "";
  const w = 260, h = 70, max = Math.max(1, ...trend.map((x) => x.n)), bw = w / trend.length;
  const bars = trend.map((x, i) => {
    const bh = Math.round((x.n / max) * (h - 14));
    return `<rect x="${(i * bw + 1).toFixed(1)}" y="${h - 12 - bh}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${bh}" `
      + `fill="#1565c0"><title>${esc(x.month)}: ${x.n}</title></rect>`;
  }).join("");
  const first = trend[0].month, last = trend[trend.length - 1].month;
  return `<svg id="bt-trend" viewBox="0 0 ${w} ${h}" width="100%" role="img" aria-label="${esc(t("btTrend"))}">${bars}`
    + `<text x="0" y="${h - 1}" font-size="9">${esc(first)}</text>`
    + `<text x="${w}" y="${h - 1}" font-size="9" text-anchor="end">${esc(last)}</text>`
    + `<text x="${w}" y="9" font-size="9" text-anchor="end">max ${max}</text></svg>`;
}

export function renderProfile() {
  const box = $("bt-profile"), st = $("bt-state");
  if (!box || st.dataset.busy === "1") return;
  st.classList.toggle("error", !!bt.error);
  st.textContent = bt.error ? errorText(bt.error) : "";
  const p = bt.profile;
  if (!p) { box.innerHTML = ""; return; }
  if (bt.lang !== state.lang) { loadBeat(); return; } // the profile's texts come in the UI language
  const num = (v, d = 0) => (v === null || v === undefined ? "—" : fmt(v, d));
  let html = `<div class="bt-head" data-beat="${esc(p.beat)}"><b>${esc(p.beat)}</b>`
    + `<br>${esc(t("btResidents"))}: <b>${num(p.residents)}</b> · ${esc(t("btArea"))}: ${num(p.area_km2, 2)} ${esc(t("btKm2"))}`
    + `<br>${esc(t("btIncidents"))}: <b id="bt-n">${num(p.incidents)}</b> · ${num(p.per_1000_residents, 1)} ${esc(t("btPer1000"))}</div>`
    + `<div class="sub">${esc(t("btPopSource"))}: ${esc(p.population_source)}</div>`;
  html += `<h3>${esc(t("btTrend"))}</h3>${trendSvg(p.trend) || esc(t("btNone"))}`;
  html += `<h3>${esc(t("btTopPlaces"))}</h3>`;
  html += p.top_places.length
    ? `<ol id="bt-places">${p.top_places.map((x) => `<li>${esc(x.street)} — ${fmt(x.n, 0)}</li>`).join("")}</ol>`
    : esc(t("btNone"));
  html += `<h3>${esc(t("btSocial"))}</h3><ul id="bt-social">`
    + SOCIAL.map(([grp, key]) => {
      const s = p.social[grp] || { n: 0, absent_layers: [] };
      const none = !s.n && s.absent_layers.length ? ` (${esc(t("btNoLayer"))})` : "";
      return `<li data-group="${grp}">${esc(t(key))}: ${fmt(s.n, 0)}${none}</li>`;
    }).join("") + "</ul>";
  html += `<h3>${esc(t("btFixFirst"))}</h3>`;
  html += p.fix_first.length
    ? `<table class="ff" id="bt-ff"><tr><th>№</th><th>${esc(t("street"))}</th><th>${esc(t("score"))}</th><th>${esc(t("cp_fixes"))}</th></tr>`
      + p.fix_first.map((r) => `<tr><td>${esc(r.priority_rank)}</td><td>${esc(r.street || "—")}</td><td>${fmt(r.score, 0)}</td>`
        + `<td>${esc(r["fix_1_" + bt.lang] || "")}</td></tr>`).join("") + "</table>"
    : esc(t("btNone"));
  box.innerHTML = html;
}

export function initBeatPanel() {
  if (!$("bt-load")) return;
  $("bt-load").addEventListener("click", loadBeat);
  $("bt-select").addEventListener("change", loadBeat);
}
