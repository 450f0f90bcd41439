// The opener's words come from templates/i18n ([opener]) through the page's
// JSON data block: every key its scripts ask for is there, and the block is
// inert data that cannot end its <script> element early.

import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { makeTempDir, removeDir, seal } from "./helpers.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const ENVELOPE_JS = path.resolve(here, "../../templates/envelope");

test("every string the opener's scripts use is in the page's strings block", async () => {
  const dir = await makeTempDir();
  try {
    const envelope = await seal(dir, { body: "hello" });
    const page = await readFile(envelope.path, "utf8");
    const block = page.match(/<script type="application\/json" id="securedoc-strings">([^<]*)<\/script>/);
    assert.ok(block, "the page carries its strings as a JSON data block");
    const strings = JSON.parse(block[1]);
    const lookup = (key) => key.split(".").reduce((table, part) => table?.[part], strings);

    const used = new Set();
    for (const file of (await readdir(ENVELOPE_JS)).filter((f) => f.endsWith(".js"))) {
      const source = await readFile(path.join(ENVELOPE_JS, file), "utf8");
      for (const [, key] of source.matchAll(/\bt\("([a-z_.]+[a-z_])"/g)) used.add(key);
      // refusals.js names each failure's text under errors.
      if (file === "refusals.js")
        for (const [, key] of source.matchAll(/(?:server|envelope)\("([a-z_]+)"/g)) used.add("errors." + key);
      if (file === "bootstrap.js")
        for (const [, key] of source.matchAll(/fail\("([a-z_]+)"\)/g)) used.add("errors." + key);
    }
    for (const key of ["read", "kdf", "kdf_server", "decrypt", "parse", "opening"]) used.add("phase." + key);
    for (const key of ["bytes", "kb", "mb", "gb"]) used.add("size." + key);
    assert.ok(used.size > 40, `found the keys the scripts use (${used.size})`);
    const missing = [...used].filter((key) => typeof lookup(key) !== "string");
    assert.deepEqual(missing, [], "strings the scripts use but templates/i18n/en.toml [opener] lacks");
  } finally {
    await removeDir(dir);
  }
});
