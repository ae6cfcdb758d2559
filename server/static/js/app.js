// gridsync pages: a little plain JavaScript, no build step. Pages work without it;
// it adds a running total, one-tap-only forms, camera scanning and link sign-in.
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

// Redeem form: live total, warn when over the balance.
function setupTotal() {
  var form = document.getElementById("redeem-form");
  if (!form) return;
  var out = document.getElementById("total");
  var over = document.getElementById("over");
  var balance = parseInt(document.getElementById("balance").dataset.balance, 10) || 0;
  var fmt = new Intl.NumberFormat(document.documentElement.lang);
  function update() {
    var total = 0;
    form.querySelectorAll("input[data-price]").forEach(function (input) {
      var n = parseInt(input.value, 10);
      if (n > 0) total += n * parseInt(input.dataset.price, 10);
    });
    out.textContent = fmt.format(total);
    over.hidden = total <= balance;
  }
  form.addEventListener("input", update);
  update();
}

// Counter: scan the card's QR code with the camera where the browser can
// (BarcodeDetector); typing the code always works.
function setupScan() {
  var button = document.getElementById("scan");
  if (!button || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
  var video = document.getElementById("scan-video");
  var msg = document.getElementById("scan-msg");
  var input = document.getElementById("card");
  var label = button.textContent;
  var stream = null;
  function stop() {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null; video.hidden = true; button.textContent = label;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    if (stream) { stop(); return; }
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } })
      .then(function (s) {
        stream = s; video.srcObject = s; video.hidden = false;
        button.textContent = button.dataset.msgStop;
        return video.play();
      })
      .then(function tick() {
        if (!stream) return;
        detector.detect(video).then(function (codes) {
          if (codes.length && codes[0].rawValue) {
            input.value = codes[0].rawValue.trim();
            stop();
            input.form.requestSubmit();
          } else {
            setTimeout(tick, 250);
          }
        }, function () { setTimeout(tick, 500); });
      })
      .catch(function () { stop(); msg.textContent = button.dataset.msgDenied; });
  });
}

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
  setupTotal();
  setupScan();
  setupLink();
});
