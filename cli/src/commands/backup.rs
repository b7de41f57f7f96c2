//! `ferry backup`, `ferry verify`, `ferry restore`: scheduled backups of a source into
//! Delta tables (local or object storage), checked and written back out as plain files.
//!
//! Beside the job file `nightly.toml` a backup keeps:
//! - `nightly.state.json`: each stream's incremental position and the interrupted run
//!   to resume (as for `ferry run`);
//! - `nightly.backup.json`: runs since each stream's last key scan;
//! - `nightly.lock`: held while a run goes, so two runs never overlap;
//! - `nightly.staging/`: batches of the run in progress, for a backup on object storage.
//!
//! No scheduler here: cron or a systemd timer runs the command (see README).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use ferry_core::job::{beside, parse_toml};
use ferry_core::pipeline::{self, RunOptions, StreamStatus, error_chain};
use ferry_core::select::Selection;
use ferry_core::source::ReadOptions;
use ferry_core::state::{FileStateStore, StateStore};
use ferry_core::{Sink, Source, fsutil};
use ferry_delta::maintain::{self, Pruned, Retention};
use ferry_delta::{DeltaConfig, DeltaSink, DeltaSource, Store};
use serde::{Deserialize, Serialize};

use crate::args::{BackupArgs, BackupPlace, RestoreArgs, RunControl, VerifyArgs};
use crate::connectors::registry;
use crate::{EXIT_FAILURE, Failure, progress};

/// Exit code when another run of the same job holds the lock.
const EXIT_LOCKED: u8 = 3;

/// A backup job file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupJob {
    /// Where to read; `kind` selects the connector, or `spec = "postgres://…"` alone.
    source: toml::Table,
    backup: BackupSection,
    /// Names or globs of the streams; all when empty.
    #[serde(default)]
    streams: Vec<String>,
    /// Incremental cursor column per stream name or glob.
    #[serde(default)]
    cursors: BTreeMap<String, String>,
    #[serde(default)]
    concurrency: Option<usize>,
    /// The job state (default: JOB.state.json beside the job).
    #[serde(default)]
    state: Option<PathBuf>,
    /// What a run does with a stream whose columns changed (default evolve).
    #[serde(default)]
    schema_policy: Option<ferry_core::drift::PolicySetting>,
}

/// The `[backup]` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BackupSection {
    /// Folder (relative to the job file) or object-storage URL.
    path: String,
    #[serde(default)]
    keep_versions: Option<u32>,
    #[serde(default)]
    keep_days: Option<u32>,
    /// Scan the keys of incremental streams for deletions every N runs (1: each run).
    #[serde(default)]
    key_scan_every: Option<u32>,
    /// Object-storage options over the environment's.
    #[serde(default)]
    storage: BTreeMap<String, String>,
    /// Size at which a new table's data files are cut, in MiB (default 32).
    #[serde(default)]
    target_file_mb: Option<u64>,
    /// Local staging folder for object storage (default: JOB.staging beside the job).
    #[serde(default)]
    staging: Option<PathBuf>,
}

/// Runs since each stream's last key scan.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Ledger {
    #[serde(default)]
    runs: u64,
    #[serde(default)]
    since_key_scan: BTreeMap<String, u32>,
}

/// One stream in the backup report.
#[derive(Debug, Serialize)]
struct StreamLine {
    name: String,
    status: StreamStatus,
    /// `replace` (full read) or `append` (incremental read).
    mode: ferry_core::WriteMode,
    rows_read: u64,
    inserted: u64,
    updated: u64,
    deleted: u64,
    /// The table version this run created; null when nothing changed.
    version: Option<i64>,
    key_scan: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    keys_scanned: Option<u64>,
    seconds: f64,
    /// How the stream's columns changed since the last backup.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    schema_changes: Vec<ferry_core::drift::Change>,
    /// What the schema policy did that the user should know.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct RetentionLine {
    stream: String,
    #[serde(flatten)]
    pruned: Pruned,
}

