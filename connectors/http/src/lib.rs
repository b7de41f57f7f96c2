//! ferry's HTTP engine, shared by every API connector (Odoo, Tryton, declarative REST).
//!
//! One [`HttpClient`] per source holds:
//!
//! - the authentication ([`Auth`]): API key header, bearer token, basic, a session
//!   header set after a login ([`HttpClient::set_session`]), or OAuth2 client
//!   credentials (token fetched and cached on first use, refetched on a 401);
//! - a retry policy ([`HttpConfig`]): exponential backoff with jitter on 429, 5xx,
//!   408, timeouts and connection errors, honouring `Retry-After`, bounded by
//!   `max_retries`;
//! - a per-source request-rate limit (a sliding one-second window, so the server never
//!   counts more than the configured number of requests in any second) and a maximum
//!   number of requests in flight;
//! - request timeouts, gzip, and TLS verified by default (rustls, webpki roots).
//!
//! Every error is a [`ferry_core::Error::Remote`] naming the system, the endpoint
//! (method and path, never the query string, which may hold keys) and the page, with
//! every secret scrubbed from the message. [`HttpClient::stats`] counts requests,
//! retries, 429s, 5xx and timeouts for the run summary.
//!
//! [`paging`] holds the page loops: concurrent in-order fetching for offset or page
//! numbered APIs, sequential for cursors.

pub mod columns;
pub mod paging;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use ferry_core::redact::{Secret, scrub};
use ferry_core::{Error, Result};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock, Semaphore};

/// How a source authenticates.
#[derive(Debug, Clone, Default)]
pub enum Auth {
    /// No authentication (or one the connector handles itself).
    #[default]
    None,
    /// A header carrying a key, e.g. `DOLAPIKEY: <key>` or `Authorization: token k:s`.
    Header {
        /// Header name.
        name: String,
        /// Full header value.
        value: Secret,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `Authorization: Basic base64(user:password)`.
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: Secret,
    },
    /// OAuth2 client credentials: a token is fetched from `token_url` and sent as bearer.
    OAuth2ClientCredentials {
        /// Token endpoint (absolute URL).
        token_url: String,
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: Secret,
        /// Optional scope.
        scope: Option<String>,
    },
}

impl Auth {
    fn secrets(&self) -> Vec<Secret> {
        match self {
            Auth::None => vec![],
            Auth::Header { value, .. } => vec![value.clone()],
            Auth::Bearer(s) => vec![s.clone()],
            Auth::Basic { user, password } => vec![
                password.clone(),
                Secret::new(
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("{user}:{}", password.expose())),
                ),
            ],
            Auth::OAuth2ClientCredentials { client_secret, .. } => vec![client_secret.clone()],
        }
    }
}

/// Limits and retry policy of one source's HTTP traffic.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Seconds before one request is abandoned (and retried).
    pub timeout_secs: f64,
    /// Retries of one request after the first attempt.
    pub max_retries: u32,
    /// First backoff delay, in milliseconds; doubles on each retry, with jitter.
    pub backoff_initial_ms: u64,
    /// Largest backoff delay, in milliseconds.
    pub backoff_max_ms: u64,
    /// Largest `Retry-After` honoured, in seconds; a longer one fails the request.
    pub retry_after_max_secs: u64,
    /// Requests in flight at once.
    pub max_concurrency: usize,
    /// Requests started in any one-second window; `None` = unlimited.
    pub max_requests_per_second: Option<u32>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            timeout_secs: 60.0,
            max_retries: 5,
            backoff_initial_ms: 500,
            backoff_max_ms: 30_000,
            retry_after_max_secs: 300,
            max_concurrency: 8,
            max_requests_per_second: None,
        }
    }
}

/// Counters of one client's traffic, for the run summary.
#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    server_errors: AtomicU64,
    timeouts: AtomicU64,
    connection_errors: AtomicU64,
}

