//! Settings of the `sqlite` source: the database file, which tables to take, and the
//! sizes of batches and of the stretches between checkpoints.

use std::io::Read;
use std::path::{Path, PathBuf};

use ferry_core::select::Selection;
use ferry_core::{Error, Location, Result};
use serde::Deserialize;

/// The first 16 bytes of every SQLite 3 database file.
pub const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Job-file options of the `sqlite` source (`[source] kind = "sqlite"`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqliteConfig {
    /// The database file.
    pub path: PathBuf,
    /// Names or globs of the tables and views to read; all of them when empty.
    #[serde(default)]
    pub tables: Vec<String>,
    /// Rows per Arrow batch (default 65536).
    #[serde(default)]
    pub batch_rows: Option<usize>,
    /// Rows between checkpoints of a rowid table (default 100000).
    #[serde(default)]
    pub checkpoint_rows: Option<u64>,
}

/// Everything a source needs, resolved and checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The database file.
    pub path: PathBuf,
    /// `sqlite PATH`, for descriptions and errors.
    pub display: String,
    /// The tables and views to read.
    pub tables: Selection,
    /// Rows per batch.
    pub batch_rows: usize,
    /// Rows between checkpoints.
    pub checkpoint_rows: u64,
}

impl Settings {
    /// Resolves a job-file config and checks that the file is a SQLite database.
    ///
    /// # Errors
    /// A bad table pattern, a missing file, or a file that is not a SQLite database.
    pub fn from_config(config: SqliteConfig, origin: &str) -> Result<Settings> {
        if config.path.as_os_str().is_empty() {
            return Err(Error::config(
                origin,
                "`path` is empty; name the database file",
            ));
        }
        let tables = Selection::new(&config.tables).map_err(|e| match e {
            Error::Config { message, .. } => Error::config(origin, format!("tables: {message}")),
            other => other,
        })?;
        check_file(&config.path)?;
        Ok(Settings {
            display: format!("sqlite {}", config.path.display()),
            path: config.path,
            tables,
            batch_rows: config.batch_rows.unwrap_or(65_536).max(1),
            checkpoint_rows: config.checkpoint_rows.unwrap_or(100_000).max(1),
        })
    }
}

/// The path of a `sqlite:PATH` or `sqlite://PATH` spec (`sqlite:///abs/x.db` is
/// `/abs/x.db`); any other spec is a path already.
pub fn path_of_spec(spec: &str) -> &str {
    spec.strip_prefix("sqlite://")
        .or_else(|| spec.strip_prefix("sqlite:"))
        .unwrap_or(spec)
}

/// Whether `path` is a file starting with the SQLite header.
pub fn has_sqlite_header(path: &Path) -> bool {
    read_header(path).is_ok_and(|h| h.as_deref() == Some(SQLITE_HEADER.as_slice()))
}

/// The first 16 bytes of the file, `None` when it is shorter.
fn read_header(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    let mut file = std::fs::File::open(path)?;
    let mut head = Vec::with_capacity(16);
    (&mut file).take(16).read_to_end(&mut head)?;
    Ok((head.len() == 16).then_some(head))
}

/// Checks that `path` is a SQLite database file: present, a file, and starting with
/// the header. An empty file is accepted: SQLite treats it as an empty database.
///
/// # Errors
/// One line naming the file and what is wrong with it.
pub fn check_file(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::data(
            Location::file(path.display().to_string()),
            "is a folder, not a SQLite database file",
        ));
    }
    if meta.len() == 0 {
        return Ok(());
    }
    match read_header(path).map_err(|e| Error::io(path, e))? {
        Some(h) if h == SQLITE_HEADER => Ok(()),
        _ => Err(Error::data(
            Location::file(path.display().to_string()),
            "not a SQLite database (it does not start with the header \"SQLite format 3\")",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_name_paths() {
        assert_eq!(path_of_spec("sqlite:shop.db"), "shop.db");
        assert_eq!(path_of_spec("sqlite://data/shop.db"), "data/shop.db");
        assert_eq!(path_of_spec("sqlite:///tmp/shop.db"), "/tmp/shop.db");
        assert_eq!(path_of_spec("shop.sqlite"), "shop.sqlite");
    }

    #[test]
    fn job_file_keys_are_checked() {
        let table: toml::Table =
            toml::from_str("path = \"x.db\"\ntables = [\"a*\"]\ncheckpoint_rows = 5\n").unwrap();
        let c: SqliteConfig = ferry_core::registry::parse_config(table, "job.toml").unwrap();
        assert_eq!((c.tables.len(), c.checkpoint_rows), (1, Some(5)));
        let table: toml::Table = toml::from_str("path = \"x.db\"\nbatch = 5\n").unwrap();
        let err =
            ferry_core::registry::parse_config::<SqliteConfig>(table, "job.toml").unwrap_err();
        assert!(err.is_usage() && err.to_string().contains("batch"), "{err}");
    }

    #[test]
    fn files_are_checked_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("fake.db");
        std::fs::write(&fake, "id,name\n1,a\n").unwrap();
        assert!(!has_sqlite_header(&fake));
        let err = check_file(&fake).unwrap_err().to_string();
        assert!(
            err.contains("fake.db") && err.contains("not a SQLite database"),
            "{err}"
        );
        let missing = dir.path().join("missing.db");
        let err = check_file(&missing).unwrap_err().to_string();
        assert!(err.contains("missing.db"), "{err}");
        let err = check_file(dir.path()).unwrap_err().to_string();
        assert!(err.contains("folder"), "{err}");
    }
}
