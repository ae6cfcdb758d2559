// Ids, times and the hybrid logical clock, as client_sdk makes them (docs/protocol.md,
// Sync → hlc): "<wall ms, 15 digits>:<counter, 5 digits>:<device id>".

const MAX_COUNTER = 99999;
export const MAX_SKEW_MS = 300000;

export function isoMs(ms) {
  return new Date(ms).toISOString();   // always YYYY-MM-DDTHH:MM:SS.sssZ
}

export function parseIsoMs(text) {
  const ms = Date.parse(text);
  if (typeof text !== "string" || !text.endsWith("Z") || Number.isNaN(ms)) {
    throw new Error(`not an RFC 3339 UTC time: ${text}`);
  }
  return ms;
}

/** A lowercase UUIDv7: 48-bit Unix ms, version 7, random bits. */
export function uuid7(ms = Date.now()) {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let t = ms;
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function formatHlc(wall, counter, device) {
  return `${String(wall).padStart(15, "0")}:${String(counter).padStart(5, "0")}:${device}`;
}

export function parseHlc(stamp) {
  const m = /^([0-9]{15}):([0-9]{5}):([A-Za-z0-9_-]{1,64})$/.exec(stamp);
  if (!m) throw new Error(`not an hlc stamp: ${stamp}`);
  return [Number(m[1]), Number(m[2]), m[3]];
}

export function tooFarAhead(stamp, serverMs) {
  return parseHlc(stamp)[0] > serverMs + MAX_SKEW_MS;
}

/** The clock state is plain data ({device, wall, counter, offset}) kept in IndexedDB
 *  with every change it stamped, so stamps only grow, across reloads too. */
export class HybridClock {
  constructor({ device, wall = 0, counter = 0, offset = 0 }) {
    Object.assign(this, { device, wall, counter, offset });
  }

  physical() {
    return Date.now() + this.offset;
  }

  advance(wall, counter) {
    if (counter > MAX_COUNTER) [wall, counter] = [wall + 1, 0];
    this.wall = wall;
    this.counter = counter;
    return formatHlc(wall, counter, this.device);
  }

  now(physical = this.physical()) {
    if (physical > this.wall) return this.advance(physical, 0);
    return this.advance(this.wall, this.counter + 1);
  }

  receive(remote, physical = this.physical()) {
    const [rWall, rCounter] = parseHlc(remote);
    const wall = Math.max(this.wall, rWall, physical);
    let counter = 0;
    if (wall === this.wall && wall === rWall) counter = Math.max(this.counter, rCounter) + 1;
    else if (wall === this.wall) counter = this.counter + 1;
    else if (wall === rWall) counter = rCounter + 1;
    return this.advance(wall, counter);
  }

  state() {
    return { device: this.device, wall: this.wall, counter: this.counter, offset: this.offset };
  }
}
