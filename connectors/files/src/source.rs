//! The `files` source: a file, or a folder of exports, with one stream per file
//! (per sheet for workbooks).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ferry_core::source::{Catalog, EventStream, ReadOptions, SourceEvent};
use ferry_core::{Error, Location, Result, Source, StreamSpec};
use serde::Deserialize;

use crate::csv::{self, CsvOptions, CsvTable};
use crate::jsonl::{self, JsonlTable};
use crate::xlsx::{self, Sheet};

/// Job-file options of the `files` source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesConfig {
    /// A file or a folder of files (`.csv`, `.tsv`, `.txt`, `.xlsx`, `.xls`, `.ods`, `.jsonl`, `.ndjson`).
    pub path: PathBuf,
    /// CSV options.
    #[serde(default)]
    pub csv: CsvOptions,
    /// Whether spreadsheets have a header row (default: detected).
    #[serde(default)]
    pub sheet_header: Option<bool>,
    /// Lines used to infer JSON-lines columns (default 100000).
    #[serde(default)]
    pub jsonl_infer_rows: Option<usize>,
}

/// What kind of file a path is, by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Delimited text.
    Csv,
    /// Spreadsheet.
    Sheet,
    /// JSON lines.
    Jsonl,
}

impl FileKind {
    /// The kind of `path`, if ferry reads it.
    pub fn of(path: &Path) -> Option<FileKind> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "tsv" | "txt" => Some(FileKind::Csv),
            "xlsx" | "xlsm" | "xlsb" | "xls" | "ods" => Some(FileKind::Sheet),
            "jsonl" | "ndjson" => Some(FileKind::Jsonl),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
enum Table {
    Csv(CsvTable),
    Sheet(Arc<Sheet>),
    Jsonl(JsonlTable),
}

/// Reads exported files.
#[derive(Debug)]
pub struct FilesSource {
    config: FilesConfig,
    tables: Mutex<BTreeMap<String, Table>>,
}

impl FilesSource {
    /// A source over `config.path`.
    ///
    /// # Errors
    /// The path does not exist or holds no readable file.
    pub fn new(config: FilesConfig) -> Result<Self> {
        if !config.path.exists() {
            return Err(Error::io(
                &config.path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
            ));
        }
        Ok(FilesSource {
            config,
            tables: Mutex::new(BTreeMap::new()),
        })
    }

    fn files(&self) -> Result<Vec<PathBuf>> {
        let root = &self.config.path;
        if root.is_file() {
            return match FileKind::of(root) {
                Some(_) => Ok(vec![root.clone()]),
                None => Err(Error::config(
                    root.display().to_string(),
                    "not a file ferry reads (.csv, .tsv, .txt, .xlsx, .xls, .ods, .jsonl, .ndjson)",
                )),
            };
        }
        let mut out = Vec::new();
        for entry in std::fs::read_dir(root).map_err(|e| Error::io(root, e))? {
            let path = entry.map_err(|e| Error::io(root, e))?.path();
            let hidden = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(['.', '_', '~']));
            if path.is_file() && !hidden && FileKind::of(&path).is_some() {
                out.push(path);
            } else if path.is_file() && !hidden {
                tracing::debug!(path = %path.display(), "Skipping a file of unknown kind.");
            }
        }
        out.sort();
        if out.is_empty() {
            return Err(Error::config(
                root.display().to_string(),
                "the folder holds no .csv, .xlsx or .jsonl file",
            ));
        }
        Ok(out)
    }

