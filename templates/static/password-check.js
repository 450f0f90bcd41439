// Ticks the password rules as the user types. The key server judges the
// password (POST /api/v1/password/check) so the page shows exactly the rules
// it will enforce, dictionary checks included; without JavaScript the form
// still works and the server says what is wrong after submitting.
"use strict";
(function () {
  const password = document.getElementById("password");
  const confirm = document.getElementById("password_confirm");
  const rules = document.querySelectorAll("#password-rules li[data-rule]");
  const live = document.getElementById("password-rules-live");
  if (!password || !rules.length) return;
  // Rules whose violations show on another rule's line.
  const lineOf = { max_len: "min_len", refused_special: "special" };
  const value = (id) => (document.getElementById(id) || {}).value || "";
  let timer = null;
  let sequence = 0;

  async function check() {
    const mine = ++sequence;
    if (!password.value) {
      rules.forEach((li) => li.classList.remove("met", "unmet"));
      live.textContent = "";
      return;
    }
    let broken;
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
      if (!response.ok) return;
      broken = (await response.json()).broken || [];
    } catch (error) {
      return; // the server will check on submit
    }
    if (mine !== sequence) return; // a newer keystroke's answer is coming
    const unmet = new Set(broken.map((rule) => lineOf[rule] || rule));
    let missing = 0;
    rules.forEach((li) => {
      const bad = unmet.has(li.dataset.rule);
      li.classList.toggle("unmet", bad);
      li.classList.toggle("met", !bad);
      if (bad) missing++;
    });
    live.textContent = missing ? missing + " / " + rules.length : "✓";
  }

  password.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, 200);
  });
  if (confirm) {
    confirm.addEventListener("input", () => {
      const same = !confirm.value || confirm.value === password.value;
      confirm.setAttribute("aria-invalid", same ? "false" : "true");
    });
  }
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
