// Households of my grids in memory for search-as-you-type: one lower-cased string per
// household (address, head's name, phone, tags), filtered by substring on each
// keystroke. 10,000 households take a few milliseconds (bench/field_app.py).

import * as db from "./db.js";

let index = null;
// The last query and every entry it matched: typing on (a query that starts with the
// last one) can only narrow the matches, so the next keystroke scans those alone.
let last = { query: null, matches: null };

function entry(row) {
  const f = row.fields;
  const text = [f.address, f.head_name, f.phone, ...(f.tags || [])].filter(Boolean).join(" ");
  return { id: row.id, text: text.toLowerCase(), row };
}

// One collator for every comparison (a fresh one per localeCompare call is slow).
const collator = new Intl.Collator("zh-CN", { numeric: true });

function order(a, b) {
  return collator.compare(a.row.fields.address || "", b.row.fields.address || "");
}

export async function load() {
  const rows = await db.records("households");
  index = rows.filter((r) => !r.deleted).map(entry).sort(order);
  last = { query: null, matches: null };
  return index.length;
}

export function invalidate() {
  index = null;
  last = { query: null, matches: null };
}

export function put(row) {
  last = { query: null, matches: null };
  if (!index) return;
  const i = index.findIndex((e) => e.id === row.id);
  if (i >= 0) index.splice(i, 1);
  if (!row.deleted) {
    index.push(entry(row));
    index.sort(order);
  }
}

/** {total, rows}: households matching every word of ``query``, the first ``limit``. */
export async function find(query, limit = 50) {
  if (!index) await load();
  const text = query.toLowerCase();
  const words = text.split(/\s+/).filter(Boolean);
  const pool = last.query !== null && text.startsWith(last.query) ? last.matches : index;
  const matches = words.length ? pool.filter((e) => words.every((w) => e.text.includes(w))) : index;
  last = { query: text, matches };
  return { total: matches.length, rows: matches.slice(0, limit).map((e) => e.row) };
}
