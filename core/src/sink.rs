//! The sink side of a pipeline: write batches per stream and publish each stream atomically.
//!
//! A [`Sink`] opens one [`StreamWriter`] per stream. Batches go to `write`; `flush`
//! makes everything written so far durable and returns a token that lets a later
//! run's writer continue from exactly there (the pipeline saves it with the source's
//! checkpoint); `commit` publishes the stream so readers see all of it or none of it.
//! A writer dropped without `commit` must leave the previously published state intact.

use arrow_array::RecordBatch;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Result, StreamSpec};

/// Whether a committed stream replaces what the sink held for it or adds to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteMode {
    /// The stream's new content replaces the old (full read).
    Replace,
    /// The new rows are added to what is there (incremental read).
    Append,
}

/// How a stream is opened.
#[derive(Debug, Clone)]
pub struct OpenStream {
    /// Replace or append.
    pub mode: WriteMode,
    /// Token returned by `flush` in an interrupted run of the same job, to continue from.
    pub resume: Option<serde_json::Value>,
    /// Identifier of the run, unique per job (used to name files).
    pub run_id: String,
}

/// One file a sink wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the sink's root, with `/` separators.
    pub path: String,
    /// Rows in the file.
    pub rows: u64,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
}

/// What a merging sink (a Delta table, say) changed in the stream's published state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    /// Rows added.
    pub inserted: u64,
    /// Rows whose values changed.
    pub updated: u64,
    /// Rows removed (gone at the source).
    pub deleted: u64,
    /// The table version the commit created; `None` when nothing changed (no commit).
    pub version: Option<i64>,
}

/// What a committed stream holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamOutput {
    /// Rows written by this run.
    pub rows: u64,
    /// Files written by this run.
    pub files: Vec<FileEntry>,
    /// For sinks that merge rather than replace or append: what changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Changes>,
}

/// A place streams are written to.
#[async_trait]
pub trait Sink: Send + Sync + std::fmt::Debug {
    /// A short human description, e.g. `parquet ./out`.
    fn describe(&self) -> String;

    /// Opens a writer for one stream.
    async fn open_stream(
        &self,
        spec: &StreamSpec,
        open: OpenStream,
    ) -> Result<Box<dyn StreamWriter>>;
}

/// Writes the batches of one stream.
#[async_trait]
pub trait StreamWriter: Send {
    /// Accepts a batch in the stream's schema.
    async fn write(&mut self, batch: RecordBatch) -> Result<()>;

    /// Makes every batch written so far durable, and returns the token from which a
    /// writer of a later run continues (see [`OpenStream::resume`]).
    async fn flush(&mut self) -> Result<serde_json::Value>;

    /// Publishes the stream atomically and reports what it holds.
    async fn commit(self: Box<Self>) -> Result<StreamOutput>;
}
