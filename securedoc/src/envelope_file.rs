//! Writing one envelope file, with the slow passphrase step overlapped.
//!
//! Argon2id (about 0.15 s) runs on a second thread. Meanwhile this thread
//! encrypts the payload chunk by chunk, base64-encodes it straight into the
//! file (the whole ciphertext is never held in memory) and writes the end of
//! the page. The head of the envelope (header, key slot, MAC) needs the
//! Argon2id result, but its length is known in advance, so its place in the
//! file is reserved and filled in at the end.
//!
//! Base64 works in groups of 3 bytes: the payload is encoded from the first
//! 3-byte boundary after the head, and the 0–2 payload bytes before it are
//! encoded together with the head.

use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::Context;
use base64::engine::general_purpose::STANDARD;
use base64::write::EncoderWriter;
use base64::Engine;
use envelope_core::Sealer;
use indicatif::ProgressBar;
use securedoc_templates::EnvelopePage;

use crate::input::{persist, temp_file_beside};

/// Seals `payload` (a message packed by `envelope_core::pack`) with `sealer`
/// into `path`; `key_slot` makes the key slot (Argon2id for a passphrase,
/// nothing in server mode) on a second thread.
pub fn seal_to_file(
    page: &EnvelopePage,
    sealer: &Sealer,
    key_slot: impl FnOnce() -> Result<Vec<u8>, envelope_core::SealError> + Send,
    payload: &envelope_core::Packed,
    target: (&Path, bool),
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    let (path, force) = target;
    let head_len = sealer.head_len();
    let carry = (3 - head_len % 3) % 3;
    let head_text_len = (head_len + carry) / 3 * 4;
    let mut file = temp_file_beside(path)?;
    let cannot_write = || format!("cannot write {}", path.display());

    std::thread::scope(|scope| -> anyhow::Result<()> {
        let slot = scope.spawn(key_slot);
        let mut out = BufWriter::with_capacity(1 << 20, file.as_file_mut());
        out.write_all(page.before().as_bytes())
            .with_context(cannot_write)?;
        out.write_all(&vec![b'='; head_text_len])
            .with_context(cannot_write)?; // filled in below
        let mut carried = Vec::with_capacity(carry);
        let mut write_error = None;
        {
            let mut encoder = EncoderWriter::new(&mut out, &STANDARD);
            sealer.encrypt_payload_into(payload, |sealed, done| {
                let take = (carry - carried.len()).min(sealed.len());
                carried.extend_from_slice(&sealed[..take]);
                if write_error.is_none() {
                    write_error = encoder.write_all(&sealed[take..]).err();
                }
                progress.set_position(done as u64);
            })?;
            if let Some(error) = write_error {
                return Err(error).with_context(cannot_write);
            }
            encoder.finish().with_context(cannot_write)?;
        }
        out.write_all(page.after().as_bytes())
            .with_context(cannot_write)?;
        let file = out
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(cannot_write)?;

        let slot = slot
            .join()
            .expect("the key derivation thread does not panic")?;
        let mut head = sealer.head(&slot)?;
        head.extend_from_slice(&carried);
        let head_text = STANDARD.encode(&head);
        debug_assert_eq!(head_text.len(), head_text_len);
        file.seek(SeekFrom::Start(page.before().len() as u64))
            .with_context(cannot_write)?;
        file.write_all(head_text.as_bytes())
            .with_context(cannot_write)?;
        Ok(())
    })?;
    persist(file, path, force)
}
