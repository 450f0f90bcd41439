// The whole CRES journey in a real browser against a real `securedoc serve`:
// open the envelope from file:// → Register → the form, with one mistake
// first (what was typed comes back, secrets do not) → the confirmation link
// from the server's outbox → back to the envelope, which now asks for the
// password → the message and its attachment. Then what the other recipients
// meet: a remembered computer, a locked account, an expired message, the
// phrase on an envelope sealed after registration.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";

import { assertAccessible, launchBrowser, makeTempDir, removeDir, sha256File, waitForMessage } from "./helpers.mjs";
import { startKeyServer } from "./keyserver.mjs";

const PASSWORD = "Quiet-Harbour-Lantern-42";
const PHRASE = "Blue kettle on Sunday";
const env = {};

const securedoc = (args) => env.server.securedoc(args);
const sealFor = (to, options = {}) => env.server.sealFor(to, { attachment: env.attachment, ...options });
const linkFromOutbox = (linkPath, since) => env.server.linkFromOutbox(linkPath, since);

before(async () => {
  env.browser = await launchBrowser();
  env.dir = await makeTempDir();
  env.server = await startKeyServer(env.dir);
  env.attachment = path.join(env.dir, "results.pdf");
  await writeFile(env.attachment, randomBytes(200 * 1024 + 3));
  env.attachmentSha = await sha256File(env.attachment);
});

after(async () => {
  env.server?.stop();
  await env.browser?.close();
  await removeDir(env.dir);
});

async function fillRegistration(form, { confirm }) {
  await form.getByLabel(/^Password/).fill(PASSWORD);
  await form.getByLabel("Confirm password").fill(confirm);
  for (const [n, answer] of [
    [1, "Rex"],
    [2, "Hillside Primary"],
    [3, "Fiat"],
  ]) {
    const question = form.locator(".question").nth(n - 1);
    await question.getByLabel(/^Answer/).fill(answer);
    await question.getByLabel("Confirm answer").fill(answer);
  }
}

test("the whole journey: Register from the envelope, confirm by mail, open with the password", async () => {
  const envelope = await sealFor("dana@example.net", { security: "medium" });
  const context = await env.browser.newContext({ acceptDownloads: true });
  try {
    const page = await context.newPage();
    await page.goto(envelope);
    // Not registered: once the key server has said so, the envelope offers Register, not a password.
    const register = page.locator("#register-box").getByRole("link", { name: "Register" });
    await register.waitFor({ state: "visible" });
    await page.getByLabel("Password", { exact: true }).waitFor({ state: "hidden" });

    const [form] = await Promise.all([context.waitForEvent("page"), register.click()]);
    await form.waitForLoadState();
    assert.match(await form.title(), /New user registration/);
    const email = form.getByLabel("E-mail address");
    assert.equal(await email.inputValue(), "dana@example.net");
    assert.equal(await email.getAttribute("readonly"), "");
    assert.equal(await form.getByLabel("Language").inputValue(), "en");

    await form.getByLabel("First name").fill("Dana");
    await form.getByLabel("Last name").fill("Example");
    await form.getByLabel("Personal security phrase", { exact: true }).fill(PHRASE);
    await form.getByLabel("Enable my personal security phrase").check();
    await form.getByLabel("Security question 1").selectOption("first_pet");
    await form.getByLabel("Security question 2").selectOption("first_school");
    await form.getByLabel("Security question 3").selectOption("first_car");
    // The rules are ticked as the password is typed.
    await form.getByLabel(/^Password/).pressSequentially("short");
    await form.locator('#password-rules li[data-rule="min_len"].unmet').waitFor();
    await fillRegistration(form, { confirm: PASSWORD + "!" });
    await form.locator('#password-rules li[data-rule="min_len"].met').waitFor();

    // One mistake: the page says where before sending anything, and keeps everything typed.
    await form.getByRole("button", { name: "Register" }).click();
    await form.getByText("Confirm password: The two passwords are not the same.").waitFor();
    assert.equal(await form.getByLabel("Confirm password").getAttribute("aria-invalid"), "true");
    assert.equal(await form.getByLabel("First name").inputValue(), "Dana");
    assert.equal(await form.getByLabel("Personal security phrase", { exact: true }).inputValue(), PHRASE);
    assert.equal(await form.getByLabel("Enable my personal security phrase").isChecked(), true);
    assert.equal(await form.getByLabel("Security question 2").inputValue(), "first_school");
    assert.equal(await form.getByLabel(/^Password/).inputValue(), PASSWORD);
    assert.equal(
      await form
        .locator(".question")
        .first()
        .getByLabel(/^Answer/)
        .inputValue(),
      "Rex",
    );

    const sent = Date.now() - 1000;
    await fillRegistration(form, { confirm: PASSWORD });
    await form.getByRole("button", { name: "Register" }).click();
    await form.getByRole("heading", { name: "Check your e-mail" }).waitFor();

    // Until the address is confirmed the envelope still offers Register.
    assert.equal(await register.isVisible(), true);
    const confirmLink = await linkFromOutbox("/confirm?token=", sent);
    // The link opens a page with a button (a mail scanner's visit confirms
    // nothing); the password chosen when registering confirms it.
    await form.goto(confirmLink);
    await form.getByRole("heading", { name: "Confirm your address" }).waitFor();
    // It works on a phone: nothing wider than 360 px; the field has its label and help.
    await form.setViewportSize({ width: 360, height: 740 });
    const width = await form.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      viewport: window.innerWidth,
    }));
    assert.ok(width.page <= width.viewport, `the confirm page scrolls sideways: ${width.page}px`);
    // axe-core is injected as a script, which the page's CSP rightly
    // refuses: it checks the same page (a GET confirms nothing) in a
    // context that bypasses the CSP.
    const axeContext = await env.browser.newContext({ viewport: { width: 360, height: 740 }, bypassCSP: true });
    try {
      const checked = await axeContext.newPage();
      await checked.goto(confirmLink);
      await checked.getByRole("heading", { name: "Confirm your address" }).waitFor();
      await assertAccessible(checked, "confirm your address");
    } finally {
      await axeContext.close();
    }
    assert.equal(
      await form.getByLabel("The password you chose when registering").getAttribute("aria-describedby"),
      "password-help",
    );
    assert.equal(
      await form.getByLabel("The password you chose when registering").getAttribute("autocomplete"),
      "current-password",
    );
    const confirmPassword = form.getByLabel("The password you chose when registering");
    await confirmPassword.fill("Not-" + PASSWORD);
    await form.getByRole("button", { name: "Confirm my address" }).click();
    await form.getByText("This is not the password chosen with this registration.").first().waitFor();
    assert.equal(await form.getByLabel("The password you chose when registering").getAttribute("aria-invalid"), "true");
    await form.getByLabel("The password you chose when registering").fill(PASSWORD);
    await form.getByRole("button", { name: "Confirm my address" }).click();
    await form.getByRole("heading", { name: "Address confirmed" }).waitFor();
    await form.close();

    // Back at the envelope: it now asks for the password by itself.
    await page.bringToFront();
    const password = page.getByLabel("Password", { exact: true });
    await password.waitFor({ state: "visible", timeout: 20_000 });
    assert.equal(await register.isVisible(), false);
    await page.getByLabel("Remember me on this computer").check();
    await password.fill(PASSWORD);
    await password.press("Enter");
    await waitForMessage(page);
    assert.equal(await page.locator("#subject").innerText(), "Your test results");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: /results\.pdf/ }).click(),
    ]);
    assert.equal(await sha256File(await download.path()), env.attachmentSha);

    // Remembered: the same envelope opens again on this computer without the password.
    const again = await context.newPage();
    await again.goto(envelope);
    await waitForMessage(again);
    assert.equal(await again.locator("#subject").innerText(), "Your test results");

    // An envelope sealed now shows the phrase Dana chose, before any password.
    const later = await sealFor("dana@example.net", { subject: "Second message" });
    const third = await context.newPage();
    await third.goto(later);
    await third.getByText(PHRASE, { exact: true }).waitFor();
    assert.match(await third.locator(".phrase").innerText(), /Only the real key server knows this phrase/);
    await third.getByLabel("Password", { exact: true }).waitFor({ state: "visible" });
  } finally {
    await context.close();
  }
});

