//! The key server's idea of "now", in Unix seconds.
//!
//! Expiry, lockouts, sessions, retention and account lifecycle all count in
//! days or minutes; their tests move this clock forward instead of waiting.
//! Each [`Store`](crate::Store) carries its own clock (clones share it), so
//! tests running side by side in one process do not move each other's time.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Wall-clock time plus an offset that only tests move.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset: Arc<AtomicI64>,
}

impl Clock {
    /// Seconds since the Unix epoch, now (plus any offset a test set).
    pub fn now(&self) -> i64 {
        system_now() + self.offset.load(Ordering::Relaxed) + file_offset()
    }

    /// Moves this clock (and every clone of it) `seconds` forward. For tests:
    /// a production server never calls it.
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::Relaxed);
    }
}

/// The operating system's time, in Unix seconds.
pub(crate) fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The environment variable naming a file that holds an offset in seconds,
/// read by debug builds only: the browser tests run a real `securedoc serve`
/// and move its clock by writing the file. Release builds ignore it, so a
/// production server's time cannot be moved from outside.
pub const CLOCK_FILE_VARIABLE: &str = "SECUREDOC_TEST_CLOCK_FILE";

#[cfg(debug_assertions)]
fn file_offset() -> i64 {
    static FILE: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    let file = FILE.get_or_init(|| {
        let file = std::env::var_os(CLOCK_FILE_VARIABLE).map(std::path::PathBuf::from)?;
        tracing::warn!(
            file = %file.display(),
            "the clock is moved by a test file ({CLOCK_FILE_VARIABLE}); never in production"
        );
        Some(file)
    });
    file.as_ref()
        .and_then(|file| std::fs::read_to_string(file).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(not(debug_assertions))]
fn file_offset() -> i64 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_move_together_and_a_fresh_clock_does_not() {
        let clock = Clock::default();
        let clone = clock.clone();
        let other = Clock::default();
        let before = clock.now();
        clone.advance(86_400);
        assert!(clock.now() >= before + 86_400);
        assert!(other.now() < before + 86_400);
    }
}
