//! The Odoo source against a local Odoo stand-in that answers like the recorded Odoo 19
//! server in /work/shared/samples/odoo19 (JSON-RPC errors inside HTTP 200, `false` for
//! empty values, `[id, "name"]` many2one pairs, JSON-2 with real status codes), with
//! injected faults: 429 with Retry-After, 500, answers slower than the timeout, records
//! inserted between two pages.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Decimal128Type, Int64Type};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use ferry_core::{Checkpoint, ReadOptions, Source, SourceEvent};
use ferry_http::HttpConfig;
use ferry_odoo::{OdooConfig, OdooSource, Protocol, xmlrpc};
use futures::StreamExt;
use serde_json::{Value, json};

const PASSWORD: &str = "pw-Odoo-7f3a";
const API_KEY: &str = "key-3b9c1d2e4f5a";

#[derive(Clone, Copy, Debug)]
enum Fault {
    TooMany,
    ServerError,
    Slow,
}

struct Odoo {
    partners: Mutex<Vec<Value>>,
    faults: Mutex<VecDeque<Fault>>,
    /// Insert this many partners when the n-th search_read arrives.
    insert_at: Mutex<Option<(usize, usize)>>,
    reads: AtomicUsize,
    requests: AtomicUsize,
    /// Answer 404 on `/jsonrpc`, as behind a proxy that only lets XML-RPC through.
    no_jsonrpc: std::sync::atomic::AtomicBool,
}

fn partner(id: i64, write_date: &str) -> Value {
    json!({
        "id": id,
        "name": format!("Partner {id} – Société"),
        "is_company": id % 2 == 0,
        "active": id % 10 != 0,
        "country_id": if id % 3 == 0 { json!(false) } else { json!([233, "United States"]) },
        "credit_limit": if id % 4 == 0 { json!(false) } else {
            serde_json::from_str::<Value>(&format!("{id}.25")).unwrap()
        },
        "category_id": if id % 5 == 0 { json!([1, 2]) } else { json!([]) },
        "comment": false,
        "write_date": write_date,
    })
}

/// Evaluates one term of an Odoo domain in Polish notation, from `pos`.
fn eval(r: &Value, items: &[Value], pos: usize) -> (bool, usize) {
    match items[pos].as_str() {
        Some("|") => {
            let (a, p) = eval(r, items, pos + 1);
            let (b, p) = eval(r, items, p);
            (a || b, p)
        }
        Some("&") => {
            let (a, p) = eval(r, items, pos + 1);
            let (b, p) = eval(r, items, p);
            (a && b, p)
        }
        Some("!") => {
            let (a, p) = eval(r, items, pos + 1);
            (!a, p)
        }
        _ => {
            let c = &items[pos];
            let (f, op, v) = (c[0].as_str().unwrap(), c[1].as_str().unwrap(), &c[2]);
            let x = &r[f];
            let cmp = match (x.as_i64(), v.as_i64()) {
                (Some(a), Some(b)) => a.cmp(&b),
                _ => x.as_str().unwrap_or("").cmp(v.as_str().unwrap_or("")),
            };
            let ok = match op {
                ">" => cmp.is_gt(),
                ">=" => cmp.is_ge(),
                "=" => cmp.is_eq(),
                "in" => v
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|i| i.as_i64() == x.as_i64()),
                "not in" => !v
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|i| i.as_i64() == x.as_i64()),
                _ => panic!("operator {op}"),
            };
            (ok, pos + 1)
        }
    }
}

fn fields() -> Value {
    json!({
        "id": {"type": "integer", "store": true},
        "name": {"type": "char", "store": true, "translate": false},
        "is_company": {"type": "boolean", "store": true},
        "active": {"type": "boolean", "store": true},
        "country_id": {"type": "many2one", "store": true, "relation": "res.country"},
        "credit_limit": {"type": "monetary", "store": true},
        "category_id": {"type": "many2many", "store": true, "relation": "res.partner.category"},
        "comment": {"type": "html", "store": true},
        "display_name": {"type": "char", "store": false},
        "image_1920": {"type": "binary", "store": true},
        "write_date": {"type": "datetime", "store": true}
    })
}

