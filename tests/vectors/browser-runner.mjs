// Opens test vectors in headless Chromium the way the envelope page does
// when the browser decodes base64 itself: the page's own
// templates/envelope/envelope-bytes.js turns the text into bytes
// (Uint8Array.fromBase64), the decryptor takes them with push_bytes, and
// only text that function refuses goes the WebAssembly way. Driven by run.rs:
//
//   node browser-runner.mjs INPUT.json
//
// INPUT.json as for wasm-runner.cjs, plus "envelope_bytes": path of envelope-bytes.js.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

import { launchBrowser } from "../browser/helpers.mjs";

const input = JSON.parse(readFileSync(process.argv[2], "utf8"));
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  const results = await page.evaluate(
    async ({ glue, envelopeBytesSource, wasm, vectors }) => {
      // Global code, as the page's one script has it (the glue looks for a
      // <script src> only when it runs from one).
      (0, eval)(
        glue +
          "\n;globalThis.wasm_bindgen = wasm_bindgen;\n" +
          envelopeBytesSource +
          "\n;globalThis.securedocEnvelopeBytes = securedocEnvelopeBytes;",
      );
      if (typeof Uint8Array.fromBase64 !== "function") throw new Error("this Chromium has no Uint8Array.fromBase64");
      await globalThis.wasm_bindgen({ module_or_path: Uint8Array.from(atob(wasm), (c) => c.charCodeAt(0)) });
      const envelopeBytes = globalThis.securedocEnvelopeBytes();
      const kindOf = (error) => (error && typeof error.kind === "string" ? error.kind : "js_error: " + String(error));
      const out = [];
      for (const vector of vectors) {
        const text = vector.text;
        const result = { name: vector.name, slice: 0, header_kind: null, kind: null, sha256: null, message: null };
        try {
          const header = JSON.parse(globalThis.wasm_bindgen.header_json(text.slice(0, 64 * 1024)));
          if (typeof header.from !== "string") throw new Error("header_json gave no 'from'");
        } catch (error) {
          result.header_kind = kindOf(error);
        }
        let opener = null;
        try {
          const bytes = envelopeBytes(text);
          if (bytes) {
            opener = new globalThis.wasm_bindgen.Opener(0);
            opener.push_bytes(bytes);
          } else {
            opener = new globalThis.wasm_bindgen.Opener(text.length);
            opener.push_text(text, true);
          }
          opener.unlock_with_passphrase(vector.passphrase);
          let done = 0;
          while (done < 1) done = opener.decrypt_some(16);
          result.kind = "success";
          try {
            JSON.parse(opener.message_json());
            result.message = "ok";
          } catch (error) {
            result.message = kindOf(error);
          }
          // Hashed by Node.js below (about:blank has no crypto.subtle).
          result.eml = opener.eml().toBase64();
        } catch (error) {
          result.kind = kindOf(error);
        } finally {
          if (opener) opener.free();
        }
        out.push(result);
      }
      return out;
    },
    {
      glue: readFileSync(input.glue, "utf8"),
      envelopeBytesSource: readFileSync(input.envelope_bytes, "utf8"),
      wasm: readFileSync(input.wasm).toString("base64"),
      vectors: input.vectors,
    },
  );
  for (const result of results) {
    if (result.eml != null)
      result.sha256 = createHash("sha256").update(Buffer.from(result.eml, "base64")).digest("hex");
    delete result.eml;
  }
  process.stdout.write(JSON.stringify(results));
} finally {
  await browser.close();
}
