//! pg_dump archives read without pg_restore: the custom format (`pg_dump -Fc`, one
//! file), the directory format (`-Fd`, a folder holding `toc.dat` and one file per
//! table) and the tar format (`-Ft`, the same files as members of a tar).
//!
//! An archive starts with a header (`PGDMP`, format version, integer sizes,
//! compression, creation time, database and server version) and a table of
//! contents: one entry per object, holding the SQL that creates it (`defn`) and,
//! for table data, the `COPY … FROM stdin;` statement and where the rows are. The
//! rows are the same `COPY` text lines a plain dump holds, stored as length-prefixed
//! chunks of one zlib stream at an offset (custom), or as files (`3456.dat`, gzip
//! files `3456.dat.gz` when compressed).
//!
//! Discovery feeds the entries' SQL (encoding, types, domains, tables, constraints)
//! and each table's `COPY` statement and decompressed rows, in table-of-contents
//! order, through the plain-dump scanner ([`crate::scan`]) as one synthetic SQL
//! stream, never stored: types, keys, `INHERITS`, enums and domains are mapped
//! exactly as for a plain dump, and the rows are counted (so `row_estimate` is
//! exact) and unconstrained `numeric` columns measured. That pass decompresses the
//! whole archive once, as discovery of a `.sql.gz` does; no temporary file is
//! written. [`read_table`] later decompresses the one table's data again and
//! converts it with [`crate::read::TableReader`]. Memory stays bounded: data is
//! streamed in 1 MiB buffers.
//!
//! Compression: none and gzip/zlib (pg_dump's default, archive versions 1.10 to
//! 1.16, i.e. pg_dump 8.4 to 17). lz4 and zstd (pg_dump 16+ `-Z lz4|zstd`) are
//! refused with an error naming the file. Large objects (`BLOBS`) are not read.
//!
//! Faults: a table of contents that cannot be read fails the whole source (nothing
//! can be located without it). A data block that is missing, cut short or does not
//! decompress fails only its table, with the file, TOC entry and archive byte
//! offset; the other tables are read normally.

use std::collections::HashMap;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use ferry_core::{Error, Location, Result};

use crate::input::Container;
use crate::read::{BatchLimits, TableReader};
use crate::scan::{self, Block, Scan};
use crate::sql::Dialect;

/// How an archive's parts are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One file: header, table of contents, data blocks at offsets (`-Fc`).
    Custom,
    /// A folder: `toc.dat` and one data file per table (`-Fd`).
    Directory,
    /// A tar holding `toc.dat` and the data files (`-Ft`).
    Tar,
}

impl Layout {
    /// The name used in catalog metadata (`dump_format`).
    pub fn name(self) -> &'static str {
        match self {
            Layout::Custom => "pg_dump custom",
            Layout::Directory => "pg_dump directory",
            Layout::Tar => "pg_dump tar",
        }
    }
}

/// How the data is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed.
    None,
    /// zlib streams (custom format) or gzip files (directory format).
    Gzip,
    /// lz4 (not supported).
    Lz4,
    /// zstd (not supported).
    Zstd,
    /// An algorithm number this reader does not know.
    Other(u8),
}

impl Compression {
    fn name(self) -> String {
        match self {
            Compression::None => "none".into(),
            Compression::Gzip => "gzip".into(),
            Compression::Lz4 => "lz4".into(),
            Compression::Zstd => "zstd".into(),
            Compression::Other(n) => format!("algorithm {n}"),
        }
    }
}

/// The archive header.
#[derive(Debug, Clone)]
pub struct Header {
    /// Archive format version (major, minor, revision), e.g. 1.14.0 for pg_dump 15.
    pub version: (u8, u8, u8),
    /// Bytes of an integer's magnitude.
    pub int_size: usize,
    /// Bytes of a file offset.
    pub off_size: usize,
    /// Format byte (1 = custom; the others store data in files).
    pub format: u8,
    /// Data compression.
    pub compression: Compression,
    /// Creation time as written by pg_dump (local time of the dumping machine).
    pub created: Option<String>,
    /// Database name.
    pub database: String,
    /// Server version.
    pub server_version: Option<String>,
    /// pg_dump version.
    pub pg_dump_version: Option<String>,
}

/// Where an entry's data is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataRef {
    /// No data.
    None,
    /// Custom format: the data block starts at this byte.
    Offset(u64),
    /// Custom format written to a pipe: the block is somewhere after the table of
    /// contents and is found by walking the blocks.
    NotSet,
    /// Directory or tar format: the file (member) holding the data.
    File(String),
}

/// One table-of-contents entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Dump id (also the data block id and the data file name).
    pub dump_id: i64,
    /// Whether the entry has data.
    pub had_dumper: bool,
    /// Object name (`res_partner`).
    pub tag: String,
    /// Object kind (`TABLE`, `TABLE DATA`, `CONSTRAINT`, `ENCODING`, …).
    pub desc: String,
    /// Section (1 none, 2 pre-data, 3 data, 4 post-data).
    pub section: i64,
    /// The SQL that creates the object.
    pub defn: Vec<u8>,
    /// For table data: `COPY schema.table (cols) FROM stdin;` (empty for data
    /// dumped as `INSERT` statements).
    pub copy_stmt: Vec<u8>,
    /// Schema.
    pub namespace: String,
    /// Owner.
    pub owner: String,
    /// Dump ids this entry depends on.
    pub dependencies: Vec<i64>,
    /// Where the data is.
    pub data: DataRef,
    /// Byte of the entry in the table of contents (`toc.dat` or the archive).
    pub toc_offset: u64,
}

