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

  const state = {
    lang: localStorage.getItem("qauipsiz.lang") || "ru",
    key: sessionStorage.getItem("qauipsiz.key") || "",
    role: "public", perms: new Set(["public"]), city: CFG.city, cityInfo: null,
    active: new Set(), layers: {}, meta: {}, errors: {}, categories: [], minPublic: 5,
  };

  // ------------------------------------------------------------------ helpers
  const $ = (id) => document.getElementById(id);
  const t = (k) => (I18N[state.lang] && I18N[state.lang][k]) || I18N.en[k] || k;
  const esc = (s) => String(s === null || s === undefined ? "—" : s).replace(/[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const fmt = (v, d) => (v === null || v === undefined) ? "—" : (typeof v === "number" ? v.toLocaleString(state.lang === "en" ? "en" : "ru", { maximumFractionDigits: d === undefined ? 2 : d }) : v);

  function headers() { return state.key ? { "X-API-Key": state.key } : {}; }

  async function fetchRaw(path) {
    const r = await fetch(API + path, { headers: headers() });
    if (!r.ok) {
      let detail = r.statusText;
      try { const p = await r.json(); detail = p.detail || p.title || detail; } catch (e) { /* not JSON */ }
      const err = new Error(detail); err.status = r.status; throw err;
    }
    return r;
  }
  async function fetchJSON(path) { return (await fetchRaw(path)).json(); }

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
      for (const kind of ["cameras", "sos", "posts"]) {
        const fc = await fetchJSON(`/cities/${state.city}/recommendations/${kind}.geojson`);
        L.geoJSON(fc, {
          pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 7, color: "#000", weight: 1, fillColor: "#8e24aa", fillOpacity: 0.9 }),
          onEachFeature: (f, l) => l.bindPopup(() => rows([[t("rank"), f.properties.rank], [t("gain"), fmt(f.properties.marginal_gain)], ["", kind]])),
        }).addTo(groups);
      }
      return groups;
    },
    patrol: async () => {
      const fc = await fetchJSON(`/cities/${state.city}/patrol-plans.geojson`);
      const hhmm = (v) => (v ? String(v).slice(11, 16) : "—");
      const units = [...new Set(fc.features.filter((f) => f.properties.feature === "route").map((f) => Number(f.properties.unit)))];
      state.meta.patrol = { units: units.sort((a, b) => a - b) };
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
            ["←", hhmm(p.depart)], ["min", fmt(p.dwell_min, 0)]]);
        }),
      });
    },
  };

  async function pointLayer(name, color, popup) {
    const fc = await fetchJSON(`/cities/${state.city}/layers/${name}.geojson`);
    return L.geoJSON(fc, {
      pointToLayer: (f, ll) => L.circleMarker(ll, { renderer: canvas, radius: 3, weight: 0.5, color: "#333",
        fillColor: color(f.properties), fillOpacity: 0.9 }),
      onEachFeature: (f, l) => l.bindPopup(() => rows(popup(f.properties))),
    });
  }

  async function showLayer(id) {
    hideLayer(id);
    delete state.errors[id];
    status(t("loading"));
    try {
      const layer = await LOADERS[id]();
      if (!state.active.has(id)) return;
      state.layers[id] = layer.addTo(map);
      status("");
    } catch (e) {
      state.errors[id] = e.status ? `${e.status}: ${e.message}` : e.message;
      status(`${t("layer_" + id)}: ${t("unavailable")} — ${state.errors[id]}`, true);
    }
    renderLegend();
  }
  function hideLayer(id) {
    if (state.layers[id]) { map.removeLayer(state.layers[id]); delete state.layers[id]; }
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
        html += swatch("#8e24aa", t("gain"));
      } else if (id === "patrol") {
        html += (m.units || []).map((u) => swatch(PATROL[u % PATROL.length], `${t("route")} ${u}`)).join("");
      }
      html += "</div>";
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
        else { state.active.delete(L_.id); delete state.errors[L_.id]; hideLayer(L_.id); renderLegend(); }
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
    renderLayerList(); renderExports(); setPublicMode(); applyLanguage();
  }

  function reloadActive() { for (const id of Array.from(state.active)) showLayer(id); }

  // ------------------------------------------------------------------ wiring
  async function init() {
    buildFilterControls();
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
      await loadCity(); reloadActive();
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

  window.qauipsiz = { state, map, reloadActive, renderLegend };
  init();
})();
