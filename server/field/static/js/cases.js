// My cases (群众上报 · 派单 · 接单 · 办结): the cases of my grids as pulled, the steps a
// worker takes from the phone (accept, hand back, done with a resolution, confirm
// another worker's done with a rating, claim a wish), and a new case opened from a
// visit's hazard. Steps are sent alone with the case's current version as base; the
// server decides (first to arrive wins) and a refusal shows on the home screen.

import { app, go, refreshBar } from "./app.js";
import * as db from "./db.js";
import { localTime, t } from "./i18n.js";
import { InputError, record } from "./local.js";
import { may } from "./me.js";
import { uuid7 } from "./clock.js";
import { field, h, mount, toast } from "./ui.js";

function categoryName(rules, key) {
  return (rules && rules.case_categories && rules.case_categories[key]) || key;
}

function statusTag(c) {
  return h("span", { class: c.pending ? "tag wait" : `tag case-${c.fields.status}` },
    c.pending ? t("wait_sync") : t(`case_${c.fields.status || "open"}`));
}

function item(c, rules) {
  const f = c.fields;
  return h("li", {}, h("a", { class: "row-link", href: `#case/${c.id}` },
    h("span", { class: "strong" }, f.title),
    h("span", { class: "muted" }, `${t(`kind_${f.kind}`)} · ${categoryName(rules, f.category)}`
      + (f.due_at ? ` · ${t("due", { at: localTime(f.due_at) })}` : "")),
    statusTag(c)));
}

/** The cases that ask something of me now (the home screen counts them). */
export function mine(cases, me) {
  return cases.filter((c) => !c.deleted && c.fields.assignee === me &&
    ["assigned", "accepted"].includes(c.fields.status));
}

export async function list() {
  const me = app.device.person;
  const [cases, rules] = [(await db.records("cases")).filter((c) => !c.deleted), await db.getMeta("rules")];
  const byDue = (a, b) => (a.fields.due_at || "9").localeCompare(b.fields.due_at || "9");
  const sections = [
    ["cases_mine", mine(cases, me)],
    may(app.device, "confirm_cases") &&
      ["cases_to_confirm", cases.filter((c) => c.fields.status === "done" && c.fields.assignee !== me)],
    ["cases_wishes", cases.filter((c) => c.fields.kind === "wish" && c.fields.status === "open")],
    may(app.device, "open_cases") &&
      ["cases_open", cases.filter((c) => c.fields.kind !== "wish" && c.fields.status === "open")],
  ].filter(Boolean);
  mount(h("div", { id: "cases" }, sections.map(([title, rows]) => h("section", { class: "card" },
    h("h2", {}, t(title), ` (${rows.length})`),
    rows.length ? h("ul", { class: "list" }, rows.sort(byDue).map((c) => item(c, rules)))
      : h("p", { class: "muted" }, t("cases_none"))))));
}

async function step(c, fields) {
  if (c.version === 0 || c.pending) throw new InputError(t("sync_first"));
  await record("cases", c.id, fields, { base: c.version, coalesce: false });
}