impl Odoo {
    fn new(n: i64) -> Arc<Self> {
        Arc::new(Odoo {
            partners: Mutex::new(
                (1..=n)
                    .map(|i| partner(i * 2, "2026-11-29 02:51:15"))
                    .collect(),
            ),
            faults: Mutex::new(VecDeque::new()),
            insert_at: Mutex::new(None),
            reads: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
            no_jsonrpc: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn matches(&self, r: &Value, domain: &Value) -> bool {
        let items = domain.as_array().cloned().unwrap_or_default();
        let mut pos = 0;
        let mut all = true;
        while pos < items.len() {
            let (v, next) = eval(r, &items, pos);
            all &= v;
            pos = next;
        }
        all
    }

    /// Runs one model method; Err = (exception name, message).
    fn run(
        &self,
        model: &str,
        method: &str,
        domain: Value,
        kw: &Value,
    ) -> Result<Value, (String, String)> {
        match (model, method) {
            ("res.company", "search") => Ok(json!([1, 2])),
            ("ir.model", "search_read") => {
                Ok(json!([{"id": 1, "model": "account.move"}, {"id": 2, "model": "res.partner"}]))
            }
            ("account.move", _) => Err((
                "odoo.exceptions.AccessError".into(),
                "You are not allowed to access 'Journal Entry' (account.move) records.".into(),
            )),
            ("res.partner", "fields_get") => Ok(fields()),
            ("res.partner", "search_count") => Ok(json!(self.partners.lock().unwrap().len())),
            ("res.partner", "search") => {
                assert_eq!(kw["context"]["active_test"], json!(false));
                assert_eq!(kw["context"]["allowed_company_ids"], json!([1, 2]));
                let limit = kw["limit"].as_u64().unwrap_or(u64::MAX) as usize;
                let ps = self.partners.lock().unwrap();
                let mut ids: Vec<i64> = ps
                    .iter()
                    .filter(|r| self.matches(r, &domain))
                    .map(|r| r["id"].as_i64().unwrap())
                    .collect();
                ids.sort();
                ids.truncate(limit);
                Ok(json!(ids))
            }
            ("res.partner", "search_read") => {
                let n = self.reads.fetch_add(1, Ordering::SeqCst) + 1;
                if let Some((at, count)) = *self.insert_at.lock().unwrap()
                    && at == n
                {
                    let mut ps = self.partners.lock().unwrap();
                    let max = ps
                        .iter()
                        .map(|r| r["id"].as_i64().unwrap())
                        .max()
                        .unwrap_or(0);
                    for i in 1..=count as i64 {
                        ps.push(partner(max + i, "2026-11-29 03:00:00"));
                    }
                }
                let wanted: Vec<String> = kw["fields"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f.as_str().unwrap().to_owned())
                    .collect();
                for f in &wanted {
                    if fields().get(f).is_none() {
                        return Err((
                            "ValueError".into(),
                            format!("Invalid field '{f}' on model 'res.partner'"),
                        ));
                    }
                }
                let ps = self.partners.lock().unwrap();
                let mut out: Vec<Value> = ps
                    .iter()
                    .filter(|r| self.matches(r, &domain))
                    .map(|r| {
                        let mut o = serde_json::Map::new();
                        o.insert("id".into(), r["id"].clone());
                        for f in &wanted {
                            o.insert(f.clone(), r[f.as_str()].clone());
                        }
                        Value::Object(o)
                    })
                    .collect();
                out.sort_by_key(|r| r["id"].as_i64());
                Ok(Value::Array(out))
            }
            _ => Err((
                "odoo.exceptions.UserError".into(),
                format!("Object {model} doesn't exist"),
            )),
        }
    }

    async fn fault(&self) -> Option<Response> {
        let f = self.faults.lock().unwrap().pop_front()?;
        Some(match f {
            Fault::TooMany => (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1")],
                "Too Many Requests",
            )
                .into_response(),
            Fault::ServerError => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<html>Internal Server Error</html>",
            )
                .into_response(),
            Fault::Slow => {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                "{}".into_response()
            }
        })
    }
}

async fn jsonrpc(State(odoo): State<Arc<Odoo>>, body: String) -> Response {
    odoo.requests.fetch_add(1, Ordering::SeqCst);
    if odoo.no_jsonrpc.load(Ordering::SeqCst) {
        return (StatusCode::NOT_FOUND, "<html>404 Not Found</html>").into_response();
    }
    let req: Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(_) => return (StatusCode::BAD_REQUEST, "bad json").into_response(),
    };
    let p = &req["params"];
    let args = p["args"].as_array().cloned().unwrap_or_default();
    let reply = |r: Result<Value, (String, String)>| {
        let body = match r {
            Ok(v) => json!({"jsonrpc": "2.0", "id": req["id"], "result": v}),
            Err((name, message)) => json!({"jsonrpc": "2.0", "id": req["id"], "error": {
                "code": 200, "message": "Odoo Server Error",
                "data": {"name": name, "message": message, "arguments": [message], "context": {}, "debug": "Traceback ..."}}}),
        };
        axum::Json(body).into_response()
    };
    match (p["service"].as_str(), p["method"].as_str()) {
        (Some("common"), Some("version")) => reply(Ok(
            json!({"server_version": "19.0", "server_version_info": [19, 0, 0, "final", 0, ""], "server_serie": "19.0", "protocol_version": 1}),
        )),
        (Some("common"), Some("authenticate")) => reply(Ok(if args[2] == json!(PASSWORD) {
            json!(2)
        } else {
            json!(false)
        })),
        (Some("object"), Some("execute_kw")) => {
            if args[2] != json!(PASSWORD) {
                return reply(Err((
                    "odoo.exceptions.AccessDenied".into(),
                    "Access Denied".into(),
                )));
            }
            if args[4] == json!("search_read")
                && let Some(resp) = odoo.fault().await
            {
                return resp;
            }
            let domain = args[5].get(0).cloned().unwrap_or(json!([]));
            reply(odoo.run(
                args[3].as_str().unwrap(),
                args[4].as_str().unwrap(),
                domain,
                &args[6],
            ))
        }
        _ => reply(Err(("KeyError".into(), "unknown service".into()))),
    }
}

/// `/xmlrpc/2/common` and `/xmlrpc/2/object`, as Odoo's XML-RPC dispatcher answers:
/// faults with code 1 (access) or 2 (other) and a traceback as the string.
async fn xmlrpc(
    State(odoo): State<Arc<Odoo>>,
    Path(service): Path<String>,
    body: String,
) -> Response {
    odoo.requests.fetch_add(1, Ordering::SeqCst);
    let xml = |text: String| ([("content-type", "text/xml")], text).into_response();
    let Ok(call) = xmlrpc::decode_call(&body) else {
        return (StatusCode::BAD_REQUEST, "bad xml").into_response();
    };
    let args = call.params;
    match (service.as_str(), call.method.as_str()) {
        ("common", "version") => xml(xmlrpc::encode_response(
            &json!({"server_version": "17.0", "server_version_info": [17, 0, 0, "final", 0, ""], "server_serie": "17.0", "protocol_version": 1}),
        )),
        ("common", "authenticate") => {
            xml(xmlrpc::encode_response(&if args[2] == json!(PASSWORD) {
                json!(2)
            } else {
                json!(false)
            }))
        }
        ("object", "execute_kw") => {
            if args[2] != json!(PASSWORD) {
                return xml(xmlrpc::encode_fault(
                    1,
                    "Traceback (most recent call last):\n  File ...\nodoo.exceptions.AccessDenied: Access Denied",
                ));
            }
            if args[4] == json!("search_read")
                && let Some(resp) = odoo.fault().await
            {
                return resp;
            }
            let domain = args[5].get(0).cloned().unwrap_or(json!([]));
            match odoo.run(
                args[3].as_str().unwrap(),
                args[4].as_str().unwrap(),
                domain,
                &args[6],
            ) {
                Ok(v) => xml(xmlrpc::encode_response(&v)),
                Err((name, message)) => xml(xmlrpc::encode_fault(
                    2,
                    &format!("Traceback (most recent call last):\n  File ...\n{name}: {message}"),
                )),
            }
        }
        _ => xml(xmlrpc::encode_fault(2, "unknown method")),
    }
}

async fn json2(
    State(odoo): State<Arc<Odoo>>,
    Path((model, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    odoo.requests.fetch_add(1, Ordering::SeqCst);
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("bearer {API_KEY}") {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"name": "werkzeug.exceptions.Unauthorized", "message": "Invalid apikey", "arguments": ["Invalid apikey", 401], "context": {}}))).into_response();
    }
    assert_eq!(headers.get("x-odoo-database").unwrap(), "ferry_demo");
    if method == "search_read"
        && let Some(resp) = odoo.fault().await
    {
        return resp;
    }
    let kw: Value = serde_json::from_str(&body).unwrap();
    let domain = kw.get("domain").cloned().unwrap_or(json!([]));
    match odoo.run(&model, &method, domain, &kw) {
        Ok(v) => axum::Json(v).into_response(),
        Err((name, message)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(
                json!({"name": name, "message": message, "arguments": [message], "context": {}}),
            ),
        )
            .into_response(),
    }
}

