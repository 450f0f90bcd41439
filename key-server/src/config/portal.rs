//! `[portal]`: pull delivery and the secure-mail portal (docs/PORTAL.md).

use serde::Deserialize;

/// The portal's settings, under `[portal]` in the configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PortalConfig {
    /// The largest envelope a sender may store for pull delivery, MB (its
    /// binary form, as `PUT /api/v1/messages/{id}/envelope` takes it).
    pub max_envelope_mb: u32,
}

impl Default for PortalConfig {
    fn default() -> Self {
        PortalConfig {
            max_envelope_mb: 100,
        }
    }
}
