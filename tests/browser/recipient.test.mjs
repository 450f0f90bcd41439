// What a recipient meets, in their language, in the light and the dark
// scheme, on a desktop and a phone: every envelope state (passphrase;
// server mode's Checking…, Register, Password, errors, opened) and every
// account page (/register, /confirm, /forgot, /reset) passes axe-core with 0
// violations in English and French, light and dark, 1280 and 360 px, and
// reflows at 320 px. Also what the audit of those states found, each fixed:
// the envelope names the organisation, never pulls focus back, says what to
// do when the key server cannot be reached or the message is gone; the
// registration form checks itself before sending, names each field in its
// error summary and says per rule what the password still lacks.

import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, test } from "node:test";

import {
  assertAccessibleEverywhere,
  contrastRatio,
  launchBrowser,
  makeTempDir,
  removeDir,
  seal,
  openWithPassword,
  waitForMessage,
} from "./helpers.mjs";
import { mailText, startKeyServer } from "./keyserver.mjs";

const PASSWORD = "Quiet-Harbour-Lantern-42";
const ORGANIZATION = "Example Clinic";
const env = {};
const envelopes = {};

before(async () => {
  env.browser = await launchBrowser();
  env.dir = await makeTempDir();
  env.server = await startKeyServer(env.dir, { config: `organization_name = "${ORGANIZATION}"\n` });
  const passwordFile = path.join(env.dir, "password");
  await writeFile(passwordFile, PASSWORD + "\n");
  for (const [address, phrase, language] of [
    ["bob@example.net", "Blue kettle on Sunday", "en"],
    ["zoe@example.net", "Chat bleu du dimanche", "fr"],
  ]) {
    await env.server.securedoc([
      "admin",
      "account",
      "create",
      "--address",
      address,
      "--password-file",
      passwordFile,
      "--phrase",
      phrase,
      "--language",
      language,
    ]);
  }
  const html = path.join(env.dir, "body.html");
  await writeFile(
    html,
    '<p>Hello Bob.</p><img src="https://tracker.example/spacer.gif" alt=""><img src="https://tracker.example/chart.png">',
  );
  const sealFor = (to, lang, extra = []) =>
    env.server.sealFor(to, { extra: [...(lang ? ["--lang", lang] : []), ...extra] });
  envelopes.bob = await sealFor("bob@example.net", null, ["--html-file", html]);
  envelopes.carol = await sealFor("carol@example.org");
  envelopes.bobFr = await sealFor("bob@example.net", "fr");
  envelopes.carolFr = await sealFor("carol@example.org", "fr");
  // No --lang: Zoe's account says French.
  envelopes.zoe = await sealFor("zoe@example.net");
});

after(async () => {
  env.server?.stop();
  await env.browser?.close();
  await removeDir(env.dir);
});

/** A page in a fresh context that axe can be injected into. */
async function newPage(options = {}) {
  const context = await env.browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 800 }, ...options });
  return { context, page: await context.newPage() };
}

const statusUrl = () => env.server.origin + "/api/v1/keys/status";
const releaseUrl = () => env.server.origin + "/api/v1/keys/release";
const CORS = { "access-control-allow-origin": "null", "content-type": "application/json" };

// The words each language shows, for the states the matrix reaches.
const WORDS = {
  en: {
    password: "Password",
    open: "Open",
    register: "Register",
    wrong: "Wrong password",
    gone: /withdrawn by its sender\. It can no longer be opened\. If you still need it, ask the sender to send it again\./,
    passphrase: "Passphrase",
    wrongPassphrase: "Wrong passphrase",
    expired: "This message expired on",
  },
  fr: {
    password: "Mot de passe",
    open: "Ouvrir",
    register: "S'inscrire",
    wrong: "Mot de passe incorrect",
    gone: /retiré par son expéditeur\. Il ne peut plus être ouvert\. Si vous en avez encore besoin, demandez à l'expéditeur de vous le renvoyer\./,
    passphrase: "Phrase secrète",
    wrongPassphrase: "Phrase secrète incorrecte",
    expired: "Ce message a expiré le",
  },
};

