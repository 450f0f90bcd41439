// Expiry: an envelope sealed with --expires 1h, opened with the browser's
// clock two hours later, says it expired and cannot be opened.

import assert from "node:assert/strict";
import { test } from "node:test";

import { gotoEnvelope, seal, useBrowser } from "./helpers.mjs";

const env = useBrowser();

test("an expired envelope says so and disables the form", async () => {
  const envelope = await seal(env.dir, { subject: "Short-lived", body: "Gone soon.", expires: "1h" });

  // Control: right now the envelope can still be opened.
  const fresh = await env.browser.newContext();
  try {
    const page = await fresh.newPage();
    await gotoEnvelope(page, envelope.url);
    assert.equal(await page.getByRole("button", { name: "Open" }).isEnabled(), true);
    assert.equal(await page.locator("#unlock-error").textContent(), "");
  } finally {
    await fresh.close();
  }

  const later = await env.browser.newContext();
  try {
    const page = await later.newPage();
    await page.clock.install({ time: Date.now() + 2 * 60 * 60 * 1000 });
    await page.goto(envelope.url);
    const alert = page.getByRole("alert").filter({ hasText: "expired" });
    await alert.waitFor({ timeout: 30_000 });
    assert.match(await alert.textContent(), /This message expired on .+\. Ask the sender to send it again\./);
    assert.equal(await page.getByLabel("Passphrase", { exact: true }).isDisabled(), true, "the field is disabled");
    assert.equal(await page.getByRole("button", { name: "Open" }).isDisabled(), true, "the Open button is disabled");
    assert.equal(await page.locator("#message").isHidden(), true);
    assert.notEqual(await page.locator("#env-expires").textContent(), "Never", "the expiry time is shown");
  } finally {
    await later.close();
  }
});
