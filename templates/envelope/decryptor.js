// The decryptor: the WebAssembly Opener (envelope-wasm) behind a small
// message API. The page runs it in a Web Worker, so unlocking (Argon2id) and
// decrypting a large message never block the page; where a worker cannot
// start, the page runs the same service itself, yielding between steps.
//
// Needs: the wasm-bindgen glue's `wasm_bindgen`, and what it is given:
// `refusals` (refusals.js) and `remember` (remember.js).
"use strict";
function securedocService({ refusals, remember }) {
  const SLICE_CHARS = 4 << 20; // base64 characters decoded per step (a multiple of 4)
  const CHUNKS_PER_STEP = 16; // 64 KiB chunks decrypted per step: 1 MiB
  // On the page, give the browser a turn between steps; a worker has no page to keep alive.
  const inWorker = typeof WorkerGlobalScope !== "undefined" && self instanceof WorkerGlobalScope;
  const pause = inWorker ? () => Promise.resolve() : () => new Promise((resolve) => setTimeout(resolve, 0));
  let opener = null; // kept across a wrong passphrase, dropped on any other failure
  let rememberId = null; // the key server's id for a key this browser just asked it to remember
  let answerGrant = null; // {token, kinds}: what lets the recipient answer, from the last release

  const toBase64 = (bytes) => btoa(String.fromCharCode(...bytes));
  const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const refusal = (kind, message, details = {}) => Object.assign(new Error(message), { kind, details, server: true });

  // POSTs `body` as JSON; the answer's JSON, or a refusal whose kind is the
  // key server's (or "unreachable", or "server_error" for an answer that is
  // not one of its refusals).
  async function askKeyServer(url, body) {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        credentials: "omit",
        referrerPolicy: "no-referrer",
      });
    } catch (error) {
      throw refusal("unreachable", String(error));
    }
    const answer = await response.json().catch(() => null);
    if (response.ok && answer && typeof answer === "object") return answer;
    const kind = response.ok || !answer ? "server_error" : String(answer.error);
    const retryAfter = Number(response.headers.get("retry-after"));
    throw refusal(kind, (answer && answer.message) || "the key server answered " + response.status, {
      status: response.status,
      attempts_left: answer && answer.attempts_left,
      locked_until: answer && answer.locked_until,
      retry_after: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    });
  }

  // The answer token sealed beside the key (HPKE, to the same one-time key):
  // kept for the page to post with Reply, Reply all or Forward. An answer
  // that does not open costs the recipient only the buttons.
  function allowAnswers(sealed) {
    answerGrant = null;
    if (!sealed || !Array.isArray(sealed.kinds)) return;
    try {
      const token = opener.answer_token(fromBase64(sealed.enc), fromBase64(sealed.ciphertext));
      answerGrant = { token, kinds: sealed.kinds.filter((kind) => typeof kind === "string") };
    } catch (error) {
      console.warn("securedoc: the answer token does not open:", error);
    }
  }

  // `text`: the data block's base64, or its bytes already decoded by the page.
  async function read(text, progress) {
    if (text instanceof Uint8Array) {
      const created = new wasm_bindgen.Opener(0);
      created.push_bytes(text);
      progress("read", 1);
      return created;
    }
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
      const kept = Boolean(error && refusals.get(error.kind, error.server).retry);
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
    // `request`: origin, messageId, recipient, password (or `passcode`, a
    // one-time code), and either
    // `rememberKey` (the public half of a key to remember, base64) or
    // `remembered` ({id, privateKey}: a key this browser keeps).
    async openServer(text, request, progress) {
      return decrypt(text, progress, async () => {
        const publicKey = toBase64(opener.key_request());
        const body = { message_id: request.messageId, recipient: request.recipient, public_key: publicKey };
        if (request.password) body.password = request.password;
        if (request.passcode) body.passcode = request.passcode;
        if (request.rememberKey) body.remember_key = request.rememberKey;
        if (request.remembered)
          body.remembered = await remember.proof(request.remembered, request.messageId, request.recipient, publicKey);
        const answer = await askKeyServer(request.origin + "/api/v1/keys/release", body);
        let enc, ciphertext;
        try {
          enc = fromBase64(answer.enc);
          ciphertext = fromBase64(answer.ciphertext);
        } catch (error) {
          throw refusal("server_error", "the key server's answer has no key in it");
        }
        opener.unlock_with_released_key(enc, ciphertext);
        rememberId = typeof answer.remember_id === "string" ? answer.remember_id : null;
        allowAnswers(answer.answer);
      });
    },
    // What lets the recipient answer (Reply, Reply all, Forward), once:
    // {token, kinds}, or null when the sender allowed none.
    takeAnswer() {
      const taken = answerGrant;
      answerGrant = null;
      return taken;
    },
    // The key server's id for the key the last release asked it to remember, once.
    takeRememberId() {
      const id = rememberId;
      rememberId = null;
      return id;
    },
    attachment(index) {
      return opener.attachment(index);
    },
    eml() {
      return opener.eml();
    },
  };
}
