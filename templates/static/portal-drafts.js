// The portal's draft autosave (docs/PORTAL.md, "Drafts"): every few
// seconds, if To, Subject or the text changed, the compose form's text is
// saved as the draft it continues (a new one the first time). The request
// says it is a background one, so it never keeps an unattended session
// alive; without JavaScript, "Save draft" does the same.
"use strict";

(() => {
  const form = document.querySelector("form[action='/portal/compose']");
  const draft = document.getElementById("draft");
  const status = document.getElementById("autosave-status");
  const csrf = form?.querySelector("input[name=csrf]")?.value;
  if (!form || !draft || !csrf) {
    return;
  }
  const EVERY_MS = 5000;
  const field = (name) => form.querySelector(`[name=${name}]`)?.value ?? "";
  const snapshot = () => JSON.stringify([field("to"), field("subject"), field("body"), field("html")]);
  let saved = snapshot();
  let saving = false;

  const save = async () => {
    const now = snapshot();
    if (saving || now === saved) {
      return;
    }
    saving = true;
    try {
      const response = await fetch("/portal/drafts/autosave", {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "X-Securedoc-Csrf": csrf,
          "X-Securedoc-Background": "1",
        },
        body: JSON.stringify({
          draft: draft.value,
          to: field("to"),
          subject: field("subject"),
          body: field("body"),
          html: field("html"),
        }),
      });
      if (response.ok) {
        const id = (await response.json()).draft;
        if (draft.value !== id) {
          // A reload now reopens the draft instead of an empty form.
          history.replaceState(null, "", `/portal/drafts/${id}`);
        }
        draft.value = id;
        saved = now;
        const time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
        status.textContent = status.dataset.saved.replace("{time}", time);
      }
    } finally {
      saving = false;
    }
  };

  setInterval(save, EVERY_MS);
})();