impl Entry {
    /// `schema.tag`, the stream name of a table entry.
    pub fn qualified(&self) -> String {
        if self.namespace.is_empty() {
            self.tag.clone()
        } else {
            format!("{}.{}", self.namespace, self.tag)
        }
    }
}

/// The header and table of contents.
#[derive(Debug, Clone)]
pub struct Toc {
    /// Header.
    pub header: Header,
    /// Entries in dump order.
    pub entries: Vec<Entry>,
    /// Byte after the table of contents.
    pub end: u64,
}

/// A fault in the header or table of contents, at a byte.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Byte offset in the table of contents.
    pub at: u64,
    /// What is wrong.
    pub message: String,
}

/// Reads the integers and strings of an archive.
struct Fields<R> {
    r: R,
    pos: u64,
    int_size: usize,
    off_size: usize,
}

impl<R: Read> Fields<R> {
    fn fault(&self, message: impl Into<String>) -> Fault {
        Fault {
            at: self.pos,
            message: message.into(),
        }
    }

    fn bytes(&mut self, buf: &mut [u8]) -> std::result::Result<(), Fault> {
        match self.r.read_exact(buf) {
            Ok(()) => {
                self.pos += buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                Err(self.fault("the archive ends here (truncated?)"))
            }
            Err(e) => Err(self.fault(e.to_string())),
        }
    }

    fn byte(&mut self) -> std::result::Result<u8, Fault> {
        let mut b = [0u8; 1];
        self.bytes(&mut b)?;
        Ok(b[0])
    }

    /// A sign byte, then `int_size` bytes of magnitude, least significant first.
    fn int(&mut self) -> std::result::Result<i64, Fault> {
        let at = self.pos;
        let negative = self.byte()? != 0;
        let mut buf = [0u8; 8];
        self.bytes(&mut buf[..self.int_size])?;
        let magnitude = u64::from_le_bytes(buf);
        let v = i64::try_from(magnitude).map_err(|_| Fault {
            at,
            message: "integer out of range (corrupt archive?)".into(),
        })?;
        Ok(if negative { -v } else { v })
    }

    /// An int length (negative: NULL), then the bytes.
    fn string(&mut self) -> std::result::Result<Option<Vec<u8>>, Fault> {
        let at = self.pos;
        let len = self.int()?;
        if len < 0 {
            return Ok(None);
        }
        if len > 1 << 30 {
            return Err(Fault {
                at,
                message: format!("a string of {len} bytes (corrupt archive?)"),
            });
        }
        let mut out = Vec::new();
        let n = (&mut self.r)
            .take(len as u64)
            .read_to_end(&mut out)
            .map_err(|e| self.fault(e.to_string()))?;
        self.pos += n as u64;
        if (n as i64) < len {
            return Err(self.fault("the archive ends inside a string (truncated?)"));
        }
        Ok(Some(out))
    }

    fn text(&mut self) -> std::result::Result<String, Fault> {
        Ok(self
            .string()?
            .map(|s| String::from_utf8_lossy(&s).into_owned())
            .unwrap_or_default())
    }

    /// A flag byte (1 not set, 2 set, 3 no data), then `off_size` bytes.
    fn offset(&mut self) -> std::result::Result<DataRef, Fault> {
        let at = self.pos;
        let flag = self.byte()?;
        let mut buf = [0u8; 8];
        self.bytes(&mut buf[..self.off_size])?;
        let off = u64::from_le_bytes(buf);
        match flag {
            1 => Ok(DataRef::NotSet),
            2 => Ok(DataRef::Offset(off)),
            3 => Ok(DataRef::None),
            f => Err(Fault {
                at,
                message: format!("unexpected data offset flag {f} (corrupt archive?)"),
            }),
        }
    }
}

/// Oldest and newest archive versions read (pg_dump 8.4 and 17).
const MIN_VERSION: (u8, u8) = (1, 10);
const MAX_VERSION: (u8, u8) = (1, 16);

