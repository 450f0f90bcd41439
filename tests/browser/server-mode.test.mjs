// Server mode, the CRES journey's second half: a key server really running
// (`securedoc serve` on 127.0.0.1), envelopes sealed with --key-server, opened
// from file://. The opener shows the personal security phrase, asks for the
// password, gets the content key from the key server (HPKE-sealed to a
// one-time key) and decrypts locally.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import path from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";

import {
  NARROW,
  assertAccessible,
  execFileAsync,
  launchBrowser,
  makeTempDir,
  removeDir,
  securedocBin,
  sha256File,
  waitForMessage,
} from "./helpers.mjs";

const env = {};
const PASSWORD = "correct horse battery staple";
const PHRASE = "blue heron at dawn";
let server;
let origin;
let envelopes;
let attachmentSha;

async function securedoc(args, extraEnv = {}) {
  try {
    return await execFileAsync(securedocBin(), args, { env: { ...process.env, ...extraEnv }, maxBuffer: 16 << 20 });
  } catch (error) {
    throw new Error(`securedoc ${args.join(" ")} failed:\n${error.stderr || error.message}`, { cause: error });
  }
}

before(async () => {
  env.browser = await launchBrowser();
  env.dir = await makeTempDir();
  const data = path.join(env.dir, "data");
  const dataEnv = { SECUREDOC_DATA_DIR: data };
  const { stdout: token } = await securedoc(["admin", "token", "create", "--name", "clinic"], dataEnv);
  await writeFile(path.join(env.dir, "token"), token);
  await writeFile(path.join(env.dir, "password"), PASSWORD + "\n");
  await securedoc(
    [
      "admin",
      "account",
      "create",
      "--address",
      "bob@example.net",
      "--password-file",
      path.join(env.dir, "password"),
      "--phrase",
      PHRASE,
    ],
    dataEnv,
  );

  server = spawn(securedocBin(), ["serve"], { env: { ...process.env, ...dataEnv, SECUREDOC_LISTEN: "127.0.0.1:0" } });
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: server.stderr }).once("line", resolve);
    server.once("exit", (code) => reject(new Error(`securedoc serve exited with ${code}`)));
  });
  origin = "http://" + line.split("http://")[1].split(/\s/)[0];

  const attachment = path.join(env.dir, "results.pdf");
  await writeFile(attachment, randomBytes(300 * 1024 + 5));
  attachmentSha = await sha256File(attachment);
  const out = path.join(env.dir, "out");
  await securedoc([
    "seal",
    "--from",
    "alice@example.org",
    "--to",
    "bob@example.net",
    "--to",
    "carol@example.org",
    "--subject",
    "Your results",
    "--body",
    "Hello, the results are attached.",
    "--attach",
    attachment,
    "--key-server",
    origin,
    "--token-file",
    path.join(env.dir, "token"),
    "--out-dir",
    out,
  ]);
  envelopes = {
    bob: pathToFileURL(path.join(out, "securedoc-bob@example.net.html")).href,
    carol: pathToFileURL(path.join(out, "securedoc-carol@example.org.html")).href,
  };
});

after(async () => {
  server?.kill();
  await env.browser?.close();
  await removeDir(env.dir);
});

async function openPage(url, { waitFor = "Password" } = {}) {
  const context = await env.browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const requests = [];
  page.on("request", (request) => requests.push(request.url()));
  await page.goto(url);
  if (waitFor === "Password") await page.getByLabel("Password", { exact: true }).waitFor({ state: "visible" });
  else await page.locator("#register-box").getByRole("link", { name: waitFor }).waitFor({ state: "visible" });
  return { context, page, requests };
}

async function submitPassword(page, password) {
  const input = page.getByLabel("Password", { exact: true });
  await input.fill(password);
  await input.press("Enter");
}

test("the phrase is shown; a wrong password says how many tries are left; the right one opens", async () => {
  const { context, page, requests } = await openPage(envelopes.bob);
  try {
    await assert.doesNotReject(page.getByText(PHRASE, { exact: true }).waitFor({ state: "visible" }));
    assert.match(await page.locator(".phrase").innerText(), /do not type your password/);

    await submitPassword(page, "not my password");
    const alert = page.getByRole("alert");
    await page.waitForFunction(() => document.getElementById("unlock-error").textContent.includes("Wrong password"));
    assert.match(await alert.innerText(), /Wrong password\. 4 attempts left/);
    assert.equal(await page.getByLabel("Password", { exact: true }).inputValue(), "");

    await submitPassword(page, PASSWORD);
    await waitForMessage(page);
    assert.equal(await page.locator("#subject").innerText(), "Your results");
    assert.match(await page.locator(".text-body").innerText(), /the results are attached/);
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: /results\.pdf/ }).click(),
    ]);
    assert.equal(await sha256File(await download.path()), attachmentSha);

    // The page talked to its own key server and to nothing else.
    const api = [origin + "/api/v1/keys/release", origin + "/api/v1/keys/status"];
    const elsewhere = requests.filter(
      (url) => url !== envelopes.bob && !url.startsWith("blob:null/") && !api.includes(url),
    );
    assert.deepEqual(elsewhere, []);
    assert.equal(requests.filter((url) => url === api[0]).length, 2, "one key request per attempt");
  } finally {
    await context.close();
  }
});

