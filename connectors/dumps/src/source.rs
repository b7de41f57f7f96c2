//! The `dump` source: one dump file, one stream per table.
//!
//! `discover` makes the dump a plain seekable file (see [`crate::input`]) and scans
//! it once ([`crate::scan`]); `read` then seeks to the stream's blocks
//! ([`crate::read`]). A pg_dump archive (custom, directory or tar format) is not
//! made a plain file: its table of contents and data are read in place
//! ([`crate::archive`]). A table the scan found broken fails its read with the
//! error and location, and nothing of it is published; other tables are unaffected.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ferry_core::select::Selection;
use ferry_core::source::{Catalog, EventStream, ReadOptions, SourceEvent};
use ferry_core::{Error, Location, Result, Source, StreamSpec};
use serde::Deserialize;

use crate::archive::{self, Archive};
use crate::input::{self, Container, PlainSql};
use crate::odoo;
use crate::read::{self, BatchLimits};
use crate::scan::{self, Scan};
use crate::sql::Dialect;

/// Job-file options of the `dump` source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DumpConfig {
    /// The dump: `.sql`, `.sql.gz`, an Odoo backup `.zip`, a pg_dump archive (custom
    /// file, tar, or directory), … (recognised by content).
    pub path: PathBuf,
    /// Streams (names or globs, e.g. `public.mail_*`) to leave out: their data is
    /// passed over without being parsed.
    #[serde(default)]
    pub skip_tables: Vec<String>,
    /// For an Odoo backup zip: copy the filestore here (same layout as Odoo's
    /// `filestore/<db>/`) while reading the `filestore` stream.
    #[serde(default)]
    pub with_files_dir: Option<PathBuf>,
    /// Where compressed dumps are decompressed for reading (default: the system
    /// temp folder). Needs the uncompressed size in free space.
    #[serde(default)]
    pub temp_dir: Option<PathBuf>,
    /// Rows per batch (default 65536).
    #[serde(default)]
    pub batch_rows: Option<usize>,
    /// A plain dump's long `COPY` blocks are cut into parts of about this many bytes,
    /// read by one thread per core (default 32 MiB).
    #[serde(default)]
    pub part_bytes: Option<u64>,
}

/// Where the table data is.
#[derive(Debug)]
enum Body {
    /// A plain SQL file (maybe a decompressed temporary copy).
    Plain(PlainSql),
    /// A pg_dump archive read in place.
    Archive(Box<Archive>, archive::Sources),
}

#[derive(Debug)]
struct Prepared {
    body: Body,
    dialect: Dialect,
    format: &'static str,
    scan: Scan,
    backup: Option<odoo::Backup>,
    label: String,
}

/// Reads a database dump without a database server.
#[derive(Debug)]
pub struct DumpSource {
    config: DumpConfig,
    prepared: Mutex<Option<Arc<Prepared>>>,
}

impl DumpSource {
    /// A source over `config.path`.
    ///
    /// # Errors
    /// The path does not exist or a skip pattern is not a valid glob.
    pub fn new(config: DumpConfig) -> Result<Self> {
        if !(config.path.is_file() || config.path.is_dir()) {
            return Err(Error::io(
                &config.path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such dump file"),
            ));
        }
        Selection::new(&config.skip_tables)?;
        Ok(DumpSource {
            config,
            prepared: Mutex::new(None),
        })
    }

    fn prepare_blocking(config: &DumpConfig) -> Result<Prepared> {
        let path = &config.path;
        let label = path.display().to_string();
        let (container, dialect) = input::sniff(path).map_err(|e| Error::io(path, e))?;
        let dialect = match (container, dialect) {
            (Container::PgCustom | Container::PgDirectory | Container::PgTar, _) => {
                return Self::prepare_archive(config, container);
            }
            (Container::Unknown, _) | (_, None) => {
                return Err(Error::config(
                    label,
                    "not a pg_dump plain file or archive, mysqldump file or Odoo backup zip",
                ));
            }
            (_, Some(d)) => d,
        };
        let backup = if container == Container::OdooZip {
            Some(odoo::inspect(path)?)
        } else {
            None
        };
        let plain = input::plain_sql(path, container, config.temp_dir.as_deref())?;
        let label = if container == Container::OdooZip {
            format!("{label}:dump.sql")
        } else {
            label
        };
        let skip = Selection::new(&config.skip_tables)?;
        let skip_fn = |name: &str| !skip.is_all() && skip.matches(name);
        let reader = input::open_buffered(&plain.path)?;
        let started = std::time::Instant::now();
        let mut scan = scan::scan_split(
            reader,
            dialect,
            &label,
            &skip_fn,
            Some(config.part_bytes.unwrap_or(PART_BYTES).max(1)),
        )
        .map_err(|e| Error::io(&plain.path, e))?;
        if let Some(t) = &plain.truncated {
            scan.metadata
                .insert("truncated".into(), serde_json::Value::String(t.clone()));
        }
        tracing::info!(
            dump = label,
            tables = scan.tables.len(),
            seconds = started.elapsed().as_secs_f64(),
            "Dump scanned."
        );
        Ok(Prepared {
            body: Body::Plain(plain),
            dialect,
            format: match dialect {
                Dialect::Postgres => "pg_dump plain",
                Dialect::MySql => "mysqldump",
            },
            scan,
            backup,
            label,
        })
    }

