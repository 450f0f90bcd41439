//! One error type for the server; what clients see is decided in `http`.

use thiserror::Error;

/// Why a key-server operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// The master key cannot be read, written or used.
    #[error("master key: {0}")]
    MasterKey(String),
    /// The store failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("database migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// No valid credentials.
    #[error("unauthorized")]
    Unauthorized,
    /// The request is well-formed but not acceptable.
    #[error("{0}")]
    Unprocessable(String),
    /// Authenticated, but not allowed this (e.g. a From domain outside the token's).
    #[error("{0}")]
    Forbidden(String),
    /// Something with this id or name exists already.
    #[error("{0}")]
    Conflict(String),
    /// Too many password hashes are waiting: try again in a moment.
    #[error("the password queue is full")]
    Busy,
    /// Mail could not be handed on.
    #[error("mail: {0}")]
    Mail(String),
    /// Something in the store is not what was written (a stored envelope
    /// whose chunks do not add up): an operator must look.
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// I/O (data directory, listening socket).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
