// The playground: streams an answer over Server-Sent Events, then shows the server's rendering of it
// (Markdown, citations, the evidence and feedback buttons). The conversation continues across questions.
(function () {
  const box = document.getElementById("chat"), log = document.getElementById("log");
  const form = document.getElementById("ask"), input = document.getElementById("message");
  const conversation = document.getElementById("conversation");
  const button = document.getElementById("ask-button"), status = document.getElementById("status");
  let busy = false;

  function turn(kind, who, text) {
    const li = document.createElement("li"); li.className = "turn " + kind;
    const head = document.createElement("div"); head.className = "turn-head";
    const name = document.createElement("strong"); name.textContent = who; head.append(name);
    const body = document.createElement("div"); body.className = "turn-body"; body.textContent = text;
    li.append(head, body); log.append(li); li.scrollIntoView({block: "nearest"});
    return {li, body};
  }
  async function rendered(answer, messageId) {
    // The stored answer, rendered by the server: it replaces the streamed text.
    const response = await fetch(box.dataset.turnUrl + encodeURIComponent(messageId) + "/", {credentials: "same-origin"});
    if (!response.ok) return;
    const holder = document.createElement("template");
    holder.innerHTML = (await response.text()).trim();
    const fresh = holder.content.firstElementChild;
    if (!fresh) return;
    answer.li.replaceWith(fresh);
    if (window.htmx) window.htmx.process(fresh);
  }
  function listed(id, title) {
    // A new conversation joins the list of the user's test conversations at the top, marked as the open one.
    const list = document.getElementById("history-list");
    if (!list) return;
    list.querySelectorAll("a.active").forEach(a => { a.classList.remove("active"); a.removeAttribute("aria-current"); });
    const li = document.createElement("li"), link = document.createElement("a");
    link.href = "?conversation=" + encodeURIComponent(id); link.textContent = title.slice(0, 60);
    link.className = "active"; link.setAttribute("aria-current", "page");
    li.append(link); list.prepend(li); list.hidden = false;
    const none = document.getElementById("history-none"); if (none) none.hidden = true;
  }
  async function ask(question) {
    if (busy) return;
    busy = true; button.disabled = true; status.textContent = "Answering…";
    try { await stream(question); }
    catch (err) { turn("answer status-failed", "Error", "The answer could not be loaded (" + err.message + ")."); }
    finally { busy = false; button.disabled = false; status.textContent = ""; input.focus(); }
  }
  async function stream(question) {
    const data = new FormData(form);
    data.set("message", question);
    turn("question", "You", question);
    const answer = turn("answer", box.dataset.botName, "");
    const response = await fetch(box.dataset.askUrl, {
      method: "POST", credentials: "same-origin", body: data,
      headers: {"Accept": "text/event-stream", "X-CSRFToken": data.get("csrfmiddlewaretoken")},
    });
    if (!response.ok || !(response.headers.get("Content-Type") || "").includes("text/event-stream")) {
      let message = "HTTP " + response.status;
      try { const body = await response.json(); if (body.error) message = body.error.message; } catch (e) { /* not JSON */ }
      answer.body.textContent = message; answer.li.classList.add("status-failed"); return;
    }
    const reader = response.body.getReader(), decoder = new TextDecoder();
    let buffer = "", messageId = null;
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true});
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end); buffer = buffer.slice(end + 2);
        const event = (frame.match(/^event: (.*)$/m) || [])[1];
        const payload = JSON.parse((frame.match(/^data: (.*)$/m) || [])[1] || "{}");
        if (event === "token") answer.body.textContent += payload.text;
        else if (event === "done" || event === "error") {
          if (event === "error") { answer.body.textContent += " [" + payload.message + "]"; answer.li.classList.add("status-failed"); }
          if (payload.conversation_id && conversation.value !== payload.conversation_id) {
            conversation.value = payload.conversation_id;
            listed(payload.conversation_id, question);
            history.replaceState(null, "", box.dataset.pageUrl + "?conversation=" + encodeURIComponent(payload.conversation_id));
          }
          messageId = payload.message_id;
        }
      }
    }
    if (messageId) await rendered(answer, messageId);
  }
  form.addEventListener("submit", e => { e.preventDefault(); const q = input.value.trim(); if (q && !busy) { input.value = ""; ask(q); } });
  input.addEventListener("keydown", e => { if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); } });
  document.querySelectorAll(".suggestion").forEach(b => b.addEventListener("click", () => ask(b.textContent)));
})();
