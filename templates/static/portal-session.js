// The portal's inactivity warning (docs/PORTAL.md, "Sessions"). The server
// ends a session after its idle time whatever this script does; the script
// only says so before it happens, offers "Stay logged in" (a same-origin
// POST that counts as activity), and leaves for the login page when the time
// is up, so a message is not left on screen.
"use strict";

(() => {
  const dialog = document.getElementById("session-warning");
  if (!dialog) {
    return;
  }
  const idle = Number(dialog.dataset.idleSeconds) * 1000;
  const warning = Number(dialog.dataset.warningSeconds) * 1000;
  const stay = document.getElementById("session-stay");
  let warnTimer = 0;
  let endTimer = 0;

  const start = () => {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    dialog.hidden = true;
    warnTimer = setTimeout(
      () => {
        dialog.hidden = false;
        stay.focus();
      },
      Math.max(idle - warning, 0),
    );
    endTimer = setTimeout(() => {
      window.location.assign(dialog.dataset.timedOut);
    }, idle);
  };

  stay.addEventListener("click", async () => {
    const response = await fetch("/portal/session/keepalive", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-Securedoc-Csrf": dialog.dataset.csrf },
    });
    if (response.ok) {
      start();
    } else {
      window.location.assign(dialog.dataset.timedOut);
    }
  });

  start();
})();
