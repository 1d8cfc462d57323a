// The rooms page: one WebSocket for all of the member's rooms (docs/realtime.md). The server is the record:
// after every (re)connect the page sends `resume` with the last seq and the last revision it holds per room, so
// it gets the messages it missed and the edits and deletions made meanwhile, and shows messages by seq.
(function () {
  const app = document.getElementById("rooms-app");
  const org = app.dataset.org, csrf = app.dataset.csrf;
  const list = document.getElementById("room-list"), log = document.getElementById("room-log");
  const title = document.getElementById("room-title"), typing = document.getElementById("typing");
  const compose = document.getElementById("compose"), text = document.getElementById("compose-text");
  const connection = document.getElementById("connection");
  const status = document.getElementById("compose-status");
  // id -> {meta, messages: Map(seq -> message), last, revision, participants, earlier: older messages to load}
  const rooms = new Map();
  let current = null, socket = null, me = null, retry = 0, drafts = {}, failures = {}, editing = null;
  // Names of the organization's members and bots, from the page's own choices ("user:<id>" / "bot:<id>").
  const names = new Map(), bots = new Map();
  for (const option of document.getElementById("direct-with").options) {
    const [kind, id] = option.value.split(":");
    if (!id) continue;
    const name = option.textContent.replace(/ \(bot\)$/, "");
    names.set(id, name);
    if (kind === "bot") bots.set(id, name);
  }

  async function api(method, path, body) {
    const response = await fetch("/api/v1" + path, {
      method, credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-Organization": org, "X-CSRFToken": csrf},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = response.status === 204 ? null : await response.json();
    if (!response.ok) throw new Error((data && data.error && data.error.message) || "HTTP " + response.status);
    return data;
  }

  function room(id) {
    if (!rooms.has(id)) rooms.set(id, {meta: {id, title: "", kind: "group", unread: 0}, messages: new Map(), last: 0, revision: 0, participants: [], earlier: false, oldest: 0});
    return rooms.get(id);
  }

  function roomName(meta) {
    if (meta.title) return meta.title;
    if (meta.kind !== "direct") return "Group";
    // A direct room is named after the one on the other side (the list says who that is).
    const other = meta.other || room(meta.id).participants.find(p => p.id !== me && names.has(p.id));
    return other && names.has(other.id) ? names.get(other.id) : "Direct conversation";
  }

  function renderList() {
    list.replaceChildren();
    for (const r of rooms.values()) {
      const li = document.createElement("li"), link = document.createElement("a");
      link.href = "#" + r.meta.id; link.textContent = roomName(r.meta);
      if (r.meta.id === current) link.setAttribute("aria-current", "true");
      link.addEventListener("click", e => { e.preventDefault(); select(r.meta.id); });
      li.append(link);
      if (r.meta.unread > 0 && r.meta.id !== current) {
        const badge = document.createElement("span"); badge.className = "muted"; badge.textContent = " (" + r.meta.unread + ")";
        li.append(badge);
      }
      list.append(li);
    }
  }

  function senderName(sender) {
    if (sender.id === me) return "You";
    return names.get(sender.id) || (sender.kind === "bot" ? "Bot" : "Member");
  }

  function line(message) {
    const p = document.createElement("p"), who = document.createElement("strong"), body = document.createElement("span");
    p.className = "room-message"; who.textContent = senderName(message.sender) + ": ";
    if (message.deleted) { body.textContent = "deleted"; body.className = "muted"; }
    else body.textContent = message.text;
    p.append(who, body);
    if (!message.deleted && message.citations && message.citations.length) p.append(sources(message.citations));
    if (message.edited_at && !message.deleted) {
      const mark = document.createElement("span"); mark.className = "muted"; mark.textContent = " (edited)"; p.append(mark);
    }
    if (message.sender.id === me && !message.deleted) {
      const edit = document.createElement("button");
      edit.type = "button"; edit.className = "link"; edit.textContent = "Edit";
      edit.setAttribute("aria-label", "Edit your message " + message.seq);
      edit.addEventListener("click", () => startEdit(message));
      // Deleting asks once more on the spot (the button becomes "Confirm delete"); the room sees "deleted".
      const remove = document.createElement("button");
      remove.type = "button"; remove.className = "link"; remove.textContent = "Delete";
      remove.setAttribute("aria-label", "Delete your message " + message.seq);
      remove.addEventListener("click", () => {
        if (remove.dataset.confirm) { send({type: "delete", conversation: message.conversation, message: message.id}); return; }
        remove.dataset.confirm = "1"; remove.textContent = "Confirm delete";
        remove.setAttribute("aria-label", "Confirm deleting your message " + message.seq);
      });
      p.append(" ", edit, " ", remove);
    }
    p.dataset.seq = message.seq; return p;
  }

  // A bot answer's sources under it: what each [n] points at (document, page), the quoted passage on hover.
  function sources(citations) {
    const list = document.createElement("small");
    list.className = "room-sources muted";
    citations.forEach((citation) => {
      const item = document.createElement("span");
      item.textContent = "[" + citation.marker + "] " + citation.document_title + (citation.page ? ", p. " + citation.page : "");
      item.title = citation.snippet || "";
      list.append(item);
    });
    return list;
  }

  function startEdit(message) {
    editing = {conversation: message.conversation, id: message.id};
    text.value = message.text; text.focus(); status.textContent = "Editing your message (Escape cancels)";
  }

  function stopEdit() { editing = null; status.textContent = ""; }

  function renderLog() {
    log.replaceChildren();
    if (!current) return;
    const r = room(current);
    if (r.earlier) {
      const more = document.createElement("button");
      more.type = "button"; more.className = "secondary room-earlier"; more.textContent = "Load earlier messages";
      more.addEventListener("click", loadEarlier);
      log.append(more);
    }
    [...r.messages.keys()].sort((a, b) => a - b).forEach(seq => log.append(line(r.messages.get(seq))));
    if (drafts[current]) { const p = document.createElement("p"); p.className = "muted room-draft"; p.textContent = drafts[current].who + ": " + drafts[current].text; log.append(p); }
    // A bot that could not answer (its quota used up, the bot gone...) says so; nothing was stored to show instead.
    if (failures[current]) { const p = document.createElement("p"); p.className = "error room-bot-error"; p.setAttribute("role", "status"); p.textContent = failures[current]; log.append(p); }
  }

  function store(message) {
    const r = room(message.conversation);
    if (message.seq < r.oldest) return;  // older than what is shown: "Load earlier" reads it as it is now
    r.messages.set(message.seq, message);
    if (message.revision > r.revision) r.revision = message.revision;
    if (message.seq > r.last) {
      r.last = message.seq;
      if (message.sender.id !== me && message.conversation !== current) r.meta.unread += 1;
    }
    if (message.sender.kind === "bot") { delete drafts[message.conversation]; delete failures[message.conversation]; }
    if (message.conversation === current) {
      const following = log.scrollHeight - log.scrollTop - log.clientHeight < 40;  // the reader is at the end
      renderLog(); markRead();
      if (following) log.scrollTop = log.scrollHeight;
    } else renderList();
  }

  function markRead() {
    const r = room(current);
    if (r.last > 0 && socket && socket.readyState === WebSocket.OPEN) send({type: "read", conversation: current, seq: r.last});
    r.meta.unread = 0; renderList();
  }

  async function select(id) {
    current = id; const r = room(id);
    title.textContent = roomName(r.meta); compose.hidden = false; typing.textContent = ""; stopEdit();
    // Who takes part (whom a message can mention) is known once the room's detail is read: a message sent
    // before then waits for it (`r.read`).
    r.read = api("GET", "/rooms/" + id).then(detail => { r.participants = detail.participants; });
    const [, page] = await Promise.all([r.read, api("GET", "/rooms/" + id + "/messages?limit=50")]);
    title.textContent = roomName(r.meta);
    // What is shown is one unbroken run of the room's messages, from `oldest` on: anything older that the
    // socket brought (an edit of an old message) is read again with "Load earlier".
    // (An empty page: the room had no message when it was read; what the socket brought since is all newer.)
    r.oldest = page.messages.length ? page.messages[0].seq : 1;
    for (const seq of [...r.messages.keys()]) if (seq < r.oldest) r.messages.delete(seq);
    keep(r, page.messages);
    r.earlier = page.has_before;
    renderLog(); markRead();
    log.scrollTop = log.scrollHeight;
  }

  function keep(r, messages) {
    messages.forEach(m => {
      r.messages.set(m.seq, m);
      if (m.seq > r.last) r.last = m.seq;
      if (m.revision > r.revision) r.revision = m.revision;
    });
  }

  // History paging: the 50 messages before the oldest one shown; the reader stays where they were.
  async function loadEarlier() {
    const id = current, r = room(id);
    const page = await api("GET", "/rooms/" + id + "/messages?limit=50&before=" + r.oldest);
    if (current !== id) return;
    if (page.messages.length) r.oldest = page.messages[0].seq;
    keep(r, page.messages);
    r.earlier = page.has_before;
    const fromBottom = log.scrollHeight - log.scrollTop;
    renderLog();
    log.scrollTop = log.scrollHeight - fromBottom;
  }

  function send(frame) { socket.send(JSON.stringify(frame)); }

  async function connect() {
    connection.textContent = "connecting…";
    let ticket;
    try { ticket = (await api("POST", "/realtime/tickets")).ticket; }
    catch (err) { return reconnect(); }
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/?batch=1&ticket=" + encodeURIComponent(ticket));
    socket.addEventListener("message", event => handle(JSON.parse(event.data)));
    socket.addEventListener("close", event => { connection.textContent = "offline"; if (event.code !== 4403) reconnect(); });
  }

  // After a close (1013: the server is busy), a new ticket, after a wait that grows and is spread out so a
  // whole office reconnecting after a restart does not arrive at once.
  function reconnect() { retry = Math.min(retry + 1, 6); setTimeout(connect, 500 * 2 ** retry * (0.5 + Math.random())); }

  function handle(frame) {
    switch (frame.type) {
      case "hello": {
        me = frame.user; retry = 0; connection.textContent = "live";
        // Catch up the rooms this page holds messages of (new messages after our seq, edits and deletions after
        // our revision); the others are read when opened (REST history), so they start at the room's revision.
        const positions = {}, revisions = {};
        for (const id of Object.keys(frame.conversations)) {
          const r = room(id);
          if (r.last > 0) { positions[id] = r.last; revisions[id] = r.revision; }
          else r.revision = Math.max(r.revision, (frame.revisions || {})[id] || 0);
        }
        if (Object.keys(positions).length) send({type: "resume", conversations: positions, revisions});
        break;
      }
      case "resumed":
        for (const [id, revision] of Object.entries(frame.revisions || {})) if (rooms.has(id)) room(id).revision = Math.max(room(id).revision, revision);
        break;
      case "message.new": case "message.edited": case "message.deleted": store(frame.message); break;
      case "messages.new": for (const message of frame.messages) store(message); break;  // batch=1: a room we were behind on
      case "bot.token": {
        const draft = drafts[frame.conversation] || {who: names.get(frame.bot) || "Bot", text: ""};
        draft.text += frame.text; drafts[frame.conversation] = draft;
        if (frame.conversation === current) renderLog();
        break;
      }
      case "bot.error": {
        delete drafts[frame.conversation];
        failures[frame.conversation] = (names.get(frame.bot) || "The bot") + " could not answer: " + frame.message;
        if (frame.conversation === current) renderLog();
        break;
      }
      case "typing": if (frame.conversation === current) { typing.textContent = "Someone is typing…"; setTimeout(() => { typing.textContent = ""; }, 3000); } break;
      case "conversation.joined": case "conversation.updated": refresh(); break;
      case "conversation.left": rooms.delete(frame.conversation); if (current === frame.conversation) { current = null; compose.hidden = true; title.textContent = "Choose a room"; renderLog(); } renderList(); break;
      case "error": status.textContent = frame.message; break;
      default: break;
    }
  }

  async function refresh() {
    const page = await api("GET", "/rooms?page_size=200");
    page.results.forEach(meta => { const r = room(meta.id); r.meta = meta; });
    renderList();
    if (current) title.textContent = roomName(room(current).meta);
  }

  compose.addEventListener("submit", async e => {
    e.preventDefault();
    const value = text.value.trim(), id = current;
    if (!value || !id || !socket || socket.readyState !== WebSocket.OPEN) return;
    if (editing && editing.conversation === id) {
      send({type: "edit", conversation: id, message: editing.id, text: value});
      stopEdit();
      text.value = "";
      return;
    }
    text.value = "";
    // "@HR bot" asks the room's bot of that name: mentions carry the ids of the participants named, so a message
    // typed right after the room was opened waits for its participants rather than lose its mentions.
    const r = room(id);
    try { await r.read; } catch (err) { status.textContent = err.message; text.value = value; return; }
    const taking = new Set(r.participants.filter(p => p.kind === "bot").map(p => p.id));
    const mentions = [...bots].filter(([bot, name]) => taking.has(bot) && value.toLowerCase().includes("@" + name.toLowerCase())).map(([bot]) => bot);
    if (!socket || socket.readyState !== WebSocket.OPEN) { text.value = value; return; }
    send({type: "send", conversation: id, text: value, client_msg_id: crypto.randomUUID(), mentions});
  });
  text.addEventListener("keydown", e => {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); compose.requestSubmit(); }
    if (e.key === "Escape" && editing) { stopEdit(); text.value = ""; }
  });
  let lastTyping = 0;
  text.addEventListener("input", () => { const now = Date.now(); if (current && socket && socket.readyState === WebSocket.OPEN && now - lastTyping > 2000) { lastTyping = now; send({type: "typing", conversation: current}); } });
  document.getElementById("new-direct").addEventListener("submit", async e => {
    e.preventDefault();
    const [kind, id] = document.getElementById("direct-with").value.split(":");
    const created = await api("POST", "/rooms", kind === "bot" ? {kind: "direct", bot_id: id} : {kind: "direct", user_id: id});
    e.target.reset(); await refresh(); select(created.id);
  });
  document.getElementById("new-group").addEventListener("submit", async e => {
    e.preventDefault();
    const chosen = [...document.getElementById("group-members").selectedOptions].map(o => o.value.split(":"));
    const ids = kind => chosen.filter(([k]) => k === kind).map(([, id]) => id);
    const created = await api("POST", "/rooms", {kind: "group", title: document.getElementById("group-title").value, user_ids: ids("user")});
    if (ids("bot").length) await api("POST", "/rooms/" + created.id + "/members", {bot_ids: ids("bot")});
    e.target.reset(); await refresh(); select(created.id);
  });
  refresh().then(connect);
})();
