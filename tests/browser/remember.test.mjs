// "Remember me on this computer" keeps no bearer secret in the storage that
// every file:// page shares. The remembered browser holds a non-extractable
// ECDSA P-256 key in IndexedDB and proves possession of it by signing each
// release request, bound to that request's one-time HPKE key.
//
// What an attacker has here: another local HTML file opened in the same
// browser (it shares the file:// origin: it can read localStorage and
// IndexedDB), and anything it can send elsewhere (here, node playing the
// attacker's machine).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { after, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

import { execFileAsync, securedocBin, useBrowser, waitForMessage } from "./helpers.mjs";

const env = useBrowser();
const here = path.dirname(fileURLToPath(import.meta.url));
const REMEMBER_JS = path.resolve(here, "../../templates/envelope/remember.js");

/** The raw uncompressed P-256 public key (65 bytes) as a node KeyObject. */
function publicKeyFromRaw(raw) {
  assert.equal(raw.length, 65, "a raw uncompressed P-256 point");
  assert.equal(raw[0], 4);
  const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
  return createPublicKey({
    key: { kty: "EC", crv: "P-256", x: b64url(raw.subarray(1, 33)), y: b64url(raw.subarray(33)) },
    format: "jwk",
  });
}

/** What the key server checks (docs/PROTOCOL.md): the signature over the bound string. */
function boundString(messageId, recipient, publicKey) {
  const lower = recipient.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
  return `securedoc-remember-v1\n${messageId}\n${lower}\n${publicKey}`;
}

/**
 * Writes a local HTML page running `body` (and, with `withRemember`, the
 * opener's remember.js) and returns its file:// URL.
 */
async function localPage(name, body, { withRemember = false } = {}) {
  const source = withRemember ? await readFile(REMEMBER_JS, "utf8") : "";
  const file = path.join(env.dir, name);
  await writeFile(
    file,
    `<!DOCTYPE html><html lang="en"><head><title>${name}</title></head><body><script>${source}\n${body}</script></body></html>`,
  );
  return pathToFileURL(file).href;
}

// Another local file's view of the shared storage: every localStorage entry,
// and every IndexedDB record, with what it can do with a CryptoKey it finds.
const SNOOP = `
window.snooped = (async () => {
  const found = { localStorage: Object.fromEntries(Object.entries(localStorage)), indexedDB: [] };
  for (const { name } of await indexedDB.databases()) {
    const db = await new Promise((resolve, reject) => { const r = indexedDB.open(name); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
    for (const storeName of db.objectStoreNames) {
      const records = await new Promise((resolve, reject) => {
        const r = db.transaction(storeName).objectStore(storeName).getAll();
        r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error);
      });
      for (const record of records) {
        const entry = { database: name, store: storeName, fields: {} };
        for (const [field, value] of Object.entries(record)) {
          if (value instanceof CryptoKey) {
            const exports = {};
            for (const format of ["pkcs8", "jwk", "raw"]) {
              try { await crypto.subtle.exportKey(format, value); exports[format] = "exported"; } catch (error) { exports[format] = error.name; }
            }
            entry.fields[field] = { cryptoKey: value.type, extractable: value.extractable, exports };
          } else {
            entry.fields[field] = value;
          }
        }
        found.indexedDB.push(entry);
      }
    }
    db.close();
  }
  return found;
})();`;

