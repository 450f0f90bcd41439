//! The checks of key release, in an order that gives nothing away:
//!
//! 1. The request's shape (bounded fields, a usable X25519 key): junk is
//!    refused before anything is counted or looked up.
//! 2. The envelope: is the recipient on this message? If not, the answer is
//!    `not_a_recipient` after the same Argon2 work as a password check,
//!    whatever the account or the password; no account's count moves.
//! 3. Only now, for a caller who holds the envelope: the lock, the limit per
//!    (client, account), the account's own attempt reserved atomically
//!    *before* the password is checked (so a burst on any number of
//!    replicas checks at most the limit), then the password.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use envelope_core::{ReleaseError, SecurityLevel};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::{remember, AppState, Kind, Proven, Refusal, ReleaseRequest};
use crate::{Account, Error, Limit};

/// X25519 public keys of small order (with bit 255 cleared, which X25519
/// ignores): a shared secret with any of them is known in advance, so they
/// are refused before anything else. Little-endian hex; from the list
/// libsodium and the X25519 literature keep (0, 1, the two points of order
/// 8, and p - 1, p, p + 1).
const LOW_ORDER_POINTS: [&str; 7] = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

pub(super) fn is_message_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(super) fn is_address(address: &str) -> bool {
    (3..=320).contains(&address.len())
        && address.contains('@')
        && address.chars().all(|c| c.is_ascii_graphic())
}

pub(super) fn malformed() -> Refusal {
    Refusal::new(
        Kind::BadRequest,
        "A field is too long or malformed: message_id is 32 hex digits, recipient an e-mail address, password at most 1024 bytes.",
    )
}

pub(super) fn not_a_recipient() -> Refusal {
    Refusal::new(
        Kind::NotARecipient,
        "This message was not sent to this address. Check the address, or ask the sender.",
    )
}

/// The opener's ephemeral key: 32 bytes of base64, not a low-order point.
pub(super) fn ephemeral_key(encoded: &str) -> Result<Vec<u8>, Refusal> {
    let key = STANDARD
        .decode(encoded)
        .ok()
        .filter(|key| key.len() == 32)
        .ok_or_else(|| {
            Refusal::new(
                Kind::BadRequest,
                "public_key must be a base64 X25519 public key (32 bytes).",
            )
        })?;
    let mut masked = key.clone();
    masked[31] &= 0x7f;
    if LOW_ORDER_POINTS.contains(&crate::hex(&masked).as_str()) {
        return Err(Refusal::new(
            Kind::BadRequest,
            "public_key is not a usable X25519 public key (a point of small order).",
        ));
    }
    Ok(key)
}

pub(super) async fn message_security(
    state: &AppState,
    message_id: &str,
) -> Result<SecurityLevel, Error> {
    let stored = state.store.message_security(message_id).await?;
    Ok(super::parse_level(stored.as_deref()))
}

fn client_limit(state: &AppState) -> Limit {
    Limit {
        max: state.settings.client_failure_limit,
        window_seconds: state.settings.client_window_seconds,
    }
}

fn rate_limited(state: &AppState) -> Refusal {
    Refusal::new(
        Kind::RateLimited,
        "Too many attempts from this network. Wait a few minutes and try again.",
    )
    .retry_after(state.settings.client_window_seconds.max(1) as u64)
}

fn busy() -> Refusal {
    Refusal::new(
        Kind::Busy,
        "The server is busy checking other passwords. Try again in a moment.",
    )
    .retry_after(1)
}

fn locked(until: Option<i64>) -> Refusal {
    let refusal = Refusal::new(
        Kind::Locked,
        "This account is locked after too many wrong passwords. Wait until the time shown, or reset your password.",
    );
    match until {
        Some(until) => refusal.with("locked_until", until),
        None => refusal,
    }
}

/// What a request that passed every check gets: the message's content key
/// (to seal to the opener, or for Open Online to use in memory), and the
/// browser key to remember, if one was asked for and may be.
pub(super) struct Granted {
    pub key: Zeroizing<Vec<u8>>,
    pub remember: Option<(String, String)>,
}

