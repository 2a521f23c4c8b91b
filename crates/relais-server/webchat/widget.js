// Relais web chat widget: add `<script src="https://RELAIS/webchat/ID/widget.js" async></script>`
// to a page. It draws a corner bubble inside a shadow root (the page's styles
// cannot reach it, nor its styles the page) that opens the chat in a frame served by
// Relais. Plain JavaScript, no dependencies.
(function () {
  "use strict";
  var cfg = /*CONFIG*/{};
  var script = document.currentScript;
  var origin = script && script.src ? new URL(script.src).origin : location.origin;
  if (window["relaisChat_" + cfg.channel]) return;
  window["relaisChat_" + cfg.channel] = true;
  var lang = String((navigator.languages && navigator.languages[0]) || navigator.language || "en").slice(0, 2).toLowerCase();
  var OPEN = { en: "Open chat", fr: "Ouvrir le chat", it: "Apri la chat", es: "Abrir el chat", de: "Chat öffnen" };
  var CLOSE = { en: "Close chat", fr: "Fermer le chat", it: "Chiudi la chat", es: "Cerrar el chat", de: "Chat schließen" };

  function start() {
    var host = document.createElement("div");
    host.setAttribute("data-relais-chat", cfg.channel);
    var root = host.attachShadow({ mode: "open" });
    var style = document.createElement("style");
    style.textContent =
      ":host{all:initial}" +
      ".bubble{position:fixed;right:20px;bottom:20px;width:60px;height:60px;border-radius:50%;border:0;cursor:pointer;" +
      "background:" + cfg.color + ";color:#fff;box-shadow:0 6px 20px rgba(0,0,0,.25);z-index:2147483646;display:flex;align-items:center;justify-content:center}" +
      ".bubble:focus-visible{outline:3px solid #1d2330;outline-offset:3px}" +
      ".bubble svg{width:28px;height:28px;fill:currentColor}" +
      ".panel{position:fixed;right:20px;bottom:92px;width:380px;height:min(620px,calc(100vh - 120px));border:0;border-radius:16px;" +
      "box-shadow:0 12px 40px rgba(0,0,0,.28);z-index:2147483647;background:#fff;overflow:hidden}" +
      "@media (max-width:480px){.panel{right:0;bottom:0;width:100vw;height:100vh;border-radius:0}}" +
      "[hidden]{display:none}";
    root.appendChild(style);
    var bubble = document.createElement("button");
    bubble.className = "bubble";
    bubble.type = "button";
    bubble.setAttribute("aria-label", (OPEN[lang] || OPEN.en) + ": " + cfg.title);
    bubble.setAttribute("aria-expanded", "false");
    bubble.innerHTML = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';
    var frame = null;
    function open() {
      if (!frame) {
        frame = document.createElement("iframe");
        frame.className = "panel";
        frame.title = cfg.title;
        frame.src = origin + "/webchat/" + encodeURIComponent(cfg.channel) + "?embed=1";
        root.appendChild(frame);
      }
      frame.hidden = false;
      bubble.setAttribute("aria-expanded", "true");
      bubble.setAttribute("aria-label", CLOSE[lang] || CLOSE.en);
      frame.focus();
    }
    function close() {
      if (frame) frame.hidden = true;
      bubble.setAttribute("aria-expanded", "false");
      bubble.setAttribute("aria-label", (OPEN[lang] || OPEN.en) + ": " + cfg.title);
      bubble.focus();
    }
    bubble.addEventListener("click", function () { (frame && !frame.hidden) ? close() : open(); });
    window.addEventListener("message", function (e) {
      if (e.origin === origin && e.data && e.data.relais === "close" && e.data.channel === cfg.channel) close();
    });
    document.addEventListener("keydown", function (e) { if (e.key === "Escape" && frame && !frame.hidden) close(); });
    root.appendChild(bubble);
    document.body.appendChild(host);
  }
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
