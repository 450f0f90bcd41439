// The portal's formatting editor (docs/PORTAL.md, "Compose"): bold,
// italic, underline, lists, indent, links, size and colour, in a
// contenteditable area that replaces the message's textarea. The textarea
// stays in the form as the text alternative, and the hidden `html` field
// carries the formatting; the server keeps only its allowlist of tags and
// attributes, whatever arrives. `styleWithCSS` is off, so the browser writes
// tags (<b>, <font color>), not style attributes the page's CSP would block.
// Without JavaScript the textarea is the editor.
"use strict";

(() => {
  const editor = document.getElementById("editor");
  const area = document.getElementById("editor-area");
  const textarea = document.getElementById("body");
  const html = document.getElementById("html");
  if (!editor || !area || !textarea || !html) {
    return;
  }

  // The draft's formatting (sanitised by the server), or the text as paragraphs.
  if (html.value) {
    area.innerHTML = html.value;
  } else {
    for (const line of textarea.value.split("\n")) {
      const paragraph = document.createElement("div");
      paragraph.textContent = line;
      if (!line) paragraph.append(document.createElement("br"));
      area.append(paragraph);
    }
  }

  const sync = () => {
    html.value = area.innerHTML;
    textarea.value = area.innerText;
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  };
  const run = (command, value) => {
    area.focus();
    document.execCommand("styleWithCSS", false, false);
    document.execCommand(command, false, value);
    sync();
  };

  for (const button of editor.querySelectorAll("button[data-command]")) {
    button.addEventListener("click", () => {
      const command = button.dataset.command;
      if (command === "createLink") {
        const url = window.prompt(editor.dataset.linkPrompt, "https://");
        // The server keeps http, https and mailto links only.
        if (url && /^(https?:|mailto:)/i.test(url.trim())) run(command, url.trim());
        return;
      }
      run(command);
    });
  }
  for (const select of editor.querySelectorAll("select[data-command]")) {
    select.addEventListener("change", () => {
      if (select.value) run(select.dataset.command, select.value);
      select.value = "";
    });
  }
  area.addEventListener("input", sync);
  textarea.form.addEventListener("submit", sync);

  textarea.hidden = true;
  editor.hidden = false;
  sync();
})();
