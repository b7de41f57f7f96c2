//! The REST source: schema inference, flattening, pagination.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::redact::{Secret, redact_spec};
use ferry_core::{
    Catalog, Checkpoint, Error, EventStream, ReadOptions, Result, Source, SourceEvent, StreamSpec,
};
use ferry_http::columns::{ColumnPlan, Kind, build_batch, schema_of};
use ferry_http::paging::{MAX_PAGES, Page, numbered};
use ferry_http::{Auth, HttpClient, HttpConfig, Request};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::describe::{AuthSpec, Description, Pagination, StreamDef, builtin, parse};

/// Configuration of a REST source (`[source]` with `kind = "rest"`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RestConfig {
    /// A shipped description: `dolibarr` or `erpnext`.
    pub system: Option<String>,
    /// A description file of one's own.
    pub description_file: Option<PathBuf>,
    /// Base URL; a key may be in the user info (`https://KEY@host/...`).
    pub url: String,
    /// Environment variable holding the API key.
    pub api_key_env: Option<String>,
    /// File whose first line is the API key.
    pub api_key_file: Option<PathBuf>,
    /// Rows per page, overriding the description.
    pub page_size: Option<u64>,
    /// Retries, timeouts, rate limit and concurrency.
    pub http: HttpConfig,
}

/// A REST API described by a [`Description`].
pub struct RestSource {
    desc: Description,
    client: Arc<HttpClient>,
    display: String,
    page_size: Option<u64>,
}

impl std::fmt::Debug for RestSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestSource")
            .field("url", &self.display)
            .finish_non_exhaustive()
    }
}

impl RestSource {
    /// Loads the description and prepares the client.
    ///
    /// # Errors
    /// Unknown system, unreadable description, bad URL, plain http off loopback.
    pub fn new(config: RestConfig) -> Result<Self> {
        let desc = match (&config.system, &config.description_file) {
            (_, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
                parse(&text, &path.display().to_string())?
            }
            (Some(name), None) => parse(
                builtin(name).ok_or_else(|| {
                    Error::config(
                        "rest system",
                        format!("unknown system {name:?}; shipped: dolibarr, erpnext"),
                    )
                })?,
                name,
            )?,
            (None, None) => {
                return Err(Error::config("rest", "set `system` or `description_file`"));
            }
        };
        let display = redact_spec(&config.url);
        let mut url = url::Url::parse(&config.url)
            .map_err(|e| Error::config("rest url", format!("{display}: {e}")))?;
        let host = url.host_str().unwrap_or("").to_owned();
        let loopback = host == "localhost"
            || host
                .trim_matches(['[', ']'])
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if url.scheme() == "http" && !loopback {
            return Err(Error::config(
                "rest url",
                format!("{display}: plain http is only for loopback"),
            ));
        }
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let user = decode(url.username());
        let in_url = match url.password() {
            Some(p) => Some(Secret::new(format!("{user}:{}", decode(p)))),
            None if !user.is_empty() => Some(Secret::new(user.clone())),
            None => None,
        };
        let key = ferry_http::secret_from(
            config.api_key_env.as_deref(),
            config.api_key_file.as_deref(),
        )?
        .or(in_url);
        let _ = url.set_username("");
        let _ = url.set_password(None);
        let auth = match (&desc.auth, key) {
            (AuthSpec::None, _) => Auth::None,
            (_, None) => {
                return Err(Error::config(
                    "rest",
                    format!("{display}: no API key (user info, api_key_env or api_key_file)"),
                ));
            }
            (AuthSpec::Header { header, prefix }, Some(k)) => Auth::Header {
                name: header.clone(),
                value: Secret::new(format!("{prefix}{}", k.expose())),
            },
            (AuthSpec::Bearer, Some(k)) => Auth::Bearer(k),
            (AuthSpec::Basic, Some(k)) => {
                let (u, p) = k.expose().split_once(':').unwrap_or(("", k.expose()));
                Auth::Basic {
                    user: u.to_owned(),
                    password: Secret::new(p),
                }
            }
        };
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let client = HttpClient::new(
            format!("{} {host}{port}", desc.system),
            url.as_str(),
            auth,
            config.http.clone(),
        )?;
        Ok(RestSource {
            display: format!("{} {}", desc.system, redact_spec(url.as_str())),
            desc,
            client: Arc::new(client),
            page_size: config.page_size,
        })
    }

