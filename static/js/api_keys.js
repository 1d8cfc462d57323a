// The page showing a new API key: leave the POST URL, and offer to copy the key.
(function () {
  const secret = document.getElementById("new-api-key");
  if (!secret) return;
  // Reloading this page must not repeat the POST (that would create or rotate the key again).
  history.replaceState(null, "", secret.dataset.pageUrl);
  const button = document.getElementById("copy-api-key");
  if (!navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", () => navigator.clipboard.writeText(secret.textContent)
    .then(() => { button.textContent = "Copied"; }));
})();
