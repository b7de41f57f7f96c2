//! Turning SQLite's errors into one clear [`ferry_core::Error`] line naming the file
//! (and the table when there is one), with a hint for the usual causes.

use std::path::Path;

use ferry_core::{Error, Location};
use rusqlite::ErrorCode;

/// Converts a rusqlite error met while working on `path` (and `table`, when known).
pub fn sqlite_error(path: &Path, table: Option<&str>, e: rusqlite::Error) -> Error {
    let place = match table {
        Some(t) => format!("{} table {t:?}", path.display()),
        None => path.display().to_string(),
    };
    let code = match &e {
        rusqlite::Error::SqliteFailure(f, _) => Some(f.code),
        _ => None,
    };
    let hint = match code {
        Some(ErrorCode::NotADatabase) => {
            return Error::data(
                Location::file(place),
                format!("not a SQLite database, or an encrypted one ({e})"),
            );
        }
        Some(ErrorCode::DatabaseCorrupt) => {
            return Error::data(
                Location::file(place),
                format!(
                    "the database is corrupt ({e}); `sqlite3 FILE .recover` may save what is left"
                ),
            );
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            " (another process holds a lock on the database; retry later)"
        }
        Some(ErrorCode::CannotOpen) => {
            " (check that the file and its folder are readable; a database in WAL mode also needs its -shm file or a writable folder)"
        }
        _ => "",
    };
    Error::Remote {
        system: "sqlite".into(),
        endpoint: place,
        message: format!("{e}{hint}"),
        transient: matches!(
            code,
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        ),
    }
}
