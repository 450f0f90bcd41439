//! HTTP: one `AppState`, one router, one error-to-response mapping.

mod answers;
mod client;
mod connections;
mod error;
mod health;
pub(crate) mod lifecycle;
mod messages;
mod observed;
mod online;
mod opened;
mod pages;
pub(crate) mod portal;
pub(crate) mod pull;
mod release;
mod sender_controls;

pub use lifecycle::password_expiry_notice;
pub use messages::{EnvelopeRegistration, MessageRegistration, RegisteredEnvelope};

use std::sync::Arc;

use axum::Router;
use tokio::sync::Notify;

pub use client::{ClientAddr, FromTrustedProxy};
pub use error::{ApiJson, Kind, Refusal};

pub(crate) use connections::{serve_connections, ConnectionLimits};

use crate::password::PasswordHasher;
use crate::{Config, Error, Mailer, MasterKey, PasswordPolicy, Store};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// The master key.
    pub master_key: Arc<MasterKey>,
    /// Password hashing.
    pub passwords: PasswordHasher,
    /// Limits from the configuration.
    pub settings: Settings,
    /// Where the server's mail goes (through the queue in the store).
    pub mailer: Mailer,
    /// Wakes this replica's mail worker when a handler queues a mail.
    pub mail_wake: Arc<Notify>,
    /// Open Online's envelopes and messages, in this process's memory only.
    pub held: Arc<online::Held>,
    /// The largest envelope `/open` accepts, bytes.
    pub open_online_max_bytes: usize,
    /// The largest envelope a sender may store for pull delivery, bytes.
    pub pull_max_bytes: usize,
}

/// The limits handlers apply, from [`Config`].
#[derive(Clone, Debug)]
pub struct Settings {
    /// Wrong passwords before a lock.
    pub lockout_attempts: i64,
    /// Lock duration, seconds.
    pub lockout_seconds: i64,
    /// Password checks per (client address, account) per window.
    pub client_failure_limit: i64,
    /// The window, seconds.
    pub client_window_seconds: i64,
    /// The password rules.
    pub policy: PasswordPolicy,
    /// The server's public origin, for links in mail.
    pub public_url: String,
    /// From address of the server's mail.
    pub mail_from: String,
    /// The organisation that runs this key server, for envelopes to name it.
    pub organization_name: Option<String>,
    /// Confirmation links work this long, seconds.
    pub confirm_link_seconds: i64,
    /// Reset links work this long, seconds.
    pub reset_link_seconds: i64,
    /// Wrong security answers per reset link.
    pub reset_attempts: i64,
    /// "Remember me" lasts this long, seconds.
    pub remember_seconds: i64,
    /// How the mail queue retries and keeps rows.
    pub mail_queue: crate::mail_worker::MailQueueSettings,
    /// Proxies whose forwarding headers name the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// What an answer (Reply, Reply all, Forward) may be and reach.
    pub compose: online::ComposeLimits,
    /// Every key is deleted this long after its message was registered.
    pub retention_seconds: i64,
    /// The portal's sessions and pages.
    pub portal: portal::PortalSettings,
    /// Password expiry warnings, inactivity, the help desk (`[accounts]`).
    pub accounts: crate::config::AccountLifecycle,
    /// Staff accounts: their domains and the proxy's sign-on header.
    pub staff: portal::StaffSettings,
}

