//! The Tryton source: login, discover, keyset-paged `search_read`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use ferry_core::redact::{Secret, redact_spec};
use ferry_core::{
    Catalog, Checkpoint, Error, EventStream, ReadOptions, Result, Source, SourceEvent, StreamSpec,
};
use ferry_http::columns::{ColumnPlan, Kind, build_batch, schema_of};
use ferry_http::{Auth, HttpClient, HttpConfig, Request};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::types::{datetime_object, kind_of, normalise};

/// Configuration of a Tryton source (`[source]` with `kind = "tryton"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrytonConfig {
    /// `tryton+https://HOST[:PORT]/DB`; user and password may be in the user info.
    pub url: String,
    /// Login, when not in the URL.
    pub user: Option<String>,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
    /// File whose first line is the password.
    pub password_file: Option<PathBuf>,
    /// Model globs to read (`party.*`, `sale.sale`); empty = every stored model.
    pub models: Vec<String>,
    /// Fields left out, as `field` or `model:field`.
    pub exclude_fields: Vec<String>,
    /// Read binary fields too.
    pub include_binary: bool,
    /// Records per `search_read`.
    pub page_size: usize,
    /// Pages between checkpoints.
    pub checkpoint_pages: usize,
    /// Language of the session (translatable fields are read in it).
    pub language: String,
    /// Retries, timeouts, rate limit and concurrency.
    pub http: HttpConfig,
}

impl Default for TrytonConfig {
    fn default() -> Self {
        TrytonConfig {
            url: String::new(),
            user: None,
            password_env: None,
            password_file: None,
            models: Vec::new(),
            exclude_fields: Vec::new(),
            include_binary: false,
            page_size: 1000,
            checkpoint_pages: 20,
            language: "en".into(),
            http: HttpConfig {
                max_concurrency: 4,
                ..HttpConfig::default()
            },
        }
    }
}

pub(crate) struct Session {
    pub(crate) context: Value,
}

/// A Tryton server and database.
pub struct TrytonSource {
    config: TrytonConfig,
    client: Arc<HttpClient>,
    display: String,
    db: String,
    user: String,
    password: Secret,
    session: OnceCell<Session>,
    models: globset::GlobSet,
}

impl std::fmt::Debug for TrytonSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrytonSource")
            .field("url", &self.display)
            .finish_non_exhaustive()
    }
}

