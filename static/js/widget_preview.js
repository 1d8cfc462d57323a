// The bot page's widget section: the live preview (the real widget.js in preview mode, fed the settings being
// edited through a `docent:preview` event) and the embed snippet's copy button.
(function () {
  const botForm = document.getElementById("bot-form"), widgetForm = document.getElementById("widget-form");
  if (!widgetForm) return;
  const value = (form, name) => { const field = form && form.elements.namedItem(name); return field ? field.value : ""; };
  const primaryField = widgetForm.elements.namedItem("primary_color");
  let primary = primaryField ? primaryField.value : "";

  function config() {
    const theme = {};
    widgetForm.querySelectorAll("[data-theme]").forEach(field => {
      if (field.value === "") return;
      theme[field.dataset.theme] = field.type === "number" ? Number(field.value) : field.value;
    });
    const handoff = widgetForm.elements.namedItem("handoff_enabled");
    return {
      name: value(botForm, "name") || "Your bot",
      avatar_url: value(widgetForm, "avatar_url"),
      welcome_message: value(botForm, "welcome_message"),
      suggested_questions: value(botForm, "suggested_questions").split("\n").map(line => line.trim()).filter(Boolean),
      handoff_enabled: Boolean(handoff && handoff.checked),
      theme,
    };
  }

  function send() { document.dispatchEvent(new CustomEvent("docent:preview", {detail: config()})); }

  // Colours that follow the primary colour keep following it while they have not been changed on their own.
  function followPrimary() {
    if (!primaryField || primaryField.value === primary) return;
    widgetForm.querySelectorAll('[data-default="primary"]').forEach(field => { if (field.value === primary) field.value = primaryField.value; });
    primary = primaryField.value;
  }

  let pending = 0;
  function schedule() { cancelAnimationFrame(pending); pending = requestAnimationFrame(() => { followPrimary(); send(); }); }
  [botForm, widgetForm].forEach(form => form && form.addEventListener("input", schedule));
  [botForm, widgetForm].forEach(form => form && form.addEventListener("change", schedule));
  document.addEventListener("docent:ready", send);

  document.querySelectorAll("[data-copy]").forEach(button => button.addEventListener("click", async () => {
    const source = document.querySelector(button.dataset.copy), status = document.querySelector("[data-copy-status]");
    try { await navigator.clipboard.writeText(source.textContent); if (status) status.textContent = "Copied."; }
    catch (err) {
      const range = document.createRange(); range.selectNodeContents(source);
      const selection = getSelection(); selection.removeAllRanges(); selection.addRange(range);
      if (status) status.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
    }
  }));
  send();
})();