/// A snapshot of a client's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HttpStats {
    /// Attempts sent (retries included).
    pub requests: u64,
    /// Attempts that were retries.
    pub retries: u64,
    /// Answers 429 Too Many Requests.
    pub throttled: u64,
    /// Answers 5xx.
    pub server_errors: u64,
    /// Attempts that timed out.
    pub timeouts: u64,
    /// Attempts that failed to connect or lost the connection.
    pub connection_errors: u64,
}

/// One request, described before it is sent (so that it can be sent again).
#[derive(Debug, Clone)]
pub struct Request {
    /// HTTP method.
    pub method: reqwest::Method,
    /// Path relative to the base URL (`/api/x`), or an absolute URL (a "next" link).
    pub path: String,
    /// Query parameters.
    pub query: Vec<(String, String)>,
    /// JSON body.
    pub body: Option<serde_json::Value>,
    /// Any other body, with its content type (e.g. XML-RPC).
    pub raw_body: Option<(String, Vec<u8>)>,
    /// Extra headers (not secret).
    pub headers: Vec<(String, String)>,
    /// The page, for error messages (`page 3`, `offset 500`, `ids 1-500`).
    pub page: Option<String>,
    /// Status codes besides 2xx handed back to the caller instead of failing.
    pub accept_status: Vec<u16>,
}

impl Request {
    /// A GET of `path`.
    pub fn get(path: impl Into<String>) -> Self {
        Request {
            method: reqwest::Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
            raw_body: None,
            headers: Vec::new(),
            page: None,
            accept_status: Vec::new(),
        }
    }

    /// A POST of a JSON body to `path`.
    pub fn post_json(path: impl Into<String>, body: serde_json::Value) -> Self {
        Request {
            method: reqwest::Method::POST,
            body: Some(body),
            ..Request::get(path)
        }
    }

    /// A POST of `body` of type `content_type` to `path`.
    pub fn post_raw(
        path: impl Into<String>,
        content_type: impl Into<String>,
        body: impl Into<Vec<u8>>,
    ) -> Self {
        Request {
            method: reqwest::Method::POST,
            raw_body: Some((content_type.into(), body.into())),
            ..Request::get(path)
        }
    }

    /// Adds a query parameter.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Names the page for error messages.
    pub fn page(mut self, page: impl Into<String>) -> Self {
        self.page = Some(page.into());
        self
    }

    /// Accepts a non-2xx status as an answer (e.g. Dolibarr's 404 past the last page).
    pub fn accept(mut self, status: u16) -> Self {
        self.accept_status.push(status);
        self
    }
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body (decompressed).
    pub body: Vec<u8>,
}

impl Response {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sliding one-second window limiter: never more than `limit` starts in any second.
#[derive(Debug)]
struct RateLimiter {
    limit: usize,
    starts: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    async fn acquire(&self) {
        // A little over a second: requests reach the server with varying delays, and
        // the limit must hold by the server's clock, not only by ours.
        let window = Duration::from_millis(1050);
        let mut starts = self.starts.lock().await;
        loop {
            let now = Instant::now();
            while starts
                .front()
                .is_some_and(|t| now.duration_since(*t) >= window)
            {
                starts.pop_front();
            }
            if starts.len() < self.limit {
                starts.push_back(now);
                return;
            }
            // The lock is held while waiting so that starts stay in order.
            if let Some(oldest) = starts.front().copied() {
                tokio::time::sleep_until((oldest + window).into()).await;
            }
        }
    }
}

#[derive(Debug, Clone)]
struct OAuthToken {
    token: Secret,
    expires: Option<Instant>,
}

/// The HTTP client of one source. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct HttpClient {
    inner: reqwest::Client,
    system: String,
    base: url::Url,
    auth: Auth,
    config: HttpConfig,
    inflight: Semaphore,
    limiter: Option<RateLimiter>,
    counters: Counters,
    session: RwLock<Option<(String, Secret)>>,
    oauth: RwLock<Option<OAuthToken>>,
    extra_secrets: std::sync::Mutex<Vec<Secret>>,
}