/// What `ferry backup --json` prints.
#[derive(Debug, Serialize)]
struct BackupReport {
    job: String,
    run_id: String,
    resumed: bool,
    source: String,
    backup: String,
    started_at: String,
    seconds: f64,
    ok: bool,
    streams: Vec<StreamLine>,
    /// Streams of earlier backups that the source no longer has (their tables stay).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    streams_gone: Vec<String>,
    retention: Vec<RetentionLine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_stats: Option<serde_json::Value>,
}

/// A path in the job file, relative to the job file's folder.
fn job_relative(job: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        job.parent().unwrap_or(Path::new(".")).join(path)
    }
}

pub async fn run(mut args: BackupArgs, quiet: bool) -> Result<(), Failure> {
    let started = Instant::now();
    let origin = args.job.display().to_string();
    // Files beside the job are found from its absolute path (`nightly.toml` has no
    // parent folder to sync).
    args.job = std::path::absolute(&args.job).map_err(|e| ferry_core::Error::io(&args.job, e))?;
    let text = std::fs::read_to_string(&args.job).with_context(|| format!("reading {origin}"))?;
    let job: BackupJob = parse_toml(&text, &origin)?;
    let _lock = lock(&args.job)?;

    let remote = job.backup.path.contains("://");
    let path = if remote {
        job.backup.path.clone()
    } else {
        job_relative(&args.job, Path::new(&job.backup.path))
            .display()
            .to_string()
    };
    let staging = match (&job.backup.staging, remote) {
        (Some(p), _) => Some(job_relative(&args.job, p)),
        (None, true) => Some(beside(&args.job, ".staging")),
        (None, false) => None,
    };
    let sink = Arc::new(
        DeltaSink::new(DeltaConfig {
            path,
            storage: job.backup.storage.clone(),
            staging,
            target_file_mb: job.backup.target_file_mb,
        })
        .with_context(|| format!("in job {origin} [backup]"))?,
    );
    let registry = registry();
    let source = registry
        .source_from_config(job.source.clone(), &format!("{origin} [source]"))
        .with_context(|| format!("in job {origin}"))?;
    let state_path = match &job.state {
        Some(p) => job_relative(&args.job, p),
        None => beside(&args.job, ".state.json"),
    };
    let store = Arc::new(FileStateStore::new(state_path));
    let ledger_path = beside(&args.job, ".backup.json");
    let mut ledger: Ledger = match std::fs::read(&ledger_path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("reading {}", ledger_path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ledger::default(),
        Err(e) => return Err(ferry_core::Error::io(&ledger_path, e).into()),
    };

    let catalog = source
        .discover()
        .await
        .with_context(|| format!("discovering {}", source.describe()))?;
    let selection = Selection::new(&job.streams)?;
    let streams_gone =
        ferry_core::drift::gone_streams(&store.load()?, &catalog.streams, &selection);
    let mut streams = selection.apply(catalog.streams)?;
    let cursors: Vec<(String, String)> = job.cursors.clone().into_iter().collect();
    ferry_core::select::apply_cursors(&mut streams, &cursors)?;

    // Key scans: incremental streams with a key, every `key_scan_every` runs.
    let prior = store.load()?;
    sink.clear_key_scans()?;
    let mut scans: BTreeMap<String, Result<u64, String>> = BTreeMap::new();
    for spec in &streams {
        let incremental = !args.full
            && spec.cursor_field.is_some()
            && prior
                .streams
                .get(&spec.name)
                .is_some_and(|s| s.high_water.is_some());
        let runs = ledger.since_key_scan.get(&spec.name).copied().unwrap_or(0);
        let due = args.key_scan
            || job
                .backup
                .key_scan_every
                .is_some_and(|n| runs + 1 >= n.max(1));
        if !(incremental && due && !spec.primary_key.is_empty()) {
            continue;
        }
        tracing::info!(stream = spec.name, "Scanning keys for deletions.");
        let outcome = match source.read(spec, ReadOptions::default()).await {
            Ok(events) => sink
                .stage_keys(spec, events)
                .await
                .map_err(|e| error_chain(&e)),
            Err(e) => Err(error_chain(&e)),
        };
        scans.insert(spec.name.clone(), outcome);
    }

    let mut options = RunOptions {
        restart: args.restart,
        incremental: !args.full,
        schema_policy: super::schema_policies(job.schema_policy.as_ref(), &args.schema_policy)
            .with_context(|| format!("in job {origin}"))?,
        ..Default::default()
    };
    if let Some(n) = args.concurrency.or(job.concurrency) {
        options.concurrency = n.max(1);
    }
    let no_bars = quiet || args.json;
    let bars = Arc::new(progress::Bars::new(no_bars));
    let names: Vec<String> = streams.iter().map(|s| s.name.clone()).collect();
    let report = pipeline::run(
        source.clone(),
        sink.clone() as Arc<dyn Sink>,
        streams,
        store,
        bars,
        options,
    )
    .await?;

    // Retention on every table of the job, changed this run or not (age counts too).
    let retention = Retention {
        keep_versions: job.backup.keep_versions,
        keep_days: job.backup.keep_days,
    };
    let mut pruned = Vec::new();
    let mut retention_failed = false;
    if retention.is_set() {
        let tables = sink.store().list_tables().await?;
        for name in names.iter().filter(|n| tables.contains(n)) {
            match maintain::apply_retention(sink.store(), name, &retention).await {
                Ok(p) => pruned.push(RetentionLine {
                    stream: name.clone(),
                    pruned: p,
                }),
                Err(e) => {
                    retention_failed = true;
                    eprintln!("error: {name}: retention: {}", error_chain(&e));
                }
            }
        }
    }

    ledger.runs += 1;
    let mut lines = Vec::new();
    for s in &report.streams {
        let scan = scans.get(&s.name);
        let scanned = matches!(scan, Some(Ok(_)));
        if s.status == StreamStatus::Written {
            // A full read sees deletions as a key scan does.
            let n = ledger.since_key_scan.entry(s.name.clone()).or_default();
            *n = if scanned || s.mode == ferry_core::WriteMode::Replace {
                0
            } else {
                n.saturating_add(1)
            };
        }
        let changes = s.changes.unwrap_or_default();
        let mut error = s.error.clone();
        if let Some(Err(e)) = scan {
            error = Some(format!("key scan: {e}"));
        }
        lines.push(StreamLine {
            name: s.name.clone(),
            status: s.status,
            mode: s.mode,
            rows_read: s.rows,
            inserted: changes.inserted,
            updated: changes.updated,
            deleted: changes.deleted,
            version: changes.version,
            key_scan: scanned,
            keys_scanned: scan.and_then(|r| r.as_ref().ok().copied()),
            seconds: s.seconds,
            schema_changes: s.schema_changes.clone(),
            warnings: s.warnings.clone(),
            error,
        });
    }
    fsutil::write_atomic(
        &ledger_path,
        serde_json::to_vec_pretty(&ledger)
            .context("serializing the ledger")?
            .as_slice(),
    )?;
    let ok = report.is_success() && !retention_failed && lines.iter().all(|l| l.error.is_none());
    let out = BackupReport {
        job: origin,
        run_id: report.run_id.clone(),
        resumed: report.resumed,
        source: report.source.clone(),
        backup: sink.store().describe(),
        started_at: report.started_at.clone(),
        seconds: started.elapsed().as_secs_f64(),
        ok,
        streams: lines,
        streams_gone,
        retention: pruned,
        source_stats: report.source_stats.clone(),
    };
    if args.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&out).context("serializing the report")?
        );
    } else if !quiet {
        eprint!("{}", summary(&out));
    }
    if quiet || args.json {
        for s in &out.streams {
            if let Some(e) = &s.error {
                eprintln!("error: {}: {e}", s.name);
            }
        }
    }
    if ok {
        Ok(())
    } else {
        Err(Failure::quiet(EXIT_FAILURE))
    }
}

