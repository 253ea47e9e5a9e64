/* The filter form: the query it makes, its hour and weekday controls, and the public (reduced) mode. */
import { WEEKDAYS } from "./config.js";
import { state } from "./state.js";
import { $, t } from "./util.js";

export function filterQuery(forPublic) {
  const q = new URLSearchParams();
  // the public layers are a fixed published table (group "all" here): no arbitrary category sets
  if (forPublic) return q;
  const cats = Array.from($("f-category").selectedOptions).map((o) => o.value);
  cats.forEach((c) => q.append("category", c));
  if ($("f-start").value) q.set("start", $("f-start").value);
  if ($("f-end").value) q.set("end", $("f-end").value);
  const hf = $("f-hour-from").value, ht = $("f-hour-to").value;
  if (hf !== "" && ht !== "" && hf !== ht) q.set("hours", hf + "-" + ht);
  const wd = Array.from(document.querySelectorAll("#f-weekdays input:checked")).map((i) => i.value);
  if (wd.length && wd.length < 7) wd.forEach((d) => q.append("weekdays", d));
  const light = document.querySelector("#f-light input:checked").value;
  if (light !== "any") q.set("light", light);
  if ($("f-district").value) q.set("district", $("f-district").value);
  // empty: the city default radius, the same for every filter and view
  if ($("f-bandwidth").value) q.set("bandwidth_m", $("f-bandwidth").value);
  return q;
}

export function buildFilterControls() {
  const hf = $("f-hour-from"), ht = $("f-hour-to");
  hf.innerHTML = ht.innerHTML = "";
  hf.append(new Option("—", "")); ht.append(new Option("—", ""));
  for (let h = 0; h < 24; h++) hf.append(new Option(String(h).padStart(2, "0") + ":00", h));
  for (let h = 1; h <= 24; h++) ht.append(new Option(String(h).padStart(2, "0") + ":00", h));
  const wd = $("f-weekdays");
  WEEKDAYS.forEach((d, i) => {
    const lab = document.createElement("label");
    const cb = document.createElement("input"); cb.type = "checkbox"; cb.value = i; cb.checked = true;
    const s = document.createElement("span"); s.dataset.day = d; s.textContent = t(d);
    lab.append(cb, s); wd.appendChild(lab);
  });
}

export function setPublicMode() {
  const pub = !state.perms.has("hotspots");
  document.querySelectorAll("#filters .row, #f-weekdays, #f-light, #f-district").forEach((el) => {
    const wrap = el.closest("label") && el.id === "f-district" ? el.closest("label") : el;
    wrap.style.display = pub && !el.contains($("apply")) ? "none" : "";
  });
}
