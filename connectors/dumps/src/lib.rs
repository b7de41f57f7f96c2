//! Database dumps read without a database server (and without `pg_restore`):
//!
//! - pg_dump plain SQL files (`.sql`, `.sql.gz`), rows as `COPY` blocks or
//!   `INSERT` statements;
//! - pg_dump archives: custom format (`-Fc`, one file), directory format (`-Fd`,
//!   the folder or its `toc.dat`) and tar format (`-Ft`), uncompressed or gzip
//!   compressed (pg_dump's default); lz4 / zstd compressed archives (pg_dump 16+)
//!   are refused with an error;
//! - mysqldump / mariadb-dump files (`.sql`, `.sql.gz`);
//! - Odoo backup zips (`dump.sql`, `manifest.json`, `filestore/`).
//!
//! Every kind is recognised by its content, not its name.
//!
//! - [`input`] recognises a dump by its content and makes it a seekable plain file;
//! - [`scan`] reads it once to find every table's columns, key, rows and data blocks;
//! - [`read`] seeks to one table's blocks and converts them to Arrow ([`columns`]);
//! - [`archive`] reads a pg_dump archive's table of contents and data in place,
//!   through the same scanner and converter;
//! - [`sql`] is the lexer both dialects share; [`odoo`] handles backup zips.
//!
//! Stream names: `schema.table` for PostgreSQL dumps (`public.res_partner`); the
//! bare table name for a mysqldump of one database (`llx_societe`), `db.table` when
//! the dump holds several databases (`USE` statements). An Odoo zip adds the
//! streams `filestore` and `odoo_manifest_modules`, and its manifest facts
//! (`odoo_version`, `odoo_modules`, …) go in the catalog metadata.
//!
//! Call [`register`] to make the `dump` source available.

pub mod archive;
pub mod columns;
mod fast;
pub mod input;
pub mod odoo;
pub mod read;
pub mod scan;
pub mod source;
pub mod sql;

use std::path::Path;
use std::sync::Arc;

use ferry_core::registry::{Registry, SourceFactory, parse_config};
use ferry_core::{Result, Source};

pub use source::{DumpConfig, DumpSource};

/// Adds the `dump` source. Call it before `ferry_files::register`: the files source
/// accepts any path, while this one only claims dump files.
pub fn register(registry: &mut Registry) {
    registry.add_source(DumpFactory);
}

struct DumpFactory;

/// Whether `spec` names a dump: by extension (`.sql`, `.sql.gz`, `.dump`,
/// `.backup`, a `.zip` with `dump.sql` inside) or, for other names, by content; a
/// pg_dump archive (custom file, tar, or a directory holding `toc.dat`) by content.
pub fn is_dump(spec: &str) -> bool {
    let path = Path::new(spec.strip_prefix("file://").unwrap_or(spec));
    if spec.contains("://") && !spec.starts_with("file://") || !(path.is_file() || path.is_dir()) {
        return false;
    }
    let lower = spec.to_ascii_lowercase();
    let known_other = [
        ".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".jsonl", ".ndjson",
        ".json", ".parquet",
    ];
    if known_other.iter().any(|e| lower.ends_with(e)) {
        return false;
    }
    match input::sniff(path) {
        Ok((input::Container::Unknown, _)) | Err(_) => false,
        Ok((
            input::Container::PgCustom | input::Container::PgDirectory | input::Container::PgTar,
            _,
        )) => true,
        Ok((_, dialect)) => {
            dialect.is_some()
                || [".sql", ".sql.gz", ".dump", ".backup"]
                    .iter()
                    .any(|e| lower.ends_with(e))
        }
    }
}

impl SourceFactory for DumpFactory {
    fn kind(&self) -> &'static str {
        "dump"
    }

    fn accepts(&self, spec: &str) -> bool {
        is_dump(spec)
    }

    fn build_from_spec(&self, spec: &str) -> Result<Arc<dyn Source>> {
        let path = spec.strip_prefix("file://").unwrap_or(spec);
        Ok(Arc::new(DumpSource::new(DumpConfig {
            path: path.into(),
            ..Default::default()
        })?))
    }

    fn build_from_config(&self, table: toml::Table, origin: &str) -> Result<Arc<dyn Source>> {
        Ok(Arc::new(DumpSource::new(parse_config::<DumpConfig>(
            table, origin,
        )?)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses() {
        let table: toml::Table = toml::from_str(
            "path = \"backup.zip\"\nskip_tables = [\"public.mail_*\"]\nwith_files_dir = \"files\"\n",
        )
        .unwrap();
        let c: DumpConfig = parse_config(table, "job.toml [source]").unwrap();
        assert_eq!(c.skip_tables, vec!["public.mail_*"]);
        let bad: toml::Table = toml::from_str("path = \"x\"\nnope = 1\n").unwrap();
        assert!(parse_config::<DumpConfig>(bad, "job.toml").is_err());
    }

    #[test]
    fn csv_files_are_not_claimed() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("a.csv");
        std::fs::write(&csv, "CREATE TABLE x\n").unwrap();
        assert!(!is_dump(csv.to_str().unwrap()));
        let sql = dir.path().join("a.data");
        std::fs::write(&sql, "--\n-- PostgreSQL database dump\n--\n").unwrap();
        assert!(is_dump(sql.to_str().unwrap()));
    }
}
