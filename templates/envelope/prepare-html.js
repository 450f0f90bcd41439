// Prepares a message's HTML body for display in the sandboxed "Message body"
// frame.
//
// What keeps hostile HTML harmless is the browser, not this code: the frame is
// sandboxed without allow-scripts, allow-same-origin or allow-forms, and its
// document carries a Content-Security-Policy that refuses every load except
// data: URLs (it also inherits the envelope's own policy). This pass runs on an
// inert DOMParser document (nothing in it executes or loads) and does what the
// sandbox cannot: it tells the reader how much remote content was blocked,
// shows inline (cid:) images, and removes active content so that nothing
// depends on a single layer.
"use strict";
// `inlineImages` maps a lower-case Content-ID to its data: URL.
function securedocPrepareHtml(html, inlineImages) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  let blocked = 0;
  const REMOTE = /^\s*(https?:|\/\/|ftp:)/i;
  const CSS_URL = /url\(\s*(['"]?)(.*?)\1\s*\)/gi;

  const cidToData = (ref) => inlineImages.get(ref.replace(/^cid:/i, "").toLowerCase()) || null;

  function cleanCss(css) {
    return css.replace(/@import[^;]*;?/gi, () => { blocked++; return ""; }).replace(CSS_URL, (match, quote, url) => {
      if (/^data:image\//i.test(url)) return match;
      blocked++;
      return "none";
    });
  }

  doc.querySelectorAll("script, noscript, iframe, frame, frameset, object, embed, applet, meta, link, base, portal, template")
    .forEach((el) => {
      if (el.localName === "link" && /stylesheet/i.test(el.getAttribute("rel") || "")) blocked++;
      el.remove();
    });
  // Unwrap forms: keep what they show, drop where they would post.
  doc.querySelectorAll("form").forEach((form) => form.replaceWith(...form.childNodes));
  doc.querySelectorAll("style").forEach((style) => { style.textContent = cleanCss(style.textContent); });

  for (const el of doc.querySelectorAll("*")) {
    for (const attr of Array.from(el.attributes)) {
      const name = attr.name.toLowerCase();
      const value = attr.value;
      if (name.startsWith("on") || name === "formaction" || name === "action" || name === "ping") {
        el.removeAttribute(attr.name);
      } else if (name === "style") {
        el.setAttribute("style", cleanCss(value));
      } else if (name === "href" || name === "xlink:href") {
        if (!/^\s*(https?:|mailto:|#)/i.test(value)) el.removeAttribute(attr.name);
      } else if (name === "src" || name === "srcset" || name === "background" || name === "poster" || name === "data" || name === "lowsrc" || name === "dynsrc") {
        if (/^\s*cid:/i.test(value)) {
          const data = cidToData(value.trim());
          if (data) el.setAttribute(attr.name, data); else el.removeAttribute(attr.name);
        } else if (/^\s*data:image\//i.test(value) && name !== "srcset") {
          // an inline image: loads nothing
        } else {
          if (REMOTE.test(value) || name === "srcset") blocked++;
          el.removeAttribute(attr.name);
          if (el.localName === "img" && !el.getAttribute("alt")) el.setAttribute("alt", "[remote image blocked]");
        }
      }
    }
    if (el.localName === "a" && el.hasAttribute("href")) {
      el.setAttribute("target", "_blank");
      el.setAttribute("rel", "noopener noreferrer");
    }
  }

  const head = doc.head || doc.documentElement.insertBefore(doc.createElement("head"), doc.body);
  const csp = doc.createElement("meta");
  csp.httpEquiv = "Content-Security-Policy";
  csp.content = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; form-action 'none'";
  const referrer = doc.createElement("meta");
  referrer.name = "referrer";
  referrer.content = "no-referrer";
  head.prepend(csp, referrer);
  return { html: "<!DOCTYPE html>\n" + doc.documentElement.outerHTML, blocked };
}
