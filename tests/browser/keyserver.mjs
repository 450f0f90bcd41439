// A real `securedoc serve` for the browser tests: its own data directory, a
// sender token, a free loopback port (so the links it mails carry its real
// origin), and the things a test does with it: seal an envelope for a
// recipient, read a link out of the mail it "sent" (the file outbox).

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { pathToFileURL } from "node:url";

import { execFileAsync, securedocBin } from "./helpers.mjs";

/** A free loopback port. */
export async function freePort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** The text of every part of an .eml, transfer encodings undone. */
export function mailText(raw) {
  const out = [];
  for (const part of raw.split(/\r?\n--[^\r\n]+\r?\n/)) {
    const split = part.search(/\r?\n\r?\n/);
    if (split < 0) continue;
    const headers = part.slice(0, split);
    let body = part.slice(split).trim();
    if (/content-transfer-encoding:\s*base64/i.test(headers)) {
      body = Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
    } else if (/content-transfer-encoding:\s*quoted-printable/i.test(headers)) {
      // Bytes, then UTF-8: a non-ASCII character is several =XX escapes.
      body = Buffer.from(
        body.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16))),
        "latin1",
      ).toString("utf8");
    }
    out.push(body);
  }
  return out.join("\n");
}

/**
 * Starts `securedoc serve` with its data in `dir`/data and, when given, the
 * TOML `config` (written to `dir`/server.toml). Resolves once /healthz
 * answers; fails with the server's log when it does not.
 */
/**
 * A fresh PostgreSQL database for one server, made (and later dropped) with
 * `psql` on the server `SECUREDOC_TEST_POSTGRES_URL` names (`just test`
 * starts one); without it, the test fails loudly.
 */
async function freshPostgres() {
  const admin = process.env.SECUREDOC_TEST_POSTGRES_URL;
  if (!admin) {
    throw new Error(
      "SECUREDOC_TEST_POSTGRES_URL is not set: the PostgreSQL journeys need a server. " +
        "Run `./run test` (it installs and starts PostgreSQL) or point the variable at one.",
    );
  }
  const name = `securedoc_browser_${randomBytes(6).toString("hex")}`;
  await execFileAsync("psql", [admin, "-qtAX", "-c", `CREATE DATABASE ${name}`]);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    drop: () => execFileAsync("psql", [admin, "-qtAX", "-c", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]),
  };
}

