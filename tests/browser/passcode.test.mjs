// The one-time passcode (docs/PORTAL.md, "One-time passcode") in a real
// browser against a real `securedoc serve`: a new recipient, with no
// account, opens a `--security passcode` envelope from file://, clicks
// "Send me a code", reads the code in the mail (the server's outbox is the
// mailbox), types it and clicks Open: five actions, counted. A wrong code
// says so and how many tries are left; the portal reads a pull passcode
// message the same way. Every new state passes axe-core, light and dark,
// at 1280 and 360 px, and the code never reaches the server's log.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, test } from "node:test";

import { assertAccessibleEverywhere, launchBrowser, makeTempDir, removeDir, waitForMessage } from "./helpers.mjs";
import { startKeyServer } from "./keyserver.mjs";

const env = {};

before(async () => {
  env.browser = await launchBrowser();
  env.dir = await makeTempDir();
  env.server = await startKeyServer(env.dir);
});

after(async () => {
  env.server?.stop();
  await env.browser?.close();
  await removeDir(env.dir);
});

const newAddress = (name) => `${name}-${randomBytes(3).toString("hex")}@example.net`;

/** The code in a code mail to `to` since `since` (ms), other than `except`. */
async function mailedCode(to, since, except = "none") {
  const pattern = new RegExp(`(?:Your code:|Votre code :)\\s*(?!${except})(\\d{8})`);
  const mail = await env.server.mailTo(to, since, pattern);
  return mail.match(pattern)[1];
}

/** Records what the recipient does, one entry per action. */
function actions() {
  const done = [];
  return {
    done,
    async act(what, step) {
      done.push(what);
      return step();
    },
  };
}

test("a new recipient reads a passcode envelope in five actions", async () => {
  const to = newAddress("dana");
  const url = await env.server.sealFor(to, { security: "passcode", subject: "Lab results", body: "Code marker 7c1f" });
  const context = await env.browser.newContext({ bypassCSP: true });
  try {
    const page = await context.newPage();
    const { act, done } = actions();

    await act("open the envelope", () => page.goto(url));
    const send = page.getByRole("button", { name: "Send me a code" });
    await send.waitFor();
    await page.getByText(`This message opens with a one-time code. We mail it to ${to}`).waitFor();
    assert.equal(await page.locator("#unlock").isVisible(), false, "no password form");
    assert.equal(await page.locator("#register-box").isVisible(), false, "no Register");
    // Open Online stays: it asks such a recipient for a code too.
    assert.equal(await page.locator("#open-online").isVisible(), true);
    await assertAccessibleEverywhere(page, "envelope, Send me a code");

    const since = Date.now() - 1000;
    await act("click Send me a code", () => send.click());
    await page.getByText(`We sent a code to ${to}. It is valid for 15 minutes.`).waitFor();
    const field = page.getByLabel("Code", { exact: true });
    assert.equal(await field.getAttribute("inputmode"), "numeric");
    assert.equal(await field.getAttribute("autocomplete"), "one-time-code");
    assert.ok(await field.evaluate((el) => el === document.activeElement), "the code field has the focus");
    await assertAccessibleEverywhere(page, "envelope, code sent");

    const code = await act("switch to the mail and read the code", () => mailedCode(to, since));
    await act("type the code", () => field.fill(code));
    await act("click Open", () => page.getByRole("button", { name: "Open", exact: true }).click());
    await waitForMessage(page);
    await page.getByText("Code marker 7c1f").waitFor();
    assert.equal(await page.locator("#subject").textContent(), "Lab results");
    // Answering needs an account: no Reply with a code.
    assert.equal(await page.locator("#answer-reply").isVisible(), false);

    assert.ok(done.length <= 5, `at most five actions, took ${done.length}: ${done.join(", ")}`);
    assert.deepEqual(done, [
      "open the envelope",
      "click Send me a code",
      "switch to the mail and read the code",
      "type the code",
      "click Open",
    ]);
    assert.ok(!env.server.log().includes(code), "the code is not in the server's log");

    // Another local page (file:// is one origin for every local file) finds
    // nothing the code or the message's key left in the browser's storage.
    const other = path.join(env.dir, "another-local-page.html");
    await writeFile(other, "<!doctype html><title>another page</title>");
    const snoop = await context.newPage();
    await snoop.goto(pathToFileURL(other).href);
    const stored = await snoop.evaluate(async () => ({
      localStorage: Object.entries(localStorage),
      databases: (await indexedDB.databases()).map((db) => db.name),
    }));
    assert.deepEqual(stored, { localStorage: [], databases: [] });
  } finally {
    await context.close();
  }
});