/// Parses the header and table of contents at the start of `r`.
///
/// # Errors
/// Not an archive, an unsupported version, or a truncated or corrupt table of
/// contents (with the byte where reading stopped).
pub fn parse_toc(r: impl Read) -> std::result::Result<Toc, Fault> {
    let mut f = Fields {
        r,
        pos: 0,
        int_size: 4,
        off_size: 8,
    };
    let mut magic = [0u8; 5];
    f.bytes(&mut magic)?;
    if &magic != b"PGDMP" {
        return Err(Fault {
            at: 0,
            message: "not a pg_dump archive (no PGDMP signature)".into(),
        });
    }
    let version = (f.byte()?, f.byte()?, f.byte()?);
    let v = (version.0, version.1);
    if !(MIN_VERSION..=MAX_VERSION).contains(&v) {
        return Err(Fault {
            at: 5,
            message: format!(
                "archive version {}.{}.{} is not supported (ferry reads {}.{} to {}.{}, \
                 pg_dump 8.4 to 17); convert it with `pg_restore -f dump.sql FILE`",
                version.0,
                version.1,
                version.2,
                MIN_VERSION.0,
                MIN_VERSION.1,
                MAX_VERSION.0,
                MAX_VERSION.1
            ),
        });
    }
    let int_size = f.byte()? as usize;
    let off_size = f.byte()? as usize;
    if !(1..=8).contains(&int_size) || !(1..=8).contains(&off_size) {
        return Err(Fault {
            at: 8,
            message: format!("integer size {int_size} / offset size {off_size} (corrupt archive?)"),
        });
    }
    f.int_size = int_size;
    f.off_size = off_size;
    let format = f.byte()?;
    let compression = if v >= (1, 15) {
        match f.byte()? {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Lz4,
            3 => Compression::Zstd,
            n => Compression::Other(n),
        }
    } else if f.int()? == 0 {
        Compression::None
    } else {
        Compression::Gzip
    };
    let mut tm = [0i64; 7];
    for x in &mut tm {
        *x = f.int()?;
    }
    let [sec, min, hour, mday, mon, year, _isdst] = tm;
    let created = Some(format!(
        "{:04}-{:02}-{:02} {hour:02}:{min:02}:{sec:02}",
        year + 1900,
        mon + 1,
        mday
    ));
    let database = f.text()?;
    let server_version = f
        .string()?
        .map(|s| String::from_utf8_lossy(&s).into_owned());
    let pg_dump_version = f
        .string()?
        .map(|s| String::from_utf8_lossy(&s).into_owned());
    let header = Header {
        version,
        int_size,
        off_size,
        format,
        compression,
        created,
        database,
        server_version,
        pg_dump_version,
    };

    let count_at = f.pos;
    let count = f.int()?;
    if count < 0 {
        return Err(Fault {
            at: count_at,
            message: format!("{count} table-of-contents entries (corrupt archive?)"),
        });
    }
    let mut entries = Vec::with_capacity(count.min(4096) as usize);
    for k in 0..count {
        let toc_offset = f.pos;
        let entry = read_entry(&mut f, v, format, toc_offset).map_err(|e| Fault {
            at: e.at,
            message: format!(
                "table-of-contents entry {} of {count} (starting at byte {toc_offset}): {}",
                k + 1,
                e.message
            ),
        })?;
        entries.push(entry);
    }
    Ok(Toc {
        header,
        entries,
        end: f.pos,
    })
}

fn read_entry<R: Read>(
    f: &mut Fields<R>,
    v: (u8, u8),
    format: u8,
    toc_offset: u64,
) -> std::result::Result<Entry, Fault> {
    let dump_id = f.int()?;
    let had_dumper = f.int()? != 0;
    let _tableoid = f.string()?;
    let _oid = f.string()?;
    let tag = f.text()?;
    let desc = f.text()?;
    let section = if v >= (1, 11) { f.int()? } else { 0 };
    let defn = f.string()?.unwrap_or_default();
    let _drop = f.string()?;
    let copy_stmt = f.string()?.unwrap_or_default();
    let namespace = f.text()?;
    let _tablespace = f.string()?;
    if v >= (1, 14) {
        let _tableam = f.string()?;
    }
    if v >= (1, 16) {
        let _relkind = f.int()?;
    }
    let owner = f.text()?;
    let _with_oids = f.string()?;
    let mut dependencies = Vec::new();
    while let Some(d) = f.string()? {
        if let Ok(id) = String::from_utf8_lossy(&d).trim().parse() {
            dependencies.push(id);
        }
    }
    let data = if format == 1 {
        f.offset()?
    } else {
        match f.string()? {
            Some(name) if !name.is_empty() => {
                DataRef::File(String::from_utf8_lossy(&name).into_owned())
            }
            _ => DataRef::None,
        }
    };
    Ok(Entry {
        dump_id,
        had_dumper,
        tag,
        desc,
        section,
        defn,
        copy_stmt,
        namespace,
        owner,
        dependencies,
        data,
        toc_offset,
    })
}

/// An opened archive: its table of contents and where its data is.
#[derive(Debug)]
pub struct Archive {
    /// Name used in messages (the path as given).
    pub label: String,
    /// The archive file (custom, tar) or folder (directory).
    pub path: PathBuf,
    /// How it is stored.
    pub layout: Layout,
    /// Header and entries.
    pub toc: Toc,
    /// Size of the archive file (custom, tar).
    file_len: u64,
    /// Custom format without offsets: data block positions by dump id.
    found: HashMap<i64, u64>,
    /// Tar format: member name → (data offset, size).
    members: HashMap<String, (u64, u64)>,
}

fn is_tar_header(h: &[u8]) -> bool {
    h.len() >= 512 && &h[257..262] == b"ustar"
}

