// One sync, exactly as client_sdk/syncer.py: push the outbox in batches, pull the
// scope page by page. Each answer lands in ONE IndexedDB transaction (acknowledged
// changes leave the outbox, rejected ones move to "rejected" and their effect leaves
// the local view, the page's records are written, evictions applied, the cursor
// saved), so a sync cut anywhere (network, tab closed) resumes from the last answer
// stored: the outbox still holds every unacknowledged change (the server deduplicates
// by op id) and the cursor every page already stored.
//
// Beyond the 200: 410 cursor_expired (or a 400 naming the cursor) drops the cursor and
// every record without pending changes and pulls again from null, keeping the outbox;
// 413 halves the batch; clock_skew re-stamps and re-signs with new op ids after
// adopting the server's clock offset (at most MAX_RESTAMPS times per change).

import { HybridClock, isoMs, parseIsoMs, tooFarAhead, uuid7 } from "./clock.js";
import * as db from "./db.js";
import { call } from "./http.js";
import { exclusive } from "./lock.js";
import { fold, row, signChange, unsigned, viewOf } from "./local.js";

const MAX_RESTAMPS = 3;
const MAX_RESTARTS = 3;
const ACKED = ["applied", "conflict", "duplicate"];
export const settings = { batchSize: 500, batchBytes: 2000000, pageLimit: 1000 };

export class SyncError extends Error {
  constructor(message, code = null, status = null) {
    super(message);
    Object.assign(this, { code, status });
  }
}

function emptySummary() {
  return { applied: 0, duplicate: 0, conflict: 0, rejected: 0, pulled: 0, evicted: 0,
           pages: 0, restamped: 0, restarts: 0, networkMs: 0, storeMs: 0 };
}

function namesCursor(data) {
  const fields = data && data.error && data.error.fields;
  return Boolean(fields && typeof fields === "object" && "cursor" in fields);
}

function checkAnswer(data, sent) {
  const ok = data && Array.isArray(data.results) && Array.isArray(data.changes) &&
    Array.isArray(data.evict) && typeof data.cursor === "string" &&
    typeof data.has_more === "boolean" && typeof data.server_time === "string";
  if (!ok) throw new SyncError("unexpected answer from the server", "protocol");
  if (data.results.length !== sent) {
    throw new SyncError(`sent ${sent} changes, got ${data.results.length} results`, "protocol");
  }
}

function size(change) {
  return JSON.stringify(change).length;
}

/** The oldest outbox rows, at most ``limit`` and about ``maxBytes``; stops before a
 *  never-sent change to a record already in the batch (it is rebased once the first
 *  is acknowledged, instead of conflicting with it). */
function pickBatch(rows, limit, maxBytes) {
  const batch = [];
  const seen = new Set();
  let bytes = 0;
  for (const r of rows) {
    const n = size(r.change);
    if (batch.length && (batch.length >= limit || bytes + n > maxBytes)) break;
    if (seen.has(r.k) && !r.attempted) break;
    seen.add(r.k);
    batch.push(r);
    bytes += n;
  }
  return batch;
}

export function sync(token, onProgress = () => {}) {
  const run = () => new Syncer(token, onProgress).run();
  if (navigator.locks) {
    return navigator.locks.request("gridsync-field-sync", { ifAvailable: true }, (lock) => {
      if (!lock) throw new SyncError("a sync is already running", "busy");
      return run();
    });
  }
  return run();
}

class Syncer {
  constructor(token, onProgress) {
    this.token = token;
    this.onProgress = onProgress;
    this.summary = emptySummary();
    this.batchSize = settings.batchSize;
  }

  async run() {
    for (;;) {
      const { batch, cursor } = await exclusive(async () => {
        const rows = await db.read(["outbox"], (tx) => tx.all("outbox"));
        const picked = pickBatch(rows, this.batchSize, settings.batchBytes);
        const cur = await db.getMeta("cursor");
        if (picked.some((r) => !r.attempted)) {   // committed before sending: never coalesced into
          await db.write(["outbox"], async (tx) => {
            for (const r of picked) await tx.put("outbox", { ...r, attempted: true });
          });
        }
        return { batch: picked, cursor: cur === undefined ? null : cur };
      });
      const body = { cursor, changes: batch.map((r) => r.change), limit: settings.pageLimit };
      const answer = await call("POST", "/sync", body, this.token);
      this.summary.networkMs += answer.ms;
      const { status, data } = answer;
      if (status === 410 || (status === 400 && namesCursor(data))) {
        await this.restart(cursor, data && data.error && data.error.code);
        continue;
      }
      if (status === 413 && batch.length > 1) {
        this.batchSize = Math.max(1, Math.floor(batch.length / 2));
        continue;
      }
      if (status !== 200) {
        const err = (data && data.error) || {};
        throw new SyncError(err.message || `HTTP ${status}`, err.code || null, status);
      }
      checkAnswer(data, batch.length);
      const t0 = performance.now();
      const left = await exclusive(() => this.apply(batch, data));
      this.summary.storeMs += performance.now() - t0;
      this.summary.pages += 1;
      this.onProgress({ ...this.summary }, left);
      if (!data.has_more && left === 0) break;
    }
    const last = { at: isoMs(Date.now()), ...this.summary };
    await db.write(["meta"], (tx) => tx.put("meta", last, "last_sync"));
    return this.summary;
  }

