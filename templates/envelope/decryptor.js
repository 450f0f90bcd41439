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
  let rememberToken = null; // a "Remember me" token the key server just gave

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

  // Reads the envelope (once), unlocks it with `unlock`, decrypts it in
  // steps and returns the message as JSON. A failure other than a wrong
  // password drops the envelope, so nothing half-verified lingers.
  async function decrypt(text, progress, unlock) {
    try {
      if (!opener) {
        if (text == null) throw Object.assign(new Error("the envelope has not been read"), { kind: "internal" });
        opener = await read(text, progress);
      }
      progress("kdf", 0);
      await pause();
      await unlock();
      let done = 0;
      while (done < 1) {
        done = opener.decrypt_some(CHUNKS_PER_STEP);
        progress("decrypt", done);
        await pause();
      }
      progress("parse", 0);
      return opener.message_json();
    } catch (error) {
      // A wrong secret or a server that may answer later: keep the envelope for another try.
      const retry = ["wrong_passphrase", "wrong_password", "unreachable", "rate_limited", "unconfirmed", "locked", "not_remembered", "password_expired"];
      const kept = Boolean(error && retry.includes(error.kind));
      if (!kept) opener = null;
      throw Object.assign(error instanceof Error ? error : new Error(String(error)), { kept });
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
      return decrypt(text, progress, () => opener.unlock_with_passphrase(passphrase));
    },
    // Server mode: ask the key server sealed in the header for the content key,
    // sealed (HPKE) to a one-time key made here; the key never reaches script.
    async openServer(text, request, progress) {
      return decrypt(text, progress, async () => {
        const publicKey = opener.key_request();
        let response;
        try {
          response = await fetch(request.origin + "/api/v1/keys/release", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              message_id: request.messageId,
              recipient: request.recipient,
              password: request.password || "",
              public_key: btoa(String.fromCharCode(...publicKey)),
              remember: Boolean(request.remember),
              remember_token: request.rememberToken || null,
            }),
            credentials: "omit",
            referrerPolicy: "no-referrer",
          });
        } catch (error) {
          throw Object.assign(new Error(String(error)), { kind: "unreachable" });
        }
        const body = await response.json().catch(() => ({}));
        if (!response.ok) {
          throw Object.assign(new Error(body.message || "the key server answered " + response.status), {
            kind: body.error || "server_error",
            details: { attempts_left: body.attempts_left, locked_until: body.locked_until },
          });
        }
        const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        opener.unlock_with_released_key(bytes(body.enc), bytes(body.ciphertext));
        rememberToken = typeof body.remember_token === "string" ? body.remember_token : null;
      });
    },
    // The "Remember me" token of the last release, once.
    takeRememberToken() {
      const token = rememberToken;
      rememberToken = null;
      return token;
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
      const details = (error && error.details) || {};
      const kept = Boolean(error && error.kept);
      self.postMessage({ id, error: { kind, message: String((error && error.message) || error), details, kept } });
    }
  };
}
