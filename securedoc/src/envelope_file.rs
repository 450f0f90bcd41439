//! Writing one envelope file, with the slow steps overlapped.
//!
//! Three threads share the work. This one encrypts the payload chunk by
//! chunk; a writer thread base64-encodes the ciphertext (SIMD) straight into
//! the file as batches arrive, so encryption and encoding run on both cores
//! and the whole ciphertext is never held in memory; in passphrase mode
//! Argon2id (about 0.15 s) runs on a third. The head of the envelope (header,
//! key slot, MAC) needs the Argon2id result, but its length is known in
//! advance, so its place in the file is reserved and filled in at the end.
//!
//! Base64 works in groups of 3 bytes: the payload is encoded from the first
//! 3-byte boundary after the head, and the 0–2 payload bytes before it are
//! encoded together with the head.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use anyhow::Context;
use envelope_core::{Packed, Sealer, SEALED_CHUNK_LEN};
use indicatif::ProgressBar;
use securedoc_templates::EnvelopePage;

use crate::input::{persist, temp_file_beside};

/// Sealed chunks handed to the writer at a time (about 1 MiB).
const CHUNKS_PER_BATCH: usize = 16;
/// Batches in flight between the threads; bounds the memory to a few MiB.
const BATCHES_IN_FLIGHT: usize = 3;

/// Seals `message` (packed by `envelope_core::pack`) with `sealer` into
/// `path`; `key_slot` makes the key slot (Argon2id for a passphrase, nothing
/// in server mode) on another thread.
pub fn seal_to_file(
    page: &EnvelopePage,
    sealer: &Sealer,
    key_slot: impl FnOnce() -> Result<Vec<u8>, envelope_core::SealError> + Send,
    message: &Packed,
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
        let (full, to_write) = sync_channel::<Vec<u8>>(BATCHES_IN_FLIGHT);
        let (empty, to_fill) = sync_channel::<Vec<u8>>(BATCHES_IN_FLIGHT + 1);
        // A second handle on the same open file for the writer thread.
        let mut out = file.as_file().try_clone().with_context(cannot_write)?;
        let writer =
            scope.spawn(move || write_page(&mut out, page, head_text_len, carry, to_write, empty));

        let mut batch = Vec::with_capacity(CHUNKS_PER_BATCH * SEALED_CHUNK_LEN);
        let mut writer_gone = false;
        sealer.encrypt_payload_into(message, |sealed, done| {
            batch.extend_from_slice(sealed);
            if batch.len() >= CHUNKS_PER_BATCH * SEALED_CHUNK_LEN && !writer_gone {
                let next = to_fill
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(CHUNKS_PER_BATCH * SEALED_CHUNK_LEN));
                // A writer that stopped has an error to report below.
                writer_gone = full.send(std::mem::replace(&mut batch, next)).is_err();
            }
            progress.set_position(done as u64);
        })?;
        if !batch.is_empty() && !writer_gone {
            let _ = full.send(batch);
        }
        drop(full);
        let carried = writer
            .join()
            .expect("the writer thread does not panic")
            .with_context(cannot_write)?;

        let slot = slot
            .join()
            .expect("the key derivation thread does not panic")?;
        let mut head = sealer.head(&slot)?;
        head.extend_from_slice(&carried);
        let head_text = base64_simd::STANDARD.encode_to_string(&head);
        debug_assert_eq!(head_text.len(), head_text_len);
        let file = file.as_file_mut();
        file.seek(SeekFrom::Start(page.before().len() as u64))
            .with_context(cannot_write)?;
        file.write_all(head_text.as_bytes())
            .with_context(cannot_write)?;
        Ok(())
    })?;
    persist(file, path, force)
}

/// The writer thread: the page before the data block, room for the head's
/// text, the ciphertext's base64 as batches arrive, the page after. Returns
/// the first `carry` ciphertext bytes, which are encoded with the head.
fn write_page(
    out: &mut File,
    page: &EnvelopePage,
    head_text_len: usize,
    carry: usize,
    batches: Receiver<Vec<u8>>,
    recycle: SyncSender<Vec<u8>>,
) -> std::io::Result<Vec<u8>> {
    out.write_all(page.before().as_bytes())?;
    out.write_all(&vec![b'='; head_text_len])?; // filled in at the end
    let mut carried = Vec::with_capacity(carry);
    // 0–2 bytes that did not make a whole base64 group in the last batch.
    let mut pending: Vec<u8> = Vec::with_capacity(3);
    let mut text = Vec::new();
    for batch in batches {
        let mut data = &batch[..];
        let take = (carry - carried.len()).min(data.len());
        carried.extend_from_slice(&data[..take]);
        data = &data[take..];
        text.clear();
        if !pending.is_empty() {
            let take = (3 - pending.len()).min(data.len());
            pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if pending.len() == 3 {
                base64_simd::STANDARD.encode_append(&pending, &mut text);
                pending.clear();
            }
        }
        let whole = data.len() / 3 * 3;
        base64_simd::STANDARD.encode_append(&data[..whole], &mut text);
        pending.extend_from_slice(&data[whole..]);
        out.write_all(&text)?;
        let mut batch = batch;
        batch.clear();
        // The sealing thread may have finished; then the buffer is simply dropped.
        let _ = recycle.try_send(batch);
    }
    text.clear();
    base64_simd::STANDARD.encode_append(&pending, &mut text);
    out.write_all(&text)?;
    out.write_all(page.after().as_bytes())?;
    Ok(carried)
}
