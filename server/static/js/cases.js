// Cases pages: a print button for the report-code poster (no inline script: CSP).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-print]");
  if (button) window.print();
});