    fn discover_blocking(&self) -> Result<Vec<(String, Table)>> {
        let mut found: Vec<(String, Table)> = Vec::new();
        for path in self.files()? {
            let display = path.display().to_string();
            let stem = sanitize(
                path.file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("stream"),
            );
            let batch_rows = self.config.csv.batch_rows.unwrap_or(65_536).max(1);
            match FileKind::of(&path) {
                Some(FileKind::Csv) => found.push((
                    stem,
                    Table::Csv(csv::discover(&path, &display, &self.config.csv)?),
                )),
                Some(FileKind::Jsonl) => found.push((
                    stem,
                    Table::Jsonl(jsonl::discover(
                        &path,
                        &display,
                        self.config.jsonl_infer_rows.unwrap_or(100_000),
                        batch_rows,
                    )?),
                )),
                Some(FileKind::Sheet) => {
                    let sheets = xlsx::read_workbook(&path, &display, self.config.sheet_header)?;
                    let single = sheets.len() == 1;
                    for sheet in sheets {
                        let name = if single {
                            stem.clone()
                        } else {
                            format!("{stem}_{}", sanitize(&sheet.name))
                        };
                        found.push((name, Table::Sheet(Arc::new(sheet))));
                    }
                }
                None => {}
            }
        }
        // Two files with the same stem (orders.csv and orders.xlsx) must not share a stream.
        let mut seen = std::collections::HashSet::new();
        for (name, _) in &found {
            if !seen.insert(name.clone()) {
                return Err(Error::config(
                    self.config.path.display().to_string(),
                    format!("two files would both be stream {name:?}; rename one of them"),
                ));
            }
        }
        Ok(found)
    }
}

/// Makes a stream name from a file or sheet name: no path separators or spaces.
fn sanitize(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

fn spec_of(name: &str, table: &Table) -> StreamSpec {
    let (schema, rows) = match table {
        Table::Csv(t) => (t.schema(), t.complete_scan.then_some(t.rows_seen)),
        Table::Sheet(s) => (s.schema(), Some(s.rows.len() as u64)),
        Table::Jsonl(t) => (t.schema(), None),
    };
    let mut spec = StreamSpec::new(name, schema);
    spec.row_estimate = rows;
    spec.row_count_exact = rows.is_some();
    spec
}

#[async_trait]
impl Source for FilesSource {
    fn describe(&self) -> String {
        format!("files {}", self.config.path.display())
    }

    async fn discover(&self) -> Result<Catalog> {
        let this = FilesSource {
            config: self.config.clone(),
            tables: Mutex::new(BTreeMap::new()),
        };
        let found = tokio::task::spawn_blocking(move || this.discover_blocking())
            .await
            .map_err(|e| Error::external("discovering files", e))??;
        let streams = found.iter().map(|(n, t)| spec_of(n, t)).collect();
        if let Ok(mut tables) = self.tables.lock() {
            tables.extend(found);
        }
        Ok(Catalog {
            streams,
            metadata: Default::default(),
        })
    }

    async fn read(&self, stream: &StreamSpec, _options: ReadOptions) -> Result<EventStream> {
        let known = self
            .tables
            .lock()
            .ok()
            .and_then(|t| t.get(&stream.name).cloned());
        let table = match known {
            Some(t) => t,
            None => {
                self.discover().await?;
                self.tables
                    .lock()
                    .ok()
                    .and_then(|t| t.get(&stream.name).cloned())
                    .ok_or_else(|| Error::StreamNotFound {
                        pattern: stream.name.clone(),
                        available: self
                            .tables
                            .lock()
                            .map(|t| t.keys().cloned().collect::<Vec<_>>().join(", "))
                            .unwrap_or_default(),
                    })?
            }
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<SourceEvent>>(2);
        tokio::task::spawn_blocking(move || {
            let send = |b| {
                tx.blocking_send(Ok(SourceEvent::Batch(b)))
                    .map_err(|_| Error::data(Location::default(), "reader stopped"))
            };
            let result = match &table {
                Table::Csv(t) => csv::read(t, send).map(drop),
                Table::Jsonl(t) => jsonl::read(t, send).map(drop),
                Table::Sheet(s) => s
                    .batches(65_536)
                    .and_then(|bs| bs.into_iter().try_for_each(send)),
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