test("while the key server has not answered the envelope says Checking…, then names the organisation", async () => {
  const { context, page } = await newPage();
  try {
    const held = [];
    await context.route(statusUrl(), (route) => held.push(route));
    await page.goto(envelopes.bob);
    const status = page.getByRole("status").filter({ hasText: "Checking…" });
    await status.waitFor();
    assert.equal(await page.getByLabel("Password", { exact: true }).isVisible(), false, "no password form yet");
    assert.equal(await page.locator("#register-box").isVisible(), false, "no Register yet");
    await assertAccessibleEverywhere(page, "Checking…");

    while (!held.length) await new Promise((resolve) => setTimeout(resolve, 50));
    await held[0].continue();
    await page.getByLabel("Password", { exact: true }).waitFor({ state: "visible" });
    assert.equal(await status.isVisible(), false);
    // Registered: no "First time? Register" any more.
    assert.equal(await page.getByText("First time?").isVisible(), false);
    assert.equal(await page.locator("#register").isVisible(), false);
    // The key server is named by its organisation, nowhere by its address.
    assert.match(await page.locator("#unlock-help").innerText(), /registered at Example Clinic\./);
    assert.doesNotMatch(await page.locator("body").innerText(), /127\.0\.0\.1/);

    // The Open button stays in its card on a phone, and reflows at 320 px.
    for (const width of [360, 320]) {
      await page.setViewportSize({ width, height: 700 });
      const button = await page.locator("#open-button").boundingBox();
      const card = await page.locator("section.card").boundingBox();
      assert.ok(
        button.x + button.width <= card.x + card.width - 1,
        `at ${width} px the Open button ends at ${button.x + button.width}, its card at ${card.x + card.width}`,
      );
      assert.ok(button.x + button.width <= width, `at ${width} px the Open button is off screen`);
    }
  } finally {
    await context.close();
  }
});

test("a key server that cannot be reached is said in plain words, with what to do, and Try again", async () => {
  const { context, page } = await newPage();
  try {
    await context.route(statusUrl(), (route) => route.abort("connectionrefused"));
    await page.goto(envelopes.bob);
    const status = page.getByRole("status").filter({ hasText: "cannot be reached" });
    await status.waitFor();
    const text = await status.innerText();
    assert.match(text, /The key server of Example Clinic cannot be reached right now/);
    assert.match(text, /Your message is safe in this file/);
    assert.doesNotMatch(text, /https?:|127\.0\.0\.1/, "no raw address");
    assert.equal(await page.getByLabel("Password", { exact: true }).isVisible(), false);
    await assertAccessibleEverywhere(page, "key server unreachable");

    await context.unroute(statusUrl());
    await page.getByRole("button", { name: "Try again" }).click();
    await page.getByLabel("Password", { exact: true }).waitFor({ state: "visible" });
    assert.equal(await status.isVisible(), false);
  } finally {
    await context.close();
  }
});

test("the Register state does not pull the focus back while it waits", async () => {
  const { context, page } = await newPage();
  try {
    await page.clock.install();
    await page.goto(envelopes.carol);
    const register = page.locator("#register-button");
    await register.waitFor({ state: "visible" });
    await page.waitForFunction(() => document.activeElement?.id === "register-button");
    // The recipient reads elsewhere: the slow poll runs twice, and leaves the focus be.
    await page.evaluate(() => document.activeElement.blur());
    let polls = 0;
    page.on("request", (request) => {
      if (request.url() === statusUrl() && request.method() === "POST") polls++;
    });
    await page.clock.runFor(8_500);
    while (polls < 2) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await page.evaluate(() => document.activeElement?.id || document.activeElement?.localName), "body");
  } finally {
    await context.close();
  }
});

