// Households of my grids: search as you type, add and edit, the visits to each, and
// the door visit form (入户走访).

import { app, go, refreshBar } from "./app.js";
import * as db from "./db.js";
import { localTime, t } from "./i18n.js";
import { addHousehold, editHousehold, InputError, OUTCOMES, recordVisit } from "./local.js";
import { gridName, may } from "./me.js";
import * as search from "./search.js";
import { chips, field, h, mount, toast } from "./ui.js";

const SHOWN = 50;
const COMMON_NEEDS = { zh: ["送药", "陪诊", "助餐", "维修", "就业", "政策咨询"],
                       en: ["medicine", "clinic escort", "meals", "repairs", "jobs", "benefits advice"] };
const COMMON_HAZARDS = { zh: ["飞线充电", "楼道堆物", "燃气隐患", "独居老人", "消防通道堵塞"],
                         en: ["cable charging", "blocked stairwell", "gas risk", "lives alone", "blocked fire exit"] };

function pendingMark(row) {
  return row.pending ? h("span", { class: "tag wait" }, t("wait_sync")) : null;
}

export async function households() {
  const input = h("input", { type: "search", id: "search", placeholder: t("search"),
                             autocomplete: "off", enterkeyhint: "search" });
  const count = h("p", { class: "muted", id: "count" });
  const list = h("ul", { class: "list", id: "households" });
  let drawn = 0;
  const draw = async () => {
    const mine = ++drawn;
    const { total, rows } = await search.find(input.value, SHOWN);
    if (mine !== drawn) return;    // a later keystroke's answer is (or will be) shown
    count.textContent = total > rows.length ? t("households_shown", { n: total, m: rows.length })
      : t("households_count", { n: total });
    list.replaceChildren(...(rows.length ? rows.map((r) => h("li", {},
      h("a", { href: `#household/${r.id}`, class: "row-link" },
        h("span", { class: "strong" }, r.fields.address || "—"),
        h("span", { class: "muted" }, [r.fields.head_name, r.fields.members != null ? t("members_n", { n: r.fields.members }) : null]
          .filter(Boolean).join(" · ")),
        pendingMark(r))))
      : [h("li", { class: "muted empty" }, t("no_households"))]));
  };
  input.addEventListener("input", draw);
  mount(h("div", {},
    h("div", { class: "sticky" }, input,
      h("a", { class: "button primary", href: "#new-household", id: "add-household" }, `＋ ${t("add_household")}`)),
    count, list));
  await draw();
}

const OUTCOME_LABEL = (o) => t(`outcome_${o}`);

export async function household(id) {
  const row = await db.record("households", id);
  if (!row) return mount(h("p", { class: "card" }, t("not_found")));
  const visits = (await db.records("visits")).filter((v) => v.fields.household === id)
    .sort((a, b) => (b.fields.visited_at || "").localeCompare(a.fields.visited_at || ""));
  const f = row.fields;
  const line = (label, value) => (value == null || value === "" ? null
    : h("div", { class: "kv" }, h("span", { class: "muted" }, label), h("span", {}, value)));
  mount(h("div", {},
    h("section", { class: "card" },
      h("h1", {}, f.address || "—", " ", pendingMark(row)),
      line(t("head_name"), f.head_name), line(t("members"), f.members),
      line(t("phone"), f.phone), line(t("tags"), (f.tags || []).join("、")),
      line(t("notes"), f.notes), line(t("grid"), gridName(app.device, f.grid)),
      h("div", { class: "row" },
        h("a", { class: "button primary big", href: `#visit/${id}`, id: "record-visit" }, t("record_visit")),
        h("a", { class: "button secondary", href: `#edit/${id}`, id: "edit-household" }, t("edit")))),
    h("section", { class: "card" }, h("h2", {}, t("visits")),
      visits.length ? h("ul", { class: "list", id: "visits" }, visits.map((v) => h("li", { class: "visit" },
        h("span", { class: "strong" }, localTime(v.fields.visited_at), " · ", OUTCOME_LABEL(v.fields.outcome), " ", pendingMark(v)),
        v.fields.needs ? h("span", {}, `${t("needs")}：${v.fields.needs.join("、")}`) : null,
        v.fields.hazards ? h("span", { class: "hazard" }, `${t("hazards")}：${v.fields.hazards.join("、")}`) : null,
        v.fields.notes ? h("span", { class: "muted" }, v.fields.notes) : null,
        v.fields.hazards && may(app.device, "open_cases") ? h("a", { class: "button secondary small report", href: `#new-case/${id}/${v.id}` },
          t("case_report")) : null)))
        : h("p", { class: "muted" }, t("no_visits")))));
}

async function myGrids(current) {
  const grids = new Set(app.device.grids);
  for (const e of (await search.find("", 1e9)).rows) if (e.fields.grid) grids.add(e.fields.grid);
  if (current) grids.add(current);
  return [...grids].sort();
}

