// The busy page: a key server whose password queue is full answers a page
// (503, Retry-After) saying to try again, not the API's JSON and not a hang.
// A server that hashes one password at a time with no room to wait, at a
// cost of about a second a hash, gets two registrations at once: one of them
// meets the busy page, which must be as usable as any other.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { NARROW, assertAccessible, launchBrowser, makeTempDir, removeDir } from "./helpers.mjs";
import { startKeyServer } from "./keyserver.mjs";

const PASSWORD = "Quiet-Harbour-Lantern-42";
const env = {};

before(async () => {
  env.browser = await launchBrowser();
  env.dir = await makeTempDir();
  env.server = await startKeyServer(env.dir, {
    config: "password_t = 60\npassword_concurrency = 1\npassword_queue = 0\n",
  });
});

after(async () => {
  env.server?.stop();
  await env.browser?.close();
  await removeDir(env.dir);
});

async function filledRegistration(context, address) {
  const page = await context.newPage();
  await page.goto(`${env.server.origin}/register?email=${encodeURIComponent(address)}`);
  await page.getByLabel("First name").fill("Busy");
  await page.getByLabel("Last name").fill("Reader");
  await page.getByLabel(/^Password/).fill(PASSWORD);
  await page.getByLabel("Confirm password").fill(PASSWORD);
  for (const [n, question, answer] of [
    [1, "first_pet", "Rex"],
    [2, "first_school", "Hillside Primary"],
    [3, "first_car", "Fiat"],
  ]) {
    await page.getByLabel(`Security question ${n}`).selectOption(question);
    const block = page.locator(".question").nth(n - 1);
    await block.getByLabel(/^Answer/).fill(answer);
    await block.getByLabel("Confirm answer").fill(answer);
  }
  return page;
}

test("a full password queue answers a page that says to try again, accessible at 360 px", async () => {
  // axe-core is injected as a script, which the pages' CSP rightly refuses.
  const context = await env.browser.newContext({ viewport: NARROW, bypassCSP: true });
  try {
    const pages = [
      await filledRegistration(context, "first@example.net"),
      await filledRegistration(context, "second@example.net"),
    ];
    const answers = pages.map((page) =>
      // The form's own POST (the page first asks /api/v1/password/check).
      page.waitForResponse(
        (response) => response.request().method() === "POST" && new URL(response.url()).pathname === "/register",
        { timeout: 60_000 },
      ),
    );
    // Both at once: a click from inside the page does not wait for the answer.
    await Promise.all(
      pages.map((page) => page.getByRole("button", { name: "Register" }).evaluate((button) => button.click())),
    );
    const statuses = await Promise.all(answers);
    const busy = statuses.findIndex((response) => response.status() === 503);
    assert.ok(busy >= 0, `one of two registrations at once meets the busy page: ${statuses.map((r) => r.status())}`);
    assert.equal(statuses[busy].headers()["retry-after"], "5");
    assert.match(statuses[busy].headers()["content-type"], /^text\/html/);
    const page = pages[busy];
    await page.getByRole("heading", { name: "Busy right now" }).waitFor();
    await page.getByText("The key server is busy right now. Please wait a moment and try again.").waitFor();
    await assertAccessible(page, "busy");
  } finally {
    await context.close();
  }
});
