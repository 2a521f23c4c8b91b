// The web chat in a real browser (Debian's chromium, driven by playwright-core), against
// a real `relais demo` on loopback. Run by `cargo test` (crates/relais-server/tests/it/
// browser.rs) with RELAIS_BIN set; prints one line per check and exits non-zero on the
// first failure. Screenshots go to SCREENSHOTS (default: a temporary folder).
//
//   RELAIS_BIN=target/debug/relais node tests/browser/webchat.mjs

import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { cpSync, mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { strict as assert } from "node:assert";

const BIN = process.env.RELAIS_BIN;
if (!BIN) throw new Error("set RELAIS_BIN to the relais binary");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = process.env.SCREENSHOTS || mkdtempSync(join(tmpdir(), "relais-shots-"));
mkdirSync(SHOTS, { recursive: true });
const DATA = mkdtempSync(join(tmpdir(), "relais-browser-"));
const STEP = 20_000; // generous: CI shares two cores with other tests

function ok(what) { console.log("ok   " + what); }

async function freePort() {
  return await new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

let server = null;
/** Starts `relais demo` on `port` over `data` (default DATA); resolves with its --json
 * line. `extra`: more arguments; `env`: more variables. */
function startDemo(port, data = DATA, extra = [], env = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, ["demo", "--json", "--data", data, "--listen", `127.0.0.1:${port}`, ...extra], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, ...env },
    });
    server = p;
    let out = "";
    p.stdout.on("data", (d) => {
      out += d;
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
    });
    p.on("exit", (code) => reject(new Error(`relais demo exited with ${code}`)));
  });
}

async function api(demo, method, path, token, body) {
  const r = await fetch(demo.url + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

/** The web chat conversation's messages, as agents see them. */
async function transcript(demo) {
  const c = demo.credentials;
  const list = await api(demo, "GET", "/api/v1/conversations?limit=50", c.admin_token);
  const chat = list.json.conversations.filter((v) => v.conversation.channel === "web");
  const all = [];
  for (const v of chat) {
    const t = await api(demo, "GET", `/api/v1/conversations/${v.conversation.id}`, c.admin_token);
    all.push(...t.json.messages.map((m) => ({ ...m, conversation: v.conversation.id })));
  }
  return all;
}

const port = await freePort();
let demo = await startDemo(port);
assert.ok(demo.webchat_url.endsWith("/webchat/web"), JSON.stringify(demo));
ok(`relais demo prints webchat_url ${demo.webchat_url}`);

// ---- size: plain files, under 30 KB gzipped -------------------------------------------
let total = 0;
for (const f of ["widget.js", "chat.js", "chat.css"]) {
  const r = await fetch(`${demo.url}/webchat/web/${f}`);
  assert.equal(r.status, 200);
  total += gzipSync(Buffer.from(await r.arrayBuffer()), { level: 9 }).length;
}
assert.ok(total < 30 * 1024, `the widget weighs ${total} bytes gzipped`);
ok(`widget, chat script and styles: ${(total / 1024).toFixed(1)} KB gzipped (< 30 KB)`);

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] })
  .catch((e) => { server.kill("SIGKILL"); throw e; });
