//! The SQLite source of ferry: every table and view of a database file, one stream
//! each, named after the table.
//!
//! Specs: `sqlite:PATH`, `sqlite://PATH`, or a plain path ending in `.db`, `.sqlite` or
//! `.sqlite3` whose first 16 bytes are the SQLite header (`SQLite format 3\0`; the
//! content is checked, so another kind of `.db` file is left to the other connectors).
//! Job files: `[source] kind = "sqlite"`, `path`, and optionally `tables` (names or
//! globs), `batch_rows`, `checkpoint_rows` ([`config`]).
//!
//! The file is opened read-only (a database another process is writing in WAL mode
//! can be read meanwhile: each stream is read inside one read transaction, so it sees
//! one consistent state). All SQLite work runs on blocking threads and hands batches
//! over a channel of capacity 1, so memory stays bounded whatever the table size.
//!
//! # Reads, order and resume
//!
//! | relation | order | checkpoints / resume |
//! | --- | --- | --- |
//! | rowid table (the default kind) | `rowid` | every `checkpoint_rows` rows (default 100000) the last rowid read, `{"table": …, "after_rowid": 4211, "done": false}`; a rerun continues with `WHERE rowid > 4211`, without duplicates or gaps |
//! | `WITHOUT ROWID` table | primary key | none: an interrupted read starts the table over |
//! | view | the view's own order | none: an interrupted read starts the view over |
//!
//! A table whose columns are named `rowid`, `_rowid_` and `oid` all three hides its
//! rowid and is read like a `WITHOUT ROWID` table.
//!
//! Incremental reads (`--cursor COLUMN`) work like the other database sources: rows
//! with the cursor at or after the previous run's high-water mark, up to the largest
//! value at planning time, the rows at the mark already read being dropped by key
//! (the primary key, else the rowid). Rows whose cursor is NULL are read by full
//! reads only. See [`read`].
//!
//! # Type map
//!
//! SQLite is dynamically typed: a column has a declared type (any text, or none) and
//! each value its own storage class (NULL, INTEGER, REAL, TEXT, BLOB). The Arrow type
//! comes from the declared type, by SQLite's affinity rules with a few names refined
//! (checked first); each value is then converted exactly, or the read fails with an
//! error naming the file, table, column and rowid. NULL stays NULL and `''` stays `''`
//! in every column; nothing is silently made NULL, truncated or rounded.
//!
//! | declared type | Arrow type | values accepted |
//! | --- | --- | --- |
//! | `BOOLEAN`, `BOOL` | `Boolean` | integer 0 / 1, text `true` / `false` (any case) |
//! | `DECIMAL(p,s)`, `NUMERIC(p,s)` (`(p)`: scale 0) | `Decimal128(p,s)` (p ≤ 38) | integer or text parsed exactly; a REAL through its shortest round-trip text (never float arithmetic); an error when a digit would be lost or the precision exceeded |
//! | `DECIMAL`, `NUMERIC` without `(p,s)` | `Decimal128(38,10)` | same rule |
//! | `DATE` | `Date32` | text `YYYY-MM-DD` |
//! | `DATETIME`, `TIMESTAMP…` | `Timestamp(µs, "UTC")` | ISO text `YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]][Z\|±HH[:MM]]` (a zone is applied, none means UTC) or `YYYY-MM-DD` (midnight UTC); an integer is Unix time in seconds |
//! | containing `INT` (`INTEGER`, `BIGINT`, `UNSIGNED BIG INT`…) | `Int64` | integer; a REAL or text holding an integer exactly |
//! | containing `CHAR`, `CLOB` or `TEXT`; no declared type | `Utf8` | text (valid UTF-8); an integer or REAL as its text form (`42`, `0.1`, `1e300`); a blob holding UTF-8 |
//! | containing `BLOB` | `Binary` | blob; text as its bytes |
//! | containing `REAL`, `FLOA` or `DOUB` | `Float64` | REAL; an integer or decimal text that converts exactly |
//! | anything else (`TIME`, `JSON`, `MONEY`…) | `Utf8` | as for text, with a warning at discovery |
//!
//! Columns are those of `PRAGMA table_xinfo`, generated columns included, hidden
//! virtual-table columns left out; `NOT NULL` columns are non-nullable fields.
//!
//! Call [`register`] to make the `sqlite` kind available.

pub mod config;
pub mod error;
pub mod read;
pub mod source;
pub mod types;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use ferry_core::registry::{Registry, SourceFactory, parse_config};
use ferry_core::{Result, Source};

pub use config::{Settings, SqliteConfig};
pub use source::SqliteSource;

/// Adds the `sqlite` source. Register it before the `files` source, which accepts any path.
pub fn register(registry: &mut Registry) {
    registry.add_source(SqliteFactory);
}

struct SqliteFactory;

impl SourceFactory for SqliteFactory {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn accepts(&self, spec: &str) -> bool {
        if spec.starts_with("sqlite:") {
            return true;
        }
        let lower = spec.to_ascii_lowercase();
        [".db", ".sqlite", ".sqlite3"]
            .iter()
            .any(|ext| lower.ends_with(ext))
            && config::has_sqlite_header(Path::new(spec))
    }

    fn build_from_spec(&self, spec: &str) -> Result<Arc<dyn Source>> {
        let path = config::path_of_spec(spec);
        let config = SqliteConfig {
            path: path.into(),
            ..Default::default()
        };
        Ok(Arc::new(SqliteSource::new(Settings::from_config(
            config, "source",
        )?)))
    }

    fn build_from_config(&self, table: toml::Table, origin: &str) -> Result<Arc<dyn Source>> {
        let config: SqliteConfig = parse_config(table, origin)?;
        Ok(Arc::new(SqliteSource::new(Settings::from_config(
            config, origin,
        )?)))
    }
}
