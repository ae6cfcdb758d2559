// Holding the server to its word (docs/protocol.md, Anchors): the ledger keys are
// trusted only through an unbroken chain of endorsements from the key pinned at
// enrolment; the phone keeps the newest checkpoint it verified and, at each sync,
// checks that the server's new checkpoint extends it (an RFC 6962 consistency proof).
// A server whose ledger shrank or was rewritten is refused, and the worker is told.

import { bytesToHex, canonicalBytes, hexToBytes } from "./codec.js";
import * as db from "./db.js";
import { once } from "./http.js";
import { verify } from "./keys.js";

export class AnchorError extends Error {}

async function sha256(...parts) {
  const size = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(size);
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", all));
}

export function nodeHash(left, right) {
  return sha256(Uint8Array.of(1), left, right);
}

function equal(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** RFC 9162 §2.1.4.2: throws unless ``path`` proves the tree of ``newSize`` leaves
 *  (root ``newRoot``, hex) keeps the tree of ``oldSize`` (``oldRoot``) as its start. */
export async function verifyConsistency(oldSize, newSize, path, oldRoot, newRoot) {
  const fail = (why) => { throw new AnchorError(`consistency: ${why}`); };
  if (newSize < oldSize) fail(`the ledger shrank from ${oldSize} to ${newSize} entries`);
  if (oldSize === 0) { if (path.length) fail("a proof from the empty tree is empty"); return; }
  if (oldSize === newSize) {
    if (path.length) fail("a proof between equal sizes is empty");
    if (oldRoot !== newRoot) fail(`two different ledgers of ${oldSize} entries`);
    return;
  }
  if (!path.length) fail("the path is empty");
  const proof = path.map(hexToBytes);
  const old = hexToBytes(oldRoot);
  if ((oldSize & (oldSize - 1)) === 0) proof.unshift(old);
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn & 1) { fn >>= 1; sn >>= 1; }
  let fr = proof[0];
  let sr = proof[0];
  for (const c of proof.slice(1)) {
    if (sn === 0) fail("the path is too long");
    if (fn & 1 || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (!(fn & 1) && fn) { fn >>= 1; sn >>= 1; }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn !== 0) fail("the path is too short");
  if (!equal(fr, old)) fail(`the old root at ${oldSize} does not match`);
  if (bytesToHex(sr) !== newRoot) fail(`the new root at ${newSize} does not match`);
}

/** The keys trusted from the one pinned at enrolment, through the endorsement chain of
 *  ``keys`` (GET /ledger/keys, oldest first): {key_id: public_key}. */
export async function trustedKeys(keys, pinned) {
  if (!keys.length || keys[0].key_id !== pinned.key_id || keys[0].public_key !== pinned.public_key) {
    throw new AnchorError("the server's first ledger key is not the one this phone was given");
  }
  const out = { [keys[0].key_id]: keys[0].public_key };
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i];
    const body = canonicalBytes({ key_id: k.key_id, public_key: k.public_key, created_at: k.created_at });
    if (!k.endorsement || !(await verify(keys[i - 1].public_key, body, k.endorsement))) {
      throw new AnchorError(`ledger key ${k.key_id} is not endorsed by ${keys[i - 1].key_id}`);
    }
    out[k.key_id] = k.public_key;
  }
  return out;
}

/** Throws unless ``cp`` is signed by one of ``trusted`` (over the canonical form of
 *  every key but ``sig``, unknown ones included). */
export async function verifyCheckpoint(cp, trusted) {
  const { sig, ...body } = cp;
  const key = trusted[cp.key_id];
  if (!key || typeof sig !== "string" || !(await verify(key, canonicalBytes(body), sig))) {
    throw new AnchorError(`checkpoint at ${cp.seq} is not signed by a trusted key`);
  }
  if (typeof cp.root !== "string" || !Number.isInteger(cp.seq)) {
    throw new AnchorError("checkpoint without a tree root");
  }
}

async function get(path, token) {
  const answer = await once("GET", path, undefined, token);
  if (answer.status !== 200) throw new AnchorError(`${path}: HTTP ${answer.status}`);
  return answer.data;
}

/** Check the server's current checkpoint against the newest one kept here; keep it
 *  when it extends that one. Resolves with {seq, at}; rejects with AnchorError when the
 *  server's ledger does not extend what this phone saw before. */
export async function checkLedger(device) {
  const saved = await db.getMeta("checkpoint");
  const pinned = device.ledger_key;
  if (!pinned) throw new AnchorError("no ledger key was pinned at enrolment");
  const trusted = await trustedKeys((await get("/ledger/keys", device.token)).keys, pinned);
  const cp = await get("/ledger/checkpoint", device.token);
  await verifyCheckpoint(cp, trusted);
  if (saved) {
    let path = [];
    if (saved.seq > 0 && cp.seq > saved.seq) {
      path = (await get(`/ledger/proof/consistency?from=${saved.seq}&to=${cp.seq}`, device.token)).path;
    }
    await verifyConsistency(saved.seq, cp.seq, path, saved.root, cp.root);
  }
  await db.write(["meta"], (tx) => tx.put("meta", cp, "checkpoint"));
  return { seq: cp.seq, at: cp.at };
}
