// The agent workspace's first pages in a real browser against `relais demo`: the login
// form by keyboard, the inbox and its views, the presence switch, logging out.
// Run by `cargo test` (crates/relais-server/tests/it/browser.rs) with RELAIS_BIN set.

import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { strict as assert } from "node:assert";

const BIN = process.env.RELAIS_BIN;
if (!BIN) throw new Error("set RELAIS_BIN to the relais binary");
const SHOTS = process.env.SCREENSHOTS || mkdtempSync(join(tmpdir(), "relais-shots-"));
mkdirSync(SHOTS, { recursive: true });
const STEP = 20_000; // generous: CI shares two cores with other tests
function ok(what) { console.log("ok   " + what); }
// Every control a person can reach has an accessible name (a label, aria-label, or its
// text), and the page says its language.
async function unnamed(page) {
  return page.evaluate(() => {
    const bad = [];
    if (!document.documentElement.lang) bad.push("<html> without lang");
    for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea, button, a[href]")) {
      if (el.closest("[hidden], dialog:not([open])")) continue;
      const labels = el.labels ? [...el.labels].map((l) => l.textContent).join(" ") : "";
      const img = el.querySelector && el.querySelector("img[alt]");
      const name = (el.getAttribute("aria-label") || labels || el.textContent || (img && img.alt) || "").trim();
      if (!name) bad.push(el.outerHTML.slice(0, 100));
    }
    return bad;
  });
}

// Text whose contrast with what is behind it is under WCAG 2.1 AA (4.5:1, 3:1 for
// large text), measured from the computed colours.
async function lowContrast(page) {
  return page.evaluate(() => {
    const rgba = (c) => { const m = c.match(/[\d.]+/g) || ["0", "0", "0", "0"]; return m.map(Number).concat([1]).slice(0, 4); };
    const lum = ([r, g, b]) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat([1]);
    // What is painted behind an element: its ancestors' backgrounds, over white.
    const behind = (el) => {
      const layers = [];
      for (let e = el; e; e = e.parentElement) {
        const c = rgba(getComputedStyle(e).backgroundColor);
        if (c[3] > 0) layers.push(c);
        if (c[3] >= 1) break;
      }
      return layers.reverse().reduce((acc, c) => over(c, acc), [255, 255, 255, 1]);
    };
    const bad = [];
    for (const el of document.querySelectorAll("body *")) {
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!own || el.closest("[hidden], dialog:not([open]), svg, option")) continue;
      const st = getComputedStyle(el);
      if (st.visibility === "hidden" || st.display === "none" || el.getClientRects().length === 0) continue;
      if (st.clip === "rect(0px, 0px, 0px, 0px)" || st.clipPath === "inset(50%)") continue;
      const bg = behind(el);
      const fg = over(rgba(st.color), bg);
      const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
      const ratio = (a + 0.05) / (b + 0.05);
      const size = parseFloat(st.fontSize), bold = Number(st.fontWeight) >= 700;
      const large = size >= 24 || (bold && size >= 18.66);
      if (ratio < (large ? 3 : 4.5)) bad.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
    }
    return [...new Set(bad)];
  });
}

const port = await new Promise((resolve) => {
  const s = createServer();
  s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
});
const server = spawn(BIN, ["demo", "--json", "--data", mkdtempSync(join(tmpdir(), "relais-ws-")), "--listen", `127.0.0.1:${port}`], {
  stdio: ["ignore", "pipe", "inherit"],
});
const demo = await new Promise((resolve, reject) => {
  let out = "";
  server.stdout.on("data", (d) => { out += d; const nl = out.indexOf("\n"); if (nl >= 0) resolve(JSON.parse(out.slice(0, nl))); });
  server.on("exit", (c) => reject(new Error(`relais demo exited with ${c}`)));
});
const creds = demo.credentials;

// A web chat customer waits for an agent, so that the inbox has a row.
await fetch(`${demo.url}/api/v1/channels/demo/converse`, {
  method: "POST",
  headers: { Authorization: `Bearer ${creds.channel_token}`, "Content-Type": "application/json" },
  body: JSON.stringify({ sender: "zoe", text: "je veux parler à un conseiller" }),
});

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] })
  .catch((e) => { server.kill("SIGKILL"); throw e; });
