//! Large values (stored envelopes, private items) in rows of at most 1 MiB
//! before base64 (`blob_chunks`): no row is tens of megabytes, and every
//! replica reads the same bytes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::Store;
use crate::Error;

/// Bytes per stored chunk (before base64): rows stay around a megabyte.
const CHUNK: usize = 1024 * 1024;

/// Writes `bytes` as `owner`'s chunks on `conn` (part of the caller's transaction).
pub(super) async fn write_blob(
    conn: &mut sqlx::AnyConnection,
    owner: &str,
    bytes: &[u8],
) -> Result<(), Error> {
    for (seq, chunk) in bytes.chunks(CHUNK).enumerate() {
        sqlx::query("INSERT INTO blob_chunks (owner, seq, data) VALUES ($1, $2, $3)")
            .bind(owner)
            .bind(seq as i64)
            .bind(STANDARD.encode(chunk))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Deletes `owner`'s chunks on `conn`.
pub(super) async fn delete_blob(conn: &mut sqlx::AnyConnection, owner: &str) -> Result<(), Error> {
    sqlx::query("DELETE FROM blob_chunks WHERE owner = $1")
        .bind(owner)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl Store {
    /// `owner`'s bytes, which must be `size` long (else the store is damaged).
    pub(super) async fn read_blob(&self, owner: &str, size: i64) -> Result<Vec<u8>, Error> {
        use futures_util::TryStreamExt;
        // Row by row, each decoded and dropped: a 35 MB envelope holds its
        // bytes and one chunk's text, not every chunk's text at once (which
        // is a third larger than the bytes, base64).
        let mut chunks = sqlx::query_as::<_, (String,)>(
            "SELECT data FROM blob_chunks WHERE owner = $1 ORDER BY seq",
        )
        .bind(owner)
        .fetch(&self.pool);
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        while let Some((data,)) = chunks.try_next().await? {
            STANDARD
                .decode_vec(data, &mut bytes)
                .map_err(|_| Error::Corrupt(owner.to_string()))?;
        }
        if bytes.len() as i64 != size {
            return Err(Error::Corrupt(owner.to_string()));
        }
        Ok(bytes)
    }
}
