// The portal's Preferences in a real browser against a real `securedoc
// serve` (password hints on): a recipient opens Preferences from the
// navigation, changes the password (a mistake caught by the page's script,
// a wrong current password refused by the server, then the change, with
// the rules ticked as they are typed), logs in again with the new one,
// sets a hint, switches the language, and gets the hint from "Forgot your
// password?". The pages pass axe-core in every state, light and dark, at
// 1280 and 360 px, and reflow at 320 px.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";

import { assertAccessibleEverywhere, launchBrowser, makeTempDir, removeDir } from "./helpers.mjs";
import { startKeyServer } from "./keyserver.mjs";

const PASSWORD = "Quiet-Harbour-Lantern-42";
const NEW_PASSWORD = "Copper-Meadow-Whistle-87";
const env = {};

before(async () => {
  env.browser = await launchBrowser();
  env.dir = await makeTempDir();
  env.server = await startKeyServer(env.dir, { config: "[portal]\npassword_hint = true\n" });
});

after(async () => {
  env.server?.stop();
  await env.browser?.close();
  await removeDir(env.dir);
});

/** The login's two steps on `page`, from the login page to the Inbox. */
async function logIn(page, email, password) {
  await page.goto(env.server.origin + "/portal/login");
  await page.getByLabel("E-mail address").fill(email);
  await page.getByRole("button", { name: "Next" }).click();
  await page.locator("#password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Inbox" }).waitFor();
}

test("Preferences: change the password, set a hint, switch the language", async () => {
  const bob = `bob-${randomBytes(3).toString("hex")}@example.net`;
  await env.server.createAccount(bob, PASSWORD);
  await env.server.pullFor(bob, { subject: "Lab results" });

  const context = await env.browser.newContext({ bypassCSP: true });
  try {
    const page = await context.newPage();
    await logIn(page, bob, PASSWORD);
    await page.getByRole("link", { name: "Preferences" }).click();
    await page.getByRole("heading", { name: "Preferences", level: 1 }).waitFor();
    assert.equal(await page.getByRole("link", { name: "Preferences" }).getAttribute("aria-current"), "page");
    await assertAccessibleEverywhere(page, "Preferences");

    const form = page.locator('form[action="/portal/preferences/password"]');
    // The page's script: the rules ticked as typed, a mismatch caught before sending.
    await page.locator("#current_password").fill(PASSWORD);
    await page.locator("#password").fill(NEW_PASSWORD);
    await page.locator("#password-rules-live").getByText("All rules met.").waitFor();
    await page.locator("#password_confirm").fill(NEW_PASSWORD + "x");
    await form.getByRole("button", { name: "Change password" }).click();
    await page.getByRole("alert").getByText("Confirm new password: The two passwords are not the same.").waitFor();
    await assertAccessibleEverywhere(page, "Preferences, a mistake the page caught");

    // The server: a wrong current password.
    await page.locator("#current_password").fill("not my password");
    await page.locator("#password_confirm").fill(NEW_PASSWORD);
    await form.getByRole("button", { name: "Change password" }).click();
    await page.getByRole("alert").getByText("Current password: This is not your current password.").waitFor();
    assert.equal(await page.locator("#current_password").getAttribute("aria-invalid"), "true");
    await assertAccessibleEverywhere(page, "Preferences, a wrong current password");

    // The change.
    await page.locator("#current_password").fill(PASSWORD);
    await page.locator("#password").fill(NEW_PASSWORD);
    await page.locator("#password_confirm").fill(NEW_PASSWORD);
    await form.getByRole("button", { name: "Change password" }).click();
    await page.getByRole("status").getByText("Your password was changed.").waitFor();
    await assertAccessibleEverywhere(page, "Preferences, the password changed");

    // A hint (never the password).
    await page.locator("#hint").fill("the copper kettle in the meadow");
    await page.locator("#hint_password").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Save hint" }).click();
    await page.getByRole("status").getByText("Your password hint was saved.").waitFor();
    await page.getByText("You have a password hint.").waitFor();

    // The old password is dead; the new one logs in.
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByText("You have logged out.").waitFor();
    await page.getByLabel("E-mail address").fill(bob);
    await page.getByRole("button", { name: "Next" }).click();
    await page.locator("#password").fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("alert").getByText("The e-mail address or the password is not right.").waitFor();
    await logIn(page, bob, NEW_PASSWORD);

    // The language: the page is then in it.
    await page.getByRole("link", { name: "Preferences" }).click();
    await page.getByRole("combobox", { name: "Language" }).selectOption("fr");
    await page.getByRole("button", { name: "Save language" }).click();
    await page.getByRole("heading", { name: "Préférences", level: 1 }).waitFor();
    assert.equal(await page.locator("html").getAttribute("lang"), "fr");
    await page.getByRole("status").getByText("Votre langue a été enregistrée.").waitFor();
    await assertAccessibleEverywhere(page, "Preferences (fr)");

    // "Forgot your password?" mails the hint, in the account's language.
    const since = Date.now() - 1000;
    await page.goto(env.server.origin + "/forgot?lang=en");
    await page.getByLabel("E-mail address").fill(bob);
    await assertAccessibleEverywhere(page, "Forgot your password? with hints");
    await page.getByRole("button", { name: "Send me my password hint" }).click();
    await page.getByText("a message with the hint is on its way").waitFor();
    const mail = await env.server.mailTo(bob, since, /copper kettle/);
    assert.match(mail, /Votre indice de mot de passe/);
  } finally {
    await context.close();
  }
});
