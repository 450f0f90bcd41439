//! Password hashing: Argon2id, off the async executor, a bounded number at once.
//!
//! Each hash takes tens of milliseconds of CPU and (by default) 19 MiB of
//! memory, so hashes run in `spawn_blocking` behind a semaphore sized to the
//! machine: a burst of logins queues instead of starving every other request.
//! The queue itself is bounded: past `queue` waiting hashes a request is
//! refused at once with [`Error::Busy`] (503 + `Retry-After`), so a flood
//! sheds load instead of making every key release wait behind it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::Error;

/// Hashes and verifies passwords.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// Hashes waiting for a permit, and how many may wait.
    waiting: Arc<AtomicUsize>,
    queue: usize,
    /// A hash of nothing, verified against when an account does not exist, so
    /// that "no such account" takes as long as "wrong password".
    decoy: Arc<String>,
}

impl PasswordHasher {
    /// Argon2id with `m_kib`, `t`, `p`, at most `concurrency` hashes at once
    /// and 64 waiting.
    pub fn new(m_kib: u32, t: u32, p: u32, concurrency: usize) -> Result<PasswordHasher, Error> {
        PasswordHasher::with_queue(m_kib, t, p, concurrency, 64)
    }

    /// As [`PasswordHasher::new`], with at most `queue` hashes waiting.
    pub fn with_queue(
        m_kib: u32,
        t: u32,
        p: u32,
        concurrency: usize,
        queue: usize,
    ) -> Result<PasswordHasher, Error> {
        let params = Params::new(m_kib, t, p, None)
            .map_err(|e| Error::Config(format!("Argon2 parameters: {e}")))?;
        let decoy = argon2(&params)
            .hash_password(b"decoy", &SaltString::generate(&mut OsRng))
            .map_err(|e| Error::Config(format!("Argon2: {e}")))?
            .to_string();
        Ok(PasswordHasher {
            params,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            queue,
            decoy: Arc::new(decoy),
        })
    }

    /// The PHC string for a new password.
    pub async fn hash(&self, password: Zeroizing<String>) -> Result<String, Error> {
        let params = self.params.clone();
        self.run(move || {
            argon2(&params)
                .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
                .map(|hash| hash.to_string())
                .map_err(|e| Error::Unprocessable(format!("cannot hash the password: {e}")))
        })
        .await
    }

    /// Whether `password` matches `phc`; with no `phc` (no such account) it
    /// does the same work and says no.
    pub async fn verify(
        &self,
        password: Zeroizing<String>,
        phc: Option<String>,
    ) -> Result<bool, Error> {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.decoy.as_ref().clone());
        self.run(move || {
            let hash = PasswordHash::new(&phc)
                .map_err(|e| Error::Unprocessable(format!("stored hash: {e}")))?;
            // The parameters come from the stored hash, so old hashes keep working after a change.
            // Verified first, then `known`: the decoy must cost the same work.
            let matches = Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok();
            Ok(matches && known)
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                // Count ourselves in the queue only if there is room.
                let queue = self.queue;
                if self
                    .waiting
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                        (n < queue).then_some(n + 1)
                    })
                    .is_err()
                {
                    return Err(Error::Busy);
                }
                let _waiting = Waiting(self.waiting.clone());
                metrics::gauge!("securedoc_argon2_queue_depth")
                    .set(self.waiting.load(Ordering::SeqCst) as f64);
                self.permits
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed")
            }
        };
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| Error::Io(std::io::Error::other(e)))?;
        metrics::histogram!("securedoc_argon2_seconds").record(started.elapsed().as_secs_f64());
        result
    }
}

/// One place in the queue, given back when the hash starts (or its request is dropped).
struct Waiting(Arc<AtomicUsize>);

impl Drop for Waiting {
    fn drop(&mut self) {
        let left = self.0.fetch_sub(1, Ordering::SeqCst) - 1;
        metrics::gauge!("securedoc_argon2_queue_depth").set(left as f64);
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_and_a_wrong_one_or_a_missing_account_does_not() {
        let hasher = PasswordHasher::new(8 * 1024, 1, 1, 2).unwrap();
        let hash = hasher
            .hash(Zeroizing::new("correct horse".into()))
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"));
        assert!(hasher
            .verify(Zeroizing::new("correct horse".into()), Some(hash.clone()))
            .await
            .unwrap());
        assert!(!hasher
            .verify(Zeroizing::new("correct hors".into()), Some(hash))
            .await
            .unwrap());
        assert!(!hasher
            .verify(Zeroizing::new("decoy".into()), None)
            .await
            .unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_the_queue_a_hash_is_refused_at_once() {
        // One at a time, two waiting: of eight at once, the last five are busy.
        let hasher = PasswordHasher::with_queue(8 * 1024, 1, 1, 1, 2).unwrap();
        let hashes: Vec<_> = (0..8)
            .map(|_| {
                let hasher = hasher.clone();
                tokio::spawn(async move { hasher.hash(Zeroizing::new("x".into())).await })
            })
            .collect();
        let mut busy = 0;
        for hash in hashes {
            if matches!(hash.await.unwrap(), Err(Error::Busy)) {
                busy += 1;
            }
        }
        assert_eq!(busy, 5);
        // Once it drained, hashing works again.
        assert!(hasher.hash(Zeroizing::new("x".into())).await.is_ok());
    }
}
