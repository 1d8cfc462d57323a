// The page showing a new webhook signing secret: leave the POST URL, and offer to copy the secret.
(function () {
  const secret = document.getElementById("new-webhook-secret");
  if (!secret) return;
  // Reloading this page must not repeat the POST (that would create the endpoint or rotate the secret again).
  history.replaceState(null, "", secret.dataset.pageUrl);
  const button = document.getElementById("copy-webhook-secret");
  if (!navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", () => navigator.clipboard.writeText(secret.textContent)
    .then(() => { button.textContent = "Copied"; }));
})();
