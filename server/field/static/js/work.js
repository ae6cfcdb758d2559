// Service hours (record a volunteer's log), to verify (four eyes: logs of my grids'
// volunteers recorded by someone else), and conflicts (my edits that raced another).

import { app, refreshBar, go } from "./app.js";
import * as db from "./db.js";
import { localTime, t } from "./i18n.js";
import { FINAL, InputError, logHours, setStatus } from "./local.js";
import { field, h, mount, toast } from "./ui.js";

async function peopleNames() {
  const people = await db.records("people");
  return new Map(people.filter((p) => !p.deleted).map((p) => [p.id, p.fields]));
}

function activityName(rules, key) {
  const a = rules && rules.activities && rules.activities[key];
  return (a && a.name) || key;
}

function pad(n) {
  return String(n).padStart(2, "0");
}

export async function hours() {
  const [people, rules] = [await peopleNames(), await db.getMeta("rules")];
  const volunteers = [...people].filter(([, p]) => p.role === "volunteer")
    .sort((a, b) => a[1].name.localeCompare(b[1].name, "zh-CN"));
  const activities = Object.keys((rules && rules.activities) || {}).sort();
  const now = new Date();
  const volunteer = h("select", { id: "log-volunteer" }, h("option", { value: "" }, t("choose")),
    volunteers.map(([id, p]) => h("option", { value: id, selected: id === app.device.person }, `${p.name}（${id}）`)));
  const activity = h("select", { id: "log-activity" }, h("option", { value: "" }, t("choose")),
    activities.map((a) => h("option", { value: a }, activityName(rules, a))));
  const date = h("input", { type: "date", id: "log-date",
                            value: `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}` });
  const time = h("input", { type: "time", id: "log-time", value: `${pad(now.getHours())}:00` });
  const minutes = h("input", { type: "number", id: "log-minutes", inputmode: "numeric", min: "1", max: "720", value: "60" });
  const quick = h("div", { class: "row quick" }, [30, 60, 90, 120, 180].map((m) =>
    h("button", { type: "button", class: "small", onclick: () => { minutes.value = String(m); } }, `${m}`)));
  const notes = h("textarea", { id: "log-notes", maxlength: "4000", rows: "2" });
  const message = h("p", { class: "message error", role: "alert" });
  const save = async (e) => {
    e.preventDefault();
    const missing = [[volunteer, "volunteer"], [activity, "activity"], [date, "date"], [time, "time"]]
      .filter(([el]) => !el.value).map(([, name]) => t(name));
    if (missing.length) { message.textContent = t("error_required", { what: missing.join("、") }); return; }
    const m = Number(minutes.value);
    if (!Number.isInteger(m) || m < 1 || m > 720) { message.textContent = t("error_minutes"); return; }
    // The date and time are the phone's local ones; the protocol stores UTC.
    const started = new Date(`${date.value}T${time.value}:00`);
    try {
      await logHours({ volunteer: volunteer.value, activity: activity.value, minutes: m,
                       started_at: started.toISOString(), notes: notes.value.trim() || undefined });
      await refreshBar();
      go("hours");
      toast(t("saved"));   // last: once shown, the next screen is on its way
    } catch (err) {
      message.textContent = err instanceof InputError ? err.message : String(err);
    }
  };
  const logs = (await db.records("service_logs")).filter((l) => l.fields.recorded_by === app.device.person || l.pending)
    .sort((a, b) => (b.fields.started_at || "").localeCompare(a.fields.started_at || "")).slice(0, 20);
  mount(h("div", {},
    h("form", { class: "card", onsubmit: save, id: "hours-form" },
      h("h1", {}, t("hours_title")),
      !activities.length ? h("p", { class: "message error" }, t("no_rules")) : null,
      !volunteers.length ? h("p", { class: "message error" }, t("no_volunteers")) : null,
      field(t("volunteer"), volunteer), field(t("activity"), activity),
      h("div", { class: "row two" }, field(t("date"), date), field(t("time"), time)),
      field(t("minutes"), minutes), quick, field(t("notes"), notes), message,
      h("button", { type: "submit", class: "primary big", id: "save" }, t("save"))),
    logs.length ? h("section", { class: "card" }, h("h2", {}, t("recent_logs")),
      h("ul", { class: "list" }, logs.map((l) => logItem(l, people, rules)))) : null));
}

