//! # key-server
//!
//! The securedoc key server. Senders (the CLI, the mail hook) register each
//! message: its id, recipients, expiry, flags and its content key, which is
//! stored only sealed under the server's master key. Recipients, later, get
//! that key released to them after their password is checked (docs/ARCHITECTURE.md §3).
//!
//! State lives in the store (SQLite by default, PostgreSQL for several
//! replicas), never in process memory, so replicas behind a load balancer agree.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod answer_token;
mod clock;
mod config;
mod error;
mod http;
mod mail;
mod mail_worker;
mod master_key;
mod metrics;
mod password;
mod policy;
mod private_fs;
mod store;

pub use clock::{Clock, CLOCK_FILE_VARIABLE};
pub use config::{AccountLifecycle, AccountsConfig, Config, FirstContact, PortalConfig};
pub use error::Error;
pub use http::{
    app, password_expiry_notice, serve, serve_with_clock, sweep_once, AppState,
    EnvelopeRegistration, Kind, MessageRegistration, Refusal, RegisteredEnvelope, Settings,
};
pub use mail::{MailAttachment, Mailer, NOTIFICATION_HEADER};
pub use mail_worker::MailQueueSettings;
pub use master_key::MasterKey;
pub use metrics::serve_metrics_for;
pub use password::PasswordHasher;
pub use policy::{history_candidates, PasswordPolicy, Person, Preset, Violation};
pub use private_fs::create_private_dir;
pub use store::{
    Account, EnvelopeState, KeyState, Limit, LinkPurpose, MailStatus, NewAccount, NewEnvelope,
    NewMessage, NewRegistration, NewStoredEnvelope, Opening, PendingRegistration, Profile,
    QueuedMail, ReceiptDetails, RecipientStatus, RememberedKey, Removed, Revoked, SecurityAnswer,
    Sender, SenderInfo, Store,
};

/// Random bytes from the operating system.
pub(crate) fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes)
        .expect("the operating system's random number generator failed");
    bytes
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
