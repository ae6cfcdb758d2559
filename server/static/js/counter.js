// The shop counter's pages (plain JavaScript, no build step; the pages work without it):
// running basket total, camera scanning where a camera is, print, clean history.
"use strict";

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
      if (n > 0 && !input.disabled) total += n * parseInt(input.dataset.price, 10);
    });
    out.textContent = fmt.format(total);
    over.hidden = total <= balance;
  }
  form.addEventListener("input", update);
  update();
}

// Card field: after an error the typed code stays, selected, so that a correction or
// the next scan (a USB scanner types like a keyboard, then Enter) replaces it.
function setupCardField() {
  var input = document.getElementById("card");
  if (!input) return;
  if (document.getElementById("lookup-error") && input.value) input.select();
}

// Scan the card's QR code with the camera only where the browser can (BarcodeDetector)
// and a camera exists; otherwise say so. Typing or a barcode scanner always works.
function setupScan() {
  var button = document.getElementById("scan");
  if (!button) return;
  var none = document.getElementById("no-camera");
  var media = navigator.mediaDevices;
  if (!("BarcodeDetector" in window) || !media || !media.enumerateDevices) {
    none.hidden = false;
    return;
  }
  media.enumerateDevices().then(function (devices) {
    var camera = devices.some(function (d) { return d.kind === "videoinput"; });
    if (camera) startScanButton(button); else none.hidden = false;
  }, function () { none.hidden = false; });
}

function startScanButton(button) {
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

// A page answering a form (an error shown in place) takes the address of its GET page,
// so Back and reload never ask to resend the form.
function setupCleanUrl() {
  var el = document.querySelector("[data-clean-url]");
  if (el) history.replaceState(null, "", el.getAttribute("data-clean-url"));
}

document.addEventListener("click", function (ev) {
  var target = ev.target.closest ? ev.target.closest("[data-print]") : null;
  if (target) window.print();
});

document.addEventListener("DOMContentLoaded", function () {
  setupTotal();
  setupCardField();
  setupScan();
  setupCleanUrl();
});
