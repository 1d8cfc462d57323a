// Behaviour every page shares, kept out of the HTML so the Content-Security-Policy can forbid inline scripts:
// <form data-confirm="Question?"> asks before it submits; <select data-autosubmit> submits its form on change.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLSelectElement && field.hasAttribute("data-autosubmit") && field.form) field.form.submit();
});