test("every server-mode envelope state passes axe-core in English and French, light and dark, 1280 and 360 px", async () => {
  for (const [lang, registered, newcomer] of [
    ["en", envelopes.bob, envelopes.carol],
    ["fr", envelopes.bobFr, envelopes.carolFr],
  ]) {
    const words = WORDS[lang];
    const { context, page } = await newPage();
    try {
      await page.goto(newcomer);
      await page.locator("#register-box").getByRole("link", { name: words.register }).waitFor({ state: "visible" });
      assert.equal(await page.locator("html").getAttribute("lang"), lang);
      // The key server's form follows the envelope's language.
      const href = new URL(await page.locator("#register-button").getAttribute("href"));
      assert.equal(href.searchParams.get("lang"), lang === "en" ? null : lang);
      await assertAccessibleEverywhere(page, `Register (${lang})`);
      if (lang === "en") {
        await page.emulateMedia({ colorScheme: "dark" });
        const ratio = await contrastRatio(page.locator("#register-button"));
        assert.ok(ratio >= 4.5, `Register in the dark scheme: ${ratio.toFixed(2)}:1`);
        await page.emulateMedia({ colorScheme: "light" });
      }

      await page.goto(registered);
      const password = page.getByLabel(words.password, { exact: true });
      await password.waitFor({ state: "visible" });
      await assertAccessibleEverywhere(page, `Password (${lang})`);
      await page.emulateMedia({ colorScheme: "dark" });
      const ratio = await contrastRatio(page.getByRole("button", { name: words.open, exact: true }));
      assert.ok(ratio >= 4.5, `Open in the dark scheme (${lang}): ${ratio.toFixed(2)}:1`);
      await page.emulateMedia({ colorScheme: "light" });

      await password.fill("not my password");
      await password.press("Enter");
      await page.getByRole("alert").filter({ hasText: words.wrong }).waitFor();
      await assertAccessibleEverywhere(page, `wrong password (${lang})`);

      // Withdrawn (or expired): what the key server says, and what to do.
      await context.route(releaseUrl(), (route) =>
        route.fulfill({
          status: 410,
          headers: CORS,
          body: JSON.stringify({ error: "gone", message: "This message is no longer available." }),
        }),
      );
      await password.fill(PASSWORD);
      await password.press("Enter");
      const gone = page.getByRole("alert").filter({ hasText: words.gone });
      await gone.waitFor();
      await assertAccessibleEverywhere(page, `withdrawn (${lang})`);
      await context.unroute(releaseUrl());

      await page.goto(registered);
      await password.waitFor({ state: "visible" });
      await password.fill(PASSWORD);
      await password.press("Enter");
      await waitForMessage(page);
      await assertAccessibleEverywhere(page, `opened (${lang})`);
    } finally {
      await context.close();
    }
  }
});

test("every passphrase envelope state passes axe-core in English and French, light and dark, 1280 and 360 px", async () => {
  for (const lang of ["en", "fr"]) {
    const words = WORDS[lang];
    const envelope = await seal(env.dir, { name: `passphrase-${lang}.html`, body: "Bonjour.", lang });
    const { context, page } = await newPage();
    try {
      await page.goto(envelope.url);
      const input = page.getByLabel(words.passphrase, { exact: true });
      await input.waitFor({ state: "visible" });
      await assertAccessibleEverywhere(page, `passphrase (${lang})`);
      await input.fill("wrong passphrase");
      await input.press("Enter");
      await page.getByRole("alert").filter({ hasText: words.wrongPassphrase }).waitFor();
      await assertAccessibleEverywhere(page, `wrong passphrase (${lang})`);
      await input.fill(envelope.passphrase);
      await input.press("Enter");
      await waitForMessage(page);
      await assertAccessibleEverywhere(page, `opened (${lang})`);

      const expiring = await seal(env.dir, { name: `expiring-${lang}.html`, body: "x", lang, expires: "1h" });
      const later = await context.newPage();
      await later.clock.install({ time: Date.now() + 2 * 60 * 60 * 1000 });
      await later.goto(expiring.url);
      await later.getByRole("alert").filter({ hasText: words.expired }).waitFor();
      await assertAccessibleEverywhere(later, `expired (${lang})`);
    } finally {
      await context.close();
    }
  }
});