  async restart(cursor, code) {
    if (cursor === null) throw new SyncError(`server refused a pull from the start (${code})`, code);
    if (this.summary.restarts >= MAX_RESTARTS) throw new SyncError(`cursor refused (${code})`, code);
    this.summary.restarts += 1;
    await exclusive(() => db.write(["meta", "records"], async (tx) => {
      await tx.delete("meta", "cursor");
      const store = tx.store("records");
      await new Promise((resolve, reject) => {
        const req = store.openCursor();
        req.onsuccess = () => {
          const c = req.result;
          if (!c) return resolve();
          if (!c.value.pending) c.delete();
          c.continue();
        };
        req.onerror = () => reject(req.error);
      });
    }));
  }

  // --- one answer: compute in memory (signing may await), then commit at once ----------
  async apply(batch, data) {
    const now = isoMs(Date.now());
    const [outboxRows, meta] = await db.read(["outbox", "meta"], async (tx) => [
      await tx.all("outbox"),
      { device: await tx.get("meta", "device"), key: await tx.get("meta", "key"),
        clock: await tx.get("meta", "clock"), serverHlc: await tx.get("meta", "server_hlc") },
    ]);
    const s = new State(outboxRows, meta);
    const pulledPending = data.changes
      .map((rec) => db.key(rec.collection, rec.id)).filter((k) => s.hasPending(k));
    await s.load([...batch.map((r) => r.k), ...pulledPending]);

    const rebuild = new Set();
    const skewed = [];
    for (let i = 0; i < batch.length; i++) {
      const out = batch[i];
      const result = data.results[i];
      if (!result || result.op !== out.op) throw new SyncError(`result for another op than ${out.op}`, "protocol");
      const { status, error } = result;
      if (ACKED.includes(status) && !(status === "duplicate" && error)) {
        this.summary[status] += 1;
        if (status === "conflict") {
          s.conflicts.push({ op: out.op, k: out.k, change: out.change, version: result.version ?? null, at: now });
        }
        s.removeOutbox(out.seq);
        await this.acknowledged(s, out.change, status, result.version);
      } else if ((status === "rejected" || status === "duplicate") && error && typeof error === "object") {
        if (error.code === "clock_skew" && (s.outbox.get(out.seq).restamps || 0) < MAX_RESTAMPS) {
          skewed.push(out.seq);
          continue;
        }
        this.summary.rejected += 1;
        s.rejected.push({ op: out.op, k: out.k, code: String(error.code || ""),
                          message: String(error.message || ""), change: out.change, at: now });
        s.removeOutbox(out.seq);
        rebuild.add(out.k);
      } else {
        throw new SyncError(`unreadable result for ${out.op}`, "protocol");
      }
    }
    this.page(s, data.changes, data.evict, data.server_time);
    for (const k of rebuild) s.rebuild(k);
    if (skewed.length) await this.restamp(s, skewed, data.server_time);
    s.meta.cursor = data.cursor;
    s.meta.last_contact = now;
    return s.commit();
  }

  async acknowledged(s, change, status, version) {
    const k = db.key(change.collection, change.id);
    const current = s.recs.get(k);
    if (!current) return;
    const pending = Math.max(0, current.pending - 1);
    const view = viewOf(current);
    const server = "server" in current ? current.server : { ...view };
    const base = change.base || 0;
    const known = fold(server, [change]);
    if (status === "applied" && Number.isInteger(version) && version === base + 1 &&
        (server === null || server.version === base)) {
      known.version = view.version = version;
      await this.rebase(s, change, version);
    }
    s.put(row(view, pending, known));
  }

  async rebase(s, acked, version) {
    for (const r of s.outboxFor(db.key(acked.collection, acked.id))) {
      if (r.attempted || r.change.base !== acked.base) continue;
      const change = { ...unsigned(r.change), op: uuid7(), base: version };
      s.replaceOutbox(r.seq, await signChange(change, s.key));
    }
  }