/// What one attempt gave.
enum Attempt {
    Done(Response),
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    Fail(Error),
}

impl HttpClient {
    /// A client for `system` (e.g. `odoo erp.example.com`) rooted at `base`.
    ///
    /// # Errors
    /// The base URL is not http(s), or the TLS stack cannot start.
    pub fn new(
        system: impl Into<String>,
        base: &str,
        auth: Auth,
        config: HttpConfig,
    ) -> Result<Self> {
        let system = system.into();
        let base = url::Url::parse(base).map_err(|e| {
            Error::config(
                "url",
                format!(
                    "invalid URL {:?}: {e}",
                    ferry_core::redact::redact_spec(base)
                ),
            )
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(Error::config(
                "url",
                "only http and https URLs are supported",
            ));
        }
        let timeout = Duration::from_secs_f64(config.timeout_secs.max(0.001));
        let inner = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(30)))
            .gzip(true)
            .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::external("starting the HTTP client", e))?;
        let limiter = config.max_requests_per_second.map(|n| RateLimiter {
            limit: n.max(1) as usize,
            starts: Mutex::new(VecDeque::new()),
        });
        Ok(HttpClient {
            inner,
            system,
            base,
            auth,
            inflight: Semaphore::new(config.max_concurrency.max(1)),
            config,
            limiter,
            counters: Counters::default(),
            session: RwLock::new(None),
            oauth: RwLock::new(None),
            extra_secrets: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The system named in errors.
    pub fn system(&self) -> &str {
        &self.system
    }

    /// The configuration.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// The base URL.
    pub fn base(&self) -> &url::Url {
        &self.base
    }

    /// Sets the header sent with every later request after a session login
    /// (e.g. `Authorization: Session …`, `Cookie: session_id=…`).
    pub async fn set_session(&self, header: impl Into<String>, value: Secret) {
        self.add_secret(value.clone());
        *self.session.write().await = Some((header.into(), value));
    }

    /// Registers one more value to scrub from errors (a password used in a body).
    pub fn add_secret(&self, secret: Secret) {
        if let Ok(mut s) = self.extra_secrets.lock() {
            s.push(secret);
        }
    }

    /// Removes every known secret from `text`.
    pub fn scrub(&self, text: &str) -> String {
        let mut secrets = self.auth.secrets();
        if let Ok(s) = self.extra_secrets.lock() {
            secrets.extend(s.iter().cloned());
        }
        let refs: Vec<&Secret> = secrets.iter().collect();
        scrub(text, &refs)
    }

    /// The counters so far.
    pub fn stats(&self) -> HttpStats {
        let c = &self.counters;
        HttpStats {
            requests: c.requests.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            throttled: c.throttled.load(Ordering::Relaxed),
            server_errors: c.server_errors.load(Ordering::Relaxed),
            timeouts: c.timeouts.load(Ordering::Relaxed),
            connection_errors: c.connection_errors.load(Ordering::Relaxed),
        }
    }

    /// The endpoint as shown in errors: method and path, without the query string.
    pub fn endpoint(&self, req: &Request) -> String {
        // The path as requested, i.e. joined to the base URL: `jsonrpc` under
        // `http://host/` is shown as `/jsonrpc`.
        let rel = req.path.split(['?', '#']).next().unwrap_or("");
        let path = match url::Url::parse(rel) {
            Ok(u) => u.path().to_owned(),
            Err(_) => format!(
                "{}/{}",
                self.base.path().trim_end_matches('/'),
                rel.trim_start_matches('/')
            ),
        };
        match &req.page {
            Some(p) => format!("{} {path} ({p})", req.method),
            None => format!("{} {path}", req.method),
        }
    }

    /// A remote error about `req`, scrubbed.
    pub fn error(&self, req: &Request, message: impl AsRef<str>, transient: bool) -> Error {
        Error::Remote {
            system: self.system.clone(),
            endpoint: self.scrub(&self.endpoint(req)),
            message: self.scrub(message.as_ref()),
            transient,
        }
    }

    fn url_for(&self, req: &Request) -> Result<url::Url> {
        let joined = if req.path.starts_with("http://") || req.path.starts_with("https://") {
            url::Url::parse(&req.path)
        } else {
            let mut base = self.base.clone();
            let base_path = base.path().trim_end_matches('/').to_owned();
            let (rel, query) = match req.path.split_once('?') {
                Some((p, q)) => (p, Some(q)),
                None => (req.path.as_str(), None),
            };
            base.set_path(&format!("{base_path}/{}", rel.trim_start_matches('/')));
            base.set_query(query);
            Ok(base)
        };
        let mut url = joined.map_err(|e| self.error(req, format!("invalid URL: {e}"), false))?;
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(req.query.iter());
        }
        Ok(url)
    }

    /// Sends `req`, retrying transient failures; returns 2xx answers and those in
    /// `accept_status`.
    ///
    /// # Errors
    /// A non-retryable status, or the retry budget is exhausted; the error names the
    /// system, endpoint and page and says how many attempts were made.
    pub async fn send(&self, req: &Request) -> Result<Response> {
        let max = self.config.max_retries;
        let mut refreshed_token = false;
        let mut attempt: u32 = 0;
        loop {
            let result = self.attempt(req).await;
            let (reason, retry_after) = match result {
                Attempt::Done(resp) => return Ok(resp),
                Attempt::Fail(e) => {
                    if !refreshed_token
                        && matches!(self.auth, Auth::OAuth2ClientCredentials { .. })
                        && e.to_string().contains("HTTP 401")
                    {
                        refreshed_token = true;
                        *self.oauth.write().await = None;
                        continue;
                    }
                    return Err(e);
                }
                Attempt::Retry {
                    reason,
                    retry_after,
                } => (reason, retry_after),
            };
            if attempt >= max {
                return Err(self.error(
                    req,
                    format!(
                        "{reason}; gave up after {} attempts (retry budget {max})",
                        attempt + 1
                    ),
                    true,
                ));
            }
            let delay = match retry_after {
                Some(d) if d > Duration::from_secs(self.config.retry_after_max_secs) => {
                    return Err(self.error(
                        req,
                        format!(
                            "{reason}; the server asks to wait {}s, more than retry_after_max_secs = {}",
                            d.as_secs(),
                            self.config.retry_after_max_secs
                        ),
                        true,
                    ));
                }
                Some(d) => d,
                None => self.backoff(attempt),
            };
            attempt += 1;
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                system = self.system,
                endpoint = self.scrub(&self.endpoint(req)),
                attempt,
                delay_ms = delay.as_millis() as u64,
                reason = self.scrub(&reason),
                "Retrying request."
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// Sends `req` and parses the JSON answer.
    ///
    /// # Errors
    /// As [`HttpClient::send`], or the body is not JSON.
    pub async fn send_json(&self, req: &Request) -> Result<serde_json::Value> {
        let resp = self.send(req).await?;
        self.parse_json(req, &resp.body)
    }

    /// Parses a JSON body, naming the request on failure.
    ///
    /// # Errors
    /// The body is not JSON.
    pub fn parse_json(&self, req: &Request, body: &[u8]) -> Result<serde_json::Value> {
        serde_json::from_slice(body).map_err(|e| {
            self.error(
                req,
                format!(
                    "malformed JSON in the answer: {e}; body starts {:?}",
                    snippet(body)
                ),
                false,
            )
        })
    }

    /// Exponential backoff with full jitter: a random delay in [d/2, d], d = initial·2^n.
    fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .config
            .backoff_initial_ms
            .saturating_mul(1u64 << attempt.min(20))
            .min(self.config.backoff_max_ms);
        let half = base / 2;
        Duration::from_millis(half + fastrand::u64(0..=base - half))
    }

    async fn auth_headers(&self, req: &Request) -> Result<Vec<(String, Secret)>> {
        let mut out = Vec::new();
        match &self.auth {
            Auth::None => {}
            Auth::Header { name, value } => out.push((name.clone(), value.clone())),
            Auth::Bearer(t) => out.push((
                "Authorization".into(),
                Secret::new(format!("Bearer {}", t.expose())),
            )),
            Auth::Basic { user, password } => {
                let enc = base64::engine::general_purpose::STANDARD
                    .encode(format!("{user}:{}", password.expose()));
                out.push(("Authorization".into(), Secret::new(format!("Basic {enc}"))));
            }
            Auth::OAuth2ClientCredentials { .. } => {
                let token = self.oauth_token(req).await?;
                out.push((
                    "Authorization".into(),
                    Secret::new(format!("Bearer {}", token.expose())),
                ));
            }
        }
        if let Some((h, v)) = self.session.read().await.clone() {
            out.push((h, v));
        }
        Ok(out)
    }

    async fn oauth_token(&self, req: &Request) -> Result<Secret> {
        if let Some(t) = self.oauth.read().await.clone()
            && t.expires.is_none_or(|e| e > Instant::now())
        {
            return Ok(t.token);
        }
        let Auth::OAuth2ClientCredentials {
            token_url,
            client_id,
            client_secret,
            scope,
        } = &self.auth
        else {
            return Err(self.error(req, "no OAuth2 configuration", false));
        };
        let form = {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials")
                .append_pair("client_id", client_id)
                .append_pair("client_secret", client_secret.expose());
            if let Some(s) = scope {
                form.append_pair("scope", s);
            }
            form.finish()
        };
        let token_req = Request {
            method: reqwest::Method::POST,
            ..Request::get(token_url.clone()).page("OAuth2 token")
        };
        let resp = self
            .inner
            .post(token_url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|e| self.error(&token_req, describe_reqwest(&e), true))?;
        let status = resp.status().as_u16();
        let body = resp
            .bytes()
            .await
            .map_err(|e| self.error(&token_req, describe_reqwest(&e), true))?;
        if !(200..300).contains(&status) {
            return Err(self.error(
                &token_req,
                format!("HTTP {status}: {:?}", snippet(&body)),
                false,
            ));
        }
        let json = self.parse_json(&token_req, &body)?;
        let token = json
            .get("access_token")
            .and_then(|v| v.as_str())
            .ok_or_else(|| self.error(&token_req, "no access_token in the answer", false))?;
        let token = Secret::new(token);
        self.add_secret(token.clone());
        let expires = json
            .get("expires_in")
            .and_then(|v| v.as_u64())
            .map(|s| Instant::now() + Duration::from_secs(s.saturating_sub(30)));
        *self.oauth.write().await = Some(OAuthToken {
            token: token.clone(),
            expires,
        });
        Ok(token)
    }

    async fn attempt(&self, req: &Request) -> Attempt {
        let url = match self.url_for(req) {
            Ok(u) => u,
            Err(e) => return Attempt::Fail(e),
        };
        let auth = match self.auth_headers(req).await {
            Ok(a) => a,
            Err(e) => return Attempt::Fail(e),
        };
        let _permit = match self.inflight.acquire().await {
            Ok(p) => p,
            Err(_) => return Attempt::Fail(self.error(req, "client closed", false)),
        };
        if let Some(l) = &self.limiter {
            l.acquire().await;
        }
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let mut rb = self.inner.request(req.method.clone(), url);
        for (k, v) in &req.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        for (k, v) in &auth {
            let (Ok(name), Ok(mut value)) = (
                HeaderName::try_from(k.as_str()),
                HeaderValue::try_from(v.expose()),
            ) else {
                return Attempt::Fail(self.error(req, format!("invalid header {k}"), false));
            };
            value.set_sensitive(true);
            rb = rb.header(name, value);
        }
        if let Some(body) = &req.body {
            rb = rb.json(body);
        } else if let Some((content_type, body)) = &req.raw_body {
            rb = rb.header(reqwest::header::CONTENT_TYPE, content_type.as_str());
            rb = rb.body(body.clone());
        }
        let resp = match rb.send().await {
            Ok(r) => r,
            Err(e) => return self.transport_failure(e),
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = match resp.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) => return self.transport_failure(e),
        };
        if (200..300).contains(&status) || req.accept_status.contains(&status) {
            return Attempt::Done(Response {
                status,
                headers,
                body,
            });
        }
        let retry_after = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        match status {
            429 => {
                self.counters.throttled.fetch_add(1, Ordering::Relaxed);
                Attempt::Retry {
                    reason: "HTTP 429 Too Many Requests".into(),
                    retry_after,
                }
            }
            408 | 500 | 502 | 503 | 504 => {
                self.counters.server_errors.fetch_add(1, Ordering::Relaxed);
                Attempt::Retry {
                    reason: format!("HTTP {status}: {:?}", snippet(&body)),
                    retry_after,
                }
            }
            _ => Attempt::Fail(self.error(
                req,
                format!("HTTP {status}: {:?}", snippet(&body)),
                false,
            )),
        }
    }

    fn transport_failure(&self, e: reqwest::Error) -> Attempt {
        if e.is_timeout() {
            self.counters.timeouts.fetch_add(1, Ordering::Relaxed);
            Attempt::Retry {
                reason: format!("no answer within the {}s timeout", self.config.timeout_secs),
                retry_after: None,
            }
        } else {
            self.counters
                .connection_errors
                .fetch_add(1, Ordering::Relaxed);
            Attempt::Retry {
                reason: describe_reqwest(&e),
                retry_after: None,
            }
        }
    }
}