async fn serve(odoo: Arc<Odoo>) -> String {
    let app = Router::new()
        .route("/jsonrpc", post(jsonrpc))
        .route("/json/2/{model}/{method}", post(json2))
        .route("/xmlrpc/2/{service}", post(xmlrpc))
        .with_state(odoo);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("{addr}")
}

fn config(addr: &str) -> OdooConfig {
    OdooConfig {
        url: format!("odoo+http://admin:{PASSWORD}@{addr}/ferry_demo"),
        page_size: 10,
        id_page_size: 40,
        checkpoint_pages: 2,
        http: HttpConfig {
            timeout_secs: 1.0,
            max_retries: 3,
            backoff_initial_ms: 10,
            backoff_max_ms: 50,
            max_concurrency: 4,
            ..HttpConfig::default()
        },
        ..OdooConfig::default()
    }
}

struct Read {
    ids: Vec<i64>,
    batches: Vec<arrow::record_batch::RecordBatch>,
    checkpoints: Vec<Checkpoint>,
    error: Option<String>,
}

async fn read_all(src: &OdooSource, model: &str, options: ReadOptions) -> Read {
    let catalog = src.discover().await.unwrap();
    let spec = catalog
        .streams
        .iter()
        .find(|s| s.name == model)
        .unwrap()
        .clone();
    let mut events = src.read(&spec, options).await.unwrap();
    let mut out = Read {
        ids: vec![],
        batches: vec![],
        checkpoints: vec![],
        error: None,
    };
    while let Some(e) = events.next().await {
        match e {
            Ok(SourceEvent::Batch(b)) => {
                out.ids.extend(
                    b.column(0)
                        .as_primitive::<Int64Type>()
                        .values()
                        .iter()
                        .copied(),
                );
                out.batches.push(b);
            }
            Ok(SourceEvent::Checkpoint(c)) => out.checkpoints.push(c),
            Err(e) => out.error = Some(e.to_string()),
        }
    }
    out
}

