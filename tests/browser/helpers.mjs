// Shared helpers for the securedoc browser tests: find the securedoc binary and
// Debian's Chromium, seal envelopes into temporary directories, open them from
// file:// and hash downloaded files.
//
// Nothing here skips a test: a missing binary or browser is an error with a
// message that says how to fix it.

import assert from "node:assert/strict";
import { after, before } from "node:test";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

import { chromium } from "playwright-core";

export const execFileAsync = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

export const CHROMIUM = "/usr/bin/chromium";
export const PASSPHRASE = "correct horse battery staple";
export const DAMAGED_TEXT = "This envelope is damaged or has been altered";

/** The securedoc binary: $SECUREDOC_BIN, or the workspace's debug build. */
export function securedocBin() {
  const bin = process.env.SECUREDOC_BIN
    ? path.resolve(process.env.SECUREDOC_BIN)
    : path.resolve(here, "../../target/debug/securedoc");
  if (!existsSync(bin)) {
    throw new Error(
      `securedoc binary not found at ${bin}. Build it with \`cargo build -p securedoc\` ` +
        "in the workspace root, or point SECUREDOC_BIN at a built binary.",
    );
  }
  return bin;
}

/** Launches Debian's Chromium (never a downloaded browser). */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}. Install Debian's package (apt-get install chromium); ` +
        "these tests never download a browser.",
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}

/** A fresh temporary directory; remove it with `removeDir`. */
export async function makeTempDir(prefix = "securedoc-browser-") {
  return mkdtemp(path.join(tmpdir(), prefix));
}

export async function removeDir(dir) {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/**
 * Seals a message with `securedoc seal` into `dir` and returns
 * `{ path, url, passphrase }` (url is the envelope's file:// URL).
 *
 * options: subject, body, html (written to a file and passed as --html-file),
 * attachments (paths), noPrint, expires, maxSize, passphrase, from, to, name, lang.
 */
export async function seal(dir, options = {}) {
  const bin = securedocBin();
  const passphrase = options.passphrase ?? PASSPHRASE;
  const name = options.name ?? "securedoc.html";
  const passFile = path.join(dir, `${name}.passphrase`);
  await writeFile(passFile, passphrase + "\n", { mode: 0o600 });
  const out = path.join(dir, name);
  const args = [
    "seal",
    "--from",
    options.from ?? "alice@example.org",
    "--to",
    options.to ?? "bob@example.net",
    "--subject",
    options.subject ?? "Test message",
    "--passphrase-file",
    passFile,
    "-o",
    out,
    "--force",
  ];
  if (options.body != null) args.push("--body", options.body);
  if (options.html != null) {
    const htmlFile = path.join(dir, `${name}.body.html`);
    await writeFile(htmlFile, options.html);
    args.push("--html-file", htmlFile);
  }
  for (const file of options.attachments ?? []) args.push("--attach", file);
  if (options.noPrint) args.push("--no-print");
  if (options.expires) args.push("--expires", options.expires);
  if (options.maxSize) args.push("--max-size", options.maxSize);
  if (options.lang) args.push("--lang", options.lang);
  try {
    await execFileAsync(bin, args, { maxBuffer: 16 << 20 });
  } catch (error) {
    throw new Error(`securedoc seal failed (${bin} ${args.join(" ")}):\n${error.stderr || error.message}`, {
      cause: error,
    });
  }
  return { path: out, url: pathToFileURL(out).href, passphrase };
}

/** SHA-256 of a file, lowercase hex. */
export async function sha256File(file) {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest("hex");
}

/** Opens an envelope page and waits until the unlock form is ready. */
export async function gotoEnvelope(page, url) {
  await page.goto(url);
  await page.locator("#passphrase").waitFor({ state: "visible" });
}

/** Types the passphrase and submits it with Enter. */
export async function submitPassphrase(page, passphrase) {
  const input = page.getByLabel("Passphrase", { exact: true });
  await input.fill("");
  await input.pressSequentially(passphrase);
  await input.press("Enter");
}

/**
 * Opens a server-mode envelope at `url` in `page` with `password` (typed into
 * its Password field once the key server has said the recipient is
 * registered) and waits for the message.
 */
export async function openWithPassword(page, url, password) {
  await page.goto(url);
  const input = page.locator("#passphrase");
  await input.waitFor({ state: "visible" });
  await input.fill(password);
  await input.press("Enter");
  await waitForMessage(page);
}

/** Waits until the message article is shown (after a successful open). */
export async function waitForMessage(page, timeout = 60_000) {
  await page.locator("#message").waitFor({ state: "visible", timeout });
}

// One browser and one temporary directory per test file, closed and removed
// after its tests: `const env = useBrowser();` then `env.browser`, `env.dir`.
export function useBrowser() {
  const env = {};
  before(async () => {
    env.browser = await launchBrowser();
    env.dir = await makeTempDir();
  });
  after(async () => {
    await env.browser?.close();
    await removeDir(env.dir);
  });
  return env;
}

/** A phone-sized viewport: every page must work 360 CSS pixels wide. */
export const NARROW = { width: 360, height: 740 };

let axeSource = null;

/**
 * Runs axe-core (WCAG 2.x A/AA rules) on the page as it is now and fails with
 * every violation, its rule, help text and offending elements. The page's
 * context must be made with `bypassCSP: true` (axe is injected as a script).
 * Also checks that nothing is wider than the viewport (no sideways scrolling).
 */
export async function assertAccessible(page, state) {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(() =>
    window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
      iframes: false,
    }),
  );
  const violations = result.violations.map(
    (v) =>
      `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => n.target.join(" ") + " — " + n.failureSummary.replace(/\n/g, " ")).join("\n    ")}`,
  );
  assert.ok(result.passes.length > 0, "axe-core ran its rules");
  assert.deepEqual(violations, [], `axe-core finds problems on the ${state} page`);
  const width = await page.evaluate(() => ({
    page: document.documentElement.scrollWidth,
    viewport: window.innerWidth,
  }));
  assert.ok(
    width.page <= width.viewport,
    `the ${state} page scrolls sideways: ${width.page}px in a ${width.viewport}px viewport`,
  );
}