test("a wrong code says so and how many tries are left; a new code works", async () => {
  const to = newAddress("eli");
  const url = await env.server.sealFor(to, { security: "passcode", body: "Second marker 39ad" });
  const context = await env.browser.newContext({ bypassCSP: true });
  try {
    const page = await context.newPage();
    await page.goto(url);
    let since = Date.now() - 1000;
    await page.getByRole("button", { name: "Send me a code" }).click();
    const code = await mailedCode(to, since);
    const wrong = String((Number(code) + 1) % 100_000_000).padStart(8, "0");
    const field = page.getByLabel("Code", { exact: true });
    await field.fill(wrong);
    await field.press("Enter");
    const alert = page.locator("#passcode-error");
    await alert.filter({ hasText: "Wrong code." }).waitFor();
    assert.match(await alert.textContent(), /4 more tries with this code\./);
    assert.equal(await field.getAttribute("aria-invalid"), "true");
    await assertAccessibleEverywhere(page, "envelope, wrong code");

    // A new code replaces the old one, which no longer opens.
    since = Date.now() - 1000;
    await page.getByRole("button", { name: "Send a new code" }).click();
    await page.getByText(`We sent a new code to ${to}.`).waitFor();
    // (A new code is another 8 random digits; the same ones, once in 10^8,
    // would be waited for in vain here.)
    const fresh = await mailedCode(to, since, code);
    await field.fill(code);
    await field.press("Enter");
    await alert.filter({ hasText: "Wrong code." }).waitFor();
    await field.fill(fresh);
    await field.press("Enter");
    await waitForMessage(page);
    await page.getByText("Second marker 39ad").waitFor();
  } finally {
    await context.close();
  }
});

test("the portal reads a pull passcode message with a code, and that message only", async () => {
  const to = newAddress("finn");
  const link = await env.server.pullFor(to, {
    subject: "Portal results",
    body: "Portal marker 5e02",
    extra: ["--security", "passcode"],
  });
  const context = await env.browser.newContext({ bypassCSP: true });
  try {
    const page = await context.newPage();
    await page.goto(link);
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    await page.getByLabel("E-mail address").fill(to);
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByRole("heading", { name: "Read your secure message" }).waitFor();
    await page.getByText(`This message opens with a one-time code that we mail to ${to}.`).waitFor();
    await assertAccessibleEverywhere(page, "portal, Send me a code");

    const since = Date.now() - 1000;
    await page.getByRole("button", { name: "Send me a code" }).click();
    await page.getByText(`We sent a code to ${to}. It is valid for 15 minutes.`).waitFor();
    await assertAccessibleEverywhere(page, "portal, code sent");
    const code = await mailedCode(to, since);

    const wrong = String((Number(code) + 1) % 100_000_000).padStart(8, "0");
    await page.getByLabel("Code").fill(wrong);
    await page.getByRole("button", { name: "Open", exact: true }).click();
    await page.getByText("Wrong code.").waitFor();
    await assertAccessibleEverywhere(page, "portal, wrong code");

    await page.getByLabel("Code").fill(code);
    await page.getByRole("button", { name: "Open", exact: true }).click();
    await page.getByRole("heading", { name: "Portal results" }).waitFor();
    await page.getByText("You are reading this message with a one-time code.").waitFor();
    assert.equal(await page.getByRole("link", { name: "Inbox" }).count(), 0, "no Inbox for a code's session");
    await assertAccessibleEverywhere(page, "portal, message read by code");

    // Nothing else: the Inbox is refused.
    const inbox = await page.goto(new URL("/portal/inbox", link).href);
    assert.equal(inbox.status(), 403);
    await page.getByText("This session can only read the message you opened with a code.").waitFor();
    assert.ok(!env.server.log().includes(code), "the code is not in the server's log");
  } finally {
    await context.close();
  }
});

// (Open Online's pages are plain forms; axe-core needs JavaScript, so this
// browser has it on.)
test("Open Online asks a passcode recipient for a code, then shows the message", async () => {
  const to = newAddress("gail");
  const url = await env.server.sealFor(to, { security: "passcode", body: "Online marker 8d3e" });
  const context = await env.browser.newContext({ bypassCSP: true });
  try {
    const page = await context.newPage();
    await page.goto(url);
    await page.getByRole("button", { name: "Send me a code" }).waitFor();
    const [online] = await Promise.all([
      context.waitForEvent("page"),
      page.getByRole("button", { name: "Open Online" }).click(),
    ]);
    await online.waitForLoadState();
    await online.getByRole("heading", { name: "Open Online" }).waitFor();
    await online.getByText(`This message opens with a one-time code that we mail to ${to}.`).waitFor();
    assert.equal(await online.locator("input[type=password]").count(), 0, "no password field");
    await assertAccessibleEverywhere(online, "Open Online, Send me a code");

    const since = Date.now() - 1000;
    await online.getByRole("button", { name: "Send me a code" }).click();
    await online.getByText(`We sent a code to ${to}. It is valid for 15 minutes.`).waitFor();
    await assertAccessibleEverywhere(online, "Open Online, code sent");
    const code = await mailedCode(to, since);

    const wrong = String((Number(code) + 1) % 100_000_000).padStart(8, "0");
    await online.getByLabel("Code").fill(wrong);
    await online.getByRole("button", { name: "Open", exact: true }).click();
    await online.getByText("Wrong code.").first().waitFor();
    await assertAccessibleEverywhere(online, "Open Online, wrong code");

    await online.getByLabel("Code").fill(code);
    await online.getByRole("button", { name: "Open", exact: true }).click();
    await online.getByText("Online marker 8d3e").waitFor();
  } finally {
    await context.close();
  }
});
