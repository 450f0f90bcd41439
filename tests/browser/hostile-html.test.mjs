// A hostile HTML body: scripts, event handlers, javascript: links, refreshes,
// forms, remote images, remote CSS, frames and SVG handlers. The sandboxed
// "Message body" frame must run none of it and load nothing: a real HTTP
// server on 127.0.0.1 records every request the page might make.

import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import path from "node:path";
import { after, before, test } from "node:test";

import {
  gotoEnvelope,
  launchBrowser,
  makeTempDir,
  removeDir,
  seal,
  submitPassphrase,
  waitForMessage,
} from "./helpers.mjs";
import { MARK, hostileHtml } from "./hostile.mjs";

let browser;
let dir;
let server;
let hits = [];
let port;

before(async () => {
  browser = await launchBrowser();
  dir = await makeTempDir();
  server = createServer((request, response) => {
    hits.push(`${request.method} ${request.url}`);
    response.writeHead(200, { "content-type": "text/plain", "access-control-allow-origin": "*" });
    response.end("hit");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = server.address().port;
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  await removeDir(dir);
});

test("a hostile HTML body runs nothing, loads nothing and cannot reach the page", async () => {
  const origin = `http://127.0.0.1:${port}`;
  // The server is real and reachable: a control request is recorded.
  await fetch(`${origin}/control`);
  assert.deepEqual(hits, ["GET /control"], "the recording server works");
  hits = [];

  const envelope = await seal(dir, { subject: "Hostile body", html: hostileHtml(origin) });
  const context = await browser.newContext();
  const page = await context.newPage();
  const dialogs = [];
  const consoleMessages = [];
  const popups = [];
  const mainNavigations = [];
  const requests = [];
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    dialog.dismiss().catch(() => {});
  });
  page.on("console", (message) => consoleMessages.push(`${message.type()}: ${message.text()}`));
  page.on("popup", (popup) => popups.push(popup.url()));
  context.on("request", (request) => requests.push(request.url()));
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) mainNavigations.push(frame.url());
  });
  try {
    await gotoEnvelope(page, envelope.url);
    const title = await page.title();
    const navigationsBefore = mainNavigations.length;
    await page.evaluate(() => {
      window.__received = [];
      window.addEventListener("message", (event) => window.__received.push(String(event.data)));
    });

    await submitPassphrase(page, envelope.passphrase);
    await waitForMessage(page);
    await page.waitForTimeout(2000);

    assert.deepEqual(hits, [], "nothing reached the HTTP server");
    // blob: URLs are objects the page made in memory (the decryptor's worker script).
    const elsewhere = [...new Set(requests)].filter((url) => url !== envelope.url && !url.startsWith("blob:null/"));
    assert.deepEqual(elsewhere, [], "the browser requested nothing but the page itself");
    assert.deepEqual(dialogs, [], "no dialog appeared");
    assert.equal(await page.title(), title, "the page title is unchanged");
    assert.deepEqual(
      consoleMessages.filter((m) => m.includes(MARK)),
      [],
      "no hostile script ran",
    );
    assert.deepEqual(await page.evaluate(() => window.__received), [], "the parent received no postMessage");
    assert.equal(mainNavigations.length, navigationsBefore, "the page did not navigate");
    assert.equal(page.url(), envelope.url);
    assert.deepEqual(popups, []);

    const notice = page.locator("#remote-notice");
    assert.equal(await notice.isVisible(), true, "the remote-content notice is shown");
    assert.match(await notice.textContent(), /remote images?.*blocked/i);

    const frame = page.locator("#body iframe");
    assert.equal(await frame.count(), 1);
    assert.equal(await frame.getAttribute("title"), "Message body");
    const sandbox = await frame.getAttribute("sandbox");
    assert.notEqual(sandbox, null, "the body frame is sandboxed");
    assert.doesNotMatch(sandbox, /allow-scripts/);
    assert.doesNotMatch(sandbox, /allow-same-origin/);
    assert.doesNotMatch(sandbox, /allow-forms/);

    const body = page.frameLocator('iframe[title="Message body"]');
    await body.getByText("Visible paragraph of the hostile message.").waitFor();
    assert.equal(await body.getByRole("heading", { name: "Quarterly update" }).isVisible(), true);
    assert.equal(await body.locator("iframe").count(), 0, "no nested frame in the body");
    // The frame was not navigated away by the refresh or the form.
    const bodyFrame = page.frames().find((f) => f !== page.mainFrame());
    assert.equal(bodyFrame.url(), "about:srcdoc");

    // Clicking the javascript: link does nothing either.
    await body.getByText("Click me").click();
    await page.waitForTimeout(300);
    assert.deepEqual(dialogs, [], "the javascript: link ran nothing");
    assert.deepEqual(hits, []);
  } finally {
    await context.close();
  }
});

