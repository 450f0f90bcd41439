// The envelope's bytes from its text form, decoded by the browser itself
// (`Uint8Array.fromBase64`, where it has it): faster than decoding in the
// WebAssembly, and the bytes move to the decryptor's worker without a copy
// (the text would be copied). Where the browser lacks it, or the text is not
// plain base64 between optional surrounding whitespace (docs/FORMAT.md §8),
// the text goes to the decryptor as before, which decodes it or names the
// fault — so both paths refuse exactly what the format refuses.
"use strict";
function securedocEnvelopeBytes() {
  return function envelopeBytes(text) {
    if (typeof Uint8Array.fromBase64 !== "function") return null;
    const trimmed = text.replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, "");
    // fromBase64 skips whitespace inside the text; the format does not.
    if (/[\t\n\f\r ]/.test(trimmed)) return null;
    try {
      return Uint8Array.fromBase64(trimmed, { lastChunkHandling: "strict" });
    } catch {
      return null;
    }
  };
}
