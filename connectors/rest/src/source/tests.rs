//! The REST source against a local server replaying the recorded Dolibarr 20 answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;

use super::*;

const KEY: &str = "doli-key-5e6f7a8b";

fn sample(name: &str) -> Option<Value> {
    let p = format!("/work/shared/samples/dolibarr20/samples/{name}");
    let text = std::fs::read_to_string(p).ok()?;
    serde_json::from_str::<Value>(&text)
        .ok()
        .map(|v| v["response"].clone())
}

#[derive(Default)]
struct Doli {
    hits: AtomicUsize,
}

async fn thirdparties(
    State(doli): State<Arc<(Doli, Vec<Value>, Value)>>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> axum::response::Response {
    doli.0.hits.fetch_add(1, Ordering::SeqCst);
    if headers.get("dolapikey").and_then(|v| v.to_str().ok()) != Some(KEY) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": {"code": 401, "message": "Unauthorized: Failed to login to API. No parameter 'HTTP_DOLAPIKEY' on HTTP header (and no parameter DOLAPIKEY in URL)."}}))).into_response();
    }
    let limit: usize = q.get("limit").and_then(|v| v.parse().ok()).unwrap_or(100);
    let page: usize = q.get("page").and_then(|v| v.parse().ok()).unwrap_or(0);
    let all = &doli.1;
    let slice: Vec<Value> = all.iter().skip(page * limit).take(limit).cloned().collect();
    if slice.is_empty() {
        return (StatusCode::NOT_FOUND, axum::Json(doli.2.clone())).into_response();
    }
    axum::Json(Value::Array(slice)).into_response()
}

#[tokio::test]
async fn dolibarr_pages_until_the_404_and_types_strings_by_hints() {
    let Some(Value::Array(records)) = sample("get_thirdparties.json") else {
        eprintln!("Dolibarr samples not present: skipped");
        return;
    };
    let past_end = sample("get_thirdparties_page_past_end.json").unwrap();
    // Make 3.5 pages of 2 from the recorded records (ids renumbered, all else as recorded).
    let mut all = Vec::new();
    for i in 0..7 {
        let mut r = records[i % records.len()].clone();
        r["id"] = json!((i + 1).to_string());
        all.push(r);
    }
    let state = Arc::new((Doli::default(), all, past_end));
    let app = Router::new()
        .route("/api/index.php/thirdparties", get(thirdparties))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let desc = r#"
system: dolibarr
auth: { kind: header, header: DOLAPIKEY }
pagination: { kind: page, page_param: page, size_param: limit, size: 2, end_status: [404] }
params: { sortfield: t.rowid, sortorder: ASC }
primary_key: [id]
types: { id: int, date_creation: unix_time, date_modification: unix_time, capital: decimal(8) }
streams:
  - { name: thirdparties, path: /thirdparties }
"#;
    let dir = std::env::temp_dir().join(format!("ferry-rest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("d.yaml"), desc).unwrap();
    let src = RestSource::new(RestConfig {
        description_file: Some(dir.join("d.yaml")),
        url: format!("http://{KEY}@{addr}/api/index.php"),
        ..Default::default()
    })
    .unwrap();
    assert!(!src.describe().contains(KEY));
    let catalog = src.discover().await.unwrap();
    let spec = &catalog.streams[0];
    let id = spec.schema.field_with_name("id").unwrap();
    assert_eq!(id.data_type(), &arrow::datatypes::DataType::Int64);
    let mut events = src.read(spec, ReadOptions::default()).await.unwrap();
    let mut ids = Vec::new();
    while let Some(e) = events.next().await {
        if let SourceEvent::Batch(b) = e.unwrap() {
            let i = b.schema().index_of("id").unwrap();
            ids.extend(
                b.column(i)
                    .as_primitive::<Int64Type>()
                    .values()
                    .iter()
                    .copied(),
            );
        }
    }
    assert_eq!(ids, (1..=7).collect::<Vec<i64>>());

    let bad = RestSource::new(RestConfig {
        description_file: Some(dir.join("d.yaml")),
        url: format!("http://wrong-key-123@{addr}/api/index.php"),
        ..Default::default()
    })
    .unwrap();
    let err = bad.discover().await.unwrap_err().to_string();
    assert!(
        err.contains("HTTP 401") && err.contains("GET /api/index.php/thirdparties (page 0)"),
        "{err}"
    );
    assert!(!err.contains("wrong-key-123"));
}

#[test]
fn flattening_children_and_link_headers() {
    let r = json!({"id": "7", "address": {"town": "Lyon", "zip": "69002"},
                   "lines": [{"id": "1", "qty": "2.5"}, {"id": "2", "qty": "1"}],
                   "array_options": {}, "tags": [1, 2]});
    let rows = rows_of(
        std::slice::from_ref(&r),
        &["lines".into()],
        None,
        &["id".into()],
    );
    assert_eq!(rows[0]["address.town"], json!("Lyon"));
    assert!(rows[0].get("lines").is_none());
    assert_eq!(rows[0]["tags"], json!("[1,2]"));
    let lines = rows_of(&[r], &["lines".into()], Some("lines"), &["id".into()]);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["_parent_id"], json!("7"));
    assert_eq!(
        parse_link_next(r#"<https://x/a?page=2>; rel="next", <https://x/a?page=9>; rel="last""#)
            .as_deref(),
        Some("https://x/a?page=2")
    );
    let v: Vec<Value> = serde_json::from_str("[1.50, 2, null, 3.125]").unwrap();
    assert_eq!(infer(&v.iter().collect::<Vec<_>>()), Kind::Decimal(3));
    assert_eq!(unix_to_text("1732848000"), "2024-11-29 02:40:00");
}
