//! # securedoc-templates
//!
//! Everything securedoc shows a person is rendered here, with minijinja. This
//! first part renders the envelope, `securedoc.html`: the header fields for a
//! first look, the opener's script and the gzipped WebAssembly decryptor inline,
//! and the envelope's bytes as an inert base64 data block.
//!
//! The page's Content-Security-Policy allows exactly its own inline script (by
//! hash) and WebAssembly compilation, and nothing that loads from a network:
//! `connect-src 'none'` in passphrase mode.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod email;
mod envelope_page;
mod pages;

pub use email::{render_email, Email};
pub use minijinja::{context, Value};

pub use pages::{
    fill, language, languages, render_account_email, render_page, render_receipt_email,
    security_questions, text, OPEN_ONLINE_JS, PAGE_CSP, PASSWORD_CHECK_JS, PORTAL_CSS,
    PORTAL_DRAFTS_JS, PORTAL_EDITOR_JS, PORTAL_SESSION_JS,
};

pub use envelope_page::{
    envelope_text_from_html, sealed_page, EnvelopePage, OPENER_GLUE, OPENER_WASM,
};
