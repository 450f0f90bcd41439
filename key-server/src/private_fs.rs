//! Directories that hold secrets (the data directory with the database and
//! the master key, an outbox of mail with links in it) are created readable
//! by their owner only: 0700 on Unix, as `master.key` is 0600.

use std::path::Path;

/// Creates `dir` and any missing parents with mode 0700 (on Unix). A
/// directory that exists already keeps its mode: the administrator chose it.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates an empty file at `path` with mode 0600 (on Unix) if there is
/// none, so that a database opened there afterwards (and the journal files
/// SQLite derives from its mode) is the owner's only. An existing file
/// keeps its mode: the administrator chose it.
pub fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn new_directories_are_the_owners_only() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data/outbox");
        super::create_private_dir(&dir).unwrap();
        for created in [root.path().join("data"), dir.clone()] {
            let mode = std::fs::metadata(&created).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", created.display());
        }
        super::create_private_dir(&dir).unwrap();
    }
}
