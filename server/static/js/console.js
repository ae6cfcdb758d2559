// The office console: print buttons. Everything else on these pages works without script.
"use strict";
document.addEventListener("click", function (ev) {
  var button = ev.target.closest("[data-print]");
  if (button) { ev.preventDefault(); window.print(); }
});
