//! Core abstractions of ferry, shared by every connector, the SQL engine and the CLI.
//!
//! ferry moves data in one direction: a [`Source`] discovers its streams and reads
//! each one as Arrow [`RecordBatch`](arrow_array::RecordBatch)es, a [`Sink`] writes
//! them and publishes each stream atomically, and the [`pipeline`] between them keeps
//! a crash-safe [`state`] so that an interrupted run resumes where it stopped.
//! Connectors plug in through the [`registry`]; job files are parsed by [`job`].
//!
//! This crate names no connector: connectors depend on it, never the reverse.

#![warn(missing_docs)]

pub mod drift;
pub mod error;
pub mod fsutil;
pub mod job;
pub mod manifest;
pub mod parquet_lanes;
pub mod pipeline;
pub mod redact;
pub mod registry;
pub mod select;
pub mod sink;
pub mod source;
pub mod state;
pub mod stream;
pub mod target;
pub mod values;

pub use error::{Error, Location, Result};
pub use registry::Registry;
pub use sink::{Sink, StreamOutput, StreamWriter, WriteMode};
pub use source::{Catalog, Checkpoint, EventStream, ReadOptions, Source, SourceEvent};
pub use stream::StreamSpec;
pub use target::{FieldValue, LoadRecord, Target};
