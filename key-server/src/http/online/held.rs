//! What Open Online keeps between requests, in this process's memory only:
//! envelopes posted to `/open` and waiting for their password, and the
//! messages they opened to, for the few minutes a recipient reads and
//! downloads. Nothing here is ever written to disk or to the store, every
//! entry ends after its lifetime, and the whole is bounded in bytes: past
//! the budget a new entry is refused (the page says "busy") rather than the
//! server growing. Plaintext is zeroed when its entry goes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

/// A secret, 256 bits of it, as 64 hex digits.
pub fn secret() -> String {
    crate::hex(&crate::random::<32>())
}

/// Equal, in a time that says nothing about where two secrets differ (their
/// digests are compared, not the secrets).
pub fn same_secret(a: &str, b: &str) -> bool {
    use sha2::{Digest, Sha256};
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

/// An envelope posted to `/open`, waiting for its recipient's password.
pub struct Parked {
    /// The envelope's id.
    pub message_id: String,
    /// The envelope's bytes (ciphertext: the text form decoded).
    pub envelope: Vec<u8>,
    /// The language the page was asked in.
    pub lang: &'static str,
}

/// A message opened online.
pub struct Opened {
    /// The decrypted message (RFC 5322), zeroed when the entry goes.
    pub message: Zeroizing<Vec<u8>>,
    /// Compared with the view's cookie: the URL alone opens nothing.
    pub cookie: String,
    /// The envelope's id, its recipient, its sender (the From the sender's
    /// token registered, else the header's) and the sender's flags.
    pub message_id: String,
    pub recipient: String,
    pub sender: String,
    pub flags: envelope_core::Flags,
    pub lang: &'static str,
}

enum Entry {
    Parked(std::sync::Arc<Parked>),
    Opened(std::sync::Arc<Opened>),
}

impl Entry {
    fn size(&self) -> usize {
        match self {
            Entry::Parked(parked) => parked.envelope.len(),
            Entry::Opened(opened) => opened.message.len(),
        }
    }

    /// An entry of the same kind for the same envelope.
    fn replaces(&self, other: &Entry) -> bool {
        match (self, other) {
            (Entry::Parked(a), Entry::Parked(b)) => a.message_id == b.message_id,
            (Entry::Opened(a), Entry::Opened(b)) => a.message_id == b.message_id,
            _ => false,
        }
    }
}

/// The entries, their total size and their deadline.
pub struct Held {
    lifetime: Duration,
    budget: usize,
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    by_id: HashMap<String, (Instant, Entry)>,
    bytes: usize,
}

impl Entries {
    fn sweep(&mut self, now: Instant) {
        let bytes = &mut self.bytes;
        self.by_id.retain(|_, (until, entry)| {
            let keep = *until > now;
            if !keep {
                *bytes -= entry.size();
            }
            keep
        });
    }
}

/// No room for another entry within the memory budget.
#[derive(Debug)]
pub struct Full;

impl Held {
    /// Entries live `lifetime`; together they hold at most `budget` bytes.
    pub fn new(lifetime: Duration, budget: usize) -> Held {
        Held {
            lifetime,
            budget,
            entries: Mutex::new(Entries::default()),
        }
    }

    /// How long an entry lives.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Holds `entry`. An envelope is held once of each kind: posting it or
    /// opening it again ends the earlier entry, so the same message posted
    /// over and over (by its recipient, or by someone replaying it) holds
    /// its bytes once.
    fn insert(&self, entry: Entry) -> Result<String, Full> {
        let now = Instant::now();
        let mut entries = self.entries.lock().expect("not poisoned");
        entries.sweep(now);
        let earlier: Vec<String> = entries
            .by_id
            .iter()
            .filter(|(_, (_, held))| entry.replaces(held))
            .map(|(id, _)| id.clone())
            .collect();
        for id in earlier {
            if let Some((_, held)) = entries.by_id.remove(&id) {
                entries.bytes -= held.size();
            }
        }
        let size = entry.size();
        if entries.bytes + size > self.budget {
            metrics::counter!("securedoc_open_online_refused_total").increment(1);
            return Err(Full);
        }
        let id = secret();
        entries.bytes += size;
        entries
            .by_id
            .insert(id.clone(), (now + self.lifetime, entry));
        metrics::gauge!("securedoc_open_online_bytes").set(entries.bytes as f64);
        Ok(id)
    }

    /// Keeps an envelope until its password comes; returns its handle.
    pub fn park(&self, parked: Parked) -> Result<String, Full> {
        self.insert(Entry::Parked(std::sync::Arc::new(parked)))
    }

    /// Keeps an opened message; returns the view's id.
    pub fn open(&self, opened: Opened) -> Result<String, Full> {
        self.insert(Entry::Opened(std::sync::Arc::new(opened)))
    }

    /// The envelope parked under `handle`, if it is still there.
    pub fn parked(&self, handle: &str) -> Option<std::sync::Arc<Parked>> {
        let mut entries = self.entries.lock().expect("not poisoned");
        entries.sweep(Instant::now());
        match entries.by_id.get(handle) {
            Some((_, Entry::Parked(parked))) => Some(parked.clone()),
            _ => None,
        }
    }

    /// The message opened under `id`, if it is still there and `cookie` is its.
    pub fn opened(&self, id: &str, cookie: &str) -> Option<std::sync::Arc<Opened>> {
        let mut entries = self.entries.lock().expect("not poisoned");
        entries.sweep(Instant::now());
        match entries.by_id.get(id) {
            Some((_, Entry::Opened(opened))) if same_secret(&opened.cookie, cookie) => {
                Some(opened.clone())
            }
            _ => None,
        }
    }

    /// Forgets an entry (an envelope once opened).
    pub fn remove(&self, id: &str) {
        let mut entries = self.entries.lock().expect("not poisoned");
        if let Some((_, entry)) = entries.by_id.remove(id) {
            entries.bytes -= entry.size();
        }
    }

    /// Bytes held now (for tests and the benchmark).
    pub fn bytes(&self) -> usize {
        let mut entries = self.entries.lock().expect("not poisoned");
        entries.sweep(Instant::now());
        entries.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `size` bytes of envelope number `n`.
    fn parked(size: usize, n: u32) -> Parked {
        Parked {
            message_id: format!("{n:032x}"),
            envelope: vec![0; size],
            lang: "en",
        }
    }

    #[test]
    fn past_the_budget_nothing_more_is_held() {
        let held = Held::new(Duration::from_secs(60), 100);
        let first = held.park(parked(60, 1)).unwrap();
        assert!(
            held.park(parked(60, 2)).is_err(),
            "120 bytes in a 100-byte budget"
        );
        held.remove(&first);
        assert_eq!(held.bytes(), 0);
        held.park(parked(60, 2))
            .expect("room again once the first is gone");
    }

    #[test]
    fn an_envelope_posted_again_is_held_once() {
        let held = Held::new(Duration::from_secs(60), 1000);
        let first = held.park(parked(100, 1)).unwrap();
        let again = held.park(parked(100, 1)).unwrap();
        assert!(held.parked(&first).is_none() && held.parked(&again).is_some());
        assert_eq!(held.bytes(), 100);
    }

    #[test]
    fn an_entry_ends_with_its_lifetime() {
        let held = Held::new(Duration::from_millis(20), 1000);
        let handle = held.park(parked(10, 1)).unwrap();
        assert!(held.parked(&handle).is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(held.parked(&handle).is_none());
        assert_eq!(held.bytes(), 0, "its bytes are given back");
    }

    #[test]
    fn a_view_opens_only_with_its_cookie() {
        let held = Held::new(Duration::from_secs(60), 1000);
        let opened = |cookie: &str| Opened {
            message: Zeroizing::new(b"Subject: x\r\n\r\nhello".to_vec()),
            cookie: cookie.into(),
            message_id: "00".repeat(16),
            recipient: "bob@example.net".into(),
            sender: "alice@clinic.example".into(),
            flags: envelope_core::Flags::default(),
            lang: "en",
        };
        let earlier = held.open(opened("earlier")).unwrap();
        let id = held.open(opened("right")).unwrap();
        assert!(
            held.opened(&earlier, "earlier").is_none(),
            "opening an envelope again ends its earlier view"
        );
        assert_eq!(held.bytes(), 19, "and its bytes are held once");
        assert!(held.opened(&id, "right").is_some());
        assert!(held.opened(&id, "wrong").is_none());
        assert!(held.opened(&id, "").is_none());
        assert!(held.parked(&id).is_none(), "a view is not an envelope");
    }
}
