// Relais agent workspace: the little the pages need from a script. Without it every
// page still works (plain links and forms); with it, the inbox and the conversation
// follow the live stream, Enter sends, `/` finds a canned response, `?` lists the
// shortcuts, agents on the same conversation see each other, and a new assignment
// shows in the tab's title (and rings, unless switched off).
(function () {
  "use strict";
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var all = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var transcript = $(".transcript");
  var reply = document.getElementById("reply");
  var form = reply && reply.form;
  var me = ($(".top") || { getAttribute: function () { return null; } }).getAttribute("data-agent");
  var csrf = $('input[name="_csrf"]');
  var id = (location.pathname.match(/^\/conversations\/(\d+)/) || [])[1];

  // ---- Reply box: Enter sends, a double submit sends once, `/` canned responses.
  var menu = document.getElementById("canned-menu");
  var canned = all("#canned li").map(function (li) {
    return { shortcut: li.getAttribute("data-shortcut"), title: li.getAttribute("data-title"), body: li.textContent };
  });
  var choice = -1, shown = [];
  function cannedQuery() {
    var m = reply.value.match(/^\/(\S*)$/);
    return m ? m[1].toLowerCase() : null;
  }
  function drawMenu() {
    var q = cannedQuery();
    shown = q === null ? [] : canned.filter(function (c) {
      return c.shortcut.toLowerCase().indexOf(q) === 0 || c.title.toLowerCase().indexOf(q) !== -1;
    }).slice(0, 8);
    menu.innerHTML = "";
    shown.forEach(function (c, i) {
      var li = document.createElement("li");
      li.setAttribute("role", "option");
      li.id = "canned-" + i;
      li.setAttribute("aria-selected", i === choice ? "true" : "false");
      var b = document.createElement("strong"); b.textContent = "/" + c.shortcut;
      var t = document.createElement("span"); t.textContent = " " + c.title;
      li.appendChild(b); li.appendChild(t);
      li.addEventListener("mousedown", function (e) { e.preventDefault(); pick(i); });
      menu.appendChild(li);
    });
    menu.hidden = shown.length === 0;
    reply.setAttribute("aria-expanded", shown.length ? "true" : "false");
    if (choice >= 0 && shown.length) reply.setAttribute("aria-activedescendant", "canned-" + choice);
    else reply.removeAttribute("aria-activedescendant");
  }
  function pick(i) {
    if (!shown[i]) return;
    reply.value = shown[i].body;
    choice = -1; shown = []; drawMenu();
    reply.focus();
  }
  if (reply) {
    var send = form.querySelector('button[value="reply"]');
    var sent = false;
    reply.addEventListener("input", function () { choice = 0; drawMenu(); typed(); });
    reply.addEventListener("keydown", function (e) {
      if (shown.length) {
        if (e.key === "ArrowDown") { e.preventDefault(); choice = (choice + 1) % shown.length; drawMenu(); return; }
        if (e.key === "ArrowUp") { e.preventDefault(); choice = (choice - 1 + shown.length) % shown.length; drawMenu(); return; }
        if (e.key === "Enter" || e.key === "Tab") { e.preventDefault(); pick(Math.max(choice, 0)); return; }
        if (e.key === "Escape") { e.preventDefault(); shown = []; drawMenu(); return; }
      }
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        if (reply.value.trim() && !sent) { sent = true; form.requestSubmit(send); }
      }
    });
    form.addEventListener("submit", function () {
      // One submit per page: a double click or Enter twice sends once (the server
      // de-duplicates too, by the form's hidden id). Disabled after the browser has
      // read the form: a disabled submitter would drop its `action`.
      setTimeout(function () { all("button", form).forEach(function (b) { b.disabled = true; }); }, 0);
    });
  }

  // ---- Suggested articles: Insert puts the article in the reply box.
  all("[data-insert]").forEach(function (b) {
    b.addEventListener("click", function () {
      if (!reply) return;
      reply.value = b.getAttribute("data-insert");
      reply.focus();
    });
  });

  // ---- Flows: a file picked on the computer fills the form (read here, sent as text).
  var picker = document.getElementById("flow-file");
  if (picker) picker.addEventListener("change", function () {
    var file = picker.files && picker.files[0];
    if (!file) return;
    var f = picker.form;
    file.text().then(function (text) {
      f.querySelector('textarea[name="source"]').value = text;
      var path = f.querySelector('input[name="path"]');
      if (!path.value) path.value = "flows/" + file.name.replace(/\.yml$/, ".yaml").toLowerCase();
    });
  });

  // ---- Shortcuts: `?` lists them; single keys outside text fields.
  var keys = document.getElementById("keys");
  var lastG = 0;
  document.addEventListener("keydown", function (e) {
    var t = e.target, tag = t && t.tagName;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (t && t.isContentEditable)) return;
    if (keys && keys.open) return;
    if (e.key === "?") { if (keys) { e.preventDefault(); keys.showModal(); } return; }
    if (e.key === "g") { lastG = Date.now(); return; }
    if (e.key === "i" && Date.now() - lastG < 1000) { location.href = "/inbox"; return; }
    // The inbox: j/k move between the conversations, Enter opens one (a link).
    if ((e.key === "j" || e.key === "k") && !form) {
      var rows = all(".rows a");
      if (!rows.length) return;
      var at = rows.indexOf(document.activeElement);
      var next = e.key === "j" ? Math.min(at + 1, rows.length - 1) : Math.max(at - 1, 0);
      e.preventDefault();
      rows[next].focus();
      return;
    }
    if (!form) return;
    if (e.key === "r") { e.preventDefault(); reply.focus(); return; }
    var b = form.querySelector('button[data-key="' + e.key + '"]');
    if (!b) return;
    e.preventDefault();
    if (e.key === "t") { var to = document.getElementById("to"); if (to) to.focus(); return; }
    if (e.key === "n" && !reply.value.trim()) { reply.focus(); return; }
    form.requestSubmit(b);
  });

  // ---- Collision detection: say "here" every 10 s (and "typing" while typing); show
  // who else is on this conversation.
  var others = $(".others");
  var lastTyped = 0;
  function here(typing) {
    if (!id || !csrf) return;
    var body = "_csrf=" + encodeURIComponent(csrf.value) + (typing ? "&typing=1" : "");
    fetch("/conversations/" + id + "/here", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: body
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (j) {
      if (!j || !others) return;
      company = j.others.length > 0;
      others.textContent = j.others.map(function (o) {
        return others.getAttribute(o.typing ? "data-typing" : "data-viewing").replace("{name}", o.name);
      }).join(" · ");
      others.hidden = j.others.length === 0;
      others.classList.toggle("typing", j.others.some(function (o) { return o.typing; }));
      others.setAttribute("data-count", String(j.others.length));
    }).catch(function () {});
  }
  function typed() {
    var now = Date.now();
    if (now - lastTyped > 3000) { lastTyped = now; here(true); }
  }
  // Every 10 s alone; every 3 s while someone else is there (to see them type).
  var company = false, ticks = 0;
  if (id && others) {
    others.hidden = true;
    here(false);
    setInterval(function () { ticks += 1; if (company || ticks % 3 === 0) here(false); }, 3300);
    window.addEventListener("pagehide", function () {
      if (navigator.sendBeacon && csrf) {
        var data = new URLSearchParams(); data.set("_csrf", csrf.value); data.set("gone", "1");
        navigator.sendBeacon("/conversations/" + id + "/here", data);
      }
    });
  }

  // ---- Sound and title badge for a new assignment (switch kept in this browser).
  var sound = document.getElementById("sound");
  var soundOn = localStorage.getItem("relais.sound") !== "off";
  function drawSound() {
    if (!sound) return;
    sound.hidden = false;
    sound.setAttribute("aria-pressed", soundOn ? "true" : "false");
    sound.textContent = sound.getAttribute(soundOn ? "data-on" : "data-off");
  }
  drawSound();
  if (sound) sound.addEventListener("click", function () {
    soundOn = !soundOn;
    localStorage.setItem("relais.sound", soundOn ? "on" : "off");
    drawSound();
  });
  var title = document.title, badge = 0;
  function ring() {
    badge += 1;
    document.title = "(" + badge + ") " + title;
    document.body.setAttribute("data-badge", String(badge));
    if (!soundOn) return;
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var o = ctx.createOscillator(), g = ctx.createGain();
      o.frequency.value = 880; g.gain.value = 0.08;
      o.connect(g); g.connect(ctx.destination);
      o.start(); o.stop(ctx.currentTime + 0.18);
    } catch (x) { /* no audio: the title says it */ }
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && badge) { badge = 0; document.title = title; document.body.removeAttribute("data-badge"); }
  });

  // ---- Live: the page's changing parts are fetched again when the stream says
  // something happened (the server renders them; nothing here builds HTML).
  var parts = transcript ? [".transcript", ".facts", ".side", 'input[name="seen"]'] : [".views", ".rows, .empty-inbox"];
  if (!$(parts[0]) || !window.EventSource) return;
  var pending = null;
  function refresh() {
    if (pending) return;
    pending = setTimeout(function () {
      pending = null;
      // Marked as a live refresh: the audit log has the first read already.
      fetch(location.href, { credentials: "same-origin", headers: { "X-Relais-Live": "1" } }).then(function (r) {
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        parts.forEach(function (sel) {
          var fresh = doc.querySelector(sel), current = document.querySelector(sel);
          if (fresh && current) current.replaceWith(document.importNode(fresh, true));
        });
        document.body.setAttribute("data-updated", String(Date.now()));
      }).catch(function () {});
    }, 150);
  }
  var live = new EventSource("/live");
  function heard(e) {
    var ev = null;
    try { ev = JSON.parse(e.data); } catch (x) { return; }
    // Assigned to me by someone else (routing, a transfer): not my own claim.
    var byMe = ev.actor && ev.actor.kind === "agent" && String(ev.actor.id) === me;
    if (e.type === "assigned" && ev.data && String(ev.data.agent) === me && !byMe) ring();
    if (!id || String(ev.conversation) === id) refresh();
  }
  // The stream names its events by kind (the API's `/api/v1/stream`).
  ["escalated", "assigned", "unassigned", "transferred", "message_received", "message_queued",
   "message_sent", "status_changed", "note_added"].forEach(function (k) { live.addEventListener(k, heard); });
})();
