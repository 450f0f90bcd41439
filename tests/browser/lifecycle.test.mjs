// The account rules of the portal in a real browser against a real
// `securedoc serve` (MailGate's preset: passwords expire after 60 days with
// a warning 7 days before; accounts disabled after 90 days without a login,
// deleted 90 days later; messages kept 30 days), the clock moved forward
// and the sweep run as the server's minute runs it. Also first contact by
// registration from the portal itself (a pull message has no envelope to
// register from). Every page passes axe-core, light and dark, at 1280 and
// 360 px, and reflows at 320 px.

import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";

import { assertAccessibleEverywhere, launchBrowser, makeTempDir, portalLogIn, removeDir } from "./helpers.mjs";
import { startKeyServer } from "./keyserver.mjs";

const PASSWORD = "Quiet-Harbour-Lantern-42";
const DAY = 86_400;
const env = {};

before(async () => {
  env.browser = await launchBrowser();
  env.dir = await makeTempDir();
  env.server = await startKeyServer(env.dir, {
    config: 'password_policy = "mailgate"\n[accounts]\nhelp_desk = "helpdesk@clinic.example"\n',
  });
});

after(async () => {
  env.server?.stop();
  await env.browser?.close();
  await removeDir(env.dir);
});

const someone = (name) => `${name}-${randomBytes(3).toString("hex")}@example.net`;

const logIn = (page, url, email, password = PASSWORD) => portalLogIn(page, url, email, password);

test("first contact by registration, from the portal's own login page", async () => {
  const erin = someone("erin");
  const link = await env.server.pullFor(erin, { subject: "Lab report" });
  const context = await env.browser.newContext({ bypassCSP: true });
  try {
    const page = await context.newPage();
    await page.goto(link);
    await page.getByLabel("E-mail address").fill(erin);
    await page.getByRole("button", { name: "Next" }).click();
    // The password step offers registration with the address typed.
    await page.getByRole("link", { name: /First time here\? Register/ }).click();
    await page.getByRole("heading", { name: "New user registration" }).waitFor();
    const email = page.getByLabel("E-mail address");
    if ((await email.inputValue()) !== erin) throw new Error("the address typed at login is carried over");
    await assertAccessibleEverywhere(page, "registration from the portal");
    await page.getByLabel("First name").fill("Erin");
    await page.getByLabel("Last name").fill("Example");
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
    const since = Date.now() - 1000;
    await page.getByRole("button", { name: "Register" }).click();
    await page.getByRole("heading", { name: "Check your e-mail" }).waitFor();
    const confirm = await env.server.linkFromOutbox("/confirm?token=", since);
    await page.goto(confirm);
    await page.getByLabel("The password you chose when registering").fill(PASSWORD);
    await page.getByRole("button", { name: "Confirm my address" }).click();
    await page.getByRole("heading", { name: "Address confirmed" }).waitFor();
    // Back to the notification's link: the message.
    await logIn(page, link, erin);
    await page.getByRole("heading", { name: "Lab report" }).waitFor();

    // Without an address (a link typed by hand) the form asks for it.
    await page.goto(env.server.origin + "/register?lang=en");
    await page.getByText("The address your secure message was sent to.").waitFor();
    await assertAccessibleEverywhere(page, "registration without an address");
  } finally {
    await context.close();
  }
});

test("password expiry: a warning in the Inbox and by mail, then the login refused", async () => {
  const fay = someone("fay");
  await env.server.createAccount(fay, PASSWORD);
  await env.server.pullFor(fay, { subject: "Statement" });
  await env.server.clock.advance(54 * DAY);
  const since = Date.now() - 1000;
  await env.server.sweep();
  await env.server.mailTo(fay, since, /expires on/);
  const context = await env.browser.newContext({ bypassCSP: true });
  try {
    const page = await context.newPage();
    await logIn(page, env.server.origin + "/portal/login", fay);
    await page.getByRole("heading", { name: "Inbox" }).waitFor();
    await page
      .getByText(
        /Your password expires on \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\. Choose a new one before then in Preferences\./,
      )
      .waitFor();
    await assertAccessibleEverywhere(page, "Inbox with the password-expiry warning");
    await page.getByRole("button", { name: "Log out" }).click();

    await env.server.clock.advance(7 * DAY);
    await logIn(page, env.server.origin + "/portal/login", fay);
    await page.getByText("Your password has expired.", { exact: false }).waitFor();
    await assertAccessibleEverywhere(page, "login refused: the password expired");
  } finally {
    await context.close();
  }
});

test("inactivity: disabled with the help desk's address, then deleted; the retention deletes messages", async () => {
  const gus = someone("gus");
  await env.server.createAccount(gus, PASSWORD);
  const link = await env.server.pullFor(gus, { subject: "Invoice" });
  const context = await env.browser.newContext({ bypassCSP: true });
  try {
    const page = await context.newPage();
    await logIn(page, link, gus);
    await page.getByRole("heading", { name: "Invoice" }).waitFor();
    await page.getByRole("button", { name: "Log out" }).click();

    // 31 days on: the retention has deleted the message (keys first).
    await env.server.clock.advance(31 * DAY);
    await env.server.sweep();
    await logIn(page, env.server.origin + "/portal/login", gus);
    await page.getByRole("heading", { name: "Inbox" }).waitFor();
    if ((await page.getByRole("link", { name: "Invoice" }).count()) !== 0)
      throw new Error("the message outlived the retention");
    await page.goto(link + "?c=1");
    await page
      .getByText(/no longer be read|no such message/)
      .first()
      .waitFor();
    await page.goto(env.server.origin + "/portal/inbox");
    await page.getByRole("button", { name: "Log out" }).click();

    // 91 days without a login: disabled, and the page says whom to ask.
    await env.server.clock.advance(91 * DAY);
    await env.server.sweep();
    await logIn(page, env.server.origin + "/portal/login", gus);
    await page.getByText(/nobody logged in to it for 90 days/).waitFor();
    await page.getByText("helpdesk@clinic.example", { exact: false }).waitFor();
    await assertAccessibleEverywhere(page, "login refused: disabled for inactivity");

    // 90 days later: deleted; the login is refused as for any unknown address.
    await env.server.clock.advance(91 * DAY);
    await env.server.sweep();
    await logIn(page, env.server.origin + "/portal/login", gus);
    await page
      .getByText(/not right/i)
      .first()
      .waitFor();
  } finally {
    await context.close();
  }
});
