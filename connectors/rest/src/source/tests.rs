//! The REST source against a local server replaying the recorded Dolibarr 20 answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{Array, AsArray};
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

// ---------------------------------------------------------------------------
// ERPNext: a local server answering /api/resource like Frappe v15 does.

const ERP_KEY: &str = "k3y4a:s3cr3tb";

struct Frappe {
    docs: BTreeMap<String, Vec<Value>>,
    throttled_once: std::sync::atomic::AtomicBool,
    hits: AtomicUsize,
}

fn frappe_docs() -> BTreeMap<String, Vec<Value>> {
    let mut docs = BTreeMap::new();
    let customers: Vec<Value> = (1..=45)
        .map(|i| {
            json!({"name": format!("CUST-{i:05}"), "customer_name": format!("Client {i} – Société"),
                   "customer_group": "Commercial", "disabled": i % 9 == 0,
                   "tax_id": if i % 4 == 0 { Value::Null } else { json!(format!("FR{i:011}")) },
                   "creation": format!("2024-05-01 10:{:02}:00.000000", i % 60),
                   "modified": format!("2024-06-{:02} 08:00:00.123456", 1 + i % 28),
                   "docstatus": 0, "idx": 0})
        })
        .collect();
    docs.insert("Customer".to_owned(), customers);
    let mut orders = Vec::new();
    let mut items = Vec::new();
    for o in 1..=30 {
        let name = format!("SAL-ORD-2024-{o:05}");
        let mut total = 0.0f64;
        for l in 1..=3 {
            let qty = f64::from(l) * 1.5;
            let rate = 19.99 + f64::from(o);
            total += qty * rate;
            items.push(json!({"name": format!("{name}-{l}"), "parent": name, "parenttype": "Sales Order",
                              "parentfield": "items", "idx": l, "item_code": format!("ITEM-{l}"),
                              "qty": qty, "rate": rate, "amount": qty * rate,
                              "creation": "2024-05-02 09:00:00.000000", "modified": "2024-05-02 09:00:00.000000"}));
        }
        orders.push(
            json!({"name": name, "customer": format!("CUST-{:05}", 1 + o % 45),
                           "transaction_date": "2024-05-02", "grand_total": total, "docstatus": 1,
                           "creation": format!("2024-05-02 09:{o:02}:00.000000"),
                           "modified": format!("2024-06-{:02} 12:00:00.000000", 1 + o % 28)}),
        );
    }
    docs.insert("Sales Order".to_owned(), orders);
    docs.insert("Sales Order Item".to_owned(), items);
    docs
}

async fn frappe_list(
    State(f): State<Arc<Frappe>>,
    axum::extract::Path(doctype): axum::extract::Path<String>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> axum::response::Response {
    f.hits.fetch_add(1, Ordering::SeqCst);
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("token {ERP_KEY}")) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"exc_type": "AuthenticationError",
            "exception": "frappe.exceptions.AuthenticationError", "_server_messages": "[\"{\\\"message\\\": \\\"Invalid API key\\\"}\"]"}))).into_response();
    }
    if doctype == "Customer" && !f.throttled_once.swap(true, Ordering::SeqCst) {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            "Too Many Requests",
        )
            .into_response();
    }
    if doctype.ends_with(" Item") && !q.contains_key("parent") {
        return (StatusCode::FORBIDDEN, axum::Json(json!({"exc_type": "PermissionError",
            "exception": format!("frappe.exceptions.PermissionError: Insufficient Permission for {doctype}")}))).into_response();
    }
    assert_eq!(q.get("fields").map(String::as_str), Some("[\"*\"]"));
    assert_eq!(
        q.get("order_by").map(String::as_str),
        Some("creation asc, name asc")
    );
    let start: usize = q
        .get("limit_start")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let len: usize = q
        .get("limit_page_length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let since = q.get("filters").map(|fl| {
        let v: Value = serde_json::from_str(fl).unwrap();
        assert_eq!(v[0][0], json!("modified"));
        assert_eq!(v[0][1], json!(">="));
        v[0][2].as_str().unwrap().to_owned()
    });
    let mut all: Vec<Value> = f.docs.get(&doctype).cloned().unwrap_or_default();
    if let Some(s) = since {
        all.retain(|d| d["modified"].as_str().unwrap() >= s.as_str());
    }
    all.sort_by(|a, b| {
        (a["creation"].as_str(), a["name"].as_str())
            .cmp(&(b["creation"].as_str(), b["name"].as_str()))
    });
    let page: Vec<Value> = all.into_iter().skip(start).take(len).collect();
    axum::Json(json!({"data": page})).into_response()
}