#[tokio::test]
async fn discovers_types_and_skips_unreadable_models() {
    let odoo = Odoo::new(5);
    let addr = serve(odoo.clone()).await;
    let src = OdooSource::new(config(&addr)).unwrap();
    let catalog = src.discover().await.unwrap();
    let names: Vec<&str> = catalog.streams.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["res.partner"]);
    let skipped = catalog.metadata["models_skipped"].to_string();
    assert!(
        skipped.contains("account.move") && skipped.contains("AccessError"),
        "{skipped}"
    );
    let spec = &catalog.streams[0];
    let cols: Vec<String> = spec
        .schema
        .fields()
        .iter()
        .map(|f| format!("{}:{}", f.name(), f.data_type()))
        .collect();
    assert_eq!(
        cols,
        [
            "id:Int64",
            "active:Boolean",
            "category_id:List(Int64)",
            "comment:Utf8",
            "country_id:Int64",
            "country_id_name:Utf8",
            "credit_limit:Decimal128(38, 4)",
            "is_company:Boolean",
            "name:Utf8",
            "write_date:Timestamp(µs, \"UTC\")",
        ]
        .map(String::from)
    );
    assert_eq!(spec.cursor_field.as_deref(), Some("write_date"));
    assert_eq!(spec.row_estimate, Some(5));
}