    /// The HTTP client (for its counters).
    pub fn client(&self) -> &HttpClient {
        &self.client
    }

    fn stream_def(&self, name: &str) -> Option<(&StreamDef, Option<String>)> {
        self.desc.streams.iter().find_map(|s| {
            if s.name == name {
                return Some((s, None));
            }
            s.children
                .iter()
                .find(|c| format!("{}.{c}", s.name) == name)
                .map(|c| (s, Some(c.clone())))
        })
    }
}

/// Shared read-only parts of one stream read.
struct Reader {
    client: Arc<HttpClient>,
    pagination: Pagination,
    size: u64,
    path: String,
    params: Vec<(String, String)>,
    records: String,
}

impl Reader {
    fn request(&self, path: &str) -> Request {
        let mut r = Request::get(path);
        for (k, v) in &self.params {
            r = r.query(k, v);
        }
        r
    }

    fn select(&self, req: &Request, body: Value) -> Result<Vec<Value>> {
        let v = if self.records.is_empty() {
            body
        } else {
            body.pointer(&self.records).cloned().unwrap_or(Value::Null)
        };
        match v {
            Value::Array(a) => Ok(a),
            Value::Null => Ok(Vec::new()),
            other => Err(self.client.error(
                req,
                format!(
                    "records at {:?} are not a list: {}",
                    self.records,
                    ferry_http::snippet(other.to_string().as_bytes())
                ),
                false,
            )),
        }
    }

    /// Fetches numbered page `n` (offset or page pagination).
    async fn numbered_page(&self, n: u64) -> Result<Page<Vec<Value>>> {
        let (req, end) = match &self.pagination {
            Pagination::Offset {
                offset_param,
                size_param,
                end_status,
                ..
            } => (
                self.request(&self.path)
                    .query(offset_param, (n * self.size).to_string())
                    .query(size_param, self.size.to_string())
                    .page(format!("offset {}", n * self.size)),
                end_status.clone(),
            ),
            Pagination::Page {
                page_param,
                size_param,
                first,
                end_status,
                ..
            } => (
                self.request(&self.path)
                    .query(page_param, (first + n).to_string())
                    .query(size_param, self.size.to_string())
                    .page(format!("page {}", first + n)),
                end_status.clone(),
            ),
            _ => (self.request(&self.path).page("page 1"), Vec::new()),
        };
        let mut req = req;
        for s in &end {
            req = req.accept(*s);
        }
        let resp = self.client.send(&req).await?;
        if end.contains(&resp.status) {
            return Ok(Page {
                items: Vec::new(),
                last: true,
            });
        }
        let body = self.client.parse_json(&req, &resp.body)?;
        let items = self.select(&req, body)?;
        let last = (items.len() as u64) < self.size
            || matches!(
                self.pagination,
                Pagination::None
                    | Pagination::Cursor { .. }
                    | Pagination::NextUrl { .. }
                    | Pagination::LinkHeader
            );
        Ok(Page { items, last })
    }
}

/// Flattens nested objects into `a.b` keys; arrays named in `children` are left out,
/// other arrays become JSON text.
fn flatten(record: &Value, children: &[String], prefix: &str, out: &mut Map<String, Value>) {
    if let Value::Object(m) = record {
        for (k, v) in m {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                Value::Object(inner) if !inner.is_empty() => flatten(v, children, &key, out),
                Value::Object(_) => {
                    out.insert(key, Value::Null);
                }
                Value::Array(_) if prefix.is_empty() && children.contains(k) => {}
                Value::Array(_) => {
                    out.insert(key, Value::String(v.to_string()));
                }
                other => {
                    out.insert(key, other.clone());
                }
            }
        }
    }
}