/// Whether `host` is a loopback name or address (where plain http is allowed).
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h == "localhost"
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl TrytonSource {
    /// Checks the configuration and prepares the client (no request is sent).
    ///
    /// # Errors
    /// Malformed URL, missing database or password, plain http off loopback.
    pub fn new(config: TrytonConfig) -> Result<Self> {
        let display = redact_spec(&config.url);
        let origin = "tryton url";
        let raw = config.url.strip_prefix("tryton+").ok_or_else(|| {
            Error::config(
                origin,
                format!("{display}: expected tryton+https://HOST/DB"),
            )
        })?;
        let url =
            url::Url::parse(raw).map_err(|e| Error::config(origin, format!("{display}: {e}")))?;
        let host = url.host_str().unwrap_or("").to_owned();
        if url.scheme() == "http" && !is_loopback(&host) {
            return Err(Error::config(
                origin,
                format!("{display}: plain http is only for loopback; use tryton+https://"),
            ));
        }
        let db = url
            .path_segments()
            .and_then(|mut s| s.next())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                Error::config(
                    origin,
                    format!("{display}: the database is missing (tryton+https://HOST/DB)"),
                )
            })?
            .to_owned();
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let user = config
            .user
            .clone()
            .or_else(|| (!url.username().is_empty()).then(|| decode(url.username())))
            .unwrap_or_else(|| "admin".into());
        let password = match ferry_http::secret_from(
            config.password_env.as_deref(),
            config.password_file.as_deref(),
        )? {
            Some(p) => p,
            None => match url.password() {
                Some(p) => Secret::new(decode(p)),
                None => {
                    return Err(Error::config(
                        origin,
                        format!(
                            "{display}: no password (put it in the URL, or set password_env or password_file)"
                        ),
                    ));
                }
            },
        };
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let base = format!("{}://{host}{port}/", url.scheme());
        let client = HttpClient::new(
            format!("tryton {host}{port}"),
            &base,
            Auth::None,
            config.http.clone(),
        )?;
        client.add_secret(password.clone());
        let mut globs = globset::GlobSetBuilder::new();
        for m in &config.models {
            globs.add(
                globset::Glob::new(m)
                    .map_err(|e| Error::config("tryton models", format!("{m:?}: {e}")))?,
            );
        }
        let models = globs
            .build()
            .map_err(|e| Error::config("tryton models", e.to_string()))?;
        Ok(TrytonSource {
            display: format!("tryton {host}{port}/{db}"),
            client: Arc::new(client),
            db,
            user,
            password,
            session: OnceCell::new(),
            models,
            config,
        })
    }

    /// `tryton HOST:PORT/DB`, for messages.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The HTTP client (for its counters).
    pub fn client(&self) -> &HttpClient {
        &self.client
    }

    pub(crate) async fn session(&self) -> Result<&Session> {
        self.session.get_or_try_init(|| self.login()).await
    }

    async fn login(&self) -> Result<Session> {
        let req = Request::post_json(
            format!("{}/rpc/", self.db),
            json!({"id": 0, "method": "common.db.login",
                   "params": [self.user, {"password": self.password.expose()}, self.config.language]}),
        )
        .page("login")
        .accept(401)
        .accept(403);
        let resp = self.client.send(&req).await?;
        if resp.status == 401 || resp.status == 403 {
            return Err(self.client.error(
                &req,
                format!(
                    "login refused for user {:?} (HTTP {}): wrong user or password",
                    self.user, resp.status
                ),
                false,
            ));
        }
        let v = self.client.parse_json(&req, &resp.body)?;
        let result = rpc_result(&self.client, &req, v)?;
        let (Some(uid), Some(key)) = (
            result.get(0).and_then(Value::as_i64),
            result.get(1).and_then(Value::as_str),
        ) else {
            return Err(self.client.error(
                &req,
                format!(
                    "login refused for user {:?}: wrong user or password",
                    self.user
                ),
                false,
            ));
        };
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{uid}:{key}", self.user));
        self.client.add_secret(Secret::new(key));
        self.client
            .set_session("Authorization", Secret::new(format!("Session {token}")))
            .await;
        let prefs = self
            .call(
                "model.res.user.get_preferences",
                json!([true, {}]),
                "preferences",
            )
            .await?;
        let mut context = json!({"active_test": false, "language": self.config.language});
        if let Some(c) = prefs.get("company").filter(|c| !c.is_null()) {
            context["company"] = c.clone();
        }
        tracing::info!(
            system = self.client.system(),
            user = self.user,
            "Logged in."
        );
        Ok(Session { context })
    }

    pub(crate) async fn call(&self, method: &str, params: Value, page: &str) -> Result<Value> {
        let req = Request::post_json(
            format!("{}/rpc/", self.db),
            json!({"id": 1, "method": method, "params": params}),
        )
        .page(format!("{method}, {page}"));
        let v = self.client.send_json(&req).await?;
        rpc_result(&self.client, &req, v)
    }

    fn excluded(&self, model: &str, field: &str) -> bool {
        field.starts_with('_')
            || self
                .config
                .exclude_fields
                .iter()
                .any(|e| e == field || e.split_once(':') == Some((model, field)))
    }

    async fn describe_model(&self, model: String, context: Value) -> Result<Option<StreamSpec>> {
        let fields = self
            .call(
                &format!("model.{model}.fields_get"),
                json!([[], context]),
                "schema",
            )
            .await?;
        let Some(fields) = fields.as_object() else {
            return Ok(None);
        };
        if !fields.contains_key("create_date") {
            return Ok(None);
        }
        let mut names: Vec<&String> = fields.keys().filter(|k| *k != "id").collect();
        names.sort();
        let mut plan = vec![ColumnPlan::new("id", "id", Kind::Int64)];
        for name in names {
            if self.excluded(&model, name) {
                continue;
            }
            if let Some(kind) = kind_of(&fields[name.as_str()], self.config.include_binary) {
                plan.push(ColumnPlan::new(name.clone(), name.clone(), kind));
            }
        }
        let mut spec = StreamSpec::new(model, schema_of(&plan));
        spec.primary_key = vec!["id".into()];
        if fields.contains_key("write_date") {
            spec.cursor_field = Some("write_date".into());
        }
        Ok(Some(spec))
    }
}

fn rpc_result(client: &HttpClient, req: &Request, v: Value) -> Result<Value> {
    if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
        let name = err.get(0).and_then(Value::as_str).unwrap_or("error");
        let msg = err
            .get(1)
            .and_then(|m| m.get(0))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| err.to_string());
        return Err(client.error(req, format!("{name}: {msg}"), false));
    }
    match v {
        Value::Object(mut m) => m
            .remove("result")
            .ok_or_else(|| client.error(req, "answer without result or error", false)),
        _ => Err(client.error(req, "answer is not a JSON-RPC object", false)),
    }
}

