// Local edits, as client_sdk's FieldClient makes them: each one is checked, stamped
// with the device's clock, signed with the device key, and written with the record's
// new local view and the clock state in ONE IndexedDB transaction. A record is shown
// as saved only after that transaction committed.

import { canonicalBytes } from "./codec.js";
import { HybridClock, isoMs, uuid7 } from "./clock.js";
import * as db from "./db.js";
import { sign } from "./keys.js";
import { exclusive } from "./lock.js";

export const OUTCOMES = ["met", "not_home", "refused"];
export const FINAL = ["verified", "rejected"];
const REQUIRED = {
  households: ["grid"],
  visits: ["household", "visited_at", "outcome"],
  service_logs: ["volunteer", "activity", "started_at", "minutes"],
  cases: ["grid", "kind", "category", "title"],
};

export class InputError extends Error {}

// --- views ------------------------------------------------------------------------
export function viewOf(row) {
  const { collection, id, version, hlc, fields, deleted } = row;
  return { collection, id, version, hlc, fields, deleted };
}

export function applyChange(view, change) {
  const base = view || { collection: change.collection, id: change.id, version: 0, hlc: "",
                         fields: {}, deleted: false };
  const fields = { ...base.fields, ...change.fields };
  if (!view && fields.status === undefined) {   // what the server sets on create
    if (change.collection === "service_logs") fields.status = "recorded";
    if (change.collection === "cases") fields.status = "open";
  }
  return { collection: base.collection, id: base.id, version: base.version,
           hlc: base.hlc > change.hlc ? base.hlc : change.hlc, fields, deleted: change.deleted };
}

export function fold(server, changes) {
  let view = server;
  for (const change of changes) view = applyChange(view, change);
  return view;
}

export function isStatusChange(change) {
  return change.collection === "service_logs" && "status" in change.fields &&
    Object.keys(change.fields).length === 1;
}

export function unsigned(change) {
  const { sig: _sig, ...rest } = change;
  return rest;
}

export async function signChange(change, key) {
  const body = unsigned(change);
  return { ...body, sig: await sign(key, canonicalBytes(body)) };
}

/** A stored row: the view, how many changes are pending, the server's own state. */
export function row(view, pending, server) {
  const out = { k: db.key(view.collection, view.id), ...view, pending };
  if (pending > 0) out.server = server;
  return out;
}

// --- the device ---------------------------------------------------------------------
export async function device() {
  const [dev, key, clock] = await db.read(["meta"], (tx) =>
    Promise.all([tx.get("meta", "device"), tx.get("meta", "key"), tx.get("meta", "clock")]));
  if (!dev || !key) throw new InputError("not enrolled");
  return { dev, key, clock: new HybridClock(clock || { device: dev.device_id }) };
}

function checkText(name, value, max) {
  if (value != null && (typeof value !== "string" || value.length > max)) {
    throw new InputError(`${name}: at most ${max} characters`);
  }
}

function validate(change, creating) {
  const f = change.fields;
  for (const [name, value] of Object.entries(f)) {
    if (typeof value === "number" && !Number.isSafeInteger(value)) {
      throw new InputError(`${name}: whole numbers only`);
    }
  }
  checkText("notes", f.notes, 4000);
  for (const name of ["address", "head_name", "phone", "title"]) checkText(name, f[name], 200);
  checkText("detail", f.detail, 4000);
  if (f.members != null && f.members < 0) throw new InputError("members: 0 or more");
  if (f.minutes != null && !(f.minutes >= 1 && f.minutes <= 720)) {
    throw new InputError("minutes: 1 to 720");
  }
  if (f.outcome != null && !OUTCOMES.includes(f.outcome)) throw new InputError("outcome");
  if (creating && !change.deleted) {
    const missing = REQUIRED[change.collection].filter((n) => f[n] == null);
    if (missing.length) throw new InputError(`missing: ${missing.join(", ")}`);
  }
}

/** Record a change to (collection, id): see the module comment. Resolves with the
 *  record's new local row once it is durably in the outbox. */
export function record(collection, id, fields, { base = null, deleted = false, coalesce = true } = {}) {
  return exclusive(async () => {
    const { dev, key, clock } = await device();
    const k = db.key(collection, id);
    const [current, last] = await db.read(["records", "outbox"], async (tx) => {
      const rows = await tx.byIndex("outbox", "k", k);
      return [await tx.get("records", k), rows.length ? rows[rows.length - 1] : null];
    });
    const change = { op: uuid7(), collection, id, hlc: clock.now(), base, fields, deleted };
    validate(change, !current);
    let outRow;
    let pending;
    if (coalesce && last && !last.attempted && !isStatusChange(last.change)) {
      // Never sent: rewrite it with the union of fields, a new op and stamp and its
      // (oldest) base, so a phone's own edits never conflict with each other.
      const merged = { ...unsigned(last.change), op: change.op, hlc: change.hlc, deleted,
                       fields: { ...last.change.fields, ...fields } };
      validate(merged, false);
      outRow = { ...last, op: merged.op, change: await signChange(merged, key) };
      pending = current ? current.pending : 1;
    } else {
      outRow = { k, op: change.op, change: await signChange(change, key), attempted: false,
                 restamps: 0, at: isoMs(Date.now()) };
      pending = (current ? current.pending : 0) + 1;
    }
    let server = null;
    if (current) server = current.pending > 0 ? current.server : viewOf(current);
    const view = applyChange(current ? viewOf(current) : null, change);
    const stored = row(view, pending, server);
    await db.write(["records", "outbox", "meta"], async (tx) => {
      await tx.put("outbox", outRow);
      await tx.put("records", stored);
      await tx.put("meta", clock.state(), "clock");
    });
    return stored;
  });
}

// --- what the screens call -------------------------------------------------------------
function clean(fields) {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

export function addHousehold(fields) {
  return record("households", uuid7(), clean(fields));
}

export async function editHousehold(id, fields) {
  const current = await db.record("households", id);
  if (!current || current.deleted) throw new InputError("no such household on this phone");
  if (!Object.keys(fields).length) throw new InputError("nothing to change");
  return record("households", id, clean(fields), { base: current.version || null });
}

export async function recordVisit(fields) {
  const hh = await db.record("households", fields.household);
  if (!hh || hh.deleted) throw new InputError("no such household on this phone");
  const out = { visited_at: isoMs(Date.now()), ...clean(fields) };
  for (const list of ["needs", "hazards"]) if (out[list] && !out[list].length) delete out[list];
  return record("visits", uuid7(), out, { coalesce: false });
}

export function logHours(fields) {
  return record("service_logs", uuid7(), clean(fields));
}

export async function setStatus(id, status, me) {
  const log = await db.record("service_logs", id);
  if (!log || log.deleted) throw new InputError("no such log on this phone");
  if (log.version === 0 || log.pending) throw new InputError("sync first");
  if (FINAL.includes(log.fields.status)) throw new InputError(`already ${log.fields.status}`);
  if ([log.fields.volunteer, log.fields.recorded_by].includes(me)) {
    throw new InputError("four eyes");
  }
  return record("service_logs", id, { status }, { base: log.version, coalesce: false });
}