/// The rows of a stream (or of its child stream `child`) from one page of records.
fn rows_of(
    records: &[Value],
    children: &[String],
    child: Option<&str>,
    pk: &[String],
) -> Vec<Value> {
    let mut out = Vec::new();
    for r in records {
        match child {
            None => {
                let mut m = Map::new();
                flatten(r, children, "", &mut m);
                out.push(Value::Object(m));
            }
            Some(c) => {
                for item in r.get(c).and_then(Value::as_array).into_iter().flatten() {
                    let mut m = Map::new();
                    flatten(item, &[], "", &mut m);
                    for k in pk {
                        m.insert(
                            format!("_parent_{k}"),
                            r.get(k).cloned().unwrap_or(Value::Null),
                        );
                    }
                    out.push(Value::Object(m));
                }
            }
        }
    }
    out
}

fn hint_kind(hint: &str) -> Option<Kind> {
    let h = hint.trim();
    Some(match h {
        "int" => Kind::Int64,
        "bool" => Kind::Bool,
        "text" => Kind::Utf8,
        "date" => Kind::Date32,
        "timestamp" | "unix_time" => Kind::Timestamp,
        "float" => Kind::Float64,
        _ => {
            let s = h
                .strip_prefix("decimal(")?
                .strip_suffix(')')?
                .parse::<u8>()
                .ok()?;
            Kind::Decimal(s.min(38))
        }
    })
}

/// Infers one column's kind from its values.
fn infer(values: &[&Value]) -> Kind {
    let mut kind: Option<Kind> = None;
    for v in values {
        let k = match v {
            Value::Null => continue,
            Value::Bool(_) => Kind::Bool,
            Value::Number(n) => {
                let t = n.to_string();
                if t.contains(['e', 'E']) {
                    Kind::Float64
                } else if let Some((_, frac)) = t.split_once('.') {
                    Kind::Decimal(frac.len().min(18) as u8)
                } else {
                    Kind::Int64
                }
            }
            _ => Kind::Utf8,
        };
        kind = Some(match (kind, k) {
            (None, k) => k,
            (Some(a), b) if a == b => a,
            (Some(Kind::Decimal(a)), Kind::Decimal(b)) => Kind::Decimal(a.max(b)),
            (Some(Kind::Decimal(a)), Kind::Int64) | (Some(Kind::Int64), Kind::Decimal(a)) => {
                Kind::Decimal(a)
            }
            _ => Kind::Utf8,
        });
    }
    kind.unwrap_or(Kind::Utf8)
}

