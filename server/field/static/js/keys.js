// The device's Ed25519 key, through one of two signing paths:
// - "webcrypto": WebCrypto Ed25519 with a NON-extractable private key; the CryptoKey
//   object itself is kept in IndexedDB (structured clone), its bytes never leave the
//   browser's key store;
// - "noble": where the browser has no WebCrypto Ed25519 (older in-app browsers), the
//   vendored @noble/ed25519 (vendor/noble-ed25519/, version in its VERSION file) with
//   WebCrypto SHA-512; the 32-byte seed is then kept in IndexedDB.
// Both give the same bytes (Ed25519 is deterministic): tests/field runs the protocol
// vectors through each.

import { b64urlDecode, b64urlEncode, hexToBytes } from "./codec.js";

const ED25519 = { name: "Ed25519" };
// PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410).
const PKCS8_PREFIX = hexToBytes("302e020100300506032b657004220420");

let noble = null;
async function nobleLib() {
  if (!noble) noble = await import("../vendor/noble-ed25519/index.js");
  return noble;
}

export async function webCryptoHasEd25519() {
  try {
    const pair = await crypto.subtle.generateKey(ED25519, false, ["sign", "verify"]);
    return Boolean(pair.privateKey);
  } catch {
    return false;
  }
}

async function rawPublic(publicKey) {
  return b64urlEncode(new Uint8Array(await crypto.subtle.exportKey("raw", publicKey)));
}

/** A new device key: WebCrypto where it can, else the vendored library. */
export async function generateKey(prefer = "auto") {
  if (prefer !== "noble" && (await webCryptoHasEd25519())) {
    const pair = await crypto.subtle.generateKey(ED25519, false, ["sign", "verify"]);
    return { kind: "webcrypto", privateKey: pair.privateKey,
             publicKey: await rawPublic(pair.publicKey) };
  }
  const ed = await nobleLib();
  const seed = crypto.getRandomValues(new Uint8Array(32));
  return { kind: "noble", seed, publicKey: b64urlEncode(await ed.getPublicKeyAsync(seed)) };
}

/** A key from a known 32-byte seed through the given path (the protocol vectors). */
export async function keyFromSeed(seed, kind) {
  if (kind === "webcrypto") {
    const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + 32);
    pkcs8.set(PKCS8_PREFIX);
    pkcs8.set(seed, PKCS8_PREFIX.length);
    const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, ED25519, false, ["sign"]);
    const ed = await nobleLib();   // the public half, to compare with the vectors' key
    return { kind, privateKey, publicKey: b64urlEncode(await ed.getPublicKeyAsync(seed)) };
  }
  const ed = await nobleLib();
  return { kind: "noble", seed, publicKey: b64urlEncode(await ed.getPublicKeyAsync(seed)) };
}

/** The unpadded base64url Ed25519 signature of ``bytes``. */
export async function sign(key, bytes) {
  if (key.kind === "webcrypto") {
    return b64urlEncode(new Uint8Array(await crypto.subtle.sign(ED25519, key.privateKey, bytes)));
  }
  const ed = await nobleLib();
  return b64urlEncode(await ed.signAsync(bytes, key.seed));
}

/** Whether ``sig`` is ``publicKey``'s signature over ``bytes`` (checked with the library,
 *  which rejects non-canonical encodings as the server does). */
export async function verify(publicKey, bytes, sig) {
  const ed = await nobleLib();
  try {
    return await ed.verifyAsync(b64urlDecode(sig), bytes, b64urlDecode(publicKey),
      { zip215: false });   // RFC 8032 strict, as the server's library
  } catch {
    return false;
  }
}
