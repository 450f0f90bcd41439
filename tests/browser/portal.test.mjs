// The portal in a real browser against a real `securedoc serve` with
// `first_contact = "temporary_password"`: a message sealed with pull
// delivery → the first-time password mail → the link → two-step login →
// "Choose your password" → the message → Download attachments (the .zip's
// files checked) → the Inbox → Log out; the same without JavaScript and in
// French; the inactivity warning and logout (a moved clock); and a hostile
// HTML body that runs and loads nothing. Every page passes axe-core, light
// and dark, at 1280, 360 and 320 px.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";

import {
  assertAccessibleEverywhere,
  execFileAsync,
  launchBrowser,
  makeTempDir,
  removeDir,
  sha256File,
} from "./helpers.mjs";
import { assertNoTraces, hostileHtml, startRecorder, watchForTraces } from "./hostile.mjs";
import { startKeyServer } from "./keyserver.mjs";

const NEW_PASSWORD = "Quiet-Harbour-Lantern-42";
const env = {};
const SERVER_CONFIG = 'internal_domains = ["clinic.example"]\n[portal]\nfirst_contact = "temporary_password"\n';

before(async () => {
  env.browser = await launchBrowser();
  env.dir = await makeTempDir();
  env.server = await startKeyServer(env.dir, { config: SERVER_CONFIG });
  env.attachment = path.join(env.dir, "results.pdf");
  await writeFile(env.attachment, randomBytes(90 * 1024 + 3));
  env.attachmentSha = await sha256File(env.attachment);
});

after(async () => {
  env.server?.stop();
  await env.browser?.close();
  await removeDir(env.dir);
});

/** A new recipient's pull message: its link and the first-time password mailed to them. */
async function firstMessage(to, options = {}, server = env.server) {
  const since = Date.now() - 1000;
  const link = await server.pullFor(to, options);
  const mail = await server.mailTo(to, since, /First-time password|Mot de passe provisoire/);
  const password = mail.match(/(?:First-time password:|Mot de passe provisoire :)\s*(\S+)/)[1];
  return { link, password, mail };
}

/** The login's two steps on `page` (already on the login page). */
async function logIn(page, email, password, labels = {}) {
  await page.getByLabel(labels.email || "E-mail address").fill(email);
  await page.getByRole("button", { name: labels.next || "Next" }).click();
  await page.locator("#password").fill(password);
  await page.getByRole("button", { name: labels.submit || "Log in" }).click();
}

