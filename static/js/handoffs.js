// The handoff inbox: widget conversations waiting for a person and those members hold, live over the member
// WebSocket (docs/realtime.md). Frames are doorbells: on a handoff.* frame the page reads the list and the open
// transcript again from the API, so nothing is lost across reconnects.
(function () {
  const app = document.getElementById("handoffs-app");
  const org = app.dataset.org, csrf = app.dataset.csrf;
  const list = document.getElementById("handoff-list"), empty = document.getElementById("handoff-empty");
  const filter = document.getElementById("handoff-filter"), connection = document.getElementById("connection");
  const title = document.getElementById("handoff-title"), meta = document.getElementById("handoff-meta");
  const log = document.getElementById("handoff-log"), actions = document.getElementById("handoff-actions");
  const reply = document.getElementById("handoff-reply"), text = document.getElementById("reply-text");
  const status = document.getElementById("reply-status");
  const buttons = {claim: document.getElementById("claim"), release: document.getElementById("release"), resolve: document.getElementById("resolve")};
  const STATES = {waiting: "Waiting", with_agent: "With a person", resolved: "Resolved", bot: "With the bot"};
  let current = null, conversations = [], retry = 0;

  async function api(method, path, body) {
    const response = await fetch("/api/v1" + path, {
      method, credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-Organization": org, "X-CSRFToken": csrf},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw new Error((data && data.error && data.error.message) || "The request failed (" + response.status + ").");
    return data;
  }

  const item = data => data.handoff || data;
  const idOf = c => c.conversation_id;
  const visitorName = c => (c.visitor && (c.visitor.name || c.visitor.email)) || "Visitor " + String((c.visitor && c.visitor.id) || "").slice(-4);
  const botName = c => (c.bot && c.bot.name) || c.bot_name || "";
  const agentOf = c => (c.agent && (c.agent.name || c.agent.email)) || c.agent_name || "";
  const mine = c => c.agent && String(c.agent.id) === app.dataset.me;

  function node(tag, className, content) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (content !== undefined) el.textContent = content;
    return el;
  }

  async function refreshList() {
    const states = filter.value === "open" ? ["waiting", "with_agent"] : [filter.value];
    const pages = await Promise.all(states.map(state => api("GET", "/handoffs?state=" + state)));
    conversations = pages.flatMap(page => (Array.isArray(page) ? page : page.results || []).map(item));
    list.replaceChildren();
    for (const c of conversations) {
      const li = document.createElement("li"), link = node("a");
      link.href = "#" + idOf(c);
      const badge = node("span", "badge " + c.state, STATES[c.state] || c.state);
      const who = node("strong", "", visitorName(c) + (c.visitor && c.visitor.verified ? " ✓" : ""));
      const line = node("span", "muted small", " · " + botName(c) + (agentOf(c) ? " · " + agentOf(c) : ""));
      const since = c.requested_at ? new Date(c.requested_at).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"}) : "";
      const last = node("div", "muted small", (c.title || "") + (since ? " · asked at " + since : ""));
      link.append(who, line, document.createElement("br"), badge, last);
      if (idOf(c) === current) link.setAttribute("aria-current", "true");
      link.addEventListener("click", e => { e.preventDefault(); select(idOf(c)); });
      li.append(link); list.append(li);
    }
    empty.hidden = conversations.length > 0;
    document.title = (conversations.filter(c => c.state === "waiting").length ? "(" + conversations.filter(c => c.state === "waiting").length + ") " : "") + "Handoffs · Docent";
  }

  function passages(message) {
    const used = message.retrieval || [];
    if (!used.length) return null;
    const details = node("details", "passages"), summary = node("summary", "", "Passages the bot used (" + used.length + ")");
    const ol = document.createElement("ol");
    for (const p of used) {
      const li = document.createElement("li");
      const scores = [["score", p.score], ["vector", p.vector_score], ["text", p.text_score]]
        .filter(([, v]) => typeof v === "number").map(([k, v]) => k + " " + v.toFixed(3)).join(" · ");
      const cited = (message.citations || []).some(c => c.document_title === p.document_title && c.page === p.page);
      li.append(node("strong", "", p.document_title || "Document"), node("span", "muted", p.page ? ", page " + p.page : ""),
        node("span", "score", scores ? " · " + scores : ""), node("span", "muted", cited ? " · cited" : ""), node("div", "", p.snippet || ""));
      ol.append(li);
    }
    details.append(summary, ol); details.open = true;
    return details;
  }

  function renderTranscript(conversation, messages) {
    title.textContent = visitorName(conversation) + (botName(conversation) ? " · " + botName(conversation) : "");
    meta.textContent = (STATES[conversation.state] || conversation.state) + (agentOf(conversation) ? " · " + agentOf(conversation) : "") +
      (conversation.visitor && conversation.visitor.verified ? " · verified visitor" : "");
    log.replaceChildren();
    for (const m of messages) {
      const li = node("li", m.role);
      li.dataset.seq = m.seq;
      const who = m.role === "visitor" ? "Visitor" : m.role === "agent" ? (m.sender_name || "Agent") : m.role === "bot" ? "Bot" : "";
      if (who) li.append(node("strong", "", who + ": "));
      li.append(node("span", "", m.text || ""));
      if (m.role === "bot") { const used = passages(m); if (used) li.append(used); }
      log.append(li);
    }
    log.scrollTop = log.scrollHeight;
    if (messages.length && messages[messages.length - 1].role === "visitor") typing.textContent = "";
    const state = conversation.state;
    actions.hidden = false;
    buttons.claim.hidden = state !== "waiting";
    buttons.release.hidden = buttons.resolve.hidden = !(state === "waiting" || (state === "with_agent" && mine(conversation)));
    reply.hidden = !(state === "with_agent" && mine(conversation));
  }

  async function refreshCurrent() {
    if (!current) return;
    const data = await api("GET", "/handoffs/" + current);
    renderTranscript(item(data), data.messages || []);
  }

  async function select(id) {
    current = id; status.textContent = "";
    list.querySelectorAll("a").forEach(a => a.toggleAttribute("aria-current", a.hash === "#" + id));
    try { await refreshCurrent(); } catch (err) { meta.textContent = err.message; }
  }

  async function act(action) {
    if (!current) return;
    status.textContent = "";
    try { await api("POST", "/handoffs/" + current + "/" + action); }
    catch (err) { meta.textContent = err.message; }
    await Promise.all([refreshList(), refreshCurrent()]);
    if (action === "claim") text.focus();
  }
  Object.keys(buttons).forEach(action => buttons[action].addEventListener("click", () => act(action)));

  reply.addEventListener("submit", async e => {
    e.preventDefault();
    const value = text.value.trim();
    if (!value || !current) return;
    status.textContent = "Sending…";
    try {
      // The same id on a retry after a lost answer stores the reply once.
      const id = reply.dataset.pending && reply.dataset.pendingText === value ? reply.dataset.pending : (crypto.randomUUID ? crypto.randomUUID() : "");
      reply.dataset.pending = id; reply.dataset.pendingText = value;
      await api("POST", "/handoffs/" + current + "/messages", id ? {text: value, client_msg_id: id} : {text: value});
      delete reply.dataset.pending; delete reply.dataset.pendingText;
      text.value = ""; status.textContent = "";
      await refreshCurrent();
    } catch (err) { status.textContent = err.message; }
  });
  text.addEventListener("keydown", e => { if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); reply.requestSubmit(); } });
  let lastTyping = 0;
  text.addEventListener("input", () => {
    const now = Date.now();
    if (current && now - lastTyping > 2000) { lastTyping = now; api("POST", "/handoffs/" + current + "/typing").catch(() => {}); }
  });
  filter.addEventListener("change", () => refreshList());

  const typing = document.getElementById("visitor-typing");
  let typingTimer = 0;
  function visitorTyping() {
    typing.textContent = "The visitor is typing…";
    clearTimeout(typingTimer); typingTimer = setTimeout(() => { typing.textContent = ""; }, 4000);
  }

  let queued = 0;
  function ring(conversation) {
    clearTimeout(queued);
    queued = setTimeout(() => { refreshList().catch(() => {}); if (!conversation || conversation === current) refreshCurrent().catch(() => {}); }, 100);
  }

  async function connect() {
    connection.textContent = "connecting…";
    let ticket;
    try { ticket = (await api("POST", "/realtime/tickets")).ticket; } catch (err) { return reconnect(); }
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/ws/?ticket=" + encodeURIComponent(ticket));
    socket.addEventListener("message", event => {
      const frame = JSON.parse(event.data);
      if (frame.type === "hello") { retry = 0; connection.textContent = "live"; ring(null); }
      else if (frame.type === "handoff.typing") { if (frame.conversation === current) visitorTyping(); }
      else if (frame.type && frame.type.startsWith("handoff.")) ring(frame.conversation);
    });
    socket.addEventListener("close", event => { connection.textContent = "offline"; if (event.code !== 4403) reconnect(); });
  }
  function reconnect() { retry = Math.min(retry + 1, 6); setTimeout(connect, 500 * 2 ** retry); }

  refreshList().catch(err => { empty.hidden = false; empty.textContent = err.message; }).then(() => {
    if (location.hash.length > 1) select(location.hash.slice(1));
    connect();
  });
})();