/// Decides one request; `proven` learns whether it named a real envelope.
/// The caller checked the request's own key (the opener's ephemeral key)
/// already; everything else is checked here, for key release and Open
/// Online alike.
pub(super) async fn decide(
    state: &AppState,
    request: &ReleaseRequest,
    client: &str,
    proven: &mut Proven,
) -> Result<Granted, Refusal> {
    let settings = &state.settings;
    if !is_message_id(&request.message_id)
        || !is_address(&request.recipient)
        || request.password.len() > 1024
    {
        return Err(malformed());
    }
    let remember_key = request
        .remember_key
        .as_deref()
        .map(remember::parse_public_key)
        .transpose()?;

    if !state
        .store
        .is_recipient(&request.message_id, &request.recipient)
        .await?
    {
        return Err(stranger(state, request, client).await);
    }
    proven.envelope = true;
    let address = request.recipient.to_ascii_lowercase();
    let security = message_security(state, &request.message_id).await?;
    if security == SecurityLevel::Low {
        // The sender chose no password: the envelope itself is the credential.
        return granted(state, request, None).await;
    }
    if let Some(code) = &request.passcode {
        // A one-time code stands in for the password, for this one message
        // (`passcode`): nothing else may come with it.
        if !request.password.is_empty()
            || request.remembered.is_some()
            || request.remember_key.is_some()
        {
            return Err(Refusal::new(
                Kind::BadRequest,
                "Send either a passcode or a password (and Remember me), not both.",
            ));
        }
        super::passcode::check_code(state, &request.message_id, &address, code).await?;
        return granted(state, request, None).await;
    }

    let account = state.store.account(&address).await?;
    if let Some(until) = account.as_ref().and_then(|a| a.locked_until) {
        return Err(locked(Some(until)));
    }
    // One client cannot make more than its share of checks on one account
    // (and so cannot use the account's lockout up alone, from behind a
    // proxy everyone shares, without `trusted_proxies`).
    let per_client = format!("release|{client}|{address}");
    if !state
        .store
        .reserve_attempt(&per_client, client_limit(state))
        .await?
    {
        return Err(rate_limited(state));
    }

    if let (Some(remembered), true) = (&request.remembered, request.password.is_empty()) {
        remember::check(state, request, remembered, security).await?;
        let account = account.ok_or_else(remember::not_remembered)?;
        state.store.release_attempt(&per_client).await?;
        may_open(state, &account)?;
        return granted(state, request, None).await;
    }

    // The account's attempt, reserved before the (slow) check.
    let reserved = match &account {
        Some(_) => {
            let reserved = state
                .store
                .reserve_login(
                    &address,
                    settings.lockout_attempts,
                    settings.lockout_seconds,
                )
                .await?;
            if reserved.is_none() {
                state.store.release_attempt(&per_client).await?;
                let until = state
                    .store
                    .account(&address)
                    .await?
                    .and_then(|a| a.locked_until);
                return Err(locked(until));
            }
            reserved
        }
        None => None,
    };
    let right = match state
        .passwords
        .verify(
            request.password.clone(),
            account.as_ref().map(|a| a.password_hash.clone()),
        )
        .await
    {
        Ok(right) => right,
        Err(Error::Busy) => {
            // Nothing was checked: give both attempts back.
            state.store.release_attempt(&per_client).await?;
            if reserved.is_some() {
                state
                    .store
                    .release_login(&address, settings.lockout_attempts)
                    .await?;
            }
            return Err(busy());
        }
        Err(error) => return Err(error.into()),
    };
    let Some(account) = account.filter(|_| right) else {
        // The caller holds the envelope, so it may learn how many tries are
        // left; no account looks like a wrong password, without a count.
        let refusal = Refusal::new(Kind::WrongPassword, "Wrong password.");
        return Err(match reserved {
            Some(count) if count >= settings.lockout_attempts => {
                // This attempt locked the account: say until when, at once.
                let until = state
                    .store
                    .account(&address)
                    .await?
                    .and_then(|a| a.locked_until);
                let refusal = refusal.with("attempts_left", 0);
                match until {
                    Some(until) => refusal.with("locked_until", until),
                    None => refusal,
                }
            }
            Some(count) => {
                refusal.with("attempts_left", (settings.lockout_attempts - count).max(0))
            }
            None => refusal,
        });
    };
    state.store.record_successful_login(&address).await?;
    state.store.release_attempt(&per_client).await?;
    may_open(state, &account)?;
    let remember = match (security, remember_key) {
        (SecurityLevel::Medium, Some(key)) => Some((account.address.clone(), key)),
        _ => None,
    };
    granted(state, request, remember).await
}

/// A caller that does not hold an envelope for this address: the same
/// answer and the same Argon2 work whatever it sent, limited per client.
async fn stranger(state: &AppState, request: &ReleaseRequest, client: &str) -> Refusal {
    let key = format!("release|{client}|not-a-recipient");
    match state.store.reserve_attempt(&key, client_limit(state)).await {
        Ok(true) => {}
        Ok(false) => return rate_limited(state),
        Err(error) => return error.into(),
    }
    match state.passwords.verify(request.password.clone(), None).await {
        Ok(_) => not_a_recipient(),
        Err(Error::Busy) => {
            let _ = state.store.release_attempt(&key).await;
            busy()
        }
        Err(error) => error.into(),
    }
}