function logItem(l, people, rules, ...actions) {
  const f = l.fields;
  const who = (id) => (people.get(id) ? people.get(id).name : id);
  return h("li", { class: "log", "data-id": l.id },
    h("span", { class: "strong" }, `${who(f.volunteer)} · ${activityName(rules, f.activity)}`),
    h("span", {}, `${localTime(f.started_at)} · ${f.minutes} ${t("unit_min")}`),
    f.notes ? h("span", { class: "muted" }, f.notes) : null,
    f.recorded_by ? h("span", { class: "muted" }, t("recorded_by", { who: who(f.recorded_by) })) : null,
    h("span", { class: `tag ${f.status}` }, l.pending ? t("wait_sync") : t(`status_${f.status}`),
      f.points ? ` · ${t("points", { n: f.points })}` : ""),
    actions.length ? h("div", { class: "row" }, actions) : null);
}

export async function verify() {
  const [people, rules] = [await peopleNames(), await db.getMeta("rules")];
  const me = app.device.person;
  const logs = (await db.records("service_logs")).filter((l) => !l.deleted && !l.pending && l.version > 0 &&
    !FINAL.includes(l.fields.status) && l.fields.volunteer !== me && l.fields.recorded_by !== me)
    .sort((a, b) => (a.fields.started_at || "").localeCompare(b.fields.started_at || ""));
  const act = (id, status) => async () => {
    try {
      await setStatus(id, status, me);
      await refreshBar();
      go("verify");
      toast(t("saved"));   // last: once shown, the next screen is on its way
    } catch (err) {
      toast(err instanceof InputError ? err.message : String(err), "error");
    }
  };
  mount(h("section", { class: "card" },
    h("h1", {}, t("verify_title")), h("p", { class: "help" }, t("verify_help")),
    logs.length ? h("ul", { class: "list", id: "to-verify" }, logs.map((l) => logItem(l, people, rules,
      h("button", { class: "primary", onclick: act(l.id, "verified") }, t("verify_ok")),
      h("button", { class: "danger", onclick: act(l.id, "rejected") }, t("verify_reject")))))
      : h("p", { class: "muted" }, t("verify_none"))));
}

function show(value) {
  if (value == null) return "—";
  return Array.isArray(value) ? value.join("、") : String(value);
}

export async function conflicts() {
  const list = await db.read(["conflicts"], (tx) => tx.all("conflicts"));
  const items = [];
  for (const c of list.sort((a, b) => b.at.localeCompare(a.at))) {
    const current = await db.record(c.change.collection, c.change.id);
    const now = current ? current.fields : {};
    const head = c.change.collection === "households" ? (now.address || now.head_name || c.change.id) : c.change.id;
    for (const [name, mine] of Object.entries(c.change.fields)) {
      const same = JSON.stringify(now[name] ?? null) === JSON.stringify(mine ?? null);
      items.push(h("li", { class: same ? "conflict kept" : "conflict lost" },
        h("span", { class: "strong" }, `${head} · ${t(name)}`),
        h("span", {}, t("conflict_you", { v: show(mine) })),
        h("span", {}, t("conflict_now", { v: show(now[name]) })),
        h("span", { class: "muted" }, same ? t("conflict_kept") : t("conflict_lost"))));
    }
  }
  await db.write(["conflicts"], async (tx) => {
    for (const c of list) if (!c.seen) await tx.put("conflicts", { ...c, seen: true });
  });
  mount(h("section", { class: "card" }, h("h1", {}, t("conflicts_title")),
    items.length ? h("ul", { class: "list", id: "conflicts" }, items) : h("p", { class: "muted" }, t("conflicts_none"))));
}