export async function startKeyServer(dir, { config, postgres = false } = {}) {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const database = postgres ? await freshPostgres() : null;
  // A debug build moves its clock by the seconds in this file (`clock.advance`).
  const clockFile = path.join(dir, "clock-offset");
  await writeFile(clockFile, "0");
  const serverEnv = {
    SECUREDOC_DATA_DIR: path.join(dir, "data"),
    SECUREDOC_LISTEN: `127.0.0.1:${port}`,
    SECUREDOC_PUBLIC_URL: origin,
    SECUREDOC_TEST_CLOCK_FILE: clockFile,
    ...(database ? { DATABASE_URL: database.url } : {}),
  };
  let offset = 0;
  const outbox = path.join(dir, "data", "outbox");

  /**
   * Waits (10 s at most) for a mail to `to` written since `since` (ms) that
   * `read(raw)` accepts (returns non-null); returns what it returned.
   */
  const waitForMail = async (to, since, what, read) => {
    const addressed = new RegExp(`^To: .*${to.replace(/[.]/g, "\\.")}`, "mi");
    for (let i = 0; i < 100; i++) {
      for (const file of (await readdir(outbox).catch(() => [])).filter((f) => f.endsWith(".eml"))) {
        const info = await stat(path.join(outbox, file));
        if (info.mtimeMs < since) continue;
        const raw = await readFile(path.join(outbox, file), "utf8");
        if (!addressed.test(raw)) continue;
        const found = read(raw);
        if (found !== null) return found;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`no mail to ${to} with ${what} in ${outbox}`);
  };
  const run = async (args) => {
    try {
      return await execFileAsync(securedocBin(), args, {
        env: { ...process.env, ...serverEnv },
        maxBuffer: 16 << 20,
      });
    } catch (error) {
      throw new Error(`securedoc ${args.join(" ")} failed:\n${error.stderr || error.message}`, { cause: error });
    }
  };
  const { stdout: token } = await run(["admin", "token", "create", "--name", "clinic"]);
  const tokenFile = path.join(dir, "token");
  await writeFile(tokenFile, token);
  const args = ["serve"];
  const configArgs = [];
  if (config) {
    const file = path.join(dir, "server.toml");
    await writeFile(file, config);
    configArgs.push("--config", file);
  }
  args.push(...configArgs);
  const child = spawn(securedocBin(), args, {
    env: { ...process.env, ...serverEnv },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr.on("data", (chunk) => {
    log += chunk;
  });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(origin + "/healthz")).ok) break;
    } catch (error) {
      if (i > 100 || child.exitCode !== null)
        throw new Error(`securedoc serve did not answer:\n${log}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  return {
    origin,
    /** Runs the securedoc CLI on this server's data directory. */
    securedoc: run,
    log: () => log,
    async stop() {
      child.kill();
      await new Promise((resolve) => (child.exitCode === null ? child.once("exit", resolve) : resolve()));
      await database?.drop();
    },

    /**
     * Runs the scheduled sweep now (`securedoc admin sweep`, with the
     * server's configuration and clock) instead of waiting for its minute.
     */
    async sweep() {
      await run(["admin", "sweep", ...configArgs]);
    },

    /** The server's clock (a debug build reads the offset on every use). */
    clock: {
      async advance(seconds) {
        offset += seconds;
        await writeFile(clockFile, String(offset));
      },
    },

    /**
     * Seals a message for `to` with pull delivery: the envelope is kept at the
     * key server. Returns the portal link `seal` prints.
     */
    async pullFor(to, options = {}) {
      const { stdout } = await run([
        "seal",
        "--from",
        options.from || "alice@clinic.example",
        "--to",
        to,
        "--subject",
        options.subject || "Your test results",
        "--body",
        options.body || "Hello, the results are attached.",
        ...(options.attachment ? ["--attach", options.attachment] : []),
        ...(options.extra || []),
        "--delivery",
        "pull",
        "--key-server",
        origin,
        "--token-file",
        tokenFile,
      ]);
      const link = stdout.match(/https?:\/\/\S+\/portal\/m\/[0-9a-f]{32}/);
      if (!link) throw new Error(`securedoc seal --delivery pull printed no portal link:\n${stdout}`);
      return link[0];
    },

    /** Waits for a mail to `to` since `since` (ms) whose text matches `pattern`; returns the text. */
    async mailTo(to, since, pattern) {
      return waitForMail(to, since, `text matching ${pattern}`, (raw) => {
        const text = mailText(raw);
        return pattern.test(text) ? text : null;
      });
    },

    /**
     * Creates a confirmed account for `address` with `password`, as an
     * administrator does; `internal`: a staff account (`--internal`).
     */
    async createAccount(address, password, { internal = false } = {}) {
      const file = path.join(dir, `password-${randomBytes(4).toString("hex")}`);
      await writeFile(file, password + "\n");
      const staff = internal ? ["--internal", ...configArgs] : [];
      await run(["admin", "account", "create", "--address", address, "--password-file", file, ...staff]);
    },

    /**
     * Seals a server-mode envelope for `to`; returns its file:// URL. With an
     * array of recipients, one envelope each: returns {address: URL}.
     */
    async sealFor(to, options = {}) {
      const many = Array.isArray(to);
      const out = path.join(dir, `envelope-${randomBytes(4).toString("hex")}${many ? "" : ".html"}`);
      await run([
        "seal",
        "--from",
        options.from || "alice@clinic.example",
        ...(many ? to : [to]).flatMap((address) => ["--to", address]),
        "--subject",
        options.subject || "Your test results",
        "--body",
        options.body || "Hello, the results are attached.",
        ...(options.attachment ? ["--attach", options.attachment] : []),
        "--security",
        options.security || "high",
        ...(options.expires ? ["--expires", options.expires] : []),
        ...(options.extra || []),
        "--key-server",
        origin,
        "--token-file",
        tokenFile,
        ...(many ? ["--out-dir", out] : ["-o", out]),
      ]);
      if (!many) return pathToFileURL(out).href;
      const files = await readdir(out);
      return Object.fromEntries(
        to.map((address) => {
          const file = files.find((name) => name.includes(address.split("@")[0]));
          return [address, pathToFileURL(path.join(out, file)).href];
        }),
      );
    },

    /** Waits for a mail to `to` since `since` (ms) with an attachment; returns the attachment's text. */
    async attachmentFromOutbox(to, since) {
      return waitForMail(to, since, "an attachment", (raw) => {
        const part = raw.split(/\r?\n--[^\r\n]+\r?\n/).find((p) => /filename="?securedoc\.html/i.test(p));
        if (!part) return null;
        const body = part.slice(part.search(/\r?\n\r?\n/)).replace(/\s+/g, "");
        const page = Buffer.from(body, "base64").toString("utf8");
        // The outbox may be mid-write: a page counts once it is whole.
        return page.trimEnd().endsWith("</html>") ? page : null;
      });
    },

    /** Waits for the newest mail since `since` (ms) with a `linkPath` link in it; returns the link. */
    async linkFromOutbox(linkPath, since) {
      for (let i = 0; i < 100; i++) {
        const files = (await readdir(outbox).catch(() => [])).filter((f) => f.endsWith(".eml"));
        const fresh = [];
        for (const file of files) {
          const info = await stat(path.join(outbox, file));
          if (info.mtimeMs >= since) fresh.push([info.mtimeMs, file]);
        }
        fresh.sort((a, b) => b[0] - a[0]);
        for (const [, file] of fresh) {
          const text = mailText(await readFile(path.join(outbox, file), "utf8"));
          const match = text.match(
            new RegExp(`${origin.replace(/[.]/g, "\\.")}${linkPath.replace("?", "\\?")}[A-Za-z0-9_-]+`),
          );
          if (match) return match[0];
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`no mail with a ${linkPath} link in ${outbox}`);
    },
  };
}
