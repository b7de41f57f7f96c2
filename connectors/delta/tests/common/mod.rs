//! What the Delta sink's integration tests share.

use arrow::array::RecordBatch;
use ferry_core::sink::{Changes, OpenStream};
use ferry_core::{Sink, StreamSpec, WriteMode};
use ferry_delta::DeltaSink;

/// One incremental run of `spec`'s stream writing `batches`; what its commit changed.
pub async fn run(
    sink: &DeltaSink,
    spec: &StreamSpec,
    run_id: &str,
    batches: impl IntoIterator<Item = RecordBatch>,
) -> Changes {
    let mut w = sink
        .open_stream(
            spec,
            OpenStream {
                mode: WriteMode::Append,
                resume: None,
                run_id: run_id.into(),
            },
        )
        .await
        .unwrap();
    for b in batches {
        w.write(b).await.unwrap();
    }
    w.commit().await.unwrap().changes.unwrap()
}

/// A sink writing local tables under `root`, with data files cut at about
/// `target_file_mb` MiB (the default when `None`).
pub fn local_sink(root: &std::path::Path, target_file_mb: Option<u64>) -> DeltaSink {
    DeltaSink::new(ferry_delta::DeltaConfig {
        path: root.display().to_string(),
        storage: std::collections::BTreeMap::new(),
        staging: None,
        target_file_mb,
    })
    .unwrap()
}
