//! Staff signed in by the organisation's reverse proxy (docs/PORTAL.md,
//! "Staff"): with `[portal] trusted_sso_header`, a request that comes
//! straight from one of `trusted_proxies` and names an address of
//! `internal_domains` in that header logs in as that member of staff. The
//! first such login makes the staff account; an existing account of the
//! address becomes staff.
//!
//! The header is believed only from the proxy's own connection: a client
//! that sends it directly, or through an untrusted hop, is ignored (and the
//! proxy must remove it from what clients send). An address outside
//! `internal_domains` is refused, never given an account.

use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::Response;
use securedoc_templates::{fill, text};
use zeroize::Zeroizing;

use super::session::{start, FULL};
use crate::http::pages::notice;
use crate::http::{AppState, FromTrustedProxy};
use crate::Error;

/// Staff accounts: the organisation's domains and the proxy's header.
#[derive(Debug, Clone, Default)]
pub struct StaffSettings {
    /// `internal_domains`, lower-cased.
    pub domains: Vec<String>,
    /// `[portal] trusted_sso_header`.
    pub sso_header: Option<HeaderName>,
}

impl StaffSettings {
    /// Whether `address` is in the organisation's domains.
    pub(crate) fn is_staff_address(&self, address: &str) -> bool {
        let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }
}

/// What the proxy's header says about this request.
enum SignedIn {
    /// No header to believe: the ordinary login.
    Nobody,
    /// A member of staff, by address (lower-case).
    Staff(String),
    /// An address the header may not sign in (not an address, or outside
    /// `internal_domains`).
    Refused,
}

fn signed_in(state: &AppState, headers: &HeaderMap, proxy: FromTrustedProxy) -> SignedIn {
    let staff = &state.settings.staff;
    let Some(name) = &staff.sso_header else {
        return SignedIn::Nobody;
    };
    let Some(value) = headers.get(name) else {
        return SignedIn::Nobody;
    };
    if !proxy.0 {
        tracing::warn!(header = %name, "ignored a sign-on header that did not come from a trusted proxy");
        return SignedIn::Nobody;
    }
    let address = value
        .to_str()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if envelope_core::validate_address("sso", &address).is_err()
        || !staff.is_staff_address(&address)
    {
        return SignedIn::Refused;
    }
    SignedIn::Staff(address)
}

/// The login page's first look: with a believed sign-on header, the
/// session of that member of staff (going on to `next`), or the page
/// refusing it; `None` for the ordinary login. After "Log out" (`out`), the
/// header does not log in again at once, or logging out could not end the
/// session.
pub(super) async fn log_in(
    state: &AppState,
    headers: &HeaderMap,
    proxy: FromTrustedProxy,
    (lang, client, next): (&'static str, &str, &str),
    out: bool,
) -> Option<Result<Response, Error>> {
    let address = match signed_in(state, headers, proxy) {
        SignedIn::Nobody => return None,
        SignedIn::Staff(_) if out => return None,
        SignedIn::Refused => {
            let domains = state.settings.staff.domains.join(", ");
            return Some(Ok(notice(
                StatusCode::FORBIDDEN,
                lang,
                text(lang, "staff.sso.title"),
                vec![fill(
                    &text(lang, "staff.sso.refused"),
                    &[("domains", domains)],
                )],
            )));
        }
        SignedIn::Staff(address) => address,
    };
    Some(staff_session(state, headers, &address, lang, client, next).await)
}

async fn staff_session(
    state: &AppState,
    headers: &HeaderMap,
    address: &str,
    lang: &'static str,
    client: &str,
    next: &str,
) -> Result<Response, Error> {
    match state.store.account(address).await? {
        Some(account) if account.disabled => {
            let sentence = crate::http::lifecycle::disabled_sentence(
                &state.settings.accounts,
                lang,
                account.disabled_for_inactivity,
            );
            state
                .store
                .audit(Some(address), None, client, "portal_login_refused")
                .await?;
            return Ok(notice(
                StatusCode::FORBIDDEN,
                lang,
                text(lang, "staff.sso.title"),
                vec![sentence],
            ));
        }
        Some(_) => {
            state.store.set_internal(address, true).await?;
        }
        None => {
            // A password nobody knows: the proxy lets this account in, and
            // a password login for it can never succeed.
            let secret = Zeroizing::new(crate::http::online::secret());
            let hash = state.passwords.hash(secret).await?;
            state.store.sso_account(address, lang, &hash).await?;
            tracing::info!(address, "made a staff account at its first single sign-on");
        }
    }
    state.store.record_successful_login(address).await?;
    state
        .store
        .audit(Some(address), None, client, "portal_login_sso")
        .await?;
    start(state, headers, address, client, FULL, next).await
}
