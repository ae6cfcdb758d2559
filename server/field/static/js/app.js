// The field app: boot, top bar, bottom navigation, routes (#home, #households, ...),
// and the home screen with the sync button. docs/field-app.md tells the whole design.

import * as db from "./db.js";
import { enrolScreen } from "./enrol.js";
import { lang, localTime, setLang, t } from "./i18n.js";
import * as screens from "./screens.js";
import * as search from "./search.js";
import { SyncError, sync } from "./sync.js";
import { h, mount, toast } from "./ui.js";
import * as work from "./work.js";
import * as cases from "./cases.js";
import { once, Unreachable } from "./http.js";
import { AnchorError, checkLedger } from "./anchors.js";
import { gridName, may, refreshMe } from "./me.js";
import * as refused from "./refused.js";

export const app = { device: null, syncing: null, progress: null };
const STALE_MS = 30 * 60 * 1000;

const ROUTES = {
  home: () => home(),
  households: () => screens.households(),
  household: (id) => screens.household(id),
  "new-household": () => screens.householdForm(null),
  edit: (id) => screens.householdForm(id),
  visit: (id) => screens.visit(id),
  hours: () => work.hours(),
  verify: () => work.verify(),
  conflicts: () => work.conflicts(),
  cases: () => cases.list(),
  case: (id) => cases.detail(id),
  "new-case": (household, visit) => cases.create(household, visit),
};
// What a route asks of the role (GET /me's ``may``); a route the role may not use opens home.
const NEEDS = { households: "households", household: "households", "new-household": "households",
                edit: "households", visit: "visits", hours: "service_logs", verify: "verify_logs",
                "new-case": "open_cases" };

// Resolves once the screen for ``route`` is drawn (a caller that reads the screen next, a
// test or a flow that chains screens, never sees the one it left).
export function go(route) {
  if (location.hash === `#${route}`) return render();
  return new Promise((resolve) => {
    // boot's hashchange listener was added first, so ``rendering`` is already this draw
    window.addEventListener("hashchange", () => resolve(rendering), { once: true });
    location.hash = route;
  });
}

// Renders run one after another (a sync ending, a tap and a hash change may each ask for
// one): a slow render of the screen just left can never be drawn over the new one.
let rendering = Promise.resolve();
function render() {
  rendering = rendering.then(draw, draw);
  return rendering;
}

async function draw() {
  await refreshBar();
  if (!app.device) {
    document.getElementById("nav").hidden = true;
    enrolScreen(async (dev) => {
      app.device = dev;
      go("home");
      runSync();
    });
    return;
  }
  document.getElementById("nav").hidden = false;
  const [name, ...args] = location.hash.replace(/^#/, "").split("/");
  const route = ROUTES[name] && may(app.device, NEEDS[name]) ? name : "home";
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("active", a.dataset.route === route || (route === "household" && a.dataset.route === "households") ||
      (route === "case" && a.dataset.route === "cases"));
  }
  try {
    await ROUTES[route](...args.map(decodeURIComponent));
  } catch (err) {
    mount(h("p", { class: "card message error" }, String(err.message || err)));
  }
}

export async function refreshBar() {
  const pending = app.device ? await db.read(["outbox"], (tx) => tx.count("outbox")) : 0;
  const net = document.getElementById("net");
  net.textContent = navigator.onLine ? t("online") : t("offline");
  net.className = navigator.onLine ? "pill online" : "pill offline";
  const badge = document.getElementById("pending");
  badge.textContent = t("pending", { n: pending });
  badge.hidden = !pending;
  document.getElementById("title").textContent = t("app");
  document.getElementById("lang").textContent = t("language");
  for (const a of document.querySelectorAll("#nav a")) {
    a.textContent = t(a.dataset.label);
    a.hidden = Boolean(app.device) && !may(app.device, a.dataset.may);
  }
  return pending;
}

function syncMessage(err) {
  if (err instanceof Unreachable || !navigator.onLine) return t("sync_offline");
  if (err instanceof SyncError && err.status === 401) return t("sync_revoked");
  if (err instanceof SyncError && err.code === "busy") return t("sync_busy");
  return t("sync_failed", { why: err.message || String(err) });
}

async function fetchRules() {
  const answer = await once("GET", "/rules", undefined, app.device.token);
  if (answer.status === 200) await db.write(["meta"], (tx) => tx.put("meta", answer.data, "rules"));
}

/** After a sync: the server's ledger must extend the newest checkpoint this phone
 *  verified (only servers that pin a ledger key at enrolment). A refusal is kept and
 *  shown until a later check passes; a network failure just waits for the next sync. */
async function checkAnchors() {
  if (!app.device.ledger_key) return;
  let problem = null;
  try {
    await checkLedger(app.device);
  } catch (err) {
    if (!(err instanceof AnchorError)) return;
    problem = { message: err.message, at: new Date().toISOString() };
  }
  await db.write(["meta"], (tx) => (problem ? tx.put("meta", problem, "ledger_problem")
    : tx.delete("meta", "ledger_problem")));
}

