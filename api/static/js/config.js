/* Server configuration (injected into index.html) and the dashboard's constants: colours, layers. */
export const CFG = window.QAUIPSIZ_CONFIG || { api: "/api/v1", city: "astana", tileUrl: "" };
export const API = CFG.api;
export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
export const GI = [ // Esri's Hot Spot Analysis colours, bins +3..-3
  [3, "#d62f27", "hot99"], [2, "#ed7551", "hot95"], [1, "#fab984", "hot90"], [0, "#f7f7f2", "notSig"],
  [-1, "#c0ccbe", "cold90"], [-2, "#849eba", "cold95"], [-3, "#4575b5", "cold99"]];
export const SEQ = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#d94801", "#7f2704"]; // public rates / counts
export const PATROL = ["#2e7d32", "#6a1b9a", "#00838f", "#ef6c00", "#37474f", "#ad1457"];
export const SCORE = ["#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641"]; // CPTED 0..100, low = bad
export const REC_KINDS = [["cameras", "#8e24aa", "recCameras"], ["sos", "#d81b60", "recSos"], ["posts", "#00695c", "recPosts"]];
export const DESIGN_STYLE = { // design review: features by their `kind`
  site: { color: "#0f3b5f", weight: 2, dashArray: "5 4", fill: false },
  building: { color: "#455a64", weight: 1, fillColor: "#b0bec5", fillOpacity: 0.7 },
  playground: { color: "#2e7d32", weight: 1, fillColor: "#a5d6a7", fillOpacity: 0.6 },
  parking: { color: "#546e7a", weight: 1, fillColor: "#cfd8dc", fillOpacity: 0.6 },
  path: { color: "#8d6e63", weight: 3, dashArray: "2 4" },
  fence: { color: "#6d4c41", weight: 2 },
};
export const DESIGN_POINT = { lamp: "#f9a825", camera: "#1565c0", entrance: "#212121" };
export const FAIL_COLOR = "#e53935";
// forecast layer: [top share of the city's cells, colour], darkest for the best-ranked cells
export const FORECAST_BANDS = [[0.01, "#7f2704"], [0.02, "#d94801"], [0.05, "#fd8d3c"], [0.1, "#fdd0a2"], [1, "#fff5eb"]];

// the map layers, in panel and legend order; `perm` is the permission that shows the layer
export const LAYERS = [
  { id: "public", perm: "public", on: true },
  { id: "publicCells", perm: "public", on: false },
  { id: "heat", perm: "hotspots", on: true },
  { id: "hexagons", perm: "hotspots", on: false },
  { id: "emerging", perm: "hotspots", on: false },
  { id: "forecast", perm: "forecast", on: false }, // tomorrow / this shift: analyst, commander, admin
  { id: "cpted", perm: "cpted", on: false },
  { id: "lamps", perm: "layers", on: false },
  { id: "cameras", perm: "layers", on: false },
  { id: "sos", perm: "layers", on: false },
  { id: "incidents", perm: "incidents:read", on: false }, // incident points: analyst, commander, admin (audited)
  { id: "recommended", perm: "recommendations", on: false },
  { id: "patrol", perm: "patrol", on: false },
];