fn cstr(b: &[u8]) -> String {
    let end = memchr::memchr(0, b).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// A tar size field: octal text, or base-256 when the high bit is set.
fn tar_size(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut v: u64 = 0;
        for (i, &b) in field.iter().enumerate() {
            let b = if i == 0 { b & 0x7f } else { b };
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// Whether `head` (the first 517 bytes of a file) is a pg_dump tar archive: a tar
/// whose first member is `toc.dat`, starting with `PGDMP`.
pub fn is_pg_tar(head: &[u8]) -> bool {
    head.len() >= 517
        && is_tar_header(head)
        && cstr(&head[..100]) == "toc.dat"
        && &head[512..517] == b"PGDMP"
}

/// Lists the members of a tar: name → (data offset, size). Stops at the end
/// marker, at the end of the file or at a header that cannot be read.
fn tar_members(path: &Path) -> io::Result<HashMap<String, (u64, u64)>> {
    let mut f = BufReader::with_capacity(1 << 16, std::fs::File::open(path)?);
    let mut out = HashMap::new();
    let mut pos: u64 = 0;
    let mut h = [0u8; 512];
    loop {
        f.seek(SeekFrom::Start(pos))?;
        let mut n = 0;
        while n < 512 {
            match f.read(&mut h[n..])? {
                0 => break,
                k => n += k,
            }
        }
        if n < 512 || h.iter().all(|&b| b == 0) || !is_tar_header(&h) {
            break;
        }
        let Some(size) = tar_size(&h[124..136]) else {
            tracing::warn!(path = %path.display(), at = pos, "Unreadable tar header: stopping.");
            break;
        };
        let mut name = cstr(&h[..100]);
        let prefix = cstr(&h[345..500]);
        if !prefix.is_empty() {
            name = format!("{prefix}/{name}");
        }
        if matches!(h[156], b'0' | 0) {
            out.insert(name, (pos + 512, size));
        }
        let Some(next) = size
            .checked_add(511)
            .map(|s| s / 512 * 512)
            .and_then(|s| pos.checked_add(512 + s))
        else {
            break;
        };
        pos = next;
    }
    Ok(out)
}

impl Archive {
    /// Opens the archive at `path`, recognised as `container` by
    /// [`crate::input::sniff`], and reads its table of contents.
    ///
    /// # Errors
    /// The archive cannot be read, its table of contents is cut short or corrupt,
    /// or its data is compressed with lz4 or zstd.
    pub fn open(path: &Path, container: Container) -> Result<Archive> {
        let label = path.display().to_string();
        let bad = |f: Fault, what: &str| {
            Error::data(
                Location::file(format!("{label}{what}")).byte(f.at),
                f.message,
            )
        };
        let (layout, toc, members, file_len, base) = match container {
            Container::PgCustom => {
                let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
                let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
                let toc =
                    parse_toc(BufReader::with_capacity(1 << 16, file)).map_err(|f| bad(f, ""))?;
                if toc.header.format == 1 {
                    (
                        Layout::Custom,
                        toc,
                        HashMap::new(),
                        file_len,
                        path.to_owned(),
                    )
                } else if path.file_name().is_some_and(|n| n == "toc.dat") {
                    // The toc.dat of a directory archive, named directly.
                    let dir = match path.parent() {
                        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                        _ => PathBuf::from("."),
                    };
                    (Layout::Directory, toc, HashMap::new(), 0, dir)
                } else {
                    return Err(Error::data(
                        Location::file(&label).byte(10),
                        format!(
                            "the archive header says format {} (a directory or tar archive's \
                             toc.dat), but this is a single file",
                            toc.header.format
                        ),
                    ));
                }
            }
            Container::PgDirectory => {
                let toc_path = path.join("toc.dat");
                let file = std::fs::File::open(&toc_path).map_err(|e| Error::io(&toc_path, e))?;
                let toc = parse_toc(BufReader::with_capacity(1 << 16, file))
                    .map_err(|f| bad(f, "/toc.dat"))?;
                (Layout::Directory, toc, HashMap::new(), 0, path.to_owned())
            }
            Container::PgTar => {
                let members = tar_members(path).map_err(|e| Error::io(path, e))?;
                let file_len = std::fs::metadata(path)
                    .map_err(|e| Error::io(path, e))?
                    .len();
                let Some(&(at, size)) = members.get("toc.dat") else {
                    return Err(Error::data(
                        Location::file(&label),
                        "no toc.dat member: not a pg_dump tar archive",
                    ));
                };
                let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
                file.seek(SeekFrom::Start(at))
                    .map_err(|e| Error::io(path, e))?;
                let toc = parse_toc(BufReader::with_capacity(1 << 16, file.take(size)))
                    .map_err(|f| bad(f, ":toc.dat"))?;
                (Layout::Tar, toc, members, file_len, path.to_owned())
            }
            _ => {
                return Err(Error::config(label, "not a pg_dump archive"));
            }
        };
        match toc.header.compression {
            Compression::None | Compression::Gzip => {}
            other => {
                return Err(Error::config(
                    label,
                    format!(
                        "unsupported compression: the archive's data is compressed with {} \
                         (pg_dump -Z {}), which ferry cannot decompress; dump with -Z gzip or \
                         -Z 0, or convert it with `pg_restore -f dump.sql FILE`",
                        other.name(),
                        other.name()
                    ),
                ));
            }
        }
        let mut archive = Archive {
            label,
            path: base,
            layout,
            toc,
            file_len,
            found: HashMap::new(),
            members,
        };
        if layout == Layout::Custom
            && archive
                .toc
                .entries
                .iter()
                .any(|e| e.data == DataRef::NotSet)
        {
            archive.found = archive.walk_blocks();
        }
        Ok(archive)
    }

    /// Custom format written to a pipe: the data blocks follow the table of
    /// contents without recorded offsets. Walks them once (skipping their
    /// chunks) to note where each starts.
    fn walk_blocks(&self) -> HashMap<i64, u64> {
        let mut found = HashMap::new();
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return found;
        };
        if file.seek(SeekFrom::Start(self.toc.end)).is_err() {
            return found;
        }
        let mut f = Fields {
            r: BufReader::with_capacity(1 << 16, file),
            pos: self.toc.end,
            int_size: self.toc.header.int_size,
            off_size: self.toc.header.off_size,
        };
        let skip_chunks = |f: &mut Fields<BufReader<std::fs::File>>| -> Option<()> {
            loop {
                let len = f.int().ok()?;
                if len == 0 {
                    return Some(());
                }
                if len < 0 || f.pos.checked_add(len as u64)? > self.file_len {
                    return None;
                }
                f.r.seek_relative(len).ok()?;
                f.pos += len as u64;
            }
        };
        while f.pos < self.file_len {
            let at = f.pos;
            let (Ok(kind), Ok(id)) = (f.byte(), f.int()) else {
                break;
            };
            let ok = match kind {
                1 => {
                    found.insert(id, at);
                    skip_chunks(&mut f).is_some()
                }
                3 => loop {
                    match f.int() {
                        Ok(0) => break true,
                        Ok(_) => {
                            if skip_chunks(&mut f).is_none() {
                                break false;
                            }
                        }
                        Err(_) => break false,
                    }
                },
                _ => false,
            };
            if !ok {
                tracing::warn!(
                    archive = self.label,
                    at,
                    "Data blocks unreadable from here."
                );
                break;
            }
        }
        found
    }

    /// Where an entry's data is, for messages.
    pub fn data_label(&self, e: &Entry) -> String {
        let place = match (&e.data, self.layout) {
            (DataRef::Offset(o), _) => format!(", block at byte {o}"),
            (DataRef::NotSet, _) => match self.found.get(&e.dump_id) {
                Some(o) => format!(", block at byte {o}"),
                None => String::new(),
            },
            (DataRef::File(name), Layout::Tar) => format!(", member {name}"),
            (DataRef::File(name), _) => format!(", file {name}"),
            (DataRef::None, _) => String::new(),
        };
        format!(
            "{} (TOC entry {}, {} {}{place}) data",
            self.label,
            e.dump_id,
            e.desc,
            e.qualified()
        )
    }

    /// The decompressed data of entry `e`: `COPY` text lines, or `INSERT`
    /// statements when its `copy_stmt` is empty.
    ///
    /// # Errors
    /// The data cannot be found or opened. Errors while reading come from the
    /// returned reader (cut short, corrupt compressed data), with byte offsets.
    pub fn open_data(&self, e: &Entry) -> Result<Box<dyn Read + Send>> {
        let loc = || Location::file(self.data_label(e));
        match (&e.data, self.layout) {
            (DataRef::None, _) => Ok(Box::new(io::empty())),
            (DataRef::Offset(_) | DataRef::NotSet, Layout::Custom) => {
                let at = match e.data {
                    DataRef::Offset(o) => o,
                    _ => *self.found.get(&e.dump_id).ok_or_else(|| {
                        Error::data(
                            loc(),
                            "no data block for this entry after the table of contents \
                             (archive written to a pipe and cut short?)",
                        )
                    })?,
                };
                if at >= self.file_len {
                    return Err(Error::data(
                        loc(),
                        format!(
                            "the data block is at byte {at} but the archive has only {} bytes \
                             (truncated?)",
                            self.file_len
                        ),
                    ));
                }
                let mut file =
                    std::fs::File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
                file.seek(SeekFrom::Start(at))
                    .map_err(|e| Error::io(&self.path, e))?;
                let mut f = Fields {
                    r: BufReader::with_capacity(1 << 16, file),
                    pos: at,
                    int_size: self.toc.header.int_size,
                    off_size: self.toc.header.off_size,
                };
                let head = f.byte().and_then(|k| Ok((k, f.int()?)));
                match head {
                    Ok((1, id)) if id == e.dump_id => {}
                    Ok((kind, id)) => {
                        return Err(Error::data(
                            loc().byte(at),
                            format!(
                                "expected the data block of dump id {} here, found block type \
                                 {kind} of dump id {id} (corrupt archive?)",
                                e.dump_id
                            ),
                        ));
                    }
                    Err(fault) => return Err(Error::data(loc().byte(fault.at), fault.message)),
                }
                let chunks = Chunks {
                    f,
                    left: 0,
                    done: false,
                };
                Ok(match self.toc.header.compression {
                    Compression::Gzip => Box::new(flate2::read::ZlibDecoder::new(chunks)),
                    _ => Box::new(chunks),
                })
            }
            (DataRef::File(name), Layout::Directory) => {
                if name.contains(['/', '\\']) || name == ".." {
                    return Err(Error::data(
                        loc(),
                        format!("data file name {name:?} is not a plain file name"),
                    ));
                }
                let plain = self.path.join(name);
                let gz = self.path.join(format!("{name}.gz"));
                let gzip = |p: &Path| -> Result<Box<dyn Read + Send>> {
                    let f = std::fs::File::open(p).map_err(|e| Error::io(p, e))?;
                    Ok(Box::new(flate2::read::MultiGzDecoder::new(
                        BufReader::with_capacity(1 << 16, f),
                    )))
                };
                if plain.is_file() {
                    if name.ends_with(".gz") {
                        return gzip(&plain);
                    }
                    let f = std::fs::File::open(&plain).map_err(|e| Error::io(&plain, e))?;
                    return Ok(Box::new(f));
                }
                if gz.is_file() {
                    return gzip(&gz);
                }
                for ext in ["lz4", "zst"] {
                    let p = self.path.join(format!("{name}.{ext}"));
                    if p.is_file() {
                        return Err(Error::config(
                            p.display().to_string(),
                            format!(
                                "unsupported compression: {ext} data files cannot be \
                                 decompressed by ferry; dump with -Z gzip or -Z 0"
                            ),
                        ));
                    }
                }
                Err(Error::io(
                    &plain,
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        format!(
                            "no data file for TOC entry {} ({} {}), nor {name}.gz",
                            e.dump_id,
                            e.desc,
                            e.qualified()
                        ),
                    ),
                ))
            }
            (DataRef::File(name), Layout::Tar) => {
                let (member, gzip) = match self.members.get(name) {
                    Some(m) => (*m, name.ends_with(".gz")),
                    None => match self.members.get(&format!("{name}.gz")) {
                        Some(m) => (*m, true),
                        None => {
                            return Err(Error::data(
                                loc(),
                                format!("no member {name} in the tar (truncated?)"),
                            ));
                        }
                    },
                };
                let (at, size) = member;
                if at.saturating_add(size) > self.file_len {
                    return Err(Error::data(
                        loc().byte(at),
                        format!(
                            "member {name} ({size} bytes at byte {at}) is cut short: the tar \
                             has only {} bytes (truncated?)",
                            self.file_len
                        ),
                    ));
                }
                let mut file =
                    std::fs::File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
                file.seek(SeekFrom::Start(at))
                    .map_err(|e| Error::io(&self.path, e))?;
                let r = BufReader::with_capacity(1 << 16, file).take(size);
                Ok(if gzip {
                    Box::new(flate2::read::MultiGzDecoder::new(r))
                } else {
                    Box::new(r)
                })
            }
            (data, layout) => Err(Error::data(
                loc(),
                format!("data reference {data:?} does not fit a {layout:?} archive"),
            )),
        }
    }

    /// Facts for the catalog metadata.
    pub fn metadata(&self) -> serde_json::Map<String, serde_json::Value> {
        let h = &self.toc.header;
        let mut m = serde_json::Map::new();
        let mut put = |k: &str, v: String| {
            m.insert(k.into(), serde_json::Value::String(v));
        };
        put("database", h.database.clone());
        put(
            "archive_version",
            format!("{}.{}.{}", h.version.0, h.version.1, h.version.2),
        );
        put("compression", h.compression.name());
        if let Some(v) = &h.server_version {
            put("server_version", v.clone());
        }
        if let Some(v) = &h.pg_dump_version {
            put("pg_dump_version", v.clone());
        }
        if let Some(v) = &h.created {
            put("created", v.clone());
        }
        m
    }
}

/// The data of a custom-format block: int-length-prefixed chunks up to a zero
/// length.
struct Chunks<R> {
    f: Fields<R>,
    left: u64,
    done: bool,
}

impl<R: Read> Read for Chunks<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            if self.left == 0 {
                let len = self
                    .f
                    .int()
                    .map_err(|e| io::Error::new(io::ErrorKind::UnexpectedEof, describe(&e)))?;
                if len == 0 {
                    self.done = true;
                    return Ok(0);
                }
                if len < 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "chunk length {len} at byte {} (corrupt archive?)",
                            self.f.pos
                        ),
                    ));
                }
                self.left = len as u64;
                continue;
            }
            let want = buf
                .len()
                .min(usize::try_from(self.left).unwrap_or(usize::MAX));
            let n = self.f.r.read(&mut buf[..want])?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "the archive ends at byte {} inside a data chunk (truncated?)",
                        self.f.pos
                    ),
                ));
            }
            self.left -= n as u64;
            self.f.pos += n as u64;
            return Ok(n);
        }
    }
}