test("the remembered key signs the bound string, and another local page can use nothing it finds", async () => {
  const context = await env.browser.newContext();
  try {
    const messageId = randomBytes(16).toString("hex");
    const recipient = "Dana.Ünal@Example.net";
    const keyServer = "https://keys.example";
    const ephemeral = randomBytes(32).toString("base64");
    const opener = await context.newPage();
    await opener.goto(await localPage("opener.html", "window.remember = securedocRemember();", { withRemember: true }));
    const made = await opener.evaluate(
      async ({ keyServer, recipient, messageId, ephemeral }) => {
        const fresh = await window.remember.create();
        await window.remember.keep(keyServer, recipient, "remembered-id-1", fresh.privateKey);
        const loaded = await window.remember.load(keyServer, recipient.toUpperCase());
        const proof = await window.remember.proof(loaded, messageId, recipient, ephemeral);
        return {
          publicKey: fresh.publicKey,
          extractable: fresh.privateKey.extractable,
          proof,
          other: await window.remember.load("https://elsewhere.example", recipient),
        };
      },
      { keyServer, recipient, messageId, ephemeral },
    );
    assert.equal(made.extractable, false, "the private key is made non-extractable");
    assert.equal(made.other, null, "a key is remembered per key server");
    assert.equal(made.proof.id, "remembered-id-1");
    const publicKey = publicKeyFromRaw(Buffer.from(made.publicKey, "base64"));
    const signature = Buffer.from(made.proof.signature, "base64");
    assert.equal(signature.length, 64, "IEEE P1363 r||s");
    const signed = Buffer.from(boundString(messageId, recipient, ephemeral));
    assert.ok(
      verify("sha256", signed, { key: publicKey, dsaEncoding: "ieee-p1363" }, signature),
      "the key server's check passes",
    );
    // Bound to the request's own one-time key: the same signature says nothing about another.
    const otherKey = Buffer.from(boundString(messageId, recipient, randomBytes(32).toString("base64")));
    assert.equal(verify("sha256", otherKey, { key: publicKey, dsaEncoding: "ieee-p1363" }, signature), false);

    // Another local HTML file, in the same browser: it sees the record, but the key will not leave.
    const snooper = await context.newPage();
    await snooper.goto(await localPage("snooper.html", SNOOP));
    const found = await snooper.evaluate(() => window.snooped);
    assert.deepEqual(found.localStorage, {}, "nothing in localStorage");
    assert.equal(found.indexedDB.length, 1, JSON.stringify(found));
    const [record] = found.indexedDB;
    assert.equal(record.fields.id, "remembered-id-1");
    assert.deepEqual(record.fields.privateKey, {
      cryptoKey: "private",
      extractable: false,
      exports: { pkcs8: "InvalidAccessError", jwk: "InvalidAccessError", raw: "InvalidAccessError" },
    });
    // All it can carry away is the id: with it, and a key of its own, its signature does not verify.
    const { privateKey: attackerKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const forged = sign("sha256", signed, { key: attackerKey, dsaEncoding: "ieee-p1363" });
    assert.equal(verify("sha256", signed, { key: publicKey, dsaEncoding: "ieee-p1363" }, forged), false);
  } finally {
    await context.close();
  }
});

const PASSWORD = "correct horse battery staple";
let server;

after(() => server?.kill());

async function securedoc(args, extraEnv) {
  try {
    return await execFileAsync(securedocBin(), args, { env: { ...process.env, ...extraEnv }, maxBuffer: 16 << 20 });
  } catch (error) {
    throw new Error(`securedoc ${args.join(" ")} failed:\n${error.stderr || error.message}`, { cause: error });
  }
}

/** A real key server on 127.0.0.1 with one account; returns its origin and a sealing function. */
async function startKeyServer(address) {
  const dataEnv = { SECUREDOC_DATA_DIR: path.join(env.dir, "data") };
  const { stdout: token } = await securedoc(["admin", "token", "create", "--name", "clinic"], dataEnv);
  await writeFile(path.join(env.dir, "token"), token);
  await writeFile(path.join(env.dir, "password"), PASSWORD + "\n");
  await securedoc(
    ["admin", "account", "create", "--address", address, "--password-file", path.join(env.dir, "password")],
    dataEnv,
  );
  server = spawn(securedocBin(), ["serve"], { env: { ...process.env, ...dataEnv, SECUREDOC_LISTEN: "127.0.0.1:0" } });
  const origin = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: server.stderr });
    lines.on("line", (line) => {
      const url = line.match(/http:\/\/127\.0\.0\.1:\d+/);
      if (url) resolve(url[0]);
    });
    server.once("exit", (code) => reject(new Error(`securedoc serve exited with ${code}`)));
  });
  const sealFor = async (security) => {
    const out = path.join(env.dir, `envelope-${security}-${randomBytes(4).toString("hex")}.html`);
    await securedoc(
      [
        "seal",
        "--from",
        "alice@clinic.example",
        "--to",
        address,
        "--subject",
        `A ${security} message`,
        "--body",
        "Hello.",
        "--security",
        security,
        "--key-server",
        origin,
        "--token-file",
        path.join(env.dir, "token"),
        "-o",
        out,
      ],
      dataEnv,
    );
    return pathToFileURL(out).href;
  };
  return { origin, sealFor };
}

