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
