/* The "Cases" panel (issue 18, SARA): the city's problem-oriented cases — list, open one (its place on
   the map, problem, action plan), change its stage, mark an action done, add one, and evaluate it now
   from the plan's dates (POST /cities/{city}/cases/{id}/evaluations; the answer drawn as in the
   evaluation panel).  Shown to the roles holding the "cases" permission. */
import { map } from "./map.js";
import { state, today } from "./state.js";
import { $, errorText, esc, fetchJSON, t } from "./util.js";
import { renderEvaluation, sendJSON } from "./evaluation.js";

export const CASE_STATUSES = ["scanning", "analysis", "response", "assessment", "closed"];
const cs = { list: [], open: null, shape: null, evals: {}, before: 12, after: 6 };

function setState(msg, isError) {
  const el = $("cs-state");
  el.textContent = msg || ""; el.classList.toggle("error", !!isError);
}

export async function loadCases() {
  if (!state.perms.has("cases")) return;
  setState(t("loading"));
  try {
    cs.list = (await fetchJSON(`/cities/${state.city}/cases`)).cases;
    setState(cs.list.length ? "" : t("caseNone"));
  } catch (e) { cs.list = []; setState(errorText(e), true); }
  renderCaseList();
}

export function renderCaseList() {
  const box = $("cs-list");
  if (!box) return;
  box.innerHTML = "";
  for (const c of cs.list) {
    const done = c.actions.filter((a) => a.done_date).length;
    const row = document.createElement("div");
    row.className = "cs-row"; row.dataset.id = c.id;
    row.innerHTML = `<span class="cs-title">#${c.id} ${esc(c.title)}</span>`
      + `<span class="cs-status s-${esc(c.status)}">${esc(t("caseStatus_" + c.status))}</span>`
      + `<span class="cs-progress">${done}/${c.actions.length}</span>`;
    const b = document.createElement("button");
    b.type = "button"; b.className = "cs-open"; b.textContent = t("caseOpen");
    b.addEventListener("click", () => openCase(c.id));
    row.appendChild(b);
    box.appendChild(row);
  }
  if (cs.open) renderCase();
}

function showPlace(c) {
  if (cs.shape) { cs.shape.remove(); cs.shape = null; }
  if (c && c.place.area) {
    cs.shape = L.geoJSON(c.place.area, { style: { color: "#00838f", weight: 3, fillOpacity: 0.12 } }).addTo(map);
    if (cs.shape.getBounds().isValid()) map.fitBounds(cs.shape.getBounds(), { padding: [40, 40], maxZoom: 16 });
  }
}

async function openCase(id) {
  try {
    cs.open = await fetchJSON(`/cities/${state.city}/cases/${id}`);
    setState("");
    renderCase();
    showPlace(cs.open);
  } catch (e) { setState(errorText(e), true); }
}

async function change(path, body, method) {
  try {
    cs.open = await sendJSON(`/cities/${state.city}/cases/${cs.open.id}${path}`, body, method);
    const i = cs.list.findIndex((x) => x.id === cs.open.id);
    if (i >= 0) cs.list[i] = cs.open;
    setState(""); renderCaseList();
  } catch (e) { setState(errorText(e), true); }
}

function placeText(c) {
  if (c.place.area) return t("caseArea");
  const ids = c.place.ids && c.place.ids.length ? c.place.ids.join(", ") : t("caseAllFeatures");
  return `${t("layer_" + (c.place.layer === "sos_buttons" ? "sos" : c.place.layer))}: ${ids}`;
}

