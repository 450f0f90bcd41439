// Unpacks the opener (its script and WebAssembly, gzipped together to keep
// every envelope small) with the browser's own DecompressionStream, then runs
// the script. The page's Content-Security-Policy allows exactly this script
// and the unpacked one, by hash.
"use strict";
(async function () {
  const fail = (message) => {
    const section = document.getElementById("unlock-section");
    const error = document.getElementById("unlock-error");
    section.hidden = false;
    document.getElementById("unlock").hidden = false;
    error.textContent = message;
    document.querySelectorAll("#unlock input, #unlock button").forEach((el) => { el.disabled = true; });
  };
  if (typeof DecompressionStream !== "function" || typeof WebAssembly !== "object") {
    fail("This browser is too old to open secure messages. Open the file in a current version of Chrome, Edge, Firefox or Safari.");
    return;
  }
  try {
    const packed = Uint8Array.from(atob(document.getElementById("securedoc-opener").textContent.trim()), (c) => c.charCodeAt(0));
    const stream = new Blob([packed]).stream().pipeThrough(new DecompressionStream("gzip"));
    const bundle = new Uint8Array(await new Response(stream).arrayBuffer());
    const scriptLength = new DataView(bundle.buffer).getUint32(0, true);
    window.securedocWasm = bundle.subarray(4 + scriptLength);
    const script = document.createElement("script");
    script.textContent = new TextDecoder().decode(bundle.subarray(4, 4 + scriptLength));
    window.securedocScript = script.textContent; // the decryptor's worker runs the same script
    document.body.append(script);
  } catch (error) {
    console.error("securedoc: cannot unpack the opener:", error);
    fail("This envelope is damaged or has been altered. Nothing from it is shown. Ask the sender to send it again.");
  }
})();
