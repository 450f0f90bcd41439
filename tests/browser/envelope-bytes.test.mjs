// The two ways the page hands the envelope to the decryptor
// (templates/envelope/envelope-bytes.js): decoded by the browser itself
// (Uint8Array.fromBase64) where it has it, and as text for the WebAssembly to
// decode where it does not (browsers before it). Both open the same message
// and give back the same attachment.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";

import { gotoEnvelope, seal, sha256File, submitPassphrase, waitForMessage, useBrowser } from "./helpers.mjs";

const env = useBrowser();

async function openAndDownload(envelope, name, { withFromBase64 }) {
  const context = await env.browser.newContext({ acceptDownloads: true });
  // Counts the browser's decodes, or takes the function away as an older browser lacks it.
  await context.addInitScript((keep) => {
    const original = Uint8Array.fromBase64;
    window.__fromBase64Calls = 0;
    if (!keep) {
      delete Uint8Array.fromBase64;
      return;
    }
    Uint8Array.fromBase64 = function (...args) {
      window.__fromBase64Calls++;
      return original.apply(this, args);
    };
  }, withFromBase64);
  const page = await context.newPage();
  try {
    await gotoEnvelope(page, envelope.url);
    await submitPassphrase(page, envelope.passphrase);
    await waitForMessage(page);
    const calls = await page.evaluate(() => window.__fromBase64Calls);
    const subject = await page.locator("#subject").textContent();
    const link = page.locator("#attachments").getByRole("link", { name });
    const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
    const saved = path.join(env.dir, `${withFromBase64 ? "with" : "without"}-${name}`);
    await download.saveAs(saved);
    return { calls, subject, sha: await sha256File(saved) };
  } finally {
    await context.close();
  }
}

test("the page opens the same message with and without Uint8Array.fromBase64", { timeout: 120_000 }, async () => {
  const name = "scan.bin";
  const attachment = path.join(env.dir, name);
  // Past one 4 Mi-character slice of text, so the fallback reads in several steps.
  await writeFile(attachment, randomBytes(5 * 1024 * 1024));
  const expected = await sha256File(attachment);
  const envelope = await seal(env.dir, { subject: "Two ways in", body: "Hello.", attachments: [attachment] });

  const fast = await openAndDownload(envelope, name, { withFromBase64: true });
  assert.equal(fast.calls, 1, "the browser decoded the envelope itself, once");
  assert.equal(fast.subject, "Two ways in");
  assert.equal(fast.sha, expected, "the attachment is byte-identical (browser-decoded)");

  const fallback = await openAndDownload(envelope, name, { withFromBase64: false });
  assert.equal(fallback.calls, 0);
  assert.equal(fallback.subject, "Two ways in");
  assert.equal(fallback.sha, expected, "the attachment is byte-identical (decoded in the WebAssembly)");
});
