//! Keeping a backup in shape: retention (old versions' files vacuumed, old log entries
//! removed) and verification (every log entry parses, every data file of the current
//! version is there, has its recorded size, decodes, and holds its recorded rows;
//! every deletion vector reads back with its checksum and row count).

use bytes::Bytes;
use deltalake_core::checkpoints::{cleanup_expired_logs_for, create_checkpoint};
use ferry_core::{Error, Result};
use futures::TryStreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};

use crate::store::Store;

/// How much history a backup keeps. With both set, a version is kept while either
/// rule wants it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Keep the last N versions that hold data (vacuum commits do not count).
    pub keep_versions: Option<u32>,
    /// Keep every version younger than N days.
    pub keep_days: Option<u32>,
}

impl Retention {
    /// Whether any rule is set.
    pub fn is_set(&self) -> bool {
        self.keep_versions.is_some() || self.keep_days.is_some()
    }
}

/// What retention removed from one table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Pruned {
    /// Data files of expired versions deleted.
    pub files_deleted: u64,
    /// Log entries deleted (older versions are no longer readable).
    pub log_entries_deleted: u64,
    /// The oldest version still readable; `None` when every version is kept.
    pub oldest_version_kept: Option<i64>,
    /// Versions committed before this instant (RFC 3339) are expired; `None` when
    /// every version is kept.
    pub expired_before: Option<String>,
}

/// Applies `retention` to the table of `stream`.
///
/// # Errors
/// The table cannot be read, vacuumed or checkpointed.
pub async fn apply_retention(store: &Store, stream: &str, retention: &Retention) -> Result<Pruned> {
    if !retention.is_set() {
        return Ok(Pruned::default());
    }
    let table = store.open(stream, None, None).await?;
    let err = |what: &str| {
        let context = format!("{stream}: {what}");
        move |e: deltalake_core::DeltaTableError| Error::external(context, e)
    };
    let now = chrono::Utc::now().timestamp_millis();
    let latest = table.version().unwrap_or_default() as i64;
    let commits: Vec<_> = table
        .history(None)
        .try_collect()
        .await
        .map_err(err("reading the history"))?;
    // Newest first, one per version: (version, commit time) of the versions holding data.
    let data: Vec<(i64, i64)> = commits
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            !c.operation
                .as_deref()
                .is_some_and(|o| o.starts_with("VACUUM"))
        })
        .filter_map(|(i, c)| Some((latest - i as i64, c.timestamp?)))
        .collect();
    let times: Vec<i64> = data.iter().map(|(_, t)| *t).collect();
    let Some(oldest) = oldest_kept(retention, &times, now) else {
        return Ok(Pruned::default());
    };
    // Files the oldest kept version needs were removed by a later version: vacuum
    // only what was removed before the next version after it.
    let cutoff = match oldest {
        0 => now,
        j => (times[j] + times[j - 1]) / 2,
    };
    let (table, metrics) = table
        .vacuum()
        .with_retention_period(chrono::Duration::milliseconds((now - cutoff).max(0)))
        .with_enforce_retention_duration(false)
        .await
        .map_err(err("vacuuming"))?;
    // A checkpoint at the oldest kept version lets the log entries before it go, so
    // an expired version is refused by name rather than failing on a missing file;
    // one at the latest keeps reads fast.
    let (keep_version, keep_time) = data[oldest];
    let kept = store.open(stream, Some(keep_version), None).await?;
    create_checkpoint(&kept, None)
        .await
        .map_err(err("writing a checkpoint"))?;
    create_checkpoint(&table, None)
        .await
        .map_err(err("writing a checkpoint"))?;
    let logs = cleanup_expired_logs_for(
        keep_version.max(0) as u64,
        table.log_store().as_ref(),
        chrono::Utc::now().timestamp_millis() + 1_000,
        None,
    )
    .await
    .map_err(err("removing expired log entries"))?;
    Ok(Pruned {
        files_deleted: metrics.files_deleted.len() as u64,
        log_entries_deleted: logs as u64,
        oldest_version_kept: Some(keep_version),
        expired_before: chrono::DateTime::from_timestamp_millis(keep_time)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
    })
}

/// The index (in `data_commits`, newest first, commit times in ms) of the oldest
/// version kept, or `None` when every version is kept. With both rules set, a version
/// is kept while either rule wants it.
fn oldest_kept(retention: &Retention, data_commits: &[i64], now: i64) -> Option<usize> {
    let by_versions = retention.keep_versions.map(|keep| {
        let keep = keep.max(1) as usize;
        (data_commits.len() > keep).then_some(keep - 1)
    });
    // The state at the start of the window stays readable: the newest version
    // committed before it.
    let by_days = retention.keep_days.map(|d| {
        let start = now - i64::from(d) * 86_400_000;
        data_commits
            .iter()
            .position(|t| *t <= start)
            .filter(|j| j + 1 < data_commits.len())
    });
    match (by_versions, by_days) {
        (Some(a), Some(b)) => a.zip(b).map(|(a, b)| a.max(b)),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => None,
    }
}

