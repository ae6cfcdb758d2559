// gridsync pages: a little plain JavaScript, no build step. Pages work without it;
// it adds one-tap-only forms and link sign-in (the counter's own script: counter.js).
"use strict";

// Forms marked data-once submit once: a double tap sends one request. (The server
// is idempotent anyway: the redeem form carries its own id.)
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  if (!form.hasAttribute("data-once")) return;
  var ask = form.getAttribute("data-confirm");
  if (ask && !window.confirm(ask)) { ev.preventDefault(); return; }
  if (form.dataset.sent) { ev.preventDefault(); return; }
  form.dataset.sent = "1";
  form.querySelectorAll("button[type=submit]").forEach(function (b) {
    setTimeout(function () { b.disabled = true; }, 0);
  });
});

// Personal link: the secret is in the #fragment (never sent to servers or logged).
// Take it out of the address bar at once, then post it once.
function setupLink() {
  var form = document.getElementById("link-form");
  if (!form) return;
  var secret = window.location.hash.slice(1);
  if (window.location.hash) {
    history.replaceState(null, "", window.location.pathname);
  }
  if (secret && form.hasAttribute("data-auto-link")) {
    document.getElementById("link-secret").value = decodeURIComponent(secret);
    form.requestSubmit();
  }
}

document.addEventListener("DOMContentLoaded", function () {
  setupLink();
});
