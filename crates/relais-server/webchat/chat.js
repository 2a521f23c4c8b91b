// Relais web chat: the page both the full-page chat and the widget's frame run.
// Plain JavaScript, no build step. Speaks the frames of `channel/webchat.rs` over a
// WebSocket, or over HTTP with a long poll when the socket cannot open. Messages typed
// while offline wait in localStorage and are sent once, in order, when the line is
// back (the server de-duplicates them by their id).
(function () {
  "use strict";
  var body = document.body;
  var channel = body.getAttribute("data-channel");
  var base = "/webchat/" + encodeURIComponent(channel);
  var key = "relais.webchat." + channel + ".";

  var WORDS = {
    en: { message: "Message", send: "Send", close: "Close", connecting: "Connecting…", offline: "Offline: your messages will be sent when the connection is back", typing: "Typing…", sending: "Sending", sent: "Sent", conversation: "Conversation", you: "You", bot: "Assistant", agent: "Agent", failed: "Not sent", askEmail: "An agent will answer here. If you have to leave, give us your email and we will answer you there.", email: "Email", save: "Save", saved: "Thanks: if you leave, we will answer at ", byEmail: "by email", bySms: "by SMS", badEmail: "That is not an email address." },
    fr: { message: "Message", send: "Envoyer", close: "Fermer", connecting: "Connexion…", offline: "Hors ligne : vos messages partiront dès le retour de la connexion", typing: "En train d'écrire…", sending: "Envoi", sent: "Envoyé", conversation: "Conversation", you: "Vous", bot: "Assistant", agent: "Conseiller", failed: "Non envoyé", askEmail: "Un conseiller va vous répondre ici. Si vous devez partir, laissez-nous votre e-mail : nous vous répondrons là-bas.", email: "E-mail", save: "Enregistrer", saved: "Merci : si vous partez, nous vous répondrons à ", byEmail: "par e-mail", bySms: "par SMS", badEmail: "Cette adresse e-mail n'est pas valide." },
    it: { message: "Messaggio", send: "Invia", close: "Chiudi", connecting: "Connessione…", offline: "Non in linea: i messaggi partiranno quando la connessione torna", typing: "Sta scrivendo…", sending: "Invio", sent: "Inviato", conversation: "Conversazione", you: "Lei", bot: "Assistente", agent: "Operatore", failed: "Non inviato", askEmail: "Un operatore le risponderà qui. Se deve andare via, ci lasci la sua e-mail: le risponderemo lì.", email: "E-mail", save: "Salva", saved: "Grazie: se va via, le risponderemo a ", byEmail: "via e-mail", bySms: "via SMS", badEmail: "Questo indirizzo e-mail non è valido." },
    es: { message: "Mensaje", send: "Enviar", close: "Cerrar", connecting: "Conectando…", offline: "Sin conexión: sus mensajes se enviarán cuando vuelva la conexión", typing: "Escribiendo…", sending: "Enviando", sent: "Enviado", conversation: "Conversación", you: "Usted", bot: "Asistente", agent: "Agente", failed: "No enviado", askEmail: "Un agente le responderá aquí. Si tiene que irse, déjenos su correo y le responderemos allí.", email: "Correo electrónico", save: "Guardar", saved: "Gracias: si se va, le responderemos en ", byEmail: "por correo", bySms: "por SMS", badEmail: "Esa dirección de correo no es válida." },
    de: { message: "Nachricht", send: "Senden", close: "Schließen", connecting: "Verbinde…", offline: "Offline: Ihre Nachrichten werden gesendet, sobald die Verbindung wieder steht", typing: "Schreibt…", sending: "Wird gesendet", sent: "Gesendet", conversation: "Unterhaltung", you: "Sie", bot: "Assistent", agent: "Mitarbeiter", failed: "Nicht gesendet", askEmail: "Ein Mitarbeiter antwortet Ihnen hier. Wenn Sie gehen müssen, hinterlassen Sie Ihre E-Mail-Adresse: Wir antworten Ihnen dort.", email: "E-Mail", save: "Speichern", saved: "Danke: Wenn Sie gehen, antworten wir an ", byEmail: "per E-Mail", bySms: "per SMS", badEmail: "Das ist keine gültige E-Mail-Adresse." }
  };
  var lang = "en";
  var langs = Array.prototype.slice.call(navigator.languages || [navigator.language || "en"], 0, 10);
  for (var i = 0; i < langs.length; i++) {
    var l = String(langs[i]).slice(0, 2).toLowerCase();
    if (WORDS[l]) { lang = l; break; }
  }
  var W = WORDS[lang];
  document.documentElement.lang = lang;

  var log = document.getElementById("log");
  var input = document.getElementById("input");
  var sendButton = document.getElementById("send");
  var form = document.getElementById("composer");
  var state = document.getElementById("state");
  var typing = document.getElementById("typing");
  var closeButton = document.getElementById("close");

  var color = body.getAttribute("data-color");
  if (/^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/.test(color || "")) {
    document.documentElement.style.setProperty("--accent", color);
  }
  input.setAttribute("aria-label", W.message);
  input.setAttribute("placeholder", W.message + "…");
  sendButton.setAttribute("aria-label", W.send);
  sendButton.textContent = W.send;
  log.setAttribute("aria-label", W.conversation);
  typing.setAttribute("aria-label", W.typing);
  if (closeButton) {
    closeButton.setAttribute("aria-label", W.close);
    var closeChat = function () {
      window.parent.postMessage({ relais: "close", channel: channel }, "*");
    };
    closeButton.addEventListener("click", closeChat);
    if (body.classList.contains("embed")) {
      document.addEventListener("keydown", function (e) { if (e.key === "Escape") closeChat(); });
    }
  }

  // ---- state kept in the browser ------------------------------------------------
  function load(name, fallback) {
    try { var v = localStorage.getItem(key + name); return v === null ? fallback : JSON.parse(v); }
    catch (e) { return fallback; }
  }
  function save(name, value) {
    try { localStorage.setItem(key + name, JSON.stringify(value)); } catch (e) { /* private mode */ }
  }
  var session = load("session", null);
  var pending = load("pending", []);   // [{id, text, button}] not yet acknowledged
  var cursor = 0;                       // the last message id shown
  var shown = {};                       // message id -> <li>
  var mine = {};                        // client id -> <li> (sent from this tab)

  function newId() {
    var a = new Uint8Array(12);
    crypto.getRandomValues(a);
    return "m" + Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // ---- rendering ------------------------------------------------------------------
  function setState(text) {
    state.textContent = text || "";
    // Nobody answers while the line is down: no typing dots then.
    if (text === W.offline) typing.hidden = true;
  }

  function time(ms) {
    try { return new Date(ms).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" }); }
    catch (e) { return ""; }
  }

  function bubble(from, text, at) {
    var li = document.createElement("li");
    li.className = "msg " + from;
    var who = document.createElement("span");
    who.className = "sr";
    who.textContent = (from === "you" ? W.you : from === "agent" ? W.agent : W.bot) + ": ";
    li.appendChild(who);
    var p = document.createElement("p");
    p.className = "text";
    p.textContent = text;
    li.appendChild(p);
    var meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = at ? time(at) : "";
    li.appendChild(meta);
    return li;
  }

  function markMine(li, status) {
    li.setAttribute("data-status", status);
    var meta = li.querySelector(".meta");
    var t = li.getAttribute("data-at");
    meta.textContent = (t ? time(Number(t)) + " · " : "") +
      (status === "sending" ? W.sending : status === "failed" ? W.failed : W.sent);
  }

  function disableOldChoices() {
    var groups = log.querySelectorAll(".choices");
    for (var i = 0; i < groups.length; i++) {
      var last = i === groups.length - 1 && !groups[i].parentNode.nextSibling;
      var bs = groups[i].querySelectorAll("button");
      for (var j = 0; j < bs.length; j++) bs[j].disabled = !last;
    }
  }

  function scroll() { log.scrollTop = log.scrollHeight; }

  function showMessage(m) {
    if (shown[m.id]) return;
    var li = m.client_id && mine[m.client_id];
    if (li) {
      delete mine[m.client_id];
      li.setAttribute("data-at", m.at);
      markMine(li, "sent");
    } else {
      li = bubble(m.from, m.text, m.at);
      if (m.from === "you") { li.setAttribute("data-at", m.at); markMine(li, "sent"); }
      if (m.file && /^https?:\/\//.test(m.file.url)) {
        var a = document.createElement("a");
        a.className = "file";
        a.href = m.file.url;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        a.textContent = m.file.name;
        li.insertBefore(a, li.querySelector(".meta"));
      }
      if (m.via) {
        li.classList.add("via");
        li.querySelector(".meta").textContent += " · " + (m.via === "email" ? W.byEmail : m.via === "sms" ? W.bySms : m.via);
      }
      if (m.choices && m.choices.length) {
        var row = document.createElement("div");
        row.className = "choices" + (m.list ? " list" : "");
        row.setAttribute("role", "group");
        m.choices.forEach(function (c) {
          var b = document.createElement("button");
          b.type = "button";
          b.textContent = c.title;
          b.addEventListener("click", function () { tap(c.id, c.title); });
          row.appendChild(b);
        });
        li.appendChild(row);
      }
      log.appendChild(li);
    }
    li.setAttribute("data-id", m.id);
    shown[m.id] = li;
    if (m.id > cursor) cursor = m.id;
    if (m.from !== "you") typing.hidden = true;
    disableOldChoices();
    scroll();
  }

  // ---- sending ----------------------------------------------------------------------
  function queue(text, button) {
    var item = { id: newId(), text: text, button: button || null };
    pending.push(item);
    save("pending", pending);
    var li = bubble("you", text, Date.now());
    li.setAttribute("data-at", Date.now());
    markMine(li, "sending");
    mine[item.id] = li;
    log.appendChild(li);
    disableOldChoices();
    scroll();
    if (state.textContent !== W.offline) {
      typing.hidden = false;
      clearTimeout(queue.t);
      queue.t = setTimeout(function () { typing.hidden = true; }, 15000);
    }
    transport.flush();
  }

  function frameOf(item) {
    return item.button
      ? { t: "tap", id: item.id, button: item.button, text: item.text }
      : { t: "say", id: item.id, text: item.text };
  }

  function tap(id, title) { queue(title, id); input.focus(); }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    resize();
    queue(text, null);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
    }
  });
  function resize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 140) + "px";
  }
  input.addEventListener("input", resize);

  // ---- the email question (a visitor waiting for an agent) ------------------------------------
  var emailCard = null;
  function askEmail() {
    if (emailCard || load("email", null)) return;
    emailCard = document.createElement("li");
    emailCard.className = "card";
    var p = document.createElement("p");
    p.textContent = W.askEmail;
    var f = document.createElement("form");
    var field = document.createElement("input");
    field.type = "email";
    field.required = true;
    field.autocomplete = "email";
    field.setAttribute("aria-label", W.email);
    field.placeholder = W.email;
    var b = document.createElement("button");
    b.type = "submit";
    b.textContent = W.save;
    var err = document.createElement("p");
    err.className = "err";
    err.setAttribute("role", "alert");
    f.appendChild(field); f.appendChild(b);
    emailCard.appendChild(p); emailCard.appendChild(f); emailCard.appendChild(err);
    f.addEventListener("submit", function (e) {
      e.preventDefault();
      var a = field.value.trim();
      if (!a) return;
      err.textContent = "";
      transport.send({ t: "email", address: a });
    });
    log.appendChild(emailCard);
    scroll();
  }
  function emailSaved(address) {
    save("email", address);
    if (!emailCard) return;
    emailCard.textContent = "";
    var p = document.createElement("p");
    p.textContent = W.saved + address + ".";
    emailCard.appendChild(p);
  }

  // ---- frames from the server ------------------------------------------------------------
  function receive(f) {
    if (f.t === "welcome") {
      if (session && f.session !== session) { pending = []; save("pending", pending); }
      session = f.session;
      save("session", session);
      f.messages.forEach(showMessage);
      // Messages still on their way go after the transcript.
      Object.keys(mine).forEach(function (id) { log.appendChild(mine[id]); });
      scroll();
    } else if (f.t === "msg") {
      showMessage(f);
    } else if (f.t === "ack") {
      pending = pending.filter(function (p) { return p.id !== f.id; });
      save("pending", pending);
    } else if (f.t === "typing") {
      typing.hidden = false;
      clearTimeout(queue.t);
      queue.t = setTimeout(function () { typing.hidden = true; }, 6000);
    } else if (f.t === "ask_email") {
      askEmail();
    } else if (f.t === "email_saved") {
      emailSaved(f.address);
    } else if (f.t === "error" && f.field === "email") {
      if (emailCard && emailCard.querySelector(".err")) emailCard.querySelector(".err").textContent = W.badEmail;
    } else if (f.t === "error" && f.id) {
      // Refused for good (too long, empty): not sent again.
      pending = pending.filter(function (p) { return p.id !== f.id; });
      save("pending", pending);
      if (mine[f.id]) { markMine(mine[f.id], "failed"); mine[f.id].title = f.message; }
      typing.hidden = true;
    }
  }

  function seenFrame() {
    return { t: "seen", up_to: cursor, read: document.visibilityState === "visible" };
  }

  // ---- transports ---------------------------------------------------------------------------
  var transport = { flush: function () {} };

  function socketTransport() {
    var ws = null, opened = false, welcomed = false, failures = 0, delay = 500, sentUpTo = {}, extra = [];
    var lastSeen = -1;
    function url() {
      return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + base + "/ws";
    }
    function connect() {
      setState(W.connecting);
      try { ws = new WebSocket(url()); } catch (e) { return fail(); }
      var thisWs = ws;
      ws.onopen = function () {
        opened = true; failures = 0; delay = 500; sentUpTo = {};
        thisWs.send(JSON.stringify({ t: "hello", session: session, after: cursor, languages: langs }));
      };
      ws.onmessage = function (ev) {
        var f;
        try { f = JSON.parse(ev.data); } catch (e) { return; }
        receive(f);
        if (f.t === "welcome") { welcomed = true; setState(""); flush(); }
        if ((f.t === "msg" || f.t === "welcome") && cursor !== lastSeen) seen();
      };
      ws.onclose = function () { if (thisWs === ws) { ws = null; welcomed = false; fail(); } };
      ws.onerror = function () { /* onclose follows */ };
    }
    function fail() {
      setState(W.offline);
      failures++;
      // The socket never opened twice in a row: this network blocks it, use HTTP.
      if (!opened && failures >= 2) { transport = httpTransport(); transport.start(); return; }
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 15000);
    }
    function ready() { return ws !== null && ws.readyState === 1 && welcomed; }
    function flush() {
      if (!ready()) return;
      extra.splice(0).forEach(function (f) { ws.send(JSON.stringify(f)); });
      pending.forEach(function (p) {
        if (sentUpTo[p.id]) return;
        sentUpTo[p.id] = true;
        ws.send(JSON.stringify(frameOf(p)));
      });
    }
    function seen() {
      if (!ready()) return;
      lastSeen = cursor;
      ws.send(JSON.stringify(seenFrame()));
    }
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") seen();
    });
    window.addEventListener("online", function () { if (!ws) { delay = 500; connect(); } });
    function sendNow(frame) { if (ready()) ws.send(JSON.stringify(frame)); else extra.push(frame); }
    return { start: connect, flush: flush, send: sendNow };
  }

  function httpTransport() {
    var busy = false, delay = 1000, again = false, extra = [];
    function exchange() {
      if (busy) { again = true; return; }
      busy = true;
      var frames = extra.splice(0).concat(pending.map(frameOf));
      frames.push(seenFrame());
      var body = { session: session, after: cursor, frames: frames, wait: pending.length === 0, languages: langs };
      fetch(base + "/http", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        credentials: "omit"
      }).then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      }).then(function (x) {
        setState("");
        delay = 1000;
        receive({ t: "welcome", session: x.session, messages: [] });
        x.frames.forEach(receive);
        busy = false;
        exchange();
      }).catch(function () {
        busy = false;
        setState(W.offline);
        setTimeout(exchange, delay);
        delay = Math.min(delay * 2, 15000);
      });
    }
    function flushNow() { if (!busy) exchange(); else again = true; }
    return { start: exchange, flush: flushNow, send: function (f) { extra.push(f); flushNow(); } };
  }

  // Messages left from an earlier visit (sent while offline) are shown as sending.
  pending.forEach(function (p) {
    var li = bubble("you", p.text, Date.now());
    markMine(li, "sending");
    mine[p.id] = li;
    log.appendChild(li);
  });
  transport = ("WebSocket" in window && !/[?&]transport=http/.test(location.search))
    ? socketTransport() : httpTransport();
  transport.start();
  input.focus();
})();