/// Confirmed, enabled, password not expired.
fn may_open(state: &AppState, account: &Account) -> Result<(), Refusal> {
    if !account.confirmed {
        return Err(Refusal::new(
            Kind::Unconfirmed,
            "Confirm your e-mail address first: follow the link in the confirmation e-mail.",
        ));
    }
    if account.disabled {
        return Err(crate::http::lifecycle::disabled_refusal(
            &state.settings.accounts,
            account.disabled_for_inactivity,
        ));
    }
    if account.must_change_password {
        // A mailed first-time password opens the portal's "choose your
        // password" page only, not messages.
        return Err(Refusal::new(
            Kind::PasswordExpired,
            "Log in to the portal with the first-time password you were mailed and choose your own password first.",
        ));
    }
    if let (Some(days), Some(set_at)) = (state.settings.policy.expiry_days, account.password_set_at)
    {
        if state.store.now() - set_at > i64::from(days) * 86_400 {
            return Err(Refusal::new(
                Kind::PasswordExpired,
                format!("Your password has expired (passwords last {days} days). Use \u{201c}Forgot password?\u{201d} to choose a new one."),
            ));
        }
    }
    Ok(())
}

/// The key for answering a message its recipient opened in the envelope
/// (their answer token was checked): only while the message may still be
/// opened and, unless it needs no password, while their account may open.
pub(super) async fn answer_key(
    state: &AppState,
    request: &ReleaseRequest,
) -> Result<Granted, Refusal> {
    if message_security(state, &request.message_id).await? != SecurityLevel::Low {
        let account = state
            .store
            .account(&request.recipient.to_ascii_lowercase())
            .await?
            .ok_or_else(not_a_recipient)?;
        may_open(state, &account)?;
    }
    granted(state, request, None).await
}

/// The message's content key, unless it is gone (expired, revoked, past
/// retention) or locked by its sender.
async fn granted(
    state: &AppState,
    request: &ReleaseRequest,
    remember: Option<(String, String)>,
) -> Result<Granted, Refusal> {
    let sealed = super::releasable(state.store.key_state(&request.message_id).await?)?;
    let key = state
        .master_key
        .open(&request.message_id, &sealed)
        .ok_or_else(|| {
            Error::MasterKey(format!(
                "the key of message {} does not open under this master key",
                request.message_id
            ))
        })?;
    Ok(Granted { key, remember })
}

/// What lets the opener answer the message (Reply, Reply all, Forward, as
/// far as the sender allowed them): the kinds and a token for them
/// (`crate::answer_token`), sealed to the same one-time key as the content
/// key. None when the sender allowed no answer.
async fn answer_token(
    state: &AppState,
    request: &ReleaseRequest,
    public_key: &[u8],
) -> Result<Option<Value>, Refusal> {
    let Some(flags) = state.store.message_flags(&request.message_id).await? else {
        return Ok(None);
    };
    let kinds = crate::http::online::answer_kinds(&flags);
    if kinds.is_empty() {
        return Ok(None);
    }
    let expires = state.store.now() + state.settings.compose.token_seconds;
    let token = crate::answer_token::issue(
        &state.master_key,
        &request.message_id,
        &request.recipient,
        expires,
    );
    let mut answer = sealed_json(envelope_core::seal_answer_token(
        public_key,
        &request.message_id,
        token.as_bytes(),
    ))?;
    answer["kinds"] = json!(kinds);
    answer["expires"] = json!(expires);
    Ok(Some(answer))
}

/// `{"enc", "ciphertext"}` of something sealed to the opener's key, base64.
fn sealed_json(sealed: Result<(Vec<u8>, Vec<u8>), ReleaseError>) -> Result<Value, Refusal> {
    let (enc, ciphertext) = sealed.map_err(|_| {
        Refusal::new(
            Kind::BadRequest,
            "public_key is not a usable X25519 public key.",
        )
    })?;
    Ok(json!({ "enc": STANDARD.encode(enc), "ciphertext": STANDARD.encode(ciphertext) }))
}

/// The key-release answer: the content key sealed to the opener's
/// ephemeral key, with a `remember_id` when a browser asked to be remembered.
pub(super) async fn sealed_answer(
    state: &AppState,
    request: &ReleaseRequest,
    public_key: &[u8],
    granted: Granted,
) -> Result<Value, Refusal> {
    let mut body = sealed_json(envelope_core::seal_released_key(
        public_key,
        &request.message_id,
        &granted.key,
    ))?;
    // A one-time code reads one message; answering needs an account.
    let answer = match request.passcode {
        Some(_) => None,
        None => answer_token(state, request, public_key).await?,
    };
    if let Some(answer) = answer {
        body["answer"] = answer;
    }
    if let Some((address, public_key)) = granted.remember {
        let id = state
            .store
            .remember_key(&address, &public_key, state.settings.remember_seconds)
            .await?;
        body["remember_id"] = json!(id);
    }
    Ok(body)
}
