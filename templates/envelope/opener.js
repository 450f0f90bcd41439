// The securedoc envelope opener. Runs inline in securedoc.html, from disk, with
// no network: it hands the envelope's data block to the decryptor
// (decryptor.js: the embedded WebAssembly, in a Web Worker), shows progress,
// and shows the message once every chunk has verified.
"use strict";
(function () {
  if (typeof document === "undefined") return; // inside the decryptor's worker
  const $ = (id) => document.getElementById(id);
  const DAMAGED = "This envelope is damaged or has been altered. Nothing from it is shown. Ask the sender to send it again.";
  const PHASES = { read: "Reading the envelope…", kdf: "Checking the passphrase…", decrypt: "Decrypting…", parse: "Preparing the message…" };

  let decryptor = null; // {call(method, args, onProgress)}: a worker, or the service on this page
  let textSent = false; // the worker keeps the envelope after the first attempt
  let header = null;
  let busy = false;

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

  // Talks to the decryptor in a worker: {id, method, args} out, {id, result |
  // error | progress} back.
  function workerClient(worker) {
    let nextId = 0;
    const pending = new Map();
    worker.onmessage = ({ data }) => {
      const call = pending.get(data.id);
      if (!call) return;
      if (data.progress) return call.onProgress(data.progress.phase, data.progress.fraction);
      pending.delete(data.id);
      if (data.error) call.reject(Object.assign(new Error(data.error.message), { kind: data.error.kind, details: data.error.details, kept: data.error.kept }));
      else call.resolve(data.result);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      for (const call of pending.values()) call.reject(new Error("the decryptor stopped: " + event.message));
      pending.clear();
    };
    return {
      call(method, args, onProgress) {
        return new Promise((resolve, reject) => {
          const id = ++nextId;
          pending.set(id, { resolve, reject, onProgress: onProgress || (() => {}) });
          worker.postMessage({ id, method, args });
        });
      },
    };
  }

  // Starts the decryptor in a Web Worker made from this very script (the
  // page's policy allows blob: workers); where that fails, runs it here.
  async function startDecryptor() {
    const module = window.securedocWasm;
    window.securedocWasm = null;
    try {
      const url = URL.createObjectURL(new Blob([window.securedocScript], { type: "text/javascript" }));
      const client = workerClient(new Worker(url));
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("the worker did not start")), 5000));
      await Promise.race([client.call("init", [module]), timeout]);
      return client;
    } catch (error) {
      console.warn("securedoc: decrypting on the page, without a worker:", error);
      const service = securedocService();
      await service.init(module);
      return { call: async (method, args, onProgress) => service[method](...args, onProgress || (() => {})) };
    }
  }

  // "Remember me on this computer" (medium security): the key server's token,
  // kept in this browser's storage for this key server and address.
  const remembered = {
    key: () => "securedoc.remember:" + header.key_server + ":" + header.to,
    get() { try { return localStorage.getItem(this.key()); } catch (error) { return null; } },
    set(token) { try { localStorage.setItem(this.key(), token); } catch (error) { /* storage off: ask next time */ } },
    forget() { try { localStorage.removeItem(this.key()); } catch (error) { /* nothing kept */ } },
  };

  async function open(passphrase, rememberToken) {
    setBusy(true);
    $("unlock-error").textContent = "";
    $("passphrase").removeAttribute("aria-invalid");
    // Timings for the benchmark (and the curious): milliseconds per phase.
    const timings = (window.securedocTimings = { started: performance.now() });
    let phase = null;
    let phaseStarted = timings.started;
    const enter = (next) => {
      const now = performance.now();
      if (phase) timings[phase + "_ms"] = now - phaseStarted;
      phase = next;
      phaseStarted = now;
    };
    const onProgress = (next, fraction) => {
      if (next !== phase) enter(next);
      const label = next === "kdf" && header.mode === "server" ? "Checking your password with the key server…" : PHASES[next];
      showProgress(label || "Opening…", fraction);
    };
    try {
      const text = textSent ? null : envelopeText();
      textSent = true;
      const json = header.mode === "server"
        ? await decryptor.call("openServer", [text, {
          origin: header.key_server, recipient: header.to, messageId: header.id, password: passphrase,
          remember: Boolean($("remember") && $("remember").checked), rememberToken,
        }], onProgress)
        : await decryptor.call("open", [text, passphrase], onProgress);
      if (header.mode === "server") {
        const token = await decryptor.call("takeRememberToken", []);
        if (token) remembered.set(token);
      }
      enter("render");
      await showMessage(JSON.parse(json));
      enter(null);
      timings.total_ms = performance.now() - timings.started;
    } catch (error) {
      const kind = error && error.kind;
      if (!error || !error.kept) {
        console.error("securedoc: cannot open the envelope:", error);
        textSent = false; // the decryptor dropped the envelope
      }
      const retry = (message) => showError(message, { retry: true });
      const stop = (message) => showError(message, { retry: false });
      const details = (error && error.details) || {};
      if (kind === "wrong_passphrase") {
        retry("Wrong passphrase. Check it and try again; passphrases are case-sensitive.");
      } else if (kind === "wrong_password") {
        const left = details.attempts_left;
        retry("Wrong password." + (left > 0 ? " " + left + (left === 1 ? " attempt" : " attempts") + " left before your account is locked." : left === 0 ? " Your account is now locked for a while." : ""));
      } else if (kind === "locked") {
        retry("Your account is locked after too many wrong passwords." + (details.locked_until ? " Try again after " + formatTime(details.locked_until) + "," : "") + " or use \u201cForgot password?\u201d to reset it.");
      } else if (kind === "not_remembered") {
        remembered.forget();
        retry("This computer is no longer remembered. Enter your password.");
      } else if (kind === "password_expired") {
        retry(error.message);
      } else if (kind === "unconfirmed") {
        retry("Confirm your e-mail address first: follow the link in the confirmation e-mail, then try again.");
      } else if (kind === "rate_limited") {
        retry("Too many failed attempts from this network. Wait a few minutes and try again.");
      } else if (kind === "unreachable") {
        retry("The key server (" + header.key_server + ") cannot be reached. Check your internet connection and try again.");
      } else if (kind === "gone") {
        stop("This message has expired or was withdrawn by its sender. It can no longer be opened.");
      } else if (kind === "not_a_recipient" || kind === "disabled") {
        stop(error.message);
      } else if (kind === "kdf_too_weak" || kind === "kdf_too_costly" || kind === "unsupported_version" || kind === "not_a_message") {
        stop(error.message + ".");
      } else {
        stop(DAMAGED);
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

  // data: URLs for the images the HTML body shows inline (cid: references).
  async function inlineImages(attachments) {
    const images = new Map();
    for (const [index, attachment] of attachments.entries()) {
      if (!attachment.content_id || !attachment.content_type.startsWith("image/")) continue;
      const bytes = await decryptor.call("attachment", [index]);
      let binary = "";
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
      images.set(attachment.content_id.toLowerCase(), "data:" + attachment.content_type + ";base64," + btoa(binary));
    }
    return images;
  }

  async function showMessage(message) {
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
      const { html, blocked } = securedocPrepareHtml(message.html, await inlineImages(message.attachments));
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
      link.addEventListener("click", async (event) => {
        if (link.dataset.ready) return; // second, programmatic click: let it download
        event.preventDefault();
        if (link.dataset.loading) return;
        link.dataset.loading = "1";
        const bytes = await decryptor.call("attachment", [index]);
        link.href = URL.createObjectURL(new Blob([bytes], { type: attachment.content_type }));
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

    $("save-message").addEventListener("click", async () => {
      const name = (message.subject || "message").replace(/[\\/:*?"<>|\u0000-\u001f]+/g, "_").slice(0, 100) + ".eml";
      download(await decryptor.call("eml", []), name, "message/rfc822");
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
      decryptor = await startDecryptor();
      header = JSON.parse(await decryptor.call("header", [envelopeText().slice(0, 64 * 1024)]));
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
    if (header.expires != null && header.expires * 1000 < Date.now()) {
      showError("This message expired on " + formatTime(header.expires) + ". Ask the sender to send it again.", { retry: false });
      return;
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (busy) return;
      const passphrase = $("passphrase").value;
      if (!passphrase && !(header.mode === "server" && header.security === "low")) {
        showError(header.mode === "server" ? "Enter your password." : "Enter the passphrase the sender gave you.", { retry: true });
        return;
      }
      open(passphrase);
    });
    $("passphrase").focus();
    if (header.mode === "server") startServerMode();
  }

  // Server mode: Register or Open. The key server says whether this
  // recipient has an account yet; until they do, the envelope offers
  // Register, and it switches to the password by itself when they come back
  // from confirming their address (as the CRES envelope's REGISTER → OPEN).
  function startServerMode() {
    if (header.security === "low") return;
    const token = header.security === "medium" ? remembered.get() : null;
    if (token) {
      open("", token);
      return;
    }
    let asking = false;
    const check = async () => {
      if (asking || busy || !$("message").hidden) return;
      asking = true;
      try {
        const response = await fetch(header.key_server + "/api/v1/keys/status", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ message_id: header.id, recipient: header.to }),
          credentials: "omit",
          referrerPolicy: "no-referrer",
        });
        if (!response.ok) return; // unknown here: leave the password form, with its Register link
        const registered = (await response.json()).registered === true;
        const wasRegistering = !$("register-box").hidden;
        $("register-box").hidden = registered;
        $("unlock").hidden = !registered;
        if (registered && wasRegistering) {
          $("unlock-help").textContent = "You are registered. Enter your password to open the message.";
          $("passphrase").focus();
        } else if (!registered) {
          $("register-button").focus();
        }
      } catch (error) {
        // The key server cannot be reached now: the password form stays, and Open says so.
      } finally {
        asking = false;
      }
    };
    check();
    // Coming back to this tab asks again; so does a slow poll while Register
    // shows, for a recipient who confirmed in another window and never left this one.
    setInterval(() => { if (!$("register-box").hidden) check(); }, 4000);
    window.addEventListener("focus", check);
    document.addEventListener("visibilitychange", () => { if (!document.hidden) check(); });
  }

  start();
})();
