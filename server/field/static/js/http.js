// Requests to /api/v1 with bounded retries, as client_sdk/retry.py: network errors,
// 5xx and 429 are tried again after "equal jitter" backoff, or at least Retry-After
// (plus up to 10 %) when the server sends it. The answer of any other status is
// returned to the caller whatever it is.

export const API = new URL("../api/v1", location.href.replace(/\/field\/.*$/, "/field/")).pathname;

export class Unreachable extends Error {
  constructor(message, status = null) {
    super(message);
    this.status = status;
  }
}

export const policy = { attempts: 5, base: 500, cap: 30000, maxRetryAfter: 300000,
                        timeout: 60000, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

export function backoff(attempt) {
  const delay = Math.min(policy.cap, policy.base * 2 ** attempt);
  return delay / 2 + Math.random() * delay / 2;
}

export function retryAfterMs(value) {
  if (value == null) return null;
  const text = value.trim();
  if (/^[0-9]+$/.test(text)) return Number(text) * 1000;
  const when = Date.parse(text);
  return Number.isNaN(when) ? null : Math.max(0, when - Date.now());
}

/** One timed request: {status, data, ms} (ms: from sending to the parsed body). */
export async function once(method, path, body, token) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), policy.timeout);
  const start = performance.now();
  try {
    const resp = await fetch(API + path, { method, headers, signal: abort.signal,
      body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
      credentials: "omit" });
    let data = null;
    const text = await resp.text();
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    return { status: resp.status, data, headers: resp.headers, ms: performance.now() - start };
  } finally {
    clearTimeout(timer);
  }
}

export async function call(method, path, body, token) {
  let last = "";
  let lastStatus = null;
  for (let attempt = 0; attempt < policy.attempts; attempt++) {
    let delay;
    try {
      const answer = await once(method, path, body, token);
      if (answer.status !== 429 && answer.status < 500) return answer;
      lastStatus = answer.status;
      last = `HTTP ${answer.status}`;
      const wait = retryAfterMs(answer.headers.get("Retry-After"));
      if (wait !== null && wait > policy.maxRetryAfter) {
        throw new Unreachable(`busy: retry after ${Math.round(wait / 1000)} s`, answer.status);
      }
      delay = wait !== null ? wait + Math.random() * wait * 0.1 : backoff(attempt);
    } catch (err) {
      if (err instanceof Unreachable) throw err;
      last = String(err && err.message || err);
      lastStatus = null;
      if (!navigator.onLine) throw new Unreachable("offline");
      delay = backoff(attempt);
    }
    if (attempt + 1 < policy.attempts) await policy.sleep(delay);
  }
  throw new Unreachable(`server unreachable (${last})`, lastStatus);
}
