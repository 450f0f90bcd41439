// Folders and the address book in a real browser against a real
// `securedoc serve`: a recipient with two pull messages creates a folder,
// moves a message into it (the Inbox no longer lists it, the folder does)
// and back; adds contacts (listed "Last, First"), makes a group, ticks its
// members, then ticks the group in Compose and its members get the message.
// Every new page passes axe-core, light and dark, at 1280 and 360 px, and
// reflows at 320 px.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";

import { assertAccessibleEverywhere, launchBrowser, makeTempDir, removeDir } from "./helpers.mjs";
import { startKeyServer } from "./keyserver.mjs";

const PASSWORD = "Quiet-Harbour-Lantern-42";
const env = {};

before(async () => {
  env.browser = await launchBrowser();
  env.dir = await makeTempDir();
  // The organisation's domain: recipients write to it from Compose.
  env.server = await startKeyServer(env.dir, { config: 'internal_domains = ["clinic.example"]\n' });
});

after(async () => {
  env.server?.stop();
  await env.browser?.close();
  await removeDir(env.dir);
});

/** The Inbox entry whose subject is `subject`. */
const entry = (page, subject) => page.locator("li.entry", { hasText: subject });

test("a folder, a message moved into it and back, contacts and a group", async () => {
  const bob = `bob-${randomBytes(3).toString("hex")}@example.net`;
  await env.server.createAccount(bob, PASSWORD);
  await env.server.pullFor(bob, { subject: "Tax return" });
  await env.server.pullFor(bob, { subject: "Lab results" });

  const context = await env.browser.newContext({ bypassCSP: true });
  try {
    const page = await context.newPage();
    await page.goto(env.server.origin + "/portal/login");
    await page.getByLabel("E-mail address").fill(bob);
    await page.getByRole("button", { name: "Next" }).click();
    await page.locator("#password").fill(PASSWORD);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("heading", { name: "Inbox" }).waitFor();

    // Folders: none yet, then one.
    await page.getByRole("link", { name: "Folders" }).click();
    await page.getByRole("heading", { name: "Folders", exact: true }).waitFor();
    await page.getByText("You have no folders yet.").waitFor();
    await assertAccessibleEverywhere(page, "Folders, empty");
    await page.getByRole("button", { name: "Create folder" }).click();
    await page.getByText("Enter a name.").first().waitFor();
    await assertAccessibleEverywhere(page, "Folders, a name missing");
    await page.getByLabel("Folder name").fill("Taxes");
    await page.getByRole("button", { name: "Create folder" }).click();
    await page.getByText("The folder was created.").waitFor();
    await page.getByText("Rename or delete").click();
    await page.getByLabel("New name").waitFor();
    await assertAccessibleEverywhere(page, "Folders, one open for renaming");

    // Move to: the Inbox no longer lists it, the folder does.
    await page.getByRole("link", { name: "Inbox" }).click();
    await page.getByRole("heading", { name: "Inbox" }).waitFor();
    await assertAccessibleEverywhere(page, "Inbox with Move to");
    await entry(page, "Tax return").getByLabel("Move to").selectOption({ label: "Taxes" });
    await entry(page, "Tax return").getByRole("button", { name: "Move" }).click();
    await page.getByText("The message was moved.").waitFor();
    assert.equal(await entry(page, "Tax return").count(), 0, "a moved message leaves the Inbox");
    assert.equal(await entry(page, "Lab results").count(), 1);
    await page.getByRole("link", { name: "Folders" }).click();
    await page.getByText("1 message", { exact: true }).waitFor();
    await page.getByRole("link", { name: "Taxes" }).click();
    await page.getByRole("heading", { name: "Taxes" }).waitFor();
    await entry(page, "Tax return").waitFor();
    await assertAccessibleEverywhere(page, "a folder's messages");
    // It still opens from there.
    const href = await entry(page, "Tax return").getByRole("link", { name: "Tax return" }).getAttribute("href");
    await page.goto(env.server.origin + href);
    await page.getByRole("heading", { name: "Tax return" }).waitFor();
    await assertAccessibleEverywhere(page, "a message with Move to");
    // Its own page moves it back to the Inbox.
    await page.getByLabel("Move to").selectOption({ label: "Inbox" });
    await page.getByRole("button", { name: "Move" }).click();
    await page.getByText("The message was moved.").waitFor();
    await page.getByRole("heading", { name: "Tax return" }).waitFor();
    await page.getByRole("link", { name: "Folders" }).click();
    await page.getByRole("link", { name: "Taxes" }).click();
    await page.getByText("This folder is empty.").waitFor();
    await page.getByRole("link", { name: "Inbox" }).click();
    await entry(page, "Tax return").waitFor();

    // The address book: contacts "Last, First".
    await page.getByRole("link", { name: "Address book" }).click();
    await page.getByRole("heading", { name: "Address book" }).waitFor();
    await page.getByText("Your address book is empty.").waitFor();
    await assertAccessibleEverywhere(page, "Address book, empty");
    await page.getByLabel("E-mail address").fill("not an address");
    await page.getByRole("button", { name: "Add contact" }).click();
    await page.getByText("Enter an e-mail address such as name@example.com.").first().waitFor();
    await assertAccessibleEverywhere(page, "Address book, an e-mail refused");
    for (const [first, last, email] of [
      ["Rick", "Roe", "rick@clinic.example"],
      ["Jane", "Doe", "jane@clinic.example"],
    ]) {
      await page.getByLabel("First name").fill(first);
      await page.getByLabel("Last name").fill(last);
      await page.getByLabel("E-mail address").fill(email);
      await page.getByRole("button", { name: "Add contact" }).click();
      await page.getByText("The contact was added.").waitFor();
    }
    const names = await page.locator("ul.mailbox .entry-subject a").allTextContents();
    assert.deepEqual(names, ["Doe, Jane", "Roe, Rick"]);
    await assertAccessibleEverywhere(page, "Address book");
    await page.getByRole("link", { name: "Doe, Jane" }).click();
    await page.getByRole("heading", { name: "Contact" }).waitFor();
    await assertAccessibleEverywhere(page, "a contact");
    await page.getByRole("link", { name: "Back to the address book" }).click();

    // A group: members by checkboxes.
    await page.getByRole("link", { name: "Groups of contacts" }).click();
    await page.getByRole("heading", { name: "Groups of contacts" }).waitFor();
    await assertAccessibleEverywhere(page, "Groups, empty");
    await page.getByLabel("Group name").fill("Care team");
    await page.getByRole("button", { name: "Create group" }).click();
    await page.getByRole("heading", { name: "Care team" }).waitFor();
    await page.getByText("The group was created.").waitFor();
    await assertAccessibleEverywhere(page, "a new group");
    await page.getByLabel("Doe, Jane").check();
    await page.getByLabel("Roe, Rick").check();
    await page.getByRole("button", { name: "Save members" }).click();
    await page.getByText("The members were saved.").waitFor();
    assert.ok(await page.getByLabel("Doe, Jane").isChecked());
    await assertAccessibleEverywhere(page, "a group with members");
    await page.getByRole("link", { name: "Back to the groups" }).click();
    await page.getByText("2 members: jane@clinic.example, rick@clinic.example").waitFor();
    await assertAccessibleEverywhere(page, "Groups");

    // The group in Compose: ticked, it sends to its members.
    await page.getByRole("link", { name: "Compose" }).click();
    await page.getByRole("group", { name: "Add to To from your address book" }).waitFor();
    await page.getByLabel(/^Care team/).check();
    await page.getByLabel("Subject").fill("Appointment");
    await page.locator("#editor-area").fill("Can we meet on Friday?");
    const since = Date.now() - 1000;
    await page.getByRole("button", { name: "Send securely" }).click();
    await page.getByText("Your message was sent securely to jane@clinic.example, rick@clinic.example.").waitFor();
    for (const member of ["jane@clinic.example", "rick@clinic.example"]) {
      await env.server.mailTo(member, since, /You have received a secure message from/);
    }
  } finally {
    await context.close();
  }
});