    fn prepare_archive(config: &DumpConfig, container: Container) -> Result<Prepared> {
        let started = std::time::Instant::now();
        let a = Archive::open(&config.path, container)?;
        let skip = Selection::new(&config.skip_tables)?;
        let skip_fn = |name: &str| !skip.is_all() && skip.matches(name);
        let (scan, sources) = archive::scan_archive(&a, &skip_fn)?;
        tracing::info!(
            dump = a.label,
            format = a.layout.name(),
            tables = scan.tables.len(),
            seconds = started.elapsed().as_secs_f64(),
            "Archive scanned."
        );
        Ok(Prepared {
            dialect: Dialect::Postgres,
            format: a.layout.name(),
            label: a.label.clone(),
            body: Body::Archive(Box::new(a), sources),
            scan,
            backup: None,
        })
    }

    async fn prepared(&self) -> Result<Arc<Prepared>> {
        if let Some(p) = self.prepared.lock().ok().and_then(|g| g.clone()) {
            return Ok(p);
        }
        let config = self.config.clone();
        let p = tokio::task::spawn_blocking(move || Self::prepare_blocking(&config))
            .await
            .map_err(|e| Error::external("scanning the dump", e))??;
        let p = Arc::new(p);
        if let Ok(mut g) = self.prepared.lock() {
            if let Some(existing) = g.as_ref() {
                return Ok(existing.clone());
            }
            *g = Some(p.clone());
        }
        Ok(p)
    }

    fn batch_limits(&self) -> BatchLimits {
        BatchLimits {
            rows: self.config.batch_rows.unwrap_or(65_536).max(1),
            bytes: 32 << 20,
        }
    }
}

fn catalog_of(p: &Prepared) -> Catalog {
    let mut streams: Vec<StreamSpec> = p
        .scan
        .tables
        .iter()
        .map(|t| {
            let mut s = StreamSpec::new(&t.stream, read::schema_of(t));
            s.primary_key = t.primary_key.clone();
            s.row_estimate = Some(t.rows);
            s.row_count_exact = t.error.is_none();
            s
        })
        .collect();
    let mut metadata = p.scan.metadata.clone();
    metadata.insert(
        "dump_format".into(),
        serde_json::Value::String(p.format.into()),
    );
    let broken: Vec<serde_json::Value> = p
        .scan
        .tables
        .iter()
        .filter_map(|t| {
            t.error.as_ref().map(
                |(loc, m)| serde_json::json!({"stream": t.stream, "error": format!("{loc}: {m}")}),
            )
        })
        .collect();
    if !broken.is_empty() {
        metadata.insert("broken_tables".into(), serde_json::Value::Array(broken));
    }
    if let Some(b) = &p.backup {
        let mut fs = StreamSpec::new(odoo::FILESTORE, odoo::filestore_schema());
        fs.primary_key = vec!["path".into()];
        fs.row_estimate = Some(b.files.len() as u64);
        fs.row_count_exact = true;
        streams.push(fs);
        if let Some(m) = &b.manifest {
            metadata.extend(odoo::manifest_metadata(m));
            let mut ms = StreamSpec::new(odoo::MODULES, odoo::modules_schema());
            ms.primary_key = vec!["module".into()];
            let n = m
                .get("modules")
                .and_then(|x| x.as_object())
                .map_or(0, |o| o.len());
            ms.row_estimate = Some(n as u64);
            ms.row_count_exact = true;
            streams.push(ms);
        }
    }
    Catalog { streams, metadata }
}

#[async_trait]
impl Source for DumpSource {
    fn describe(&self) -> String {
        format!("dump {}", self.config.path.display())
    }

    async fn discover(&self) -> Result<Catalog> {
        Ok(catalog_of(&*self.prepared().await?))
    }