/** A release request from node, as a machine elsewhere would send it. */
async function releaseFromElsewhere(origin, body) {
  const { publicKey } = generateKeyPairSync("x25519");
  const ownKey = Buffer.from(publicKey.export({ format: "jwk" }).x, "base64url").toString("base64");
  const response = await fetch(`${origin}/api/v1/keys/release`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ public_key: ownKey, ...body }),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

test("a remembered browser opens a medium message without the password; what it keeps is no use anywhere else", async () => {
  const address = "dana@example.net";
  const { origin, sealFor } = await startKeyServer(address);
  const medium = await sealFor("medium");
  const context = await env.browser.newContext();
  try {
    const page = await context.newPage();
    const sent = [];
    page.on("request", (request) => {
      if (request.url() === `${origin}/api/v1/keys/release`) sent.push(request.postDataJSON());
    });
    await page.goto(medium);
    const password = page.getByLabel("Password", { exact: true });
    await password.waitFor({ state: "visible" });
    await page.getByLabel("Remember me on this computer").check();
    await password.fill(PASSWORD);
    await password.press("Enter");
    await waitForMessage(page);
    assert.equal(sent.length, 1);
    assert.equal(
      Buffer.from(sent[0].remember_key, "base64").length,
      65,
      "the raw public key is sent with the password",
    );
    assert.equal("remember" in sent[0] || "remember_token" in sent[0], false, "no bearer token is asked for");
    assert.equal(await page.evaluate(() => localStorage.length), 0, "nothing in localStorage");

    // The same envelope, opened again: no password, a signature instead.
    const again = await context.newPage();
    again.on("request", (request) => {
      if (request.url() === `${origin}/api/v1/keys/release`) sent.push(request.postDataJSON());
    });
    await again.goto(medium);
    await waitForMessage(again);
    assert.equal(sent.length, 2);
    const remembered = sent[1];
    assert.equal(remembered.password ?? "", "", "no password was sent");
    assert.equal(typeof remembered.remembered.id, "string");
    assert.equal(Buffer.from(remembered.remembered.signature, "base64").length, 64);

    // Another local HTML file in the same browser: it finds an id and a key it cannot export.
    const snooper = await context.newPage();
    await snooper.goto(await localPage("snooper-live.html", SNOOP));
    const found = await snooper.evaluate(() => window.snooped);
    assert.deepEqual(found.localStorage, {});
    const record = found.indexedDB.find((entry) => entry.fields.id === remembered.remembered.id);
    assert.ok(record, JSON.stringify(found));
    assert.deepEqual(record.fields.privateKey.exports, {
      pkcs8: "InvalidAccessError",
      jwk: "InvalidAccessError",
      raw: "InvalidAccessError",
    });

    // What it can carry away gets no key released elsewhere: the id with a
    // signature of its own, or the browser's own signature replayed with
    // another one-time key (the only kind whose answer it could open).
    const { privateKey: attackerKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const fields = { message_id: remembered.message_id, recipient: remembered.recipient };
    const forged = await releaseFromElsewhere(origin, {
      ...fields,
      remembered: {
        id: remembered.remembered.id,
        signature: sign("sha256", Buffer.from("anything"), { key: attackerKey, dsaEncoding: "ieee-p1363" }).toString(
          "base64",
        ),
      },
    });
    assert.equal(forged.status, 401, JSON.stringify(forged.body));
    assert.equal(forged.body.error, "not_remembered");
    const replayed = await releaseFromElsewhere(origin, { ...fields, remembered: remembered.remembered });
    assert.equal(replayed.status, 401, JSON.stringify(replayed.body));
    assert.equal(replayed.body.error, "not_remembered");
    const idAlone = await releaseFromElsewhere(origin, {
      ...fields,
      remembered: { id: remembered.remembered.id, signature: "" },
    });
    assert.notEqual(idAlone.status, 200, JSON.stringify(idAlone.body));

    // A high-security message always asks for the password, remembered or not.
    const high = await context.newPage();
    await high.goto(await sealFor("high"));
    await high.getByLabel("Password", { exact: true }).waitFor({ state: "visible" });
    assert.equal(await high.locator("#message").isHidden(), true);
  } finally {
    await context.close();
  }
});
