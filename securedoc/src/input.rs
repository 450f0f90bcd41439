//! Reading what users hand the CLI: files, passphrases, sizes, dates.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context};
use zeroize::Zeroizing;

use crate::cli::PassphraseSource;

/// Reads a whole file, with its path in the error.
pub fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

impl PassphraseSource {
    /// Reads the passphrase; an empty one is an error.
    pub fn read(&self) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        let mut raw = Zeroizing::new(Vec::new());
        if let Some(path) = &self.passphrase_file {
            *raw = read_file(path).context("cannot read the passphrase file")?;
        } else {
            std::io::stdin()
                .read_to_end(&mut raw)
                .context("cannot read the passphrase from standard input")?;
        }
        if raw.ends_with(b"\n") {
            raw.pop();
            if raw.ends_with(b"\r") {
                raw.pop();
            }
        }
        if raw.is_empty() {
            bail!("the passphrase is empty; give a passphrase of at least one character (a long phrase of several words is best)");
        }
        Ok(raw)
    }
}

const MIB: u64 = 1024 * 1024;

/// Sizes such as `35MB` (the mail hook's `hook.toml` reads them too).
pub use mail_hook::parse_size;

/// Formats bytes the way [`parse_size`] reads them.
pub fn format_size(bytes: u64) -> String {
    match bytes {
        b if b >= MIB => format!("{:.1} MB", b as f64 / MIB as f64),
        b if b >= 1024 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

/// Parses `--expires`: `1d`, `7d`, `30d` (any number of days or hours, `12h`)
/// from `now`, or a date `YYYY-MM-DD` (the end of that day, UTC).
pub fn parse_expiry(text: &str, now: jiff::Timestamp) -> Result<jiff::Timestamp, String> {
    let text = text.trim();
    let relative = |unit: &str, seconds: i64| -> Option<Result<jiff::Timestamp, String>> {
        let n: i64 = text.strip_suffix(unit)?.parse().ok()?;
        if n <= 0 || n > 3650 {
            return Some(Err(format!("--expires {text}: choose between 1 and 3650")));
        }
        Some(Ok(now + jiff::SignedDuration::from_secs(n * seconds)))
    };
    if let Some(result) = relative("d", 86_400).or_else(|| relative("h", 3_600)) {
        return result;
    }
    // An exact time (2026-12-31T17:00:00Z), or a whole day (ends 23:59:59 UTC).
    let end = match text.parse::<jiff::Timestamp>() {
        Ok(exact) => exact,
        Err(_) => {
            let date: jiff::civil::Date = text.parse().map_err(|_| {
                format!("--expires '{text}' is not 1d, 7d, 30d, a date like 2026-12-31 or a time like 2026-12-31T17:00:00Z")
            })?;
            date.at(23, 59, 59, 0)
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map_err(|e| format!("--expires '{text}': {e}"))?
                .timestamp()
        }
    };
    if end <= now {
        return Err(format!("--expires {text} is in the past"));
    }
    Ok(end)
}

/// `2026-11-22 10:00 UTC` for Unix seconds.
pub fn format_time(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| format!("{seconds} (out of range)"))
}

/// Refuses to overwrite a file unless `--force` was given.
pub fn check_output(path: &Path, force: bool) -> anyhow::Result<()> {
    if path.exists() && !force {
        bail!(
            "{} already exists; choose another name or add --force to replace it",
            path.display()
        );
    }
    Ok(())
}

/// A temporary file in the directory where `path` will be, so that
/// [`persist`] is a rename: an interrupted run never leaves half a file behind.
pub fn temp_file_beside(path: &Path) -> anyhow::Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))
}

/// Moves a finished temporary file to `path`, replacing a file there only with `force`.
pub fn persist(file: tempfile::NamedTempFile, path: &Path, force: bool) -> anyhow::Result<()> {
    let result = if force {
        file.persist(path).map(drop)
    } else {
        file.persist_noclobber(path).map(drop)
    };
    result
        .map_err(|e| e.error)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Writes a file atomically (see [`temp_file_beside`]).
pub fn write_atomically(
    path: &Path,
    force: bool,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let mut file = temp_file_beside(path)?;
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file.as_file_mut());
        write(&mut out).with_context(|| format!("cannot write {}", path.display()))?;
        std::io::Write::flush(&mut out)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    persist(file, path, force)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(parse_size("35MB"), Ok(35 * MIB));
        assert_eq!(parse_size("35 mb"), Ok(35 * MIB));
        assert_eq!(parse_size("1.5GB"), Ok(1536 * MIB));
        assert_eq!(parse_size("500kb"), Ok(500 * 1024));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("35 parsecs").is_err());
        assert_eq!(format_size(35 * MIB), "35.0 MB");
    }

    #[test]
    fn expiry_accepts_days_and_dates_but_not_the_past() {
        let now: jiff::Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
        assert_eq!(
            parse_expiry("7d", now).unwrap().to_string(),
            "2026-11-29T10:00:00Z"
        );
        assert_eq!(
            parse_expiry("2026-12-31", now).unwrap().to_string(),
            "2026-12-31T23:59:59Z"
        );
        assert!(parse_expiry("2026-01-01", now)
            .unwrap_err()
            .contains("past"));
        assert_eq!(
            parse_expiry("2026-11-22T10:00:05Z", now)
                .unwrap()
                .to_string(),
            "2026-11-22T10:00:05Z"
        );
        assert!(parse_expiry("2026-11-22T09:59:59Z", now)
            .unwrap_err()
            .contains("past"));
        assert!(parse_expiry("0d", now).is_err());
        assert!(parse_expiry("next week", now).is_err());
    }
}
