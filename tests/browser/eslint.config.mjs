// ESLint for securedoc's JavaScript: the envelope opener and the key server's
// page scripts (templates/, plain browser scripts) and these tests (Node ES
// modules). Run by `npm run lint` (and so by `just test`); formatting is
// prettier's (.prettierrc.json), so no style rules here.

import js from "@eslint/js";
import globals from "globals";

export default [
  {
    ignores: ["target/**", "**/node_modules/**"],
  },
  {
    files: ["templates/**/*.js"],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: "script",
      globals: { ...globals.browser, ...globals.worker },
    },
    rules: {
      ...js.configs.recommended.rules,
      // Each opener file defines one function for main.js to use.
      "no-unused-vars": ["error", { vars: "local", args: "after-used", caughtErrors: "none" }],
    },
  },
  {
    // The envelope opener is one script once built: wasm-bindgen's glue, then
    // the files of templates/envelope/, each defining one function. main.js
    // alone hands each part what it needs: these are the names it uses.
    files: ["templates/envelope/main.js"],
    languageOptions: {
      globals: {
        securedocService: "readonly",
        securedocPrepareHtml: "readonly",
        securedocRefusals: "readonly",
        securedocRemember: "readonly",
        securedocEnvelopeBytes: "readonly",
        securedocOpener: "readonly",
      },
    },
  },
  {
    files: ["templates/envelope/decryptor.js"],
    languageOptions: { globals: { wasm_bindgen: "readonly" } },
  },
  {
    files: ["tests/browser/**/*.mjs", "tests/vectors/*.mjs"],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: "module",
      // page.evaluate() bodies run in the browser.
      globals: { ...globals.node, ...globals.browser },
    },
    rules: {
      ...js.configs.recommended.rules,
      "no-unused-vars": ["error", { caughtErrors: "none" }],
    },
  },
];