// Remote loads that a sanitiser can miss, each in its own message. The
// sandbox and the frame's policy stop them all; the preparation pass must not
// leave them in the body either (a second layer that does not depend on the
// first), and links must never target anything but a new tab.
const VECTORS = {
  "CSS image-set()": (o) => `<style>.a { background-image: image-set("${o}/set1.png" 1x, url(${o}/set2.png) 2x); }
    .b { background-image: -webkit-image-set("${o}/set3.png" 1x); }</style><p class="a b">image-set</p>`,
  "CSS escapes inside url()": (o) => `<style>.a { background: u\\72l(${o}/escaped1.png); }
    .b { background: \\75 \\72 \\6c (${o}/escaped2.png); } @\\69mport "${o}/escaped.css";</style>
    <p class="a b" style="background-image: U\\52L(${o}/escaped3.png)">escaped url</p>`,
  "an unclosed url()": (o) => `<p style="background: url(${o}/unclosed.png">unclosed</p>`,
  "SVG <image> and <use> with a remote href": (
    o,
  ) => `<svg width="40" height="40" xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">
    <image href="${o}/svg-image.png" width="10" height="10"/><image xlink:href="${o}/svg-xlink.png" width="10" height="10"/>
    <use href="${o}/sprite.svg#a"/><use xlink:href="${o}/sprite2.svg#b"/>
    <filter id="f"><feImage href="${o}/fe-image.png"/></filter>
    <rect width="5" height="5" fill="url(${o}/fill.svg#p)"/>
    <use href="#x"><set attributeName="href" to="${o}/set.svg#x"/></use></svg>`,
  "target on <area>": (
    o,
  ) => `<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" usemap="#m" width="50" height="50" alt="map">
    <map name="m"><area id="area" shape="rect" coords="0,0,50,50" href="${o}/area" target="_top" alt="area link"></map>
    <a id="link" href="${o}/link" target="_parent">link</a>`,
};

for (const [name, html] of Object.entries(VECTORS)) {
  test(`hostile HTML, ${name}: nothing loads, nothing navigates, nothing remote is left in the body`, async () => {
    const origin = `http://127.0.0.1:${port}`;
    hits = [];
    const envelope = await seal(dir, {
      subject: name,
      html: `<!DOCTYPE html><html><body><h1>Vector</h1>${html(origin)}</body></html>`,
      name: `vector-${Object.keys(VECTORS).indexOf(name)}.html`,
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    const requests = [];
    const navigations = [];
    const popups = [];
    context.on("request", (request) => requests.push(request.url()));
    page.on("framenavigated", (frame) => navigations.push(frame.url()));
    page.on("popup", (popup) => popups.push(popup.url()));
    try {
      await gotoEnvelope(page, envelope.url);
      await submitPassphrase(page, envelope.passphrase);
      await waitForMessage(page);
      const body = page.frameLocator('iframe[title="Message body"]');
      await body.getByRole("heading", { name: "Vector" }).waitFor();
      await page.waitForTimeout(500);
      const shown = await page.locator("#body iframe").getAttribute("srcdoc");
      const links = await body.locator("a[href], area[href]").evaluateAll((els) =>
        els.map((el) => ({
          href: el.getAttribute("href"),
          target: el.getAttribute("target"),
          rel: el.getAttribute("rel"),
        })),
      );
      for (const link of links) {
        assert.equal(link.target, "_blank", `a link opens in a new tab only: ${JSON.stringify(link)}`);
        assert.equal(link.rel, "noopener noreferrer");
      }
      // What remains of the origin is only in those links' hrefs.
      const withoutLinks = links.reduce((text, link) => text.split(`href="${link.href}"`).join(""), shown);
      assert.ok(!withoutLinks.includes(`127.0.0.1:${port}`), `nothing remote is left in the body:\n${shown}`);
      assert.deepEqual(hits, [], "nothing reached the HTTP server");
      const elsewhere = [...new Set(requests)].filter((url) => url !== envelope.url && !url.startsWith("blob:null/"));
      assert.deepEqual(elsewhere, []);
      assert.deepEqual(
        navigations.filter((url) => url !== envelope.url && url !== "about:srcdoc"),
        [],
        "nothing navigated",
      );
      assert.deepEqual(popups, []);
      assert.equal(page.url(), envelope.url);
      const notice = await page.locator("#remote-notice").textContent();
      if (!name.startsWith("target")) assert.match(notice, /remote images? or resources? (was|were) blocked/);
    } finally {
      await context.close();
    }
  });
}

test("an attachment is handed over as application/octet-stream, whatever type the message gives it", async () => {
  const attachment = path.join(dir, "invoice.html");
  await writeFile(attachment, "<script>document.title='ran'</script>");
  const envelope = await seal(dir, {
    subject: "Typed attachment",
    body: "see attached",
    attachments: [attachment],
    name: "typed.html",
  });
  // The page's own policy forbids fetch(); this test reads the blob's type from outside it.
  const context = await browser.newContext({ acceptDownloads: true, bypassCSP: true });
  const page = await context.newPage();
  try {
    await gotoEnvelope(page, envelope.url);
    await submitPassphrase(page, envelope.passphrase);
    await waitForMessage(page);
    const link = page.getByRole("link", { name: /invoice\.html/ });
    await Promise.all([page.waitForEvent("download"), link.click()]);
    const type = await link.evaluate(async (el) => (await (await fetch(el.href)).blob()).type);
    assert.equal(type, "application/octet-stream");
  } finally {
    await context.close();
  }
});