/// The human summary of a backup run.
fn summary(r: &BackupReport) -> String {
    let width = r
        .streams
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut out = format!("backup {} → {}\n", r.source, r.backup);
    for s in &r.streams {
        let what = match (&s.error, s.status) {
            (Some(e), _) => format!("FAILED: {e}"),
            (None, StreamStatus::AlreadyWritten) => "done in the interrupted run".into(),
            (None, _) => match s.version {
                Some(v) => format!("version {v}"),
                None => "unchanged".into(),
            },
        };
        out.push_str(&format!(
            "  {:<width$}  {:>10} read  +{} ~{} -{}{}  {:>6.1}s  {what}\n",
            s.name,
            s.rows_read,
            s.inserted,
            s.updated,
            s.deleted,
            if s.key_scan { "  (key scan)" } else { "" },
            s.seconds,
        ));
        out.push_str(&crate::render::schema_lines(
            &s.schema_changes,
            &s.warnings,
            width,
        ));
    }
    for name in &r.streams_gone {
        out.push_str(&format!(
            "  {name}: gone (the source no longer has it; its table is kept)\n"
        ));
    }
    for p in &r.retention {
        if p.pruned.files_deleted > 0 || p.pruned.log_entries_deleted > 0 {
            out.push_str(&format!(
                "  retention {}: {} files, {} log entries removed\n",
                p.stream, p.pruned.files_deleted, p.pruned.log_entries_deleted
            ));
        }
    }
    out.push_str(&format!(
        "{} in {:.1}s\n",
        if r.ok { "done" } else { "FAILED" },
        r.seconds
    ));
    out
}