#[tokio::test]
async fn reads_every_page_with_exact_values_and_no_false() {
    let odoo = Odoo::new(95);
    let addr = serve(odoo.clone()).await;
    let src = OdooSource::new(config(&addr)).unwrap();
    let r = read_all(&src, "res.partner", ReadOptions::default()).await;
    assert_eq!(r.error, None);
    assert_eq!(r.ids, (1..=95).map(|i| i * 2).collect::<Vec<_>>());
    let b = &r.batches[0];
    let schema = b.schema();
    let col = |n: &str| b.column(schema.index_of(n).unwrap()).clone();
    // id 2: credit 2.25, country set; id 6: country false → NULL; id 8: credit false → NULL.
    let credit = col("credit_limit");
    assert_eq!(credit.as_primitive::<Decimal128Type>().value(0), 22500);
    assert!(credit.is_null(3));
    assert!(col("country_id").is_null(2) && col("country_id_name").is_null(2));
    assert_eq!(
        col("country_id_name").as_string::<i32>().value(0),
        "United States"
    );
    assert!(col("comment").is_null(0), "false in a text field is NULL");
    assert!(
        !col("is_company").is_null(0),
        "false in a boolean field stays false"
    );
    assert_eq!(r.checkpoints.last().unwrap().0["after_id"], json!(190));
}

#[tokio::test]
async fn records_inserted_mid_read_are_read_once() {
    let odoo = Odoo::new(95);
    *odoo.insert_at.lock().unwrap() = Some((3, 25));
    let addr = serve(odoo.clone()).await;
    let src = OdooSource::new(config(&addr)).unwrap();
    let r = read_all(&src, "res.partner", ReadOptions::default()).await;
    assert_eq!(r.error, None);
    let mut expected: Vec<i64> = (1..=95).map(|i| i * 2).collect();
    expected.extend(191..=215);
    assert_eq!(r.ids, expected, "no duplicate, no missing id, in id order");
}

#[tokio::test]
async fn the_second_incremental_run_fetches_only_changes() {
    let odoo = Odoo::new(30);
    let addr = serve(odoo.clone()).await;
    let src = OdooSource::new(config(&addr)).unwrap();
    let first = read_all(&src, "res.partner", ReadOptions::default()).await;
    assert_eq!(first.ids.len(), 30);
    let mark = first.checkpoints.last().unwrap().clone();
    {
        let mut ps = odoo.partners.lock().unwrap();
        ps[4]["write_date"] = json!("2026-11-30 08:00:00");
        ps[4]["name"] = json!("Renamed");
        let next = partner(1000, "2026-11-30 09:00:00");
        ps.push(next);
    }
    let before = odoo.reads.load(Ordering::SeqCst);
    let second = read_all(
        &src,
        "res.partner",
        ReadOptions {
            resume: None,
            since: Some(mark),
        },
    )
    .await;
    assert_eq!(second.error, None);
    assert_eq!(second.ids, [10, 1000]);
    assert_eq!(
        odoo.reads.load(Ordering::SeqCst) - before,
        1,
        "one page of changes"
    );
    let third = read_all(
        &src,
        "res.partner",
        ReadOptions {
            resume: None,
            since: second.checkpoints.last().cloned(),
        },
    )
    .await;
    assert!(third.ids.is_empty(), "nothing changed: {:?}", third.ids);
}

