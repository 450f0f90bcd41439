// The sender's controls as the recipient meets them: a message its sender
// locked says so (and opens once unlocked), a withdrawn one says the sender
// withdrew it. The sender uses `securedoc message` against a real key server.

import assert from "node:assert/strict";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { NARROW, assertAccessible, launchBrowser, makeTempDir, removeDir, waitForMessage } from "./helpers.mjs";
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

test("lock, unlock and revoke reach the envelope, in words the recipient can act on", async () => {
  const url = await env.server.sealFor("bob@example.net", { security: "low", body: "Locked, then not." });
  const { stdout } = await env.server.securedoc(["inspect", "--json", fileURLToPath(url)]);
  const id = JSON.parse(stdout).id;
  const message = (action) =>
    env.server.securedoc([
      "message",
      action,
      id,
      "--key-server",
      env.server.origin,
      "--token-file",
      path.join(env.dir, "token"),
    ]);
  const open = (page) => page.getByRole("button", { name: "Open", exact: true }).click();

  // axe-core is injected as a script, which the envelope's CSP rightly refuses.
  const context = await env.browser.newContext({ viewport: NARROW, bypassCSP: true });
  try {
    await message("lock");
    const page = await context.newPage();
    await page.goto(url);
    await open(page);
    const locked = page.getByRole("alert").filter({ hasText: "locked" });
    await locked.waitFor({ timeout: 30_000 });
    assert.match(await locked.textContent(), /The sender has locked this message for now/);
    await assertAccessible(page, "sender-locked");

    await message("unlock");
    await open(page);
    await waitForMessage(page);
    assert.match(await page.locator("#message").textContent(), /Locked, then not\./);

    await message("revoke");
    const later = await context.newPage();
    await later.goto(url);
    await open(later);
    const gone = later.getByRole("alert").filter({ hasText: "withdrawn" });
    await gone.waitFor({ timeout: 30_000 });
    assert.match(await gone.textContent(), /withdrawn by its sender/);
    await assertAccessible(later, "sender-withdrawn");
  } finally {
    await context.close();
  }
});