export async function householdForm(id) {
  const row = id ? await db.record("households", id) : null;
  if (id && !row) return mount(h("p", { class: "card" }, t("not_found")));
  const f = row ? row.fields : {};
  const grids = await myGrids(f.grid);
  const grid = h("select", { id: "hh-grid" }, grids.map((g) => h("option", { value: g, selected: g === f.grid },
    gridName(app.device, g))));
  const input = (name, attrs = {}) => h("input", { id: `hh-${name}`, type: "text", maxlength: "200",
                                                  value: f[name] ?? "", ...attrs });
  const address = input("address");
  const head = input("head_name");
  const members = input("members", { type: "number", inputmode: "numeric", min: "0", max: "99", value: f.members ?? "" });
  const phone = input("phone", { type: "tel" });
  const tags = input("tags", { value: (f.tags || []).join("，") });
  const notes = h("textarea", { id: "hh-notes", maxlength: "4000", rows: "3" }, f.notes || "");
  const message = h("p", { class: "message error", role: "alert" });
  const save = async (e) => {
    e.preventDefault();
    const fields = { grid: grid.value, address: address.value.trim() || null, head_name: head.value.trim() || null,
                     members: members.value === "" ? null : Number(members.value), phone: phone.value.trim() || null,
                     tags: tags.value.split(/[,，、]/).map((s) => s.trim()).filter(Boolean),
                     notes: notes.value.trim() || null };
    if (!fields.address && !fields.head_name) {
      message.textContent = t("error_required", { what: `${t("address")} / ${t("head_name")}` });
      return;
    }
    if (!fields.tags.length) fields.tags = null;
    try {
      let saved;
      if (row) {
        const changed = Object.fromEntries(Object.entries(fields)
          .filter(([k, v]) => JSON.stringify(v ?? null) !== JSON.stringify(f[k] ?? null)));
        if (!Object.keys(changed).length) return go(`household/${id}`);
        saved = await editHousehold(id, changed);
      } else {
        saved = await addHousehold(Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null)));
      }
      search.put(saved);
      await refreshBar();
      go(`household/${saved.id}`);
      toast(t("saved"));   // last: once shown, the next screen is on its way
    } catch (err) {
      message.textContent = err instanceof InputError ? err.message : String(err);
    }
  };
  mount(h("form", { class: "card", onsubmit: save, id: "household-form" },
    h("h1", {}, row ? t("edit") : t("add_household")),
    field(t("grid"), grid), field(t("address"), address), field(t("head_name"), head),
    field(t("members"), members), field(t("phone"), phone), field(t("tags"), tags, t("tags_help")),
    field(t("notes"), notes), message,
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary big", id: "save" }, t("save")),
      h("a", { class: "button secondary", href: row ? `#household/${id}` : "#households" }, t("cancel")))));
}

export async function visit(householdId) {
  const hh = await db.record("households", householdId);
  if (!hh) return mount(h("p", { class: "card" }, t("not_found")));
  let outcome = null;
  const lang = document.documentElement.lang === "en" ? "en" : "zh";
  const outcomes = h("div", { class: "outcomes", role: "radiogroup" });
  const drawOutcomes = () => outcomes.replaceChildren(...OUTCOMES.map((o) => h("button", {
    type: "button", id: `outcome-${o}`, role: "radio", "aria-checked": o === outcome ? "true" : "false",
    class: o === outcome ? "outcome on" : "outcome", onclick: () => { outcome = o; drawOutcomes(); },
  }, OUTCOME_LABEL(o))));
  drawOutcomes();
  const needs = chips(COMMON_NEEDS[lang], [], t("add_item"), t("add"));
  const hazards = chips(COMMON_HAZARDS[lang], [], t("add_item"), t("add"));
  const notes = h("textarea", { id: "visit-notes", maxlength: "4000", rows: "3" });
  const where = h("input", { type: "checkbox", id: "visit-location" });
  const message = h("p", { class: "message error", role: "alert" });
  const save = async (e) => {
    e.preventDefault();
    if (!outcome) { message.textContent = t("choose_outcome"); return; }
    const fields = { household: householdId, outcome, needs: needs.values(), hazards: hazards.values(),
                     notes: notes.value.trim() || undefined };
    if (where.checked) {
      const pos = await new Promise((resolve) => navigator.geolocation.getCurrentPosition(resolve,
        () => resolve(null), { timeout: 8000, maximumAge: 120000 }));
      if (pos) {
        fields.lat_e6 = Math.round(pos.coords.latitude * 1e6);
        fields.lon_e6 = Math.round(pos.coords.longitude * 1e6);
      } else toast(t("location_none"), "error");
    }
    try {
      await recordVisit(fields);
      await refreshBar();
      go(`household/${householdId}`);
      toast(t("saved"));   // last: once shown, the next screen is on its way
    } catch (err) {
      message.textContent = err instanceof InputError ? err.message : String(err);
    }
  };
  mount(h("form", { class: "card", onsubmit: save, id: "visit-form" },
    h("h1", {}, t("visit_title")),
    h("p", { class: "muted" }, hh.fields.address || "", " ", hh.fields.head_name || ""),
    h("div", { class: "label" }, t("outcome")), outcomes,
    h("div", { class: "label" }, t("needs")), needs.el,
    h("div", { class: "label" }, t("hazards")), hazards.el,
    field(t("notes"), notes),
    h("label", { class: "check" }, where, t("location")),
    message,
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary big", id: "save" }, t("save")),
      h("a", { class: "button secondary", href: `#household/${householdId}` }, t("cancel")))));
}
