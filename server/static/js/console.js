// The office console: print buttons, and buttons that ask before they act. Everything else on these pages works without script.
"use strict";
document.addEventListener("click", function (ev) {
  var button = ev.target.closest("[data-print]");
  if (button) { ev.preventDefault(); window.print(); return; }
  var ask = ev.target.closest("button[data-confirm]");
  if (ask && !window.confirm(ask.getAttribute("data-confirm"))) ev.preventDefault();
});
