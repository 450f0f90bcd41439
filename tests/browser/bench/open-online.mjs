// Open Online benchmark: the same 10 MB server-mode envelope opened two ways
// against one release-build `securedoc serve` (SQLite, the default Argon2id
// cost), side by side in one run:
//
// - in the browser: headless Chromium from file://, from the click on Open
//   (password typed) until the subject is shown;
// - Open Online: from posting the envelope (as its form does) through the
//   password to the message page received, from Node over loopback.
//
// Then 8 clients use Open Online at once, round after round, and the key
// server's resident memory is read after each round: it must not grow with
// the number of messages opened before. Run by `just bench`, or directly:
//
//   cargo build --release -p securedoc && node tests/browser/bench/open-online.mjs
//
// Environment (optional): SECUREDOC_BIN (default target/release/securedoc),
// BENCH_ONLINE_MB (10), BENCH_ONLINE_RUNS (5), BENCH_ONLINE_ROUNDS (6).

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { chromium } from "playwright-core";

import { freePort } from "../keyserver.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../../..");
const BIN = path.resolve(process.env.SECUREDOC_BIN ?? path.join(root, "target/release/securedoc"));
const SIZE_MB = Number(process.env.BENCH_ONLINE_MB ?? 10);
const RUNS = Number(process.env.BENCH_ONLINE_RUNS ?? 5);
const ROUNDS = Number(process.env.BENCH_ONLINE_ROUNDS ?? 6);
const CLIENTS = 8;
const PASSWORD = "Quiet-Harbour-Lantern-42";
const TO = "bob@example.net";
const MB = 1024 * 1024;

const log = (...args) => console.error("[bench:online]", ...args);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function run(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`securedoc ${args.join(" ")}: ${err}`))));
  });
}

/** Resident and peak resident memory of `pid`, MB. */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, "m"))[1]) / 1024;
  return { rss: field("VmRSS"), hwm: field("VmHWM") };
}

/** Open Online from Node: post the envelope, the password, read the page. */
async function openOnline(origin, text) {
  const started = performance.now();
  const form = new FormData();
  form.set("lang", "en");
  form.set("envelope", new Blob([text]), "envelope");
  const posted = await fetch(`${origin}/open`, { method: "POST", body: form });
  const page = await posted.text();
  if (posted.status !== 200) throw new Error(`/open answered ${posted.status}: ${page.slice(0, 300)}`);
  const handle = page.match(/name="handle" value="([0-9a-f]{64})"/)[1];
  const unlocked = await fetch(`${origin}/open/unlock`, {
    method: "POST",
    body: new URLSearchParams({ handle, password: PASSWORD }),
    redirect: "manual",
  });
  if (unlocked.status !== 303) throw new Error(`/open/unlock answered ${unlocked.status}: ${await unlocked.text()}`);
  const cookie = unlocked.headers.get("set-cookie").split(";")[0];
  const view = await fetch(origin + unlocked.headers.get("location"), { headers: { cookie } });
  const html = await view.text();
  if (!html.includes("Benchmark message")) throw new Error("the message page does not show the message");
  return performance.now() - started;
}