fn describe(f: &Fault) -> String {
    format!("byte {}: {}", f.at, f.message)
}

// ---------------------------------------------------------------------------
// Discovery: the entries as one synthetic plain dump, through the scanner.

/// Descriptions of the entries whose SQL matters for the catalog: the encoding
/// and string settings, enum types and domains, tables and primary keys.
const CATALOG_DESCS: &[&str] = &[
    "ENCODING",
    "STDSTRINGS",
    "TYPE",
    "DOMAIN",
    "TABLE",
    "CONSTRAINT",
];

enum Step {
    Sql(usize),
    Data(usize),
}

/// One entry's part of the synthetic stream.
#[derive(Debug, Clone, Copy)]
struct Piece {
    /// First byte in the stream.
    start: u64,
    /// Line number of `start` (1-based).
    line: u64,
    entry: usize,
    data: bool,
}

/// A `Read` over the synthetic plain dump: each catalog entry's SQL and, for
/// table data, its `COPY` statement, its decompressed rows and a `\.` line.
struct Synthetic<'a> {
    archive: &'a Archive,
    skip: &'a dyn Fn(&str) -> bool,
    steps: Vec<Step>,
    next: usize,
    text: Vec<u8>,
    text_at: usize,
    data: Option<(usize, Box<dyn Read + Send>)>,
    tail: Vec<u8>,
    data_len: u64,
    pos: u64,
    newlines: u64,
    pieces: Vec<Piece>,
    errors: HashMap<usize, (Location, String)>,
}