/** The whole first-contact journey against `server`. */
async function firstContactJourney(server) {
  const carol = `carol-${randomBytes(3).toString("hex")}@example.net`;
  const { link, password, mail } = await firstMessage(
    carol,
    { attachment: env.attachment, subject: "Results" },
    server,
  );
  assert.match(mail, /Secure Messaging Password Notification|You have been sent a secure message/);
  assert.ok(mail.includes(link), "the password mail links to the message");

  const context = await env.browser.newContext({ bypassCSP: true, acceptDownloads: true });
  try {
    const page = await context.newPage();
    await page.goto(link);
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    await page.getByText("A secure message is waiting for you.").waitFor();
    await assertAccessibleEverywhere(page, "portal login, e-mail step");
    await page.getByLabel("E-mail address").fill(carol);
    await page.getByRole("button", { name: "Next" }).click();
    await page.locator("#password").waitFor();
    await page.getByRole("link", { name: "Log in as a different user." }).waitFor();
    await page.getByRole("link", { name: "Forgot your password?" }).waitFor();
    await assertAccessibleEverywhere(page, "portal login, password step");

    // A wrong password: one sentence for every failure, still accessible.
    await page.locator("#password").fill("not the password");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByText("The e-mail address or the password is not right.").waitFor();
    await assertAccessibleEverywhere(page, "portal login failed");

    await page.locator("#password").fill(password);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("heading", { name: "Choose your password" }).waitFor();
    await assertAccessibleEverywhere(page, "choose your password");
    await page.locator("#password").fill(NEW_PASSWORD);
    await page.locator("#password_confirm").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Save and continue" }).click();

    // The message the link named.
    await page.getByRole("heading", { name: "Results" }).waitFor();
    await page.getByText("Hello, the results are attached.").waitFor();
    await assertAccessibleEverywhere(page, "portal message");
    const [zip] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Download attachments" }).click(),
    ]);
    const zipFile = path.join(env.dir, `attachments-${randomBytes(3).toString("hex")}.zip`);
    await zip.saveAs(zipFile);
    const { stdout: names } = await execFileAsync("unzip", ["-Z1", zipFile]);
    assert.deepEqual(names.trim().split("\n"), ["message.txt", "results.pdf"]);
    const { stdout: text } = await execFileAsync("unzip", ["-p", zipFile, "message.txt"]);
    assert.match(text, /Subject: Results/);
    assert.match(text, /Hello, the results are attached\./);
    const out = path.join(env.dir, `unzipped-${randomBytes(3).toString("hex")}`);
    await execFileAsync("unzip", ["-q", zipFile, "results.pdf", "-d", out]);
    assert.equal(await sha256File(path.join(out, "results.pdf")), env.attachmentSha);

    // Reply with an attachment: it reaches the sender as a secure message
    // and is kept in Sent items.
    await page.getByRole("link", { name: "Reply", exact: true }).click();
    await page.getByRole("heading", { name: "Reply" }).waitFor();
    await assertAccessibleEverywhere(page, "portal reply");
    await page.locator("#editor-area").fill("Thank you, the signed form is attached.");
    const signed = path.join(env.dir, "signed.pdf");
    await writeFile(signed, "%PDF-1.4 signed");
    await page.getByLabel("Add attachments").setInputFiles(signed);
    const beforeReply = Date.now() - 1000;
    await page.getByRole("button", { name: "Send securely" }).click();
    await page.getByText("Your message was sent securely to alice@clinic.example.").waitFor();
    await server.attachmentFromOutbox("alice@clinic.example", beforeReply);
    await page.getByRole("link", { name: "Sent items" }).click();
    await page.getByRole("heading", { name: "Sent items" }).waitFor();
    await assertAccessibleEverywhere(page, "portal Sent items");
    await page.getByRole("link", { name: "Re: Results" }).click();
    await page.getByText("Thank you, the signed form is attached.").waitFor();
    await page.getByRole("link", { name: "signed.pdf" }).waitFor();
    await assertAccessibleEverywhere(page, "portal sent message");

    // A new message to the organisation, autosaved as a draft that
    // survives a reload.
    await page.getByRole("link", { name: "Compose" }).click();
    await page.getByRole("heading", { name: "New message" }).waitFor();
    await assertAccessibleEverywhere(page, "portal compose");
    await page.locator("#to").fill("alice@clinic.example");
    await page.locator("#subject").fill("About my appointment");
    // With JavaScript the message field is the formatting editor.
    assert.equal(await page.locator("#body").isHidden(), true);
    await page.locator("#editor-area").fill("Can we move it to Friday?");
    await page.getByText(/Draft saved at/).waitFor({ timeout: 15_000 });
    await page.reload();
    assert.equal(await page.locator("#subject").inputValue(), "About my appointment");
    assert.match(await page.locator("#editor-area").innerText(), /Can we move it to Friday\?/);
    // Bold, through the toolbar, under the page's CSP; then sent.
    await page.locator("#editor-area").click();
    await page.keyboard.press("Control+A");
    await page.getByRole("button", { name: "Bold" }).click();
    await assertAccessibleEverywhere(page, "portal compose with the editor");
    await page.getByRole("button", { name: "Send securely" }).click();
    await page.getByText("Your message was sent securely to alice@clinic.example.").waitFor();
    await page.getByRole("link", { name: "Sent items" }).click();
    await page.getByRole("link", { name: "About my appointment" }).click();
    await page
      .locator(".message-body b, .message-body strong")
      .filter({ hasText: "Can we move it to Friday?" })
      .waitFor();
    // Sending deleted the draft.
    await page.getByRole("link", { name: "Drafts" }).click();
    await page.getByRole("heading", { name: "Drafts" }).waitFor();
    await page.getByText("You have no drafts.").waitFor();
    await assertAccessibleEverywhere(page, "portal Drafts");

    await page.getByRole("link", { name: "Inbox" }).click();
    await page.getByRole("heading", { name: "Inbox" }).waitFor();
    await page.getByRole("link", { name: "Results" }).waitFor();
    await assertAccessibleEverywhere(page, "portal Inbox");

    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByText("You have logged out.").waitFor();
    await assertAccessibleEverywhere(page, "portal logged out");
    await page.goto(server.origin + "/portal/inbox");
    await page.getByRole("heading", { name: "Log in" }).waitFor();

    // The first-time password is dead; the chosen one works.
    await logIn(page, carol, password);
    await page.getByText("The e-mail address or the password is not right.").waitFor();
    await page.goto(server.origin + "/portal/login");
    await logIn(page, carol, NEW_PASSWORD);
    await page.getByRole("heading", { name: "Inbox" }).waitFor();
  } finally {
    await context.close();
  }
}

test("first contact by temporary password, the message, its .zip, Reply, Sent items, a draft, Log out", () =>
  firstContactJourney(env.server));

test("the same journey with the key server on PostgreSQL", async () => {
  const dir = path.join(env.dir, "postgres");
  await mkdir(dir);
  const server = await startKeyServer(dir, { config: SERVER_CONFIG, postgres: true });
  try {
    await firstContactJourney(server);
  } finally {
    await server.stop();
  }
});