async function openInBrowser(browser, url) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(url);
    const password = page.getByLabel("Password", { exact: true });
    await password.waitFor({ state: "visible", timeout: 60_000 });
    await password.fill(PASSWORD);
    const started = performance.now();
    await page.getByRole("button", { name: "Open", exact: true }).click();
    await page.locator("#subject").waitFor({ state: "visible", timeout: 120_000 });
    return performance.now() - started;
  } finally {
    await context.close();
  }
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), "securedoc-bench-online-"));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const env = {
    SECUREDOC_DATA_DIR: path.join(dir, "data"),
    SECUREDOC_LISTEN: `127.0.0.1:${port}`,
    SECUREDOC_PUBLIC_URL: origin,
    RUST_LOG: "warn",
  };
  let server;
  let browser;
  try {
    await writeFile(path.join(dir, "token"), await run(["admin", "token", "create", "--name", "bench"], env));
    await writeFile(path.join(dir, "password"), PASSWORD + "\n");
    await run(["admin", "account", "create", "--address", TO, "--password-file", path.join(dir, "password")], env);
    server = spawn(BIN, ["serve"], { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "inherit"] });
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(origin + "/healthz")).ok) break;
      } catch {
        if (i > 100) throw new Error("securedoc serve did not start");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const attachment = path.join(dir, "data.bin");
    await writeFile(attachment, randomBytes(SIZE_MB * MB));
    const sealOne = async (name, to = TO) => {
      const out = path.join(dir, name);
      await run(
        [
          "seal",
          "--from",
          "alice@clinic.example",
          "--to",
          to,
          "--subject",
          "Benchmark message",
          "--body",
          "Hello.",
          "--attach",
          attachment,
          "--key-server",
          origin,
          "--token-file",
          path.join(dir, "token"),
          "--max-size",
          "40MB",
          "-o",
          out,
        ],
        env,
      );
      const page = await readFile(out, "utf8");
      const text = page.match(/id="securedoc-envelope">([^<]*)</)[1];
      return { url: pathToFileURL(out).href, text, bytes: page.length };
    };
    const envelope = await sealOne("securedoc.html");
    log(`envelope: ${(envelope.bytes / MB).toFixed(1)} MB`);

    browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
    });
    const inBrowser = [];
    const online = [];
    await openInBrowser(browser, envelope.url); // warm-up
    await openOnline(origin, envelope.text);
    for (let i = 0; i < RUNS; i++) {
      inBrowser.push(await openInBrowser(browser, envelope.url));
      online.push(await openOnline(origin, envelope.text));
    }
    await browser.close();
    browser = null;

    // 8 clients at once, each a recipient of their own (an account's
    // attempts are reserved one by one, so one account opening 8 at once
    // would meet its own lockout), round after round.
    const envelopes = [];
    for (let i = 0; i < CLIENTS; i++) {
      const reader = `reader${i}@example.net`;
      await run(
        ["admin", "account", "create", "--address", reader, "--password-file", path.join(dir, "password")],
        env,
      );
      envelopes.push(await sealOne(`client-${i}.html`, reader));
    }
    const rounds = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const started = performance.now();
      await Promise.all(envelopes.map((e) => openOnline(origin, e.text)));
      rounds.push({ round, ms: performance.now() - started, ...memory(server.pid) });
    }

    const b = median(inBrowser);
    const o = median(online);
    console.log(
      `## Open Online (${SIZE_MB} MB attachment, envelope ${(envelope.bytes / MB).toFixed(1)} MB, ${RUNS} runs, medians)\n`,
    );
    console.log("| open in the browser (click → shown) ms | Open Online (post → page) ms | Open Online ÷ browser |");
    console.log("|---:|---:|---:|");
    console.log(`| ${b.toFixed(0)} | ${o.toFixed(0)} | ${(o / b).toFixed(2)} × |`);
    console.log(`\n### Key server memory, ${CLIENTS} clients on Open Online at once\n`);
    console.log("| round | messages opened so far | round ms | RSS MB | peak RSS MB |");
    console.log("|---:|---:|---:|---:|---:|");
    for (const r of rounds) {
      console.log(
        `| ${r.round} | ${r.round * CLIENTS} | ${r.ms.toFixed(0)} | ${r.rss.toFixed(0)} | ${r.hwm.toFixed(0)} |`,
      );
    }
    const growth = rounds.at(-1).rss - rounds[0].rss;
    console.log(
      `\nRSS after round ${ROUNDS} − after round 1: ${growth.toFixed(0)} MB (target: no growth with the messages opened before; ` +
        "an envelope has one view at a time, and all views are bounded by open_online_memory_mb).",
    );
  } finally {
    await browser?.close();
    server?.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