#[tokio::test]
async fn faults_within_the_budget_are_survived_and_counted() {
    let odoo = Odoo::new(50);
    odoo.faults.lock().unwrap().extend([
        Fault::TooMany,
        Fault::ServerError,
        Fault::Slow,
        Fault::ServerError,
    ]);
    let addr = serve(odoo.clone()).await;
    let mut cfg = config(&addr);
    cfg.http.max_retries = 5;
    let src = OdooSource::new(cfg).unwrap();
    let r = read_all(&src, "res.partner", ReadOptions::default()).await;
    assert_eq!(r.error, None);
    assert_eq!(r.ids.len(), 50);
    let s = src.client().stats();
    assert_eq!(
        (s.throttled, s.server_errors, s.timeouts),
        (1, 2, 1),
        "{s:?}"
    );
    assert_eq!(s.retries, 4);
}

#[tokio::test]
async fn an_exhausted_budget_names_endpoint_and_page_and_keeps_what_was_complete() {
    let odoo = Odoo::new(50);
    let addr = serve(odoo.clone()).await;
    let src = OdooSource::new(config(&addr)).unwrap();
    let catalog = src.discover().await.unwrap();
    let spec = catalog.streams[0].clone();
    let mut events = src.read(&spec, ReadOptions::default()).await.unwrap();
    let mut rows = 0;
    let mut checkpoints = Vec::new();
    let mut error = None;
    while let Some(e) = events.next().await {
        match e {
            Ok(SourceEvent::Batch(b)) => {
                rows += b.num_rows();
                if rows == 20 {
                    // From now on the server only fails.
                    odoo.faults.lock().unwrap().extend([Fault::ServerError; 60]);
                }
            }
            Ok(SourceEvent::Checkpoint(c)) => checkpoints.push((rows, c)),
            Err(e) => error = Some(e),
        }
    }
    let e = error.expect("the read fails");
    let msg = e.to_string();
    assert!(e.is_transient());
    assert!(msg.starts_with("odoo 127.0.0.1:"), "{msg}");
    assert!(
        msg.contains("POST /jsonrpc (res.partner.search_read, ids "),
        "{msg}"
    );
    assert!(msg.contains("gave up after 4 attempts"), "{msg}");
    assert!(!msg.contains(PASSWORD));
    assert!(rows < 50);
    // Each checkpoint covers exactly the rows delivered before it (ids are 2, 4, 6, ...):
    // a rerun from the last one reads the rest, without gap or duplicate.
    let (done, cp) = checkpoints
        .last()
        .cloned()
        .expect("a checkpoint before the failure");
    assert_eq!(cp.0["after_id"], json!(done * 2));
    odoo.faults.lock().unwrap().clear();
    let resumed = read_all(
        &OdooSource::new(config(&addr)).unwrap(),
        "res.partner",
        ReadOptions {
            resume: Some(cp),
            since: None,
        },
    )
    .await;
    assert_eq!(resumed.error, None);
    assert_eq!(
        resumed.ids,
        ((done as i64 + 1)..=50).map(|i| i * 2).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn json2_with_an_api_key() {
    let odoo = Odoo::new(25);
    let addr = serve(odoo.clone()).await;
    let cfg = OdooConfig {
        url: format!("odoo+http://admin@{addr}/ferry_demo"),
        api_key_file: Some(key_file("good", API_KEY)),
        ..config(&addr)
    };
    let src = OdooSource::new(cfg).unwrap();
    let catalog = src.discover().await.unwrap();
    assert_eq!(catalog.metadata["protocol"], json!("json2"));
    let r = read_all(&src, "res.partner", ReadOptions::default()).await;
    assert_eq!(r.error, None);
    assert_eq!(r.ids.len(), 25);
    assert!(!format!("{src:?}").contains(API_KEY));

    let bad = OdooSource::new(OdooConfig {
        url: format!("odoo+http://admin@{addr}/ferry_demo"),
        api_key_file: Some(key_file("bad", "key-wrong-999999")),
        protocol: Protocol::Json2,
        ..config(&addr)
    })
    .unwrap();
    let err = bad.discover().await.unwrap_err().to_string();
    assert!(
        err.contains("HTTP 401") && err.contains("Invalid apikey"),
        "{err}"
    );
    assert!(!err.contains("key-wrong-999999"), "{err}");
}

#[tokio::test]
async fn a_wrong_password_is_a_clear_error_without_the_password() {
    let odoo = Odoo::new(1);
    let addr = serve(odoo).await;
    let src = OdooSource::new(OdooConfig {
        url: format!("odoo+http://admin:Wrong-Secret-42@{addr}/ferry_demo"),
        ..config(&addr)
    })
    .unwrap();
    let err = src.discover().await.unwrap_err().to_string();
    assert!(err.contains("login refused for user \"admin\""), "{err}");
    assert!(!err.contains("Wrong-Secret-42"), "{err}");
    assert!(!src.describe().contains("Wrong-Secret-42"));
}

#[tokio::test]
async fn malformed_json_names_the_page() {
    let app = Router::new().route(
        "/jsonrpc",
        post(|| async { "{\"jsonrpc\": \"2.0\", \"result\": [1," }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let src = OdooSource::new(config(&addr)).unwrap();
    let err = src.discover().await.unwrap_err().to_string();
    assert!(
        err.contains("malformed JSON") && err.contains("authenticate"),
        "{err}"
    );
}

fn key_file(name: &str, key: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ferry-odoo-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, format!("{key}\n")).unwrap();
    p
}

#[tokio::test]
async fn xml_rpc_reads_the_same_records_and_is_chosen_when_json_rpc_is_missing() {
    let odoo = Odoo::new(45);
    let addr = serve(odoo.clone()).await;
    let by_json = read_all(
        &OdooSource::new(config(&addr)).unwrap(),
        "res.partner",
        ReadOptions::default(),
    )
    .await;
    assert_eq!(by_json.error, None);

    // Asked for explicitly.
    let src = OdooSource::new(OdooConfig {
        protocol: Protocol::Xmlrpc,
        ..config(&addr)
    })
    .unwrap();
    let catalog = src.discover().await.unwrap();
    assert_eq!(catalog.metadata["protocol"], json!("xmlrpc"));
    let by_xml = read_all(&src, "res.partner", ReadOptions::default()).await;
    assert_eq!(by_xml.error, None);
    assert_eq!(by_xml.ids, by_json.ids);
    assert_eq!(by_xml.batches, by_json.batches, "the same values, exactly");

    // Chosen by `auto` when /jsonrpc answers 404.
    odoo.no_jsonrpc.store(true, Ordering::SeqCst);
    let auto = OdooSource::new(config(&addr)).unwrap();
    let catalog = auto.discover().await.unwrap();
    assert_eq!(catalog.metadata["protocol"], json!("xmlrpc"));
    let r = read_all(&auto, "res.partner", ReadOptions::default()).await;
    assert_eq!(r.ids, by_json.ids);

    // A wrong password: the fault's last line, the endpoint, never the password.
    let bad = OdooSource::new(OdooConfig {
        url: format!("odoo+http://admin:wrong-pass-123@{addr}/ferry_demo"),
        protocol: Protocol::Xmlrpc,
        ..config(&addr)
    })
    .unwrap();
    let err = bad.discover().await.unwrap_err().to_string();
    assert!(err.contains("/xmlrpc/2/common"), "{err}");
    assert!(err.contains("login refused"), "{err}");
    assert!(!err.contains("wrong-pass-123"), "{err}");
}
