/* Charts of the current filter, drawn as inline SVG (no chart library, no network): the number of incidents
   matching the filter, an hour × weekday heat table, the monthly trend (with the 2019 series-break mark when
   the series spans it) and the category mix.  Roles that see the map's filters get the same filter as the
   map (GET /cities/{city}/charts); the public role gets the fixed public table, small counts suppressed
   (GET /public/cities/{city}/charts). */
import { SEQ, WEEKDAYS } from "./config.js";
import { filterQuery } from "./filters.js";
import { state } from "./state.js";
import { $, errorText, esc, fetchJSON, fmt, qs, t } from "./util.js";

const ch = { seq: 0, data: null, error: null, query: "" };
const NS = "http://www.w3.org/2000/svg";

function cellColor(v, vmax) {
  if (v === null || v === undefined) return "#d9d9d9"; // suppressed
  if (!v || !(vmax > 0)) return "#ffffff";
  return SEQ[Math.min(SEQ.length - 1, Math.floor((v / vmax) * SEQ.length * 0.9999))];
}

function svg(w, h, body, id) {
  return `<svg xmlns="${NS}" id="${id}" class="chart" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img">${body}</svg>`;
}

// 7 rows (Monday first) × 24 local hours; the title of each cell holds its count
function heatTable(hw) {
  const cw = 9.5, chh = 13, left = 22, top = 12;
  const vmax = Math.max(0, ...hw.flat().filter((v) => v !== null));
  let b = "";
  for (let h = 0; h < 24; h += 3) b += `<text x="${left + h * cw}" y="9" class="ax">${h}</text>`;
  hw.forEach((row, d) => {
    b += `<text x="0" y="${top + d * chh + 10}" class="ax">${esc(t(WEEKDAYS[d]))}</text>`;
    row.forEach((v, h) => {
      b += `<rect x="${left + h * cw}" y="${top + d * chh}" width="${cw - 1}" height="${chh - 1}" fill="${cellColor(v, vmax)}"`
        + ` data-d="${d}" data-h="${h}" data-v="${v === null ? "" : v}"><title>${esc(t(WEEKDAYS[d]))} ${String(h).padStart(2, "0")}:00 — `
        + `${v === null ? esc(t("suppressed").replace("{k}", state.minPublic)) : fmt(v, 0)}</title></rect>`;
    });
  });
  return svg(left + 24 * cw, top + 7 * chh + 2, b, "ch-hw-svg");
}

