// Reply, Reply all and Forward from the envelope itself, in a real browser
// against a real `securedoc serve`: once the key server has released the key,
// the envelope shows the answers the sender allowed; each opens the key
// server's compose page in a new tab, proven by the answer token that came
// sealed with the key. The answer is a secure message of its own: the
// sender opens it in her envelope, each Reply-all recipient gets their own,
// and a new address a message is forwarded to must register first.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, test } from "node:test";

import {
  NARROW,
  assertAccessible,
  launchBrowser,
  makeTempDir,
  openWithPassword,
  removeDir,
  sha256File,
} from "./helpers.mjs";
import { startKeyServer } from "./keyserver.mjs";

const PASSWORD = "Quiet-Harbour-Lantern-42";
const ALICE = "alice@clinic.example";
const BOB = "bob@example.net";
const CAROL = "carol@clinic.example";
const env = {};

before(async () => {
  env.browser = await launchBrowser();
  env.dir = await makeTempDir();
  env.server = await startKeyServer(env.dir, {
    config: 'reply_domains = ["clinic.example"]\nforward_outside = true\n',
  });
  for (const address of [ALICE, BOB, CAROL]) await env.server.createAccount(address, PASSWORD);
  env.attachment = path.join(env.dir, "results.pdf");
  await writeFile(env.attachment, randomBytes(60 * 1024 + 5));
  env.attachmentSha = await sha256File(env.attachment);
});

after(async () => {
  env.server?.stop();
  await env.browser?.close();
  await removeDir(env.dir);
});

/** Opens `envelope` in `context` with the password; returns the page. */
async function openEnvelope(context, envelope) {
  const page = await context.newPage();
  await openWithPassword(page, envelope, PASSWORD);
  return page;
}

/** Clicks an answer button of the opened envelope; returns the compose tab. */
async function answer(context, page, name) {
  const [compose] = await Promise.all([
    context.waitForEvent("page"),
    page.getByRole("button", { name, exact: true }).click(),
  ]);
  await compose.waitForLoadState();
  return compose;
}

/** The envelope mailed to `to` since `since`, saved as a file; its URL. */
async function mailedEnvelope(to, since) {
  const file = path.join(env.dir, `mailed-${randomBytes(4).toString("hex")}.html`);
  await writeFile(file, await env.server.attachmentFromOutbox(to, since));
  return pathToFileURL(file).href;
}

test("Reply with an attachment from the envelope; the sender opens the secure reply, SHA-256 equal", async () => {
  const envelope = await env.server.sealFor(BOB, { subject: "Lab results" });
  const reply = path.join(env.dir, "signed-consent.pdf");
  await writeFile(reply, randomBytes(40 * 1024 + 3));
  const replySha = await sha256File(reply);
  const context = await env.browser.newContext({ viewport: NARROW, bypassCSP: true });
  let sentAt;
  try {
    const page = await openEnvelope(context, envelope);
    for (const name of ["Reply", "Reply all", "Forward"])
      await page.getByRole("button", { name, exact: true }).waitFor();
    await assertAccessible(page, "opened, with the answer buttons");
    // The token lives in the page only: nothing another local page could
    // read from this browser's storage holds it.
    const token = await page.locator("#answer-token").inputValue();
    assert.ok(token.length > 40, "a token came with the key");
    const stored = await page.evaluate(async () => {
      const items = (storage) => Object.keys(storage).map((key) => key + "=" + storage.getItem(key));
      const databases = indexedDB.databases ? (await indexedDB.databases()).map((db) => db.name) : [];
      return [...items(localStorage), ...items(sessionStorage), ...databases, document.cookie].join("\n");
    });
    assert.ok(!stored.includes(token), "the answer token is not in browser storage");
    const compose = await answer(context, page, "Reply");
    await compose.getByRole("heading", { name: "Reply" }).waitFor();
    assert.equal(await compose.locator("#to").innerText(), ALICE);
    assert.equal(await compose.getByLabel("Subject").inputValue(), "Re: Lab results");
    assert.match(await compose.getByLabel("Message").inputValue(), /> Hello, the results are attached\./);
    await compose.getByLabel("Message").fill("Thank you, the signed form is attached.");
    await compose.getByLabel("Add attachments").setInputFiles(reply);
    sentAt = Date.now() - 1000;
    await compose.getByRole("button", { name: "Send securely" }).click();
    await compose.getByRole("heading", { name: "Your message was sent" }).waitFor();
  } finally {
    await context.close();
  }

  const sender = await env.browser.newContext({ acceptDownloads: true });
  try {
    const tab = await openEnvelope(sender, await mailedEnvelope(ALICE, sentAt));
    assert.equal(await tab.locator("#subject").innerText(), "Re: Lab results");
    await tab.getByText("Thank you, the signed form is attached.").waitFor();
    const [download] = await Promise.all([
      tab.waitForEvent("download"),
      tab.getByRole("link", { name: /signed-consent\.pdf/ }).click(),
    ]);
    assert.equal(await sha256File(await download.path()), replySha);
  } finally {
    await sender.close();
  }
});

