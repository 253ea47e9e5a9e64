/* Print the map to paper or PDF through the browser's own print (window.print → "Save as PDF"): the print
   CSS (style.css, @media print) hides the panel and the controls and lays out a title block (city, layers,
   filter, date), the synthetic-data banner when the data is the demo, the map with its legend and scale bar,
   and the OpenStreetMap credit.  *PNG* composes the same picture on one canvas in the browser (no network:
   the heat tiles are same-origin blobs, the vector layers one canvas): a title band with the synthetic-data
   banner, the tiles, the vector canvas, the labels, the scale bar and the credit line; the legend is not
   redrawn in the PNG (print to PDF keeps it). */
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
  $("print-png").addEventListener("click", savePng);
  // printing from the browser's menu gets the same title block
  window.addEventListener("beforeprint", () => { fillPrintHead(); map.invalidateSize({ animate: false }); });
  window.addEventListener("afterprint", () => map.invalidateSize({ animate: false }));
}

// --------------------------------------------------------------------------- PNG
function rectIn(el, box) { const r = el.getBoundingClientRect(); return [r.left - box.left, r.top - box.top, r.width, r.height]; }

function titleLines() {
  const city = (state.cities || []).find((c) => c.city === state.city);
  const layers = LAYERS.filter((x) => state.active.has(x.id)).map((x) => t("layer_" + x.id));
  return [`Қауіпсіз — ${city ? city["name_" + state.lang] : state.city}`,
    `${t("printLayers")}: ${layers.join(", ") || "—"} · ${t("printFilters")}: ${filterSummary()}`];
}

// the map as the browser draws it, on one canvas: returns the canvas (CSS pixels × devicePixelRatio)
export function mapCanvas() {
  const el = $("map"), box = el.getBoundingClientRect();
  const synth = state.cityInfo && state.cityInfo.synthetic;
  const head = synth ? 64 : 44, foot = 22, k = window.devicePixelRatio || 1;
  const cv = document.createElement("canvas");
  cv.width = Math.round(box.width * k); cv.height = Math.round((box.height + head + foot) * k);
  const g = cv.getContext("2d");
  g.scale(k, k);
  g.fillStyle = "#ffffff"; g.fillRect(0, 0, box.width, box.height + head + foot);
  let y = 4;
  if (synth) {
    g.fillStyle = "#fff3cd"; g.fillRect(0, 0, box.width, 20);
    g.fillStyle = "#7a4d00"; g.font = "bold 12px 'DejaVu Sans', sans-serif"; g.fillText(t("syntheticBanner"), 6, 14, box.width - 12);
    y = 24;
  }
  const [l1, l2] = titleLines();
  g.fillStyle = "#1f2933"; g.font = "bold 15px 'DejaVu Sans', sans-serif"; g.fillText(l1, 6, y + 14, box.width - 12);
  g.font = "11px 'DejaVu Sans', sans-serif"; g.fillText(l2, 6, y + 32, box.width - 12);
  g.save(); g.translate(0, head);
  g.beginPath(); g.rect(0, 0, box.width, box.height); g.clip();
  g.fillStyle = getComputedStyle(el).backgroundColor || "#eef1f4"; g.fillRect(0, 0, box.width, box.height);
  // tiles (the heat map) and every canvas (the vector layers), in pane order
  const zOf = (node) => { // the stacking order of the node's top pane (custom panes come last in the DOM)
    let p = node.closest(".leaflet-pane"), z = 0;
    while (p && p.parentElement && !p.parentElement.classList.contains("leaflet-map-pane")) p = p.parentElement.closest(".leaflet-pane");
    if (p) z = Number(getComputedStyle(p).zIndex) || 0;
    return z;
  };
  const nodes = Array.from(el.querySelectorAll(".leaflet-pane img.leaflet-tile-loaded, .leaflet-pane canvas"))
    .map((n, i) => [zOf(n), i, n]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((x) => x[2]);
  nodes.forEach((node) => {
    const [x, yy, w, h] = rectIn(node, box);
    if (w <= 0 || h <= 0) return;
    // an outside basemap (QAUIPSIZ_TILE_URL) would taint the canvas: only our own tiles are drawn
    if (node.tagName === "IMG" && !(node.src.startsWith("blob:") || node.src.startsWith(location.origin))) return;
    const op = Number(getComputedStyle(node.closest(".leaflet-layer") || node).opacity || 1);
    g.globalAlpha = Number.isFinite(op) ? op : 1;
    try { g.drawImage(node, x, yy, w, h); } catch (e) { /* an image not ready */ }
    g.globalAlpha = 1;
  });
  // labels
  el.querySelectorAll(".map-label span").forEach((sp) => {
    const [x, yy, w, h] = rectIn(sp, box);
    const m = /rotate\((-?[\d.]+)deg\)/.exec(sp.style.transform || "");
    const place = sp.parentElement.classList.contains("place");
    g.save(); g.translate(x + w / 2, yy + h / 2); g.rotate(((m ? Number(m[1]) : 0) * Math.PI) / 180);
    g.font = place ? "bold 13px 'DejaVu Sans', sans-serif" : "11px 'DejaVu Sans', sans-serif";
    g.textAlign = "center"; g.textBaseline = "middle"; g.lineWidth = 3; g.strokeStyle = "#ffffff";
    g.strokeText(sp.textContent, 0, 0); g.fillStyle = place ? "#0f3b5f" : "#37474f"; g.fillText(sp.textContent, 0, 0);
    g.restore();
  });
  // the scale bar
  const sc = el.querySelector(".leaflet-control-scale-line");
  if (sc) {
    const [x, yy, w, h] = rectIn(sc, box);
    g.fillStyle = "rgba(255,255,255,0.8)"; g.fillRect(x, yy, w, h);
    g.strokeStyle = "#333"; g.lineWidth = 2; g.beginPath(); g.moveTo(x, yy); g.lineTo(x, yy + h); g.lineTo(x + w, yy + h); g.lineTo(x + w, yy); g.stroke();
    g.fillStyle = "#333"; g.font = "11px 'DejaVu Sans', sans-serif"; g.textAlign = "left"; g.fillText(sc.textContent, x + 4, yy + h - 4);
  }
  g.restore();
  g.fillStyle = "#52606d"; g.font = "10px 'DejaVu Sans', sans-serif"; g.textAlign = "left";
  const now = new Date().toLocaleString(state.lang === "en" ? "en-GB" : "ru-RU");
  g.fillText(`${t("printedOn")}: ${now} · ${t("notice")} · © OpenStreetMap contributors`, 6, head + box.height + 15, box.width - 12);
  return cv;
}

// tiles still loading (a zoom or a filter just changed): wait for them, at most `ms`
function tilesLoaded(ms) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const tick = () => {
      const pending = $("map").querySelectorAll("img.leaflet-tile:not(.leaflet-tile-loaded)").length;
      if (!pending || Date.now() - t0 > ms) resolve(); else setTimeout(tick, 150);
    };
    tick();
  });
}

export async function savePng() {
  await tilesLoaded(15000);
  const cv = mapCanvas();
  cv.toBlob((blob) => {
    const a = document.createElement("a");
    const synth = state.cityInfo && state.cityInfo.synthetic ? "_SYNTHETIC" : "";
    a.href = URL.createObjectURL(blob); a.download = `${state.city}${synth}_map.png`;
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 5000);
  }, "image/png");
}
