// The decryptor: the WebAssembly Opener (envelope-wasm) behind a small
// message API. The page runs it in a Web Worker, so unlocking (Argon2id) and
// decrypting a large message never block the page; where a worker cannot
// start, the page runs the same service itself, yielding between steps.
"use strict";
function securedocService() {
  const SLICE_CHARS = 4 << 20; // base64 characters decoded per step (a multiple of 4)
  const CHUNKS_PER_STEP = 16; // 64 KiB chunks decrypted per step: 1 MiB
  // On the page, give the browser a turn between steps; a worker has no page to keep alive.
  const inWorker = typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope;
  const pause = inWorker ? () => Promise.resolve() : () => new Promise((resolve) => setTimeout(resolve, 0));
  let opener = null; // kept across a wrong passphrase, dropped on any other failure

  async function read(text, progress) {
    const created = new wasm_bindgen.Opener(text.length);
    for (let start = 0; ; start += SLICE_CHARS) {
      const last = start + SLICE_CHARS >= text.length;
      created.push_text(text.slice(start, start + SLICE_CHARS), last);
      progress("read", Math.min(1, (start + SLICE_CHARS) / text.length));
      await pause();
      if (last) return created;
    }
  }

  return {
    async init(module) {
      await wasm_bindgen({ module_or_path: module });
    },
    header(textStart) {
      return wasm_bindgen.header_json(textStart);
    },
    // `text` is the data block's base64; it may be null once it has been read.
    async open(text, passphrase, progress) {
      try {
        if (!opener) {
          if (text == null) throw Object.assign(new Error("the envelope has not been read"), { kind: "internal" });
          opener = await read(text, progress);
        }
        progress("kdf", 0);
        await pause();
        opener.unlock_with_passphrase(passphrase);
        let done = 0;
        while (done < 1) {
          done = opener.decrypt_some(CHUNKS_PER_STEP);
          progress("decrypt", done);
          await pause();
        }
        progress("parse", 0);
        return opener.message_json();
      } catch (error) {
        if (!error || error.kind !== "wrong_passphrase") opener = null;
        throw error;
      }
    },
    attachment(index) {
      return opener.attachment(index);
    },
    eml() {
      return opener.eml();
    },
  };
}

// Inside a worker: answer {id, method, args} with {id, result} or {id, error},
// and report progress as {id, progress}.
if (typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope) {
  const service = securedocService();
  self.onmessage = async ({ data: { id, method, args } }) => {
    const progress = (phase, fraction) => self.postMessage({ id, progress: { phase, fraction } });
    try {
      const result = await service[method](...args, progress);
      self.postMessage({ id, result }, result instanceof Uint8Array ? [result.buffer] : []);
    } catch (error) {
      const kind = (error && error.kind) || "internal";
      self.postMessage({ id, error: { kind, message: String((error && error.message) || error) } });
    }
  };
}
