// Changes the server refused (sync results "rejected", docs/protocol.md): the home screen
// lists each with its reason in the phone's language (the server's error code is the
// key, here and only here), what to do, and everything that was typed, which stays on
// the phone until the user copies it or deletes it on purpose.

import * as db from "./db.js";
import { has, lang, localTime, t } from "./i18n.js";
import { gridName } from "./me.js";
import { h, toast } from "./ui.js";

const LABELS = { started_at: "date", visited_at: "date", category: "case_category", title: "case_title",
                 detail: "case_detail", resolution: "case_resolution", rating: "case_rating",
                 assignee: "case_assignee" };
const UNTYPED = ["household", "visit", "lat_e6", "lon_e6"];

/** The reason and what to do, for a rejection code (an unknown code: "not accepted"). */
export function reason(code) {
  const known = has(`err_${code}`);
  return { why: t(known ? `err_${code}` : "err_other"), todo: t(known ? `todo_${code}` : "todo_validation") };
}

function title(change) {
  const f = change.fields;
  if (change.collection === "households") return t("household");
  if (change.collection === "visits") return t("visit_title");
  if (change.collection === "cases") return t("nav_cases");
  if (f.minutes || f.volunteer) return t("hours_title");
  return t("verify_step", { status: t(`status_${f.status}`) });
}

function show(device, name, value) {
  if (Array.isArray(value)) return value.join("、");
  if (name === "grid") return gridName(device, value);
  if (name === "outcome") return t(`outcome_${value}`);
  if (name.endsWith("_at")) return localTime(value);
  return String(value);
}

/** "label：value" lines of what was typed. */
export function content(device, change) {
  return Object.entries(change.fields).filter(([name, v]) => v != null && !UNTYPED.includes(name))
    .map(([name, v]) => `${t(LABELS[name] || name)}${lang === "zh" ? "：" : ": "}${show(device, name, v)}`);
}

async function copy(text, box) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {   // no clipboard over plain http: select the text for the phone's own copy
    getSelection().selectAllChildren(box);
    if (!document.execCommand("copy")) return;
  }
  toast(t("refused_copied"));
}

/** The home screen's card of refused changes (null when there are none). */
export function card(device, rejected, redraw) {
  if (!rejected.length) return null;
  return h("section", { class: "card rejected", id: "rejected", role: "alert" },
    h("h2", {}, t("refused_title")), h("p", { class: "help" }, t("refused_help")),
    rejected.map((r) => {
      const { why, todo } = reason(r.code);
      const lines = content(device, r.change);
      const box = h("div", { class: "typed" }, lines.map((line) => h("p", {}, line)));
      const remove = h("button", { class: "small danger", onclick: async () => {
        if (!remove.classList.contains("confirm")) {
          remove.classList.add("confirm");
          remove.textContent = t("refused_confirm");
          return;
        }
        await db.write(["rejected"], (tx) => tx.delete("rejected", r.op));
        redraw();
      } }, t("refused_delete"));
      return h("div", { class: "item", "data-op": r.op },
        h("p", { class: "strong" }, `${title(r.change)} · ${localTime(r.at)}`),
        h("p", { class: "why" }, why), h("p", { class: "strong" }, todo), box,
        h("div", { class: "row" },
          h("button", { class: "small", onclick: () => copy(`${title(r.change)}\n${lines.join("\n")}\n${why}`, box) },
            t("refused_copy")), remove),
        r.message ? h("details", { class: "muted" }, h("summary", {}, t("refused_detail")),
          `${r.code}: ${r.message}`) : null);
    }));
}
