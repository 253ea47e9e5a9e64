/* Print the map to paper or PDF through the browser's own print (window.print → "Save as PDF"): the print
   CSS (style.css, @media print) hides the panel and the controls and lays out a title block (city, layers,
   filter, date), the synthetic-data banner when the data is the demo, the map with its legend and scale bar,
   and the OpenStreetMap credit.  No PNG export: the heat tiles and the vector layers are drawn on separate
   canvases and images, and the map is printed as the browser renders it. */
import { LAYERS } from "./config.js";
import { map } from "./map.js";
import { state } from "./state.js";
import { $, esc, t } from "./util.js";

function filterSummary() {
  const parts = [];
  const cats = Array.from($("f-category").selectedOptions).map((o) => o.textContent);
  if (cats.length) parts.push(`${t("category")}: ${cats.join(", ")}`);
  if ($("f-start").value || $("f-end").value) parts.push(`${$("f-start").value || "…"} – ${$("f-end").value || "…"}`);
  const hf = $("f-hour-from").value, ht = $("f-hour-to").value;
  if (hf !== "" && ht !== "" && hf !== ht) parts.push(`${t("hours")}: ${hf}–${ht}`);
  const wd = Array.from(document.querySelectorAll("#f-weekdays input:checked")).map((i) => t(["mon", "tue", "wed", "thu", "fri", "sat", "sun"][Number(i.value)]));
  if (wd.length && wd.length < 7) parts.push(wd.join(" "));
  const light = document.querySelector("#f-light input:checked");
  if (light && light.value !== "any") parts.push(t(light.value === "dark" ? "lightDark" : "lightLight"));
  const d = $("f-district");
  if (d.value) parts.push(d.selectedOptions[0].textContent);
  return parts.length && state.perms.has("hotspots") ? parts.join(" · ") : "—";
}

// the title block printed above the map
export function fillPrintHead() {
  const city = (state.cities || []).find((c) => c.city === state.city);
  const layers = LAYERS.filter((x) => state.active.has(x.id)).map((x) => t("layer_" + x.id));
  const now = new Date().toLocaleString(state.lang === "en" ? "en-GB" : "ru-RU");
  const synth = state.cityInfo && state.cityInfo.synthetic ? `<div class="ph-synth">${esc(t("syntheticBanner"))}</div>` : "";
  $("print-head").innerHTML = `${synth}<h1>Қауіпсіз — ${esc(city ? city["name_" + state.lang] : state.city)}</h1>`
    + `<div>${esc(t("printLayers"))}: ${esc(layers.join(", ") || "—")}</div>`
    + `<div>${esc(t("printFilters"))}: ${esc(filterSummary())}</div>`
    + `<div class="ph-foot">${esc(t("printedOn"))}: ${esc(now)} · ${esc(t("notice"))} · © OpenStreetMap contributors</div>`;
}

export function printMap() {
  fillPrintHead();
  document.body.classList.add("printing");
  map.invalidateSize({ animate: false });
  setTimeout(() => {
    window.print();
    document.body.classList.remove("printing");
    map.invalidateSize({ animate: false });
  }, 300);
}

export function initPrint() {
  $("print-map").addEventListener("click", printMap);
  // printing from the browser's menu gets the same title block
  window.addEventListener("beforeprint", () => { fillPrintHead(); map.invalidateSize({ animate: false }); });
  window.addEventListener("afterprint", () => map.invalidateSize({ animate: false }));
}
