// Prepares a message's HTML body for display in the sandboxed "Message body"
// frame.
//
// What keeps hostile HTML harmless is the browser, not this code: the frame is
// sandboxed without allow-scripts, allow-same-origin or allow-forms, and its
// document carries a Content-Security-Policy that refuses every load except
// data: URLs (it also inherits the envelope's own policy). This pass runs on an
// inert DOMParser document (nothing in it executes or loads) and does what the
// sandbox cannot: it tells the reader how much remote content was blocked,
// shows inline (cid:) images, and removes active content and every remote
// reference it can recognise (CSS url(), image-set() and @import, spelled
// with CSS escapes or not; SVG <image>/<use>/<feImage> hrefs; SVG animations
// that would set one), so that nothing depends on a single layer.
//
// Needs nothing but the browser: `inlineImages` maps a lower-case Content-ID
// to its data: URL; `text.remoteImageAlt` labels a blocked image (one with
// no alt), `text.lang` and `text.title` go to a document that has none.
"use strict";
function securedocPrepareHtml(html, inlineImages, text) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  let blocked = 0;
  const REMOTE = /^\s*(https?:|\/\/|ftp:)/i;
  const INLINE_IMAGE = /^\s*data:image\//i;

  const cidToData = (ref) => inlineImages.get(ref.replace(/^cid:/i, "").toLowerCase()) || null;

  // CSS escapes that spell a letter, a digit or one of ( - _ @ are written
  // out, so that `u\72l(` or `@\69mport` reads as what the browser will see.
  // Any other escape stays as written: a decoded backslash stays an escape
  // (`\5c 75rl(` is the identifier "\75rl", never url), so nothing is decoded
  // twice.
  function unescapeCss(css) {
    return css.replace(/\\(?:([0-9a-f]{1,6})[ \t\r\n\f]?|([^\r\n\f0-9a-f]))/gi, (escape, hex, char) => {
      const decoded = hex ? String.fromCodePoint(Math.min(parseInt(hex, 16), 0x10ffff) || 0xfffd) : char;
      return /^[a-z0-9()@_-]$/i.test(decoded) ? decoded : escape;
    });
  }

  // The index just past the `)` that closes the function opened before
  // `start` (quoted strings skipped), or the end of the text: an unclosed
  // url( runs to the end in CSS too.
  function closingParen(css, start) {
    let depth = 1;
    for (let i = start; i < css.length; i++) {
      const c = css[i];
      if (c === "\\") i++;
      else if (c === '"' || c === "'") {
        for (i++; i < css.length && css[i] !== c; i++) if (css[i] === "\\") i++;
      } else if (c === "(") depth++;
      else if (c === ")" && --depth === 0) return i + 1;
    }
    return css.length;
  }

  // Replaces every url(), image-set() and @import with nothing that loads;
  // url(data:image/…) and url(#id) stay (they load nothing).
  function cleanCss(css) {
    css = unescapeCss(css);
    const LOADS = /(?:-webkit-)?image-set\(|url\(|@import\b/gi;
    let out = "";
    let from = 0;
    for (let match; (match = LOADS.exec(css));) {
      const name = match[0].toLowerCase();
      const end =
        name === "@import" ? css.indexOf(";", match.index) + 1 || css.length : closingParen(css, LOADS.lastIndex);
      const argument = css
        .slice(LOADS.lastIndex, end - 1)
        .trim()
        .replace(/^["']/, "");
      out += css.slice(from, match.index);
      if (name === "url(" && (INLINE_IMAGE.test(argument) || argument.startsWith("#"))) {
        out += css.slice(match.index, end);
      } else {
        blocked++;
        out += name === "@import" ? "" : "none";
      }
      from = LOADS.lastIndex = end;
    }
    return out + css.slice(from);
  }

  doc
    .querySelectorAll(
      "script, noscript, iframe, frame, frameset, object, embed, applet, meta, link, base, portal, template",
    )
    .forEach((el) => {
      if (el.localName === "link" && /stylesheet/i.test(el.getAttribute("rel") || "")) blocked++;
      el.remove();
    });
  // SVG animations can set any attribute, an href included, after this pass.
  for (const el of Array.from(doc.querySelectorAll("*"))) {
    if (/^(set|animate|animatemotion|animatetransform|animatecolor|discard)$/i.test(el.localName)) el.remove();
  }
  // Unwrap forms: keep what they show, drop where they would post.
  doc.querySelectorAll("form").forEach((form) => form.replaceWith(...form.childNodes));
  doc.querySelectorAll("style").forEach((style) => {
    style.textContent = cleanCss(style.textContent);
  });

  const SVG = "http://www.w3.org/2000/svg";
  for (const el of doc.querySelectorAll("*")) {
    const isLink = el.localName === "a" || el.localName === "area";
    for (const attr of Array.from(el.attributes)) {
      const name = attr.name.toLowerCase();
      const value = attr.value;
      if (name.startsWith("on") || name === "formaction" || name === "action" || name === "ping" || name === "target") {
        el.removeAttribute(attr.name);
      } else if (name === "href" || name === "xlink:href") {
        if (isLink) {
          if (!/^\s*(https?:|mailto:|#)/i.test(value)) el.removeAttribute(attr.name);
        } else if (!/^\s*#/.test(value) && !(el.localName === "image" && INLINE_IMAGE.test(value))) {
          // An SVG <image>, <use>, <feImage>, … may point only inside the
          // message (#id) or, for an image, at an inline one.
          if (/^\s*cid:/i.test(value) && cidToData(value.trim())) {
            el.setAttribute(attr.name, cidToData(value.trim()));
          } else {
            if (REMOTE.test(value)) blocked++;
            el.removeAttribute(attr.name);
          }
        }
      } else if (
        name === "src" ||
        name === "srcset" ||
        name === "background" ||
        name === "poster" ||
        name === "data" ||
        name === "lowsrc" ||
        name === "dynsrc"
      ) {
        if (/^\s*cid:/i.test(value)) {
          const data = cidToData(value.trim());
          if (data) el.setAttribute(attr.name, data);
          else el.removeAttribute(attr.name);
        } else if (INLINE_IMAGE.test(value) && name !== "srcset") {
          // an inline image: loads nothing
        } else {
          if (REMOTE.test(value) || name === "srcset") blocked++;
          el.removeAttribute(attr.name);
          // An image marked decorative (alt="") stays silent; one with no alt
          // at all says what is missing.
          if (el.localName === "img" && !el.hasAttribute("alt")) el.setAttribute("alt", text.remoteImageAlt);
        }
      } else if (name === "style" || (el.namespaceURI === SVG && /url|image-set|\\/i.test(value))) {
        // SVG presentation attributes (fill, filter, mask, clip-path, …) are CSS values.
        el.setAttribute(attr.name, cleanCss(value));
      }
    }
    // Links open in a new tab (the sandbox allows popups, nothing else), never in this page or its parent.
    if (isLink && el.hasAttribute("href")) {
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
  // The frame's document is a page of its own to a screen reader: it needs a
  // language (the message's own, else the envelope's) and a title.
  if (!doc.documentElement.getAttribute("lang") && text.lang) doc.documentElement.setAttribute("lang", text.lang);
  if (!doc.title.trim()) {
    doc.querySelectorAll("title").forEach((el) => el.remove());
    const title = doc.createElement("title");
    title.textContent = text.title || "";
    head.append(title);
  }
  return { html: "<!DOCTYPE html>\n" + doc.documentElement.outerHTML, blocked };
}
