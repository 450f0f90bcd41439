// Staff sending from the portal in a real browser against a real
// `securedoc serve`: a member of staff (`admin account create --internal`)
// composes with the sender options — Request Read Receipt and Restricted
// (No Print, No Reply), read in the portal (pull) — and the recipient reads
// it without Reply, Reply all, Forward or Print; the read receipt arrives;
// the staff member's Sent items show the status, and Lock stops the
// recipient until Unlock. Every page passes axe-core, light and dark, at
// 1280 and 360 px, and reflows at 320 px.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";

import { assertAccessibleEverywhere, launchBrowser, makeTempDir, portalLogIn, removeDir } from "./helpers.mjs";
import { startKeyServer } from "./keyserver.mjs";

const PASSWORD = "Quiet-Harbour-Lantern-42";
const env = {};

before(async () => {
  env.browser = await launchBrowser();
  env.dir = await makeTempDir();
  env.server = await startKeyServer(env.dir, { config: 'internal_domains = ["clinic.example"]\n' });
});

after(async () => {
  env.server?.stop();
  await env.browser?.close();
  await removeDir(env.dir);
});

const logIn = portalLogIn;

test("staff send Restricted with a read receipt; the recipient cannot reply or print; the receipt arrives", async () => {
  const tag = randomBytes(3).toString("hex");
  const alice = `alice-${tag}@clinic.example`;
  const bob = `bob-${tag}@example.net`;
  await env.server.createAccount(alice, PASSWORD, { internal: true });
  await env.server.createAccount(bob, PASSWORD);

  const staff = await env.browser.newContext({ bypassCSP: true });
  const outside = await env.browser.newContext({ bypassCSP: true });
  try {
    // Alice composes with the sender options.
    const page = await staff.newPage();
    await logIn(page, env.server.origin + "/portal/login", alice, PASSWORD);
    await page.getByRole("heading", { name: "Inbox" }).waitFor();
    await page.getByRole("link", { name: "Compose" }).click();
    await page.getByRole("group", { name: "Sending options" }).waitFor();
    await assertAccessibleEverywhere(page, "Compose with the sender options");
    await page.locator("#to").fill(bob);
    await page.getByLabel("Subject").fill(`Test results ${tag}`);
    await page.locator("#editor-area").fill("Your test results are attached to this secure message.");
    await page.getByLabel("Request Read Receipt").check();
    await page.getByLabel("Restricted – No Print, No Reply").check();
    await page.getByLabel("Expire message in").selectOption({ label: "7 days" });
    assert.equal(await page.getByLabel("A link: the message is kept here and read in the portal").isChecked(), true);
    // An expiry date past the retention is refused, with the options kept.
    await page.getByLabel("Expire message in").selectOption({ label: "On the date below" });
    await page.getByLabel("Expiry date").evaluate((input) => {
      input.removeAttribute("max");
      input.value = "2099-01-01";
    });
    const since = Date.now();
    await page.getByRole("button", { name: "Send securely" }).click();
    await page.getByText("Choose a date no later than").first().waitFor();
    assert.equal(await page.getByLabel("Request Read Receipt").isChecked(), true, "the options come back");
    await assertAccessibleEverywhere(page, "Compose, an expiry refused");
    await page.getByLabel("Expire message in").selectOption({ label: "7 days" });
    await page.getByRole("button", { name: "Send securely" }).click();
    await page.getByRole("heading", { name: "Your message was sent" }).waitFor();

    // Bob gets a link, logs in and reads; nothing to answer or print with.
    const notification = await env.server.mailTo(bob, since, /Click here to view your secure e-mail/);
    const link = notification.match(/http:\/\/127\.0\.0\.1:\d+\/portal\/m\/[0-9a-f]{32}/)[0];
    const reader = await outside.newPage();
    await logIn(reader, link, bob, PASSWORD);
    await reader.getByRole("heading", { name: `Test results ${tag}` }).waitFor();
    for (const name of ["Reply", "Reply all", "Forward", "Print"]) {
      assert.equal(await reader.getByRole("link", { name, exact: true }).count(), 0, `no ${name} link`);
      assert.equal(await reader.getByRole("button", { name, exact: true }).count(), 0, `no ${name} button`);
    }
    await reader.emulateMedia({ media: "print" });
    assert.equal(await reader.locator(".message-body").isVisible(), false, "printing shows no message");
    await reader.emulateMedia({ media: "screen" });
    await assertAccessibleEverywhere(reader, "a restricted message");
    // A Reply typed by hand is refused.
    const forged = await reader.goto(link + "/compose?kind=reply");
    assert.equal(forged.status(), 403);

    // The read receipt, to Alice, pointing at Sent items.
    const receipt = await env.server.mailTo(alice, since, /was opened/);
    assert.match(receipt, new RegExp(`Your secure message .* to ${bob.replace(/[.]/g, "\\.")} was opened`));
    assert.match(receipt, /open Sent items in the portal: http:\/\/127\.0\.0\.1:\d+\/portal\/sent/);

    // Alice's Sent items: the status and the controls.
    await page.getByRole("link", { name: "Sent items" }).click();
    await page.getByRole("link", { name: `Test results ${tag}` }).click();
    await page.getByRole("heading", { name: "Status" }).waitFor();
    const row = page.getByRole("row", { name: new RegExp(bob.replace(/[.]/g, "\\.")) });
    await row.getByText("Active").waitFor();
    await row.getByText(/1 times/).waitFor();
    await assertAccessibleEverywhere(page, "Sent items: a sending's status");
    await page.getByRole("button", { name: "Lock", exact: true }).click();
    await page.getByText("The message is locked").waitFor();
    await row.getByText("Locked").waitFor();
    await assertAccessibleEverywhere(page, "Sent items: a locked sending");
    const locked = await reader.goto(link);
    assert.equal(locked.status(), 423, "Bob cannot open it while locked");
    await page.getByRole("button", { name: "Unlock" }).click();
    await page.getByText("The message is unlocked").waitFor();
    assert.equal((await reader.goto(link)).status(), 200, "and can again");
  } finally {
    await staff.close();
    await outside.close();
  }
});
