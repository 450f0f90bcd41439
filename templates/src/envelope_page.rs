//! Rendering `securedoc.html`.

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use envelope_core::{Header, Mode};
use minijinja::{context, Environment};
use sha2::{Digest, Sha256};

/// The passphrase-mode opener's WebAssembly module, after wasm-bindgen.
pub const OPENER_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/opener-passphrase.wasm"));
/// wasm-bindgen's JavaScript glue for [`OPENER_WASM`] (no-modules target: it
/// defines a global `wasm_bindgen`).
pub const OPENER_GLUE: &str = include_str!(concat!(env!("OUT_DIR"), "/opener-passphrase-glue.js"));

/// The parts of one mode's opener, built by build.rs.
struct Opener {
    /// The whole script: the glue, then the page logic.
    script: &'static str,
    /// The script and the module, gzipped together.
    bundle_gz: &'static [u8],
}

const PASSPHRASE_OPENER: Opener = Opener {
    script: include_str!(concat!(env!("OUT_DIR"), "/opener-passphrase-script.js")),
    bundle_gz: include_bytes!(concat!(env!("OUT_DIR"), "/opener-passphrase-bundle.gz")),
};
const SERVER_OPENER: Opener = Opener {
    script: include_str!(concat!(env!("OUT_DIR"), "/opener-server-script.js")),
    bundle_gz: include_bytes!(concat!(env!("OUT_DIR"), "/opener-server-bundle.gz")),
};

const TEMPLATE: &str = include_str!("../envelope/envelope.html.j2");
const CSS: &str = include_str!("../envelope/envelope.css");
const BOOTSTRAP_JS: &str = include_str!("../envelope/bootstrap.js");
/// Stands in the rendered page where the envelope's base64 is streamed.
const MARKER: &str = "\u{0}SECUREDOC-ENVELOPE-DATA\u{0}";

/// The parts of the page that depend only on the mode, built once per mode.
struct Static {
    script_hashes: String,
    bundle_b64: String,
}

fn statics(mode: Mode) -> &'static Static {
    static PASSPHRASE: OnceLock<Static> = OnceLock::new();
    static SERVER: OnceLock<Static> = OnceLock::new();
    let (cell, opener) = match mode {
        Mode::Passphrase => (&PASSPHRASE, &PASSPHRASE_OPENER),
        Mode::Server => (&SERVER, &SERVER_OPENER),
    };
    cell.get_or_init(|| {
        // "</script" inside the inline script would end it early.
        assert!(
            !BOOTSTRAP_JS.to_ascii_lowercase().contains("</script"),
            "inline script must not contain </script"
        );
        let hash = |script: &str| {
            format!(
                "'sha256-{}'",
                STANDARD.encode(Sha256::digest(script.as_bytes()))
            )
        };
        Static {
            script_hashes: format!("{} {}", hash(BOOTSTRAP_JS), hash(opener.script)),
            bundle_b64: STANDARD.encode(opener.bundle_gz),
        }
    })
}

/// The envelope template, parsed once: every envelope (one per recipient,
/// many a second in the mail hook) renders the same template.
fn envelope_environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.add_template("envelope.html", TEMPLATE)
            .expect("the envelope template parses");
        env
    })
}

/// The envelope page's rendered text around the data block.
pub struct EnvelopePage {
    before: String,
    after: String,
}

