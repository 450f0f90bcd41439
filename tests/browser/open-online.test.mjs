// Open Online in a real browser against a real `securedoc serve`: with
// JavaScript turned off, the envelope's Open Online button posts the
// envelope to the key server, which asks for the password and shows the
// message, its attachment and "Save message" — all without script. Every
// state passes axe-core at 360 px, and the hostile HTML body of the
// envelope tests runs nothing and loads nothing here either.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, test } from "node:test";

import {
  NARROW,
  assertAccessible,
  launchBrowser,
  makeTempDir,
  removeDir,
  sha256File,
  openWithPassword,
} from "./helpers.mjs";
import { assertNoTraces, hostileHtml, startRecorder, watchForTraces } from "./hostile.mjs";
import { startKeyServer } from "./keyserver.mjs";

const PASSWORD = "Quiet-Harbour-Lantern-42";
const BOB = "bob@example.net";
const env = {};

before(async () => {
  env.browser = await launchBrowser();
  env.dir = await makeTempDir();
  env.server = await startKeyServer(env.dir);
  await env.server.createAccount(BOB, PASSWORD);
  env.attachment = path.join(env.dir, "results.pdf");
  await writeFile(env.attachment, randomBytes(150 * 1024 + 7));
  env.attachmentSha = await sha256File(env.attachment);
});

after(async () => {
  env.server?.stop();
  await env.browser?.close();
  await removeDir(env.dir);
});

/** From the envelope page: Open Online → the key server's page, in a new tab. */
async function openOnline(context, envelope) {
  const page = await context.newPage();
  await page.goto(envelope);
  const [online] = await Promise.all([
    context.waitForEvent("page"),
    page.getByRole("button", { name: "Open Online" }).click(),
  ]);
  await online.waitForLoadState();
  await online.getByRole("heading", { name: "Open Online" }).waitFor();
  return { page, online };
}

async function submitPassword(online, password) {
  await online.getByLabel("Password").fill(password);
  await online.getByRole("button", { name: "Open the message" }).click();
  await online.waitForLoadState();
}

test("JavaScript off: Open Online, the password, the message, its attachment and the .eml", async () => {
  const envelope = await env.server.sealFor(BOB, { attachment: env.attachment });
  const context = await env.browser.newContext({ javaScriptEnabled: false, acceptDownloads: true });
  try {
    const { page, online } = await openOnline(context, envelope);
    // The envelope says what to do without JavaScript, in plain words (a
    // <noscript>: Chromium's script switch leaves it unrendered, so its words
    // are read from the DOM).
    assert.match(
      await page.locator("noscript").first().textContent(),
      /JavaScript is turned off, so this page cannot open the message itself\. Choose Open Online/,
    );
    assert.match(await online.locator("main").innerText(), /alice@clinic\.example/);

    await submitPassword(online, "not my password");
    await online.getByText("Wrong password. 4 attempts left before your account is locked.").first().waitFor();
    assert.equal(await online.getByLabel("Password").getAttribute("aria-invalid"), "true");

    await submitPassword(online, PASSWORD);
    await online.getByRole("heading", { name: "Your test results" }).waitFor();
    await online.getByText("Hello, the results are attached.").waitFor();
    assert.match(online.url(), /\/open\/view\/[0-9a-f]{64}$/);

    const [download] = await Promise.all([
      online.waitForEvent("download"),
      online.getByRole("link", { name: /results\.pdf/ }).click(),
    ]);
    assert.equal(download.suggestedFilename(), "results.pdf");
    assert.equal(await sha256File(await download.path()), env.attachmentSha);

    const [saved] = await Promise.all([
      online.waitForEvent("download"),
      online.getByRole("link", { name: "Save message" }).click(),
    ]);
    const eml = await readFile(await saved.path(), "utf8");
    assert.match(eml, /^Subject: Your test results\r?$/m);
    assert.match(eml, /Hello, the results are attached\./);
  } finally {
    await context.close();
  }
});

test("every Open Online state passes axe-core and fits 360 px", async () => {
  const envelope = await env.server.sealFor(BOB, { attachment: env.attachment, subject: "Accessible online" });
  // axe-core is injected as a script, which the pages' CSP rightly refuses.
  const context = await env.browser.newContext({ viewport: NARROW, bypassCSP: true });
  try {
    const { page, online } = await openOnline(context, envelope);
    await assertAccessible(page, "envelope with Open Online");
    await assertAccessible(online, "Open Online password");
    await submitPassword(online, "not my password");
    await online.getByText("Wrong password.").first().waitFor();
    await assertAccessible(online, "Open Online wrong password");
    await submitPassword(online, PASSWORD);
    await online.getByRole("heading", { name: "Accessible online" }).waitFor();
    await assertAccessible(online, "Open Online message");
    // With JavaScript, the page offers Print (the sender allows it).
    await online.getByRole("button", { name: "Print" }).waitFor();
  } finally {
    await context.close();
  }
});