    async fn read(&self, stream: &StreamSpec, _options: ReadOptions) -> Result<EventStream> {
        let p = self.prepared().await?;
        let limits = self.batch_limits();
        let name = stream.name.clone();
        let zip_path = self.config.path.clone();
        let copy_to = self.config.with_files_dir.clone();
        enum Job {
            Table(usize),
            Files,
            Modules,
        }
        let job = if let Some(i) = p.scan.tables.iter().position(|t| t.stream == name) {
            Job::Table(i)
        } else if p.backup.is_some() && name == odoo::FILESTORE {
            Job::Files
        } else if p.backup.as_ref().is_some_and(|b| b.manifest.is_some()) && name == odoo::MODULES {
            Job::Modules
        } else {
            return Err(Error::StreamNotFound {
                pattern: name,
                available: p
                    .scan
                    .tables
                    .iter()
                    .take(12)
                    .map(|t| t.stream.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<SourceEvent>>(2);
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        tokio::task::spawn_blocking(move || {
            let mut send = |b| {
                tx.blocking_send(Ok(SourceEvent::Batch(b)))
                    .map_err(|_| Error::data(Location::default(), "reader stopped"))
            };
            let result = match job {
                Job::Table(i) => {
                    let t = &p.scan.tables[i];
                    match &p.body {
                        Body::Plain(plain) if t.blocks.len() > 1 && workers > 1 => {
                            read_in_parallel(
                                &plain.path,
                                &p.label,
                                t,
                                p.dialect,
                                limits,
                                workers,
                                &tx,
                            )
                        }
                        Body::Plain(plain) => {
                            read::read_table(&plain.path, &p.label, t, p.dialect, limits, &mut send)
                        }
                        Body::Archive(a, sources) => {
                            archive::read_table(a, &p.scan, sources, i, limits, &mut send)
                        }
                    }
                    .and_then(|rows| {
                        if rows != t.rows {
                            return Err(Error::data(
                                Location::file(&p.label),
                                format!(
                                    "{}: read {rows} rows but the scan counted {}",
                                    t.stream, t.rows
                                ),
                            ));
                        }
                        tracing::debug!(stream = t.stream, rows, "Table read.");
                        Ok(())
                    })
                }
                Job::Files => {
                    let files = p.backup.as_ref().map(|b| b.files.as_slice()).unwrap_or(&[]);
                    odoo::read_filestore(
                        &zip_path,
                        files,
                        copy_to.as_deref(),
                        limits.rows,
                        &mut send,
                    )
                    .map(|bad| {
                        if !bad.is_empty() {
                            tracing::warn!(
                                count = bad.len(),
                                first = bad[0],
                                "Filestore files do not match their SHA-1 names."
                            );
                        }
                    })
                }
                Job::Modules => p
                    .backup
                    .as_ref()
                    .and_then(|b| b.manifest.as_ref())
                    .map_or(Ok(()), |m| odoo::modules_batch(m).and_then(&mut send)),
            };
            if let Err(e) = result {
                let _ = tx.blocking_send(Err(e));
            }
        });
        Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|ev| (ev, rx))
        })))
    }
}

/// Size of the parts a long `COPY` block of a plain dump is cut into by the scan.
const PART_BYTES: u64 = 32 << 20;

/// Reads the blocks of `table` with `workers` threads, block `k` by thread
/// `k % workers`, all sending into `tx`; returns the rows read. The first error stops
/// the others at their next batch.
fn read_in_parallel(
    path: &std::path::Path,
    label: &str,
    table: &scan::Table,
    dialect: Dialect,
    limits: BatchLimits,
    workers: usize,
    tx: &tokio::sync::mpsc::Sender<Result<SourceEvent>>,
) -> Result<u64> {
    let stop = std::sync::atomic::AtomicBool::new(false);
    // Smaller batches per thread keep the memory of the whole read where one reader's was.
    let limits = BatchLimits {
        rows: (limits.rows / workers).max(1),
        bytes: (limits.bytes / workers).max(1),
    };
    // Each thread says whether it stopped only because another failed (or the
    // consumer went away), so that the error reported is the real fault.
    let results: Vec<(Result<u64>, bool)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let mut part = table.clone();
                part.blocks = table
                    .blocks
                    .iter()
                    .skip(w)
                    .step_by(workers)
                    .cloned()
                    .collect();
                let (tx, stop) = (tx.clone(), &stop);
                s.spawn(move || {
                    let mut halted = false;
                    let mut send = |b| {
                        if stop.load(std::sync::atomic::Ordering::Relaxed)
                            || tx.blocking_send(Ok(SourceEvent::Batch(b))).is_err()
                        {
                            halted = true;
                            return Err(Error::data(Location::default(), "reader stopped"));
                        }
                        Ok(())
                    };
                    let r = read::read_table(path, label, &part, dialect, limits, &mut send);
                    if r.is_err() {
                        stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    (r, halted)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    let e = Error::data(Location::file(label), "a reader thread panicked");
                    (Err(e), false)
                })
            })
            .collect()
    });
    let mut rows = 0;
    let mut halted = None;
    for (r, stopped) in results {
        match r {
            Ok(n) => rows += n,
            Err(e) if stopped => halted = Some(e),
            Err(e) => return Err(e),
        }
    }
    match halted {
        Some(e) => Err(e),
        None => Ok(rows),
    }
}
