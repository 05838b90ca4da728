// Small progressive enhancements for plain forms, kept out of inline handlers so a strict CSP holds.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
document.addEventListener("change", (event) => {
  if (event.target.matches("input[data-autosubmit]")) event.target.form.requestSubmit();
});
