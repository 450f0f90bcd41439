// Unlocking: a wrong passphrase is reported in the alert region and can be
// retried; a damaged or altered envelope shows the "damaged" error and nothing
// from the message.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";

import { DAMAGED_TEXT, gotoEnvelope, seal, submitPassphrase, waitForMessage, useBrowser } from "./helpers.mjs";

const env = useBrowser();

async function withPage(fn) {
  const context = await env.browser.newContext();
  try {
    await fn(await context.newPage());
  } finally {
    await context.close();
  }
}

test("a wrong passphrase is reported, the field is cleared and focused, and a retry opens", async () => {
  const envelope = await seal(env.dir, {
    name: "wrong.html",
    subject: "Second try",
    body: "It worked the second time.",
  });
  await withPage(async (page) => {
    await gotoEnvelope(page, envelope.url);
    await submitPassphrase(page, "not the passphrase");
    const alert = page.getByRole("alert");
    await alert.filter({ hasText: "Wrong passphrase" }).waitFor({ timeout: 60_000 });
    assert.match(await page.locator("#unlock-error").textContent(), /Wrong passphrase/);
    const input = page.getByLabel("Passphrase", { exact: true });
    assert.equal(await input.inputValue(), "", "the wrong passphrase is cleared");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "passphrase", "the field has focus again");
    assert.equal(await input.getAttribute("aria-invalid"), "true");
    assert.equal(await page.locator("#message").isHidden(), true, "nothing is shown after a wrong passphrase");
    assert.equal(await page.getByRole("button", { name: "Open" }).isEnabled(), true, "the form stays usable");

    await submitPassphrase(page, envelope.passphrase);
    await waitForMessage(page);
    assert.equal(await page.locator("#subject").textContent(), "Second try");
    assert.equal(await page.locator("#body .text-body").innerText(), "It worked the second time.");
  });
});

// A passphrase-mode page's data block (docs/FORMAT.md §8).
const ENVELOPE_OPEN = '<script type="application/octet-stream" id="securedoc-envelope">';

/** Splits a securedoc.html page around its data block. */
function splitPage(html) {
  const start = html.indexOf(ENVELOPE_OPEN);
  assert.ok(start >= 0, "the page has a securedoc-envelope data block");
  const dataStart = start + ENVELOPE_OPEN.length;
  const dataEnd = html.indexOf("</script>", dataStart);
  return { before: html.slice(0, dataStart), data: html.slice(dataStart, dataEnd), after: html.slice(dataEnd) };
}

/** Byte offset where the payload chunks start (see envelope-core/src/format.rs). */
function payloadOffset(bytes) {
  assert.equal(bytes.subarray(0, 4).toString("latin1"), "SDOC");
  const headerLen = bytes.readUInt32BE(5);
  return 9 + headerLen + 48 /* key slot */ + 32; /* header MAC */
}

async function expectDamaged(page, url, passphrase) {
  const messages = [];
  page.on("console", (message) => messages.push(message.text()));
  await page.goto(url);
  const error = page.locator("#unlock-error");
  // An alteration the header check at load time catches shows the error at
  // once; otherwise it shows when the passphrase unlocks the envelope.
  if (!(await error.textContent())?.includes(DAMAGED_TEXT)) {
    await submitPassphrase(page, passphrase);
  }
  await page.getByRole("alert").filter({ hasText: DAMAGED_TEXT }).waitFor({ timeout: 60_000 });
  assert.ok((await error.textContent()).includes(DAMAGED_TEXT), "the alert says the envelope is damaged");
  assert.equal(await page.locator("#message").isHidden(), true, "the message article stays hidden");
  assert.equal(await page.locator("#subject").textContent(), "", "no subject is shown");
  assert.equal(await page.locator("#body").innerHTML(), "", "no body is shown");
  assert.equal(await page.locator("#attachments li").count(), 0, "no attachment is offered");
  assert.equal(await page.getByText("secret body text").count(), 0);
  assert.equal(
    await page.getByRole("button", { name: "Open" }).isDisabled(),
    true,
    "a damaged envelope cannot be retried",
  );
}

test("a payload altered by one base64 character is reported as damaged and shows nothing", async () => {
  const attachment = path.join(env.dir, "notes.txt");
  await writeFile(attachment, randomBytes(48 * 1024));
  const envelope = await seal(env.dir, {
    name: "tampered-payload.html",
    subject: "Secret subject",
    body: "secret body text",
    attachments: [attachment],
  });
  const page = splitPage(await readFile(envelope.path, "latin1"));
  const bytes = Buffer.from(page.data, "base64");
  // Characters of the payload, well away from its ends.
  const first = Math.ceil(payloadOffset(bytes) / 3) * 4 + 64;
  const last = page.data.length - 64;
  assert.ok(last > first + 100, "the payload is long enough to alter in the middle");
  let at = -1;
  for (let i = Math.floor((first + last) / 2); i < last; i++) {
    if (page.data[i] === "A" || page.data[i] === "B") {
      at = i;
      break;
    }
  }
  assert.ok(at > 0, "found an 'A' or 'B' inside the payload");
  const data = page.data.slice(0, at) + (page.data[at] === "A" ? "B" : "A") + page.data.slice(at + 1);
  const altered = Buffer.from(data, "base64");
  assert.equal(altered.length, bytes.length, "still valid base64 of the same length");
  assert.equal(altered.toString("base64"), data, "still canonical base64");
  const tampered = path.join(env.dir, "tampered-payload-altered.html");
  await writeFile(tampered, page.before + data + page.after, "latin1");

  await withPage((p) => expectDamaged(p, pathToFileURL(tampered).href, envelope.passphrase));
});

test("a header altered by one byte is reported as damaged and shows nothing", async () => {
  const envelope = await seal(env.dir, {
    name: "tampered-header.html",
    subject: "Secret subject",
    body: "secret body text",
  });
  const page = splitPage(await readFile(envelope.path, "latin1"));
  const bytes = Buffer.from(page.data, "base64");
  const headerEnd = 9 + bytes.readUInt32BE(5);
  const header = bytes.subarray(9, headerEnd).toString("utf8");
  const from = header.indexOf('"alice@example.org"');
  assert.ok(from > 0, `the header names the sender: ${header}`);
  // alice@example.org -> mlice@example.org: the header still parses, and the
  // page would show a sender that was never sealed, until the MAC check.
  bytes[9 + from + 1] = "m".charCodeAt(0);
  const tampered = path.join(env.dir, "tampered-header-altered.html");
  await writeFile(tampered, page.before + bytes.toString("base64") + page.after, "latin1");

  await withPage((p) => expectDamaged(p, pathToFileURL(tampered).href, envelope.passphrase));
});
