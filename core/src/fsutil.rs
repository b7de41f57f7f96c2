//! Crash-safe file operations: write to a temporary name, fsync, rename, fsync the folder.
//!
//! A reader (or a rerun after `kill -9`) sees either the old file or the new one, never
//! a half-written file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Suffix of files being written; readers and `ferry sql` ignore them.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// Writes `bytes` to `path` atomically.
///
/// # Errors
/// Any I/O failure, naming the path.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = partial_path(path);
    if let Some(parent) = path.parent() {
        create_dir_all(parent)?;
    }
    let mut file = fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    file.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
    file.sync_all().map_err(|e| Error::io(&tmp, e))?;
    drop(file);
    rename(&tmp, path)
}

/// The temporary name used while `path` is written.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(PARTIAL_SUFFIX);
    path.with_file_name(name)
}

/// Renames `from` to `to` and makes the rename durable.
///
/// # Errors
/// Any I/O failure, naming the source path.
pub fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|e| Error::io(from, e))?;
    if let Some(parent) = to.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Flushes a folder's entries (new names, renames) to disk.
///
/// # Errors
/// Any I/O failure, naming the folder.
pub fn sync_dir(dir: &Path) -> Result<()> {
    // `Path::new("job.json").parent()` is the empty path: the current folder.
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    // Opening a directory read-only and calling fsync is how POSIX persists renames.
    #[cfg(unix)]
    {
        let d = fs::File::open(dir).map_err(|e| Error::io(dir, e))?;
        d.sync_all().map_err(|e| Error::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// `fs::create_dir_all` with the path in the error.
///
/// # Errors
/// Any I/O failure, naming the folder.
pub fn create_dir_all(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}

/// Removes a folder and everything in it; a missing folder is fine.
///
/// # Errors
/// Any other I/O failure, naming the folder.
pub fn remove_dir_all(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// SHA-256 of a file, lowercase hex, read in 1 MiB blocks.
///
/// # Errors
/// Any I/O failure, naming the file.
pub fn sha256_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut file = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_partial() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert!(!partial_path(&p).exists());
    }
}