test("an unregistered recipient is offered Register with the address filled in", async () => {
  const { context, page } = await openPage(envelopes.carol, { waitFor: "Register" });
  try {
    assert.equal(await page.locator(".phrase").count(), 0, "no phrase for an unregistered recipient");
    const register = page.getByRole("link", { name: "Register" });
    assert.equal(await register.getAttribute("href"), `${origin}/register?email=carol%40example.org`);
    assert.equal(await page.getByLabel("Password", { exact: true }).isVisible(), false, "no password to type yet");
    assert.equal(await page.locator("#forgot").getAttribute("href"), `${origin}/forgot?email=carol%40example.org`);
  } finally {
    await context.close();
  }
});

test("every server-mode state passes axe-core and fits 360 px", async () => {
  const context = await env.browser.newContext({ viewport: NARROW, bypassCSP: true });
  try {
    const register = await context.newPage();
    await register.goto(envelopes.carol);
    await register.locator("#register-box").getByRole("link", { name: "Register" }).waitFor({ state: "visible" });
    await assertAccessible(register, "Register");

    const page = await context.newPage();
    await page.goto(envelopes.bob);
    await page.getByLabel("Password", { exact: true }).waitFor({ state: "visible" });
    await page.getByText(PHRASE, { exact: true }).waitFor();
    await assertAccessible(page, "password, with the phrase");
    await submitPassword(page, "not my password");
    await page.waitForFunction(() => document.getElementById("unlock-error").textContent.includes("Wrong password"));
    await assertAccessible(page, "wrong password");
    await submitPassword(page, PASSWORD);
    await waitForMessage(page);
    await assertAccessible(page, "message");
  } finally {
    await context.close();
  }
});

test("a key server that cannot be reached is named in plain words, without its address", async () => {
  const { context, page } = await openPage(envelopes.bob);
  try {
    server.kill();
    await new Promise((resolve) => server.once("exit", resolve));
    await submitPassword(page, PASSWORD);
    await page.waitForFunction(() => document.getElementById("unlock-error").textContent.length > 0);
    const text = await page.getByRole("alert").innerText();
    assert.match(text, /cannot be reached right now\. Your message is safe in this file/);
    // No organisation_name in this server's config: the page names its host, never a URL.
    assert.ok(text.includes("The key server of " + new URL(origin).host + " "), text);
    assert.doesNotMatch(text, /https?:\/\//, text);
    assert.equal(
      await page.getByLabel("Password", { exact: true }).isEnabled(),
      true,
      "the recipient can try again later",
    );
  } finally {
    await context.close();
  }
});

test("a key server's error, or a proxy's error page in its place, is never called a damaged envelope", async () => {
  if (server.exitCode === null && server.signalCode === null) {
    server.kill();
    await new Promise((resolve) => server.once("exit", resolve));
  }
  // What answers at the key server's address now: its own refusals, then what
  // a reverse proxy answers when the server behind it is down.
  const answers = [
    [
      500,
      { "content-type": "application/json" },
      JSON.stringify({ error: "internal", message: "Something went wrong on our side." }),
      /had a problem and could not answer\. Nothing is wrong with your message/,
    ],
    [
      503,
      { "content-type": "application/json", "retry-after": "120" },
      JSON.stringify({ error: "busy", message: "Busy." }),
      /busy right now\. Wait a moment and try again\. You can try again in about 2 min\./,
    ],
    [
      502,
      { "content-type": "text/html" },
      "<html><body><h1>502 Bad Gateway</h1></body></html>",
      /does not understand\. Nothing is wrong with your message/,
    ],
    [
      418,
      { "content-type": "application/json" },
      JSON.stringify({ error: "teapot", message: "?" }),
      /does not understand\. Nothing is wrong with your message/,
    ],
    [
      200,
      { "content-type": "application/json" },
      JSON.stringify({ enc: 5 }),
      /does not understand\. Nothing is wrong with your message/,
    ],
    [
      404,
      { "content-type": "application/json" },
      JSON.stringify({ error: "not_found", message: "No such page." }),
      /did not accept this page's request/,
    ],
  ];
  const stand = createServer((request, response) => {
    const cors = {
      "access-control-allow-origin": "null",
      "access-control-expose-headers": "retry-after",
      "access-control-allow-headers": "content-type",
      "access-control-allow-methods": "POST",
    };
    if (request.method === "OPTIONS") return response.writeHead(204, cors).end();
    if (request.url.endsWith("/status"))
      return response.writeHead(200, { ...cors, "content-type": "application/json" }).end('{"registered":true}');
    const [status, headers, body] = answers[0];
    response.writeHead(status, { ...cors, ...headers }).end(body);
  });
  await new Promise((resolve) => stand.listen(Number(new URL(origin).port), "127.0.0.1", resolve));
  const { context, page } = await openPage(envelopes.bob);
  try {
    while (answers.length) {
      const expected = answers[0][3];
      await page.evaluate(() => {
        document.getElementById("unlock-error").textContent = "";
      });
      await submitPassword(page, PASSWORD);
      await page.waitForFunction(() => document.getElementById("unlock-error").textContent.length > 0);
      const text = await page.getByRole("alert").innerText();
      assert.doesNotMatch(text, /damaged|altered/, text);
      assert.match(text, expected);
      assert.equal(
        await page.getByLabel("Password", { exact: true }).isEnabled(),
        true,
        "the recipient can try again later",
      );
      answers.shift();
    }
  } finally {
    await context.close();
    await new Promise((resolve) => stand.close(resolve));
  }
});
