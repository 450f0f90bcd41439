// Opening an envelope with the right passphrase, downloading what it holds, and
// the offline promise: nothing but the file:// page itself is ever requested.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";

import { gotoEnvelope, seal, sha256File, submitPassphrase, waitForMessage, useBrowser } from "./helpers.mjs";

const env = useBrowser();

test("the right passphrase opens the message; attachment and .eml download; no network", async () => {
  const attachmentName = "quarterly report.pdf";
  const attachment = path.join(env.dir, attachmentName);
  await writeFile(attachment, randomBytes(200 * 1024 + 17));
  const originalSha = await sha256File(attachment);
  const subject = "Quarterly numbers, as promised";
  const body = "Hello Bob,\n\nthe report is attached.\n\nAlice";
  const envelope = await seal(env.dir, { subject, body, attachments: [attachment] });

  const context = await env.browser.newContext({ acceptDownloads: true });
  const requests = [];
  context.on("request", (request) => requests.push(`context: ${request.url()}`));
  const page = await context.newPage();
  page.on("request", (request) => requests.push(`page: ${request.url()}`));
  try {
    await gotoEnvelope(page, envelope.url);
    await submitPassphrase(page, envelope.passphrase);
    await waitForMessage(page);

    await assert.doesNotReject(page.getByRole("heading", { name: subject }).waitFor());
    assert.equal(await page.locator("#subject").textContent(), subject);
    assert.equal(await page.locator("#body .text-body").innerText(), body);
    const link = page.locator("#attachments").getByRole("link", { name: attachmentName });
    assert.equal(await link.count(), 1, "one attachment link");
    assert.equal(await link.getAttribute("download"), attachmentName);

    const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
    assert.equal(download.suggestedFilename(), attachmentName);
    const saved = path.join(env.dir, "downloaded-attachment");
    await download.saveAs(saved);
    assert.equal(await sha256File(saved), originalSha, "the downloaded attachment is byte-identical");

    const [eml] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Save message" }).click(),
    ]);
    assert.match(eml.suggestedFilename(), /\.eml$/);
    const emlPath = path.join(env.dir, "saved.eml");
    await eml.saveAs(emlPath);
    const emlText = await readFile(emlPath, "latin1");
    assert.match(emlText, /^Subject: Quarterly numbers, as promised\r?$/m, "the .eml carries the subject header");

    // Every request, from the page or anywhere in its context, is the
    // envelope's own file:// URL: the downloads above come from memory.
    // blob: URLs are objects the page made in memory (the decryptor's worker
    // script); they never leave the browser. Everything else must be the page.
    const urls = [...new Set(requests.map((entry) => entry.replace(/^\w+: /, "")))];
    const elsewhere = urls.filter((url) => url !== envelope.url && !url.startsWith("blob:null/"));
    assert.deepEqual(elsewhere, [], `only the page itself was requested; saw ${requests.join(", ")}`);
    assert.ok(
      requests.includes(`page: ${envelope.url}`) && requests.includes(`context: ${envelope.url}`),
      "both recorders saw the page load",
    );
  } finally {
    await context.close();
  }
});