/// Whether data ending in `tail` (its last bytes; `whole` when that is all the
/// data) ends with a `\.` line.
fn ends_with_terminator(tail: &[u8], whole: bool) -> bool {
    let mut rest = tail;
    while let Some(r) = rest
        .strip_suffix(b"\n")
        .or_else(|| rest.strip_suffix(b"\r"))
    {
        rest = r;
    }
    rest.ends_with(b"\\.")
        && (rest.len() == 2 && whole || rest.len() >= 3 && rest[rest.len() - 3] == b'\n')
}

impl Synthetic<'_> {
    fn is_copy(&self, entry: usize) -> bool {
        !self.archive.toc.entries[entry].copy_stmt.is_empty()
    }

    fn advance(&mut self, emitted: usize, from_text: bool, buf: &[u8]) {
        self.pos += emitted as u64;
        self.newlines += memchr::memchr_iter(b'\n', &buf[..emitted]).count() as u64;
        if from_text {
            self.text_at += emitted;
        }
    }

    fn begin(&mut self, entry: usize, data: bool) {
        self.pieces.push(Piece {
            start: self.pos,
            line: self.newlines + 1,
            entry,
            data,
        });
    }

    /// Closes the data piece of `entry`: a newline if the last line has none and,
    /// for COPY data, a `\.` line unless the data ended with one.
    fn end_data(&mut self, entry: usize, error: Option<(Location, String)>) {
        if let Some(e) = error {
            self.errors.entry(entry).or_insert(e);
        }
        let mut t = Vec::new();
        let open_line = self.data_len > 0 && self.tail.last() != Some(&b'\n');
        if open_line {
            t.push(b'\n');
        }
        let whole = self.data_len == self.tail.len() as u64;
        let terminated =
            !self.errors.contains_key(&entry) && ends_with_terminator(&self.tail, whole);
        if self.is_copy(entry) && !terminated {
            t.extend_from_slice(b"\\.\n");
        }
        self.text = t;
        self.text_at = 0;
        self.data = None;
    }
}