// counts per month as a line; a dashed mark and note where the 2019 reclassification breaks the series
function trend(monthly, brk) {
  const w = 262, h = 110, l = 30, r = 4, top = 8, bot = 18;
  if (!monthly.length) return "";
  const vals = monthly.map((m) => m.count);
  const vmax = Math.max(1, ...vals.filter((v) => v !== null));
  const x = (i) => l + (monthly.length === 1 ? (w - l - r) / 2 : (i * (w - l - r)) / (monthly.length - 1));
  const y = (v) => top + (h - top - bot) * (1 - v / vmax);
  let b = `<line x1="${l}" y1="${h - bot}" x2="${w - r}" y2="${h - bot}" class="axis"/>`
    + `<text x="${l - 3}" y="${top + 4}" class="ax" text-anchor="end">${fmt(vmax, 0)}</text>`
    + `<text x="${l - 3}" y="${h - bot}" class="ax" text-anchor="end">0</text>`;
  let path = "", pen = false;
  monthly.forEach((m, i) => {
    if (m.count === null) { pen = false; return; } // suppressed months break the line
    path += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(m.count).toFixed(1)}`; pen = true;
    b += `<circle cx="${x(i).toFixed(1)}" cy="${y(m.count).toFixed(1)}" r="1.8" class="pt" data-month="${m.month}">`
      + `<title>${m.month}: ${fmt(m.count, 0)}</title></circle>`;
  });
  b += `<path d="${path}" class="line"/>`;
  const first = monthly[0].month, last = monthly[monthly.length - 1].month;
  b += `<text x="${l}" y="${h - 4}" class="ax">${first}</text><text x="${w - r}" y="${h - 4}" class="ax" text-anchor="end">${last}</text>`;
  if (brk) {
    const i = monthly.findIndex((m) => m.month >= brk.month);
    if (i >= 0) {
      const bx = (x(i) + (i > 0 ? x(i - 1) : x(i))) / 2;
      b += `<line id="ch-break" x1="${bx}" y1="${top}" x2="${bx}" y2="${h - bot}" class="brk"><title>${esc(t("chBreak"))}</title></line>`;
    }
  }
  return svg(w, h, b, "ch-trend-svg");
}

// horizontal bars of the largest categories (names in the UI language)
function categoryBars(cats) {
  const top8 = cats.slice(0, 8), w = 262, rowH = 15, l = 118;
  const vmax = Math.max(1, ...top8.map((c) => c.count || 0));
  const name = (k) => { const c = state.categories.find((x) => x.category === k); return c ? c["name_" + state.lang] : k; };
  let b = "";
  top8.forEach((c, i) => {
    const y = i * rowH, bw = c.count === null ? 0 : ((w - l - 40) * c.count) / vmax;
    const label = name(c.category);
    b += `<text x="${l - 4}" y="${y + 11}" class="ax" text-anchor="end">${esc(label.length > 18 ? label.slice(0, 17) + "…" : label)}<title>${esc(label)}</title></text>`
      + `<rect x="${l}" y="${y + 2}" width="${bw.toFixed(1)}" height="${rowH - 4}" class="bar" data-category="${esc(c.category)}"/>`
      + `<text x="${l + bw + 3}" y="${y + 11}" class="ax">${c.count === null ? "< " + state.minPublic : fmt(c.count, 0)}</text>`;
  });
  return svg(w, top8.length * rowH + 2, b, "ch-cats-svg");
}

export function renderCharts() {
  const box = $("ch-body"), st = $("ch-state");
  if (!box) return;
  st.classList.toggle("error", !!ch.error);
  if (st.dataset.busy === "1") return;
  st.textContent = ch.error ? errorText(ch.error) : "";
  const d = ch.data;
  if (!d) { box.innerHTML = ""; $("ch-count").textContent = ""; return; }
  $("ch-count").textContent = `${t("chCount")}: ${d.count === null ? t("suppressed").replace("{k}", d.min_count) : fmt(d.count, 0)}`;
  if (!d.count) { box.innerHTML = `<div class="sub">${esc(t("chNoData"))}</div>`; return; }
  const pub = d.public ? `<div class="sub" id="ch-public">${esc(t("chPublic"))}; `
    + `${esc(t("chSuppressed").replace("{k}", d.min_count).replace("{base}", d.rounded_to))}</div>` : "";
  const brk = d.series_break ? `<div class="sub brk-note" id="ch-break-note">┆ ${esc(t("chBreak"))}</div>` : "";
  box.innerHTML = pub
    + `<h3>${esc(t("chHourWeekday"))}</h3>${heatTable(d.hour_weekday)}`
    + `<h3>${esc(t("chTrend"))}</h3>${trend(d.monthly, d.series_break)}${brk}`
    + `<h3>${esc(t("chCategories"))}</h3>${categoryBars(d.categories)}`;
}

// the same filter as the map (the public role: the fixed public table); a newer request wins
export async function refreshCharts() {
  if (!$("ch-body")) return;
  const restricted = state.perms.has("hotspots");
  const q = filterQuery(false); q.delete("bandwidth_m");
  const path = restricted ? `/cities/${state.city}/charts${qs(q)}` : `/public/cities/${state.city}/charts`;
  const seq = ++ch.seq;
  const st = $("ch-state");
  st.dataset.busy = "1"; st.textContent = t("computing"); st.classList.remove("error");
  try {
    const d = await fetchJSON(path);
    if (seq !== ch.seq) return;
    Object.assign(ch, { data: d, error: null, query: path });
  } catch (e) {
    if (seq !== ch.seq) return;
    Object.assign(ch, { data: null, error: e, query: path });
  } finally {
    if (seq === ch.seq) st.dataset.busy = "";
  }
  renderCharts();
  document.body.dataset.chartsReady = String(ch.seq);
}

export const chartsState = ch;