/// A reqwest error without its URL (which may carry keys in the query), with causes.
fn describe_reqwest(e: &reqwest::Error) -> String {
    let mut msg = String::from(if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "the answer was cut off"
    } else {
        "request failed"
    });
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        msg.push_str(": ");
        msg.push_str(&c.to_string());
        cur = c.source();
    }
    msg
}

/// `Retry-After` as seconds or an HTTP date.
fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(s) = v.parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    if let Ok(s) = v.parse::<f64>()
        && s.is_finite()
        && s >= 0.0
    {
        return Some(Duration::from_secs_f64(s));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let secs = (when.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds();
    Some(Duration::from_millis(secs.max(0) as u64))
}

/// The first 200 characters of a body, for error messages.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut s: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        s.push('…');
    }
    s
}

/// Reads a secret from the environment variable `var` or the file `file` (first line).
///
/// # Errors
/// The variable is unset or the file cannot be read; the message names the variable
/// or file, never the value.
pub fn secret_from(var: Option<&str>, file: Option<&std::path::Path>) -> Result<Option<Secret>> {
    if let Some(var) = var {
        return match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Some(Secret::new(v))),
            _ => Err(Error::config(
                var,
                format!("environment variable {var} is not set"),
            )),
        };
    }
    if let Some(file) = file {
        let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
        let line = text.lines().next().unwrap_or("").trim_end();
        return Ok(Some(Secret::new(line)));
    }
    Ok(None)
}

/// Logs a client's counters at the end of a stream (warn when anything was retried).
pub fn log_stats(system: &str, stream: &str, stats: HttpStats) {
    if stats.retries > 0 || stats.throttled > 0 || stats.timeouts > 0 {
        tracing::warn!(
            system,
            stream,
            requests = stats.requests,
            retries = stats.retries,
            throttled = stats.throttled,
            server_errors = stats.server_errors,
            timeouts = stats.timeouts,
            connection_errors = stats.connection_errors,
            "Stream read with retries."
        );
    } else {
        tracing::info!(system, stream, requests = stats.requests, "Stream read.");
    }
}

/// Shared handle.
pub type SharedClient = Arc<HttpClient>;

#[cfg(test)]
mod tests;