const TAIL: usize = 16;

impl Read for Synthetic<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.text_at < self.text.len() {
                let n = buf.len().min(self.text.len() - self.text_at);
                buf[..n].copy_from_slice(&self.text[self.text_at..self.text_at + n]);
                self.advance(n, true, buf);
                return Ok(n);
            }
            if let Some((entry, r)) = &mut self.data {
                let entry = *entry;
                match r.read(buf) {
                    Ok(0) => self.end_data(entry, None),
                    Ok(n) => {
                        self.data_len += n as u64;
                        if n >= TAIL {
                            self.tail.clear();
                            self.tail.extend_from_slice(&buf[n - TAIL..n]);
                        } else {
                            self.tail.extend_from_slice(&buf[..n]);
                            let extra = self.tail.len().saturating_sub(TAIL);
                            self.tail.drain(..extra);
                        }
                        self.advance(n, false, buf);
                        return Ok(n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let e = (
                            Location::file(
                                self.archive.data_label(&self.archive.toc.entries[entry]),
                            ),
                            format!("after {} bytes of data: {e}", self.data_len),
                        );
                        self.end_data(entry, Some(e));
                    }
                }
                continue;
            }
            let Some(step) = self.steps.get(self.next) else {
                return Ok(0);
            };
            self.next += 1;
            match *step {
                Step::Sql(i) => {
                    self.begin(i, false);
                    let e = &self.archive.toc.entries[i];
                    let sql = if e.desc == "TABLE DATA" {
                        &e.copy_stmt
                    } else {
                        &e.defn
                    };
                    let mut t = sql.clone();
                    if !t.ends_with(b"\n") {
                        t.push(b'\n');
                    }
                    self.text = t;
                    self.text_at = 0;
                }
                Step::Data(i) => {
                    self.begin(i, true);
                    self.tail.clear();
                    self.data_len = 0;
                    let e = &self.archive.toc.entries[i];
                    if (self.skip)(&stream_name(e)) {
                        self.end_data(i, None);
                        continue;
                    }
                    match self.archive.open_data(e) {
                        Ok(r) => self.data = Some((i, r)),
                        Err(Error::Data { location, message }) => {
                            self.end_data(i, Some((location, message)));
                        }
                        Err(err) => {
                            let loc = Location::file(self.archive.data_label(e));
                            self.end_data(i, Some((loc, err.to_string())));
                        }
                    }
                }
            }
        }
    }
}

/// The stream name the scanner gives a table entry.
fn stream_name(e: &Entry) -> String {
    let ns = if e.namespace.is_empty() {
        "public"
    } else {
        &e.namespace
    };
    format!("{ns}.{}", e.tag).replace(['/', '\\'], "_")
}

/// Where one table block's bytes are: the data of a TOC entry, from an offset.
#[derive(Debug, Clone)]
struct BlockSource {
    entry: usize,
    /// Offset of the block in the entry's decompressed data.
    offset: u64,
    /// Line of the block in the entry's data (1-based).
    line: u64,
}

/// Where each table's blocks are, in the order of [`Scan::tables`].
#[derive(Debug, Clone, Default)]
pub struct Sources(Vec<Vec<BlockSource>>);

