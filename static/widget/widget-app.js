/*! Docent widget: the chat window. widget.js loads it when the visitor opens the chat and hands it the shadow
 * root, the visitor session and the theme; it talks to /widget/v1/ (REST + streaming) and /ws/widget/ (live
 * replies from a person). docs/widget.md describes the options, theming and what the visitor sees.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;

  var CSS =
    ".win{box-sizing:border-box;width:min(var(--dw-width),calc(100vw - 40px));height:min(var(--dw-height),calc(100vh - 110px));background:var(--dw-bg);color:var(--dw-text);border-radius:var(--dw-radius);box-shadow:0 12px 40px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden;border:1px solid var(--dw-line)}" +
    ".win[hidden]{display:none}" +
    ".win *{box-sizing:border-box}" +
    ".head{background:var(--dw-header-bg);color:var(--dw-header-fg);display:flex;align-items:center;gap:10px;padding:12px 14px}" +
    ".avatar{width:38px;height:38px;border-radius:50%;flex:none;background:rgba(255,255,255,.25);display:flex;align-items:center;justify-content:center;font-weight:700;overflow:hidden}" +
    ".avatar img{width:100%;height:100%;object-fit:cover}" +
    ".who{flex:1;min-width:0}" +
    ".who h2{font-size:16px;margin:0;font-weight:650;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}" +
    ".status{margin:0;font-size:12.5px;opacity:.9}" +
    ".x{background:transparent;border:0;color:inherit;width:36px;height:36px;border-radius:50%;cursor:pointer;display:flex;align-items:center;justify-content:center;padding:0}" +
    ".x svg{width:20px;height:20px;fill:currentColor}" +
    ".x:hover{background:rgba(255,255,255,.18)}" +
    "button:focus-visible,textarea:focus-visible,input:focus-visible,summary:focus-visible,a:focus-visible{outline:2px solid var(--dw-primary);outline-offset:2px}" +
    ".head .x:focus-visible{outline-color:var(--dw-header-fg)}" +
    ".body{flex:1;overflow-y:auto;padding:14px;display:flex;flex-direction:column;gap:10px;overscroll-behavior:contain}" +
    ".log{list-style:none;margin:0;padding:0;display:flex;flex-direction:column;gap:10px}" +
    ".msg{max-width:86%;display:flex;flex-direction:column;gap:4px}" +
    ".msg.visitor{align-self:flex-end;align-items:flex-end}" +
    ".bubble{padding:9px 12px;border-radius:calc(var(--dw-radius) - 2px);white-space:pre-wrap;overflow-wrap:anywhere}" +
    ".bot .bubble,.agent .bubble{background:var(--dw-bot-bg);color:var(--dw-bot-fg);border-bottom-left-radius:4px}" +
    ".agent .bubble{border-left:3px solid var(--dw-primary)}" +
    ".visitor .bubble{background:var(--dw-visitor-bg);color:var(--dw-visitor-fg);border-bottom-right-radius:4px}" +
    ".visitor.pending .bubble{opacity:.7}" +
    ".system{align-self:center;max-width:100%;font-size:12.5px;color:var(--dw-muted);text-align:center}" +
    ".name{font-size:12px;color:var(--dw-muted)}" +
    ".bubble.error{background:transparent;color:var(--dw-danger);border:1px solid var(--dw-danger)}" +
    ".dots::after{content:'…';animation:dw-blink 1s infinite}" +
    "@keyframes dw-blink{50%{opacity:.2}}" +
    ".sources{font-size:12.5px;color:var(--dw-muted);margin:2px 0 0}" +
    ".sources ol{margin:2px 0 0;padding:0;list-style:none}" +
    ".sources summary{cursor:pointer;color:var(--dw-text)}" +
    ".sources blockquote{margin:4px 0;padding:6px 8px;border-left:3px solid var(--dw-primary);background:var(--dw-bot-bg);color:var(--dw-bot-fg);white-space:pre-wrap}" +
    ".sources a{color:var(--dw-primary)}" +
    ".rate{display:flex;gap:4px;align-items:center;flex-wrap:wrap}" +
    ".rate button{background:transparent;border:1px solid var(--dw-line);border-radius:999px;cursor:pointer;padding:2px 8px;font:inherit;font-size:13px;color:var(--dw-muted)}" +
    ".rate button[aria-pressed=true]{border-color:var(--dw-primary);color:var(--dw-primary);background:var(--dw-bot-bg)}" +
    ".rate svg{width:14px;height:14px;fill:currentColor;vertical-align:-2px}" +
    ".rate .down svg{transform:rotate(180deg)}" +
    ".fatal{margin:auto;text-align:center;color:var(--dw-muted);padding:24px 12px;font-size:15px}" +
    ".rate form{display:flex;gap:4px;width:100%}" +
    ".rate input{flex:1;min-width:0;font:inherit;font-size:13px;padding:4px 8px;border:1px solid var(--dw-line);border-radius:8px;background:var(--dw-input-bg);color:var(--dw-input-fg)}" +
    ".chips{display:flex;flex-wrap:wrap;gap:6px}" +
    ".chips button,.offer{font:inherit;font-size:13.5px;border:1px solid var(--dw-primary);color:var(--dw-primary);background:transparent;border-radius:999px;padding:5px 11px;cursor:pointer;text-align:left}" +
    ".chips button:hover,.offer:hover{background:var(--dw-primary);color:#fff}" +
    ".notice{margin:0 12px 8px;padding:8px 10px;border-radius:8px;font-size:13.5px;background:rgba(180,35,24,.08);color:var(--dw-danger);border:1px solid rgba(180,35,24,.3);display:flex;gap:8px;align-items:center;justify-content:space-between}" +
    ".notice[hidden]{display:none}" +
    ".notice button{font:inherit;font-size:13px;background:transparent;border:1px solid currentColor;color:inherit;border-radius:6px;cursor:pointer;padding:2px 8px}" +
    ".typing{font-size:12.5px;color:var(--dw-muted);padding:0 16px 6px;margin:0}" +
    ".compose{display:flex;gap:8px;align-items:flex-end;padding:10px 12px;border-top:1px solid var(--dw-line);background:var(--dw-bg)}" +
    ".compose textarea{flex:1;resize:none;font:inherit;max-height:120px;min-height:40px;padding:9px 11px;border:1px solid var(--dw-line);border-radius:10px;background:var(--dw-input-bg);color:var(--dw-input-fg)}" +
    ".send{flex:none;width:40px;height:40px;border:0;border-radius:50%;background:var(--dw-primary);color:#fff;cursor:pointer;display:flex;align-items:center;justify-content:center;padding:0}" +
    ".send svg{width:20px;height:20px;fill:currentColor}" +
    ".send:disabled{opacity:.5;cursor:default}" +
    ".foot{display:flex;justify-content:space-between;align-items:center;gap:8px;padding:0 12px 10px;font-size:12px;color:var(--dw-muted);background:var(--dw-bg)}" +
    ".handoff{font:inherit;font-size:12.5px;background:transparent;border:0;color:var(--dw-primary);cursor:pointer;padding:2px 0;text-decoration:underline}" +
    ".handoff[hidden]{display:none}" +
    ".dw.inline .win{width:min(var(--dw-width),100%);height:min(var(--dw-height),calc(100% - 80px))}" +
    "@media (max-width:480px){.dw:not(.inline).open{inset:0;gap:0}.dw:not(.inline) .win{position:fixed;inset:0;width:100vw;height:100vh;height:100dvh;border-radius:0;border:0}.dw:not(.inline).open .launcher{display:none}}";

  var SEND_ICON = "M3.4 20.4 21 12 3.4 3.6 3.4 10.1 15 12 3.4 13.9z";
  var THUMB_ICON = "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z";

  function wait(seconds) {
    if (!(seconds > 0)) return "a moment";
    if (seconds < 60) return Math.ceil(seconds) + (Math.ceil(seconds) === 1 ? " second" : " seconds");
    var minutes = Math.ceil(seconds / 60);
    return minutes + (minutes === 1 ? " minute" : " minutes");
  }

  // What the visitor reads for each error code; a server's error body is never shown as it is.
  function words(error) {
    var details = (error && error.details) || {};
    switch (error && error.code) {
      case "origin_not_allowed": return "Sorry, this chat isn't available on this website.";
      case "unknown_bot": case "wrong_bot": case "not_found": return "Sorry, this chat isn't available right now.";
      case "identity_required": return "Please sign in to the website to chat with us.";
      case "invalid_identity": return "We couldn't confirm that you're signed in. Please reload the page and try again.";
      case "invalid_visitor_token": case "visitor_token_expired": return "Your chat session has ended. Please reload the page to continue.";
      case "rate_limited": return "You're sending messages a little fast. Please wait " + wait(details.retry_after) + " and try again.";
      case "budget_exhausted": case "quota_exceeded": return "We've answered as many questions as we can for today. Please come back tomorrow.";
      case "validation_error": case "message_too_long":
        return /long|length|max/i.test(JSON.stringify(details) + (error.message || "")) ?
          "That message is too long. Please shorten it and try again." : "That message couldn't be sent. Please check it and try again.";
      case "handoff_unavailable": return "Nobody is available to chat right now. Please try again later.";
      case "handoff_state_conflict": return "We've already asked a person to join. They'll reply here.";
      case "network": return "You seem to be offline. Check your connection and try again.";
      default: return "Something went wrong on our side. Please try again in a moment.";
    }
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)), h = "";
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    for (var i = 0; i < 16; i++) h += (b[i] < 16 ? "0" : "") + b[i].toString(16) + ([3, 5, 7, 9].indexOf(i) >= 0 ? "-" : "");
    return h;
  }

  function safeUrl(url) {
    try { var u = new URL(url, location.href); return u.protocol === "https:" || u.protocol === "http:" ? u.href : null; }
    catch (e) { return null; }
  }

  script.docentApp = function (ctx) {
    var el = ctx.el, root = ctx.root;
    if (root.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
      var sheet = new CSSStyleSheet(); sheet.replaceSync(CSS);
      root.adoptedStyleSheets = root.adoptedStyleSheets.concat([sheet]);
    } else root.append(el("style", {text: CSS}));

    // The window.
    var avatar = el("span", {className: "avatar", "aria-hidden": "true"});
    var title = el("h2", {id: "dw-title"});
    var status = el("p", {className: "status", id: "dw-status"});
    var closeButton = el("button", {type: "button", className: "x", "aria-label": "Close chat"}, [ctx.icon(ctx.closeIcon)]);
    var log = el("ol", {className: "log", "aria-label": "Messages"});
    var chips = el("div", {className: "chips", role: "group", "aria-label": "Suggested questions"});
    var body = el("div", {className: "body"}, [log, chips]);
    var notice = el("div", {className: "notice", role: "alert", hidden: ""});
    var typing = el("p", {className: "typing", "aria-live": "polite"});
    var input = el("textarea", {id: "dw-input", rows: "1", placeholder: "Write a message…", "aria-label": "Message", maxlength: "2000"});
    var sendButton = el("button", {type: "submit", className: "send", "aria-label": "Send"}, [ctx.icon(SEND_ICON)]);
    var form = el("form", {className: "compose"}, [input, sendButton]);
    var handoffButton = el("button", {type: "button", className: "handoff", hidden: ""});
    handoffButton.textContent = "Talk to a person";
    var foot = el("div", {className: "foot"}, [handoffButton, el("span", {text: ctx.preview ? "Preview" : ""})]);
    var live = el("div", {className: "sr", "aria-live": "polite", "aria-atomic": "false"});
    var win = el("div", {className: "win", id: "dw-window", role: "dialog", "aria-modal": "true", "aria-labelledby": "dw-title", "aria-describedby": "dw-status", hidden: ""},
      [el("div", {className: "head"}, [avatar, el("div", {className: "who"}, [title, status]), closeButton]), body, notice, typing, form, foot, live]);
    ctx.frame.insertBefore(win, ctx.launcher);
    ctx.launcher.setAttribute("aria-controls", "dw-window");

    var items = new Map();   // message id (or a local key) → {message, node}
    var lastSeq = 0, busy = false, loaded = false, socket = null, retry = 0, unread = 0, state = "bot", agentName = "";
    var pendingByText = new Map(), drafting = false, typingTimer = null, typedAt = 0;

    function bot() { return (ctx.session && ctx.session.bot) || {}; }

    function announce(text) {
      var line = el("p", {text: text}); live.append(line);
      while (live.childNodes.length > 3) live.firstChild.remove();
    }

    function showNotice(text, action, run) {
      notice.replaceChildren(el("span", {text: text}));
      if (action) {
        var button = el("button", {type: "button", text: action});
        button.addEventListener("click", run); notice.append(button);
      }
      notice.hidden = false;
    }
    function hideNotice() { notice.hidden = true; notice.replaceChildren(); }

    function scroll() { body.scrollTop = body.scrollHeight; }

    function renderHeader() {
      var b = bot();
      title.textContent = b.name || "Chat";
      var url = b.avatar_url && safeUrl(b.avatar_url);
      avatar.replaceChildren(url ? el("img", {src: url, alt: ""}) : document.createTextNode((b.name || "?").trim().charAt(0).toUpperCase()));
      renderState();
    }

    function renderState() {
      var b = bot();
      status.textContent = state === "waiting" ? "Waiting for a person to join. You can keep writing." :
        state === "with_agent" ? "You're chatting with " + (agentName || "a person") + "." :
        state === "resolved" ? "This conversation was closed. Write again any time." : "Answers from our documents";
      handoffButton.hidden = !(b.handoff_enabled && (state === "bot" || state === "resolved")) || ctx.preview && !b.handoff_enabled;
    }

    // A change the visitor sees happen is also written in the log; the state a conversation had when it was
    // loaded is not news.
    function setState(next, agent, quietly) {
      if (!next || (next === state && (agent || "") === agentName)) return;
      var before = state;
      state = next; agentName = agent || (next === "with_agent" ? agentName : "");
      if (next !== "with_agent") typing.textContent = "";
      renderState();
      if (before !== next && !quietly) {
        var text = next === "waiting" ? "We've asked a person to join. They'll reply here." :
          next === "with_agent" ? (agentName || "A person") + " joined the conversation." :
          next === "resolved" ? "The conversation was closed." : next === "bot" ? "You're chatting with the assistant again." : "";
        if (text) { log.append(el("li", {className: "system", text: text})); announce(text); scroll(); }
      }
    }

    function renderWelcome() {
      var b = bot(), welcome = log.querySelector(".welcome");
      if (b.welcome_message) {
        if (!welcome) { welcome = el("li", {className: "msg bot welcome"}, [el("div", {className: "bubble"})]); log.prepend(welcome); }
        welcome.firstChild.textContent = b.welcome_message;
      } else if (welcome) welcome.remove();
      chips.replaceChildren();
      var hasVisitorMessage = log.querySelector(".visitor");
      (hasVisitorMessage ? [] : b.suggested_questions || []).slice(0, 6).forEach(function (question) {
        var button = el("button", {type: "button", text: question});
        button.addEventListener("click", function () { send(question); });
        chips.append(button);
      });
    }

    function sources(citations) {
      if (!citations || !citations.length) return null;
      var list = el("ol");
      citations.forEach(function (c, i) {
        var label = "[" + (c.n || c.marker || i + 1) + "] " + (c.document_title || "Document") + (c.page ? ", page " + c.page : "");
        var parts = [el("summary", {text: label})];
        if (c.snippet) parts.push(el("blockquote", {text: c.snippet}));
        var url = c.url && safeUrl(c.url);
        if (url) parts.push(el("a", {href: url, target: "_blank", rel: "noopener noreferrer", text: "Open the document"}));
        list.append(el("li", {}, [el("details", {}, parts)]));
      });
      return el("div", {className: "sources", role: "group", "aria-label": "Sources"}, [el("span", {text: "Sources"}), list]);
    }

    function feedback(message) {
      var row = el("div", {className: "rate", role: "group", "aria-label": "Was this answer helpful?"});
      var up = el("button", {type: "button", "aria-pressed": String(message.feedback === "up"), "aria-label": "Helpful", title: "Helpful"}, [ctx.icon(THUMB_ICON)]);
      var down = el("button", {type: "button", className: "down", "aria-pressed": String(message.feedback === "down"), "aria-label": "Not helpful", title: "Not helpful"}, [ctx.icon(THUMB_ICON)]);
      function rate(rating, comment) {
        return authed("/widget/v1/messages/" + encodeURIComponent(message.id) + "/feedback", {method: "POST", body: JSON.stringify({rating: rating, comment: comment || ""})});
      }
      function choose(rating) {
        up.setAttribute("aria-pressed", String(rating === "up")); down.setAttribute("aria-pressed", String(rating === "down"));
        message.feedback = rating;
        rate(rating).then(function () {
          if (row.querySelector("form")) return;
          var comment = el("input", {type: "text", maxlength: "1000", placeholder: "Tell us more (optional)", "aria-label": "Comment on this answer"});
          var f = el("form", {}, [comment, el("button", {type: "submit", text: "Send"})]);
          f.addEventListener("submit", function (e) {
            e.preventDefault();
            rate(rating, comment.value.trim()).then(function () { f.replaceWith(el("span", {text: "Thanks for your feedback."})); }, fail);
          });
          row.append(f); comment.focus();
        }, fail);
      }
      up.addEventListener("click", function () { choose("up"); });
      down.addEventListener("click", function () { choose("down"); });
      row.append(up, down);
      return row;
    }

    function messageNode(message) {
      var role = message.role || "bot";
      if (role === "system") return el("li", {className: "system", text: message.text || ""});
      var node = el("li", {className: "msg " + role});
      if (role === "agent") node.append(el("span", {className: "name", text: message.sender_name || "Support"}));
      node.append(el("div", {className: "bubble", text: message.text || ""}));
      if (role === "bot") {
        var s = sources(message.citations);
        if (s) node.append(s);
        if (message.id && !ctx.preview) node.append(feedback(message));
      }
      if (message.seq) node.dataset.seq = message.seq;
      return node;
    }

    // Messages are kept in the order of their seq; a message without one yet (being sent) goes last.
    function place(node, seq) {
      if (seq) {
        var after = null;
        log.querySelectorAll("[data-seq]").forEach(function (other) { if (+other.dataset.seq > seq && !after) after = other; });
        if (after) return log.insertBefore(node, after);
      }
      var draft = log.querySelector(".pending, .drafting");
      if (seq && draft) log.insertBefore(node, draft); else log.append(node);
    }

    // Adds or updates a stored message; returns true when it is new.
    function upsert(message, replacing) {
      if (!message || !message.id) return false;
      if (message.seq > lastSeq) lastSeq = message.seq;
      var known = items.get(message.id);
      var node = messageNode(message);
      if (known) { known.node.replaceWith(node); known.node = node; known.message = message; return false; }
      if (replacing) { replacing.replaceWith(node); if (message.seq) { node.remove(); place(node, message.seq); } }
      else place(node, message.seq);
      items.set(message.id, {message: message, node: node});
      if (message.role === "visitor") chips.replaceChildren();
      return true;
    }

    function socketMessage(message) {
      if (items.has(message.id)) return; // already shown (the stream or the history had it)
      if (message.role === "visitor" && pendingByText.has(message.text)) {
        var pending = pendingByText.get(message.text); pendingByText.delete(message.text);
        return upsert(message, pending);
      }
      if (message.role === "bot" && drafting) return; // the stream that is answering stores it when done
      upsert(message);
      if (message.role === "agent") { typing.textContent = ""; clearTimeout(typingTimer); }
      if (message.role !== "visitor") {
        announce((message.role === "agent" ? (message.sender_name || "Support") : bot().name || "Assistant") + ": " + message.text);
        if (!ctx.opened) { unread += 1; ctx.unread(unread); }
      }
      scroll();
    }

    // Calls the widget API with the visitor token; renews the token once when it has expired.
    function authed(path, init, renewed) {
      var session = ctx.session;
      var ready = !session || !session.token || session.expires_at - Date.now() < 30000 ? ctx.start() : Promise.resolve(session);
      return ready.then(function (s) {
        var headers = {"Content-Type": "application/json", "Authorization": "Bearer " + s.token, "X-Docent-Key": ctx.key};
        if (init && init.stream) headers.Accept = "text/event-stream, application/json";
        return fetch(ctx.api + path, {method: (init && init.method) || "GET", mode: "cors", credentials: "omit", headers: headers, body: init && init.body})
          .catch(function () { throw {code: "network"}; });
      }).then(function (response) {
        if (response.ok) return response;
        return response.json().catch(function () { return {}; }).then(function (data) {
          var error = (data && data.error) || {code: "http_" + response.status};
          error.status = response.status;
          if (!renewed && (error.code === "visitor_token_expired" || error.code === "invalid_visitor_token")) {
            ctx.session.expires_at = 0;
            return authed(path, init, true);
          }
          throw error;
        });
      });
    }

    function fail(error) { showNotice(words(error)); announce(words(error)); }

    function loadConversation() {
      var conversation = ctx.session && ctx.session.conversation;
      if (!conversation || ctx.preview) return Promise.resolve();
      return authed("/widget/v1/conversation?after=" + lastSeq).then(function (r) { return r.json(); }).then(function (data) {
        (data.messages || []).forEach(function (m) { upsert(m); });
        if (data.conversation) { ctx.session.conversation = data.conversation; setState(data.conversation.state, data.conversation.agent_name, true); }
        renderWelcome(); scroll();
      });
    }

    function connect() {
      if (socket || ctx.preview || !ctx.session || !ctx.session.token || !ctx.session.conversation || typeof WebSocket !== "function") return;
      var stale = ctx.session.expires_at - Date.now() < 30000;
      if (stale) { ctx.start().then(connect, reconnectLater); return; }
      var ws;
      try { ws = new WebSocket(ctx.api.replace(/^http/, "ws") + "/ws/widget/", ["docent.visitor", ctx.session.token]); }
      catch (e) { return; } // a token that is not a valid subprotocol: replies still come with the next history read
      socket = ws;
      ws.addEventListener("open", function () { retry = 0; ws.send(JSON.stringify({type: "resume", after_seq: lastSeq})); });
      ws.addEventListener("message", function (event) {
        var frame; try { frame = JSON.parse(event.data); } catch (e) { return; }
        if (frame.type === "message.created" && frame.message) socketMessage(frame.message);
        else if (frame.type === "conversation.state") setState(frame.state, frame.agent_name);
        else if (frame.type === "typing" && frame.role === "agent") {
          typing.textContent = (agentName || "Support") + " is typing…";
          clearTimeout(typingTimer); typingTimer = setTimeout(function () { typing.textContent = ""; }, 4000);
        } else if (frame.type === "error" && /token/.test(frame.code || "")) ctx.session.expires_at = 0;
      });
      ws.addEventListener("close", function (event) {
        if (socket !== ws) return;
        socket = null;
        if (event.code === 4403) return; // this website may not use the chat: no point in trying again
        if (event.code === 4401) ctx.session.expires_at = 0; // a new session before the next attempt
        reconnectLater();
      });
    }
    function reconnectLater() {
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 400 * Math.pow(2, retry) * (0.75 + Math.random() / 2));
    }
    window.addEventListener("online", function () { retry = 0; connect(); });
    document.addEventListener("visibilitychange", function () { if (!document.hidden) connect(); });

    // The first stored message opened a conversation: the socket (which follows the visitor's conversation) may
    // now bring a person's replies.
    function started() {
      if (!ctx.session.conversation) ctx.session.conversation = {id: null, state: state, last_seq: lastSeq};
    }

    function addPending(text) {
      var node = el("li", {className: "msg visitor pending"}, [el("div", {className: "bubble", text: text})]);
      log.append(node); pendingByText.set(text, node); chips.replaceChildren(); scroll();
      return node;
    }

    function send(text) {
      text = (text || "").trim();
      if (!text || busy) return;
      hideNotice();
      if (ctx.preview) {
        addPending(text).classList.remove("pending");
        log.append(messageNode({role: "bot", text: "This is a preview. On your website, the answer from your documents appears here."}));
        scroll(); return;
      }
      busy = true; sendButton.disabled = true;
      var pending = addPending(text), draft = null;
      function bubbleOf(node) { return node.querySelector(".bubble"); }
      authed("/widget/v1/messages", {method: "POST", stream: true, body: JSON.stringify({text: text, client_msg_id: uuid()})}).then(function (response) {
        if ((response.headers.get("Content-Type") || "").indexOf("text/event-stream") < 0) {
          return response.json().then(function (data) {
            pendingByText.delete(text);
            if (!items.has(data.message && data.message.id)) upsert(data.message, pending); else pending.remove();
            if (data.state) setState(data.state);
            started();
            connect();
          });
        }
        drafting = true;
        draft = el("li", {className: "msg bot drafting"}, [el("div", {className: "bubble dots"})]);
        log.append(draft); scroll();
        var citations = null, finished = false;
        function handle(event, data) {
          if (event === "message") {
            pendingByText.delete(text);
            if (items.has(data.id)) pending.remove(); else upsert(data, pending);
            started();
          } else if (event === "token") {
            var b = bubbleOf(draft); b.classList.remove("dots"); b.textContent += data.text || ""; scroll();
          } else if (event === "citations") {
            citations = Array.isArray(data) ? data : data.citations || [];
          } else if (event === "done") {
            finished = true;
            var stored = data.message || {};
            if (!stored.citations || !stored.citations.length) stored.citations = citations || [];
            draft.classList.remove("drafting");
            if (!upsert(stored, draft)) draft.remove();
            announce((bot().name || "Assistant") + ": " + (stored.text || ""));
            if (data.offer_handoff && bot().handoff_enabled && state === "bot") offerHandoff();
          } else if (event === "error") {
            finished = true;
            var bubble = bubbleOf(draft); bubble.classList.remove("dots"); bubble.classList.add("error");
            bubble.textContent = words(data);
            draft.classList.remove("drafting");
            announce(words(data));
          }
        }
        return readEvents(response, handle).then(function () {
          if (!finished) {
            var bubble = bubbleOf(draft); bubble.classList.remove("dots"); bubble.classList.add("error");
            bubble.textContent = "The answer was interrupted. Please try again.";
            draft.classList.remove("drafting");
          }
          connect();
        });
      }).catch(function (error) {
        pendingByText.delete(text); pending.remove();
        if (draft) draft.remove();
        renderWelcome(); // the suggestions come back when nothing was sent
        if (!input.value) input.value = text;
        fail(error);
      }).then(function () {
        drafting = false; busy = false; sendButton.disabled = false; scroll();
      });
    }

    // Server-Sent Events over fetch: "event: <name>\ndata: <json>\n\n" frames.
    function readEvents(response, handle) {
      var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) return;
          buffer += decoder.decode(chunk.value, {stream: true}).replace(/\r\n/g, "\n");
          var end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            var frame = buffer.slice(0, end), event = "message", data = "";
            buffer = buffer.slice(end + 2);
            frame.split("\n").forEach(function (line) {
              if (line.indexOf("event:") === 0) event = line.slice(6).trim();
              else if (line.indexOf("data:") === 0) data += line.slice(5).replace(/^ /, "");
            });
            if (!data) continue;
            try { handle(event, JSON.parse(data)); } catch (e) { /* a frame this version does not know */ }
          }
          return pump();
        });
      }
      return pump().catch(function () { /* the connection dropped: the caller reports an interrupted answer */ });
    }

    function offerHandoff() {
      var button = el("button", {type: "button", className: "offer", text: "Talk to a person"});
      button.addEventListener("click", function () { item.remove(); askForPerson(); });
      var item = el("li", {className: "msg bot"}, [button]);
      log.append(item); scroll();
    }

    function askForPerson() {
      if (ctx.preview) { setState("waiting"); return; }
      handoffButton.disabled = true;
      authed("/widget/v1/handoff", {method: "POST", body: "{}"}).then(function (r) { return r.json(); }).then(function (data) {
        var conversation = data.conversation || data;
        if (conversation && conversation.id) ctx.session.conversation = conversation;
        setState((conversation && conversation.state) || data.state || "waiting", conversation && conversation.agent_name);
        connect();
      }).catch(fail).then(function () { handoffButton.disabled = false; });
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = input.value; input.value = ""; resize(); send(text);
    });
    function resize() { input.style.height = "auto"; input.style.height = Math.min(input.scrollHeight, 120) + "px"; }
    input.addEventListener("input", function () {
      resize();
      var now = Date.now();
      if (socket && socket.readyState === 1 && state === "with_agent" && now - typedAt > 2000) {
        typedAt = now; socket.send(JSON.stringify({type: "typing"}));
      }
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit")); }
    });
    closeButton.addEventListener("click", function () { ctx.close(); });
    handoffButton.addEventListener("click", askForPerson);

    // Keyboard: Escape closes; Tab stays inside the open window.
    win.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.stopPropagation(); ctx.close(); return; }
      if (e.key !== "Tab") return;
      var focusable = Array.prototype.filter.call(
        win.querySelectorAll("button:not([disabled]),textarea,input,summary,a[href]"),
        function (node) { return node.offsetParent !== null || node === document.activeElement; });
      if (!focusable.length) return;
      var first = focusable[0], last = focusable[focusable.length - 1], active = root.activeElement;
      if (e.shiftKey && (active === first || !win.contains(active))) { e.preventDefault(); last.focus(); }
      else if (!e.shiftKey && (active === last || !win.contains(active))) { e.preventDefault(); first.focus(); }
    });

    function start() {
      hideNotice();
      if (ctx.error && !ctx.preview) {
        var error = ctx.error, fatal = el("div", {className: "fatal", role: "alert"}, [el("p", {text: words(error)})]);
        form.hidden = true; foot.hidden = true; chips.replaceChildren();
        if (error.code === "network" || error.code === "rate_limited" || /^http_5/.test(error.code || "")) {
          var again = el("button", {type: "button", className: "offer", text: "Try again"});
          again.addEventListener("click", function () { ctx.start().then(start, start); });
          fatal.append(again);
        }
        var old = body.querySelector(".fatal");
        if (old) old.replaceWith(fatal); else body.append(fatal);
        renderHeader(); status.textContent = "";
        return;
      }
      form.hidden = false; foot.hidden = false;
      var stale = body.querySelector(".fatal");
      if (stale) stale.remove();
      if (!ctx.session) { ctx.start().then(start, start); return; }
      renderHeader(); renderWelcome();
      if (ctx.preview) { preview(); return; }
      if (!loaded) {
        loaded = true;
        var conversation = ctx.session.conversation;
        if (conversation) setState(conversation.state, conversation.agent_name, true);
        loadConversation().then(connect, function (error) { loaded = false; fail(error); });
      }
    }

    function preview() {
      log.querySelectorAll(":not(.welcome)").forEach(function (node) { if (node.parentNode === log) node.remove(); });
      var question = (bot().suggested_questions || [])[0] || "How many vacation days do I get?";
      log.append(messageNode({role: "visitor", text: question}));
      log.append(messageNode({role: "bot", text: "Full-time employees get 25 days of paid vacation per year [1].",
        citations: [{n: 1, document_title: "Employee handbook", page: 4, snippet: "Employees get 25 days of paid vacation per year."}]}));
      log.append(messageNode({role: "agent", sender_name: "Alex from Support", text: "Hi, I'm here if you need anything else."}));
      renderState();
    }

    return {
      open: function (quietly) {
        ctx.frame.classList.add("open");
        win.hidden = false; unread = 0; ctx.unread(0);
        start(); scroll();
        if (!quietly) (form.hidden ? closeButton : input).focus();
      },
      close: function () { ctx.frame.classList.remove("open"); win.hidden = true; },
      refresh: function () { renderHeader(); renderWelcome(); if (ctx.preview) preview(); }
    };
  };
})();