/// What verifying one table found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TableCheck {
    /// Stream name.
    pub stream: String,
    /// Latest version.
    pub version: Option<i64>,
    /// Versions the log holds (each one checked readable).
    pub versions: u64,
    /// Log entries (commits and checkpoints) read.
    pub log_entries: u64,
    /// Data files checked: those of every version the log holds.
    pub files: u64,
    /// Rows in them (a file in several versions counts once), deleted ones included.
    pub rows: u64,
    /// Rows the latest version holds: its files' rows less those its deletion
    /// vectors delete.
    pub live_rows: u64,
    /// Bytes in them.
    pub bytes: u64,
    /// Deletion vectors checked (each read back whole: size, checksum, row count).
    pub deletion_vectors: u64,
    /// Everything wrong, each naming the file.
    pub problems: Vec<String>,
}

/// Checks every table of `store`: the log entries parse and their versions have no
/// gap; every version the log holds loads; every data file of those versions exists,
/// has the size the log records, decodes completely and holds the rows its
/// statistics record.
///
/// # Errors
/// The store cannot be listed. Damage is reported in the checks, not as an error.
pub async fn verify(store: &Store) -> Result<Vec<TableCheck>> {
    let objects = store.object_store()?;
    let mut out = Vec::new();
    for stream in store.list_tables().await? {
        let mut check = TableCheck {
            stream: stream.clone(),
            ..Default::default()
        };
        let root = store.table_path(&stream)?;
        let versions = check_log(&*objects, &root, &mut check).await;
        match store.open(&stream, None, None).await {
            Err(e) => check.problems.push(ferry_core::pipeline::error_chain(&e)),
            Ok(table) => {
                check.version = table.version().map(|v| v as i64);
                // Every version the log still holds must be readable: the files of
                // each, checked once.
                let mut seen = std::collections::HashSet::new();
                let latest = check.version;
                for v in versions.iter().filter(|v| Some(**v) != latest) {
                    match store.open(&stream, Some(*v), None).await {
                        Ok(old) => {
                            check_files(&old, &*objects, &root, &mut check, &mut seen).await;
                        }
                        Err(e) => check.problems.push(format!(
                            "version {v}: {}",
                            ferry_core::pipeline::error_chain(&e)
                        )),
                    }
                }
                check.live_rows =
                    check_files(&table, &*objects, &root, &mut check, &mut seen).await;
                check.versions = versions.len() as u64;
            }
        }
        out.push(check);
    }
    Ok(out)
}

/// Checks the log entries; the versions of the commits it holds.
async fn check_log(
    objects: &dyn ObjectStore,
    root: &StorePath,
    check: &mut TableCheck,
) -> Vec<i64> {
    let log = root.clone().join("_delta_log");
    let entries: Vec<_> = match objects.list(Some(&log)).try_collect().await {
        Ok(e) => e,
        Err(e) => {
            check.problems.push(format!("{log}: cannot list: {e}"));
            return Vec::new();
        }
    };
    let mut versions = Vec::new();
    for meta in entries {
        let Some(name) = meta.location.filename().map(str::to_owned) else {
            continue;
        };
        let (stem, kind) = match name.split_once('.') {
            Some((stem, rest)) => (stem.to_owned(), rest.to_owned()),
            None => continue,
        };
        let Ok(version) = stem.parse::<i64>() else {
            continue;
        };
        let bytes = match get(objects, &meta.location).await {
            Ok(b) => b,
            Err(e) => {
                check.problems.push(e);
                continue;
            }
        };
        check.log_entries += 1;
        if kind == "json" {
            versions.push(version);
            let text = String::from_utf8_lossy(&bytes);
            for (i, line) in text.lines().enumerate() {
                if let Err(e) = serde_json::from_str::<serde_json::Value>(line) {
                    check.problems.push(format!(
                        "{}: line {}: not a valid log entry: {e}",
                        meta.location,
                        i + 1
                    ));
                }
            }
        } else if kind.ends_with("parquet")
            && let Err(e) = ParquetRecordBatchReaderBuilder::try_new(bytes)
        {
            check
                .problems
                .push(format!("{}: unreadable checkpoint: {e}", meta.location));
        }
    }
    versions.sort_unstable();
    for pair in versions.windows(2) {
        if pair[1] != pair[0] + 1 {
            check.problems.push(format!(
                "{log}: versions {} to {} are missing",
                pair[0] + 1,
                pair[1] - 1
            ));
        }
    }
    versions
}

