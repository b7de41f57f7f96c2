//! Delta Lake sink of ferry: a backup folder where each stream is a Delta table, each
//! run adds one table version, and earlier versions stay readable (`ferry sql --version`
//! / `--as-of`).
//!
//! ```text
//! backup/
//!   public.sale_order/_delta_log/…       one Delta table per stream
//!   public.sale_order/part-….parquet
//!   _ferry/staging/<stream>/…            batches of the run in progress (invisible)
//! ```
//!
//! Batches are staged as Parquet files first (memory stays bounded), then published
//! in one Delta commit, so a crash before the commit leaves the previous version as
//! it was, and the staged files named in the job state let a rerun continue:
//! - a stream with a primary key is **merged** on it: new rows inserted, changed rows
//!   updated (unchanged rows are not rewritten), and, after a full read, rows the
//!   source no longer has deleted;
//! - a stream without a key is appended (incremental read) or overwritten (full read);
//! - an incremental stream's deletions are found by a key scan ([`DeltaSink::stage_keys`]):
//!   its keys join the next merge, which deletes the rows they no longer cover.
//!
//! A new table's files are written in key order ([`order`]), so that later merges
//! rewrite only the files whose key range they touch. New tables allow deletion
//! vectors: a small incremental merge ([`patch`]) marks the rows it replaces deleted
//! ([`dv`]) and appends their new versions instead of rewriting files.
//!
//! The backup may also be on object storage ([`store`]); [`maintain`] applies retention
//! and verifies a backup, and [`DeltaSource`] reads one back (restore).

pub mod dv;
pub mod maintain;
pub mod order;
pub mod patch;
pub mod sink;
pub mod source;
pub mod store;

use std::sync::Arc;

use ferry_core::registry::{Registry, SinkFactory, parse_config};
use ferry_core::{Result, Sink};

pub use sink::{DeltaConfig, DeltaSink, open_provider};
pub use source::DeltaSource;
pub use store::Store;

/// Adds the `delta` sink.
pub fn register(registry: &mut Registry) {
    registry.add_sink(DeltaFactory);
}

struct DeltaFactory;

impl SinkFactory for DeltaFactory {
    fn kind(&self) -> &'static str {
        "delta"
    }

    fn build_at_path(&self, root: &std::path::Path) -> Result<Arc<dyn Sink>> {
        Ok(Arc::new(DeltaSink::new(DeltaConfig {
            path: root.display().to_string(),
            storage: Default::default(),
            staging: None,
            target_file_mb: None,
        })?))
    }

    fn build_from_config(&self, table: toml::Table, origin: &str) -> Result<Arc<dyn Sink>> {
        Ok(Arc::new(DeltaSink::new(parse_config::<DeltaConfig>(
            table, origin,
        )?)?))
    }
}