test("JavaScript off: Reply with an attachment; the sender opens the secure reply in the envelope", async () => {
  const envelope = await env.server.sealFor(BOB, { subject: "Lab results", from: "alice@clinic.example" });
  const reply = path.join(env.dir, "signed-consent.pdf");
  await writeFile(reply, randomBytes(40 * 1024 + 3));
  const replySha = await sha256File(reply);
  const context = await env.browser.newContext({ javaScriptEnabled: false });
  let sentAt;
  try {
    const { online } = await openOnline(context, envelope);
    await submitPassword(online, PASSWORD);
    await online.getByRole("heading", { name: "Lab results" }).waitFor();
    await online.getByRole("link", { name: "Reply", exact: true }).click();
    await online.getByRole("heading", { name: "Reply" }).waitFor();
    assert.equal(await online.locator("#to").innerText(), "alice@clinic.example");
    assert.equal(await online.getByLabel("Subject").inputValue(), "Re: Lab results");
    assert.match(await online.getByLabel("Message").inputValue(), /> Hello, the results are attached\./);
    await online.getByLabel("Message").fill("Thank you, the signed form is attached.");
    await online.getByLabel("Add attachments").setInputFiles(reply);
    sentAt = Date.now() - 1000;
    await online.getByRole("button", { name: "Send securely" }).click();
    await online.getByRole("heading", { name: "Your message was sent" }).waitFor();
    await online.getByText("Your message was sent securely to alice@clinic.example.").waitFor();
  } finally {
    await context.close();
  }

  // Alice, the sender, gets a notification with an envelope of her own, and
  // opens it in her browser with her own password.
  const page = await env.server.attachmentFromOutbox("alice@clinic.example", sentAt);
  const file = path.join(env.dir, "reply.html");
  await writeFile(file, page);
  await env.server.createAccount("alice@clinic.example", PASSWORD);
  const sender = await env.browser.newContext({ acceptDownloads: true });
  try {
    const tab = await sender.newPage();
    await openWithPassword(tab, pathToFileURL(file).href, PASSWORD);
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

test("the compose page and the sent page pass axe-core and fit 360 px", async () => {
  const envelope = await env.server.sealFor(BOB, { subject: "Forward me" });
  const context = await env.browser.newContext({ viewport: NARROW, bypassCSP: true });
  try {
    const { online } = await openOnline(context, envelope);
    await submitPassword(online, PASSWORD);
    await online.getByRole("heading", { name: "Forward me" }).waitFor();
    await online.getByRole("link", { name: "Forward" }).click();
    await online.getByRole("heading", { name: "Forward" }).waitFor();
    await assertAccessible(online, "compose (Forward)");
    // Outside the organisation: refused, with the reason next to the field.
    await online.getByLabel("To").fill("partner@elsewhere.example");
    await online.getByRole("button", { name: "Send securely" }).click();
    await online.getByText("may not be sent to partner@elsewhere.example").first().waitFor();
    await assertAccessible(online, "compose with an error");
    await online.getByLabel("To").fill("alice@clinic.example");
    await online.getByRole("button", { name: "Send securely" }).click();
    await online.getByRole("heading", { name: "Your message was sent" }).waitFor();
    await assertAccessible(online, "sent");
  } finally {
    await context.close();
  }
});

test("Open Online and its answers speak French and pass axe-core in both schemes, at 360 and 320 px", async () => {
  const envelope = await env.server.sealFor(BOB, {
    subject: "Résultats",
    attachment: env.attachment,
    extra: ["--lang", "fr"],
  });
  const context = await env.browser.newContext({ viewport: NARROW, bypassCSP: true });
  const everyWay = async (page, state) => {
    for (const colorScheme of ["light", "dark"]) {
      await page.emulateMedia({ colorScheme });
      for (const width of [360, 320]) {
        await page.setViewportSize({ width, height: 740 });
        await assertAccessible(page, `${state} (${colorScheme}, ${width} px)`);
      }
    }
    await page.setViewportSize(NARROW);
  };
  try {
    const page = await context.newPage();
    await page.goto(envelope);
    const [online] = await Promise.all([
      context.waitForEvent("page"),
      page.getByRole("button", { name: "Ouvrir en ligne" }).click(),
    ]);
    await online.getByRole("heading", { name: "Ouvrir en ligne" }).waitFor();
    assert.equal(await online.locator("html").getAttribute("lang"), "fr");
    await everyWay(online, "Open Online password (fr)");
    await online.getByLabel("Mot de passe").fill("pas le bon");
    await online.getByRole("button", { name: "Ouvrir le message" }).click();
    await online.getByText("Mot de passe incorrect").first().waitFor();
    await everyWay(online, "Open Online wrong password (fr)");
    await online.getByLabel("Mot de passe").fill(PASSWORD);
    await online.getByRole("button", { name: "Ouvrir le message" }).click();
    await online.getByRole("heading", { name: "Résultats" }).waitFor();
    await everyWay(online, "Open Online message (fr)");
    await online.getByRole("link", { name: "Transférer" }).click();
    await online.getByRole("heading", { name: "Transférer" }).waitFor();
    await everyWay(online, "compose (fr)");
  } finally {
    await context.close();
  }
});

test("a hostile HTML body opened online runs nothing and loads nothing", async () => {
  const recorder = await startRecorder();
  const htmlFile = path.join(env.dir, "hostile.html");
  await writeFile(htmlFile, hostileHtml(recorder.origin));
  const envelope = await env.server.sealFor(BOB, { subject: "Hostile body", extra: ["--html-file", htmlFile] });
  // JavaScript on: whatever script got through would run, and be seen.
  const context = await env.browser.newContext();
  const traces = watchForTraces(context);
  try {
    const { online } = await openOnline(context, envelope);
    await submitPassword(online, PASSWORD);
    await online.getByRole("heading", { name: "Hostile body" }).waitFor();
    await online.getByText("Visible paragraph of the hostile message.").waitFor();
    await online.getByText("Click me").click();
    await online.waitForTimeout(1500);

    // blob:null/ is the envelope page's own decryptor worker, made in memory.
    assertNoTraces(
      traces,
      recorder,
      (url) => url.startsWith(env.server.origin + "/") || url.startsWith("file://") || url.startsWith("blob:null/"),
    );
    assert.match(online.url(), /\/open\/view\/[0-9a-f]{64}$/, "the page did not navigate");
    assert.equal(await online.locator("main iframe, main form, main svg, main script").count(), 0);
    await online.getByText(/remote images? or resources? (was|were) blocked/).waitFor();
  } finally {
    await context.close();
    await recorder.close();
  }
});
