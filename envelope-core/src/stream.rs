//! The payload: XChaCha20-Poly1305 in the STREAM construction (the
//! `chacha20poly1305` crate's `stream` support, big-endian 32-bit counter),
//! 64 KiB of plaintext per chunk, each chunk's associated data the SHA-256 of
//! the header section.
//!
//! STREAM puts the chunk counter and a last-chunk flag in each nonce, so a
//! reordered, dropped, duplicated or truncated chunk fails authentication, and
//! the header digest in every chunk's associated data binds the payload to
//! exactly one header.

use chacha20poly1305::aead::stream::{NewStream, StreamBE32, StreamPrimitive};
use chacha20poly1305::aead::KeyInit;
use chacha20poly1305::XChaCha20Poly1305;

use crate::error::{OpenError, SealError};
use crate::keys::{ContentKey, PAYLOAD_KEY_INFO};

/// Plaintext bytes per chunk.
pub const CHUNK_LEN: usize = 64 * 1024;
/// Bytes of the Poly1305 tag on each chunk.
pub const TAG_LEN: usize = 16;
/// Ciphertext bytes of every chunk but the last.
pub const SEALED_CHUNK_LEN: usize = CHUNK_LEN + TAG_LEN;

/// Encrypts and decrypts one envelope's payload.
pub struct PayloadCipher {
    stream: StreamBE32<XChaCha20Poly1305>,
    header_digest: [u8; 32],
}

/// The index of the final chunk of `sealed_len` bytes, and where a step
/// from `from` of at most `max_chunks` chunks ends.
fn chunk_span(sealed_len: usize, from: u32, max_chunks: u32) -> Result<(u32, u32), OpenError> {
    if sealed_len < TAG_LEN {
        return Err(OpenError::Truncated);
    }
    let final_index = ((sealed_len - 1) / SEALED_CHUNK_LEN) as u32;
    Ok((
        final_index,
        from.saturating_add(max_chunks).min(final_index + 1),
    ))
}

fn progress(end: u32, final_index: u32) -> Progress {
    if end > final_index {
        Progress::Done
    } else {
        Progress::More(end)
    }
}

/// How far a partial decryption got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// More chunks remain; the next one has this index.
    More(u32),
    /// The final chunk has been decrypted and verified.
    Done,
}

impl PayloadCipher {
    pub(crate) fn new(
        cek: &ContentKey,
        message_id: &[u8; 16],
        nonce_prefix: &[u8; 19],
        header_digest: [u8; 32],
    ) -> Self {
        let key = cek.derive(message_id, PAYLOAD_KEY_INFO);
        let aead = XChaCha20Poly1305::new(key.as_ref().into());
        PayloadCipher {
            stream: StreamBE32::from_aead(aead, nonce_prefix.into()),
            header_digest,
        }
    }

    /// Number of chunks `payload_len` bytes of plaintext make: at least one, and
    /// no empty final chunk unless the payload is empty.
    pub fn chunk_count(payload_len: usize) -> usize {
        payload_len.div_ceil(CHUNK_LEN).max(1)
    }

