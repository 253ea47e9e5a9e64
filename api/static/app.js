/* qauipsiz dashboard: vanilla JS over the vendored Leaflet. No CDN, no build step. */
(function () {
  "use strict";
  const CFG = window.QAUIPSIZ_CONFIG || { api: "/api/v1", city: "astana", tileUrl: "" };
  const I18N = window.QAUIPSIZ_I18N;
  const API = CFG.api;
  const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  const GI = [ // Esri's Hot Spot Analysis colours, bins +3..-3
    [3, "#d62f27", "hot99"], [2, "#ed7551", "hot95"], [1, "#fab984", "hot90"], [0, "#f7f7f2", "notSig"],
    [-1, "#c0ccbe", "cold90"], [-2, "#849eba", "cold95"], [-3, "#4575b5", "cold99"]];
  const SEQ = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"]; // public rates / counts
  const PATROL = ["#2e7d32", "#6a1b9a", "#00838f", "#ef6c00", "#37474f", "#ad1457"];
  const SCORE = ["#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641"]; // CPTED 0..100, low = bad
  const REC_KINDS = [["cameras", "#8e24aa", "recCameras"], ["sos", "#d81b60", "recSos"], ["posts", "#00695c", "recPosts"]];
  const DESIGN_STYLE = { // design review: features by their `kind`
    site: { color: "#0f3b5f", weight: 2, dashArray: "5 4", fill: false },
    building: { color: "#455a64", weight: 1, fillColor: "#b0bec5", fillOpacity: 0.7 },
    playground: { color: "#2e7d32", weight: 1, fillColor: "#a5d6a7", fillOpacity: 0.6 },
    parking: { color: "#546e7a", weight: 1, fillColor: "#cfd8dc", fillOpacity: 0.6 },
    path: { color: "#8d6e63", weight: 3, dashArray: "2 4" },
    fence: { color: "#6d4c41", weight: 2 },
  };
  const DESIGN_POINT = { lamp: "#f9a825", camera: "#1565c0", entrance: "#212121" };
  const FAIL_COLOR = "#e53935";

  const LAYERS = [
    { id: "public", perm: "public", on: true },
    { id: "publicCells", perm: "public", on: false },
    { id: "heat", perm: "hotspots", on: true },
    { id: "hexagons", perm: "hotspots", on: false },
    { id: "cpted", perm: "cpted", on: false },
    { id: "lamps", perm: "layers", on: false },
    { id: "cameras", perm: "layers", on: false },
    { id: "sos", perm: "layers", on: false },
    { id: "recommended", perm: "recommendations", on: false },
    { id: "patrol", perm: "patrol", on: false },
  ];

  const pad2 = (h) => String(h).padStart(2, "0");
  // today's date in the city's time zone (the shift is local to the city, not to the browser)
  function today(tz) {
    return new Intl.DateTimeFormat("en-CA", { timeZone: tz || undefined, year: "numeric", month: "2-digit",
                                              day: "2-digit" }).format(new Date());
  }

  const state = {
    lang: localStorage.getItem("qauipsiz.lang") || "ru",
    key: sessionStorage.getItem("qauipsiz.key") || "",
    role: "public", perms: new Set(["public"]), city: CFG.city, cityInfo: null,
    active: new Set(), layers: {}, meta: {}, errors: {}, categories: [], minPublic: 5, seq: {},
    // budget (sites per kind) of the recommendations layer, and the shift of the patrol layer: what the map shows
    budget: { cameras: 20, sos: 20, posts: 20 },
    patrol: { date: today(), start: 18, end: 2, units: 4, mode: "drive", station: 0, visits: 1 },
    review: null, // {file, design, result, layer, failLayers, error}
  };

  // ------------------------------------------------------------------ helpers
  const $ = (id) => document.getElementById(id);
  const t = (k) => (I18N[state.lang] && I18N[state.lang][k]) || I18N.en[k] || k;
  const esc = (s) => String(s === null || s === undefined ? "—" : s).replace(/[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const fmt = (v, d) => (v === null || v === undefined) ? "—" : (typeof v === "number" ? v.toLocaleString(state.lang === "en" ? "en" : "ru", { maximumFractionDigits: d === undefined ? 2 : d }) : v);

  function headers() { return state.key ? { "X-API-Key": state.key } : {}; }

  async function fetchRaw(path, opts) {
    const r = await fetch(API + path, Object.assign({}, opts || {}, { headers: headers() }));
    if (!r.ok) {
      let detail = r.statusText;
      try { const p = await r.json(); detail = p.detail || p.title || detail; } catch (e) { /* not JSON */ }
      const err = new Error(detail); err.status = r.status; throw err;
    }
    return r;
  }
  async function fetchJSON(path) { return (await fetchRaw(path)).json(); }

  // Open a document the API returns only with the key header: fetched as a blob, shown in a new tab
  // (opened at the click, so popup blockers allow it), downloaded when the tab cannot be opened.
  async function openDocument(getResponse, filename) {
    const w = window.open("", "_blank");
    if (w && w.document) {
      w.document.title = t("computing");
      if (w.document.body) w.document.body.textContent = t("computing");
    }
    try {
      const blob = await (await getResponse()).blob();
      const url = URL.createObjectURL(blob);
      if (w && !w.closed) { w.location.href = url; }
      else {
        const a = document.createElement("a");
        a.href = url; a.download = filename;
        document.body.appendChild(a); a.click(); a.remove();
      }
      setTimeout(() => URL.revokeObjectURL(url), 120000);
    } catch (e) {
      if (w && !w.closed) w.close();
      throw e;
    }
  }

  function status(msg, isError) {
    const el = $("status");
    el.textContent = msg || "";
    el.className = isError ? "error" : "";
    el.style.display = msg ? "block" : "none";
  }

  // ------------------------------------------------------------------ filters
  function filterQuery(forPublic) {
    const q = new URLSearchParams();
    const cats = Array.from($("f-category").selectedOptions).map((o) => o.value);
    cats.forEach((c) => q.append("category", c));
    if (forPublic) return q;
    if ($("f-start").value) q.set("start", $("f-start").value);
    if ($("f-end").value) q.set("end", $("f-end").value);
    const hf = $("f-hour-from").value, ht = $("f-hour-to").value;
    if (hf !== "" && ht !== "" && hf !== ht) q.set("hours", hf + "-" + ht);
    const wd = Array.from(document.querySelectorAll("#f-weekdays input:checked")).map((i) => i.value);
    if (wd.length && wd.length < 7) wd.forEach((d) => q.append("weekdays", d));
    const light = document.querySelector("#f-light input:checked").value;
    if (light !== "any") q.set("light", light);
    if ($("f-district").value) q.set("district", $("f-district").value);
    return q;
  }
  const qs = (q) => { const s = q.toString(); return s ? "?" + s : ""; };

  // ------------------------------------------------------------------ map
  const map = L.map("map", { preferCanvas: true, zoomControl: true, attributionControl: true });
  const canvas = L.canvas({ padding: 0.3 });
  map.createPane("basemap"); map.getPane("basemap").style.zIndex = 250;
  map.createPane("heat"); map.getPane("heat").style.zIndex = 350;
  map.attributionControl.setPrefix("Leaflet");
  let basemap = null;

  async function loadBasemap() {
    if (basemap) { map.removeLayer(basemap); }
    basemap = L.layerGroup();
    if (CFG.tileUrl) {
      L.tileLayer(CFG.tileUrl, { maxZoom: 19, attribution: "basemap: QAUIPSIZ_TILE_URL" }).addTo(basemap);
    }
    const city = state.city;
    try {
      const streets = await fetchJSON(`/cities/${city}/streets.geojson`);
      L.geoJSON(streets, { pane: "basemap", renderer: canvas, interactive: false,
        style: { color: "#9aa3ad", weight: 1, opacity: 0.8 } }).addTo(basemap);
    } catch (e) { /* a city without shipped streets: districts only */ }
    const d = await fetchJSON(`/cities/${city}/districts.geojson`);
    L.geoJSON(d, { pane: "basemap", interactive: false,
      style: { color: "#37474f", weight: 2, fill: false, dashArray: "6 4" } }).addTo(basemap);
    basemap.addTo(map);
    map.attributionControl.addAttribution("© OpenStreetMap contributors");
  }

  // heat tiles need the API key header, so tiles are fetched and shown as blob URLs
  const AuthTiles = L.GridLayer.extend({
    initialize: function (url, opts) { this._url = url; L.GridLayer.prototype.initialize.call(this, opts); },
    createTile: function (coords, done) {
      const img = document.createElement("img");
      img.alt = ""; img.setAttribute("role", "presentation");
      const url = this._url.replace("{z}", coords.z).replace("{x}", coords.x).replace("{y}", coords.y);
      fetch(url, { headers: headers() }).then((r) => {
        if (!r.ok) throw new Error("tile " + r.status);
        return r.blob();
      }).then((b) => {
        img.onload = () => { URL.revokeObjectURL(img.src); done(null, img); };
        img.src = URL.createObjectURL(b);
      }).catch((e) => done(e, img));
      return img;
    },
  });

  // ------------------------------------------------------------------ popups
  function rows(pairs) {
    return "<table class='pp'>" + pairs.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("") + "</table>";
  }
  function districtName(p) { return p["name_" + state.lang] || p.name_en || p.district; }
  function giKey(bin) { const g = GI.find((x) => x[0] === bin); return g ? g[2] : "notSig"; }
  function giColor(bin) { const g = GI.find((x) => x[0] === bin); return g ? g[1] : "#f7f7f2"; }
  function ramp(colors, v, vmax) {
    if (v === null || v === undefined || !(vmax > 0)) return "#cccccc";
    return colors[Math.min(colors.length - 1, Math.floor((v / vmax) * colors.length))];
  }

  // ------------------------------------------------------------------ layer loaders
  const LOADERS = {
    public: async () => {
      const fc = await fetchJSON(`/public/cities/${state.city}/districts.geojson${qs(filterQuery(true))}`);
      const rates = fc.features.map((f) => f.properties.rate_per_1000).filter((v) => v !== null);
      const vmax = rates.length ? Math.max(...rates) * 1.0001 : 0;
      state.meta.public = { vmax };
      return L.geoJSON(fc, {
        style: (f) => ({ color: "#455a64", weight: 1, fillOpacity: 0.55,
          fillColor: f.properties.suppressed ? "#dddddd" : ramp(SEQ, f.properties.rate_per_1000, vmax) }),
        onEachFeature: (f, l) => l.bindPopup(() => {
          const p = f.properties;
          return `<b>${esc(districtName(p))}</b>` + rows([
            [t("count"), p.suppressed ? t("suppressed").replace("{k}", state.minPublic) : fmt(p.count, 0)],
            [t("population"), fmt(p.population, 0)], [t("ratePer1000"), fmt(p.rate_per_1000)],
            [t("darkShare"), p.dark_share === null ? "—" : fmt(100 * p.dark_share, 1) + " %"]]);
        }),
      });
    },
    publicCells: async () => {
      const fc = await fetchJSON(`/public/cities/${state.city}/cells.geojson${qs(filterQuery(true))}`);
      const counts = fc.features.map((f) => f.properties.count).filter((v) => v !== null);
      const vmax = counts.length ? Math.max(...counts) * 1.0001 : 0;
      state.meta.publicCells = { vmax };
      return L.geoJSON(fc, {
        style: (f) => ({ color: "#6d4c41", weight: 0.6, fillOpacity: 0.5,
          fillColor: f.properties.suppressed ? "#dddddd" : ramp(SEQ, f.properties.count, vmax) }),
        onEachFeature: (f, l) => l.bindPopup(() => rows([[t("cell"), f.properties.h3],
          [t("count"), f.properties.suppressed ? t("suppressed").replace("{k}", state.minPublic) : fmt(f.properties.count, 0)]])),
      });
    },
    heat: async () => {
      const q = filterQuery(false);
      const legend = await fetchJSON(`/cities/${state.city}/heat/legend${qs(q)}`);
      state.meta.heat = legend;
      return new AuthTiles(`${API}/cities/${state.city}/heat/{z}/{x}/{y}.png${qs(q)}`,
        { pane: "heat", opacity: 0.85, maxZoom: 19 });
    },
    hexagons: async () => {
      const fc = await fetchJSON(`/cities/${state.city}/hotspots.geojson${qs(filterQuery(false))}`);
      state.meta.hexagons = fc.meta || {};
      return L.geoJSON(fc, {
        renderer: canvas,
        style: (f) => ({ color: "#666", weight: 0.3, fillOpacity: f.properties.gi_bin === 0 ? 0.15 : 0.7,
          fillColor: giColor(f.properties.gi_bin) }),
        onEachFeature: (f, l) => l.bindPopup(() => {
          const p = f.properties;
          return rows([[t("cell"), p.h3], [t("count"), fmt(p.count, 0)], [t("density"), fmt(p.density)],
            [t("giZ"), fmt(p.gi_z)], [t("giP"), fmt(p.gi_p, 4)], [t("giClass"), t(giKey(p.gi_bin))]]);
        }),
      });
    },
    cpted: async () => {
      const fc = await fetchJSON(`/cities/${state.city}/cpted/blocks.geojson`);
      return L.geoJSON(fc, {
        renderer: canvas,
        style: (f) => ({ color: "#555", weight: 0.4, fillOpacity: 0.6, fillColor: ramp(SCORE, f.properties.score, 100.0001) }),
        onEachFeature: (f, l) => l.bindPopup(() => rows(Object.entries(f.properties)
          .filter(([, v]) => typeof v !== "object").map(([k, v]) => [k === "score" ? t("score") : k, fmt(v)]))),
      });
    },
    lamps: () => pointLayer("lamps", (p) => p.working === false ? "#9e9e9e" : "#f9a825",
      (p) => [["id", p.lamp_id], [t("working"), p.working ? "✓" : "✗"], ["lm", p.flux_lm]]),
    cameras: () => pointLayer("cameras", (p) => p.status === "broken" ? "#9e9e9e" : "#1565c0",
      (p) => [["id", p.camera_id], [t("working"), p.status === "broken" ? t("broken") : t("working")], ["°", p.bearing_deg]]),
    sos: () => pointLayer("sos_buttons", () => "#c62828", (p) => [["id", p.sos_id], ["status", p.status]]),
    recommended: async () => {
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
    },
    patrol: async () => {
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
    },
  };

  const pct = (v) => (v === null || v === undefined ? "—" : fmt(100 * v, 1) + " %");

  function shiftText(p) { return `${p.date} ${pad2(p.start)}:00/${pad2(p.end)}:00`; }
  function patrolQuery(p) {
    const q = new URLSearchParams();
    q.set("shift", shiftText(p)); q.set("units", p.units); q.set("mode", p.mode); q.set("station", p.station);
    q.set("visits", p.visits);
    return q;
  }

  async function pointLayer(name, color, popup) {
    const fc = await fetchJSON(`/cities/${state.city}/layers/${name}.geojson`);
    return L.geoJSON(fc, {
      pointToLayer: (f, ll) => L.circleMarker(ll, { renderer: canvas, radius: 3, weight: 0.5, color: "#333",
        fillColor: color(f.properties), fillOpacity: 0.9 }),
      onEachFeature: (f, l) => l.bindPopup(() => rows(popup(f.properties))),
    });
  }

  async function showLayer(id) {
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
      state.errors[id] = e.status ? `${e.status}: ${e.message}` : e.message;
      status(`${t("layer_" + id)}: ${t("unavailable")} — ${state.errors[id]}`, true);
    } finally {
      if (seq === state.seq[id]) setBusy(id, false);
    }
    renderLegend();
  }

  // layers whose loading is a heavy computation: their panel shows "computing…" and their apply button
  // is disabled until the answer is in
  const BUSY = { recommended: ["rec-state", "rec-apply"], patrol: ["pt-state", "pt-apply"] };
  function setBusy(id, on) {
    const b = BUSY[id];
    if (!b) return;
    $(b[1]).disabled = on;
    $(b[0]).dataset.busy = on ? "1" : "";
    renderPanelState(id);
  }
  function renderPanelState(id) {
    const b = BUSY[id];
    const el = $(b[0]);
    el.classList.remove("error");
    if (id === "recommended") renderRecList();
    if (id === "patrol") $("pt-cards").disabled = el.dataset.busy === "1" || !state.layers.patrol; // cards of the plan shown
    if (el.dataset.busy === "1") { el.textContent = t("computing"); return; }
    if (state.errors[id]) { el.textContent = state.errors[id]; el.classList.add("error"); return; }
    const m = state.meta[id];
    if (!state.layers[id] || !m) { el.textContent = ""; return; }
    if (id === "patrol") {
      renderUnitSelect();
      el.textContent = t("patrolSummary").replace("{units}", m.units.length).replace("{stops}", m.stops)
        + (m.dropped ? " · " + t("patrolDropped").replace("{n}", m.dropped) : "");
    } else {
      el.textContent = REC_KINDS.map(([k, , lab]) => `${t(lab)}: ${(m.kinds[k] || { sites: [] }).sites.length}`).join(" · ");
    }
  }
  function hideLayer(id) {
    if (state.layers[id]) { map.removeLayer(state.layers[id]); delete state.layers[id]; }
  }

  // ------------------------------------------------------------------ recommendations: budget and list
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

  function activate(id) {
    state.active.add(id);
    const cb = $("layer-" + id);
    if (cb) cb.checked = true;
  }

  // ------------------------------------------------------------------ patrol: shift controls, route cards
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

  async function loadStations() {
    const sel = $("pt-station");
    sel.innerHTML = "";
    try {
      const fc = await fetchJSON(`/cities/${state.city}/layers/police_stations.geojson`);
      fc.features.forEach((f, i) => sel.append(new Option(f.properties.name || `${t("depot")} ${i + 1}`, i)));
    } catch (e) {
      sel.append(new Option(`${t("depot")} 1`, 0));
    }
    sel.value = String(Math.min(state.patrol.station, Math.max(0, sel.options.length - 1)));
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
    try {
      await openDocument(() => fetchRaw(`/cities/${state.city}/patrol-cards.html${qs(q)}`),
        `${state.city}_route_cards_${state.patrol.date}.html`);
    } catch (e) {
      const el = $("pt-state");
      el.textContent = `${t("printCards")}: ${e.status ? e.status + ": " : ""}${e.message}`;
      el.classList.add("error");
    }
  }

  // ------------------------------------------------------------------ design review
  function reviewState(msg, isError) {
    const el = $("rv-state");
    el.textContent = msg || "";
    el.classList.toggle("error", !!isError);
  }

  function clearReview() {
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
      state.review.error = `${e.status ? e.status + ": " : ""}${e.message}`;
      reviewState(`${t("reviewFailed")} — ${state.review.error}`, true);
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
          + rows([[t("measured"), measure(r.measured, r.unit)], [t("required"), measure(r.required, r.unit)]])),
      }).addTo(group);
    }
    rv.layer = group.addTo(map);
    const b = group.getBounds();
    if (b.isValid()) map.fitBounds(b, { maxZoom: 18, padding: [20, 20] });
  }

  // a measured or required value with its unit; shares as per cent
  function measure(v, unit) {
    if (v === null || v === undefined) return "—";
    if (unit === "share" && typeof v === "number") return pct(v);
    return `${fmt(v)}${unit ? " " + unit : ""}`;
  }

  const STATUS_KEY = { PASS: "rulePass", FAIL: "ruleFail", NOT_CHECKABLE: "ruleNotCheckable" };
  function renderReview() {
    const box = $("rv-result");
    const rv = state.review;
    if (!rv || !rv.result) { box.innerHTML = ""; return; }
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
        + `<div class="mv">${esc(t("measured"))}: <b>${esc(measure(r.measured, r.unit))}</b> · ${esc(t("required"))}: `
        + `<b>${esc(measure(r.required, r.unit))}</b></div>`
        + `<div class="detail">${esc(r["detail_" + state.lang] || r.detail || "")}</div>`
        + `<div class="src">${esc(t("ruleSource"))}: ${esc(r.source)} <span class="rid">${esc(r.id)}</span></div></li>`;
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
      reviewState(`${t("reviewHtml")}: ${e.status ? e.status + ": " : ""}${e.message}`, true);
    }
  }

  function setTaskPanels() {
    $("rec-section").hidden = !state.perms.has("recommendations");
    $("patrol-section").hidden = !state.perms.has("patrol");
    $("review-section").hidden = !state.perms.has("review");
    if (!state.perms.has("review") && state.review) clearReview();
    if (state.perms.has("patrol")) loadStations();
  }

  // ------------------------------------------------------------------ legend
  const legendCtl = L.control({ position: "bottomright" });
  legendCtl.onAdd = () => { const d = L.DomUtil.create("div", "legend"); d.id = "legend"; L.DomEvent.disableClickPropagation(d); return d; };
  legendCtl.addTo(map);

  function swatch(color, label) { return `<div class="li"><i style="background:${color}"></i>${esc(label)}</div>`; }
  function renderLegend() {
    const el = $("legend");
    let html = `<h3>${esc(t("legend"))}</h3>`;
    for (const L_ of LAYERS) {
      const id = L_.id;
      if (!state.active.has(id)) continue;
      html += `<div class="lg" data-layer="${id}"><h4>${esc(t("layer_" + id))}</h4>`;
      if (state.errors[id]) { html += `<div class="err">${esc(t("unavailable"))}: ${esc(state.errors[id])}</div></div>`; continue; }
      const m = state.meta[id] || {};
      if (id === "heat") {
        const stops = (m.stops || []);
        const grad = stops.map(([, c]) => `rgba(${c[0]},${c[1]},${c[2]},${(c[3] / 255).toFixed(2)})`).join(",");
        html += `<div class="bar" style="background:linear-gradient(to right,${grad})"></div>`
          + `<div class="scale"><span>0</span><span>${esc(t("density"))}</span><span>${fmt(m.vmax, 1)}</span></div>`;
      } else if (id === "hexagons") {
        html += GI.map(([, c, k]) => swatch(c, t(k))).join("");
      } else if (id === "public" || id === "publicCells") {
        const vmax = m.vmax || 0;
        html += `<div class="sub">${esc(id === "public" ? t("ratePer1000") : t("count"))}</div>`;
        html += SEQ.map((c, i) => swatch(c, `${fmt((vmax * i) / SEQ.length, 1)} – ${fmt((vmax * (i + 1)) / SEQ.length, 1)}`)).join("");
        html += swatch("#dddddd", t("suppressed").replace("{k}", state.minPublic));
      } else if (id === "cpted") {
        html += SCORE.map((c, i) => swatch(c, `${i * 20} – ${(i + 1) * 20}`)).join("");
      } else if (id === "lamps") {
        html += swatch("#f9a825", t("working")) + swatch("#9e9e9e", t("broken"));
      } else if (id === "cameras") {
        html += swatch("#1565c0", t("working")) + swatch("#9e9e9e", t("broken"));
      } else if (id === "sos") {
        html += swatch("#c62828", t("layer_sos"));
      } else if (id === "recommended") {
        html += REC_KINDS.map(([k, c, lab]) => swatch(c, `${t(lab)} (${((m.kinds || {})[k] || { sites: [] }).sites.length})`)).join("");
      } else if (id === "patrol") {
        html += (m.units || []).map((u) => swatch(PATROL[u % PATROL.length], `${t("route")} ${u}`)).join("");
      }
      html += "</div>";
    }
    if (state.review && state.review.layer) {
      html += `<div class="lg" data-layer="review"><h4>${esc(t("reviewTitle"))}</h4>`
        + swatch("#0f3b5f", t("reviewDesign")) + swatch(FAIL_COLOR, t("reviewFailing")) + "</div>";
    }
    el.innerHTML = html;
  }

  // ------------------------------------------------------------------ panel
  function renderLayerList() {
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
          if (BUSY[L_.id]) renderPanelState(L_.id);
        }
      });
      const span = document.createElement("span");
      span.dataset.i18n = "layer_" + L_.id; span.textContent = t("layer_" + L_.id);
      lab.append(cb, " ", span);
      box.appendChild(lab);
    }
  }

  function renderExports() {
    const box = $("exports");
    box.innerHTML = "";
    const items = [["exportPublic", "public", () => `/public/cities/${state.city}/districts.geojson${qs(filterQuery(true))}`, "districts.geojson"]];
    if (state.perms.has("hotspots")) {
      items.push(["exportHexagons", "hotspots", () => `/cities/${state.city}/hotspots.geojson${qs(filterQuery(false))}`, "hotspots.geojson"]);
      items.push(["exportTiff", "hotspots", () => `/cities/${state.city}/hotspots.tif${qs(filterQuery(false))}`, "density.tif"]);
    }
    if (state.perms.has("incidents:read")) {
      items.push(["exportIncidents", "incidents:read", () => {
        const q = filterQuery(false); q.set("format", "csv"); q.set("limit", "50000");
        return `/cities/${state.city}/incidents${qs(q)}`;
      }, "incidents.csv"]);
    }
    for (const [k, , path, fname] of items) {
      const b = document.createElement("button");
      b.type = "button"; b.className = "export"; b.dataset.i18n = k; b.textContent = t(k);
      b.addEventListener("click", async () => {
        try {
          const blob = await (await fetchRaw(path())).blob();
          const a = document.createElement("a");
          a.href = URL.createObjectURL(blob); a.download = `${state.city}_${fname}`;
          document.body.appendChild(a); a.click(); a.remove();
          setTimeout(() => URL.revokeObjectURL(a.href), 5000);
        } catch (e) { status(`${t(k)}: ${e.message}`, true); }
      });
      box.appendChild(b);
    }
  }

  function applyLanguage() {
    document.documentElement.lang = state.lang;
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
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
    Object.keys(BUSY).forEach(renderPanelState);
    if (map) map.eachLayer((l) => { if (l.isPopupOpen && l.isPopupOpen()) l.closePopup(); });
  }

  function buildFilterControls() {
    const hf = $("f-hour-from"), ht = $("f-hour-to");
    hf.innerHTML = ht.innerHTML = "";
    hf.append(new Option("—", "")); ht.append(new Option("—", ""));
    for (let h = 0; h < 24; h++) hf.append(new Option(String(h).padStart(2, "0") + ":00", h));
    for (let h = 1; h <= 24; h++) ht.append(new Option(String(h).padStart(2, "0") + ":00", h));
    const wd = $("f-weekdays");
    WEEKDAYS.forEach((d, i) => {
      const lab = document.createElement("label");
      const cb = document.createElement("input"); cb.type = "checkbox"; cb.value = i; cb.checked = true;
      const s = document.createElement("span"); s.dataset.day = d; s.textContent = t(d);
      lab.append(cb, s); wd.appendChild(lab);
    });
  }

  function setPublicMode() {
    const pub = !state.perms.has("hotspots");
    document.querySelectorAll("#filters .row, #f-weekdays, #f-light, #f-district").forEach((el) => {
      const wrap = el.closest("label") && el.id === "f-district" ? el.closest("label") : el;
      wrap.style.display = pub && !el.contains($("apply")) ? "none" : "";
    });
  }

  async function loadCity() {
    state.cityInfo = await fetchJSON(`/cities/${state.city}`);
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

  async function whoami() {
    try {
      const me = await fetchJSON("/me");
      state.role = me.role; state.perms = new Set(me.permissions);
    } catch (e) {
      status(t("badKey") + ": " + e.message, true);
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
    renderLayerList(); renderExports(); setPublicMode(); setTaskPanels(); applyLanguage();
  }

  function reloadActive() { for (const id of Array.from(state.active)) showLayer(id); }

  // ------------------------------------------------------------------ wiring
  async function init() {
    buildFilterControls();
    buildPatrolControls();
    // budgets and shift apply on submit only (button or Enter): no request per keystroke
    $("rec-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      try { state.budget = readBudget(); } catch (e) { $("rec-state").textContent = e.message; $("rec-state").classList.add("error"); return; }
      activate("recommended"); showLayer("recommended");
    });
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
    $("rv-file").addEventListener("change", () => { if ($("rv-file").files.length) runReview(); });
    $("rv-run").addEventListener("click", runReview);
    $("rv-html").addEventListener("click", reviewReport);
    $("rv-clear").addEventListener("click", clearReview);
    $("rec-list").addEventListener("click", (ev) => {
      const tr = ev.target.closest("tr[data-i]");
      const m = state.meta.recommended;
      if (!tr || !m || !m.kinds[tr.dataset.kind]) return;
      const mk = m.kinds[tr.dataset.kind].markers[Number(tr.dataset.i)];
      if (mk) { map.setView(mk.getLatLng(), Math.max(map.getZoom(), 15)); mk.openPopup(); }
    });
    $("rv-result").addEventListener("click", (ev) => {
      const li = ev.target.closest("li.rule.zoom");
      const fl = li && state.review && state.review.failLayers && state.review.failLayers[li.dataset.rule];
      if (!fl) return;
      map.fitBounds(fl.getBounds(), { maxZoom: 19, padding: [30, 30] });
      const first = fl.getLayers()[0];
      if (first) first.openPopup();
    });
    document.querySelectorAll(".lang-btn").forEach((b) => b.addEventListener("click", () => {
      state.lang = b.dataset.lang; localStorage.setItem("qauipsiz.lang", state.lang); applyLanguage();
    }));
    $("filters").addEventListener("submit", (ev) => { ev.preventDefault(); reloadActive(); });
    $("filters").addEventListener("reset", () => setTimeout(reloadActive, 0));
    $("login").addEventListener("click", async () => {
      if (state.key) { state.key = ""; sessionStorage.removeItem("qauipsiz.key"); $("apikey").value = ""; }
      else { state.key = $("apikey").value.trim(); if (state.key) sessionStorage.setItem("qauipsiz.key", state.key); }
      Object.keys(state.layers).forEach(hideLayer);
      state.active.clear();
      await whoami(); reloadActive();
    });
    $("city").addEventListener("change", async () => {
      state.city = $("city").value; Object.keys(state.layers).forEach(hideLayer);
      await loadCity(); if (state.perms.has("patrol")) loadStations();
      reloadActive();
    });
    try {
      const [cfg, cats, cities] = await Promise.all([fetchJSON("/config"), fetchJSON("/categories"), fetchJSON("/cities")]);
      state.minPublic = cfg.min_public_count;
      state.categories = cats; state.cities = cities;
      cats.forEach((c) => $("f-category").append(new Option(c["name_" + state.lang], c.category)));
      cities.forEach((c) => $("city").append(new Option(c["name_" + state.lang], c.city)));
      $("city").value = state.city;
      await loadCity();
    } catch (e) { status(e.message, true); }
    await whoami();
    reloadActive();
    document.body.dataset.ready = "1";
  }

  window.qauipsiz = { state, map, reloadActive, renderLegend, showLayer };
  init();
})();
