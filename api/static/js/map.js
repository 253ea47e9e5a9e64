/* The Leaflet map: panes, the basemap (streets and districts), heat tiles fetched with the key header. */
import { CFG } from "./config.js";
import { state } from "./state.js";
import { fetchJSON, headers } from "./util.js";

// one canvas renderer for every vector layer: a second canvas (the map's default renderer, created by the
// first layer without `renderer`) would stay on top after its layer is gone and catch every click
export const canvas = L.canvas({ padding: 0.3 });
export const map = L.map("map", { preferCanvas: true, renderer: canvas, zoomControl: true, attributionControl: true });
map.createPane("basemap"); map.getPane("basemap").style.zIndex = 250;
map.createPane("heat"); map.getPane("heat").style.zIndex = 350;
map.attributionControl.setPrefix("Leaflet");
L.control.scale({ imperial: false, maxWidth: 140, position: "bottomleft" }).addTo(map); // metric scale bar
let basemap = null;

export async function loadBasemap() {
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
  document.dispatchEvent(new CustomEvent("qauipsiz:basemap")); // street and place labels follow (js/search.js)
}

// heat tiles need the API key header, so tiles are fetched and shown as blob URLs
export const AuthTiles = L.GridLayer.extend({
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

export function hideLayer(id) {
  if (state.layers[id]) { map.removeLayer(state.layers[id]); delete state.layers[id]; }
}
