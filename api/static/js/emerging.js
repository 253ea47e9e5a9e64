/* Emerging hot spots (issue 16.2): one of 17 patterns per H3 cell from the space-time Gi* and the
   Mann–Kendall trend of each cell's z; colours and kk/ru/en labels come with the answer (`legend`). */
import { filterQuery } from "./filters.js";
import { registerLoader } from "./layers.js";
import { canvas } from "./map.js";
import { state } from "./state.js";
import { fetchJSON, fmt, qs, rows, t } from "./util.js";

export const EMERGING_STEP = "month";

export function patternLabel(p) { return p["label_" + state.lang] || p.label_en || p.pattern; }

registerLoader("emerging", async () => {
  const q = filterQuery(false);
  q.set("step", EMERGING_STEP);
  const fc = await fetchJSON(`/cities/${state.city}/emerging.geojson${qs(q)}`);
  state.meta.emerging = Object.assign({}, fc.meta || {}, { legend: fc.legend || [] });
  return L.geoJSON(fc, {
    renderer: canvas,
    style: (f) => ({ color: "#555", weight: 0.3, fillOpacity: 0.75, fillColor: f.properties.colour }),
    onEachFeature: (f, l) => l.bindPopup(() => {
      const p = f.properties;
      return rows([[t("emPattern"), patternLabel(p)], [t("cell"), p.h3], [t("count"), fmt(p.count, 0)],
        [t("emHotSteps"), fmt(p.n_hot, 0)], [t("emColdSteps"), fmt(p.n_cold, 0)],
        [t("emTrend"), `${fmt(p.trend_z)} (p ${fmt(p.trend_p, 4)})`]]);
    }),
  });
});
// its legend block (js/legend.js): the 17 colours of `legend` in the UI language, with the cells of each pattern
