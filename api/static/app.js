/* qauipsiz dashboard: vanilla JS over the vendored Leaflet, as native ES modules (js/*.js). No CDN, no
   build step.  This entry module wires the panels together and starts the dashboard.

   js/config.js   server configuration, colours, the layer list      js/state.js     the one state object
   js/util.js     DOM, translation, formats, API requests             js/map.js       map, basemap, heat tiles
   js/legend.js   the legend                                          js/filters.js   the filter form
   js/layers.js   layer loader registry, show/hide, busy panels       js/overlays.js  analysis and city layers
   js/recommend.js, js/patrol.js, js/review.js   the task panels      js/session.js   top bar, layer list, exports */
import { buildFilterControls } from "./js/filters.js";
import { reloadActive as reloadLayers, showLayer } from "./js/layers.js";
import { renderLegend } from "./js/legend.js";
import { hideLayer, map } from "./js/map.js";
import "./js/overlays.js";
import "./js/emerging.js";
import { initForecastPanel, renderForecastPanel } from "./js/forecast.js";
import { initRecommendPanel } from "./js/recommend.js";
import { initPatrolPanel, loadStations } from "./js/patrol.js";
import { initReviewPanel } from "./js/review.js";
import { initFixFirstPanel } from "./js/fixfirst.js";
import { initBeatPanel, renderBeatPanel, renderProfile as renderBeatProfile } from "./js/beat.js";
import { EVAL_PERM, initEvaluationPanel, renderEvaluationPanel } from "./js/evaluation.js";
import { casesAllowed, clearCases, initCasesPanel, loadCases, renderCase, renderCaseList } from "./js/cases.js";
import { applyLanguage, loadCity, whoami } from "./js/session.js";
import { state } from "./js/state.js";
import { $, fetchJSON, status } from "./js/util.js";
import "./js/incidents.js";
import { refreshCharts, renderCharts } from "./js/charts.js";
import { initComparePanel, renderCompare, setComparePanel } from "./js/compare.js";
import { initPrint } from "./js/printmap.js";
import { initSearch } from "./js/search.js";

// the analyst's tools (issue 17.11): the charts and the comparison panel follow every reload of the map's layers
// (filters applied or reset, sign-in, city), and the UI language
function reloadActive() { reloadLayers(); setComparePanel(); refreshCharts(); }
function initTools() {
  initSearch(); initPrint(); initComparePanel();
  document.querySelectorAll(".lang-btn").forEach((b) => b.addEventListener("click", () => setTimeout(() => {
    renderCharts(); renderCompare(); }, 0)));
}

// issue 18: the evaluation and cases panels follow the role (and the city)
function evalPanels() {
  $("eval-section").hidden = !state.perms.has(EVAL_PERM);
  $("cases-section").hidden = !casesAllowed();
  renderForecastPanel();
  if (casesAllowed()) loadCases(); else clearCases();
  renderEvaluationPanel();
  renderBeatPanel(); // the inspector's beat (issue 17)
}

async function init() {
  buildFilterControls();
  initPatrolPanel();
  initRecommendPanel();
  initReviewPanel();
  initFixFirstPanel();
  initBeatPanel();
  initTools();
  initEvaluationPanel();
  initCasesPanel();
  initForecastPanel();
  // phones: the side panel folds away over the map (CSS below 700 px); the button opens and closes it
  $("panel-toggle").addEventListener("click", () => {
    const open = document.body.classList.toggle("panel-open");
    $("panel-toggle").setAttribute("aria-expanded", open ? "true" : "false");
  });
  document.querySelectorAll(".lang-btn").forEach((b) => b.addEventListener("click", () => {
    state.lang = b.dataset.lang; localStorage.setItem("qauipsiz.lang", state.lang); applyLanguage();
    renderEvaluationPanel(); renderCaseList(); renderCase(); renderBeatProfile();
  }));
  $("filters").addEventListener("submit", (ev) => { ev.preventDefault(); reloadActive(); });
  $("filters").addEventListener("reset", () => setTimeout(reloadActive, 0));
  $("login").addEventListener("click", async () => {
    if (state.key) { state.key = ""; sessionStorage.removeItem("qauipsiz.key"); $("apikey").value = ""; }
    else { state.key = $("apikey").value.trim(); if (state.key) sessionStorage.setItem("qauipsiz.key", state.key); }
    Object.keys(state.layers).forEach(hideLayer);
    state.active.clear();
    await whoami(); evalPanels(); reloadActive();
  });
  $("city").addEventListener("change", async () => {
    state.city = $("city").value; Object.keys(state.layers).forEach(hideLayer);
    await loadCity(); if (state.perms.has("patrol")) loadStations();
    clearCases(); evalPanels();
    reloadActive();
  });
  try {
    const [cfg, cats, cities] = await Promise.all([fetchJSON("/config"), fetchJSON("/categories"), fetchJSON("/cities")]);
    state.minPublic = cfg.min_public_count;
    state.categories = cats; state.cities = cities;
    cats.forEach((c) => $("f-category").append(new Option(c["name_" + state.lang], c.category)));
    cities.forEach((c) => $("city").append(new Option(c["name_" + state.lang], c.city)));
    $("city").value = state.city;
    await loadCity();
  } catch (e) { status(e.message, true); }
  await whoami();
  evalPanels();
  reloadActive();
  document.body.dataset.ready = "1";
}

window.qauipsiz = { state, map, reloadActive, renderLegend, showLayer };
init();