impl AppState {
    /// State for `config`, with an open store and master key.
    pub fn new(config: &Config, store: Store, master_key: MasterKey) -> Result<AppState, Error> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let (lockout_attempts, lockout_minutes) = config.lockout();
        Ok(AppState {
            store,
            master_key: Arc::new(master_key),
            passwords: PasswordHasher::with_queue(
                config.password_m_kib,
                config.password_t,
                config.password_p,
                config.password_concurrency.unwrap_or(cores),
                config.password_queue,
            )?,
            settings: Settings {
                lockout_attempts: lockout_attempts.into(),
                lockout_seconds: i64::from(lockout_minutes) * 60,
                client_failure_limit: config.client_failure_limit.into(),
                client_window_seconds: i64::from(config.client_window_minutes) * 60,
                policy: config.password_rules()?,
                public_url: config.public_url.trim_end_matches('/').to_string(),
                mail_from: config.mail_from.clone(),
                organization_name: config.organization_name()?,
                confirm_link_seconds: i64::from(config.confirm_link_hours) * 3600,
                reset_link_seconds: i64::from(config.reset_link_minutes) * 60,
                reset_attempts: config.reset_attempts.max(1).into(),
                remember_seconds: i64::from(config.remember_days) * 86_400,
                mail_queue: crate::mail_worker::MailQueueSettings {
                    from: config.mail_from.clone(),
                    max_attempts: config.mail_max_attempts.max(1).into(),
                    retry_seconds: config.mail_retry_seconds.into(),
                    retention_seconds: i64::from(config.mail_retention_days) * 86_400,
                },
                trusted_proxies: config.trusted_proxy_networks()?,
                compose: online::ComposeLimits {
                    max_files: config.compose_max_files as usize,
                    max_files_bytes: config.compose_max_files_mb as usize * 1024 * 1024,
                    max_message_bytes: config.compose_max_message_mb as usize * 1024 * 1024,
                    reply_domains: config
                        .reply_domains
                        .iter()
                        .map(|d| d.trim().to_ascii_lowercase())
                        .collect(),
                    forward_outside: config.forward_outside,
                    expires_seconds: i64::from(config.answer_expires_days.max(1)) * 86_400,
                    token_seconds: i64::from(config.answer_token_minutes.max(1)) * 60,
                    plain_domains: config.plain_answer_domains()?,
                    compose_domains: config.compose_domains(),
                },
                retention_seconds: i64::from(config.retention_days) * 86_400,
                portal: portal::PortalSettings::new(&config.portal, &config.public_url),
                accounts: config.account_lifecycle()?,
                staff: portal::StaffSettings {
                    domains: config.staff_domains(),
                    sso_header: config.sso_header()?,
                },
            },
            mailer: Mailer::new(config.smtp_url.as_deref(), &config.outbox_dir())?,
            mail_wake: Arc::new(Notify::new()),
            held: Arc::new(online::held(config)),
            open_online_max_bytes: config.open_online_max_mb as usize * 1024 * 1024,
            pull_max_bytes: config.portal.max_envelope_mb as usize * 1024 * 1024,
        })
    }
}

/// The whole application, for `serve` and for tests.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(messages::router())
        .merge(sender_controls::router())
        .merge(release::router())
        .merge(pages::router())
        .merge(online::router())
        .merge(portal::router())
        // Requests are small JSON documents and forms; anything larger is
        // refused before it is read.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(64 * 1024))
        // Except an envelope posted to Open Online, up to its own limit.
        .merge(online::envelope_router(
            state.open_online_max_bytes,
            state.settings.compose.max_message_bytes,
        ))
        // And an answer from the portal, up to the answers' limit.
        .merge(portal::upload_router(
            state.settings.compose.max_message_bytes,
        ))
        // And an envelope stored for pull delivery, up to its own.
        .merge(pull::router(state.pull_max_bytes))
        // Every refusal under /api/, even one made before a handler ran, is contract JSON.
        .layer(axum::middleware::from_fn(error::json_refusals))
        .with_state(state)
}

/// Opens the store and the master key from `config`, binds, and serves until
/// Ctrl-C or SIGTERM. `ready` gets the bound address (port 0 picks one).
pub async fn serve(config: &Config, ready: impl FnOnce(std::net::SocketAddr)) -> Result<(), Error> {
    serve_with_clock(config, crate::Clock::default(), ready).await
}

