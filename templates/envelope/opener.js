// The securedoc envelope opener. Runs inline in securedoc.html, from disk, with
// no network: it decodes the envelope's data block, asks the embedded
// WebAssembly (envelope-core) to unlock and decrypt it, and shows the message.
// Every step that can take long yields to the browser so the page stays alive.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const SLICE_CHARS = 4 << 20; // base64 characters decoded per step (a multiple of 4)
  const CHUNKS_PER_STEP = 16; // 64 KiB chunks decrypted per step: 1 MiB
  const DAMAGED = "This envelope is damaged or has been altered. Nothing from it is shown. Ask the sender to send it again.";

  let opener = null; // the WebAssembly Opener, created on the first attempt
  let header = null;
  let busy = false;

  // Yield to the browser (paint, input) without the 4 ms clamp of setTimeout.
  const channel = new MessageChannel();
  const yieldQueue = [];
  channel.port1.onmessage = () => yieldQueue.shift()();
  const nextTurn = () => new Promise((resolve) => { yieldQueue.push(resolve); channel.port2.postMessage(0); });
  const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

  function formatSize(bytes) {
    if (bytes < 1024) return bytes + " bytes";
    const units = ["KB", "MB", "GB"];
    let value = bytes / 1024, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
    return value.toFixed(value < 10 ? 1 : 0) + " " + units[unit];
  }

  function formatTime(seconds) {
    return new Date(seconds * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  function setTime(id, seconds) {
    const el = $(id);
    if (seconds == null) { el.textContent = "Never"; el.removeAttribute("datetime"); return; }
    el.textContent = formatTime(seconds);
    el.setAttribute("datetime", new Date(seconds * 1000).toISOString());
  }

  function showProgress(label, fraction) {
    $("progress-box").hidden = false;
    $("progress-label").textContent = label;
    $("progress").value = fraction;
    $("progress").setAttribute("aria-valuetext", Math.round(fraction * 100) + "%");
  }

  function showError(message, { retry }) {
    $("progress-box").hidden = true;
    $("unlock-error").textContent = message;
    const input = $("passphrase");
    input.setAttribute("aria-invalid", "true");
    setBusy(false);
    if (retry) {
      input.value = "";
      input.focus();
    } else {
      $("unlock").querySelectorAll("input, button").forEach((el) => { el.disabled = true; });
    }
  }

  function setBusy(value) {
    busy = value;
    $("open-button").disabled = value;
    $("passphrase").readOnly = value;
    $("unlock").setAttribute("aria-busy", String(value));
  }

  function envelopeText() {
    return $("securedoc-envelope").textContent;
  }

  async function loadDecryptor() {
    // bootstrap.js unpacked the module beside this script.
    await wasm_bindgen({ module_or_path: window.securedocWasm });
    window.securedocWasm = null;
  }

  // Decodes the data block into the Opener in slices, showing progress.
  async function loadEnvelope() {
    const text = envelopeText();
    const created = new wasm_bindgen.Opener(text.length);
    for (let start = 0; start < text.length || start === 0; start += SLICE_CHARS) {
      const last = start + SLICE_CHARS >= text.length;
      created.push_text(text.slice(start, start + SLICE_CHARS), last);
      showProgress("Reading the envelope…", Math.min(1, (start + SLICE_CHARS) / text.length));
      await nextTurn();
      if (last) break;
    }
    return created;
  }

  async function open(passphrase) {
    setBusy(true);
    $("unlock-error").textContent = "";
    $("passphrase").removeAttribute("aria-invalid");
    // Timings for the benchmark (and the curious): milliseconds per phase.
    const timings = (window.securedocTimings = { started: performance.now() });
    const mark = (name, since) => { timings[name] = performance.now() - since; return performance.now(); };
    try {
      let t = performance.now();
      if (!opener) opener = await loadEnvelope();
      t = mark("read_ms", t);
      showProgress("Checking the passphrase…", 0);
      await nextFrame(); // let the status paint before the key derivation runs
      t = performance.now();
      opener.unlock_with_passphrase(passphrase);
      t = mark("kdf_ms", t);
      let done = 0;
      while (done < 1) {
        done = opener.decrypt_some(CHUNKS_PER_STEP);
        showProgress("Decrypting…", done);
        await nextTurn();
      }
      t = mark("decrypt_ms", t);
      const message = JSON.parse(opener.message_json());
      t = mark("parse_ms", t);
      showMessage(message);
      mark("render_ms", t);
      timings.total_ms = performance.now() - timings.started;
    } catch (error) {
      const kind = error && error.kind;
      if (kind !== "wrong_passphrase") console.error("securedoc: cannot open the envelope:", error);
      if (kind === "wrong_passphrase") {
        showError("Wrong passphrase. Check it and try again; passphrases are case-sensitive.", { retry: true });
      } else if (kind === "kdf_too_weak" || kind === "kdf_too_costly" || kind === "unsupported_version" || kind === "not_a_message") {
        opener = null;
        showError(error.message + ".", { retry: false });
      } else {
        opener = null;
        showError(DAMAGED, { retry: false });
      }
    }
  }

  function download(bytes, name, type) {
    const url = URL.createObjectURL(new Blob([bytes], { type: type || "application/octet-stream" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  function addHeaderRow(list, label, value) {
    if (!value) return;
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }

  function showMessage(message) {
    $("progress-box").hidden = true;
    $("unlock-section").hidden = true;
    const article = $("message");
    $("subject").textContent = message.subject || "(no subject)";
    const headers = $("message-headers");
    addHeaderRow(headers, "From", message.from);
    addHeaderRow(headers, "To", message.to.join(", "));
    addHeaderRow(headers, "Cc", message.cc.join(", "));
    addHeaderRow(headers, "Date", message.date ? new Date(message.date).toLocaleString() : "");

    const body = $("body");
    if (message.html != null) {
      const { html, blocked } = window.securedocPrepareHtml(message.html, message.attachments, (i) => opener.attachment(i));
      const frame = document.createElement("iframe");
      frame.title = "Message body";
      // No allow-scripts, no allow-same-origin, no allow-forms: the body can
      // show text, styles and inline images, and links open in a new tab.
      frame.setAttribute("sandbox", "allow-popups allow-popups-to-escape-sandbox");
      frame.setAttribute("referrerpolicy", "no-referrer");
      frame.srcdoc = html;
      body.append(frame);
      if (blocked > 0) {
        $("remote-notice").hidden = false;
        $("remote-notice").textContent =
          blocked === 1 ? "1 remote image or resource was blocked to protect your privacy."
            : blocked + " remote images or resources were blocked to protect your privacy.";
      }
    } else {
      const pre = document.createElement("div");
      pre.className = "text-body";
      // MIME text uses CRLF line ends; the DOM (and copy/paste) wants LF.
      pre.textContent = (message.text || "(This message has no text.)").replace(/\r\n?/g, "\n");
      body.append(pre);
    }

    const list = $("attachments");
    message.attachments.forEach((attachment, index) => {
      if (message.html != null && attachment.content_id && attachment.content_type.startsWith("image/")) return;
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = "#";
      link.download = attachment.name;
      link.textContent = attachment.name;
      link.setAttribute("aria-label", attachment.name + ", " + formatSize(attachment.size) + ", download");
      link.addEventListener("click", (event) => {
        if (link.dataset.ready) return; // second, programmatic click: let it download
        event.preventDefault();
        const url = URL.createObjectURL(new Blob([opener.attachment(index)], { type: attachment.content_type }));
        link.href = url;
        link.dataset.ready = "1";
        link.click();
      });
      const size = document.createElement("span");
      size.className = "size";
      size.textContent = formatSize(attachment.size);
      size.setAttribute("aria-hidden", "true");
      item.append(link, " ", size);
      list.append(item);
    });
    $("attachments-section").hidden = list.children.length === 0;

    $("save-message").addEventListener("click", () => {
      const name = (message.subject || "message").replace(/[\\/:*?"<>|\u0000-\u001f]+/g, "_").slice(0, 100) + ".eml";
      download(opener.eml(), name, "message/rfc822");
    });
    const print = $("print");
    if (print && header && header.flags.print) {
      print.addEventListener("click", () => window.print());
    } else if (print) {
      print.remove();
    }
    article.hidden = false;
    $("subject").focus();
  }

  async function start() {
    const form = $("unlock");
    try {
      await loadDecryptor();
      header = JSON.parse(wasm_bindgen.header_json(envelopeText().slice(0, 64 * 1024)));
    } catch (error) {
      console.error("securedoc: cannot read the envelope:", error);
      $("unlock-section").hidden = false;
      form.hidden = false;
      showError(error && error.kind === "unsupported_version" ? error.message + "." : DAMAGED, { retry: false });
      return;
    }
    $("env-from").textContent = header.from;
    $("env-to").textContent = header.to;
    setTime("env-created", header.created);
    setTime("env-expires", header.expires);
    $("unlock-section").hidden = false;
    form.hidden = false;
    if (header.mode !== "passphrase") {
      showError("This envelope must be opened through its key server, which this version of the opener cannot reach.", { retry: false });
      return;
    }
    if (header.expires != null && header.expires * 1000 < Date.now()) {
      showError("This message expired on " + formatTime(header.expires) + ". Ask the sender to send it again.", { retry: false });
      return;
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (busy) return;
      const passphrase = $("passphrase").value;
      if (!passphrase) {
        showError("Enter the passphrase the sender gave you.", { retry: true });
        return;
      }
      open(passphrase);
    });
    $("passphrase").focus();
  }

  start();
})();
