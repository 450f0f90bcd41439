// Accessibility: everything a screen-reader or keyboard user needs is
// reachable by its label, role and name, and the whole open flow works from
// the keyboard alone.

import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";

import {
  NARROW,
  assertAccessible,
  gotoEnvelope,
  launchBrowser,
  makeTempDir,
  removeDir,
  seal,
  waitForMessage,
} from "./helpers.mjs";

let browser;
let dir;
let envelope;
const ATTACHMENT = "minutes-2024.txt";

before(async () => {
  browser = await launchBrowser();
  dir = await makeTempDir();
  const attachment = path.join(dir, ATTACHMENT);
  await writeFile(attachment, "Minutes of the meeting.\n");
  envelope = await seal(dir, {
    subject: "Accessible message",
    html: "<p>Hello from an <strong>HTML</strong> body.</p>",
    attachments: [attachment],
  });
});

after(async () => {
  await browser?.close();
  await removeDir(dir);
});

async function withPage(fn) {
  const context = await browser.newContext();
  try {
    await fn(await context.newPage());
  } finally {
    await context.close();
  }
}

const activeId = (page) => page.evaluate(() => document.activeElement?.id);

test("controls are reachable by label, role and name; errors use role=alert", async () => {
  await withPage(async (page) => {
    await gotoEnvelope(page, envelope.url);
    const input = page.getByLabel("Passphrase", { exact: true });
    assert.equal(await input.getAttribute("id"), "passphrase");
    assert.equal(await input.getAttribute("type"), "password");
    assert.equal(await page.getByRole("textbox", { name: "Passphrase" }).count(), 1);
    const open = page.getByRole("button", { name: "Open" });
    assert.equal(await open.count(), 1);
    assert.equal(await page.locator("#unlock-error").getAttribute("role"), "alert");
    assert.equal(await page.locator("#progress-box").getAttribute("role"), "status");

    // An empty submit is announced through the alert region.
    await open.click();
    await page.getByRole("alert").filter({ hasText: "Enter the passphrase" }).waitFor();
    assert.equal(await activeId(page), "passphrase");

    await input.fill(envelope.passphrase);
    await open.click();
    await waitForMessage(page);
    assert.equal(await page.getByRole("heading", { name: "Accessible message" }).count(), 1);
    assert.equal(await page.getByRole("article", { name: "Accessible message" }).count(), 1);
    const link = page.getByRole("link", { name: new RegExp(ATTACHMENT.replace(".", "\\.")) });
    assert.equal(await link.count(), 1, "the attachment link's accessible name includes the file name");
    assert.equal(await link.getAttribute("download"), ATTACHMENT);
    const frame = page.locator('iframe[title="Message body"]');
    assert.equal(await frame.count(), 1, 'the body frame has the title "Message body"');
    await page.frameLocator('iframe[title="Message body"]').getByText("Hello from an HTML body.").waitFor();
    assert.equal(await page.getByRole("button", { name: "Save message" }).count(), 1);
    assert.equal(await page.getByRole("toolbar", { name: "Message actions" }).count(), 1);
  });
});

test("keyboard only: focus starts in the field, Enter opens, focus moves to the subject", async () => {
  await withPage(async (page) => {
    await gotoEnvelope(page, envelope.url);
    await page.waitForFunction(() => document.activeElement?.id === "passphrase");
    await page.keyboard.type(envelope.passphrase);
    // Tab reaches the Open button, Shift+Tab comes back.
    await page.keyboard.press("Tab");
    assert.equal(await activeId(page), "open-button");
    await page.keyboard.press("Shift+Tab");
    assert.equal(await activeId(page), "passphrase");
    await page.keyboard.press("Enter");
    await waitForMessage(page);
    await page.waitForFunction(() => document.activeElement?.id === "subject");
    assert.equal(await page.evaluate(() => document.activeElement.textContent), "Accessible message");
    // From the subject, the keyboard reaches the attachment link.
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) {
      await page.keyboard.press("Tab");
      reached = await page.evaluate((name) => document.activeElement?.getAttribute("download") === name, ATTACHMENT);
    }
    assert.ok(reached, "Tab reaches the attachment link");
  });
});

test("every state of a passphrase envelope passes axe-core and fits 360 px", async () => {
  const expiring = await seal(dir, {
    subject: "Short-lived",
    body: "Gone soon.",
    expires: "1h",
    name: "expiring.html",
  });
  const context = await browser.newContext({ viewport: NARROW, bypassCSP: true });
  try {
    const page = await context.newPage();
    await gotoEnvelope(page, envelope.url);
    await assertAccessible(page, "unlock");
    await page.getByLabel("Passphrase", { exact: true }).fill("wrong passphrase");
    await page.getByRole("button", { name: "Open" }).click();
    await page.getByRole("alert").filter({ hasText: "Wrong passphrase" }).waitFor();
    await assertAccessible(page, "wrong passphrase");
    await page.getByLabel("Passphrase", { exact: true }).fill(envelope.passphrase);
    await page.getByRole("button", { name: "Open" }).click();
    await waitForMessage(page);
    await assertAccessible(page, "message");

    const old = await context.newPage();
    await old.clock.install({ time: Date.now() + 2 * 60 * 60 * 1000 });
    await old.goto(expiring.url);
    await old.getByRole("alert").filter({ hasText: "expired" }).waitFor();
    await assertAccessible(old, "expired");
  } finally {
    await context.close();
  }
});