fn plan_for(rows: &[Value], types: &BTreeMap<String, String>, pk: &[String]) -> Vec<ColumnPlan> {
    let mut names: Vec<String> = Vec::new();
    for r in rows {
        for k in r.as_object().into_iter().flat_map(|m| m.keys()) {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    for k in pk {
        if !names.contains(k) {
            names.insert(0, k.clone());
        }
    }
    names
        .into_iter()
        .map(|n| {
            let kind = types.get(&n).and_then(|h| hint_kind(h)).unwrap_or_else(|| {
                let vals: Vec<&Value> = rows.iter().filter_map(|r| r.get(&n)).collect();
                infer(&vals)
            });
            ColumnPlan::new(n.clone(), n, kind)
        })
        .collect()
}

/// Unix times sent as text (`"1732848000"`) become numbers for timestamp columns.
fn fix_unix_text(rows: &mut [Value], plan: &[ColumnPlan]) {
    for r in rows {
        let Some(m) = r.as_object_mut() else { continue };
        for c in plan.iter().filter(|c| c.kind == Kind::Timestamp) {
            if let Some(Value::String(s)) = m.get(&c.key)
                && !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_digit())
                && let Ok(n) = serde_json::from_str::<Value>(s)
            {
                m.insert(c.key.clone(), n);
            }
        }
    }
}

fn max_mark(a: Option<String>, b: &Value) -> Option<String> {
    let t = match b {
        Value::String(s) if !s.is_empty() => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return a,
    };
    match a {
        Some(x) => {
            let bigger = match (x.parse::<i64>(), t.parse::<i64>()) {
                (Ok(p), Ok(q)) => q > p,
                _ => t > x,
            };
            Some(if bigger { t } else { x })
        }
        None => Some(t),
    }
}

#[async_trait]
impl Source for RestSource {
    fn stats(&self) -> Option<Value> {
        serde_json::to_value(self.client.stats()).ok()
    }

    fn describe(&self) -> String {
        self.display.clone()
    }

    async fn discover(&self) -> Result<Catalog> {
        let mut catalog = Catalog::default();
        for def in &self.desc.streams {
            let reader = self.reader(def, None);
            let first = reader.numbered_page(0).await?;
            let pk = def
                .primary_key
                .clone()
                .unwrap_or_else(|| self.desc.primary_key.clone());
            let rows = rows_of(&first.items, &def.children, None, &pk);
            let plan = plan_for(&rows, &self.desc.types, &pk);
            let mut spec = StreamSpec::new(def.name.clone(), schema_of(&plan));
            spec.primary_key = pk.clone();
            if let Some(inc) = &self.desc.incremental
                && plan.iter().any(|c| c.name == inc.field)
            {
                spec.cursor_field = Some(inc.field.clone());
            }
            catalog.streams.push(spec);
            for c in &def.children {
                let rows = rows_of(&first.items, &def.children, Some(c), &pk);
                let parent_pk: Vec<String> = pk.iter().map(|k| format!("_parent_{k}")).collect();
                let plan = plan_for(&rows, &self.desc.types, &parent_pk);
                catalog.streams.push(StreamSpec::new(
                    format!("{}.{c}", def.name),
                    schema_of(&plan),
                ));
            }
        }
        catalog
            .metadata
            .insert("system".into(), json!(self.desc.system));
        Ok(catalog)
    }

    async fn read(&self, stream: &StreamSpec, options: ReadOptions) -> Result<EventStream> {
        let (def, child) = self
            .stream_def(&stream.name)
            .ok_or_else(|| Error::StreamNotFound {
                pattern: stream.name.clone(),
                available: String::new(),
            })?;
        let since = options
            .since
            .as_ref()
            .and_then(|c| c.0.get("mark").and_then(Value::as_str).map(str::to_owned));
        let mut reader = self.reader(def, since.as_deref());
        let start = options
            .resume
            .as_ref()
            .and_then(|c| c.0.get("next_page").and_then(Value::as_u64))
            .unwrap_or(0);
        let schema = stream.schema.clone();
        let plan: Vec<ColumnPlan> = schema
            .fields()
            .iter()
            .map(|f| ColumnPlan::new(f.name().clone(), f.name().clone(), Kind::of(f.data_type())))
            .collect();
        let children = def.children.clone();
        let pk = def
            .primary_key
            .clone()
            .unwrap_or_else(|| self.desc.primary_key.clone());
        let mark_field = self
            .desc
            .incremental
            .as_ref()
            .map(|i| i.field.clone())
            .filter(|_| child.is_none());
        let name = stream.name.clone();
        let conc = self.client.config().max_concurrency.max(1);
        let sequential = !matches!(
            reader.pagination,
            Pagination::Offset { .. } | Pagination::Page { .. }
        );
        if sequential {
            reader.size = u64::MAX;
        }
        let reader = Arc::new(reader);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<SourceEvent>>(conc + 2);
        tokio::spawn(async move {
            let mut mark: Option<String> = since.clone();
            let mut n = start;
            let result: Result<()> = async {
                let mut pages: futures::stream::BoxStream<'static, Result<Page<Vec<Value>>>> =
                    if sequential {
                        sequential_pages(reader.clone())
                    } else {
                        let r = reader.clone();
                        numbered(start, conc, MAX_PAGES, move |i| {
                            let r = r.clone();
                            async move { r.numbered_page(i).await }
                        })
                    };
                while let Some(page) = pages.next().await {
                    let page = page?;
                    n += 1;
                    if let Some(f) = &mark_field {
                        for r in &page.items {
                            mark = max_mark(mark, r.get(f).unwrap_or(&Value::Null));
                        }
                    }
                    let mut rows = rows_of(&page.items, &children, child.as_deref(), &pk);
                    fix_unix_text(&mut rows, &plan);
                    if !rows.is_empty() {
                        let origin = format!("{} {name} page {n}", reader.client.system());
                        let batch = build_batch(&schema, &plan, &rows, &origin)?;
                        if tx.send(Ok(SourceEvent::Batch(batch))).await.is_err() {
                            return Ok(());
                        }
                    }
                    if !sequential && n.is_multiple_of(10) {
                        let cp = json!({"next_page": n, "mark": mark});
                        if tx
                            .send(Ok(SourceEvent::Checkpoint(Checkpoint(cp))))
                            .await
                            .is_err()
                        {
                            return Ok(());
                        }
                    }
                }
                let _ = tx
                    .send(Ok(SourceEvent::Checkpoint(Checkpoint(
                        json!({"mark": mark}),
                    ))))
                    .await;
                Ok(())
            }
            .await;
            ferry_http::log_stats(reader.client.system(), &name, reader.client.stats());
            if let Err(e) = result {
                let _ = tx.send(Err(e)).await;
            }
        });
        Ok(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed())
    }
}

impl RestSource {
    fn reader(&self, def: &StreamDef, since: Option<&str>) -> Reader {
        let mut params: Vec<(String, String)> = self
            .desc
            .params
            .iter()
            .chain(def.params.iter())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let (Some(inc), Some(since)) = (&self.desc.incremental, since) {
            let since = unix_to_text(since);
            params.push((inc.param.clone(), inc.template.replace("{since}", &since)));
        }
        let size = match &self.desc.pagination {
            Pagination::Offset { size, .. } | Pagination::Page { size, .. } => {
                self.page_size.unwrap_or(*size).max(1)
            }
            _ => u64::MAX,
        };
        Reader {
            client: self.client.clone(),
            pagination: self.desc.pagination.clone(),
            size,
            path: def.path.clone(),
            params,
            records: def
                .records
                .clone()
                .unwrap_or_else(|| self.desc.records.clone()),
        }
    }
}

/// A Unix-time mark as `YYYY-MM-DD HH:MM:SS` UTC (what SQL-like filters expect).
fn unix_to_text(mark: &str) -> String {
    match mark.parse::<i64>() {
        Ok(secs) => match chrono::DateTime::from_timestamp(secs, 0) {
            Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => mark.to_owned(),
        },
        Err(_) => mark.to_owned(),
    }
}

/// Cursor, next-URL and Link-header paging, one page after another.
fn sequential_pages(
    reader: Arc<Reader>,
) -> futures::stream::BoxStream<'static, Result<Page<Vec<Value>>>> {
    futures::stream::unfold((Some(None::<String>), 0u64), move |(next, count)| {
        let reader = reader.clone();
        async move {
            let target = next?;
            if count >= MAX_PAGES {
                return None;
            }
            let mut req = match (&reader.pagination, &target) {
                (Pagination::Cursor { param, .. }, Some(c)) => {
                    reader.request(&reader.path).query(param, c)
                }
                (Pagination::NextUrl { .. } | Pagination::LinkHeader, Some(url)) => {
                    Request::get(url.clone())
                }
                _ => reader.request(&reader.path),
            };
            req = req.page(format!("page {}", count + 1));
            let result: Result<(Vec<Value>, Option<String>)> = async {
                let resp = reader.client.send(&req).await?;
                let link_next = resp.header("link").and_then(parse_link_next);
                let body = reader.client.parse_json(&req, &resp.body)?;
                let following = match &reader.pagination {
                    Pagination::Cursor { pointer, .. } | Pagination::NextUrl { pointer } => {
                        body.pointer(pointer).and_then(|v| match v {
                            Value::String(s) if !s.is_empty() => Some(s.clone()),
                            Value::Number(n) => Some(n.to_string()),
                            _ => None,
                        })
                    }
                    Pagination::LinkHeader => link_next,
                    _ => None,
                };
                Ok((reader.select(&req, body)?, following))
            }
            .await;
            match result {
                Ok((items, following)) => {
                    let last = following.is_none() || items.is_empty();
                    let state = (if last { None } else { Some(following) }, count + 1);
                    Some((Ok(Page { items, last }), state))
                }
                Err(e) => Some((Err(e), (None, count + 1))),
            }
        }
    })
    .boxed()
}

/// The `rel="next"` target of a `Link` header.
fn parse_link_next(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

#[cfg(test)]
mod tests;