export function renderCase() {
  const box = $("cs-detail");
  const c = cs.open;
  if (!box) return;
  if (!c) { box.innerHTML = ""; return; }
  const cats = (c.problem.categories || []).map((k) => {
    const x = (state.categories || []).find((y) => y.category === k);
    return x ? x["name_" + state.lang] : k;
  }).join(", ") || t("evAllCategories");
  box.innerHTML = `<h3>#${c.id} ${esc(c.title)}</h3><p class="cs-summary">${esc((c.summary || {})[state.lang] || "")}</p>`
    + `<table class="pp"><tr><th>${esc(t("casePlace"))}</th><td>${esc(placeText(c))}</td></tr>`
    + `<tr><th>${esc(t("caseProblem"))}</th><td>${esc(cats)}${c.problem.hours ? " · " + esc(c.problem.hours) : ""}</td></tr></table>`
    + (c.problem.description ? `<p>${esc(c.problem.description)}</p>` : "");
  const sl = document.createElement("label");
  sl.innerHTML = `<span>${esc(t("caseStage"))}</span> `;
  const sel = document.createElement("select");
  sel.id = "cs-status";
  CASE_STATUSES.forEach((s) => sel.append(new Option(t("caseStatus_" + s), s)));
  sel.value = c.status;
  sel.addEventListener("change", () => change("", { status: sel.value }, "PATCH"));
  sl.appendChild(sel);
  box.appendChild(sl);
  const ul = document.createElement("ul");
  ul.className = "cs-actions";
  for (const a of c.actions) {
    const li = document.createElement("li");
    li.innerHTML = `<span class="${a.done_date ? "done" : ""}">${esc(a.text)}</span> — ${esc(a.owner || "?")}; `
      + `${esc(t("caseDue"))} ${esc(a.due_date || "—")}; ${esc(t("caseDone"))} ${esc(a.done_date || "—")} `;
    if (!a.done_date) {
      const b = document.createElement("button");
      b.type = "button"; b.className = "cs-done"; b.textContent = t("caseMarkDone");
      b.addEventListener("click", () => change(`/actions/${a.id}`, { done_date: today(state.cityInfo && state.cityInfo.tz) }, "PATCH"));
      li.appendChild(b);
    }
    ul.appendChild(li);
  }
  box.appendChild(ul);
  const add = document.createElement("form");
  add.className = "cs-add";
  add.innerHTML = `<input id="cs-new-text" required placeholder="${esc(t("caseActionText"))}">`
    + `<input id="cs-new-owner" placeholder="${esc(t("caseOwner"))}"><input id="cs-new-due" type="date">`
    + `<button type="submit">${esc(t("caseAddAction"))}</button>`;
  add.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = { text: $("cs-new-text").value.trim(), owner: $("cs-new-owner").value.trim() || null };
    if ($("cs-new-due").value) body.due_date = $("cs-new-due").value;
    if (body.text) change("/actions", body, "POST");
  });
  box.appendChild(add);
  const per = document.createElement("div");
  per.className = "row";
  per.innerHTML = `<label><span>${esc(t("evBefore"))}</span> <input id="cs-before" type="number" min="1" max="60" value="${cs.before}"></label>`
    + `<label><span>${esc(t("evAfterM"))}</span> <input id="cs-after" type="number" min="1" max="36" value="${cs.after}"></label>`;
  box.appendChild(per);
  const ev = document.createElement("button");
  ev.type = "button"; ev.id = "cs-evaluate"; ev.textContent = t("caseEvaluate");
  const out = document.createElement("div");
  out.id = "cs-eval";
  ev.addEventListener("click", async () => {
    ev.disabled = true; setState(t("computing"));
    try {
      cs.before = Number($("cs-before").value) || 12; cs.after = Number($("cs-after").value) || 6;
      const res = await sendJSON(`/cities/${state.city}/cases/${c.id}/evaluations`,
        { before_months: cs.before, after_months: cs.after });
      cs.evals[c.id] = res;
      setState(""); renderEvaluation(out, res, `#${c.id} ${c.title}`);
    } catch (e) { setState(errorText(e), true); }
    finally { ev.disabled = false; }
  });
  box.append(ev, out);
  if (cs.evals[c.id]) renderEvaluation(out, cs.evals[c.id], `#${c.id} ${c.title}`);
}

export function clearCases() { cs.list = []; cs.open = null; showPlace(null); renderCaseList(); renderCase(); setState(""); }

export function initCasesPanel() {
  $("cs-refresh").addEventListener("click", loadCases);
  document.addEventListener("qauipsiz:cases", loadCases);
}