test("the body frame has a language and a title; blocked decorative images stay silent", async () => {
  const { context, page } = await newPage();
  try {
    await openWithPassword(page, envelopes.bob, PASSWORD);
    await page.frameLocator("#body iframe").getByText("Hello Bob.").waitFor();
    const frame = page.frames().find((f) => f !== page.mainFrame());
    const inside = await frame.evaluate(() => ({
      lang: document.documentElement.lang,
      title: document.title,
      alts: Array.from(document.images, (img) => img.getAttribute("alt")),
    }));
    assert.deepEqual(inside, {
      lang: "en",
      title: "Your test results",
      alts: ["", "[remote image blocked]"],
    });
  } finally {
    await context.close();
  }
});

test("a French envelope speaks French: by --lang, or by the recipient's account language, and so does its mail", async () => {
  const { context, page } = await newPage();
  try {
    await page.goto(envelopes.zoe);
    assert.equal(await page.locator("html").getAttribute("lang"), "fr");
    assert.match(await page.title(), /^Message sécurisé de alice@clinic\.example$/);
    await page.getByText("Chat bleu du dimanche", { exact: true }).waitFor();
    const password = page.getByLabel("Mot de passe", { exact: true });
    await password.waitFor({ state: "visible" });
    assert.match(await page.locator("#unlock-help").innerText(), /inscription sur Example Clinic\./);
    await password.fill("pas le bon");
    await password.press("Enter");
    await page.getByRole("alert").filter({ hasText: "Mot de passe incorrect. Encore 4 essais" }).waitFor();
    await password.fill(PASSWORD);
    await password.press("Enter");
    await waitForMessage(page);
    assert.equal(await page.getByRole("button", { name: "Enregistrer le message" }).count(), 1);
  } finally {
    await context.close();
  }

  // The notification that carries the envelope, in Zoe's language.
  const outbox = path.join(env.dir, "sent");
  await env.server.securedoc([
    "send",
    "--from",
    "alice@clinic.example",
    "--to",
    "zoe@example.net",
    "--subject",
    "Résultats",
    "--body",
    "Bonjour.",
    "--key-server",
    env.server.origin,
    "--token-file",
    path.join(env.dir, "token"),
    "--outbox",
    outbox,
  ]);
  const [file] = await readdir(outbox);
  const mail = await readFile(path.join(outbox, file), "utf8");
  assert.match(mail, /^Subject: .*$/m);
  const text = mailText(mail);
  assert.match(text, /Vous avez reçu un message sécurisé de alice@clinic\.example/);
  assert.match(text, /votre compte sur Example Clinic/);
});

