// The test chat page: streams an answer over Server-Sent Events and lists its citations.
(function () {
  const box = document.getElementById("chat"), log = document.getElementById("log");
  const form = document.getElementById("ask"), input = document.getElementById("message");
  let conversation = null;
  function bubble(who, text) {
    const p = document.createElement("p");
    const b = document.createElement("strong"); b.textContent = who + ": ";
    const span = document.createElement("span"); span.textContent = text;
    p.append(b, span); log.append(p); return span;
  }
  const button = document.getElementById("ask-button"), status = document.getElementById("status");
  let busy = false;
  async function ask(question) {
    if (busy) return;
    busy = true; button.disabled = true; status.textContent = "Answering…";
    try { await stream(question); }
    catch (err) { bubble("Error", "The answer could not be loaded (" + err.message + ").").classList.add("error"); }
    finally { busy = false; button.disabled = false; status.textContent = ""; input.focus(); }
  }
  async function stream(question) {
    bubble("You", question);
    const answer = bubble(box.dataset.botName, "");
    const response = await fetch(box.dataset.url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "text/event-stream",
                "X-Organization": box.dataset.org, "X-CSRFToken": box.dataset.csrf},
      body: JSON.stringify({message: question, conversation_id: conversation}),
    });
    if (!response.ok || !(response.headers.get("Content-Type") || "").includes("text/event-stream")) {
      let message = "HTTP " + response.status;
      try { const body = await response.json(); if (body.error) message = body.error.message; } catch (e) { /* not JSON */ }
      answer.textContent = message; answer.classList.add("error"); return;
    }
    const reader = response.body.getReader(), decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true});
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end); buffer = buffer.slice(end + 2);
        const event = (frame.match(/^event: (.*)$/m) || [])[1];
        const data = JSON.parse((frame.match(/^data: (.*)$/m) || [])[1] || "{}");
        if (event === "token") answer.textContent += data.text;
        else if (event === "citations" && data.citations.length) {
          const list = document.createElement("ol");
          data.citations.forEach(c => { const li = document.createElement("li"); li.value = c.marker;
            const link = document.createElement("a"); link.href = "/documents/" + encodeURIComponent(c.document_id) + "/";
            link.textContent = c.document_title;
            li.append(link, (c.page ? ", page " + c.page : "") + " — " + c.snippet); list.append(li); });
          log.append(list);
        } else if (event === "done") conversation = data.conversation_id;
        else if (event === "error") { answer.textContent += " [" + data.message + "]"; answer.classList.add("error");
          if (data.conversation_id) conversation = data.conversation_id; }
      }
    }
  }
  form.addEventListener("submit", e => { e.preventDefault(); const q = input.value.trim(); if (q && !busy) { input.value = ""; ask(q); } });
  input.addEventListener("keydown", e => { if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); } });
  document.querySelectorAll(".suggestion").forEach(b => b.addEventListener("click", () => ask(b.textContent)));
})();
