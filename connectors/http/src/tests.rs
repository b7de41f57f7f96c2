//! The engine against a local axum server.

use std::sync::Arc;
use std::sync::Mutex as StdMutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response as AxResponse};
use axum::routing::{get, post};

use super::*;

#[derive(Default)]
struct Seen {
    hits: AtomicUsize,
    inflight: AtomicUsize,
    peak: AtomicUsize,
    starts: StdMutex<Vec<Instant>>,
    auth: StdMutex<Vec<String>>,
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn fast() -> HttpConfig {
    HttpConfig {
        timeout_secs: 0.3,
        max_retries: 3,
        backoff_initial_ms: 5,
        backoff_max_ms: 20,
        ..HttpConfig::default()
    }
}

/// Answers with `script[n]` on the n-th hit (the last entry repeats).
fn scripted(script: Vec<(u16, Option<&'static str>, u64)>) -> (Router, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let script = Arc::new(script);
    let app = Router::new()
        .route(
            "/api/items",
            get(move |State(seen): State<Arc<Seen>>, headers: HeaderMap| {
                let script = script.clone();
                async move {
                    let n = seen.hits.fetch_add(1, Ordering::SeqCst);
                    if let Some(a) = headers.get("authorization") {
                        seen.auth
                            .lock()
                            .unwrap()
                            .push(a.to_str().unwrap().to_owned());
                    }
                    let (status, retry_after, delay_ms) = script[n.min(script.len() - 1)];
                    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                    let mut resp: AxResponse = (
                        StatusCode::from_u16(status).unwrap(),
                        format!("{{\"n\": {n}}}"),
                    )
                        .into_response();
                    if let Some(ra) = retry_after {
                        resp.headers_mut()
                            .insert("retry-after", ra.parse().unwrap());
                    }
                    resp
                }
            }),
        )
        .with_state(seen.clone());
    (app, seen)
}

#[tokio::test]
async fn retries_429_honouring_retry_after_then_succeeds() {
    let (app, _) = scripted(vec![(429, Some("1"), 0), (200, None, 0)]);
    let base = serve(app).await;
    let client = HttpClient::new("test", &base, Auth::None, fast()).unwrap();
    let t = Instant::now();
    let v = client.send_json(&Request::get("/api/items")).await.unwrap();
    assert_eq!(v["n"].to_string(), "1");
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "waited for Retry-After"
    );
    let s = client.stats();
    assert_eq!((s.requests, s.retries, s.throttled), (2, 1, 1));
}

#[tokio::test]
async fn retries_5xx_and_timeouts_within_the_budget() {
    let (app, seen) = scripted(vec![
        (500, None, 0),
        (503, None, 0),
        (200, None, 1000),
        (200, None, 0),
    ]);
    let base = serve(app).await;
    let client = HttpClient::new("test", &base, Auth::None, fast()).unwrap();
    let v = client.send_json(&Request::get("/api/items")).await.unwrap();
    assert_eq!(v["n"].to_string(), "3");
    let s = client.stats();
    assert_eq!((s.server_errors, s.timeouts, s.retries), (2, 1, 3));
    assert_eq!(seen.hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn an_exhausted_budget_names_system_endpoint_and_page() {
    let (app, seen) = scripted(vec![(503, None, 0)]);
    let base = serve(app).await;
    let client = HttpClient::new("odoo 127.0.0.1", &base, Auth::None, fast()).unwrap();
    let req = Request::get("/api/items")
        .query("offset", "500")
        .page("offset 500");
    let err = client.send(&req).await.unwrap_err();
    let msg = err.to_string();
    assert!(err.is_transient());
    assert!(
        msg.starts_with("odoo 127.0.0.1 GET /api/items (offset 500): HTTP 503"),
        "{msg}"
    );
    assert!(msg.contains("gave up after 4 attempts"), "{msg}");
    assert_eq!(seen.hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn client_errors_fail_at_once_and_accepted_statuses_pass() {
    let (app, seen) = scripted(vec![(404, None, 0)]);
    let base = serve(app).await;
    let client = HttpClient::new("test", &base, Auth::None, fast()).unwrap();
    let err = client.send(&Request::get("/api/items")).await.unwrap_err();
    assert!(!err.is_transient());
    assert!(err.to_string().contains("HTTP 404"));
    let ok = client
        .send(&Request::get("/api/items").accept(404))
        .await
        .unwrap();
    assert_eq!(ok.status, 404);
    assert_eq!(seen.hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_too_long_retry_after_fails_instead_of_sleeping() {
    let (app, _) = scripted(vec![(429, Some("3600"), 0)]);
    let base = serve(app).await;
    let client = HttpClient::new("test", &base, Auth::None, fast()).unwrap();
    let t = Instant::now();
    let err = client.send(&Request::get("/api/items")).await.unwrap_err();
    assert!(err.to_string().contains("3600s"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn malformed_json_is_a_clear_error() {
    let app = Router::new().route("/x", get(|| async { "{not json" }));
    let base = serve(app).await;
    let client = HttpClient::new("test", &base, Auth::None, fast()).unwrap();
    let err = client
        .send_json(&Request::get("/x").page("page 2"))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("GET /x (page 2): malformed JSON"), "{err}");
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = HttpClient::new("test", &format!("http://{addr}"), Auth::None, fast()).unwrap();
    let err = client.send(&Request::get("/x")).await.unwrap_err();
    assert!(err.is_transient());
    assert_eq!(client.stats().connection_errors, 4);
}

fn counting_server(delay_ms: u64) -> (Router, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let app = Router::new()
        .route(
            "/r",
            get(move |State(seen): State<Arc<Seen>>| async move {
                seen.starts.lock().unwrap().push(Instant::now());
                let now = seen.inflight.fetch_add(1, Ordering::SeqCst) + 1;
                seen.peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                seen.inflight.fetch_sub(1, Ordering::SeqCst);
                "{}"
            }),
        )
        .with_state(seen.clone());
    (app, seen)
}

#[tokio::test]
async fn concurrency_is_capped() {
    let (app, seen) = counting_server(30);
    let base = serve(app).await;
    let config = HttpConfig {
        max_concurrency: 3,
        ..fast()
    };
    let client = Arc::new(HttpClient::new("test", &base, Auth::None, config).unwrap());
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.send(&Request::get("/r")).await.map(|_| ()) })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(seen.peak.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn the_rate_limit_holds_in_every_one_second_window() {
    let (app, seen) = counting_server(0);
    let base = serve(app).await;
    let config = HttpConfig {
        max_concurrency: 16,
        max_requests_per_second: Some(10),
        ..fast()
    };
    let client = Arc::new(HttpClient::new("test", &base, Auth::None, config).unwrap());
    let t = Instant::now();
    let tasks: Vec<_> = (0..25)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.send(&Request::get("/r")).await.map(|_| ()) })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert!(
        t.elapsed() >= Duration::from_secs(2),
        "25 requests at 10/s take 2 s"
    );
    let starts = seen.starts.lock().unwrap().clone();
    for (i, a) in starts.iter().enumerate() {
        let in_window = starts[i..]
            .iter()
            .filter(|b| b.duration_since(*a) < Duration::from_millis(950))
            .count();
        assert!(in_window <= 10, "{in_window} requests within one second");
    }
}

#[tokio::test]
async fn auth_kinds_send_their_headers_and_never_leak() {
    let (app, seen) = scripted(vec![(401, None, 0)]);
    let base = serve(app).await;
    let cases = [
        (
            Auth::Bearer(Secret::new("tok-123456")),
            "Bearer tok-123456",
            "tok-123456",
        ),
        (
            Auth::Basic {
                user: "u".into(),
                password: Secret::new("pw-98765"),
            },
            "Basic dTpwdy05ODc2NQ==",
            "pw-98765",
        ),
        (
            Auth::Header {
                name: "DOLAPIKEY".into(),
                value: Secret::new("key-abcdef"),
            },
            "",
            "key-abcdef",
        ),
    ];
    for (auth, header, secret) in cases {
        let client = HttpClient::new("test", &base, auth, fast()).unwrap();
        let dbg = format!("{client:?}");
        assert!(!dbg.contains(secret), "Debug leaks {secret}");
        let err = client
            .send(&Request::get(format!("/api/items?key={secret}")))
            .await
            .unwrap_err()
            .to_string();
        assert!(!err.contains(secret), "{err}");
        if !header.is_empty() {
            assert_eq!(seen.auth.lock().unwrap().last().unwrap(), header);
        }
    }
}

#[tokio::test]
async fn oauth2_client_credentials_fetches_and_reuses_a_token() {
    let tokens = Arc::new(AtomicUsize::new(0));
    let t2 = tokens.clone();
    let app = Router::new()
        .route(
            "/token",
            post(move |body: String| {
                let t2 = t2.clone();
                async move {
                    assert!(body.contains("grant_type=client_credentials"));
                    assert!(body.contains("client_secret=cs-secret"));
                    t2.fetch_add(1, Ordering::SeqCst);
                    r#"{"access_token":"at-777","expires_in":3600}"#
                }
            }),
        )
        .route(
            "/data",
            get(|headers: HeaderMap| async move {
                if headers.get("authorization").and_then(|v| v.to_str().ok())
                    == Some("Bearer at-777")
                {
                    (StatusCode::OK, "[1]")
                } else {
                    (StatusCode::UNAUTHORIZED, "no")
                }
            }),
        );
    let base = serve(app).await;
    let auth = Auth::OAuth2ClientCredentials {
        token_url: format!("{base}/token"),
        client_id: "cid".into(),
        client_secret: Secret::new("cs-secret"),
        scope: None,
    };
    let client = HttpClient::new("test", &base, auth, fast()).unwrap();
    for _ in 0..3 {
        client.send(&Request::get("/data")).await.unwrap();
    }
    assert_eq!(tokens.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn gzip_answers_are_decompressed() {
    // A gzip stream of `{"ok":true}` (made with Python's gzip.compress, mtime 0).
    const GZ: &[u8] = &[
        31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 171, 86, 202, 207, 86, 178, 42, 41, 42, 77, 173, 5, 0,
        144, 95, 212, 167, 11, 0, 0, 0,
    ];
    let app = Router::new().route(
        "/gz",
        get(|headers: HeaderMap| async move {
            let accepts = headers
                .get("accept-encoding")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("gzip"));
            assert!(accepts, "client asks for gzip");
            ([("content-encoding", "gzip")], GZ.to_vec())
        }),
    );
    let base = serve(app).await;
    let client = HttpClient::new("test", &base, Auth::None, fast()).unwrap();
    let v = client.send_json(&Request::get("/gz")).await.unwrap();
    assert_eq!(v["ok"], serde_json::Value::Bool(true));
}

#[test]
fn retry_after_accepts_seconds_and_dates() {
    assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("soon"), None);
}

#[test]
fn backoff_grows_with_jitter_and_is_capped() {
    let client = HttpClient::new(
        "t",
        "http://127.0.0.1:1",
        Auth::None,
        HttpConfig {
            backoff_initial_ms: 100,
            backoff_max_ms: 1000,
            ..HttpConfig::default()
        },
    )
    .unwrap();
    for _ in 0..50 {
        let d0 = client.backoff(0).as_millis();
        assert!((50..=100).contains(&d0), "{d0}");
        let d3 = client.backoff(3).as_millis();
        assert!((400..=800).contains(&d3), "{d3}");
        assert!(client.backoff(30).as_millis() <= 1000);
    }
}

#[test]
fn secrets_from_env_or_file_name_only_the_source() {
    let err = secret_from(Some("FERRY_HTTP_TEST_UNSET_VAR"), None).unwrap_err();
    assert!(err.to_string().contains("FERRY_HTTP_TEST_UNSET_VAR"));
    let dir = std::env::temp_dir().join(format!("ferry-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("pw");
    std::fs::write(&f, "s3cret\n").unwrap();
    assert_eq!(
        secret_from(None, Some(&f)).unwrap().unwrap().expose(),
        "s3cret"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