    /// Encrypts a whole payload, calling `progress` with the plaintext bytes done.
    pub fn encrypt(
        &self,
        payload: &[u8],
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<u8>, SealError> {
        let mut out =
            Vec::with_capacity(payload.len() + Self::chunk_count(payload.len()) * TAG_LEN);
        self.encrypt_into(payload, |sealed, done| {
            out.extend_from_slice(sealed);
            progress(done);
        })?;
        Ok(out)
    }

    /// Encrypts a payload chunk by chunk, handing each sealed chunk to `sink`
    /// with the plaintext bytes done so far. A caller that streams (encodes,
    /// writes) the output never holds the whole ciphertext.
    pub fn encrypt_into(
        &self,
        payload: &[u8],
        mut sink: impl FnMut(&[u8], usize),
    ) -> Result<(), SealError> {
        let chunks = Self::chunk_count(payload.len());
        if chunks > u32::MAX as usize {
            return Err(SealError::TooLarge);
        }
        let mut buffer = Vec::with_capacity(SEALED_CHUNK_LEN);
        for index in 0..chunks {
            let start = index * CHUNK_LEN;
            let plain = &payload[start..(start + CHUNK_LEN).min(payload.len())];
            buffer.clear();
            buffer.extend_from_slice(plain);
            self.stream
                .encrypt_in_place(
                    index as u32,
                    index + 1 == chunks,
                    &self.header_digest,
                    &mut buffer,
                )
                .expect("in-memory encryption cannot fail");
            sink(&buffer, start + plain.len());
        }
        Ok(())
    }

    /// Encrypts chunk by chunk without the "last" flag on the final chunk.
    /// Only for building the test vector that checks openers refuse it.
    #[doc(hidden)]
    pub fn encrypt_without_final_flag(&self, payload: &[u8]) -> Vec<u8> {
        payload
            .chunks(CHUNK_LEN)
            .enumerate()
            .flat_map(|(i, plain)| {
                let mut buffer = plain.to_vec();
                self.stream
                    .encrypt_in_place(i as u32, false, &self.header_digest, &mut buffer)
                    .expect("in-memory encryption cannot fail");
                buffer
            })
            .collect()
    }

    /// Decrypts up to `max_chunks` chunks from chunk `from`, appending the
    /// plaintext to `out`. Call again with the returned index until [`Progress::Done`];
    /// a caller that shows progress or must not block a browser's main thread
    /// works in slices this way.
    pub fn decrypt_chunks(
        &self,
        sealed: &[u8],
        from: u32,
        max_chunks: u32,
        out: &mut Vec<u8>,
    ) -> Result<Progress, OpenError> {
        let (final_index, end) = chunk_span(sealed.len(), from, max_chunks)?;
        for index in from..end {
            out.extend_from_slice(&self.open_chunk(sealed, index, final_index)?);
        }
        Ok(progress(end, final_index))
    }

    /// Like [`decrypt_chunks`](Self::decrypt_chunks), but writes each
    /// chunk's plaintext over the ciphertext: chunk `i`'s plaintext goes to
    /// `i · CHUNK_LEN`, which only overwrites chunks already read. Once
    /// done, the first [`plaintext_len`](Self::plaintext_len) bytes of
    /// `sealed` are the payload; a browser opener needs no second buffer.
    pub fn decrypt_chunks_in_place(
        &self,
        sealed: &mut [u8],
        from: u32,
        max_chunks: u32,
    ) -> Result<Progress, OpenError> {
        let (final_index, end) = chunk_span(sealed.len(), from, max_chunks)?;
        for index in from..end {
            let plain = self.open_chunk(sealed, index, final_index)?;
            let at = index as usize * CHUNK_LEN;
            sealed[at..at + plain.len()].copy_from_slice(&plain);
        }
        Ok(progress(end, final_index))
    }

    /// Bytes of plaintext in `sealed_len` bytes of well-formed payload.
    pub fn plaintext_len(sealed_len: usize) -> usize {
        let chunks = sealed_len.div_ceil(SEALED_CHUNK_LEN).max(1);
        sealed_len.saturating_sub(chunks * TAG_LEN)
    }

    fn open_chunk(
        &self,
        sealed: &[u8],
        index: u32,
        final_index: u32,
    ) -> Result<Vec<u8>, OpenError> {
        let start = index as usize * SEALED_CHUNK_LEN;
        let chunk = &sealed[start..(start + SEALED_CHUNK_LEN).min(sealed.len())];
        if index == final_index {
            self.open_final(index, chunk)
        } else {
            self.open_middle(index, chunk)
        }
    }

    /// Decrypts the whole payload.
    pub fn decrypt(&self, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        let mut out = Vec::with_capacity(sealed.len());
        self.decrypt_chunks(sealed, 0, u32::MAX, &mut out)?;
        Ok(out)
    }

    fn open(&self, index: u32, last: bool, chunk: &[u8]) -> Option<Vec<u8>> {
        let mut buffer = chunk.to_vec();
        self.stream
            .decrypt_in_place(index, last, &self.header_digest, &mut buffer)
            .ok()?;
        Some(buffer)
    }

    /// A chunk that is not at the end of the data must be a non-final chunk. If
    /// it authenticates as the final one instead, bytes were appended after it.
    fn open_middle(&self, index: u32, chunk: &[u8]) -> Result<Vec<u8>, OpenError> {
        if let Some(plain) = self.open(index, false, chunk) {
            return Ok(plain);
        }
        if self.open(index, true, chunk).is_some() {
            return Err(OpenError::TrailingData);
        }
        Err(OpenError::PayloadAltered(index))
    }

    /// The chunk at the end of the data must carry the final flag. If it
    /// authenticates as a non-final chunk, the data was cut at a chunk boundary.
    fn open_final(&self, index: u32, chunk: &[u8]) -> Result<Vec<u8>, OpenError> {
        if chunk.len() < TAG_LEN {
            return Err(OpenError::Truncated);
        }
        if let Some(plain) = self.open(index, true, chunk) {
            return Ok(plain);
        }
        if self.open(index, false, chunk).is_some() {
            return Err(OpenError::Truncated);
        }
        Err(OpenError::PayloadAltered(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> PayloadCipher {
        PayloadCipher::new(&ContentKey::generate(), &[1; 16], &[2; 19], [3; 32])
    }

    /// Decrypts in place in steps of 3 chunks, as the browser opener does.
    fn in_place(cipher: &PayloadCipher, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        let mut data = sealed.to_vec();
        let mut from = 0;
        while let Progress::More(next) = cipher.decrypt_chunks_in_place(&mut data, from, 3)? {
            from = next;
        }
        data.truncate(PayloadCipher::plaintext_len(sealed.len()));
        Ok(data)
    }

    #[test]
    fn in_place_gives_what_a_second_buffer_gives() {
        let cipher = cipher();
        for len in [
            0,
            1,
            CHUNK_LEN - 1,
            CHUNK_LEN,
            CHUNK_LEN + 1,
            7 * CHUNK_LEN + 5,
        ] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
            let sealed = cipher.encrypt(&payload, |_| {}).unwrap();
            assert_eq!(in_place(&cipher, &sealed).unwrap(), payload, "{len} bytes");
            let mut altered = sealed.clone();
            altered[sealed.len() / 2] ^= 1;
            assert_eq!(
                in_place(&cipher, &altered).unwrap_err(),
                cipher.decrypt(&altered).unwrap_err(),
                "{len} bytes, one bit flipped"
            );
            if sealed.len() > SEALED_CHUNK_LEN {
                let cut = &sealed[..SEALED_CHUNK_LEN];
                assert_eq!(in_place(&cipher, cut).unwrap_err(), OpenError::Truncated);
            }
        }
    }
}