try {
  // ---- the full page, in English, with the keyboard ------------------------------------
  const context = await browser.newContext({ locale: "en-US", viewport: { width: 1100, height: 780 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(demo.webchat_url);
  const box = page.getByRole("textbox", { name: "Message" });
  await box.waitFor();
  await page.getByRole("button", { name: "Send" }).waitFor();
  ok('the input is named "Message" and the button "Send"');
  await box.focus();
  await page.keyboard.type("Hello");
  await page.keyboard.press("Enter");
  const track = page.getByRole("button", { name: "Track my order" });
  await track.waitFor({ timeout: STEP });
  assert.equal(await page.getByRole("button", { name: "Talk to an agent" }).count(), 1);
  ok("Enter sends; the bot answers in English (the browser's language) with its menu as buttons");
  await page.screenshot({ path: join(SHOTS, "webchat-desktop.png") });

  // Tab to a button and press it with the keyboard.
  await track.focus();
  await page.keyboard.press("Enter");
  await page.getByText("What is your order number?", { exact: false }).waitFor({ timeout: STEP });
  await box.fill("A123");
  await page.keyboard.press("Enter");
  await page.getByText("Your order A123", { exact: false }).waitFor({ timeout: STEP });
  ok("a button pressed from the keyboard, then an order looked up through the flow's http step");

  // ---- two tabs, one session ------------------------------------------------------------
  const tab2 = await context.newPage();
  await tab2.goto(demo.webchat_url);
  await tab2.getByText("Your order A123", { exact: false }).waitFor({ timeout: STEP });
  ok("a second tab shows the same transcript");
  await box.fill("I want to talk to an agent please");
  await page.keyboard.press("Enter");
  await tab2.getByText("I want to talk to an agent please").waitFor({ timeout: STEP });
  ok("a message typed in one tab appears live in the other");

  // ---- an agent answers through the API: it appears live ---------------------------------
  const msgs = await transcript(demo);
  const conv = msgs[msgs.length - 1].conversation;
  await page.waitForFunction(() => document.getElementById("typing").hidden, null, { timeout: 20_000 });
  const typing = await api(demo, "POST", `/api/v1/conversations/${conv}/typing`, demo.credentials.agent_token);
  assert.equal(typing.status, 204, JSON.stringify(typing.json));
  await page.locator("#typing").waitFor({ state: "visible", timeout: STEP });
  ok("the agent typing shows as typing dots");
  const reply = await api(demo, "POST", `/api/v1/conversations/${conv}/reply`, demo.credentials.agent_token, {
    text: "Hi, this is Alice from support. How can I help?",
  });
  assert.equal(reply.status, 200, JSON.stringify(reply.json));
  await page.getByText("Hi, this is Alice from support.", { exact: false }).waitFor({ timeout: STEP });
  await tab2.getByText("Hi, this is Alice from support.", { exact: false }).waitFor({ timeout: STEP });
  assert.equal(await page.locator(".msg.agent").count(), 1);
  ok("an agent's reply through the API appears live in both tabs, as the agent's");
  await page.screenshot({ path: join(SHOTS, "webchat-desktop-agent.png") });
  // The page is visible: the agent's message is read.
  for (let i = 0; ; i++) {
    const m = (await transcript(demo)).find((m) => m.text.startsWith("Hi, this is Alice"));
    if (m.status === "read") break;
    assert.ok(i < 50, `the agent's message is ${m.status}, not read`);
    await new Promise((r) => setTimeout(r, 100));
  }
  ok("the visitor's browser reports the agent's message read");
  const file = await api(demo, "POST", `/api/v1/conversations/${conv}/reply`, demo.credentials.agent_token, {
    text: "Your invoice", attachment: { url: "https://files.example/inv-42.pdf", filename: "invoice-42.pdf" },
  });
  assert.equal(file.status, 200, JSON.stringify(file.json));
  const link = page.getByRole("link", { name: "invoice-42.pdf", exact: true });
  await link.waitFor({ timeout: STEP });
  assert.equal(await link.getAttribute("href"), "https://files.example/inv-42.pdf");
  assert.equal(await link.getAttribute("rel"), "noopener noreferrer");
  ok("an agent's file shows as a link");
  await tab2.close();

  // ---- a reload keeps the session and the transcript --------------------------------------
  const before = await page.locator(".msg").count();
  await page.reload();
  await page.getByText("Hi, this is Alice from support.", { exact: false }).waitFor({ timeout: STEP });
  assert.equal(await page.locator(".msg").count(), before);
  ok(`after a reload the session resumes with the whole transcript (${before} messages)`);

  // ---- the line drops: the server dies; messages typed meanwhile go once, in order --------
  server.kill("SIGKILL");
  await page.locator("#state").filter({ hasText: "Offline" }).waitFor({ timeout: STEP });
  await box.fill("first while offline");
  await page.keyboard.press("Enter");
  await box.fill("second while offline");
  await page.keyboard.press("Enter");
  assert.equal(await page.locator('.msg.you[data-status="sending"]').count(), 2);
  ok("with the server gone the chat says it is offline and keeps two messages as sending");
  await page.screenshot({ path: join(SHOTS, "webchat-offline.png") });
  // A reload while offline still shows them (kept in the browser).
  demo = await startDemo(port);
  await page.waitForFunction(() => document.querySelectorAll('.msg.you[data-status="sending"]').length === 0, null, { timeout: 30_000 });
  const after = await transcript(demo);
  const inbound = after.filter((m) => m.direction === "inbound").map((m) => m.text);
  const i1 = inbound.indexOf("first while offline");
  const i2 = inbound.indexOf("second while offline");
  assert.ok(i1 >= 0 && i2 === i1 + 1, JSON.stringify(inbound));
  assert.equal(inbound.filter((t) => t.endsWith("while offline")).length, 2);
  ok("back online, the two messages were delivered once each, in order");
  await context.close();

  // ---- the HTTP fallback -------------------------------------------------------------------
  const fb = await browser.newContext({ locale: "en-US", viewport: { width: 900, height: 700 } });
  const fp = await fb.newPage();
  let sockets = 0;
  fp.on("websocket", () => sockets++);
  await fp.goto(demo.webchat_url + "?transport=http");
  await fp.getByRole("textbox", { name: "Message" }).fill("Hello");
  await fp.keyboard.press("Enter");
  await fp.getByRole("button", { name: "Delivery, returns, FAQ" }).click({ timeout: STEP });
  await fp.getByText("What is your question?", { exact: false }).waitFor({ timeout: STEP });
  assert.equal(sockets, 0);
  ok("over the HTTP fallback (no socket) the chat works the same");
  await fb.close();

  // ---- French, Italian, Spanish, German browsers ------------------------------------------
  for (const [locale, send, greeting] of [
    ["fr-FR", "Envoyer", "Bonjour ! Que puis-je faire pour vous ?"],
    ["it-IT", "Invia", "Buongiorno! Come posso aiutarla?"],
    ["es-ES", "Enviar", null],
    ["de-DE", "Senden", null],
  ]) {
    const c = await browser.newContext({ locale });
    const p = await c.newPage();
    await p.goto(demo.webchat_url);
    await p.getByRole("button", { name: send }).waitFor({ timeout: STEP });
    if (greeting) {
      await p.getByRole("textbox").fill("Bonjour");
      await p.keyboard.press("Enter");
      await p.getByText(greeting).waitFor({ timeout: STEP });
    }
    await c.close();
  }
  ok("the chat reads in French, Italian, Spanish and German from the browser's language");

  // ---- the widget on a business's page, with hostile styles ----------------------------------
  const hostPort = await freePort();
  const host = createServer((req, res) => {
    res.setHeader("Content-Type", "text/html; charset=utf-8");
    res.end(`<!doctype html><html><head><meta name="viewport" content="width=device-width,initial-scale=1"><title>Acme shop</title><style>
      * { color: red !important; font-family: serif !important; }
      button { display: none !important; } iframe { border: 12px dashed red !important; }
      body { font-size: 22px; margin: 2rem; background: #fbfaf7; }
      </style></head><body><h1>Acme shop</h1><p>Our spring collection is here.</p>
      <script src="${demo.url}/webchat/web/widget.js" async></script></body></html>`);
  }).listen(hostPort, "127.0.0.1");
  for (const [name, viewport] of [["desktop", { width: 1280, height: 800 }], ["phone", { width: 390, height: 844 }]]) {
    const c = await browser.newContext({ locale: "en-US", viewport, isMobile: name === "phone", hasTouch: name === "phone" });
    const p = await c.newPage();
    const errs = [];
    p.on("pageerror", (e) => errs.push(e.message));
    await p.goto(`http://127.0.0.1:${hostPort}/`);
    const bubble = p.getByRole("button", { name: "Open chat: Relais demo shop" });
    await bubble.waitFor({ timeout: STEP });
    assert.equal(await bubble.evaluate((b) => getComputedStyle(b).display), "flex", "the page's styles do not reach the bubble");
    if (name === "desktop") await p.screenshot({ path: join(SHOTS, "widget-closed.png") });
    await bubble.click();
    const frame = p.frameLocator('iframe[title="Relais demo shop"]');
    await frame.getByRole("textbox", { name: "Message" }).fill("Hello");
    await frame.getByRole("textbox", { name: "Message" }).press("Enter");
    await frame.getByRole("button", { name: "Track my order" }).waitFor({ timeout: STEP });
    await p.screenshot({ path: join(SHOTS, `webchat-widget-${name}.png`) });
    // Escape (in the chat) closes it, and so does its close button.
    await frame.getByRole("textbox", { name: "Message" }).press("Escape");
    await p.getByRole("button", { name: "Open chat: Relais demo shop" }).waitFor({ timeout: STEP });
    assert.ok(await p.locator("iframe").evaluate((f) => f.hidden));
    await p.getByRole("button", { name: "Open chat: Relais demo shop" }).click();
    await frame.getByRole("button", { name: "Close" }).click();
    await p.getByRole("button", { name: "Open chat: Relais demo shop" }).waitFor({ timeout: STEP });
    assert.deepEqual(errs, []);
    await c.close();
  }
  host.close();
  ok("the widget opens the chat from a corner bubble on another site, untouched by its styles (desktop and phone)");

  // A full page at phone width.
  const phone = await browser.newContext({ locale: "en-US", viewport: { width: 390, height: 844 }, isMobile: true });
  const pp = await phone.newPage();
  await pp.goto(demo.webchat_url);
  await pp.getByRole("textbox", { name: "Message" }).fill("Hello");
  await pp.keyboard.press("Enter");
  await pp.getByRole("button", { name: "Track my order" }).waitFor({ timeout: STEP });
  await pp.screenshot({ path: join(SHOTS, "webchat-phone.png") });
  await phone.close();
  assert.deepEqual(errors, []);

  // ---- a visitor waiting for an agent is asked for an email (a chat with a fallback) ----
  server.kill("SIGKILL");
  const repo = fileURLToPath(new URL("../..", import.meta.url));
  const ws = mkdtempSync(join(tmpdir(), "relais-ws-"));
  cpSync(join(repo, "crates/relais-server/demo"), ws, { recursive: true });
  writeFileSync(join(ws, "channels.yaml"), [
    "channels:",
    '  - { id: web, kind: webchat, default_flow: order-status, fallback: mail, settings: { title: "Relais demo shop", color: "#2457c5" } }',
    '  - { id: mail, kind: email, default_flow: order-status, settings: { from: "support@demo.example", smtp: "smtp://127.0.0.1:9" }, secrets: { inbound_token: MAIL_IN } }',
    "",
  ].join("\n"));
  const port2 = await freePort();
  demo = await startDemo(port2, mkdtempSync(join(tmpdir(), "relais-browser-")), ["--workspace", ws], { RELAIS__SECRETS__MAIL_IN: "in" });
  const ec = await browser.newContext({ locale: "en-US", viewport: { width: 900, height: 760 } });
  const ep = await ec.newPage();
  await ep.goto(demo.webchat_url);
  await ep.getByRole("textbox", { name: "Message" }).fill("Hello");
  await ep.keyboard.press("Enter");
  await ep.getByRole("button", { name: "Talk to an agent" }).click({ timeout: STEP });
  const email = ep.getByRole("textbox", { name: "Email" });
  await email.waitFor({ timeout: STEP });
  await email.fill("not an address");
  await ep.getByRole("button", { name: "Save" }).click();
  // The browser's own check refuses it first; then a real address is kept.
  await email.fill("zoe@example.com");
  await ep.getByRole("button", { name: "Save" }).click();
  await ep.getByText("we will answer at zoe@example.com", { exact: false }).waitFor({ timeout: STEP });
  await ep.screenshot({ path: join(SHOTS, "webchat-email.png") });
  const list = await api(demo, "GET", "/api/v1/conversations?limit=5", demo.credentials.admin_token);
  assert.equal(list.json.conversations[0].contact.fields.email, "zoe@example.com");
  ok("waiting for an agent, the visitor is asked for an email, which the contact keeps");
  await ec.close();
  ok(`no script errors; screenshots in ${SHOTS}`);
} finally {
  await browser.close();
  server.kill("SIGKILL");
}