/** The widths every page is checked at: a desktop and a phone. */
export const WIDTHS = [1280, 360];

/**
 * assertAccessible in the light and the dark scheme, at 1280 and 360 px
 * wide, then the WCAG 1.4.10 reflow check at 320 px (nothing scrolls
 * sideways). The page stays where it is: only the scheme and the viewport
 * change, so one state is reached once and checked everywhere.
 */
export async function assertAccessibleEverywhere(page, state) {
  try {
    for (const colorScheme of ["light", "dark"]) {
      await page.emulateMedia({ colorScheme });
      for (const width of WIDTHS) {
        await page.setViewportSize({ width, height: 800 });
        await assertAccessible(page, `${state} (${colorScheme}, ${width} px)`);
      }
    }
    await page.setViewportSize({ width: 320, height: 640 });
    const width = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      viewport: window.innerWidth,
    }));
    assert.ok(width.page <= width.viewport, `the ${state} page scrolls sideways at 320 px: ${width.page}px`);
  } finally {
    await page.emulateMedia({ colorScheme: "light" });
    await page.setViewportSize({ width: 1280, height: 800 });
  }
}

/** WCAG contrast ratio of an element's text colour on its own (opaque) background colour. */
export async function contrastRatio(locator) {
  return locator.evaluate((el) => {
    const style = getComputedStyle(el);
    const rgb = (color) =>
      color
        .match(/[\d.]+/g)
        .slice(0, 3)
        .map(Number);
    const luminance = ([r, g, b]) => {
      const channel = (c) => {
        c /= 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    };
    const [a, b] = [luminance(rgb(style.color)), luminance(rgb(style.backgroundColor))];
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  });
}

/**
 * The portal login's two steps on `page`, from `url` (the login page or a
 * message's link): the address, then the password. Returns once the
 * password is sent; the caller waits for where it leads.
 */
export async function portalLogIn(page, url, email, password) {
  await page.goto(url);
  await page.getByLabel("E-mail address").fill(email);
  await page.getByRole("button", { name: "Next" }).click();
  await page.locator("#password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}
