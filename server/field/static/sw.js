// The field app's service worker (scope /field/). SHELL (prepended by the server:
// server/field/__init__.py) lists the shell's files and a version made from their
// contents. Install caches them all; activate drops older versions; a fetch of the
// shell is answered from the cache (the app opens with no network, after a reload and
// after the phone restarts). The API (/api/) is never cached: data lives in IndexedDB.

const CACHE = `gridsync-field-${SHELL.version}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL.files)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n.startsWith("gridsync-field-") && n !== CACHE)
      .map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || !url.pathname.startsWith("/field/")) {
    return;
  }
  // Any page address under /field/ is the app (routes live in the #fragment).
  const key = url.pathname.startsWith("/field/static/") || url.pathname === "/field/manifest.webmanifest"
    ? url.pathname : "/field/";
  event.respondWith(caches.open(CACHE).then((cache) => cache.match(key)).then((hit) => hit || fetch(event.request)));
});
