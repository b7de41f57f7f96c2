//! Recognising a dump file from its content and making it a plain, seekable SQL file.
//!
//! Compressed dumps (`.sql.gz`) and the `dump.sql` inside an Odoo backup zip cannot
//! be seeked, so they are decompressed once, during discovery, to a temporary file
//! that lives as long as the source (cost: one extra sequential write of the
//! uncompressed size to the temp folder). Plain files are read in place.

use std::io::{BufRead, Read};
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

/// Opens a plain SQL file for the scan: read ahead by one thread per core (see
/// [`Prefetch`]).
///
/// # Errors
/// The file cannot be opened.
pub fn open_buffered(path: &Path) -> Result<impl BufRead> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    #[cfg(unix)]
    {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(Prefetch::new(file, threads, PREFETCH_CHUNK))
    }
    #[cfg(not(unix))]
    {
        Ok(std::io::BufReader::with_capacity(1 << 20, file))
    }
}

/// Bytes each read-ahead thread copies at a time.
#[cfg(unix)]
const PREFETCH_CHUNK: usize = 2 << 20;

#[cfg(unix)]
type Chunk = std::io::Result<(Vec<u8>, usize)>;

/// A file read ahead, in order, by `threads` threads: thread `w` reads chunks
/// `w`, `w + threads`, … with positioned reads. A pass over a plain dump mostly
/// costs the copying of its bytes out of the page cache; this spreads that copying
/// over the cores while the consumer parses. Memory: two chunks per thread, plus
/// the one being consumed. The threads stop at the end of the file, on a read
/// error (handed to the consumer in turn), or when the reader is dropped.
#[cfg(unix)]
pub struct Prefetch {
    chunks: Vec<std::sync::mpsc::Receiver<Chunk>>,
    spare: Vec<std::sync::mpsc::Sender<Vec<u8>>>,
    next: usize,
    current: Vec<u8>,
    len: usize,
    pos: usize,
    done: bool,
}

#[cfg(unix)]
impl Prefetch {
    /// Starts `threads` (at least one) read-ahead threads over `file`.
    pub fn new(file: std::fs::File, threads: usize, chunk: usize) -> Self {
        use std::os::unix::fs::FileExt;
        let threads = threads.max(1);
        let file = std::sync::Arc::new(file);
        let mut chunks = Vec::with_capacity(threads);
        let mut spare = Vec::with_capacity(threads);
        for w in 0..threads {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(1);
            let (spare_tx, spare_rx) = std::sync::mpsc::channel::<Vec<u8>>();
            let file = file.clone();
            std::thread::spawn(move || {
                let mut k = w as u64;
                loop {
                    let mut buf = spare_rx.try_recv().unwrap_or_else(|_| vec![0; chunk]);
                    let start = k * chunk as u64;
                    let mut filled = 0;
                    let r = loop {
                        if filled == buf.len() {
                            break Ok(filled);
                        }
                        match file.read_at(&mut buf[filled..], start + filled as u64) {
                            Ok(0) => break Ok(filled),
                            Ok(n) => filled += n,
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(e) => break Err(e),
                        }
                    };
                    let last = !matches!(r, Ok(n) if n == chunk);
                    if tx.send(r.map(|n| (buf, n))).is_err() || last {
                        return;
                    }
                    k += threads as u64;
                }
            });
            chunks.push(rx);
            spare.push(spare_tx);
        }
        Prefetch {
            chunks,
            spare,
            next: 0,
            current: Vec::new(),
            len: 0,
            pos: 0,
            done: false,
        }
    }
}

#[cfg(unix)]
impl Read for Prefetch {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

#[cfg(unix)]
impl BufRead for Prefetch {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.pos == self.len && !self.done {
            let w = self.next % self.chunks.len();
            let (buf, n) = match self.chunks[w].recv() {
                Ok(chunk) => chunk?,
                // A thread ends only after sending the last chunk, or by a panic.
                Err(_) => return Err(std::io::Error::other("a read-ahead thread stopped")),
            };
            let used = std::mem::replace(&mut self.current, buf);
            if !used.is_empty() {
                let _ =
                    self.spare[(self.next + self.chunks.len() - 1) % self.chunks.len()].send(used);
            }
            self.next += 1;
            self.len = n;
            self.pos = 0;
            self.done = n < self.current.len() || n == 0;
        }
        Ok(&self.current[self.pos..self.len])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn prefetch_reads_every_byte_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let bytes: Vec<u8> = (0..100_003u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&p, &bytes).unwrap();
        for (threads, chunk) in [(1, 1000), (2, 1000), (3, 4096), (2, 100_003), (4, 1 << 20)] {
            let mut r = Prefetch::new(std::fs::File::open(&p).unwrap(), threads, chunk);
            let mut got = Vec::new();
            r.read_to_end(&mut got).unwrap();
            assert_eq!(got, bytes, "{threads} threads, chunks of {chunk}");
            assert_eq!(r.fill_buf().unwrap().len(), 0, "stays at the end");
        }
        std::fs::write(&p, b"").unwrap();
        let mut r = Prefetch::new(std::fs::File::open(&p).unwrap(), 2, 16);
        assert_eq!(r.fill_buf().unwrap().len(), 0);
    }

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
