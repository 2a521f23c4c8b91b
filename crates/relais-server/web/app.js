// Relais agent workspace: the little the pages need from a script. Without it every
// page still works (plain links and forms); with it, the inbox and the conversation
// follow the live stream, and Enter sends a reply.
(function () {
  "use strict";
  var transcript = document.querySelector(".transcript");
  var rows = document.querySelector(".rows, .empty-inbox");
  var reply = document.getElementById("reply");

  // Enter sends, Shift+Enter is a new line; the form's own Send button does the rest.
  if (reply) {
    var form = reply.form;
    var send = form.querySelector('button[value="reply"]');
    var sent = false;
    reply.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        if (reply.value.trim() && !sent) { sent = true; form.requestSubmit(send); }
      }
    });
    form.addEventListener("submit", function () {
      // One submit per page: a double click or Enter twice sends once (the server
      // de-duplicates too, by the form's hidden id). Disabled after the browser has
      // read the form: a disabled submitter would drop its `action`.
      setTimeout(function () {
        Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) { b.disabled = true; });
      }, 0);
    });
  }

  // Live: the page's changing part is fetched again when the stream says something
  // happened (the server renders it; nothing here builds HTML).
  var target = transcript || rows;
  if (!target || !window.EventSource) return;
  var pending = null;
  function refresh() {
    if (pending) return;
    pending = setTimeout(function () {
      pending = null;
      fetch(location.href, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) return null;
        return r.text();
      }).then(function (html) {
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector(transcript ? ".transcript" : ".rows, .empty-inbox");
        var current = document.querySelector(transcript ? ".transcript" : ".rows, .empty-inbox");
        if (fresh && current) {
          current.replaceWith(document.importNode(fresh, true));
          var facts = doc.querySelector(".facts"), mine = document.querySelector(".facts");
          if (facts && mine) mine.replaceWith(document.importNode(facts, true));
          document.body.setAttribute("data-updated", String(Date.now()));
        }
      }).catch(function () {});
    }, 150);
  }
  var id = (location.pathname.match(/^\/conversations\/(\d+)/) || [])[1];
  var live = new EventSource("/live");
  function heard(e) {
    if (!id) return refresh();
    try { if (String(JSON.parse(e.data).conversation) === id) refresh(); } catch (x) { /* not ours */ }
  }
  // The stream names its events by kind (the API's `/api/v1/stream`).
  ["escalated", "assigned", "unassigned", "transferred", "message_received", "message_queued",
   "message_sent", "status_changed", "note_added"].forEach(function (k) { live.addEventListener(k, heard); });
})();
