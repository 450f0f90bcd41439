// A hostile HTML body for the tests: scripts, event handlers, javascript:
// links, refreshes, forms, remote images, remote CSS, frames and SVG
// handlers, each of which would leave a trace (a dialog, a console line
// with MARK, a request to `origin`) if it ran or loaded.

import assert from "node:assert/strict";
import { createServer } from "node:http";

export const MARK = "securedoc-hostile";

export function hostileHtml(origin) {
  return `<!DOCTYPE html>
<html><head>
<meta http-equiv="refresh" content="0;url=${origin}/refresh">
<link rel="stylesheet" href="${origin}/s.css">
<style>body { background: url(${origin}/css.png); } .x { background-image: url("${origin}/css2.png"); }</style>
<script>
  document.title = "${MARK}-title";
  console.log("${MARK}-console");
  try { parent.document.title = "${MARK}-parent-title"; } catch (e) {}
  parent.postMessage("${MARK}-postmessage", "*");
  top.postMessage("${MARK}-top-postmessage", "*");
  fetch("${origin}/fetch").catch(() => {});
  new Image().src = "${origin}/script-img.png";
  alert("${MARK}-alert");
</script>
</head><body>
<h1>Quarterly update</h1>
<p>Visible paragraph of the hostile message.</p>
<p class="x" style="background:url(${origin}/style-attr.png)">Styled paragraph.</p>
<img src=x onerror="alert('${MARK}-onerror'); parent.postMessage('${MARK}-onerror', '*'); fetch('${origin}/onerror')">
<img src="${origin}/img.png" alt="tracking pixel">
<a id="js-link" href="javascript:alert('${MARK}-javascript-link')">Click me</a>
<form id="f" action="${origin}/post" method="post"><input name="q" value="1"><button>Send</button></form>
<script>document.getElementById("f").submit();</script>
<iframe src="${origin}/frame"></iframe>
<svg xmlns="http://www.w3.org/2000/svg" onload="alert('${MARK}-svg'); fetch('${origin}/svg')"><circle r="5"/></svg>
<body onload="alert('${MARK}-body-onload')">
</body></html>`;
}

/**
 * A server that records every request made to it: where `hostileHtml`
 * points its remote content. `close()` when done.
 */
export async function startRecorder() {
  const hits = [];
  const server = createServer((request, response) => {
    hits.push(`${request.method} ${request.url}`);
    response.end("hit");
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    hits,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * Watches `context` for what a hostile message would leave if it ran or
 * loaded: every request, and on each page's dialogs and console lines.
 */
export function watchForTraces(context) {
  const traces = { requests: [], dialogs: [], consoleMessages: [] };
  context.on("request", (request) => traces.requests.push(request.url()));
  context.on("page", (page) => {
    page.on("dialog", (dialog) => {
      traces.dialogs.push(dialog.message());
      dialog.dismiss().catch(() => {});
    });
    page.on("console", (message) => traces.consoleMessages.push(message.text()));
  });
  return traces;
}

/**
 * Nothing reached the recorder, nothing was asked of anyone but what
 * `allowed(url)` accepts, no dialog appeared and no hostile script logged.
 */
export function assertNoTraces(traces, recorder, allowed) {
  assert.deepEqual(recorder.hits, [], "nothing reached the recording server");
  const elsewhere = [...new Set(traces.requests)].filter((url) => !allowed(url));
  assert.deepEqual(elsewhere, [], "the browser asked nothing of anyone but the key server");
  assert.deepEqual(traces.dialogs, [], "no dialog appeared");
  assert.deepEqual(
    traces.consoleMessages.filter((m) => m.includes(MARK)),
    [],
    "no hostile script ran",
  );
}
