// Where the opener's parts meet. The build joins wasm-bindgen's glue and the
// opener's files into one script; each file defines one function and runs
// nothing, so their order does not matter, and this is the only code that
// runs when the script loads. Everything one part needs from another is
// handed over here, by name.
//
// The same script runs twice: on the envelope page (unpacked by
// bootstrap.js, which hangs the WebAssembly module on this script's element)
// and in the decryptor's Web Worker, made from this script's own text.
"use strict";
(function () {
  const refusals = securedocRefusals();
  const remember = securedocRemember();
  const makeService = () => securedocService({ refusals, remember });

  if (typeof document === "undefined") {
    // Inside the worker: answer {id, method, args} with {id, result} or
    // {id, error}, and report progress as {id, progress}.
    const service = makeService();
    self.onmessage = async ({ data: { id, method, args } }) => {
      const progress = (phase, fraction) => self.postMessage({ id, progress: { phase, fraction } });
      try {
        const result = await service[method](...args, progress);
        self.postMessage({ id, result }, result instanceof Uint8Array ? [result.buffer] : []);
      } catch (error) {
        const { kind = "internal", details = {}, kept = false, server = false } = error || {};
        self.postMessage({
          id,
          error: { kind, message: String((error && error.message) || error), details, kept, server },
        });
      }
    };
    return;
  }

  const script = document.currentScript;
  const stringsBlock = document.getElementById("securedoc-strings");
  securedocOpener({
    strings: JSON.parse(stringsBlock.textContent),
    wasm: script.securedocWasm,
    scriptText: script.textContent,
    refusals,
    remember,
    makeService,
    envelopeBytes: securedocEnvelopeBytes(),
    prepareHtml: securedocPrepareHtml,
  });
})();
