//! The store: sqlx over SQLite (embedded default, WAL) or PostgreSQL, chosen by
//! URL, with one set of migrations for both.

mod accounts;
mod admin;
mod audit;
mod blobs;
mod folders;
mod lifecycle;
mod limits;
mod mail_queue;
mod mailbox;
mod messages;
mod passcodes;
mod pending;
mod personal;
mod preferences;
mod private_items;
mod pull;
mod registration;
mod remembered;
mod senders;
mod sending;
mod sessions;
mod staff;

use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::AnyPool;

pub use accounts::{Account, NewAccount};
pub use admin::Removed;
pub use limits::Limit;
pub use mail_queue::{MailStatus, QueuedMail};
pub use mailbox::MailboxEntry;
pub use messages::{KeyState, NewEnvelope, NewMessage, PasscodeFor, RecipientStatus};
pub use pending::{NewRegistration, PendingRegistration};
pub use personal::{Personal, Saved, SealedRow};
pub use preferences::Preferences;
pub use private_items::NewItem;
pub use pull::NewStoredEnvelope;
pub use registration::{LinkPurpose, Profile, SecurityAnswer};
pub use remembered::RememberedKey;
pub use senders::{Revoked, Sender, SenderInfo};
pub use sending::{EnvelopeState, Opening, ReceiptDetails};
pub use sessions::{PortalSession, SessionLookup};

use crate::{Clock, Error};

/// The migrations, embedded in the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A connection pool and the queries the server makes.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    clock: Clock,
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`) and runs the migrations.
    pub async fn connect(url: &str) -> Result<Store, Error> {
        Self::connect_with_clock(url, Clock::default()).await
    }

    /// [`connect`](Self::connect), counting time by `clock` (tests share one
    /// clock between a server and their own store, and move it).
    pub async fn connect_with_clock(url: &str, clock: Clock) -> Result<Store, Error> {
        install_default_drivers();
        let sqlite = url.starts_with("sqlite:");
        if let Some(file) = sqlite_file(url) {
            // The database holds the wrapped keys and password hashes: 0600
            // from the start, not whatever the umask gives sqlx.
            crate::private_fs::create_private_file(&file).map_err(|e| {
                Error::Io(std::io::Error::new(
                    e.kind(),
                    format!("cannot create the database {}: {e}", file.display()),
                ))
            })?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 4 } else { 16 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // WAL lets readers and the writer work at once; foreign keys are off by default in SQLite.
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 5000")
                            .execute(&mut *conn)
                            .await?;
                        // In WAL mode NORMAL syncs at checkpoints, not at every
                        // commit: the database cannot be corrupted, and a power
                        // cut loses at most the last commits (a count, an audit
                        // row). A key release writes several small rows (the
                        // attempt reserved before Argon2, then given back), and
                        // an fsync each made the store, not Argon2, the limit.
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                        // Deleted rows are overwritten, not left in free
                        // pages: a shredded key or a deleted stored envelope
                        // must not be readable in the file afterwards.
                        sqlx::query("PRAGMA secure_delete = ON")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Store { pool, clock })
    }

    /// The clock every query of this store (and its clones) counts time by.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Seconds since the Unix epoch, now, by this store's clock.
    pub(crate) fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Answers when the database does (for `/healthz`).
    pub async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// The file of a SQLite URL that may create it (`mode=rwc`), if any:
/// `sqlite://./data/securedoc.db?mode=rwc` is `./data/securedoc.db`; an
/// in-memory database or a read-only URL has none to create.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let creates = query.split('&').any(|pair| pair == "mode=rwc");
    let in_memory = path.is_empty() || path == ":memory:" || query.contains("mode=memory");
    (creates && !in_memory).then(|| std::path::PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::sqlite_file;

    #[test]
    fn only_a_creating_sqlite_url_names_a_file_to_create() {
        assert_eq!(
            sqlite_file("sqlite://./data/securedoc.db?mode=rwc"),
            Some("./data/securedoc.db".into())
        );
        assert_eq!(
            sqlite_file("sqlite:///srv/securedoc.db?mode=rwc"),
            Some("/srv/securedoc.db".into())
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://./data/securedoc.db?mode=ro"), None);
        assert_eq!(sqlite_file("postgres://localhost/securedoc"), None);
    }
}
