//! Schema evolution in the Delta sink: what a run under the `evolve` policy writes
//! after a column widened, another vanished and a third appeared, and how every
//! version of the table reads afterwards.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, Decimal128Array, Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::{SessionContext, ident};
use ferry_core::sink::OpenStream;
use ferry_core::{Sink, StreamSpec, WriteMode};
use ferry_delta::{DeltaConfig, DeltaSink, open_provider};

fn spec(fields: Vec<Field>) -> StreamSpec {
    let mut s = StreamSpec::new("items", Arc::new(Schema::new(fields)));
    s.primary_key = vec!["id".into()];
    s
}

async fn commit(sink: &DeltaSink, spec: &StreamSpec, mode: WriteMode, batch: RecordBatch) {
    let mut w = sink
        .open_stream(
            spec,
            OpenStream {
                mode,
                resume: None,
                run_id: format!("r{}", batch.num_rows()),
            },
        )
        .await
        .unwrap();
    w.write(batch).await.unwrap();
    w.commit().await.unwrap();
}

/// `(schema, rows sorted by id)` of a version, values as text.
async fn read(sink: &DeltaSink, version: Option<i64>) -> (Vec<String>, Vec<String>) {
    let provider = open_provider(sink.store(), "items", version, None)
        .await
        .unwrap();
    let schema = provider
        .schema()
        .fields()
        .iter()
        // DataFusion may read strings as views; the stored type is what counts.
        .map(|f| format!("{} {}", f.name(), f.data_type()).replace("Utf8View", "Utf8"))
        .collect();
    let ctx = SessionContext::new();
    let df = ctx.read_table(provider).unwrap();
    let names: Vec<String> = df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut rows = Vec::new();
    for b in df
        .sort_by(vec![ident("id")])
        .unwrap()
        .collect()
        .await
        .unwrap()
    {
        for r in 0..b.num_rows() {
            let cells: Vec<String> = names
                .iter()
                .enumerate()
                .map(|(i, _)| {
                    let c = b.column(i);
                    if c.is_null(r) {
                        "NULL".to_owned()
                    } else {
                        arrow::util::display::array_value_to_string(c, r).unwrap()
                    }
                })
                .collect();
            rows.push(cells.join("|"));
        }
    }
    (schema, rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn columns_are_added_kept_and_widened_and_each_version_keeps_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let sink = DeltaSink::new(DeltaConfig {
        path: dir.path().join("b").display().to_string(),
        storage: BTreeMap::new(),
        staging: None,
        target_file_mb: None,
    })
    .unwrap();
    let v0 = spec(vec![
        Field::new("id", DataType::Int32, false),
        Field::new("amount", DataType::Decimal128(10, 2), true),
        Field::new("note", DataType::Utf8, true),
    ]);
    let batch = RecordBatch::try_new(
        v0.schema.clone(),
        vec![
            Arc::new(Int32Array::from(vec![1, 2])),
            Arc::new(
                Decimal128Array::from(vec![Some(150), Some(9_999_999_999)])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
            Arc::new(StringArray::from(vec![Some("a"), Some("")])),
        ],
    )
    .unwrap();
    commit(&sink, &v0, WriteMode::Replace, batch).await;

    // What `evolve` writes after amount widened, note vanished and colour appeared.
    let v1 = spec(vec![
        Field::new("id", DataType::Int32, false),
        Field::new("amount", DataType::Decimal128(12, 2), true),
        Field::new("note", DataType::Utf8, true),
        Field::new("colour", DataType::Utf8, true),
    ]);
    let batch = RecordBatch::try_new(
        v1.schema.clone(),
        vec![
            Arc::new(Int32Array::from(vec![2, 3])),
            Arc::new(
                Decimal128Array::from(vec![Some(123_456_789_012), Some(1)])
                    .with_precision_and_scale(12, 2)
                    .unwrap(),
            ),
            Arc::new(StringArray::from(vec![None::<&str>, None])),
            Arc::new(StringArray::from(vec![Some("rouge"), None])),
        ],
    )
    .unwrap();
    commit(&sink, &v1, WriteMode::Append, batch).await;

    let (schema, rows) = read(&sink, None).await;
    assert_eq!(
        schema,
        [
            "id Int32",
            "amount Decimal128(12, 2)",
            "note Utf8",
            "colour Utf8"
        ]
    );
    assert_eq!(
        rows,
        [
            "1|1.50|a|NULL",
            "2|1234567890.12|NULL|rouge",
            "3|0.01|NULL|NULL"
        ]
    );
    let (schema, rows) = read(&sink, Some(0)).await;
    assert_eq!(
        schema,
        ["id Int32", "amount Decimal128(10, 2)", "note Utf8"],
        "version 0 reads with its own columns"
    );
    assert_eq!(rows, ["1|1.50|a", "2|99999999.99|"]);
}
