//! The source side of a pipeline: discover streams, then read each as Arrow batches.
//!
//! A source is built by the [`crate::registry`] from a spec or a job-file section. It
//! must be cheap to clone behind an `Arc` and safe to read several streams at once.
//!
//! While reading, a source may emit [`SourceEvent::Checkpoint`]s. A checkpoint covers
//! every batch emitted before it: once the sink has made those batches durable, the
//! pipeline stores the checkpoint, and a later run given it in
//! [`ReadOptions::resume`] must continue right after it, without duplicates or gaps.
//! The last checkpoint of a completed stream is kept as the stream's high-water mark
//! and handed to the next run in [`ReadOptions::since`] for incremental reads.

use arrow_array::RecordBatch;
use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::{Result, StreamSpec};

/// A connector-defined resume point, e.g. `{"after": [4211]}`. Opaque to ferry's core.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Checkpoint(pub serde_json::Value);

/// What a stream read yields.
#[derive(Debug)]
pub enum SourceEvent {
    /// Rows, in the stream's schema.
    Batch(RecordBatch),
    /// Everything emitted before this point can be resumed from.
    Checkpoint(Checkpoint),
}

/// The stream of events of one stream read.
pub type EventStream = BoxStream<'static, Result<SourceEvent>>;

/// How to read a stream.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Continue an interrupted read right after this checkpoint.
    pub resume: Option<Checkpoint>,
    /// The last checkpoint of the previous completed read: read only what changed since.
    /// `None` means a full read.
    pub since: Option<Checkpoint>,
}

/// What a source found when asked for its streams.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The streams, in a stable order.
    pub streams: Vec<StreamSpec>,
    /// Facts about the source as a whole (server version, installed modules, ...).
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// A place data is read from.
///
/// Required: [`Source::discover`] and [`Source::read`]. Everything a source needs
/// (credentials, paths, options) is given when it is built, not here.
#[async_trait]
pub trait Source: Send + Sync + std::fmt::Debug {
    /// A short human description with no secret in it, e.g. `csv folder ./exports`.
    fn describe(&self) -> String;

    /// Lists the streams with their schemas. May contact the remote system.
    async fn discover(&self) -> Result<Catalog>;

    /// Reads one stream that [`Source::discover`] returned.
    async fn read(&self, stream: &StreamSpec, options: ReadOptions) -> Result<EventStream>;

    /// Counters the source keeps about its traffic (requests, retries, throttling…),
    /// for the run report. Sources without any answer `None`.
    fn stats(&self) -> Option<serde_json::Value> {
        None
    }
}
