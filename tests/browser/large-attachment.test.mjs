// A 35 MB attachment: the envelope opens, the progress status shows while it
// does, the page keeps painting (no long freeze), and the download is
// byte-identical.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";

import { gotoEnvelope, seal, sha256File, submitPassphrase, waitForMessage, useBrowser } from "./helpers.mjs";

const env = useBrowser();

// A freeze check, not a benchmark: a frame gap this long means the page hung.
const MAX_FRAME_GAP_MS = 1000;

test(
  "a 35 MB attachment opens with progress, without freezing the page, and downloads intact",
  { timeout: 180_000 },
  async (t) => {
    const name = "big-archive.bin";
    const attachment = path.join(env.dir, name);
    await writeFile(attachment, randomBytes(35 * 1024 * 1024));
    const originalSha = await sha256File(attachment);
    // The default --max-size (35 MB) counts bodies plus attachments, so the
    // message carries the attachment alone, with no text body.
    const envelope = await seal(env.dir, { subject: "The big file", attachments: [attachment] });

    const context = await env.browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    try {
      await gotoEnvelope(page, envelope.url);
      await page.evaluate(() => {
        const box = document.getElementById("progress-box");
        window.__progress = { shown: !box.hidden, labels: [] };
        new MutationObserver(() => {
          if (!box.hidden) window.__progress.shown = true;
          const label = document.getElementById("progress-label").textContent;
          if (!box.hidden && !window.__progress.labels.includes(label)) window.__progress.labels.push(label);
        }).observe(box, { attributes: true, subtree: true, childList: true, characterData: true });
        window.__frames = { last: null, maxGap: 0, count: 0, running: true };
        const tick = (time) => {
          const f = window.__frames;
          if (f.last != null) f.maxGap = Math.max(f.maxGap, time - f.last);
          f.last = time;
          f.count++;
          if (f.running) requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      });

      const started = Date.now();
      await submitPassphrase(page, envelope.passphrase);
      await page.locator("#progress-box").waitFor({ state: "visible", timeout: 10_000 });
      await waitForMessage(page, 150_000);
      const openMs = Date.now() - started;
      const frames = await page.evaluate(() => {
        window.__frames.running = false;
        return window.__frames;
      });
      const progress = await page.evaluate(() => window.__progress);
      t.diagnostic(
        `opened in ${openMs} ms; ${frames.count} frames, longest gap ${Math.round(frames.maxGap)} ms; progress: ${progress.labels.join(" | ")}`,
      );

      assert.equal(progress.shown, true, "the progress status was shown while opening");
      assert.ok(progress.labels.length > 0, "the progress status had a label");
      assert.equal(await page.locator("#progress-box").isHidden(), true, "the progress status is gone once open");
      assert.ok(frames.count > 2, `frames kept coming while opening (${frames.count} in ${openMs} ms)`);
      assert.ok(
        frames.maxGap < MAX_FRAME_GAP_MS,
        `longest gap between animation frames while opening was ${Math.round(frames.maxGap)} ms (open took ${openMs} ms)`,
      );

      assert.equal(await page.locator("#subject").textContent(), "The big file");
      const link = page.locator("#attachments").getByRole("link", { name });
      assert.match(await link.getAttribute("aria-label"), /\b35(\.0)? MB\b/);
      const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
      assert.equal(download.suggestedFilename(), name);
      const saved = path.join(env.dir, "downloaded.bin");
      await download.saveAs(saved);
      assert.equal(await sha256File(saved), originalSha, "the 35 MB download is byte-identical");
    } finally {
      await context.close();
    }
  },
);
