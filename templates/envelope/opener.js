// The securedoc envelope opener. Runs inline in securedoc.html, from disk, with
// no network: it hands the envelope's data block to the decryptor
// (decryptor.js: the embedded WebAssembly, in a Web Worker), shows progress,
// and shows the message once every chunk has verified.
//
// Everything it needs is handed to it by main.js: `strings` (the page's
// language strings, `[opener]` in templates/i18n/, from the page's JSON data
// block), the WebAssembly module and this script's text (for the worker),
// `refusals` (refusals.js), `remember` (remember.js), `makeService`
// (decryptor.js) and `prepareHtml` (prepare-html.js).
"use strict";
function securedocOpener({ strings, wasm, scriptText, refusals, remember, makeService, envelopeBytes, prepareHtml }) {
  const $ = (id) => document.getElementById(id);
  // A string by dotted key ("errors.locked"), its {placeholders} filled in.
  const t = (key, values = {}) => {
    const text = key
      .split(".")
      .reduce((table, part) => (table && typeof table === "object" ? table[part] : undefined), strings);
    if (typeof text !== "string") throw new Error("no opener string " + key);
    return text.replace(/\{(\w+)\}/g, (match, name) => (name in values ? String(values[name]) : match));
  };
  const PHASES = new Set(["read", "kdf", "kdf_server", "decrypt", "parse"]);

  let decryptor = null; // {call(method, args, onProgress)}: a worker, or the service on this page
  let textSent = false; // the worker keeps the envelope after the first attempt
  let header = null;
  let busy = false;
  // Whether this recipient opens with a one-time passcode: then the code's
  // form, not the password's, shows each attempt's progress and answer.
  let viaCode = false;
  const field = () => $(viaCode ? "passcode" : "passphrase");
  const errorBox = () => $(viaCode ? "passcode-error" : "unlock-error");

  function formatSize(bytes) {
    if (bytes < 1024) return t("size.bytes", { n: bytes });
    const units = ["kb", "mb", "gb"];
    let value = bytes / 1024,
      unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return t("size." + units[unit], {
      n: value.toLocaleString(strings.locale, { maximumFractionDigits: value < 10 ? 1 : 0 }),
    });
  }

  // How the page names the key server: the organisation sealed in the
  // header, else the key server's host (never a whole URL).
  function keyServerName() {
    if (!header) return "";
    if (header.organization) return header.organization;
    return header.key_server ? header.key_server.replace(/^[a-z]+:\/\//, "") : "";
  }

  function formatTime(seconds) {
    return new Date(seconds * 1000).toLocaleString(strings.locale, { dateStyle: "medium", timeStyle: "short" });
  }

  function setTime(id, seconds) {
    const el = $(id);
    if (seconds == null) {
      el.textContent = t("never");
      el.removeAttribute("datetime");
      return;
    }
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
    errorBox().textContent = message;
    const input = field();
    input.setAttribute("aria-invalid", "true");
    setBusy(false);
    if (retry) {
      input.value = "";
      input.focus();
    } else {
      $(viaCode ? "passcode-box" : "unlock")
        .querySelectorAll("input, button")
        .forEach((el) => {
          el.disabled = true;
        });
    }
  }

  function setBusy(value) {
    busy = value;
    $(viaCode ? "passcode-open" : "open-button").disabled = value;
    field().readOnly = value;
    $(viaCode ? "passcode-form" : "unlock").setAttribute("aria-busy", String(value));
  }

  // The envelope for the decryptor: its bytes where the browser decodes
  // base64 itself (envelope-bytes.js), else its text.
  function envelopeData() {
    const text = $("securedoc-envelope").textContent;
    return envelopeBytes(text) || text;
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
      if (data.error) call.reject(Object.assign(new Error(data.error.message), data.error));
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
          // Decoded envelope bytes move to the worker; they are not copied.
          const moved = args.filter((arg) => arg instanceof Uint8Array).map((arg) => arg.buffer);
          worker.postMessage({ id, method, args }, moved);
        });
      },
    };
  }

  // Starts the decryptor in a Web Worker made from this very script (the
  // page's policy allows blob: workers); where that fails, runs it here.
  async function startDecryptor() {
    const module = wasm;
    wasm = null;
    try {
      const url = URL.createObjectURL(new Blob([scriptText], { type: "text/javascript" }));
      const client = workerClient(new Worker(url));
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("the worker did not start")), 5000));
      await Promise.race([client.call("init", [module]), timeout]);
      return client;
    } catch (error) {
      console.warn("securedoc: decrypting on the page, without a worker:", error);
      const service = makeService();
      await service.init(module);
      return { call: async (method, args, onProgress) => service[method](...args, onProgress || (() => {})) };
    }
  }

  // Opens the envelope. Server mode: with `password`, or with `remembered`
  // ({id, privateKey}: this browser's remembered key) or `passcode` (a
  // one-time code mailed to the recipient) instead of it.
  async function open(password, remembered, passcode) {
    setBusy(true);
    errorBox().textContent = "";
    field().removeAttribute("aria-invalid");
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
      const label = next === "kdf" && header.mode === "server" ? "kdf_server" : next;
      showProgress(t(PHASES.has(label) ? "phase." + label : "phase.opening"), fraction);
    };
    try {
      enter("read");
      const text = textSent ? null : envelopeData();
      textSent = true;
      let json;
      if (header.mode === "server") {
        // "Remember me": a new key pair whose private half cannot leave this browser.
        const rememberBox = $("remember");
        const fresh =
          !remembered && rememberBox && rememberBox.checked && remember.supported() ? await remember.create() : null;
        json = await decryptor.call(
          "openServer",
          [
            text,
            {
              origin: header.key_server,
              recipient: header.to,
              messageId: header.id,
              password,
              rememberKey: fresh && fresh.publicKey,
              remembered,
              passcode,
            },
          ],
          onProgress,
        );
        showAnswers(await decryptor.call("takeAnswer", []));
        const rememberId = fresh && (await decryptor.call("takeRememberId", []));
        if (rememberId)
          await remember
            .keep(header.key_server, header.to, rememberId, fresh.privateKey)
            .catch((error) => console.warn("securedoc: cannot remember this computer:", error));
      } else {
        json = await decryptor.call("open", [text, password], onProgress);
      }
      enter("render");
      await showMessage(JSON.parse(json));
      enter(null);
      timings.total_ms = performance.now() - timings.started;
    } catch (error) {
      if (!error || !error.kept) {
        console.error("securedoc: cannot open the envelope:", error);
        textSent = false; // the decryptor dropped the envelope
      }
      const kind = error && error.kind;
      const refusal = refusals.get(kind, Boolean(error && error.server));
      if (kind === "not_remembered" && error.server) await remember.forget(header.key_server, header.to);
      showError(explain(refusal, (error && error.details) || {}), { retry: refusal.retry });
    }
  }

  // Reply, Reply all, Forward: the buttons the envelope's flags and the key
  // server both allow, with the token that proves this recipient opened it.
  function showAnswers(grant) {
    const input = $("answer-token");
    if (!input || !grant || !grant.token) return;
    input.value = grant.token;
    input.disabled = false;
    for (const kind of grant.kinds) {
      const button = $("answer-" + kind);
      if (button) button.hidden = false;
    }
  }

  // What the recipient reads for a refusal (refusals.js), with its details.
  function explain(refusal, details) {
    const values = {
      name: keyServerName(),
      recipient: header ? header.to : "",
      status: details.status || "",
    };
    let text = t("errors." + refusal.text, values);
    if (refusal.text === "wrong_password") {
      const left = details.attempts_left;
      if (left === 0)
        text +=
          " " +
          (details.locked_until
            ? t("recipient.now_locked_until", { time: formatTime(details.locked_until) })
            : t("errors.now_locked"));
      else if (left === 1) text += " " + t("errors.attempts_left_one");
      else if (left > 1) text += " " + t("errors.attempts_left_many", { n: left });
    } else if (refusal.text === "wrong_passcode") {
      const left = details.attempts_left;
      if (left === undefined) text = t("errors.passcode_malformed");
      else if (left === 0) text = t("errors.passcode_expired");
      else if (left === 1) text += " " + t("errors.passcode_attempts_left_one");
      else if (left > 1) text += " " + t("errors.passcode_attempts_left_many", { n: left });
    } else if (refusal.text === "locked") {
      text = details.locked_until
        ? t("errors.locked_until", { time: formatTime(details.locked_until) })
        : t("errors.locked");
    } else if (details.retry_after && refusal.retry) {
      text += " " + t("errors.retry_after", { minutes: Math.max(1, Math.ceil(details.retry_after / 60)) });
    }
    return text;
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
      for (let i = 0; i < bytes.length; i += 0x8000)
        binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
      images.set(attachment.content_id.toLowerCase(), "data:" + attachment.content_type + ";base64," + btoa(binary));
    }
    return images;
  }

  async function showMessage(message) {
    $("progress-box").hidden = true;
    $("unlock-section").hidden = true;
    const article = $("message");
    $("subject").textContent = message.subject || t("no_subject");
    const headers = $("message-headers");
    addHeaderRow(headers, t("headers.from"), message.from);
    addHeaderRow(headers, t("headers.to"), message.to.join(", "));
    addHeaderRow(headers, t("headers.cc"), message.cc.join(", "));
    addHeaderRow(headers, t("headers.date"), message.date ? new Date(message.date).toLocaleString(strings.locale) : "");

    const body = $("body");
    if (message.html != null) {
      const { html, blocked } = prepareHtml(message.html, await inlineImages(message.attachments), {
        remoteImageAlt: t("remote_image_alt"),
        lang: strings.locale,
        title: message.subject || t("body_title"),
      });
      const frame = document.createElement("iframe");
      frame.title = t("body_title");
      // No allow-scripts, no allow-same-origin, no allow-forms: the body can
      // show text, styles and inline images, and links open in a new tab.
      frame.setAttribute("sandbox", "allow-popups allow-popups-to-escape-sandbox");
      frame.setAttribute("referrerpolicy", "no-referrer");
      frame.srcdoc = html;
      body.append(frame);
      if (blocked > 0) {
        $("remote-notice").hidden = false;
        $("remote-notice").textContent =
          blocked === 1 ? t("remote_blocked_one") : t("remote_blocked_many", { n: blocked });
      }
    } else {
      const pre = document.createElement("div");
      pre.className = "text-body";
      // MIME text uses CRLF line ends; the DOM (and copy/paste) wants LF.
      pre.textContent = (message.text || t("no_text")).replace(/\r\n?/g, "\n");
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
      link.setAttribute(
        "aria-label",
        t("attachment_label", { name: attachment.name, size: formatSize(attachment.size) }),
      );
      link.addEventListener("click", async (event) => {
        if (link.dataset.ready) return; // second, programmatic click: let it download
        event.preventDefault();
        if (link.dataset.loading) return;
        link.dataset.loading = "1";
        const bytes = await decryptor.call("attachment", [index]);
        // Never the sender's content type: the browser must only save the
        // bytes, never render or run them.
        link.href = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
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
      // eslint-disable-next-line no-control-regex -- control characters are what a file name must not hold
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
      header = JSON.parse(await decryptor.call("header", [$("securedoc-envelope").textContent.slice(0, 64 * 1024)]));
    } catch (error) {
      console.error("securedoc: cannot read the envelope:", error);
      $("unlock-section").hidden = false;
      if ($("status-box")) $("status-box").hidden = true;
      form.hidden = false;
      showError(explain(refusals.get(error && error.kind, false), {}), { retry: false });
      return;
    }
    $("env-from").textContent = header.from;
    $("env-to").textContent = header.to;
    setTime("env-created", header.created);
    setTime("env-expires", header.expires);
    $("unlock-section").hidden = false;
    // Server mode asks the key server first whether this recipient has an
    // account: until it answers, "Checking…" shows, neither form.
    const waitForStatus = header.mode === "server" && header.security !== "low";
    form.hidden = waitForStatus;
    if (header.expires != null && header.expires * 1000 < Date.now()) {
      if ($("status-box")) $("status-box").hidden = true;
      form.hidden = false;
      showError(t("expired", { date: formatTime(header.expires) }), { retry: false });
      return;
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (busy) return;
      const passphrase = $("passphrase").value;
      if (!passphrase && !(header.mode === "server" && header.security === "low")) {
        showError(header.mode === "server" ? t("enter_password") : t("enter_passphrase"), { retry: true });
        return;
      }
      open(passphrase);
    });
    if (waitForStatus) startServerMode();
    else $("passphrase").focus();
  }

  // Server mode: Register or Open. The key server says whether this
  // recipient has an account yet; until it has answered, the page says
  // "Checking…"; until they have one, it offers Register, and it switches to
  // the password by itself when they come back from confirming their
  // address (as the CRES envelope's REGISTER → OPEN). When the key server
  // cannot be reached, it says so and what to do.
  async function startServerMode() {
    if (header.security === "medium") {
      if (!remember.supported()) $("remember").closest(".remember").hidden = true;
      const remembered = remember.supported() ? await remember.load(header.key_server, header.to) : null;
      if (remembered) {
        await open("", remembered);
        if (!$("message").hidden) return;
      }
    }
    // "checking", "register", "password" (registered), "passcode" (reads
    // with a one-time code: "Send me a code"), "unknown" (the key server
    // answered, but not whether: the password form, with its Register link)
    // or "unreachable".
    let state = "checking";
    const show = (next) => {
      const before = state;
      state = next;
      $("status-box").hidden = next !== "checking" && next !== "unreachable";
      $("status-retry").hidden = next !== "unreachable";
      $("status-text").textContent =
        next === "unreachable" ? t("recipient.status_unreachable", { name: keyServerName() }) : t("recipient.checking");
      $("register-box").hidden = next !== "register";
      $("passcode-box").hidden = next !== "passcode";
      viaCode = next === "passcode";
      $("unlock").hidden = next !== "password" && next !== "unknown";
      $("first-time").hidden = next === "password";
      if (next === before) return; // a poll that changes nothing moves nothing
      if (next === "password" && before === "register") $("unlock-help").textContent = t("registered_now");
      // Focus moves only when nothing has it or what had it is gone: the
      // recipient reading or typing elsewhere on the page is never pulled back.
      const active = document.activeElement;
      const lost = !active || active === document.body || active.closest("[hidden]");
      if (!lost) return;
      if (next === "password" || next === "unknown") $("passphrase").focus();
      else if (next === "register") $("register-button").focus();
      else if (next === "passcode") $("passcode-send").focus();
    };
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
        if (!response.ok) {
          // Unknown here: the password form, with its Register link.
          if (state === "checking" || state === "unreachable") show("unknown");
          return;
        }
        const status = await response.json();
        show(status.passcode === true ? "passcode" : status.registered === true ? "password" : "register");
      } catch (error) {
        if (state === "checking" || state === "unreachable") show("unreachable");
      } finally {
        asking = false;
      }
    };
    // "Send me a code", and "Send a new code": the key server answers 202
    // whatever happens (it never says whether a code went out), then the
    // code's form shows.
    const sendCode = async (again) => {
      const button = $(again ? "passcode-resend" : "passcode-send");
      button.disabled = true;
      errorBox().textContent = "";
      try {
        const response = await fetch(header.key_server + "/api/v1/keys/passcode", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ message_id: header.id, recipient: header.to, lang: strings.locale }),
          credentials: "omit",
          referrerPolicy: "no-referrer",
        });
        if (response.status !== 202) throw new Error("the key server answered " + response.status);
        $("passcode-ask").hidden = true;
        $("passcode-form").hidden = false;
        $("passcode-sent").textContent = again
          ? t("passcode.resent", { email: header.to })
          : t("passcode.sent", { email: header.to });
        const input = $("passcode");
        input.value = "";
        input.removeAttribute("aria-invalid");
        input.focus();
      } catch (error) {
        console.warn("securedoc: cannot ask for a code:", error);
        errorBox().textContent = t("errors.passcode_failed");
      } finally {
        button.disabled = false;
      }
    };
    $("passcode-send").addEventListener("click", () => sendCode(false));
    $("passcode-resend").addEventListener("click", () => sendCode(true));
    $("passcode-form").addEventListener("submit", (event) => {
      event.preventDefault();
      if (busy) return;
      const code = $("passcode").value.trim();
      if (!code) {
        showError(t("passcode.enter_code"), { retry: true });
        return;
      }
      open("", null, code);
    });
    $("status-retry").addEventListener("click", () => {
      $("status-text").textContent = t("recipient.checking");
      check();
    });
    check();
    // Coming back to this tab asks again; so does a slow poll while Register
    // (or "cannot be reached") shows, for a recipient who confirmed in
    // another window and never left this one.
    setInterval(() => {
      if (state === "register" || state === "unreachable") check();
    }, 4000);
    window.addEventListener("focus", check);
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) check();
    });
  }

  start();
}