/// The checkpoint of a Tryton read: keyset position and change mark.
#[derive(Debug, Clone, Default, serde::Serialize, Deserialize)]
struct Mark {
    /// Records up to this id were read.
    after_id: i64,
    /// Largest `coalesce(write_date, create_date)` read so far (ISO text).
    #[serde(default)]
    max_ts: Option<String>,
    /// Ids read with `max_ts` (dropped when the next run sees them unchanged).
    #[serde(default)]
    ids_at_max: Vec<i64>,
    /// The mark this run reads changes since.
    #[serde(default)]
    since_ts: Option<String>,
    /// Ids already read at `since_ts`.
    #[serde(default)]
    since_ids: Vec<i64>,
}

impl Mark {
    fn observe(&mut self, id: i64, ts: Option<&str>) {
        let Some(ts) = ts else { return };
        match self.max_ts.as_deref() {
            Some(m) if m > ts => {}
            Some(m) if m == ts => self.ids_at_max.push(id),
            _ => {
                self.max_ts = Some(ts.to_owned());
                self.ids_at_max = vec![id];
            }
        }
    }
}

fn parse_mark(cp: &Checkpoint, what: &str) -> Result<Mark> {
    serde_json::from_value(cp.0.clone())
        .map_err(|e| Error::config("state", format!("unreadable tryton {what} checkpoint: {e}")))
}

#[async_trait]
impl Source for TrytonSource {
    fn stats(&self) -> Option<Value> {
        serde_json::to_value(self.client.stats()).ok()
    }

    fn describe(&self) -> String {
        self.display.clone()
    }

