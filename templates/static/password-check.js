// The registration, reset and portal password forms' script. Without it the forms still work
// and the server says what is wrong after submitting; with it:
// - the password rules are ticked as the user types, each rule saying to a
//   screen reader whether it is met. The key server judges the password
//   (POST /api/v1/password/check) so the page shows exactly the rules it will
//   enforce, dictionary checks included;
// - each answer's label names the question chosen for it;
// - the form checks everything it can before it is sent (required fields,
//   confirmations, distinct questions, the phrase and its "Enable" box, the
//   password's rules), so one mistake never costs retyping the secrets the
//   server cannot send back. The words come from the page (data-* attributes,
//   in the page's language).
"use strict";
(function () {
  const password = document.getElementById("password");
  const confirm = document.getElementById("password_confirm");
  const rulesBox = document.getElementById("password-rules-box");
  const rules = document.querySelectorAll("#password-rules li[data-rule]");
  const live = document.getElementById("password-rules-live");
  if (!password) return;
  const form = password.form;
  const words = form.dataset;
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (match, name) => (name in values ? values[name] : match));
  // Rules whose violations show on another rule's line.
  const lineOf = { max_len: "min_len", refused_special: "special" };
  const value = (id) => (document.getElementById(id) || {}).value || "";
  // A field of this form only: a page may hold other forms (Preferences).
  const own = (id) => {
    const field = document.getElementById(id);
    return field && field.form === form ? field : null;
  };
  let timer = null;
  let sequence = 0;

  // The rules the password breaks (ids of the lines shown), or null when the
  // key server cannot say now (it checks again on submit).
  async function brokenRules() {
    try {
      const response = await fetch("/api/v1/password/check", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          password: password.value,
          email: value("email"),
          first_name: value("first_name"),
          last_name: value("last_name"),
          token: value("token"),
        }),
      });
      if (!response.ok) return null;
      const broken = (await response.json()).broken || [];
      return new Set(broken.map((rule) => lineOf[rule] || rule));
    } catch (error) {
      return null;
    }
  }

  function showRules(unmet) {
    let met = 0;
    rules.forEach((li) => {
      const state = li.querySelector(".rule-state");
      if (!unmet) {
        li.classList.remove("met", "unmet");
        if (state) state.textContent = "";
        return;
      }
      const bad = unmet.has(li.dataset.rule);
      li.classList.toggle("unmet", bad);
      li.classList.toggle("met", !bad);
      if (state) state.textContent = (bad ? rulesBox.dataset.unmet : rulesBox.dataset.met) + " ";
      if (!bad) met++;
    });
    if (!live) return;
    if (!unmet) live.textContent = "";
    else if (met === rules.length) live.textContent = rulesBox.dataset.allMet;
    else live.textContent = fill(rulesBox.dataset.progress, { met, total: rules.length });
  }

  async function check() {
    const mine = ++sequence;
    if (!password.value) return showRules(null);
    const unmet = await brokenRules();
    if (mine !== sequence || !unmet) return; // a newer keystroke's answer is coming
    showRules(unmet);
  }

  if (rules.length) {
    password.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(check, 200);
    });
  }
  if (confirm) {
    confirm.addEventListener("input", () => {
      const same = !confirm.value || confirm.value === password.value;
      confirm.setAttribute("aria-invalid", same ? "false" : "true");
    });
  }

  // Each answer's label names its question, as chosen.
  for (const n of [1, 2, 3]) {
    const select = document.getElementById("question" + n);
    if (!select) continue;
    const update = () => {
      const text = select.value ? fill(words.chosen, { question: select.selectedOptions[0].textContent }) : "";
      for (const id of ["answer" + n + "-chosen", "answer" + n + "_confirm-chosen"]) {
        const span = document.getElementById(id);
        if (span) span.textContent = text;
      }
    };
    select.addEventListener("change", update);
    update();
  }

  // A field's name as its label shows it, without the "required" star.
  function labelOf(field) {
    const label = form.querySelector('label[for="' + field.id + '"]');
    if (!label) return field.name;
    const copy = label.cloneNode(true);
    copy.querySelectorAll(".req").forEach((el) => el.remove());
    return copy.textContent.replace(/\s+/g, " ").trim();
  }

  const normalise = (answer) => answer.split(/\s+/).filter(Boolean).join(" ").toLowerCase();

  // Every mistake the page can see, one per field: [field, message].
  async function mistakes() {
    const found = new Map();
    const add = (field, message) => {
      if (field && !found.has(field)) found.set(field, message);
    };
    form.querySelectorAll("input[required], select[required]").forEach((field) => {
      if (!field.readOnly && !field.value.trim()) add(field, words.required);
    });
    const phrase = own("phrase");
    const enabled = own("phrase_enabled");
    if (phrase && enabled) {
      if (phrase.value.trim() && !enabled.checked) add(phrase, words.phraseNotEnabled);
      if (!phrase.value.trim() && enabled.checked) add(phrase, words.phraseNeeded);
    }
    if (password.value && rules.length) {
      const unmet = await brokenRules();
      if (unmet) {
        showRules(unmet);
        const missing = Array.from(rules)
          .filter((li) => unmet.has(li.dataset.rule))
          .map((li) => li.querySelector(".rule-text").textContent);
        if (missing.length) add(password, fill(words.rulesUnmet, { rules: missing.join("; ") }));
      }
    }
    if (confirm && confirm.value && confirm.value !== password.value) add(confirm, words.passwordMismatch);
    const chosen = [];
    for (const n of [1, 2, 3]) {
      const select = own("question" + n);
      if (select && select.value) {
        if (chosen.includes(select.value)) add(select, words.sameQuestion);
        chosen.push(select.value);
      }
      const answer = own("answer" + n);
      const again = own("answer" + n + "_confirm");
      if (answer && again && again.value.trim() && normalise(answer.value) !== normalise(again.value))
        add(again, words.answerMismatch);
    }
    // In the form's order.
    return Array.from(found).sort(([a], [b]) =>
      a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1,
    );
  }

  // Clears the errors shown before (the server's or this script's).
  function clearErrors() {
    document.querySelectorAll(".error-summary").forEach((el) => el.remove());
    form.querySelectorAll(".field-error").forEach((el) => el.remove());
    form.querySelectorAll(".field.invalid").forEach((el) => el.classList.remove("invalid"));
    form.querySelectorAll("[aria-invalid]").forEach((field) => field.removeAttribute("aria-invalid"));
    form.querySelectorAll("[aria-describedby]").forEach((field) => {
      const ids = field
        .getAttribute("aria-describedby")
        .split(/\s+/)
        .filter((id) => id && document.getElementById(id));
      if (ids.length) field.setAttribute("aria-describedby", ids.join(" "));
      else field.removeAttribute("aria-describedby");
    });
  }

  function showErrors(list) {
    clearErrors();
    const summary = document.createElement("div");
    summary.className = "error-summary";
    summary.id = "error-summary";
    summary.setAttribute("role", "alert");
    summary.tabIndex = -1;
    const title = document.createElement("p");
    title.textContent = words.summaryTitle;
    const items = document.createElement("ul");
    for (const [field, message] of list) {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = "#" + field.id;
      link.textContent = fill(words.summaryItem, { label: labelOf(field), message });
      item.append(link);
      items.append(item);
      const error = document.createElement("p");
      error.className = "field-error";
      error.id = field.id + "-error";
      error.textContent = message;
      const box = field.closest(".field") || field.parentElement;
      box.classList.add("invalid");
      box.append(error);
      field.setAttribute("aria-invalid", "true");
      const described = (field.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
      field.setAttribute("aria-describedby", described.concat(error.id).join(" "));
    }
    summary.append(title, items);
    form.before(summary);
    summary.focus();
  }

  let sending = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return;
    sending = true;
    try {
      const list = await mistakes();
      if (list.length) return showErrors(list);
      clearErrors();
      form.submit();
    } finally {
      sending = false;
    }
  });

  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