test("wrong passwords lock the account, the envelope says so, and an administrator can unlock it", async () => {
  await writeFile(path.join(env.dir, "erin-password"), PASSWORD + "\n");
  await securedoc([
    "admin",
    "account",
    "create",
    "--address",
    "erin@example.net",
    "--password-file",
    path.join(env.dir, "erin-password"),
  ]);
  const envelope = await sealFor("erin@example.net");
  const context = await env.browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(envelope);
    const password = page.getByLabel("Password", { exact: true });
    await password.waitFor({ state: "visible" });
    const error = page.locator("#unlock-error");
    for (let left = 4; left >= 0; left--) {
      await password.fill("not my password");
      await password.press("Enter");
      // The attempt that locks the account says until when, at once.
      const expected = left > 0 ? `${left} attempt` : "now locked until";
      await page.waitForFunction(
        (text) => document.getElementById("unlock-error").textContent.includes(text),
        expected,
      );
    }
    assert.match(await error.innerText(), /now locked until .*\d.*\. Then try again/);
    // Locked: even the right password is refused until the lock ends or a reset.
    await password.fill(PASSWORD);
    await password.press("Enter");
    await page.waitForFunction(() => document.getElementById("unlock-error").textContent.includes("locked"));
    assert.match(await error.innerText(), /Your account is locked .*Forgot password\?/);
    assert.equal(await page.locator("#message").isHidden(), true);

    // An administrator's unlock ends it at once.
    await securedoc(["admin", "account", "unlock", "--address", "erin@example.net"]);
    await password.fill(PASSWORD);
    await password.press("Enter");
    await waitForMessage(page);
  } finally {
    await context.close();
  }
});

test("a message past its expiry is refused by the key server, whatever the computer's clock says", async () => {
  await writeFile(path.join(env.dir, "fay-password"), PASSWORD + "\n");
  await securedoc([
    "admin",
    "account",
    "create",
    "--address",
    "fay@example.net",
    "--password-file",
    path.join(env.dir, "fay-password"),
  ]);
  const sealedAt = Date.now();
  const expires = new Date(Math.ceil((sealedAt + 3000) / 1000) * 1000);
  const envelope = await sealFor("fay@example.net", { expires: expires.toISOString().replace(/\.\d+Z$/, "Z") });
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, expires.getTime() - Date.now() + 1500)));
  const context = await env.browser.newContext();
  try {
    const page = await context.newPage();
    // A computer whose clock is behind: the page itself would still open it.
    await page.clock.setFixedTime(new Date(sealedAt));
    await page.goto(envelope);
    const password = page.getByLabel("Password", { exact: true });
    await password.waitFor({ state: "visible" });
    await password.fill(PASSWORD);
    await password.press("Enter");
    await page.waitForFunction(() => document.getElementById("unlock-error").textContent.length > 0);
    assert.match(
      await page.locator("#unlock-error").innerText(),
      /expired or was withdrawn by its sender\. It can no longer be opened\./,
    );
    assert.equal(await page.locator("#message").isHidden(), true);
  } finally {
    await context.close();
  }
});