/// Takes the job's lock, or fails with [`EXIT_LOCKED`] naming the holder.
fn lock(job: &Path) -> Result<std::fs::File, Failure> {
    let path = beside(job, ".lock");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| ferry_core::Error::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0)
                .map_err(|e| ferry_core::Error::io(&path, e))?;
            let _ = writeln!(file, "{}", std::process::id());
            Ok(file)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            eprintln!(
                "ferry: error: another run of {} holds {} (pid {}); not starting",
                job.display(),
                path.display(),
                holder.trim()
            );
            Err(Failure::quiet(EXIT_LOCKED))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(ferry_core::Error::io(&path, e).into()),
    }
}

fn open_store(place: &BackupPlace) -> Result<Store, Failure> {
    let mut options = BTreeMap::new();
    for kv in &place.storage {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(ferry_core::Error::config(
                "--storage-option",
                format!("{kv}: expected KEY=VALUE"),
            )
            .into());
        };
        options.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(Store::new(&place.backup, &options, false)?)
}

pub async fn verify(args: VerifyArgs) -> Result<(), Failure> {
    let store = open_store(&args.place)?;
    let checks = maintain::verify(&store).await?;
    if checks.is_empty() {
        return Err(ferry_core::Error::config(
            store.describe(),
            "holds no Delta table (is it a ferry backup?)",
        )
        .into());
    }
    let sound = checks.iter().all(|c| c.problems.is_empty());
    if args.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "backup": store.describe(),
                "ok": sound,
                "tables": checks,
            }))
            .context("serializing the report")?
        );
    } else {
        for c in &checks {
            eprintln!(
                "  {:<30} version {:>4} ({} readable)  {:>4} log entries  {:>5} files  {:>12} rows now  {}",
                c.stream,
                c.version.map_or("-".into(), |v| v.to_string()),
                c.versions,
                c.log_entries,
                c.files,
                c.live_rows,
                if c.problems.is_empty() {
                    "ok"
                } else {
                    "DAMAGED"
                }
            );
            for p in &c.problems {
                eprintln!("      {p}");
            }
        }
    }
    if sound {
        Ok(())
    } else {
        if !args.json {
            eprintln!("ferry: error: {} is damaged", store.describe());
        }
        Err(Failure::quiet(EXIT_FAILURE))
    }
}

pub async fn restore(args: RestoreArgs, quiet: bool) -> Result<(), Failure> {
    let store = open_store(&args.place)?;
    let source: Arc<dyn Source> =
        Arc::new(DeltaSource::new(store, args.version, args.as_of.clone()));
    let sink = registry().sink_for_path(args.format.name(), &args.out)?;
    let state = Arc::new(FileStateStore::new(
        args.out
            .join(ferry_core::manifest::FERRY_DIR)
            .join("state.json"),
    ));
    let control = RunControl::one_shot(args.json);
    super::transfer(
        source,
        sink,
        &Selection::new(&args.streams)?,
        &[],
        state,
        &control,
        quiet,
    )
    .await?;
    Ok(())
}