async fn read_stream(
    src: &RestSource,
    spec: &StreamSpec,
    options: ReadOptions,
) -> Vec<arrow::record_batch::RecordBatch> {
    let mut events = src.read(spec, options).await.unwrap();
    let mut out = Vec::new();
    while let Some(e) = events.next().await {
        if let SourceEvent::Batch(b) = e.unwrap() {
            out.push(b);
        }
    }
    out
}

fn strings(batches: &[arrow::record_batch::RecordBatch], col: &str) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b.column(b.schema().index_of(col).unwrap()).clone();
            let a = arrow::compute::cast(&a, &arrow::datatypes::DataType::Utf8).unwrap();
            let s = a.as_string::<i32>();
            (0..s.len())
                .map(|i| s.value(i).to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn erpnext_description_reads_lists_child_tables_and_increments() {
    let f = Arc::new(Frappe {
        docs: frappe_docs(),
        throttled_once: std::sync::atomic::AtomicBool::new(false),
        hits: AtomicUsize::new(0),
    });
    let app = Router::new()
        .route("/api/resource/{doctype}", get(frappe_list))
        .with_state(f.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let (key, secret) = ERP_KEY.split_once(':').unwrap();
    let mut http = ferry_http::HttpConfig {
        backoff_initial_ms: 10,
        ..Default::default()
    };
    http.max_concurrency = 4;
    let src = RestSource::new(RestConfig {
        system: Some("erpnext".into()),
        url: format!("http://{key}:{secret}@{addr}"),
        page_size: Some(7),
        http,
        ..Default::default()
    })
    .unwrap();
    assert!(!src.describe().contains(secret));
    let catalog = src.discover().await.unwrap();
    let spec = |n: &str| {
        catalog
            .streams
            .iter()
            .find(|s| s.name == n)
            .unwrap()
            .clone()
    };

    // Every customer once, in order, over 7 pages of 7, after one 429.
    let customers = read_stream(&src, &spec("Customer"), ReadOptions::default()).await;
    let names = strings(&customers, "name");
    assert_eq!(
        names,
        (1..=45).map(|i| format!("CUST-{i:05}")).collect::<Vec<_>>()
    );
    assert!(src.client().stats().throttled >= 1);
    let tax = customers[0].column(customers[0].schema().index_of("tax_id").unwrap());
    assert!(tax.null_count() > 0, "null stays null");

    // Order lines come from the child DocType, each with its parent's name; money exact.
    let items = read_stream(&src, &spec("Sales Order Item"), ReadOptions::default()).await;
    assert_eq!(strings(&items, "name").len(), 90);
    let parents = strings(&items, "parent");
    assert_eq!(parents[0], "SAL-ORD-2024-00001");
    let rate_type = items[0]
        .schema()
        .field_with_name("rate")
        .unwrap()
        .data_type()
        .clone();
    assert_eq!(rate_type, arrow::datatypes::DataType::Decimal128(38, 9));
    assert_eq!(strings(&items, "rate")[0], "20.990000000");
    let orders = read_stream(&src, &spec("Sales Order"), ReadOptions::default()).await;
    assert_eq!(strings(&orders, "name").len(), 30);

    // Incremental: only documents modified at or after the mark.
    let since = ReadOptions {
        resume: None,
        since: Some(Checkpoint(json!({"mark": "2024-06-20 00:00:00"}))),
    };
    let changed = read_stream(&src, &spec("Customer"), since).await;
    let changed = strings(&changed, "name");
    let expected: Vec<String> = (1..=45)
        .filter(|i| 1 + i % 28 >= 20)
        .map(|i| format!("CUST-{i:05}"))
        .collect();
    assert_eq!(changed, expected);
}
