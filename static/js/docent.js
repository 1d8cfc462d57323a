// Behaviour every page shares, kept out of the HTML so the Content-Security-Policy can forbid inline scripts:
// <form data-confirm="Question?"> (or the button that submits it) asks before it submits; <select data-autosubmit>
// submits its form on change; <input type=checkbox data-check-all="form-id"> ticks every box of that form.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = (event.submitter && event.submitter.dataset.confirm) || (form instanceof HTMLFormElement && form.dataset.confirm);
  if (question && !window.confirm(question)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
document.addEventListener("change", (event) => {
  const all = event.target;
  if (!(all instanceof HTMLInputElement) || !all.dataset.checkAll) return;
  document.querySelectorAll(`input[type=checkbox][form="${CSS.escape(all.dataset.checkAll)}"]`).forEach((box) => { box.checked = all.checked; });
});
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLSelectElement && field.hasAttribute("data-autosubmit") && field.form) field.form.submit();
});
// On a phone the navigation is one row that scrolls sideways: bring the current page's entry into view.
document.addEventListener("DOMContentLoaded", () => {
  const nav = document.querySelector("header.top nav"), active = nav && nav.querySelector("a.active");
  if (active && nav.scrollWidth > nav.clientWidth) nav.scrollLeft = active.offsetLeft - nav.offsetLeft - (nav.clientWidth - active.offsetWidth) / 2;
});
// The phone menu: the header's navigation folds behind a button (CSS decides the width); Escape closes it.
(function () {
  const header = document.querySelector("header.top"), toggle = header && header.querySelector(".menu-toggle");
  if (!toggle) return;
  const set = (open) => { header.classList.toggle("open", open); toggle.setAttribute("aria-expanded", String(open)); };
  header.classList.add("collapsible");
  toggle.hidden = false;
  toggle.addEventListener("click", () => set(!header.classList.contains("open")));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && header.classList.contains("open")) { set(false); toggle.focus(); }
  });
})();