    async fn discover(&self) -> Result<Catalog> {
        let session = self.session().await?;
        let ctx = session.context.clone();
        // `ir.model.list_models` answers the same on every release, whereas the
        // field holding a model's identifier was renamed between releases (`model`
        // in older ones, `name` in 8.x).
        let models = self
            .call("model.ir.model.list_models", json!([ctx]), "models")
            .await?;
        let mut names: Vec<String> = models
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .filter(|m| self.config.models.is_empty() || self.models.is_match(m))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        let conc = self.config.http.max_concurrency.max(1);
        let results: Vec<(String, Result<Option<StreamSpec>>)> =
            futures::stream::iter(names.into_iter().map(|m| {
                let ctx = ctx.clone();
                async move { (m.clone(), self.describe_model(m, ctx).await) }
            }))
            .buffered(conc)
            .collect()
            .await;
        let mut catalog = Catalog::default();
        let mut skipped = Vec::new();
        for (model, r) in results {
            match r {
                Ok(Some(spec)) => catalog.streams.push(spec),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(model, error = %e, "Model skipped: it cannot be described.");
                    skipped.push(Value::String(model));
                }
            }
        }
        catalog
            .metadata
            .insert("database".into(), Value::String(self.db.clone()));
        if !skipped.is_empty() {
            catalog
                .metadata
                .insert("models_skipped".into(), Value::Array(skipped));
        }
        Ok(catalog)
    }

    async fn read(&self, stream: &StreamSpec, options: ReadOptions) -> Result<EventStream> {
        let session = self.session().await?;
        let context = session.context.clone();
        let mut mark = match (&options.resume, &options.since) {
            (Some(cp), _) => parse_mark(cp, "resume")?,
            (None, Some(since)) => {
                let prev = parse_mark(since, "high-water")?;
                Mark {
                    after_id: 0,
                    max_ts: prev.max_ts.clone(),
                    ids_at_max: prev.ids_at_max.clone(),
                    since_ts: prev.max_ts,
                    since_ids: prev.ids_at_max,
                }
            }
            (None, None) => Mark::default(),
        };
        let schema = stream.schema.clone();
        let plan: Vec<ColumnPlan> = schema
            .fields()
            .iter()
            .map(|f| {
                let kind = Kind::of(f.data_type());
                ColumnPlan::new(f.name().clone(), f.name().clone(), kind)
            })
            .collect();
        let mut fields: Vec<String> = plan.iter().map(|c| c.name.clone()).collect();
        let has_dates = ["write_date", "create_date"]
            .iter()
            .all(|f| schema.field_with_name(f).is_ok());
        for f in ["write_date", "create_date"] {
            if has_dates && !fields.iter().any(|x| x == f) {
                fields.push(f.into());
            }
        }
        let model = stream.name.clone();
        let client = self.client.clone();
        let db = self.db.clone();
        let page_size = self.config.page_size.max(1);
        let every = self.config.checkpoint_pages.max(1);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<SourceEvent>>(4);
        tokio::spawn(async move {
            let since_ids: HashSet<i64> = mark.since_ids.iter().copied().collect();
            let mut pages = 0u64;
            let mut rows = 0u64;
            let result: Result<()> = async {
                loop {
                    if pages >= ferry_http::paging::MAX_PAGES {
                        break;
                    }
                    let mut domain = vec![json!(["id", ">", mark.after_id])];
                    if let Some(ts) = mark.since_ts.as_deref().filter(|_| has_dates)
                        && let Some(obj) = datetime_object(ts)
                    {
                        domain.push(json!([
                            "OR",
                            ["write_date", ">=", obj],
                            ["create_date", ">=", obj]
                        ]));
                    }
                    let label = format!("ids after {}", mark.after_id);
                    let req = Request::post_json(
                        format!("{db}/rpc/"),
                        json!({"id": 2, "method": format!("model.{model}.search_read"),
                               "params": [domain, 0, page_size, [["id", "ASC"]], fields, context]}),
                    )
                    .page(format!("search_read, {label}"));
                    let v = client.send_json(&req).await?;
                    let mut records = match rpc_result(&client, &req, v)? {
                        Value::Array(a) => a,
                        _ => {
                            return Err(client.error(
                                &req,
                                "search_read did not return a list",
                                false,
                            ));
                        }
                    };
                    pages += 1;
                    let n = records.len();
                    let mut last_id = mark.after_id;
                    for r in &mut records {
                        normalise(r);
                        let id = r.get("id").and_then(Value::as_i64).ok_or_else(|| {
                            client.error(&req, "a record without an integer id", false)
                        })?;
                        if id <= last_id {
                            return Err(client.error(
                                &req,
                                format!("ids out of order ({id} after {last_id})"),
                                false,
                            ));
                        }
                        last_id = id;
                        let ts = r
                            .get("write_date")
                            .and_then(Value::as_str)
                            .or_else(|| r.get("create_date").and_then(Value::as_str))
                            .map(str::to_owned);
                        mark.observe(id, ts.as_deref());
                    }
                    // Records unchanged since the previous run's mark were read then.
                    if let Some(since) = mark.since_ts.as_deref() {
                        records.retain(|r| {
                            let id = r.get("id").and_then(Value::as_i64).unwrap_or(0);
                            let ts = r
                                .get("write_date")
                                .and_then(Value::as_str)
                                .or_else(|| r.get("create_date").and_then(Value::as_str));
                            !(ts == Some(since) && since_ids.contains(&id))
                        });
                    }
                    mark.after_id = last_id;
                    if !records.is_empty() {
                        let origin = format!("{} {model} {label}", client.system());
                        let batch = build_batch(&schema, &plan, &records, &origin)?;
                        rows += batch.num_rows() as u64;
                        if tx.send(Ok(SourceEvent::Batch(batch))).await.is_err() {
                            return Ok(());
                        }
                    }
                    if n < page_size {
                        break;
                    }
                    if pages.is_multiple_of(every as u64) {
                        let cp = serde_json::to_value(&mark).unwrap_or(Value::Null);
                        if tx
                            .send(Ok(SourceEvent::Checkpoint(Checkpoint(cp))))
                            .await
                            .is_err()
                        {
                            return Ok(());
                        }
                    }
                }
                let cp = serde_json::to_value(&mark).unwrap_or(Value::Null);
                let _ = tx.send(Ok(SourceEvent::Checkpoint(Checkpoint(cp)))).await;
                Ok(())
            }
            .await;
            tracing::info!(stream = model, pages, rows, "Tryton model read.");
            ferry_http::log_stats(client.system(), &model, client.stats());
            if let Err(e) = result {
                let _ = tx.send(Err(e)).await;
            }
        });
        Ok(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_checked_and_never_show_the_password() {
        let src = TrytonSource::new(TrytonConfig {
            url: "tryton+http://admin:s3cret-pw@127.0.0.1:8000/ferry".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(src.describe(), "tryton 127.0.0.1:8000/ferry");
        assert!(!format!("{src:?}").contains("s3cret-pw"));
        let err = TrytonSource::new(TrytonConfig {
            url: "tryton+http://admin:s3cret-pw@erp.example.com/ferry".into(),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("only for loopback") && !err.contains("s3cret-pw"),
            "{err}"
        );
        let err = TrytonSource::new(TrytonConfig {
            url: "tryton+https://admin@erp.example.com/ferry".into(),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("no password"), "{err}");
        assert!(
            TrytonSource::new(TrytonConfig {
                url: "tryton+https://a:b@erp.example.com/".into(),
                ..Default::default()
            })
            .is_err()
        );
    }

    #[test]
    fn the_mark_keeps_the_latest_timestamp_and_its_ids() {
        let mut m = Mark::default();
        m.observe(1, Some("2025-01-01T00:00:00.000000"));
        m.observe(2, Some("2025-01-02T00:00:00.000000"));
        m.observe(3, Some("2025-01-02T00:00:00.000000"));
        m.observe(4, Some("2024-12-31T00:00:00.000000"));
        m.observe(5, None);
        assert_eq!(m.max_ts.as_deref(), Some("2025-01-02T00:00:00.000000"));
        assert_eq!(m.ids_at_max, vec![2, 3]);
    }
}
