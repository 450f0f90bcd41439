//! The memory budget of decryption (`[portal] decrypt_memory_mb`): every
//! request that holds a message's plaintext — a portal view or download, a
//! Sent item or draft, the check of an uploaded envelope — reserves about
//! what it will hold first. Past the budget a request waits a few seconds,
//! then is told "busy" (503), rather than the server running out of memory.
//! A message larger than the whole budget still opens, alone.

use tokio::sync::OwnedSemaphorePermit;

use crate::http::AppState;

/// What decrypting a message holds, in multiples of its stored size: the
/// envelope, its plaintext, the parsed message (its attachments copied out)
/// and the page or download. Measured: a 36.7 MB envelope's view raised the
/// server's peak RSS by 4.4 × its size (`portal-load`, part 3).
pub(crate) const VIEW_COST: u64 = 4;

/// How long a request waits for room before "busy".
const WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Room for `bytes` of plaintext and copies, held until dropped; None when
/// there was none within a few seconds.
pub(crate) async fn reserve(state: &AppState, bytes: u64) -> Option<OwnedSemaphorePermit> {
    let portal = &state.settings.portal;
    let mib = bytes
        .div_ceil(1024 * 1024)
        .clamp(1, portal.decrypt_budget_mib.into());
    let budget = portal.decrypt_budget.clone().acquire_many_owned(mib as u32);
    match tokio::time::timeout(WAIT, budget).await {
        Ok(Ok(permit)) => Some(permit),
        _ => {
            metrics::counter!("securedoc_portal_busy_total").increment(1);
            None
        }
    }
}