test("Reply all reaches the sender and every other recipient, each with an envelope of their own", async () => {
  const envelopes = await env.server.sealFor([BOB, CAROL], { subject: "Team results" });
  const context = await env.browser.newContext();
  let sentAt;
  try {
    const page = await openEnvelope(context, envelopes[BOB]);
    const compose = await answer(context, page, "Reply all");
    await compose.getByRole("heading", { name: "Reply all" }).waitFor();
    assert.equal(await compose.locator("#to").innerText(), `${ALICE}, ${CAROL}`);
    await compose.getByLabel("Message").fill("Noted, thank you both.");
    sentAt = Date.now() - 1000;
    await compose.getByRole("button", { name: "Send securely" }).click();
    await compose.getByRole("heading", { name: "Your message was sent" }).waitFor();
  } finally {
    await context.close();
  }
  const ids = new Set();
  for (const address of [ALICE, CAROL]) {
    const reader = await env.browser.newContext();
    try {
      const tab = await openEnvelope(reader, await mailedEnvelope(address, sentAt));
      assert.equal(await tab.locator("#env-to").innerText(), address);
      assert.equal(await tab.locator("#subject").innerText(), "Re: Team results");
      await tab.getByText("Noted, thank you both.").waitFor();
      ids.add(await tab.evaluate(() => document.getElementById("securedoc-envelope").textContent.slice(0, 200)));
    } finally {
      await reader.close();
    }
  }
  assert.equal(ids.size, 2, "two envelopes, not one shared");
});

test("Forward with the original attachment to a new outside address, which is asked to register", async () => {
  const envelope = await env.server.sealFor(BOB, { subject: "Referral", attachment: env.attachment });
  const newcomer = `partner-${randomBytes(3).toString("hex")}@elsewhere.example`;
  const context = await env.browser.newContext();
  let sentAt;
  try {
    const page = await openEnvelope(context, envelope);
    const compose = await answer(context, page, "Forward");
    await compose.getByRole("heading", { name: "Forward" }).waitFor();
    assert.equal(await compose.getByLabel("Subject").inputValue(), "Fwd: Referral");
    assert.ok(await compose.getByLabel(/results\.pdf/).isChecked(), "the original attachment goes along");
    await compose.getByLabel("To").fill(newcomer);
    await compose.getByLabel("Message").fill("Please see the referral below.");
    sentAt = Date.now() - 1000;
    await compose.getByRole("button", { name: "Send securely" }).click();
    await compose.getByRole("heading", { name: "Your message was sent" }).waitFor();
  } finally {
    await context.close();
  }
  const reader = await env.browser.newContext();
  try {
    const tab = await reader.newPage();
    await tab.goto(await mailedEnvelope(newcomer, sentAt));
    assert.equal(await tab.locator("#env-to").innerText(), newcomer);
    await tab.locator("#register-button").waitFor({ state: "visible" });
    assert.ok(await tab.locator("#unlock").isHidden(), "no password field before registering");
  } finally {
    await reader.close();
  }
});

test("--no-reply: the envelope shows no Reply, and a forged Reply is refused by the key server", async () => {
  const envelope = await env.server.sealFor(BOB, { subject: "No replies", extra: ["--no-reply"] });
  const context = await env.browser.newContext();
  try {
    const page = await openEnvelope(context, envelope);
    await page.getByRole("button", { name: "Forward", exact: true }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Reply", exact: true }).count(), 0);
    // A recipient who edits the page to post a Reply anyway.
    await page.evaluate(() => {
      const forged = document.getElementById("answer-forward").cloneNode(true);
      forged.id = "forged";
      forged.value = "reply";
      forged.textContent = "Forged reply";
      document.getElementById("answer-forward").after(forged);
    });
    const compose = await answer(context, page, "Forged reply");
    await compose.getByText("The sender does not allow replies to this message.").waitFor();
  } finally {
    await context.close();
  }
});

test("the page between the envelope and the compose page passes axe-core in both languages and schemes, at 360 px", async () => {
  const context = await env.browser.newContext({ viewport: NARROW, bypassCSP: true });
  // Answered 204, the compose page's request leaves the page in between on screen.
  await context.route(/\/compose\?kind=/, (route) => route.fulfill({ status: 204 }));
  try {
    for (const [lang, button, words] of [
      ["en", "Reply", "Opening the message to answer it"],
      ["fr", "Répondre", "Ouverture du message pour y répondre"],
    ]) {
      const envelope = await env.server.sealFor(BOB, { subject: "Between", extra: ["--lang", lang] });
      const page = await openEnvelope(context, envelope);
      const between = await answer(context, page, button);
      await between.getByText(words).waitFor();
      assert.equal(await between.locator("html").getAttribute("lang"), lang);
      for (const colorScheme of ["light", "dark"]) {
        await between.emulateMedia({ colorScheme });
        await assertAccessible(between, `between the envelope and compose (${lang}, ${colorScheme})`);
      }
    }
  } finally {
    await context.close();
  }
});
