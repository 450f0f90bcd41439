//! securedoc's mail hook (docs/MAIL-HOOK.md): an SMTP content filter in the
//! style Postfix documents for after-queue filters. Postfix hands each
//! message to the hook; the hook hands what it produces to the next hop
//! (Postfix's re-injection listener) and only then answers Postfix.
//!
//! **Fail closed, lose nothing.** The hook says 250 only after the next hop
//! has accepted every message it produced for that input; any temporary
//! problem is a 451, so Postfix keeps the message and retries; a message
//! that asks to be sealed never goes on in the clear.
//!
//! The parts: `session` speaks SMTP with Postfix, `policy` decides who
//! gets an envelope, `handle` seals (through a [`SealService`]) and hands
//! everything on through `next_hop`.

mod handle;
mod next_hop;
mod policy;
mod sealing;
mod session;
mod size;
mod trigger;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use policy::{
    Delivery as DeliveryMode, Policy, Restriction, Rule, SealOptions, DEFAULT_AUTO_PULL_OVER,
};
pub use sealing::{Notification, Report, SealFailure, SealJob, SealService, SealedGroup};
pub use size::parse_size;
pub use trigger::Triggers;

/// What the hook needs to run.
#[derive(Clone)]
pub struct HookConfig {
    /// Where what the hook produces goes: Postfix's re-injection listener.
    pub next_hop: SocketAddr,
    /// The name the hook gives in its greeting and EHLO.
    pub hostname: String,
    /// The largest message accepted, bytes (advertised as SIZE).
    pub max_size: usize,
    /// Connections served at once; more wait for a free one.
    pub max_connections: usize,
    /// How long one command, or the next hop's answer, may take.
    pub timeout: Duration,
    /// Who gets an envelope, and how.
    pub policy: Policy,
    /// Who seals; without it a message to be sealed stays queued (451).
    pub sealing: Option<Arc<dyn SealService>>,
    /// Messages sealed at once (more wait): bounds the CPU and the memory
    /// sealing takes.
    pub max_sealing: usize,
    /// The largest notification (with its envelope) the hook sends; a
    /// message that would make a larger one bounces.
    pub max_notification_size: usize,
    /// Mail the sender a "Secure Message Sent" confirmation.
    pub confirm_sender: bool,
}

impl Default for HookConfig {
    fn default() -> Self {
        HookConfig {
            next_hop: SocketAddr::from(([127, 0, 0, 1], 10026)),
            hostname: "securedoc-hook".into(),
            max_size: 35 * 1024 * 1024,
            max_connections: 16,
            timeout: Duration::from_secs(300),
            policy: Policy::default(),
            sealing: None,
            // Sealing waits on the key server as much as it computes.
            max_sealing: 4 * std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_notification_size: 35 * 1024 * 1024,
            confirm_sender: true,
        }
    }
}

/// Serves SMTP on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, config: HookConfig) -> std::io::Result<()> {
    let config = Arc::new(config);
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let sealing_slots = Arc::new(Semaphore::new(config.max_sealing.max(1)));
    loop {
        let (socket, peer) = listener.accept().await?;
        let permit = slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let config = config.clone();
        let sealing_slots = sealing_slots.clone();
        tokio::spawn(async move {
            if let Err(error) = session::run(socket, &config, &sealing_slots).await {
                tracing::info!(%peer, %error, "an SMTP session ended early");
            }
            drop(permit);
        });
    }
}
