/* Address search on the map (through the product's own geocoder: GET /cities/{city}/search — nothing leaves
   the server), zoom to the chosen district, and street / place labels from the city's own street layer
   (GET /cities/{city}/labels.geojson: one point per street piece with its angle and first zoom, and the
   district names).  Labels are drawn only inside the view and only from their own zoom, at most MAX_LABELS. */
import { map } from "./map.js";
import { state } from "./state.js";
import { $, errorText, esc, fetchJSON, fmt, t } from "./util.js";

const ZOOM = { address: 17, intersection: 17, poi: 17, street: 16, district: 13, city: 12 };
const MAX_LABELS = 250;
const found = { marker: null, circle: null };

map.createPane("labels"); map.getPane("labels").style.zIndex = 450; map.getPane("labels").style.pointerEvents = "none";

function clearFound() {
  if (found.marker) map.removeLayer(found.marker);
  if (found.circle) map.removeLayer(found.circle);
  found.marker = found.circle = null;
}

function showFound(r) {
  clearFound();
  const ll = [r.lat, r.lon];
  const prec = t("prec_" + r.precision);
  const msg = t("searchFound").replace("{name}", r.matched || r.query).replace("{prec}", prec)
    .replace("{r}", r.uncertainty_m === null ? "—" : fmt(r.uncertainty_m, 0));
  const amb = r.ambiguous ? `<div>${esc(t("searchAmbiguous"))}</div><ul class="cands">`
    + r.candidates.slice(0, 6).map((c) => `<li>${esc(c)}</li>`).join("") + "</ul>" : "";
  found.circle = r.uncertainty_m ? L.circle(ll, { radius: r.uncertainty_m, color: "#0f3b5f", weight: 1, fillOpacity: 0.06,
    interactive: false }).addTo(map) : null;
  // a ring, not Leaflet's default pin (its images are not vendored)
  found.marker = L.circleMarker(ll, { radius: 9, color: "#b71c1c", weight: 3, fillColor: "#ffeb3b", fillOpacity: 0.9 })
    .bindPopup(`${esc(msg)}${amb}`).addTo(map);
  map.setView(ll, ZOOM[r.precision] || 15, { animate: false });
  found.marker.openPopup();
  $("search-state").textContent = msg;
  $("search-state").classList.remove("error");
}

async function runSearch(q) {
  const st = $("search-state");
  if (!q || q.trim().length < 2) return;
  st.textContent = t("loading"); st.classList.remove("error");
  try {
    const r = await fetchJSON(`/cities/${state.city}/search?q=${encodeURIComponent(q.trim())}`);
    showFound(r);
  } catch (e) {
    clearFound();
    st.textContent = errorText(e); st.classList.add("error");
  }
}

// the search box: a Leaflet control at the top left, under the zoom buttons
const SearchCtl = L.Control.extend({
  options: { position: "topleft" },
  onAdd() {
    const d = L.DomUtil.create("form", "search-ctl");
    d.id = "search-form";
    d.innerHTML = `<input id="search-q" type="search" autocomplete="off" data-i18n-placeholder="searchPlaceholder"`
      + ` placeholder="${esc(t("searchPlaceholder"))}" aria-label="${esc(t("searchPlaceholder"))}">`
      + `<button type="submit" id="search-go" data-i18n="searchGo">${esc(t("searchGo"))}</button>`
      + `<div id="search-state" class="state" role="status"></div>`;
    L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d);
    d.addEventListener("submit", (ev) => { ev.preventDefault(); runSearch($("search-q").value); });
    return d;
  },
});
new SearchCtl().addTo(map);

// zoom to the district chosen in the filter form (its boundary from our own basemap)
let districtsFc = null, districtsCity = null;
async function zoomToDistrict(key) {
  if (!key) return;
  if (districtsCity !== state.city) { districtsFc = await fetchJSON(`/cities/${state.city}/districts.geojson`); districtsCity = state.city; }
  const f = districtsFc.features.find((x) => x.properties.district === key);
  if (f) map.fitBounds(L.geoJSON(f).getBounds(), { padding: [10, 10], animate: false });
}

// street and place labels
const lab = { city: null, fc: null, group: L.layerGroup() };
lab.group.addTo(map);

function labelText(p) { return p.kind === "district" ? (p["name_" + state.lang] || p.name) : p.name; }

export function drawLabels() {
  lab.group.clearLayers();
  if (!lab.fc) return;
  const z = map.getZoom(), b = map.getBounds().pad(0.05);
  let n = 0;
  const placed = []; // [x, y, name] on the screen: no label on top of another, no name twice close by
  const clash = (pt, name) => placed.some(([x, y, nm]) => {
    const d = Math.hypot(x - pt.x, y - pt.y);
    return d < 28 || (nm === name && d < 220);
  });
  // districts first (places), then the longest streets
  for (const f of lab.fc.features) {
    const p = f.properties;
    if (p.min_zoom > z || (p.kind === "district" && z > 15)) continue;
    const [lon, lat] = f.geometry.coordinates;
    if (!b.contains([lat, lon])) continue;
    const pt = map.latLngToContainerPoint([lat, lon]);
    if (clash(pt, p.name)) continue;
    placed.push([pt.x, pt.y, p.name]);
    if (++n > MAX_LABELS) break;
    const cls = p.kind === "district" ? "map-label place" : "map-label street";
    const rot = p.kind === "district" ? 0 : -p.angle;
    const icon = L.divIcon({ className: cls, iconSize: null,
      html: `<span style="transform:translate(-50%,-50%) rotate(${rot}deg)">${esc(labelText(p))}</span>` });
    L.marker([lat, lon], { icon, pane: "labels", interactive: false, keyboard: false }).addTo(lab.group);
  }
}

export async function loadLabels() {
  const city = state.city;
  try {
    const fc = await fetchJSON(`/cities/${city}/labels.geojson`);
    if (city !== state.city) return;
    // longest streets first, so the cap keeps the main streets
    fc.features.sort((a, b) => (a.properties.kind === "district" ? -1e12 : -(a.properties.length_m || 0))
      - (b.properties.kind === "district" ? -1e12 : -(b.properties.length_m || 0)));
    Object.assign(lab, { city, fc });
  } catch (e) { Object.assign(lab, { city, fc: null }); }
  drawLabels();
}

map.on("zoomend moveend", drawLabels);
document.addEventListener("qauipsiz:basemap", () => { clearFound(); loadLabels(); });

export function initSearch() {
  $("f-district").addEventListener("change", (ev) => zoomToDistrict(ev.target.value).catch(() => {}));
}