test("JavaScript off, in French: the same journey works and every page is French", async () => {
  const dave = `dave-${randomBytes(3).toString("hex")}@example.net`;
  const { link, password } = await firstMessage(dave, { subject: "Résultats" });
  const context = await env.browser.newContext({ javaScriptEnabled: false, locale: "fr-FR", bypassCSP: true });
  try {
    const page = await context.newPage();
    await page.goto(link);
    // Without JavaScript the same-site step is a refresh, not a script.
    await page.getByRole("heading", { name: "Connexion" }).waitFor();
    assert.equal(await page.locator("html").getAttribute("lang"), "fr");
    const french = { email: "Adresse e-mail", next: "Suivant", submit: "Se connecter" };
    await logIn(page, dave, password, french);
    await page.getByRole("heading", { name: "Choisissez votre mot de passe" }).waitFor();
    await page.locator("#password").fill(NEW_PASSWORD);
    await page.locator("#password_confirm").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Enregistrer et continuer" }).click();
    await page.getByRole("heading", { name: "Résultats" }).waitFor();
    await page.getByRole("link", { name: "Retour à la boîte de réception" }).click();
    await page.getByRole("heading", { name: "Boîte de réception" }).waitFor();
    await page.getByRole("button", { name: "Se déconnecter" }).click();
    await page.getByText("Vous êtes déconnecté.").waitFor();
  } finally {
    await context.close();
  }
  // The French pages, checked by axe-core (which needs script to run).
  const checked = await env.browser.newContext({ locale: "fr-FR", bypassCSP: true });
  try {
    const page = await checked.newPage();
    await page.goto(env.server.origin + "/portal/login");
    await page.getByRole("heading", { name: "Connexion" }).waitFor();
    await assertAccessibleEverywhere(page, "portal login (fr)");
    await logIn(page, dave, NEW_PASSWORD, { email: "Adresse e-mail", next: "Suivant", submit: "Se connecter" });
    await page.getByRole("heading", { name: "Boîte de réception" }).waitFor();
    await assertAccessibleEverywhere(page, "portal Inbox (fr)");
    await page.getByRole("link", { name: "Résultats" }).click();
    await page.getByRole("heading", { name: "Résultats" }).waitFor();
    await assertAccessibleEverywhere(page, "portal message (fr)");
  } finally {
    await checked.close();
  }
});

test("inactivity: a warning with Stay logged in, then the login page says why", async () => {
  // A server of its own: a one-minute idle time would end the other tests' sessions.
  const dir = path.join(env.dir, "idle");
  await mkdir(dir);
  const server = await startKeyServer(dir, {
    config: '[portal]\nfirst_contact = "temporary_password"\nsession_idle_minutes = 1\nsession_warning_seconds = 52\n',
  });
  const erin = `erin-${randomBytes(3).toString("hex")}@example.net`;
  const { link, password } = await firstMessage(erin, {}, server);
  const context = await env.browser.newContext({ bypassCSP: true });
  try {
    const page = await context.newPage();
    await page.goto(link);
    await logIn(page, erin, password);
    await page.locator("#password").fill(NEW_PASSWORD);
    await page.locator("#password_confirm").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Save and continue" }).click();
    await page.getByText("Hello, the results are attached.").waitFor();

    // Idle 60 s, warned 52 s before: the warning comes after about 8 s.
    const warning = page.getByRole("alertdialog");
    await warning.waitFor({ timeout: 20_000 });
    assert.match(await warning.innerText(), /You will be logged out in 52 seconds/);
    await assertAccessibleEverywhere(page, "inactivity warning");
    await page.getByRole("button", { name: "Stay logged in" }).click();
    await warning.waitFor({ state: "hidden" });

    // The server's clock moves past the idle time: the next page is the login.
    await server.clock.advance(120);
    await page.reload();
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    await page.getByText("You were logged out after 1 minutes without activity").waitFor();
    await assertAccessibleEverywhere(page, "logged out for inactivity");
  } finally {
    await context.close();
    server.stop();
  }
});

test("a hostile HTML body read in the portal runs nothing and loads nothing", async () => {
  const recorder = await startRecorder();
  const htmlFile = path.join(env.dir, "hostile.html");
  await writeFile(htmlFile, hostileHtml(recorder.origin));
  const frank = `frank-${randomBytes(3).toString("hex")}@example.net`;
  const { link, password } = await firstMessage(frank, { subject: "Hostile body", extra: ["--html-file", htmlFile] });
  // JavaScript on: whatever script got through would run, and be seen.
  const context = await env.browser.newContext();
  const traces = watchForTraces(context);
  try {
    const page = await context.newPage();
    await page.goto(link);
    await logIn(page, frank, password);
    await page.locator("#password").fill(NEW_PASSWORD);
    await page.locator("#password_confirm").fill(NEW_PASSWORD);
    await page.getByRole("button", { name: "Save and continue" }).click();
    await page.getByRole("heading", { name: "Hostile body" }).waitFor();
    await page.getByText("Visible paragraph of the hostile message.").waitFor();
    await page.getByText("Click me").click();
    await page.waitForTimeout(1500);

    assertNoTraces(traces, recorder, (url) => url.startsWith(env.server.origin + "/"));
    assert.match(page.url(), /\/portal\/m\/[0-9a-f]{32}$/, "the page did not navigate");
    const planted = ".message-body iframe, .message-body form, .message-body svg, .message-body script";
    assert.equal(await page.locator(planted).count(), 0);
  } finally {
    await context.close();
    await recorder.close();
  }
});