try {
  for (const [name, viewport] of [["desktop", { width: 1200, height: 760 }], ["phone", { width: 390, height: 844 }]]) {
    const context = await browser.newContext({ locale: "en-US", viewport, isMobile: name === "phone" });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${demo.url}/`);
    // Sent to the login form; filled and sent from the keyboard.
    await page.getByLabel("Email").waitFor({ timeout: STEP });
    if (name === "desktop") await page.screenshot({ path: join(SHOTS, "login-desktop.png") });
    assert.deepEqual(await lowContrast(page), [], "login: text contrast");
    await page.getByLabel("Email").fill(creds.admin_email);
    await page.getByLabel("Password").fill(creds.admin_password);
    await page.getByLabel("Password").press("Enter");
    await page.getByRole("heading", { name: "Inbox" }).waitFor({ timeout: STEP });
    const sections = ["Inbox", "Dashboard", "Flows", "Teams", "Agents", "Channels", "Canned responses", "Articles", "Templates", "Settings"];
    for (const link of sections) {
      assert.equal(await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: link, exact: true }).count(), 1, link);
    }
    await page.getByRole("link", { name: /^All \d+$/ }).click();
    await page.locator(".rows a").first().waitFor({ timeout: STEP });
    assert.equal(await page.getByRole("combobox", { name: "Presence" }).count(), 1);
    await page.screenshot({ path: join(SHOTS, `inbox-${name}.png`), fullPage: false });
    assert.deepEqual(await unnamed(page), [], "inbox: every control is named");
    assert.deepEqual(await lowContrast(page), [], "inbox: text contrast");
    const scrolls = await page.evaluate((w) => document.documentElement.scrollWidth > w, viewport.width);
    assert.equal(scrolls, false, "no horizontal scrolling");
    // Each row is one link to its conversation: the transcript.
    await page.locator(".rows a").first().click();
    await page.getByText("je veux parler à un conseiller").waitFor({ timeout: STEP });
    await page.screenshot({ path: join(SHOTS, `conversation-${name}.png`) });
    assert.deepEqual(await unnamed(page), [], "conversation: every control is named");
    assert.deepEqual(await lowContrast(page), [], "conversation: text contrast");
    assert.equal(await page.evaluate((w) => document.documentElement.scrollWidth > w, viewport.width), false);
    // Every section, on this screen: no horizontal scrolling, no script error.
    for (const [link, shot] of [["Dashboard", "dashboard"], ["Flows", "flows"], ["Teams", "teams"], ["Agents", "agents"],
      ["Channels", "channels"], ["Canned responses", "canned"], ["Articles", "articles"], ["Templates", "templates"], ["Settings", "settings"]]) {
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: link, exact: true }).click();
      await page.getByRole("heading", { name: link, level: 1 }).waitFor({ timeout: STEP });
      await page.screenshot({ path: join(SHOTS, `${shot}-${name}.png`), fullPage: true });
      assert.deepEqual(await unnamed(page), [], `${link}: every control is named`);
      assert.deepEqual(await lowContrast(page), [], `${link}: text contrast`);
      assert.equal(await page.evaluate((w) => document.documentElement.scrollWidth > w, viewport.width), false, `${link}: no horizontal scrolling`);
    }
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Flows", exact: true }).click();
    await page.getByRole("link", { name: "order-status" }).click();
    await page.locator("svg.flow-graph").waitFor({ timeout: STEP });
    await page.getByRole("textbox", { name: "You say" }).fill("Bonjour");
    await page.getByRole("textbox", { name: "You say" }).press("Enter");
    await page.locator(".sim li.bot").first().waitFor({ timeout: STEP });
    await page.screenshot({ path: join(SHOTS, `flow-${name}.png`), fullPage: true });
    assert.deepEqual(await unnamed(page), [], "flow: every control is named");
    assert.equal(await page.evaluate((w) => document.documentElement.scrollWidth > w, viewport.width), false, "the flow page: the graph scrolls inside its box");
    await page.goto(`${demo.url}/inbox`);
    // Presence, then logging out.
    await page.getByRole("combobox", { name: "Presence" }).selectOption("away");
    await page.getByRole("button", { name: "Set" }).click();
    await page.getByRole("heading", { name: "Inbox" }).waitFor({ timeout: STEP });
    assert.equal(await page.getByRole("combobox", { name: "Presence" }).inputValue(), "away");
    await page.getByRole("button", { name: /Log out/ }).click();
    await page.getByLabel("Email").waitFor({ timeout: STEP });
    await page.goto(`${demo.url}/inbox`);
    await page.getByLabel("Email").waitFor({ timeout: STEP });
    assert.deepEqual(errors, []);
    await context.close();
  }
  ok("an admin logs in by keyboard, sees the inbox and its views, sets presence and logs out (desktop and phone)");

  // The whole path: a web chat customer asks for an agent; the agent, in the browser,
  // opens the conversation, claims it and replies; the customer sees the reply live;
  // the agent solves and the survey reaches the customer.
  const customer = await (await browser.newContext({ locale: "en-US" })).newPage();
  await customer.goto(demo.webchat_url);
  await customer.getByRole("textbox", { name: "Message" }).fill("Hello");
  await customer.keyboard.press("Enter");
  await customer.getByRole("button", { name: "Talk to an agent" }).click({ timeout: STEP });
  await customer.locator(".msg.bot").nth(2).waitFor({ timeout: STEP });
  const agent = await (await browser.newContext({ locale: "en-US", viewport: { width: 1200, height: 800 } })).newPage();
  // Counts the tones the page plays (a new assignment rings while the sound is on).
  await agent.addInitScript(() => {
    window.__tones = 0;
    const Real = window.AudioContext;
    if (Real) window.AudioContext = class extends Real {
      createOscillator() { window.__tones += 1; return super.createOscillator(); }
    };
  });
  // The demo agent (support team, online) logs in with the password the demo printed.
  assert.ok(creds.agent_password, "the demo prints the agent's password");
  await agent.goto(`${demo.url}/inbox?view=mine`);
  await agent.getByLabel("Email").fill(creds.agent_email);
  await agent.getByLabel("Password").fill(creds.agent_password);
  await agent.getByRole("button", { name: "Log in" }).click();
  await agent.getByRole("link", { name: /Visitor/ }).first().click({ timeout: STEP });
  // She is online, so the handoff was assigned to her; she would claim it otherwise.
  await agent.getByRole("textbox", { name: "Reply" }).waitFor({ timeout: STEP });
  if (await agent.getByRole("button", { name: "Claim" }).count()) await agent.getByRole("button", { name: "Claim" }).click();
  // Canned responses: the admin adds one on its page; `/` finds it in the reply box.
  const admin = await (await browser.newContext({ locale: "en-US", viewport: { width: 1200, height: 800 } })).newPage();
  await admin.goto(`${demo.url}/canned`);
  await admin.getByLabel("Email").fill(creds.admin_email);
  await admin.getByLabel("Password").fill(creds.admin_password);
  await admin.getByRole("button", { name: "Log in" }).click();
  await admin.getByRole("heading", { name: "Canned responses" }).waitFor({ timeout: STEP });
  const create = admin.locator("section.panel").last();
  await create.getByLabel("Shortcut").fill("welcome");
  await create.getByLabel("Title").fill("Welcome");
  await create.getByLabel("Text").fill("Hi, this is the support team. How can I help?");
  await create.getByRole("button", { name: "Create" }).click();
  await admin.getByText("Saved.").waitFor({ timeout: STEP });
  await agent.reload();
  const reply = agent.getByRole("textbox", { name: "Reply" });
  await reply.waitFor({ timeout: STEP });
  // Collision detection: the admin opens the same conversation; the agent sees it.
  const path = new URL(agent.url()).pathname;
  await admin.goto(`${demo.url}${path}`);
  await admin.getByRole("textbox", { name: "Reply" }).waitFor({ timeout: STEP });
  await agent.reload();
  await agent.locator(".others:not([hidden])").waitFor({ timeout: STEP });
  assert.match(await agent.locator(".others").innerText(), /\S/);
  await admin.getByRole("textbox", { name: "Reply" }).pressSequentially("I am looking", { delay: 20 });
  await agent.waitForFunction(() => document.querySelector(".others").classList.contains("typing"), null, { timeout: STEP });
  ok("an agent sees another agent on the same conversation, and that they type");
  // `?` lists the shortcuts.
  await agent.locator("h1").click();
  await agent.keyboard.press("?");
  await agent.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor({ timeout: STEP });
  await agent.screenshot({ path: join(SHOTS, "shortcuts-desktop.png") });
  await agent.keyboard.press("Escape");
  await reply.click();
  await reply.pressSequentially("/wel");
  await agent.getByRole("option", { name: /welcome/ }).waitFor({ timeout: STEP });
  await agent.screenshot({ path: join(SHOTS, "canned-menu-desktop.png") });
  await reply.press("Enter");
  assert.equal(await reply.inputValue(), "Hi, this is the support team. How can I help?");
  ok("`/` finds a canned response, Enter puts it in the reply box; `?` lists the shortcuts");
  await reply.press("Enter");
  await customer.getByText("Hi, this is the support team.", { exact: false }).waitFor({ timeout: STEP });
  ok("Enter sends the agent's reply; the customer sees it live");
  // The customer answers: it appears on the agent's open page without a reload.
  await agent.getByRole("textbox", { name: "Reply" }).waitFor({ timeout: STEP });
  await agent.evaluate(() => { window.__notReloaded = true; });
  await customer.getByRole("textbox", { name: "Message" }).fill("Thanks! Where is my parcel A123?");
  await customer.keyboard.press("Enter");
  await agent.getByText("Where is my parcel A123?").waitFor({ timeout: STEP });
  assert.equal(await agent.evaluate(() => window.__notReloaded), true, "updated live, not reloaded");
  ok("the customer's answer appears live on the agent's conversation page");
  // The knowledge base's suggestions for the customer's question, beside the transcript:
  // Insert puts the article in the reply box.
  await agent.reload();
  const suggestions = agent.getByRole("region", { name: "Suggestions" });
  await suggestions.waitFor({ timeout: STEP });
  assert.match(await suggestions.locator("li").first().innerText(), /Delivery times and tracking/);
  await suggestions.getByRole("button", { name: /Insert/ }).first().click();
  assert.match(await agent.getByRole("textbox", { name: "Reply" }).inputValue(), /^Delivery times and tracking\n\nWe deliver within 2 to 4 working days/);
  await agent.screenshot({ path: join(SHOTS, "suggestions-desktop.png") });
  await agent.getByRole("textbox", { name: "Reply" }).fill("");
  ok("the conversation page suggests the knowledge base's article for the customer's question; Insert puts it in the reply box");
  await agent.screenshot({ path: join(SHOTS, "conversation-reply-desktop.png") });
  const before = await customer.locator(".msg").count();
  await agent.getByRole("button", { name: "Solve" }).click();
  await agent.getByRole("button", { name: "Reopen" }).waitFor({ timeout: STEP });
  await customer.waitForFunction((n) => document.querySelectorAll(".msg").length > n, before, { timeout: STEP });
  const survey = await customer.locator(".msg").last().innerText();
  assert.match(survey, /1.*5|rate|note/i, survey);
  await customer.screenshot({ path: join(SHOTS, "webchat-survey.png") });
  ok("a web chat customer reaches an agent who replies from the page (seen live) and solves; the survey reaches the customer");

  // The inbox follows the stream: a new customer's handoff appears without a reload.
  await agent.goto(`${demo.url}/inbox?view=mine`);
  const rowsBefore = await agent.locator(".rows a").count();
  await agent.evaluate(() => { window.__notReloaded = true; });
  const second = await (await browser.newContext({ locale: "en-US" })).newPage();
  await second.goto(demo.webchat_url);
  await second.getByRole("textbox", { name: "Message" }).fill("Hello");
  await second.keyboard.press("Enter");
  await second.getByRole("button", { name: "Talk to an agent" }).click({ timeout: STEP });
  await agent.waitForFunction((n) => document.querySelectorAll(".rows a").length > n, rowsBefore, { timeout: STEP });
  assert.equal(await agent.evaluate(() => window.__notReloaded), true, "updated live, not reloaded");
  // Assigned to her by the routing: the tab's title says so.
  await agent.waitForFunction(() => /^\(1\) /.test(document.title), null, { timeout: STEP });
  assert.equal(await agent.evaluate(() => window.__tones), 1, "one tone for the new assignment");
  assert.equal(await agent.locator(".rows li.is-unread").count() >= 1, true, "the new one is unread");
  await agent.screenshot({ path: join(SHOTS, "inbox-live-desktop.png") });
  ok("a new handoff appears in the agent's inbox live, unread, with a title badge and a tone");
  // j/k move between the inbox's conversations from the keyboard.
  await agent.locator("h1").click();
  await agent.keyboard.press("j");
  assert.equal(await agent.evaluate(() => document.activeElement === document.querySelector(".rows a")), true, "j focuses the first row");
  await agent.keyboard.press("j");
  await agent.keyboard.press("k");
  assert.equal(await agent.evaluate(() => document.activeElement === document.querySelector(".rows a")), true, "k goes back");
  // Her language: French, from her settings.
  await agent.goto(`${demo.url}/settings`);
  await agent.getByRole("combobox", { name: "Language of the pages" }).selectOption("fr");
  await agent.getByRole("button", { name: "Save" }).click();
  await agent.getByRole("heading", { name: "Réglages" }).waitFor({ timeout: STEP });
  await agent.getByRole("link", { name: "Boîte de réception", exact: true }).click();
  await agent.getByRole("heading", { name: "Boîte de réception" }).waitFor({ timeout: STEP });
  assert.equal(await agent.evaluate(() => document.documentElement.lang), "fr");
  await agent.screenshot({ path: join(SHOTS, "inbox-fr-desktop.png") });
  ok("an agent switches the pages to French");
  // The dashboard after the day's conversations: tiles, charts, CSV download.
  await admin.goto(`${demo.url}/dashboard`);
  await admin.getByRole("heading", { name: "Dashboard" }).waitFor({ timeout: STEP });
  assert.ok(Number(await admin.locator(".tile strong").first().innerText()) >= 3, "conversations counted");
  assert.equal(await admin.getByRole("img", { name: "Conversations per day" }).count(), 1);
  assert.equal(await admin.getByRole("img", { name: "Escalations by reason" }).count(), 1);
  assert.deepEqual(await unnamed(admin), [], "dashboard: every control is named");
  await admin.screenshot({ path: join(SHOTS, "dashboard-desktop.png"), fullPage: true });
  const [download] = await Promise.all([
    admin.waitForEvent("download", { timeout: STEP }),
    admin.getByRole("link", { name: "Download the summary (CSV)" }).click(),
  ]);
  assert.equal(download.suggestedFilename(), "summary.csv");
  ok("the dashboard shows the day's KPIs with charts and downloads them as CSV");
  // Articles: the preview says what the bot would answer; an admin writes an article on
  // the page and the bot answers with it at once.
  await admin.goto(`${demo.url}/articles?q=${encodeURIComponent("Je peux régler mes achats avec PayPal ?")}&language=fr`);
  await admin.getByTestId("preview-answer").waitFor({ timeout: STEP });
  assert.match(await admin.getByTestId("preview-answer").innerText(), /Moyens de paiement/);
  await admin.screenshot({ path: join(SHOTS, "articles-preview-desktop.png"), fullPage: true });
  await admin.getByRole("link", { name: "New article" }).click();
  await admin.getByLabel("Title").fill("Gift cards");
  await admin.getByLabel("Slug").fill("gift-cards");
  await admin.getByRole("combobox", { name: /^Language/ }).first().selectOption("en");
  await admin.getByLabel("Tags").fill("gifts");
  await admin.getByLabel("Text (Markdown)").fill("We sell gift cards from 10 to 500 euros, in every shop and online. They are valid for two years.");
  assert.deepEqual(await unnamed(admin), [], "the article editor: every control is named");
  await admin.screenshot({ path: join(SHOTS, "article-editor-desktop.png"), fullPage: true });
  await admin.getByRole("button", { name: "Save" }).click();
  await admin.getByText("Saved.").waitFor({ timeout: STEP });
  await admin.getByRole("cell", { name: "Gift cards", exact: true }).waitFor({ timeout: STEP });
  await admin.getByRole("textbox", { name: "A customer's question" }).fill("do you sell gift vouchers for a birthday?");
  await admin.getByRole("button", { name: "Try" }).click();
  await admin.getByTestId("preview-answer").waitFor({ timeout: STEP });
  assert.match(await admin.getByTestId("preview-answer").innerText(), /Gift cards/);
  ok("the Articles page previews the bot's answer; an article written there is answered at once");
  // Flows: a file picked on the computer fills the form (its text and its path), and is
  // checked with its findings at their lines.
  await admin.goto(`${demo.url}/flows`);
  await admin.getByLabel("From your computer").setInputFiles({
    name: "Greeting.yml", mimeType: "text/yaml",
    buffer: Buffer.from("flow: greeting\nstart: hello\nsteps:\n  hello:\n    say: \"Hi!\"\n    next: nowhere\n"),
  });
  await admin.waitForFunction(() => document.querySelector('textarea[name="source"]').value.startsWith("flow: greeting"), null, { timeout: STEP });
  assert.equal(await admin.getByLabel("File", { exact: true }).inputValue(), "flows/greeting.yaml");
  await admin.getByRole("button", { name: "Check", exact: true }).click();
  await admin.getByRole("heading", { name: /Check a flow file/ }).waitFor({ timeout: STEP });
  assert.match(await admin.locator("ol.listing").innerText(), /nowhere/);
  ok("a flow file picked on the computer fills the form and is checked at its lines");
  // Settings: the admin changes the reminder delay; the page says it now comes from here.
  await admin.goto(`${demo.url}/settings`);
  await admin.getByLabel("Reminder to a silent customer after").fill("20m");
  await admin.getByLabel("Cost of an agent hour").fill("32.5");
  await admin.getByRole("button", { name: "Save settings" }).click();
  await admin.getByText("Saved.").waitFor({ timeout: STEP });
  assert.equal(await admin.getByLabel("Reminder to a silent customer after").inputValue(), "20m");
  assert.equal(await admin.getByText("inactivity.remind").locator("..").innerText().then((t) => t.includes("changed here")), true);
  assert.deepEqual(await unnamed(admin), [], "settings: every control is named");
  await admin.screenshot({ path: join(SHOTS, "settings-changed-desktop.png"), fullPage: true });
  await admin.getByLabel("Reminder to a silent customer after").fill("soon");
  await admin.getByRole("button", { name: "Save settings" }).click();
  await admin.locator("[role=alert]").waitFor({ timeout: STEP });
  assert.match(await admin.locator("[role=alert]").innerText(), /inactivity\.remind/);
  await admin.getByRole("button", { name: "Use relais.toml's values" }).click();
  await admin.getByText("Saved.").waitFor({ timeout: STEP });
  assert.equal(await admin.getByLabel("Reminder to a silent customer after").inputValue(), "10m");
  ok("an admin changes a server setting on the Settings page; a mistake is named; relais.toml's values come back");
  // GDPR erasure from the conversation page: the admin confirms, the contact is gone.
  await admin.goto(`${demo.url}${path}`);
  await admin.getByText("Erase this contact").click();
  const erase = admin.getByRole("button", { name: "Erase", exact: true });
  await erase.waitFor({ timeout: STEP });
  assert.deepEqual(await unnamed(admin), [], "conversation with the erase form: every control is named");
  await admin.screenshot({ path: join(SHOTS, "erase-contact-desktop.png"), fullPage: true });
  await erase.click();
  // The browser refuses the form until the box is ticked (required): still here.
  assert.equal(await admin.getByText("Erased contact").count(), 0);
  await admin.getByLabel("I understand this cannot be undone").check();
  await erase.click();
  await admin.locator(".card", { hasText: "Erased contact" }).waitFor({ timeout: STEP });
  await admin.screenshot({ path: join(SHOTS, "erased-contact-desktop.png"), fullPage: true });
  ok("an admin erases a contact from the conversation page, after confirming");
  ok(`screenshots in ${SHOTS}`);
} finally {
  await browser.close();
  server.kill("SIGKILL");
}