export async function detail(id) {
  const c = await db.record("cases", id);
  if (!c) return mount(h("p", { class: "card" }, t("not_found")));
  const me = app.device.person;
  const f = c.fields;
  const rules = await db.getMeta("rules");
  const hh = f.household ? await db.record("households", f.household) : null;
  const assignee = f.assignee ? await db.record("people", f.assignee) : null;
  const message = h("p", { class: "message error", role: "alert" });
  const act = (fields) => async () => {
    try {
      await step(c, fields);
      await refreshBar();
      go(`case/${id}`);
      toast(t("saved"));
    } catch (err) {
      message.textContent = err instanceof InputError ? err.message : String(err);
    }
  };
  const actions = [];
  const busy = c.pending || c.version === 0;
  if (!busy && f.status === "assigned" && f.assignee === me) {
    actions.push(h("button", { class: "primary big", id: "case-accept", onclick: act({ status: "accepted" }) }, t("case_accept")));
  }
  if (!busy && f.status === "accepted" && f.assignee === me) {
    const resolution = h("textarea", { id: "case-resolution", maxlength: "4000", rows: "3" });
    actions.push(field(t("case_resolution"), resolution), h("button", { class: "primary big", id: "case-done",
      onclick: () => (resolution.value.trim() ? act({ status: "done", resolution: resolution.value.trim() })()
        : (message.textContent = t("error_required", { what: t("case_resolution") }))) }, t("case_done_button")));
  }
  if (!busy && ["assigned", "accepted"].includes(f.status) && f.assignee === me) {
    actions.push(h("button", { class: "secondary", id: "case-return", onclick: act({ status: "open" }) }, t("case_return")));
  }
  if (!busy && f.status === "done" && f.assignee !== me && may(app.device, "confirm_cases")) {
    actions.push(h("p", { class: "label" }, t("case_confirm_help")), h("div", { class: "row stars" },
      [1, 2, 3, 4, 5].map((n) => h("button", { class: "small", id: `case-close-${n}`,
        onclick: act({ status: "closed", rating: n }) }, "★".repeat(n)))));
  }
  if (!busy && f.kind === "wish" && f.status === "open") {
    actions.push(h("button", { class: "primary big", id: "case-claim",
      onclick: act({ status: "assigned", assignee: me }) }, t("case_claim")));
  }
  const line = (label, value) => (value == null || value === "" ? null
    : h("div", { class: "kv" }, h("span", { class: "muted" }, label), h("span", {}, value)));
  mount(h("section", { class: "card", id: "case" },
    h("h1", {}, f.title, " ", statusTag(c)),
    line(t("case_kind"), t(`kind_${f.kind}`)), line(t("case_category"), categoryName(rules, f.category)),
    line(t("case_detail"), f.detail), hh ? h("div", { class: "kv" }, h("span", { class: "muted" }, t("household")),
      h("a", { href: `#household/${hh.id}` }, hh.fields.address || hh.fields.head_name || "—")) : null,
    line(t("case_reporter"), [f.reporter_name, f.reporter_phone].filter(Boolean).join(" ")),
    line(t("case_assignee"), assignee ? assignee.fields.name : f.assignee), line(t("case_due"), localTime(f.due_at)),
    line(t("case_received"), localTime(f.created_at)), line(t("case_resolution"), f.resolution),
    line(t("case_rating"), f.rating ? "★".repeat(f.rating) : null),
    busy ? h("p", { class: "muted" }, t("sync_first")) : null,
    message, actions));
}

/** A new case from a visit (its hazards as the title, its notes as the detail). */
export async function create(householdId, visitId) {
  const hh = await db.record("households", householdId);
  if (!hh) return mount(h("p", { class: "card" }, t("not_found")));
  const visit = visitId ? await db.record("visits", visitId) : null;
  const rules = await db.getMeta("rules");
  const categories = Object.entries((rules && rules.case_categories) || {});
  const category = h("select", { id: "case-category" }, h("option", { value: "" }, t("choose")),
    categories.map(([k, name]) => h("option", { value: k }, name)));
  const title = h("input", { type: "text", id: "case-title", maxlength: "200",
    value: visit && visit.fields.hazards ? visit.fields.hazards.join("、") : "" });
  const detail = h("textarea", { id: "case-detail", maxlength: "4000", rows: "3" },
    visit && visit.fields.notes ? visit.fields.notes : "");
  const message = h("p", { class: "message error", role: "alert" });
  const save = async (e) => {
    e.preventDefault();
    const missing = [[category, "case_category"], [title, "case_title"]].filter(([el]) => !el.value.trim());
    if (missing.length) {
      message.textContent = t("error_required", { what: missing.map(([, n]) => t(n)).join("、") });
      return;
    }
    const fields = { grid: hh.fields.grid, kind: "patrol", category: category.value,
                     title: title.value.trim(), household: hh.id };
    if (detail.value.trim()) fields.detail = detail.value.trim();
    if (visit) fields.visit = visit.id;
    try {
      const id = uuid7();
      await record("cases", id, fields, { coalesce: false });
      await refreshBar();
      go(`case/${id}`);
      toast(t("saved"));
    } catch (err) {
      message.textContent = err instanceof InputError ? err.message : String(err);
    }
  };
  mount(h("form", { class: "card", id: "case-form", onsubmit: save },
    h("h1", {}, t("case_new")), h("p", { class: "muted" }, hh.fields.address || "", " ", hh.fields.head_name || ""),
    !categories.length ? h("p", { class: "message error" }, t("no_categories")) : null,
    field(t("case_category"), category), field(t("case_title"), title), field(t("case_detail"), detail),
    message, h("button", { type: "submit", class: "primary big", id: "save" }, t("save"))));
}
