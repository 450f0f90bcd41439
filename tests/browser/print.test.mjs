// Printing: a Print button by default; none (and a print stylesheet that
// hides the message) when the sender sealed with --no-print.

import assert from "node:assert/strict";
import { test } from "node:test";

import { gotoEnvelope, seal, submitPassphrase, waitForMessage, useBrowser } from "./helpers.mjs";

const env = useBrowser();

async function openSealed(options, fn) {
  const envelope = await seal(env.dir, { body: "Printable?", ...options });
  const context = await env.browser.newContext();
  const page = await context.newPage();
  try {
    await gotoEnvelope(page, envelope.url);
    await submitPassphrase(page, envelope.passphrase);
    await waitForMessage(page);
    await fn(page);
  } finally {
    await context.close();
  }
}

test("by default the opened message has a Print button that prints", async () => {
  await openSealed({ name: "print.html", subject: "Print me" }, async (page) => {
    const print = page.getByRole("button", { name: "Print" });
    assert.equal(await print.count(), 1);
    assert.equal(await print.isVisible(), true);
    await page.evaluate(() => {
      window.print = () => {
        window.__printed = true;
      };
    });
    await print.click();
    assert.equal(await page.evaluate(() => window.__printed), true, "Print calls window.print()");
  });
});

test("--no-print: no Print button, and printing shows no message", async () => {
  await openSealed({ name: "no-print.html", subject: "Do not print", noPrint: true }, async (page) => {
    assert.equal(await page.getByRole("button", { name: "Print" }).count(), 0, "no Print button");
    assert.equal(await page.locator("#print").count(), 0);
    assert.equal(
      await page.getByRole("button", { name: "Save message" }).isVisible(),
      true,
      "the other actions remain",
    );
    await page.emulateMedia({ media: "print" });
    assert.equal(
      await page.locator("main").evaluate((el) => getComputedStyle(el).display),
      "none",
      "the print stylesheet hides the message",
    );
  });
});