/// Scans an archive as a plain dump: see the module documentation. `skip` says
/// which streams to leave out (their data is not decompressed).
///
/// # Errors
/// Never for faults in the data, which are recorded on the tables.
pub fn scan_archive(archive: &Archive, skip: &dyn Fn(&str) -> bool) -> Result<(Scan, Sources)> {
    let mut steps = Vec::new();
    for (i, e) in archive.toc.entries.iter().enumerate() {
        if e.desc == "TABLE DATA" {
            if !e.copy_stmt.is_empty() {
                steps.push(Step::Sql(i));
            }
            steps.push(Step::Data(i));
        } else if CATALOG_DESCS.contains(&e.desc.as_str()) && !e.defn.is_empty() {
            steps.push(Step::Sql(i));
        }
    }
    let mut syn = Synthetic {
        archive,
        skip,
        steps,
        next: 0,
        text: Vec::new(),
        text_at: 0,
        data: None,
        tail: Vec::new(),
        data_len: 0,
        pos: 0,
        newlines: 0,
        pieces: Vec::new(),
        errors: HashMap::new(),
    };
    let label = archive.label.clone();
    let mut scan = scan::scan(
        BufReader::with_capacity(1 << 20, &mut syn),
        Dialect::Postgres,
        &label,
        skip,
    )
    .map_err(|e| Error::io(&archive.path, e))?;
    let pieces = syn.pieces;
    let errors = syn.errors;
    let piece_at = |byte: u64| -> Option<&Piece> {
        let k = pieces.partition_point(|p| p.start <= byte);
        k.checked_sub(1).map(|k| &pieces[k])
    };
    let entries = &archive.toc.entries;
    // Locations in the synthetic stream → the TOC entry they came from.
    let remap = |loc: &Location| -> Location {
        if loc.file.as_deref() != Some(label.as_str()) {
            return loc.clone();
        }
        let Some(p) = loc.byte.and_then(piece_at) else {
            return Location::file(&label);
        };
        let e = &entries[p.entry];
        let line = loc.line.map(|l| l.saturating_sub(p.line) + 1);
        let byte = loc.byte.unwrap_or(p.start) - p.start;
        let mut out = if p.data {
            Location::file(archive.data_label(e)).byte(byte)
        } else {
            Location::file(format!(
                "{label} (TOC entry {}, {} {}, at byte {}) SQL",
                e.dump_id,
                e.desc,
                e.qualified(),
                e.toc_offset
            ))
        };
        out.line = line;
        out
    };
    let mut sources = Vec::with_capacity(scan.tables.len());
    for t in &mut scan.tables {
        if let Some((loc, _)) = &mut t.error {
            *loc = remap(loc);
        }
        let mut srcs = Vec::with_capacity(t.blocks.len());
        for b in &t.blocks {
            match piece_at(b.start).filter(|p| p.data) {
                Some(p) => {
                    if let Some(err) = errors.get(&p.entry) {
                        t.error.get_or_insert_with(|| err.clone());
                    }
                    srcs.push(BlockSource {
                        entry: p.entry,
                        offset: b.start - p.start,
                        line: b.line.saturating_sub(p.line) + 1,
                    });
                }
                None => {
                    t.error.get_or_insert_with(|| {
                        (
                            remap(&Location::file(&label).line(b.line).byte(b.start)),
                            "table data outside a TABLE DATA entry of the archive".into(),
                        )
                    });
                    srcs.push(BlockSource {
                        entry: usize::MAX,
                        offset: 0,
                        line: 1,
                    });
                }
            }
        }
        sources.push(srcs);
    }
    for (loc, msg) in errors.values().take(8) {
        tracing::warn!(location = %loc, error = msg, "Unreadable table data.");
    }
    scan.metadata.extend(archive.metadata());
    Ok((scan, Sources(sources)))
}

/// Reads table `index` of `scan` (from [`scan_archive`]) from the archive,
/// handing batches to `send`. Returns the number of rows.
///
/// # Errors
/// The table was found broken, its data cannot be read, or a value does not fit
/// its column (the error names the TOC entry, line and byte of the decompressed
/// data).
pub fn read_table(
    archive: &Archive,
    scan: &Scan,
    sources: &Sources,
    index: usize,
    limits: BatchLimits,
    send: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<u64> {
    let table = &scan.tables[index];
    if let Some((loc, msg)) = &table.error {
        return Err(Error::data(loc.clone(), msg.clone()));
    }
    let srcs = sources.0.get(index).map_or(&[][..], Vec::as_slice);
    let mut r = TableReader::new(table, Dialect::Postgres, limits);
    for (block, src) in table.blocks.iter().zip(srcs) {
        let Some(e) = archive.toc.entries.get(src.entry) else {
            continue;
        };
        let label = archive.data_label(e);
        let mut data = archive.open_data(e)?;
        let skipped = io::copy(&mut (&mut data).take(src.offset), &mut io::sink())
            .map_err(|err| Error::io(&label, err))?;
        if skipped < src.offset {
            return Err(Error::data(
                Location::file(&label).byte(skipped),
                "the data is shorter than when it was scanned",
            ));
        }
        let len = block.end - block.start;
        let local = Block {
            start: src.offset,
            end: src.offset + len,
            line: src.line,
            kind: block.kind.clone(),
            charset: block.charset,
        };
        let reader = BufReader::with_capacity(1 << 20, data.take(len));
        r.block(reader, &label, &local, send)?;
    }
    r.finish(send)
}

/// Whether `dir` is a pg_dump directory archive (holds a `toc.dat` starting with
/// `PGDMP`).
pub fn is_pg_directory(dir: &Path) -> bool {
    let mut magic = [0u8; 5];
    std::fs::File::open(dir.join("toc.dat"))
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == b"PGDMP"
}

#[cfg(test)]
mod tests;
