//! Per-job state that survives crashes: which run is in progress, where each stream
//! can resume, and each stream's high-water mark for incremental reads.
//!
//! The state is one small JSON document, rewritten atomically after every checkpoint.
//! Values inside are opaque to the core: sources and sinks define them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::source::Checkpoint;
use crate::stream::ColumnDescription;
use crate::{Error, Result, fsutil};

/// Where a job keeps its state.
pub trait StateStore: Send + Sync {
    /// Loads the state, or the empty state when there is none yet.
    ///
    /// # Errors
    /// The stored state cannot be read or parsed.
    fn load(&self) -> Result<JobState>;

    /// Replaces the stored state atomically.
    ///
    /// # Errors
    /// The state cannot be written.
    fn save(&self, state: &JobState) -> Result<()>;
}

/// Everything ferry remembers about a job between runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobState {
    /// Format version of this document.
    #[serde(default = "state_version")]
    pub version: u32,
    /// The last run started, finished or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunState>,
    /// Per-stream state by stream name.
    #[serde(default)]
    pub streams: BTreeMap<String, StreamState>,
}

fn state_version() -> u32 {
    1
}

/// The last run of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunState {
    /// Unique id of the run.
    pub id: String,
    /// When it started (RFC 3339, UTC).
    pub started_at: String,
    /// Whether it finished with every stream written.
    pub completed: bool,
}

/// What is remembered about one stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamState {
    /// Progress of an unfinished read: the source checkpoint and the sink token saved
    /// together, so that both sides continue from the same point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<ResumePoint>,
    /// The run in which this stream was last committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committed_run: Option<String>,
    /// Last checkpoint of the last committed read: the high-water mark for incremental reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_water: Option<Checkpoint>,
    /// Columns written when the stream was last committed: the source's, plus those a
    /// schema policy kept (see [`crate::drift`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<ColumnDescription>,
    /// Columns the source had when the stream was last committed (empty in states
    /// written before ferry kept them: then `columns` are the source's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_columns: Vec<ColumnDescription>,
    /// The source's key when the stream was last committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<Vec<String>>,
}

impl StreamState {
    /// What the last committed run knew of the stream's shape, for [`crate::drift::plan`].
    pub fn previous(&self) -> crate::drift::Previous<'_> {
        crate::drift::Previous {
            source: &self.source_columns,
            written: &self.columns,
            key: self.primary_key.as_deref(),
        }
    }
}

/// A point from which an interrupted stream continues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumePoint {
    /// The run that was interrupted.
    pub run_id: String,
    /// The source's checkpoint.
    pub checkpoint: Checkpoint,
    /// The sink's token from `flush`.
    pub sink: serde_json::Value,
    /// Rows durable at this point.
    pub rows: u64,
}

/// A [`StateStore`] in one JSON file.
#[derive(Debug, Clone)]
pub struct FileStateStore {
    path: PathBuf,
}

impl FileStateStore {
    /// State kept at `path` (created on first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileStateStore { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl StateStore for FileStateStore {
    fn load(&self) -> Result<JobState> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::data(
                    crate::Location::file(self.path.display().to_string())
                        .line(e.line() as u64)
                        .column(e.column() as u64, None),
                    format!("job state is not valid: {e}; delete the file to start over"),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(JobState::default()),
            Err(e) => Err(Error::io(&self.path, e)),
        }
    }

    fn save(&self, state: &JobState) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(state)
            .map_err(|e| Error::external("serializing job state", e))?;
        fsutil::write_atomic(&self.path, &bytes)
    }
}

/// A [`StateStore`] in memory, for tests and one-off reads.
#[derive(Debug, Default)]
pub struct MemoryStateStore {
    state: std::sync::Mutex<JobState>,
}

impl StateStore for MemoryStateStore {
    fn load(&self) -> Result<JobState> {
        Ok(self.state.lock().map(|s| s.clone()).unwrap_or_default())
    }

    fn save(&self, state: &JobState) -> Result<()> {
        if let Ok(mut s) = self.state.lock() {
            *s = state.clone();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_round_trips_and_reports_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStateStore::new(dir.path().join("state.json"));
        assert_eq!(store.load().unwrap(), JobState::default());
        let mut st = JobState::default();
        st.streams.insert(
            "orders".into(),
            StreamState {
                high_water: Some(Checkpoint(serde_json::json!({"id": 7}))),
                ..Default::default()
            },
        );
        store.save(&st).unwrap();
        assert_eq!(store.load().unwrap(), st);
        std::fs::write(store.path(), b"{ nope").unwrap();
        let err = store.load().unwrap_err().to_string();
        assert!(err.contains("state.json:1"), "{err}");
    }
}
