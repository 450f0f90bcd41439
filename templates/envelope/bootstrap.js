// Unpacks the opener (its script and WebAssembly, gzipped together to keep
// every envelope small) with the browser's own DecompressionStream, then runs
// the script. The page's Content-Security-Policy allows exactly this script
// and the unpacked one, by hash. The WebAssembly module goes to the unpacked
// script on its own element (main.js reads it from document.currentScript).
"use strict";
(async function () {
  // The page's language strings: an inert JSON data block.
  let strings = {};
  try {
    strings = JSON.parse(document.getElementById("securedoc-strings").textContent);
  } catch (error) {
    console.error("securedoc: the page's strings are missing:", error);
  }
  const fail = (key) => {
    const message = (strings.errors && strings.errors[key]) || strings[key] || "";
    const section = document.getElementById("unlock-section");
    const error = document.getElementById("unlock-error");
    section.hidden = false;
    document.getElementById("unlock").hidden = false;
    const status = document.getElementById("status-box");
    if (status) status.hidden = true;
    error.textContent = message;
    document.querySelectorAll("#unlock input, #unlock button").forEach((el) => {
      el.disabled = true;
    });
  };
  if (typeof DecompressionStream !== "function" || typeof WebAssembly !== "object") {
    fail("too_old");
    return;
  }
  try {
    const packed = Uint8Array.from(atob(document.getElementById("securedoc-opener").textContent.trim()), (c) =>
      c.charCodeAt(0),
    );
    const stream = new Blob([packed]).stream().pipeThrough(new DecompressionStream("gzip"));
    const bundle = new Uint8Array(await new Response(stream).arrayBuffer());
    const scriptLength = new DataView(bundle.buffer).getUint32(0, true);
    const script = document.createElement("script");
    script.textContent = new TextDecoder().decode(bundle.subarray(4, 4 + scriptLength));
    script.securedocWasm = bundle.subarray(4 + scriptLength);
    document.body.append(script);
  } catch (error) {
    console.error("securedoc: cannot unpack the opener:", error);
    fail("damaged");
  }
})();