/// Checks the files of one version not checked yet; the rows that version holds,
/// by the log.
async fn check_files(
    table: &deltalake_core::DeltaTable,
    objects: &dyn ObjectStore,
    root: &StorePath,
    check: &mut TableCheck,
    seen: &mut std::collections::HashSet<String>,
) -> u64 {
    let state = match table.snapshot() {
        Ok(s) => s,
        Err(e) => {
            check.problems.push(format!("{}: {e}", check.stream));
            return 0;
        }
    };
    let files: Vec<_> = match state
        .snapshot()
        .file_views(table.log_store().as_ref(), None)
        .try_collect()
        .await
    {
        Ok(f) => f,
        Err(e) => {
            check
                .problems
                .push(format!("{}: listing data files: {e}", check.stream));
            return 0;
        }
    };
    let live = files.iter().map(crate::dv::live_rows).sum();
    for file in files {
        let location = StorePath::from(format!("{root}/{}", file.object_store_path()));
        if let Some(dv) = file.deletion_vector_descriptor()
            && seen.insert(format!("{}@{:?}", dv.path_or_inline_dv, dv.offset))
        {
            check.deletion_vectors += 1;
            match crate::dv::read(&*table.object_store(), table.table_url(), &dv).await {
                Ok(deleted) => {
                    if let (Some(last), Some(rows)) = (deleted.max(), file.num_records())
                        && last >= rows as u64
                    {
                        check.problems.push(format!(
                            "{location}: its deletion vector deletes row {last}, the file has {rows}"
                        ));
                    }
                }
                Err(e) => check.problems.push(format!("{location}: {e}")),
            }
        }
        if !seen.insert(location.to_string()) {
            continue;
        }
        check.files += 1;
        let bytes = match get(objects, &location).await {
            Ok(b) => b,
            Err(e) => {
                check.problems.push(e);
                continue;
            }
        };
        check.bytes += bytes.len() as u64;
        if bytes.len() as i64 != file.size() {
            check.problems.push(format!(
                "{location}: {} bytes, the log records {}",
                bytes.len(),
                file.size()
            ));
            continue;
        }
        let expected = file.num_records().map(|n| n as u64);
        match count_rows(bytes) {
            Ok(rows) => {
                check.rows += rows;
                if let Some(n) = expected.filter(|n| *n != rows) {
                    check
                        .problems
                        .push(format!("{location}: {rows} rows, the log records {n}"));
                }
            }
            Err(e) => check
                .problems
                .push(format!("{location}: does not decode: {e}")),
        }
    }
    live
}

/// Decodes every page of a Parquet file; its row count.
fn count_rows(bytes: Bytes) -> std::result::Result<u64, String> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .and_then(|b| b.with_batch_size(65_536).build())
        .map_err(|e| e.to_string())?;
    let mut rows = 0u64;
    for batch in reader {
        rows += batch.map_err(|e| e.to_string())?.num_rows() as u64;
    }
    Ok(rows)
}

async fn get(
    objects: &dyn ObjectStore,
    location: &StorePath,
) -> std::result::Result<Bytes, String> {
    match objects.get(location).await {
        Ok(r) => r
            .bytes()
            .await
            .map_err(|e| format!("{location}: cannot be read: {e}")),
        Err(object_store::Error::NotFound { .. }) => Err(format!("{location}: missing")),
        Err(e) => Err(format!("{location}: cannot be read: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn the_oldest_version_kept_is_what_either_rule_wants() {
        let now = 100 * DAY;
        // Data commits, newest first: one a day for the last five days.
        let commits: Vec<i64> = (1..=5).map(|d| now - d * DAY).collect();
        let versions = |n| Retention {
            keep_versions: Some(n),
            keep_days: None,
        };
        assert_eq!(oldest_kept(&versions(2), &commits, now), Some(1));
        assert_eq!(
            oldest_kept(&versions(5), &commits, now),
            None,
            "all five kept"
        );
        assert_eq!(
            oldest_kept(&versions(0), &commits, now),
            Some(0),
            "at least one"
        );
        let days = |n| Retention {
            keep_versions: None,
            keep_days: Some(n),
        };
        // Three days back: the commit of three days ago is the state then.
        assert_eq!(oldest_kept(&days(3), &commits, now), Some(2));
        assert_eq!(oldest_kept(&days(9), &commits, now), None);
        let both = Retention {
            keep_versions: Some(2),
            keep_days: Some(3),
        };
        assert_eq!(oldest_kept(&both, &commits, now), Some(2));
        let both = Retention {
            keep_versions: Some(9),
            keep_days: Some(3),
        };
        assert_eq!(
            oldest_kept(&both, &commits, now),
            None,
            "the version rule keeps all"
        );
        assert_eq!(oldest_kept(&Retention::default(), &commits, now), None);
    }
}