/// [`serve`], counting time by `clock`: tests move it to see expiry,
/// timeouts and retention without waiting.
pub async fn serve_with_clock(
    config: &Config,
    clock: crate::Clock,
    ready: impl FnOnce(std::net::SocketAddr),
) -> Result<(), Error> {
    crate::create_private_dir(&config.data_dir).map_err(|e| {
        Error::Config(format!(
            "cannot create the data directory {}: {e}",
            config.data_dir.display()
        ))
    })?;
    let master_key = MasterKey::load_or_create(&config.master_key_file())?;
    let store = Store::connect_with_clock(&config.database_url(), clock).await?;
    let state = AppState::new(config, store.clone(), master_key)?;
    // The server's mail goes through the queue in the store; this replica's
    // worker sends its share.
    crate::mail_worker::spawn(
        store.clone(),
        state.mailer.clone(),
        state.settings.mail_queue.clone(),
        state.mail_wake.clone(),
    );
    // Expired and retained-too-long keys are deleted on a schedule, not only
    // when someone asks for them: a key past its time must not linger at rest.
    let schedule = config.clone();
    tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            every_minute.tick().await;
            sweep_once(&store, &schedule).await;
        }
    });
    let limits = ConnectionLimits {
        header: std::time::Duration::from_secs(config.header_timeout_seconds.max(1)),
        // Never shorter than the request timeout: a slow answer is not an idle connection.
        idle: std::time::Duration::from_secs(
            config
                .idle_timeout_seconds
                .max(config.request_timeout_seconds.saturating_add(5)),
        ),
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", config.listen)))?;
    let metrics = match config.metrics_listen {
        Some(listen) => Some(crate::metrics::serve_metrics(listen, limits).await?),
        None => None,
    };
    ready(listener.local_addr()?);
    if let Some(bound) = metrics {
        tracing::info!("serving metrics on http://{bound}/metrics");
    }
    let request_timeout = std::time::Duration::from_secs(config.request_timeout_seconds.max(1));
    serve_connections(
        listener,
        observed::observed(app(state), request_timeout),
        limits,
        shutdown_signal(),
    )
    .await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// One pass of the schedule every replica runs each minute: keys past
/// their expiry or the retention are deleted, then what they opened, then
/// every other table that grows (audit trail, remembered browsers, limit
/// windows). Safe on several replicas at once; errors are logged.
pub async fn sweep_once(store: &Store, config: &Config) {
    let retention = i64::from(config.retention_days) * 86_400;
    let audit_retention = i64::from(config.audit_retention_days) * 86_400;
    // Limit windows are minutes to hours; a week covers every one of them.
    let longest_window = (i64::from(config.client_window_minutes) * 60).max(7 * 86_400);
    match store.shred_expired(store.now(), retention).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(keys = n, "deleted the keys of expired messages"),
        Err(error) => tracing::error!(%error, "could not delete expired keys"),
    }
    // Keys first, then what they opened: stored envelopes whose key is
    // gone, and Inbox entries past the retention.
    if let Err(error) = sweep_pulled(store, retention).await {
        tracing::error!(%error, "could not delete stored envelopes without keys");
    }
    if let Err(error) = sweep(store, audit_retention, longest_window).await {
        tracing::error!(%error, "could not sweep the audit trail and limits");
    }
    let idle = i64::from(config.portal.session_idle_minutes.max(1)) * 60;
    if let Err(error) = store.sweep_sessions(idle).await {
        tracing::error!(%error, "could not delete ended portal sessions");
    }
    // Password expiry warnings, inactive accounts disabled, then deleted.
    lifecycle::sweep_accounts(store, config).await;
}

/// Deletes the stored envelopes whose keys are gone and the mailbox entries
/// past `retention`.
async fn sweep_pulled(store: &crate::Store, retention: i64) -> Result<(), Error> {
    let envelopes = store.delete_keyless_envelopes().await?;
    if envelopes > 0 {
        tracing::info!(envelopes, "deleted stored envelopes whose keys are gone");
    }
    let items = store.sweep_private_items(retention).await?;
    if items > 0 {
        tracing::info!(items, "deleted sent copies past their retention");
    }
    let entries = store.sweep_mailboxes(retention).await?;
    if entries > 0 {
        tracing::info!(entries, "deleted mailbox entries past their retention");
    }
    Ok(())
}

/// Deletes audit rows past their retention, expired remembered browsers and
/// ended limit windows. Safe on several replicas at once: plain DELETEs.
pub(crate) async fn sweep(
    store: &crate::Store,
    audit_retention: i64,
    longest_window: i64,
) -> Result<(), Error> {
    let audit = store.sweep_audit(audit_retention).await?;
    if audit > 0 {
        tracing::info!(rows = audit, "deleted audit rows past their retention");
    }
    store.sweep_remembered().await?;
    store.sweep_limits(longest_window).await?;
    // One-time passcodes live 15 minutes; their rows an hour more.
    store.sweep_passcodes(3600).await?;
    Ok(())
}