/** The account pages as a recipient meets them, with JavaScript. */
test("the account pages check themselves, name every field, and pass axe-core everywhere", async () => {
  const origin = env.server.origin;
  for (const lang of ["fr", "en"]) {
    const { context, page } = await newPage();
    try {
      await page.goto(`${origin}/forgot?email=carol%40example.org&lang=${lang}`);
      await assertAccessibleEverywhere(page, `/forgot (${lang})`);
      await page.goto(`${origin}/register?email=carol%40example.org&lang=${lang}`);
      await assertAccessibleEverywhere(page, `/register (${lang})`);
    } finally {
      await context.close();
    }
  }

  const { context, page } = await newPage();
  try {
    const posts = [];
    page.on("request", (request) => {
      if (request.method() === "POST" && request.url() === `${origin}/register`) posts.push(request.url());
    });
    await page.goto(`${origin}/register?email=carol%40example.org`);
    await page.emulateMedia({ colorScheme: "dark" });
    const submit = page.getByRole("button", { name: "Register" });
    const ratio = await contrastRatio(submit);
    assert.ok(ratio >= 4.5, `Register in the dark scheme: ${ratio.toFixed(2)}:1`);
    await page.emulateMedia({ colorScheme: "light" });

    // Each rule says to a screen reader whether it is met.
    const passwordField = page.getByLabel(/^Password/);
    await passwordField.pressSequentially("short");
    const minLength = page.locator('#password-rules li[data-rule="min_len"]');
    await page.locator('#password-rules li[data-rule="min_len"].unmet').waitFor();
    assert.match(await minLength.innerText(), /^not met yet:/);
    assert.match(await page.locator("#password-rules-live").innerText(), /^\d+ of \d+ rules met\.$/);
    await passwordField.fill(PASSWORD);
    await page.locator('#password-rules li[data-rule="min_len"].met').waitFor();
    assert.match(await minLength.innerText(), /^met:/);
    await page.locator("#password-rules-live").filter({ hasText: "All rules met." }).waitFor();

    // Long questions, on a phone: each answer's name says its whole question.
    await page.setViewportSize({ width: 360, height: 740 });
    const questions = [
      ["sibling_middle_name", "What is the middle name of your oldest sibling?"],
      ["childhood_street", "What is the name of the street you grew up on?"],
      ["first_concert", "What was the first concert you attended?"],
    ];
    for (const [index, [id, text]] of questions.entries()) {
      const n = index + 1;
      await page.getByLabel(`Security question ${n}`).selectOption(id);
      const answer = page.getByRole("textbox", { name: `Answer to question ${n} “${text}”`, exact: true });
      assert.equal(await answer.count(), 1, `the answer to question ${n} names it`);
      const confirm = page.getByRole("textbox", { name: `Confirm answer to question ${n} “${text}”`, exact: true });
      assert.equal(await confirm.count(), 1, `the confirmation of answer ${n} names it`);
      const label = page.locator(`label[for="answer${n}"]`);
      assert.ok(await label.evaluate((el) => el.scrollWidth <= el.clientWidth), "the question wraps, whole");
      assert.ok(await label.getByText(text).isVisible(), `question ${n} is shown in full`);
    }
    await assertAccessibleEverywhere(page, "/register, questions chosen");

    // Several mistakes: caught before sending, listed in the form's order with their names; nothing typed is lost.
    await page.getByLabel("First name").fill("Carol");
    await page.getByLabel("Confirm password").fill(PASSWORD + "!");
    await page.getByLabel("Personal security phrase", { exact: true }).fill("Green door");
    await page.getByRole("textbox", { name: /^Answer to question 1/ }).fill("Ann");
    await page.getByRole("textbox", { name: /^Confirm answer to question 1/ }).fill("Anne");
    await submit.click();
    const summary = page.getByRole("alert");
    await summary.waitFor();
    const items = await summary.getByRole("listitem").allInnerTexts();
    assert.deepEqual(items, [
      "Last name: This field is required.",
      "Confirm password: The two passwords are not the same.",
      'Personal security phrase: You typed a phrase but did not tick "Enable my personal security phrase". ' +
        "Tick it to show the phrase on your secure messages, or clear the phrase.",
      "Confirm answer to question 1 “What is the middle name of your oldest sibling?”: The answer and its confirmation are not the same.",
      "Answer to question 2 “What is the name of the street you grew up on?”: This field is required.",
      "Confirm answer to question 2 “What is the name of the street you grew up on?”: This field is required.",
      "Answer to question 3 “What was the first concert you attended?”: This field is required.",
      "Confirm answer to question 3 “What was the first concert you attended?”: This field is required.",
    ]);
    assert.equal(await page.evaluate(() => document.activeElement?.id), "error-summary");
    assert.equal(await page.getByLabel("Confirm password").getAttribute("aria-invalid"), "true");
    assert.deepEqual(posts, [], "nothing was sent");
    assert.equal(await passwordField.inputValue(), PASSWORD, "the password is still there");
    await assertAccessibleEverywhere(page, "/register with errors");

    await page.getByLabel("Last name").fill("Example");
    await page.getByLabel("Confirm password").fill(PASSWORD);
    await page.getByLabel("Enable my personal security phrase").check();
    await page.getByRole("textbox", { name: /^Confirm answer to question 1/ }).fill("ann ");
    for (const [n, answer] of [
      [2, "Hill Street"],
      [3, "Nina Simone"],
    ]) {
      await page.getByRole("textbox", { name: new RegExp(`^Answer to question ${n}`) }).fill(answer);
      await page.getByRole("textbox", { name: new RegExp(`^Confirm answer to question ${n}`) }).fill(answer);
    }
    const sent = Date.now() - 1000;
    await submit.click();
    await page.getByRole("heading", { name: "Check your e-mail" }).waitFor();
    assert.equal(posts.length, 1);
    await assertAccessibleEverywhere(page, "registered, check your e-mail");

    const confirmLink = await env.server.linkFromOutbox("/confirm?token=", sent);
    await page.goto(confirmLink);
    await page.getByRole("heading", { name: "Confirm your address" }).waitFor();
    await assertAccessibleEverywhere(page, "/confirm");
    await page.getByLabel("The password you chose when registering").fill(PASSWORD);
    await page.getByRole("button", { name: "Confirm my address" }).click();
    await page.getByRole("heading", { name: "Address confirmed" }).waitFor();

    const asked = Date.now() - 1000;
    await page.goto(`${origin}/forgot?email=carol%40example.org`);
    await page.emulateMedia({ colorScheme: "dark" });
    const send = page.getByRole("button", { name: "Send me a link" });
    const sendRatio = await contrastRatio(send);
    assert.ok(sendRatio >= 4.5, `Send me a link in the dark scheme: ${sendRatio.toFixed(2)}:1`);
    await page.emulateMedia({ colorScheme: "light" });
    await send.click();
    await page.getByRole("heading", { name: "Check your e-mail" }).waitFor();
    const resetLink = await env.server.linkFromOutbox("/reset?token=", asked);
    await page.goto(resetLink);
    await page.getByRole("heading", { name: "Choose a new password" }).waitFor();
    await assertAccessibleEverywhere(page, "/reset");
    await page.emulateMedia({ colorScheme: "dark" });
    const setPassword = page.getByRole("button", { name: "Set my new password" });
    const setRatio = await contrastRatio(setPassword);
    assert.ok(setRatio >= 4.5, `Set my new password in the dark scheme: ${setRatio.toFixed(2)}:1`);
    await page.emulateMedia({ colorScheme: "light" });

    // Wrong answers: said of the answers together, not pinned on question 1.
    await page.getByLabel("What is the middle name of your oldest sibling?").fill("Ann");
    await page.getByLabel("What is the name of the street you grew up on?").fill("Wrong Street");
    await page.getByLabel("What was the first concert you attended?").fill("Nina Simone");
    await page.getByLabel(/^New password/).fill("Another-Quiet-Lantern-77");
    await page.getByLabel("Confirm new password").fill("Another-Quiet-Lantern-77");
    await setPassword.click();
    await page.getByText("These answers do not match").first().waitFor();
    assert.equal(
      await page.getByLabel("What is the middle name of your oldest sibling?").getAttribute("aria-invalid"),
      null,
      "question 1 is not marked wrong",
    );
    assert.match(await page.getByRole("alert").innerText(), /Security questions: These answers do not match/);
    await assertAccessibleEverywhere(page, "/reset refused");
  } finally {
    await context.close();
  }
});
