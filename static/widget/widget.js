/*! Docent widget loader. Embed with:
 *   <script src="https://YOUR-DOCENT/widget.js" data-bot="pk_..." async></script>
 * It draws the launcher in a shadow root, asks for a visitor session and, when the visitor opens the chat,
 * loads the chat window (widget-app.js) from the same server. Options and theming: docs/widget.md.
 * Nothing is written to the visitor's storage before the visitor opens the chat.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || script.docentLoaded) return;
  script.docentLoaded = true;
  var VERSION = "1";
  var options = script.dataset;
  var key = options.bot || "";
  var src = new URL(script.src, location.href);
  var api = (options.api || src.origin).replace(/\/+$/, "");
  var appUrl = src.pathname.indexOf("/static/") === 0 ? new URL("widget-app.js", src) : new URL("/static/widget/widget-app.js", src);
  appUrl.search = "v=" + VERSION;
  var preview = "preview" in options;
  var storageKey = "docent:" + key;

  // Theme keys of the bot settings → the CSS custom properties a host page may set to override them.
  var THEME = {
    primary_color: "primary", text_color: "text", background: "bg",
    bubble_bot_bg: "bot-bg", bubble_bot_fg: "bot-fg", bubble_visitor_bg: "visitor-bg", bubble_visitor_fg: "visitor-fg",
    header_bg: "header-bg", header_fg: "header-fg", launcher_bg: "launcher-bg", launcher_fg: "launcher-fg",
    input_bg: "input-bg", input_fg: "input-fg", font_family: "font", width: "width", height: "height", radius: "radius"
  };
  var DEFAULTS = {
    primary: "#3056d3", text: "#1d2330", bg: "#ffffff", "bot-bg": "#f1f3f7", "bot-fg": "#1d2330",
    "visitor-bg": "var(--dw-primary)", "visitor-fg": "#ffffff", "header-bg": "var(--dw-primary)", "header-fg": "#ffffff",
    "launcher-bg": "var(--dw-primary)", "launcher-fg": "#ffffff", "input-bg": "#ffffff", "input-fg": "var(--dw-text)",
    font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif', width: "380px", height: "600px", radius: "14px",
    muted: "#5b6577", line: "#dfe3ea", danger: "#b42318"
  };
  var DARK = {
    text: "#e8eaf0", bg: "#16181d", "bot-bg": "#262a33", "bot-fg": "#e8eaf0", "input-bg": "#1f2229",
    muted: "#a3abba", line: "#353a45", danger: "#ff8a80"
  };

  // A value from the bot settings goes into a stylesheet: only plain values, never anything that ends a rule.
  function clean(value) {
    if (typeof value === "number") return value + "px";
    if (typeof value !== "string") return null;
    value = value.trim();
    return value && value.length <= 200 && !/[;{}<>\\]|\/\*/.test(value) ? (/^\d+$/.test(value) ? value + "px" : value) : null;
  }

  function variables(values) {
    var out = "";
    for (var name in values) out += "--dw-" + name + ":var(--docent-" + name + "," + values[name] + ");";
    return out;
  }

  function themeCss(theme) {
    theme = theme || {};
    var light = {}, name;
    for (name in DEFAULTS) light[name] = DEFAULTS[name];
    for (var keyName in THEME) {
      var value = clean(theme[keyName]);
      if (value) light[THEME[keyName]] = value;
    }
    var dark = {};
    for (name in DARK) if (light[name] === DEFAULTS[name]) dark[name] = DARK[name];
    var mode = theme.dark_mode === "dark" || theme.dark_mode === "light" ? theme.dark_mode : "auto";
    var css = ":host{" + variables(light) + "}";
    if (mode === "dark") css += ":host{" + variables(dark) + "}";
    if (mode === "auto") css += "@media (prefers-color-scheme: dark){:host{" + variables(dark) + "}}";
    return css;
  }

  var BASE_CSS =
    ":host{all:initial}" +
    "[hidden]{display:none!important}" +
    ".dw{position:fixed;bottom:20px;right:20px;z-index:2147483000;font-family:var(--dw-font);font-size:15px;line-height:1.45;color:var(--dw-text);display:flex;flex-direction:column;align-items:flex-end;gap:12px}" +
    ".dw.left{right:auto;left:20px;align-items:flex-start}" +
    ".dw.inline{position:absolute}" +
    ".launcher{width:58px;height:58px;border-radius:50%;border:0;padding:0;cursor:pointer;background:var(--dw-launcher-bg);color:var(--dw-launcher-fg);box-shadow:0 6px 20px rgba(0,0,0,.22);display:flex;align-items:center;justify-content:center;position:relative;transition:transform .15s}" +
    ".launcher:hover{transform:scale(1.06)}" +
    ".launcher:focus-visible{outline:3px solid var(--dw-primary);outline-offset:3px}" +
    ".launcher svg{width:28px;height:28px;fill:currentColor}" +
    ".launcher[aria-busy=true]{opacity:.7}" +
    ".badge{position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;border-radius:10px;background:var(--dw-danger);color:#fff;font-size:12px;font-weight:700;display:flex;align-items:center;justify-content:center;padding:0 5px}" +
    ".badge[hidden]{display:none}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    "@media (prefers-reduced-motion: reduce){*{transition:none!important;animation:none!important}}";

  function sheet(root, css) {
    if (root.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
      var s = new CSSStyleSheet();
      s.replaceSync(css);
      root.adoptedStyleSheets = root.adoptedStyleSheets.concat([s]);
      return function (text) { s.replaceSync(text); };
    }
    var el = document.createElement("style"); // older browsers; a strict style-src on the host refuses it
    el.textContent = css;
    root.appendChild(el);
    return function (text) { el.textContent = text; };
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) {
      if (name === "text") node.textContent = attrs[name];
      else if (name === "className") node.className = attrs[name];
      else node.setAttribute(name, attrs[name]);
    }
    (children || []).forEach(function (child) { if (child) node.append(child); });
    return node;
  }

  function icon(path) {
    var ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg"), p = document.createElementNS(ns, "path");
    svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("aria-hidden", "true"); svg.setAttribute("focusable", "false");
    p.setAttribute("d", path); svg.append(p);
    return svg;
  }

  var CHAT_ICON = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 6a1.3 1.3 0 1 0 0 2.6A1.3 1.3 0 0 0 7 10zm5 0a1.3 1.3 0 1 0 0 2.6 1.3 1.3 0 0 0 0-2.6zm5 0a1.3 1.3 0 1 0 0 2.6 1.3 1.3 0 0 0 0-2.6z";
  var CLOSE_ICON = "M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7 2.9 18.3 9.2 12 2.9 5.7l1.4-1.4 6.3 6.3 6.3-6.3z";

  var storage = {
    get: function () { try { return JSON.parse(localStorage.getItem(storageKey) || "null") || {}; } catch (e) { return {}; } },
    set: function (patch) {
      var value = storage.get();
      for (var name in patch) value[name] = patch[name];
      try { localStorage.setItem(storageKey, JSON.stringify(value)); } catch (e) { /* storage refused */ }
    },
    clear: function () { try { localStorage.removeItem(storageKey); } catch (e) { /* storage refused */ } }
  };

  var container = options.container ? document.querySelector(options.container) : null;
  var host = document.createElement("docent-widget");
  var root = host.attachShadow({mode: "open"});
  sheet(root, BASE_CSS);
  var setTheme = sheet(root, themeCss({}));
  var frame = el("div", {className: "dw" + (container ? " inline" : "")});
  var launcher = el("button", {type: "button", className: "launcher", "aria-expanded": "false", "aria-haspopup": "dialog", "aria-label": "Open chat"});
  var badge = el("span", {className: "badge", hidden: "", "aria-hidden": "true"});
  launcher.append(icon(CHAT_ICON), badge);
  frame.append(launcher);
  root.append(frame);

  var unread = 0;
  function label() {
    var name = ctx.session && ctx.session.bot && ctx.session.bot.name;
    launcher.setAttribute("aria-label", (ctx.opened ? "Close chat" : "Open chat" + (name ? " with " + name : "")) +
      (unread ? " (" + unread + " new)" : ""));
  }

  var ctx = {
    key: key, api: api, root: root, frame: frame, launcher: launcher, host: host, preview: preview,
    options: options, storage: storage, session: null, error: null, opened: false, icon: icon, el: el, closeIcon: CLOSE_ICON,
    identity: options.identity || null,
    theme: function (bot) {
      var theme = (bot && bot.theme) || {};
      setTheme(themeCss(theme));
      var position = options.position || theme.position;
      frame.classList.toggle("left", position === "left");
      frame.classList.toggle("dark", theme.dark_mode === "dark");
      label();
    },
    unread: function (count) {
      unread = count > 0 ? count : 0;
      badge.textContent = unread ? String(unread) : "";
      badge.hidden = !unread;
      label();
    },
    // Asks for a visitor session (again, when the token expires): the answer holds the token, the bot's settings
    // and the conversation to resume. Errors come back in the common shape {error: {code, message, details}}.
    start: function () {
      var body = {key: key}, saved = storage.get();
      if (saved.resume) body.resume = saved.resume;
      return identity().then(function (token) {
        if (token) body.identity = token;
        return fetch(api + "/widget/v1/session", {
          method: "POST", mode: "cors", credentials: "omit", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)
        });
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok) {
            var error = (data && data.error) || {code: "http_" + response.status};
            error.status = response.status;
            throw error;
          }
          data.expires_at = Date.now() + (data.expires_in || 900) * 1000;
          ctx.session = data; ctx.error = null;
          if (ctx.opened && data.visitor && data.visitor.resume) storage.set({resume: data.visitor.resume});
          ctx.theme(data.bot);
          return data;
        });
      }, refusedOrOffline).catch(function (error) {
        ctx.error = error;
        if (error.code === "invalid_visitor_token" && saved.resume) { storage.clear(); return ctx.start(); } // a stale resume secret
        throw error;
      });
    }
  };

  // A website Docent refuses gets no CORS headers, so the browser hides the answer: the call fails as if
  // offline. A request that needs no CORS tells the two apart: if the server answers it, the site was refused.
  function refusedOrOffline() {
    return fetch(api + "/healthz", {mode: "no-cors", credentials: "omit", cache: "no-store"}).then(
      function () { throw {code: "origin_not_allowed"}; }, function () { throw {code: "network"}; });
  }

  // The signed identity of a signed-in visitor: from the website's own endpoint (data-identity-url, asked each time
  // a session opens, so that it is always fresh), else the token the page gave (data-identity or identify()).
  function identity() {
    if (!options.identityUrl) return Promise.resolve(ctx.identity);
    return fetch(options.identityUrl, {credentials: "same-origin", headers: {Accept: "application/json"}}).then(function (r) {
      return r.ok ? r.json().then(function (data) { return (data && data.token) || null; }) : null;
    }, function () { return null; });
  }

  var app = null, loading = null;
  function loadApp() {
    if (app) return Promise.resolve(app);
    if (loading) return loading;
    launcher.setAttribute("aria-busy", "true");
    loading = new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      tag.src = appUrl.href; tag.async = true;
      tag.onload = function () {
        launcher.removeAttribute("aria-busy");
        if (typeof tag.docentApp !== "function") return reject(new Error("widget app missing"));
        app = tag.docentApp(ctx);
        resolve(app);
      };
      tag.onerror = function () { launcher.removeAttribute("aria-busy"); loading = null; reject(new Error("widget app did not load")); };
      (document.head || document.documentElement).append(tag);
    });
    return loading;
  }

  function open(quietly) {
    if (ctx.opened) return Promise.resolve();
    ctx.opened = true;
    launcher.setAttribute("aria-expanded", "true");
    label();
    launcher.replaceChildren(icon(CLOSE_ICON), badge);
    // The visitor chose to chat: from now on the resume secret is kept so that the conversation survives reloads.
    if (ctx.session && ctx.session.visitor && ctx.session.visitor.resume && !preview) storage.set({resume: ctx.session.visitor.resume, open: true});
    return loadApp().then(function (a) { a.open(quietly === true); }, function () {
      ctx.opened = false; launcher.setAttribute("aria-expanded", "false"); launcher.replaceChildren(icon(CHAT_ICON), badge); label();
    });
  }

  function close() {
    if (!ctx.opened) return;
    ctx.opened = false;
    launcher.setAttribute("aria-expanded", "false");
    launcher.replaceChildren(icon(CHAT_ICON), badge);
    ctx.unread(0);
    if (!preview && storage.get().resume) storage.set({open: false});
    if (app) app.close();
    launcher.focus();
  }
  ctx.close = close;

  launcher.addEventListener("click", function () { if (ctx.opened) close(); else open(); });
  launcher.addEventListener("keydown", function (e) { if (e.key === "Escape" && ctx.opened) close(); });
  // Warm the chat window while the pointer is on its way to the launcher.
  launcher.addEventListener("pointerenter", function () { loadApp().catch(function () {}); }, {once: true});

  // The host page's handle: document.querySelector("docent-widget").open() / .close() / .identify(jwt).
  host.open = function () { return open(); };
  host.close = close;
  host.identify = function (token) { ctx.identity = token || null; return ctx.start(); };

  function mount() {
    (container || document.body).append(host);
    if (preview) {
      // The bot page's live preview sends the settings being edited; no session, nothing sent anywhere.
      document.addEventListener("docent:preview", function (event) {
        ctx.session = {bot: event.detail || {}, conversation: null, visitor: null};
        ctx.theme(ctx.session.bot);
        if (app) app.refresh(); else open(true);
      });
      document.dispatchEvent(new CustomEvent("docent:ready"));
      return;
    }
    if (!key) { ctx.error = {code: "unknown_bot"}; return; }
    var saved = storage.get();
    ctx.start().then(function (data) {
      // Reopened after a page load as the visitor left it, without taking the focus from the page.
      if (options.open === "true" || (saved.open && data.conversation)) open(true);
    }, function () { /* shown when the visitor opens the chat */ });
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
