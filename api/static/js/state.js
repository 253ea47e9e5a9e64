/* The dashboard's one state object: language, key and role, active layers and their data, panels. */
import { CFG } from "./config.js";

export const pad2 = (h) => String(h).padStart(2, "0");
// today's date in the city's time zone (the shift is local to the city, not to the browser)
export function today(tz) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: tz || undefined, year: "numeric", month: "2-digit",
                                            day: "2-digit" }).format(new Date());
}

export const state = {
  lang: localStorage.getItem("qauipsiz.lang") || "ru",
  key: sessionStorage.getItem("qauipsiz.key") || "",
  role: "public", perms: new Set(["public"]), city: CFG.city, cityInfo: null,
  active: new Set(), layers: {}, meta: {}, errors: {}, categories: [], minPublic: 5, seq: {},
  // budget (sites per kind) of the recommendations layer, and the shift of the patrol layer: what the map shows
  budget: { cameras: 20, sos: 20, posts: 20 },
  patrol: { date: today(), start: 18, end: 2, units: 4, mode: "drive", station: -1, visits: 1 },
  review: null, // {file, design, result, layer, failLayers, error}
};
