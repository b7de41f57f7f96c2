//! Recognising a dump file from its content and making it a plain, seekable SQL file.
//!
//! Compressed dumps (`.sql.gz`) and the `dump.sql` inside an Odoo backup zip cannot
//! be seeked, so they are decompressed once, during discovery, to a temporary file
//! that lives as long as the source (cost: one extra sequential write of the
//! uncompressed size to the temp folder). Plain files are read in place.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use ferry_core::{Error, Result};

use crate::sql::Dialect;

/// How a dump file is wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// Plain SQL text.
    Plain,
    /// gzip-compressed SQL.
    Gzip,
    /// A zip holding `dump.sql` (Odoo backup).
    OdooZip,
    /// pg_dump custom format (`PGDMP` header), or the `toc.dat` of a directory archive.
    PgCustom,
    /// pg_dump directory format: a folder holding `toc.dat`.
    PgDirectory,
    /// pg_dump tar format: a tar whose first member is `toc.dat`.
    PgTar,
    /// Not a dump.
    Unknown,
}

const HEAD: usize = 64 * 1024;

/// Looks at the first bytes of `path` (decompressed when gzip) to tell its kind
/// and, for SQL text, its dialect. A folder is a dump only as a pg_dump directory
/// archive.
pub fn sniff(path: &Path) -> std::io::Result<(Container, Option<Dialect>)> {
    if path.is_dir() {
        return Ok(if crate::archive::is_pg_directory(path) {
            (Container::PgDirectory, Some(Dialect::Postgres))
        } else {
            (Container::Unknown, None)
        });
    }
    let mut f = std::fs::File::open(path)?;
    let mut first = [0u8; 517];
    let n = read_full(&mut f, &mut first)?;
    let magic = &first[..n];
    // A SQLite database holds its schema as SQL text, which would pass for a dump.
    if magic.starts_with(b"SQLite format 3\0") {
        return Ok((Container::Unknown, None));
    }
    if magic.starts_with(b"PGDMP") {
        return Ok((Container::PgCustom, Some(Dialect::Postgres)));
    }
    if crate::archive::is_pg_tar(magic) {
        return Ok((Container::PgTar, Some(Dialect::Postgres)));
    }
    if magic.starts_with(b"PK\x03\x04") {
        let f = std::fs::File::open(path)?;
        let ok = zip::ZipArchive::new(f)
            .map(|z| z.index_for_name("dump.sql").is_some())
            .unwrap_or(false);
        return Ok(if ok {
            (Container::OdooZip, Some(Dialect::Postgres))
        } else {
            (Container::Unknown, None)
        });
    }
    let f = std::fs::File::open(path)?;
    let (container, mut reader): (Container, Box<dyn Read>) = if magic.starts_with(&[0x1f, 0x8b]) {
        (
            Container::Gzip,
            Box::new(flate2::read::MultiGzDecoder::new(f)),
        )
    } else {
        (Container::Plain, Box::new(f))
    };
    let mut head = vec![0u8; HEAD];
    let n = read_full(&mut reader, &mut head).unwrap_or(0);
    head.truncate(n);
    match dialect_of(&head) {
        Some(d) => Ok((container, Some(d))),
        None => Ok((Container::Unknown, None)),
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The dialect of SQL dump text, from its first bytes.
pub fn dialect_of(head: &[u8]) -> Option<Dialect> {
    let has = |s: &[u8]| memchr::memmem::find(head, s).is_some();
    if has(b"PostgreSQL database dump") || has(b"SET client_encoding") || has(b"FROM stdin;") {
        return Some(Dialect::Postgres);
    }
    if has(b"-- MySQL dump")
        || has(b"-- MariaDB dump")
        || has(b"/*!40101 SET")
        || has(b"CREATE TABLE `")
        || has(b"INSERT INTO `")
    {
        return Some(Dialect::MySql);
    }
    if has(b"CREATE TABLE ") || has(b"INSERT INTO ") {
        return Some(Dialect::Postgres);
    }
    None
}

/// A plain SQL file ready to scan and seek, maybe a temporary copy.
#[derive(Debug)]
pub struct PlainSql {
    /// The file to read.
    pub path: PathBuf,
    /// Keeps a temporary copy alive (deleted on drop).
    pub temp: Option<tempfile::TempPath>,
    /// Set when decompression stopped early: what happened and where.
    pub truncated: Option<String>,
}

/// Makes `path` a plain SQL file: in place, or decompressed to a temp file in `temp_dir`.
///
/// # Errors
/// The file cannot be read, or the temp file cannot be written.
pub fn plain_sql(path: &Path, container: Container, temp_dir: Option<&Path>) -> Result<PlainSql> {
    let source: Box<dyn Read> = match container {
        Container::Plain => {
            return Ok(PlainSql {
                path: path.to_owned(),
                temp: None,
                truncated: None,
            });
        }
        Container::Gzip => Box::new(flate2::read::MultiGzDecoder::new(
            std::fs::File::open(path).map_err(|e| Error::io(path, e))?,
        )),
        Container::OdooZip => {
            let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            let mut z = zip::ZipArchive::new(f)
                .map_err(|e| Error::external(format!("opening zip {}", path.display()), e))?;
            return extract_zip_member(&mut z, "dump.sql", path, temp_dir);
        }
        Container::PgCustom | Container::PgDirectory | Container::PgTar | Container::Unknown => {
            return Err(Error::config(
                path.display().to_string(),
                "not a plain SQL dump",
            ));
        }
    };
    copy_to_temp(source, path, temp_dir)
}

fn extract_zip_member(
    z: &mut zip::ZipArchive<std::fs::File>,
    name: &str,
    path: &Path,
    temp_dir: Option<&Path>,
) -> Result<PlainSql> {
    let member = z
        .by_name(name)
        .map_err(|e| Error::external(format!("reading {name} in {}", path.display()), e))?;
    copy_to_temp(member, path, temp_dir)
}

fn copy_to_temp(mut source: impl Read, path: &Path, temp_dir: Option<&Path>) -> Result<PlainSql> {
    let dir = temp_dir.map_or_else(std::env::temp_dir, Path::to_path_buf);
    let tmp = tempfile::Builder::new()
        .prefix("ferry-dump-")
        .suffix(".sql")
        .tempfile_in(&dir)
        .map_err(|e| Error::io(&dir, e))?;
    let (file, temp) = tmp.into_parts();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut truncated = None;
    let mut buf = vec![0u8; 1 << 20];
    let mut total: u64 = 0;
    loop {
        match source.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                std::io::Write::write_all(&mut out, &buf[..n]).map_err(|e| Error::io(&*temp, e))?;
                total += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), after_bytes = total, error = %e, "Decompression stopped early.");
                truncated = Some(format!(
                    "{}: decompression failed after {total} bytes: {e}",
                    path.display()
                ));
                break;
            }
        }
    }
    std::io::Write::flush(&mut out).map_err(|e| Error::io(&*temp, e))?;
    tracing::debug!(path = %path.display(), bytes = total, "Dump decompressed to a temporary file.");
    Ok(PlainSql {
        path: temp.to_path_buf(),
        temp: Some(temp),
        truncated,
    })
}

