/* The "Cases" panel (issue 18, SARA): the city's problem-oriented cases — list, open one (its place on
   the map, problem, action plan), change its stage, mark an action done, add one, and evaluate it now
   from the plan's dates (POST /cities/{city}/cases/{id}/evaluations; the answer drawn as in the
   evaluation panel).  Shown to the roles holding the "cases" permission. */
import { map } from "./map.js";
import { state, today } from "./state.js";
import { $, errorText, esc, fetchJSON, t } from "./util.js";
import { drawnArea, fillCategorySelect, renderEvaluation, sendJSON, showPlace as showTreated } from "./evaluation.js";

export const CASE_STATUSES = ["scanning", "analysis", "response", "assessment", "closed"];
// the cases roles, and the district inspector for the cases in its own beat (api/routers/cases.py)
export const casesAllowed = () => state.perms.has("cases") || (state.role === "inspector" && state.perms.has("beat:own"));
const cs = { list: [], open: null, shape: null, evals: {}, before: 12, after: 6 };

function setState(msg, isError) {
  const el = $("cs-state");
  el.textContent = msg || ""; el.classList.toggle("error", !!isError);
}

export async function loadCases() {
  if (!casesAllowed()) return;
  fillNewCaseCategories();
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
  fillNewCaseCategories();
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
  } else if (c && c.place.ids && c.place.ids.length) { // its features with their 150 m discs
    showTreated(c.place, 150, null).then((g) => {
      const b = g && L.featureGroup(g.getLayers()).getBounds();
      if (b && b.isValid()) map.fitBounds(b, { padding: [40, 40], maxZoom: 16 });
    }).catch(() => {});
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

// the case on its printed report: summary, problem and the action plan (all text escaped)
function casePrintHTML(c) {
  const items = c.actions.map((a) => `<tr><td>${a.done_date ? "✓" : ""}</td><td>${esc(a.text)}</td><td>${esc(a.owner || "—")}</td>`
    + `<td>${esc(a.due_date || "—")}</td><td>${esc(a.done_date || "—")}</td></tr>`).join("");
  return `<p class="cs-summary">${esc((c.summary || {})[state.lang] || "")}</p>`
    + (c.problem.description ? `<p>${esc(c.problem.description)}</p>` : "")
    + `<table class="pp cs-plan"><tr><th></th><th>${esc(t("caseActionText"))}</th><th>${esc(t("caseOwner"))}</th>`
    + `<th>${esc(t("caseDue"))}</th><th>${esc(t("caseDone"))}</th></tr>${items}</table>`;
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
      setState(""); renderEvaluation(out, res, `#${c.id} ${c.title}`, () => casePrintHTML(c));
    } catch (e) { setState(errorText(e), true); }
    finally { ev.disabled = false; }
  });
  box.append(ev, out);
  if (cs.evals[c.id]) renderEvaluation(out, cs.evals[c.id], `#${c.id} ${c.title}`, () => casePrintHTML(c));
}

// a new case: title, place (layer features by id, or the area drawn in the Evaluation panel), problem, first item
function newCaseForm() {
  const f = document.createElement("form");
  f.id = "cs-new"; f.noValidate = true;
  f.innerHTML = `<h3 data-i18n="caseNew">${esc(t("caseNew"))}</h3>`
    + `<input id="cs-new-title" data-i18n-placeholder="caseTitleHint" placeholder="${esc(t("caseTitleHint"))}">`
    + `<div class="row"><select id="cs-new-layer"><option value="cameras" data-i18n="layer_cameras">${esc(t("layer_cameras"))}</option>`
    + `<option value="sos_buttons" data-i18n="layer_sos">${esc(t("layer_sos"))}</option>`
    + `<option value="lamps" data-i18n="layer_lamps">${esc(t("layer_lamps"))}</option>`
    + `<option value="area" data-i18n="caseDrawnArea">${esc(t("caseDrawnArea"))}</option></select>`
    + `<input id="cs-new-ids" data-i18n-placeholder="evIds" placeholder="${esc(t("evIds"))}"></div>`
    + `<div class="row"><select id="cs-new-category"></select><input id="cs-new-hours" placeholder="18-02" size="5"></div>`
    + `<input id="cs-new-first" data-i18n-placeholder="caseActionText" placeholder="${esc(t("caseActionText"))}">`
    + `<div class="row"><input id="cs-new-first-owner" data-i18n-placeholder="caseOwner" placeholder="${esc(t("caseOwner"))}">`
    + `<input id="cs-new-first-due" type="date"></div>`
    + `<button type="submit" id="cs-create" data-i18n="caseCreate">${esc(t("caseCreate"))}</button>`;
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const title = $("cs-new-title").value.trim();
    if (!title) { setState(t("caseNeedTitle"), true); return; }
    const body = { title };
    if ($("cs-new-layer").value === "area") {
      const area = drawnArea();
      if (!area) { setState(t("evNeedArea"), true); return; }
      body.area = area;
    } else {
      body.layer = $("cs-new-layer").value;
      const ids = $("cs-new-ids").value.split(/[\s,;]+/).filter(Boolean).map(Number);
      if (ids.some((x) => !Number.isInteger(x) || x < 0)) { setState(t("evIdsInvalid"), true); return; }
      if (ids.length) body.ids = ids;
    }
    if ($("cs-new-category").value) body.categories = [$("cs-new-category").value];
    if ($("cs-new-hours").value.trim()) body.hours = $("cs-new-hours").value.trim();
    const first = $("cs-new-first").value.trim();
    if (first) {
      const a = { text: first, owner: $("cs-new-first-owner").value.trim() || null };
      if ($("cs-new-first-due").value) a.due_date = $("cs-new-first-due").value;
      body.actions = [a];
    }
    try {
      const c = await sendJSON(`/cities/${state.city}/cases`, body);
      f.reset(); setState(t("caseSaved").replace("{id}", c.id));
      await loadCases(); openCase(c.id);
    } catch (e) { setState(errorText(e), true); }
  });
  return f;
}

export const fillNewCaseCategories = () => fillCategorySelect("cs-new-category");

export function clearCases() { cs.list = []; cs.open = null; showPlace(null); showTreated(null); renderCaseList(); renderCase(); setState(""); }

export function initCasesPanel() {
  $("cs-detail").before(newCaseForm());
  $("cs-refresh").addEventListener("click", loadCases);
  document.addEventListener("qauipsiz:cases", loadCases);
}
