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
// On a phone the navigation is one row that scrolls sideways: bring the current page's entry into view.
document.addEventListener("DOMContentLoaded", () => {
  const nav = document.querySelector("header.top nav"), active = nav && nav.querySelector("a.active");
  if (active && nav.scrollWidth > nav.clientWidth) nav.scrollLeft = active.offsetLeft - nav.offsetLeft - (nav.clientWidth - active.offsetWidth) / 2;
});
