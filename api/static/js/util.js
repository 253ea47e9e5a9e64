/* Helpers: DOM lookup, translation, escaping and number formats, API requests, the status line. */
import { API } from "./config.js";
import { I18N } from "../i18n.js";
import { state } from "./state.js";

export const $ = (id) => document.getElementById(id);
export const t = (k) => (I18N[state.lang] && I18N[state.lang][k]) || I18N.en[k] || k;
export const esc = (s) => String(s === null || s === undefined ? "—" : s).replace(/[&<>"']/g,
  (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
export const fmt = (v, d) => (v === null || v === undefined) ? "—" : (typeof v === "number" ? v.toLocaleString(state.lang === "en" ? "en" : "ru", { maximumFractionDigits: d === undefined ? 2 : d }) : v);
export const pct = (v) => (v === null || v === undefined ? "—" : fmt(100 * v, 1) + " %");
export const qs = (q) => { const s = q.toString(); return s ? "?" + s : ""; };

export function headers() { return state.key ? { "X-API-Key": state.key } : {}; }

export async function fetchRaw(path, opts) {
  const r = await fetch(API + path, Object.assign({}, opts || {}, { headers: headers() }));
  if (!r.ok) {
    let detail = r.statusText;
    try { const p = await r.json(); detail = p.detail || p.title || detail; } catch (e) { /* not JSON */ }
    const err = new Error(detail); err.status = r.status; throw err;
  }
  return r;
}
export async function fetchJSON(path) { return (await fetchRaw(path)).json(); }

// Open a document the API returns only with the key header: fetched as a blob, shown in a new tab
// (opened at the click, so popup blockers allow it), downloaded when the tab cannot be opened.
export async function openDocument(getResponse, filename) {
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

export function status(msg, isError) {
  const el = $("status");
  el.textContent = msg || "";
  el.className = isError ? "error" : "";
  el.style.display = msg ? "block" : "none";
}

// a popup table of [label, value] rows
export function rows(pairs) {
  return "<table class='pp'>" + pairs.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("") + "</table>";
}
