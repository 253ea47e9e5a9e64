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
    let detail = r.statusText, code = "";
    try {
      const p = await r.json(); detail = p.detail || p.title || detail;
      code = String(p.type || "").split("/").pop(); // the problem type's stable slug, e.g. "invalid-design"
    } catch (e) { /* not JSON */ }
    const err = new Error(detail); err.status = r.status; err.code = code; throw err;
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

// An error in the UI language: the message of its stable code (the problem type slug; i18n key
// "err_<slug>"), then the server's own detail as secondary text.  Strings pass through.
export function errorText(e) {
  if (!e) return "";
  if (typeof e === "string") return e;
  const key = e.code ? "err_" + e.code.replace(/-/g, "_") : "";
  const known = key && I18N[state.lang] && I18N[state.lang][key];
  const main = known ? t(key) : t(e.status ? "err_generic" : "err_network");
  const detail = e.message && e.message !== main ? `${e.status ? e.status + ": " : ""}${e.message}` : "";
  return detail ? `${main} (${detail})` : main;
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
