// Bytes, base64url and the canonical JSON of docs/protocol.md (RFC 8785 for the
// values the protocol allows: ASCII keys, strings, integers, booleans, null, arrays,
// objects). JSON.stringify escapes strings exactly as the server's canonical form
// does (", \, \b \f \n \r \t, other controls as \u00xx, nothing else), so only key
// order and numbers need care here.

const encoder = new TextEncoder();

export function utf8(text) {
  return encoder.encode(text);
}

export function b64urlEncode(bytes) {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function b64urlDecode(text) {
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function write(value, out) {
  if (value === null || typeof value === "boolean" || typeof value === "string") {
    out.push(JSON.stringify(value));
  } else if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TypeError(`not a protocol integer: ${value}`);
    out.push(String(value));
  } else if (Array.isArray(value)) {
    out.push("[");
    value.forEach((item, i) => {
      if (i) out.push(",");
      write(item, out);
    });
    out.push("]");
  } else if (typeof value === "object") {
    // Keys are ASCII (ids and field names), so UTF-16 order is code point order.
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    out.push("{");
    keys.forEach((key, i) => {
      if (i) out.push(",");
      out.push(JSON.stringify(key), ":");
      write(value[key], out);
    });
    out.push("}");
  } else {
    throw new TypeError(`cannot put ${typeof value} in canonical form`);
  }
}

export function canonical(value) {
  const out = [];
  write(value, out);
  return out.join("");
}

export function canonicalBytes(value) {
  return utf8(canonical(value));
}

export async function sha256Hex(bytes) {
  return bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}