impl EnvelopePage {
    /// Renders the page for `header` (the header sealed in the envelope).
    pub fn new(header: &Header) -> EnvelopePage {
        let statics = statics(header.mode);
        // Passphrase mode makes no request at all; server mode talks to the
        // key server sealed in the header, and to nothing else.
        let connect = match (&header.mode, &header.key_server) {
            (Mode::Server, Some(origin)) => origin.clone(),
            _ => "'none'".to_string(),
        };
        // …and posts only the Open Online form, to the same key server.
        let csp = format!(
            "default-src 'none'; script-src {} 'wasm-unsafe-eval'; style-src 'unsafe-inline'; \
             img-src data: blob:; worker-src blob:; connect-src {connect}; form-action {connect}; base-uri 'none'",
            statics.script_hashes
        );
        // The recipient's language, as sealed in the header (English when
        // absent or unknown): only that language's strings go in the page.
        let lang = crate::pages::language(header.lang.as_deref().unwrap_or("en"));
        // How the page names the key server: the organisation that runs it,
        // else its host.
        let key_server_name = header.organization.clone().or_else(|| {
            header
                .key_server
                .as_deref()
                .map(|url| url.split("://").nth(1).unwrap_or(url).to_string())
        });
        let page = envelope_environment()
            .get_template("envelope.html")
            .expect("just added")
            .render(context! {
                csp,
                version => env!("CARGO_PKG_VERSION"),
                header,
                created_iso => iso_time(header.created),
                key_server_name,
                expires_iso => header.expires.map(iso_time),
                css => CSS,
                opener_bundle => statics.bundle_b64,
                bootstrap => BOOTSTRAP_JS,
                // The page's words, and the opener script's for its inert JSON data block.
                t => minijinja::Value::from_serialize(crate::pages::opener_strings(lang)),
                opener_strings => minijinja::Value::from_safe_string(crate::pages::opener_strings_json(lang)),
                envelope_marker => MARKER,
                online => minijinja::Value::from_serialize(crate::pages::section(lang, "online")),
                compose => minijinja::Value::from_serialize(crate::pages::section(lang, "compose")),
            })
            .expect("the envelope template renders");
        let (before, after) = page
            .split_once(MARKER)
            .expect("the template places the data marker once");
        EnvelopePage {
            before: before.to_string(),
            after: after.to_string(),
        }
    }

    /// The page up to the envelope's base64 text.
    pub fn before(&self) -> &str {
        &self.before
    }

    /// The page after the envelope's base64 text.
    pub fn after(&self) -> &str {
        &self.after
    }

    /// The length of the whole page around an envelope of `envelope_len`
    /// bytes (binary): known before the envelope is sealed.
    pub fn len_with(&self, envelope_len: usize) -> usize {
        self.before.len() + envelope_len.div_ceil(3) * 4 + self.after.len()
    }

    /// The whole page around `envelope` (binary: header, key slot, sealed payload).
    pub fn with_envelope(&self, envelope: &[u8]) -> String {
        let text = envelope_core::to_text(envelope);
        let mut html = String::with_capacity(self.len_with(envelope.len()));
        html.push_str(&self.before);
        html.push_str(&text);
        html.push_str(&self.after);
        html
    }
}

/// One whole `securedoc.html` in memory: `sealer`'s head with `key_slot`
/// (empty in server mode), the message sealed, and the page around it. For
/// envelopes that go straight into a mail (the key server's answers, the
/// mail hook); `securedoc seal` streams large ones to a file instead.
pub fn sealed_page(
    sealer: &envelope_core::Sealer,
    key_slot: &[u8],
    message: &envelope_core::Packed,
) -> Result<String, envelope_core::SealError> {
    let bytes = sealer.seal(key_slot, message, |_| {})?;
    Ok(EnvelopePage::new(sealer.header()).with_envelope(&bytes))
}

/// `2026-11-22T10:00:00Z` for Unix seconds.
fn iso_time(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Finds the envelope's base64 text in a `securedoc.html` page (the inverse of
/// writing [`EnvelopePage::before`], the base64 and [`EnvelopePage::after`]); `None` if the page has no envelope data block.
/// Server-mode pages carry it in a `<textarea>` (the Open Online form posts
/// it); passphrase-mode pages of this release in a `<script
/// type="application/octet-stream">`, of the previous one in a `<textarea>`
/// without `form`; the first releases used the script for both.
pub fn envelope_text_from_html(page: &str) -> Option<&str> {
    const FORMS: [(&str, &str); 3] = [
        (
            "<textarea name=\"envelope\" form=\"open-online\" hidden readonly id=\"securedoc-envelope\">",
            "</textarea>",
        ),
        (
            "<textarea name=\"envelope\" hidden readonly id=\"securedoc-envelope\">",
            "</textarea>",
        ),
        (
            "<script type=\"application/octet-stream\" id=\"securedoc-envelope\">",
            "</script>",
        ),
    ];
    FORMS.iter().find_map(|(open, close)| {
        let start = page.find(open)? + open.len();
        let len = page[start..].find(close)?;
        Some(&page[start..start + len])
    })
}
