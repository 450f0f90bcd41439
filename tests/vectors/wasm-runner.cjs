// Opens test vectors with the envelope's WebAssembly opener, the way the page
// does (templates/envelope/opener.js), and prints one JSON result per vector
// and slice size. Driven by run.rs:
//
//   node wasm-runner.cjs INPUT.json
//
// INPUT.json: {"glue": path, "wasm": path, "slices": [chars...],
//              "vectors": [{"name", "passphrase", "text"}...]}
"use strict";
const fs = require("node:fs");
const vm = require("node:vm");
const crypto = require("node:crypto");

const HEADER_PREFIX_CHARS = 64 * 1024; // what the page hands header_json
const CHUNKS_PER_STEP = 16; // what the page hands decrypt_some

function kindOf(error) {
  if (error && typeof error.kind === "string") return error.kind;
  return "js_error: " + String(error && error.stack ? error.stack.split("\n")[0] : error);
}

function open(vector, sliceChars) {
  const text = vector.text;
  const result = { name: vector.name, slice: sliceChars, header_kind: null, kind: null, sha256: null, message: null };
  // First the header alone, from the start of the text, as the page does on load.
  try {
    const header = JSON.parse(wasm_bindgen.header_json(text.slice(0, HEADER_PREFIX_CHARS)));
    if (typeof header.from !== "string") throw new Error("header_json gave no 'from'");
  } catch (error) {
    result.header_kind = kindOf(error);
  }
  // Then the whole envelope: read in slices, unlock, decrypt a few chunks at a time.
  let opener = null;
  try {
    opener = new wasm_bindgen.Opener(text.length);
    for (let start = 0; start < text.length || start === 0; start += sliceChars) {
      const last = start + sliceChars >= text.length;
      opener.push_text(text.slice(start, start + sliceChars), last);
      if (last) break;
    }
    opener.unlock_with_passphrase(vector.passphrase);
    let done = 0;
    let steps = 0;
    while (done < 1) {
      const next = opener.decrypt_some(CHUNKS_PER_STEP);
      if (!(next > done) || next > 1) throw new Error(`decrypt_some returned ${next} after ${done}`);
      done = next;
      if (++steps > 1_000_000) throw new Error("decrypt_some never finished");
    }
    result.kind = "success";
    try {
      JSON.parse(opener.message_json());
      result.message = "ok";
    } catch (error) {
      result.message = kindOf(error);
    }
    result.sha256 = crypto.createHash("sha256").update(opener.eml()).digest("hex");
  } catch (error) {
    result.kind = kindOf(error);
  } finally {
    if (opener) opener.free();
  }
  return result;
}

async function main() {
  const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  // The no-modules glue declares `let wasm_bindgen`: a script-scope binding,
  // so publish it on globalThis in the same script.
  const glue = fs.readFileSync(input.glue, "utf8");
  vm.runInThisContext(glue + "\n;globalThis.wasm_bindgen = wasm_bindgen;\n", { filename: "opener-glue.js" });
  await globalThis.wasm_bindgen({ module_or_path: fs.readFileSync(input.wasm) });
  const results = [];
  for (const vector of input.vectors) {
    for (const slice of input.slices) results.push(open(vector, slice));
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  console.error("wasm-runner:", error);
  process.exit(2);
});
