//! Sizes as people write them in `hook.toml` and on the command line.

use serde::{Deserialize, Deserializer};

const MIB: u64 = 1024 * 1024;

/// Parses a size such as `35MB`, `500KB`, `1GB` or `1048576` (binary units:
/// 1 MB = 1024 × 1024 bytes, as file managers show sizes).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_uppercase();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a size; write e.g. 35MB"))?;
    let factor = match unit.trim() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1024,
        "M" | "MB" | "MIB" => MIB,
        "G" | "GB" | "GIB" => 1024 * MIB,
        _ => return Err(format!("'{text}' has an unknown unit; use B, KB, MB or GB")),
    };
    Ok((number * factor as f64) as u64)
}

/// serde: an optional size written as text (`"20MB"`).
pub(crate) fn optional_size<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_size(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}