  page(s, changes, evict, serverTime) {
    let top = "";
    for (const rec of changes) {
      if (!rec || typeof rec !== "object" || !("fields" in rec) || !("version" in rec)) {
        throw new SyncError("a pulled record is incomplete", "protocol");
      }
      const view = viewOf(rec);
      const k = db.key(rec.collection, rec.id);
      const outs = s.outboxFor(k).map((r) => r.change);
      s.put(outs.length ? row(fold(view, outs), outs.length, view) : row(view, 0));
      if (rec.hlc > top) top = rec.hlc;
    }
    for (const item of evict) s.drop(db.key(item.collection, item.id));
    this.summary.pulled += changes.length;
    this.summary.evicted += evict.length;
    if (top) {
      let skew;
      try {
        skew = tooFarAhead(top, parseIsoMs(serverTime));
      } catch {
        throw new SyncError(`unreadable stamp ${top} or time ${serverTime}`, "protocol");
      }
      if (!skew) {   // never let a stamp from the future drag this clock along
        s.clock.receive(top);
        if (top > (s.meta.server_hlc || s.serverHlc || "")) s.meta.server_hlc = top;
      }
    }
  }

  async restamp(s, skewedSeqs, serverTime) {
    const serverMs = parseIsoMs(serverTime);
    const clock = new HybridClock({ device: s.device.device_id, offset: serverMs - Date.now() });
    const newest = s.meta.server_hlc || s.serverHlc;
    if (newest) clock.receive(newest);
    const todo = new Set(skewedSeqs);
    for (const r of s.outboxAll()) {  // never-sent changes stamped by the same fast clock
      if (!r.attempted && tooFarAhead(r.change.hlc, serverMs)) todo.add(r.seq);
    }
    await s.load([...todo].map((seq) => s.outbox.get(seq).k));
    for (const seq of [...todo].sort((a, b) => a - b)) {
      const r = s.outbox.get(seq);
      const change = { ...unsigned(r.change), op: uuid7(), hlc: clock.now() };
      s.replaceOutbox(seq, await signChange(change, s.key), true);
      s.rebuild(r.k);
      this.summary.restamped += 1;
    }
    s.clock = clock;
  }
}

/** The records and outbox of one answer, changed in memory and committed at once. */
class State {
  constructor(outboxRows, meta) {
    this.outbox = new Map(outboxRows.map((r) => [r.seq, r]));
    this.removed = new Set();
    this.replaced = new Set();
    this.device = meta.device;
    this.key = meta.key;
    this.clock = new HybridClock(meta.clock || { device: meta.device.device_id });
    this.serverHlc = meta.serverHlc;
    this.meta = {};
    this.recs = new Map();
    this.dirty = new Set();
    this.conflicts = [];
    this.rejected = [];
  }

  hasPending(k) {
    for (const r of this.outbox.values()) if (r.k === k) return true;
    return false;
  }

  async load(keys) {
    const missing = [...new Set(keys)].filter((k) => !this.recs.has(k));
    if (!missing.length) return;
    const rows = await db.read(["records"], (tx) => Promise.all(missing.map((k) => tx.get("records", k))));
    missing.forEach((k, i) => this.recs.set(k, rows[i] || null));
  }

  outboxAll() {
    return [...this.outbox.values()].sort((a, b) => a.seq - b.seq);
  }

  outboxFor(k) {
    return this.outboxAll().filter((r) => r.k === k);
  }

  removeOutbox(seq) {
    this.outbox.delete(seq);
    this.removed.add(seq);
  }

  replaceOutbox(seq, change, restamped = false) {
    const r = this.outbox.get(seq);
    this.outbox.set(seq, { ...r, op: change.op, change, attempted: false,
                           restamps: (r.restamps || 0) + (restamped ? 1 : 0) });
    this.replaced.add(seq);
  }

  put(stored) {
    this.recs.set(stored.k, stored);
    this.dirty.add(stored.k);
  }

  drop(k) {
    this.recs.set(k, null);
    this.dirty.add(k);
  }

  rebuild(k) {
    const current = this.recs.get(k) ?? null;
    const outs = this.outboxFor(k).map((r) => r.change);
    let server = null;
    if (current) server = "server" in current ? current.server : viewOf(current);
    const view = fold(server, outs);
    if (view === null) this.drop(k);
    else this.put(row(view, outs.length, server));
  }

  /** Write everything; resolves with the number of changes left in the outbox. */
  commit() {
    return db.write(["records", "outbox", "meta", "conflicts", "rejected"], async (tx) => {
      for (const seq of this.removed) if (!this.outbox.has(seq)) tx.delete("outbox", seq);
      for (const seq of this.replaced) if (this.outbox.has(seq)) tx.put("outbox", this.outbox.get(seq));
      for (const k of this.dirty) {
        const r = this.recs.get(k);
        if (r) tx.put("records", r);
        else tx.delete("records", k);
      }
      for (const c of this.conflicts) tx.put("conflicts", c);
      for (const r of this.rejected) tx.put("rejected", r);
      for (const [name, value] of Object.entries(this.meta)) tx.put("meta", value, name);
      await tx.put("meta", this.clock.state(), "clock");
      return this.outbox.size;
    });
  }
}