/// Opens a plain SQL file for the scan.
///
/// # Errors
/// The file cannot be opened.
pub fn open_buffered(path: &Path) -> Result<impl BufRead> {
    Ok(BufReader::with_capacity(
        1 << 20,
        std::fs::File::open(path).map_err(|e| Error::io(path, e))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialects_from_content() {
        assert_eq!(
            dialect_of(b"--\n-- PostgreSQL database dump\n"),
            Some(Dialect::Postgres)
        );
        assert_eq!(dialect_of(b"-- MariaDB dump 10.19\n"), Some(Dialect::MySql));
        assert_eq!(dialect_of(b"id,name\n1,a\n"), None);
    }

    #[test]
    fn sqlite_databases_are_not_dumps() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("erp.db");
        let mut bytes = b"SQLite format 3\0".to_vec();
        bytes.extend_from_slice(b"CREATE TABLE t (id integer PRIMARY KEY);\n");
        std::fs::write(&p, bytes).unwrap();
        assert_eq!(sniff(&p).unwrap(), (Container::Unknown, None));
    }

    #[test]
    fn gzip_is_sniffed_and_decompressed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.bin");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, b"-- PostgreSQL database dump\nSELECT 1;\n").unwrap();
        std::fs::write(&p, enc.finish().unwrap()).unwrap();
        let (c, d) = sniff(&p).unwrap();
        assert_eq!((c, d), (Container::Gzip, Some(Dialect::Postgres)));
        let plain = plain_sql(&p, c, Some(dir.path())).unwrap();
        assert!(
            std::fs::read_to_string(&plain.path)
                .unwrap()
                .contains("SELECT 1")
        );
        assert!(plain.truncated.is_none());
    }
}