/** Sync now (one at a time); the home screen shows the progress while it runs. */
export function runSync() {
  if (app.syncing) return app.syncing;
  app.progress = { pulled: 0, pages: 0 };
  const started = performance.now();
  app.syncing = (async () => {
    drawProgress();
    let outcome;
    try {
      const summary = await sync(app.device.token, (s, left) => {
        app.progress = { ...s, left };
        drawProgress();
      });
      await fetchRules().catch(() => {});
      app.device = await refreshMe(app.device).catch(() => app.device);
      await checkAnchors();
      search.invalidate();
      summary.totalMs = performance.now() - started;
      if (summary.rejected) toast(t("sync_refused", { n: summary.rejected }), "error");
      else toast(t("sync_done", { sent: summary.applied + summary.conflict + summary.duplicate, pulled: summary.pulled }));
      outcome = summary;
    } catch (err) {
      toast(syncMessage(err), "error");
      outcome = { error: String(err.message || err), code: err.code || null };
    } finally {
      app.syncing = null;
      app.progress = null;
      app.lastOutcome = outcome;
      // home explains refusals: a screen without a form (one may show a refused record
      // that is gone now) gives way to it; a form being filled in is never taken away
      if (location.hash === "" || location.hash.startsWith("#home")) render();
      else if (outcome.rejected && !document.querySelector("#main form")) go("home");
      else refreshBar();
    }
    return outcome;
  })();
  return app.syncing;
}

function drawProgress() {
  const box = document.getElementById("progress");
  if (!box) return;
  const p = app.progress;
  box.hidden = !p;
  if (!p) return;
  box.querySelector(".count").textContent = t("sync_pulled", { n: p.pulled || 0 });
  // The server does not say how many records are left: each page fills the bar a
  // little less than the last, so it moves on every page and never claims to be done.
  const pages = p.pages || 0;
  box.querySelector(".bar-fill").style.width = `${Math.round(100 * (1 - 0.85 ** (pages + 1)))}%`;
}

async function home() {
  const [last, rejected, conflicts, counts, checkpoint, ledgerProblem] = await db.read(
    ["meta", "rejected", "conflicts", "records"], async (tx) => [
      await tx.get("meta", "last_sync"), await tx.all("rejected"), await tx.all("conflicts"),
      { households: await tx.countIndex("records", "collection", "households"),
        visits: await tx.countIndex("records", "collection", "visits") },
      await tx.get("meta", "checkpoint"), await tx.get("meta", "ledger_problem"),
    ]);
  const myCases = cases.mine(await db.records("cases"), app.device.person);
  const pending = await refreshBar();
  const me = await db.record("people", app.device.person);
  const button = h("button", { class: "primary huge", id: "sync", onclick: () => runSync() },
    app.syncing ? t("syncing") : t("sync_now"));
  if (app.syncing) button.disabled = true;
  const seen = conflicts.filter((c) => !c.seen);
  mount(h("div", {},
    h("section", { class: "card status" },
      h("p", { class: "who" }, t("enrol_who", { name: app.device.personName || (me ? me.fields.name : app.device.person),
                                              role: t(`role_${app.device.role}`) })),
      h("p", { class: "muted" }, t("enrol_grids", { grids: app.device.grids.map((g) => gridName(app.device, g)).join("、") })),
      h("p", { class: pending || rejected.length ? "big-number warn" : "big-number ok", id: "pending-count" },
        pending ? t("pending", { n: pending }) : rejected.length ? t("refused_n", { n: rejected.length }) : t("all_synced")),
      h("p", { class: "muted", id: "last-sync" }, last ? t("last_sync", { at: localTime(last.at) }) : t("never_synced")),
      may(app.device, "households") ? h("p", { class: "muted" }, t("records_here", counts)) : null,
      checkpoint ? h("p", { class: "muted", id: "ledger-ok" }, t("ledger_checked", { n: checkpoint.seq })) : null,
      button,
      h("div", { id: "progress", class: "progress", hidden: true },
        h("div", { class: "bar" }, h("div", { class: "bar-fill" })), h("p", { class: "count" }))),
    refused.card(app.device, rejected, render),
    myCases.length ? h("a", { class: "card notice", href: "#cases", id: "my-cases" },
      t("cases_waiting", { n: myCases.length })) : null,
    ledgerProblem ? h("section", { class: "card notice bad", id: "ledger-problem", role: "alert" },
      h("h2", {}, t("ledger_problem_title")), h("p", {}, t("ledger_problem")),
      h("p", { class: "muted" }, ledgerProblem.message)) : null,
    seen.length ? h("a", { class: "card notice", href: "#conflicts", id: "conflict-notice" },
      t("conflicts_notice", { n: seen.length })) : null));
  drawProgress();
}

async function boot() {
  setLang(lang);
  document.getElementById("lang").addEventListener("click", () => {
    setLang(lang === "zh" ? "en" : "zh");
    render();
  });
  window.addEventListener("hashchange", render);
  window.addEventListener("online", () => { refreshBar(); if (app.device) runSync(); });
  window.addEventListener("offline", refreshBar);
  app.device = await db.getMeta("device") || null;
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js", { scope: "./" }).catch(() => {});
  }
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
  await render();
  window.fieldReady = true;
  // Opened with signal and something to send (or not synced for a while): sync now,
  // so yesterday's visits do not wait for the worker to remember the button.
  if (app.device && navigator.onLine) {
    const last = await db.getMeta("last_sync");
    const stale = !last || Date.now() - Date.parse(last.at) > STALE_MS;
    if (stale || (await refreshBar()) > 0) runSync();
  }
}

window.fieldApp = { app, runSync, go };
boot();
