// "Remember me on this computer" (medium security) without a bearer secret.
//
// Every file:// page shares one storage origin in Chromium, so anything kept
// there can be read by any local HTML file. What is kept is therefore not a
// secret that can be carried away: a WebCrypto ECDSA P-256 private key made
// with extractable = false, stored in IndexedDB as the CryptoKey object itself
// (browsers keep it so that no script can export its bytes). The key server
// holds the public half; a remembered open signs
//   "securedoc-remember-v1\n" + message id + "\n" + ASCII-lowercased recipient + "\n" + public_key
// where public_key is that request's own one-time HPKE key (base64, as sent),
// so a signature is useless to anyone without that request's private key,
// which never leaves the decryptor. (docs/OPENER.md, docs/PROTOCOL.md)
"use strict";
function securedocRemember() {
  const DB = "securedoc-remember";
  const STORE = "keys";
  const ALGORITHM = { name: "ECDSA", namedCurve: "P-256" };
  const subtle = globalThis.crypto && globalThis.crypto.subtle;

  const toBase64 = (buffer) => {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000)
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  };

  // Addresses compare ASCII-case-insensitively, as the key server compares them.
  const lower = (address) => address.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
  // One entry per key server and address: "<origin>\n<address>".
  const entryKey = (keyServer, recipient) => keyServer + "\n" + lower(recipient);

  function database() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function run(mode, action) {
    const db = await database();
    try {
      return await new Promise((resolve, reject) => {
        const transaction = db.transaction(STORE, mode);
        const request = action(transaction.objectStore(STORE));
        transaction.oncomplete = () => resolve(request.result);
        transaction.onerror = () => reject(transaction.error);
        transaction.onabort = () => reject(transaction.error);
      });
    } finally {
      db.close();
    }
  }

  return {
    /** Whether this browser can remember without a bearer secret. */
    supported: () => Boolean(subtle && globalThis.indexedDB),

    /** A new key pair: the private half cannot leave this browser. */
    async create() {
      const pair = await subtle.generateKey(ALGORITHM, false, ["sign"]);
      return { privateKey: pair.privateKey, publicKey: toBase64(await subtle.exportKey("raw", pair.publicKey)) };
    },

    /** Keeps `privateKey` under the key server's `id` for it. */
    async keep(keyServer, recipient, id, privateKey) {
      await run("readwrite", (store) => store.put({ id, privateKey }, entryKey(keyServer, recipient)));
    },

    /** `{id, privateKey}` for this key server and address, or null. */
    async load(keyServer, recipient) {
      try {
        const entry = await run("readonly", (store) => store.get(entryKey(keyServer, recipient)));
        const usable = entry && typeof entry.id === "string" && entry.privateKey instanceof CryptoKey;
        return usable ? { id: entry.id, privateKey: entry.privateKey } : null;
      } catch (error) {
        console.warn("securedoc: no remembered key:", error);
        return null;
      }
    },

    async forget(keyServer, recipient) {
      try {
        await run("readwrite", (store) => store.delete(entryKey(keyServer, recipient)));
      } catch (error) {
        console.warn("securedoc: cannot forget the remembered key:", error);
      }
    },

    /** The `remembered` field of a release request (runs in the decryptor). */
    async proof(remembered, messageId, recipient, publicKey) {
      const bound = "securedoc-remember-v1\n" + messageId + "\n" + lower(recipient) + "\n" + publicKey;
      const signature = await subtle.sign(
        { name: "ECDSA", hash: "SHA-256" },
        remembered.privateKey,
        new TextEncoder().encode(bound),
      );
      return { id: remembered.id, signature: toBase64(signature) };
    },
  };
}
