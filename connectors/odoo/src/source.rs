//! The Odoo source: authentication, discovery and the id-ordered concurrent read.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::redact::{Secret, redact_spec};
use ferry_core::{
    Catalog, Checkpoint, Error, EventStream, ReadOptions, Result, Source, SourceEvent, StreamSpec,
};
use ferry_http::columns::{ColumnPlan, Kind, build_batch, schema_of};
use ferry_http::{Auth, HttpClient, HttpConfig, Request};

use crate::xmlrpc;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::OnceCell;

use crate::types::{columns_of, nulls_for_false};

/// Which Odoo API to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// JSON-2 with an API key on Odoo 19+, JSON-RPC otherwise.
    #[default]
    Auto,
    /// `/jsonrpc` with `execute_kw`.
    Jsonrpc,
    /// `/json/2/<model>/<method>` with a bearer API key.
    Json2,
    /// `/xmlrpc/2/common` and `/xmlrpc/2/object` with `execute_kw` (chosen by `auto`
    /// when the server does not answer JSON-RPC).
    Xmlrpc,
}

/// Configuration of an Odoo source (`[source]` with `kind = "odoo"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OdooConfig {
    /// `odoo+https://HOST[:PORT]/DB`; `login:password` may be in the user info.
    pub url: String,
    /// Login, when not in the URL.
    pub user: Option<String>,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
    /// File whose first line is the password.
    pub password_file: Option<PathBuf>,
    /// Environment variable holding an API key.
    pub api_key_env: Option<String>,
    /// File whose first line is an API key.
    pub api_key_file: Option<PathBuf>,
    /// API to use.
    pub protocol: Protocol,
    /// Model globs to read; empty = every non-transient model the user can read.
    pub models: Vec<String>,
    /// Records per `search_read`.
    pub page_size: usize,
    /// Ids per keyset `search`.
    pub id_page_size: usize,
    /// Pages between checkpoints.
    pub checkpoint_pages: usize,
    /// Read binary fields too.
    pub include_binary: bool,
    /// Scale of monetary columns.
    pub monetary_scale: u8,
    /// Companies in the context; empty = every company the user may see.
    pub company_ids: Vec<i64>,
    /// Language of translatable fields.
    pub lang: String,
    /// Retries, timeouts, rate limit and concurrency.
    pub http: HttpConfig,
}

impl Default for OdooConfig {
    fn default() -> Self {
        OdooConfig {
            url: String::new(),
            user: None,
            password_env: None,
            password_file: None,
            api_key_env: None,
            api_key_file: None,
            protocol: Protocol::Auto,
            models: Vec::new(),
            page_size: 500,
            id_page_size: 20_000,
            checkpoint_pages: 20,
            include_binary: false,
            monetary_scale: 4,
            company_ids: Vec::new(),
            lang: "en_US".into(),
            http: HttpConfig::default(),
        }
    }
}

pub(crate) struct Session {
    pub(crate) protocol: Protocol,
    uid: i64,
    pub(crate) context: Value,
    version: String,
}

/// An Odoo server and database.
pub struct OdooSource {
    config: OdooConfig,
    client: Arc<HttpClient>,
    display: String,
    db: String,
    user: String,
    secret: Secret,
    has_api_key: bool,
    session: OnceCell<Session>,
    models: globset::GlobSet,
}

impl std::fmt::Debug for OdooSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OdooSource")
            .field("url", &self.display)
            .finish_non_exhaustive()
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h == "localhost"
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// One Odoo call, protocol-neutral: the model method with its keyword arguments
/// (`domain` goes positionally on JSON-RPC, where older versions name it `args`).
pub(crate) struct Call<'a> {
    pub(crate) model: &'a str,
    pub(crate) method: &'a str,
    pub(crate) domain: Option<Value>,
    pub(crate) kwargs: Map<String, Value>,
    pub(crate) page: String,
}

impl OdooSource {
    /// Checks the configuration (no request is sent).
    ///
    /// # Errors
    /// Malformed URL, no database, no secret, plain http off loopback.
    pub fn new(config: OdooConfig) -> Result<Self> {
        let display = redact_spec(&config.url);
        let origin = "odoo url";
        let raw = config.url.strip_prefix("odoo+").ok_or_else(|| {
            Error::config(origin, format!("{display}: expected odoo+https://HOST/DB"))
        })?;
        let url =
            url::Url::parse(raw).map_err(|e| Error::config(origin, format!("{display}: {e}")))?;
        let host = url.host_str().unwrap_or("").to_owned();
        if url.scheme() == "http" && !is_loopback(&host) {
            return Err(Error::config(
                origin,
                format!("{display}: plain http is only for loopback; use odoo+https://"),
            ));
        }
        let db = url
            .path_segments()
            .and_then(|mut s| s.next())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                Error::config(
                    origin,
                    format!("{display}: the database is missing (odoo+https://HOST/DB)"),
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
        let api_key = ferry_http::secret_from(
            config.api_key_env.as_deref(),
            config.api_key_file.as_deref(),
        )?;
        let password = ferry_http::secret_from(
            config.password_env.as_deref(),
            config.password_file.as_deref(),
        )?;
        let has_api_key = api_key.is_some();
        let secret = match api_key.or(password) {
            Some(s) => s,
            None => match url.password() {
                Some(p) => Secret::new(decode(p)),
                None => {
                    return Err(Error::config(
                        origin,
                        format!(
                            "{display}: no password or API key (put it in the URL, or set password_env, api_key_env or a *_file)"
                        ),
                    ));
                }
            },
        };
        if config.protocol == Protocol::Json2 && !has_api_key && url.password().is_none() {
            return Err(Error::config(origin, "the JSON-2 API needs an API key"));
        }
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let base = format!("{}://{host}{port}/", url.scheme());
        let client = HttpClient::new(
            format!("odoo {host}{port}"),
            &base,
            Auth::None,
            config.http.clone(),
        )?;
        client.add_secret(secret.clone());
        let mut globs = globset::GlobSetBuilder::new();
        for m in &config.models {
            globs.add(
                globset::Glob::new(m)
                    .map_err(|e| Error::config("odoo models", format!("{m:?}: {e}")))?,
            );
        }
        let models = globs
            .build()
            .map_err(|e| Error::config("odoo models", e.to_string()))?;
        Ok(OdooSource {
            display: format!("odoo {host}{port}/{db}"),
            client: Arc::new(client),
            db,
            user,
            secret,
            has_api_key,
            session: OnceCell::new(),
            models,
            config,
        })
    }

    /// The HTTP client (for its counters).
    pub fn client(&self) -> &HttpClient {
        &self.client
    }

    /// The configuration (the migration target reads its companies).
    pub(crate) fn config(&self) -> &OdooConfig {
        &self.config
    }

    pub(crate) async fn session(&self) -> Result<&Session> {
        self.session.get_or_try_init(|| self.login()).await
    }

    async fn jsonrpc(&self, service: &str, method: &str, args: Value, page: &str) -> Result<Value> {
        let req = Request::post_json(
            "jsonrpc",
            json!({"jsonrpc": "2.0", "method": "call", "id": 1,
                   "params": {"service": service, "method": method, "args": args}}),
        )
        .page(page.to_owned());
        let v = self.client.send_json(&req).await?;
        jsonrpc_result(&self.client, &req, v)
    }

    async fn login(&self) -> Result<Session> {
        let xml_version = || xmlrpc_call(&self.client, "common", "version", Vec::new(), "version");
        let (answer, only_xmlrpc) = match self.config.protocol {
            Protocol::Xmlrpc => (xml_version().await.ok(), true),
            Protocol::Auto => match self
                .jsonrpc("common", "version", json!([]), "version")
                .await
            {
                Ok(v) => (Some(v), false),
                Err(e) => match xml_version().await {
                    Ok(v) => {
                        tracing::info!(error = %e, "JSON-RPC is not answered; using XML-RPC.");
                        (Some(v), true)
                    }
                    Err(_) => (None, false),
                },
            },
            _ => (
                self.jsonrpc("common", "version", json!([]), "version")
                    .await
                    .ok(),
                false,
            ),
        };
        let version = answer
            .as_ref()
            .and_then(|v| v.get("server_version"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let major: u32 = version
            .split(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let protocol = match self.config.protocol {
            Protocol::Auto if self.has_api_key && major >= 19 => Protocol::Json2,
            Protocol::Auto if only_xmlrpc => Protocol::Xmlrpc,
            Protocol::Auto => Protocol::Jsonrpc,
            p => p,
        };
        let mut uid = 0;
        if protocol == Protocol::Json2 {
            self.client
                .set_session(
                    "Authorization",
                    Secret::new(format!("bearer {}", self.secret.expose())),
                )
                .await;
        } else {
            let args = json!([self.db, self.user, self.secret.expose(), {}]);
            let (r, endpoint) = if protocol == Protocol::Xmlrpc {
                let params = args.as_array().cloned().unwrap_or_default();
                let r = xmlrpc_call(
                    &self.client,
                    "common",
                    "authenticate",
                    params,
                    "authenticate",
                );
                (r.await?, "POST /xmlrpc/2/common (authenticate)")
            } else {
                let r = self.jsonrpc("common", "authenticate", args, "authenticate");
                (r.await?, "POST /jsonrpc (common.authenticate)")
            };
            uid = r.as_i64().ok_or_else(|| Error::Remote {
                system: self.client.system().to_owned(),
                endpoint: endpoint.into(),
                message: format!(
                    "login refused for user {:?} on database {:?}: wrong login, password or API key",
                    self.user, self.db
                ),
                transient: false,
            })?;
        }
        let mut session = Session {
            protocol,
            uid,
            context: json!({"active_test": false, "lang": self.config.lang}),
            version,
        };
        let companies: Vec<i64> = if self.config.company_ids.is_empty() {
            let call = Call {
                model: "res.company",
                method: "search",
                domain: Some(json!([])),
                kwargs: Map::new(),
                page: "companies".into(),
            };
            match self.call_with(&session, call).await {
                Ok(Value::Array(ids)) => ids.iter().filter_map(Value::as_i64).collect(),
                _ => Vec::new(),
            }
        } else {
            self.config.company_ids.clone()
        };
        // Odoo takes the first allowed company as the current one, and reads
        // company-dependent fields (costs, accounts) for it: the user's own company goes
        // first, as in Odoo's web client, not whichever company has the lowest id.
        let mut companies = companies;
        if self.config.company_ids.is_empty() {
            let call = Call {
                model: "res.users",
                method: "search_read",
                domain: Some(json!([["id", "=", uid]])),
                kwargs: [("fields".to_owned(), json!(["company_id"]))]
                    .into_iter()
                    .collect(),
                page: "user company".into(),
            };
            if let Ok(Value::Array(rows)) = self.call_with(&session, call).await {
                let own = rows
                    .first()
                    .and_then(|r| r.get("company_id"))
                    .and_then(|c| c.as_i64().or_else(|| c.get(0).and_then(Value::as_i64)));
                if let Some(own) = own
                    && let Some(pos) = companies.iter().position(|c| *c == own)
                {
                    companies.remove(pos);
                    companies.insert(0, own);
                }
            }
        }
        if !companies.is_empty() {
            session.context["allowed_company_ids"] = json!(companies);
        }
        tracing::info!(
            system = self.client.system(),
            version = session.version,
            protocol = ?session.protocol,
            companies = companies.len(),
            "Logged in."
        );
        Ok(session)
    }

    /// A call with another context than the session's (the migration target's).
    pub(crate) async fn call_in(
        &self,
        session: &Session,
        context: &Value,
        call: Call<'_>,
    ) -> Result<Value> {
        call_odoo(
            &self.client,
            &self.db,
            &self.secret,
            session.protocol,
            session.uid,
            context,
            call,
        )
        .await
    }

    async fn call_with(&self, session: &Session, call: Call<'_>) -> Result<Value> {
        call_odoo(
            &self.client,
            &self.db,
            &self.secret,
            session.protocol,
            session.uid,
            &session.context,
            call,
        )
        .await
    }

    async fn describe_model(&self, session: &Session, model: String) -> Result<StreamSpec> {
        let mut kwargs = Map::new();
        kwargs.insert(
            "attributes".into(),
            json!(["type", "store", "digits", "relation", "translate"]),
        );
        let fields = self
            .call_with(
                session,
                Call {
                    model: &model,
                    method: "fields_get",
                    domain: None,
                    kwargs,
                    page: "schema".into(),
                },
            )
            .await?;
        let count = self
            .call_with(
                session,
                Call {
                    model: &model,
                    method: "search_count",
                    domain: Some(json!([])),
                    kwargs: Map::new(),
                    page: "count".into(),
                },
            )
            .await?;
        let fields = fields.as_object().cloned().unwrap_or_default();
        let mut names: Vec<&String> = fields
            .iter()
            .filter(|(k, d)| *k != "id" && d.get("store").and_then(Value::as_bool) != Some(false))
            .map(|(k, _)| k)
            .collect();
        names.sort();
        let mut plan = vec![ColumnPlan::new("id", "id", Kind::Int64)];
        for n in names {
            for c in columns_of(
                n,
                &fields[n.as_str()],
                self.config.include_binary,
                self.config.monetary_scale,
            ) {
                if !fields.contains_key(&c.name) || c.name == *n {
                    plan.push(c);
                }
            }
        }
        let mut spec = StreamSpec::new(model, schema_of(&plan));
        spec.primary_key = vec!["id".into()];
        if fields.contains_key("write_date") {
            spec.cursor_field = Some("write_date".into());
        }
        spec.row_estimate = count.as_u64();
        spec.row_count_exact = spec.row_estimate.is_some();
        Ok(spec)
    }
}

async fn call_odoo(
    client: &HttpClient,
    db: &str,
    secret: &Secret,
    protocol: Protocol,
    uid: i64,
    context: &Value,
    call: Call<'_>,
) -> Result<Value> {
    let mut kwargs = call.kwargs;
    kwargs.insert("context".into(), context.clone());
    let page = format!("{}.{}, {}", call.model, call.method, call.page);
    if protocol == Protocol::Json2 {
        if let Some(d) = call.domain {
            kwargs.insert("domain".into(), d);
        }
        let mut req = Request::post_json(
            format!("json/2/{}/{}", call.model, call.method),
            Value::Object(kwargs),
        )
        .page(page);
        req.headers.push(("X-Odoo-Database".into(), db.to_owned()));
        for s in [400, 401, 403, 404, 422, 500] {
            req = req.accept(s);
        }
        let resp = client.send(&req).await?;
        // Odoo answers application errors with 500 and a JSON body: not worth retrying.
        // A 500 without one is a server failure: retried once more, then transient.
        if resp.status == 500 && serde_json::from_slice::<Value>(&resp.body).is_err() {
            let mut again = req.clone();
            again.accept_status.retain(|s| *s != 500);
            let resp = client.send(&again).await?;
            return client.parse_json(&again, &resp.body);
        }
        let v = client.parse_json(&req, &resp.body)?;
        if resp.status >= 400 {
            let msg = v.get("message").and_then(Value::as_str).unwrap_or("error");
            let name = v.get("name").and_then(Value::as_str).unwrap_or("");
            return Err(client.error(&req, format!("HTTP {}: {name}: {msg}", resp.status), false));
        }
        return Ok(v);
    }
    let args = match call.domain {
        Some(d) => json!([d]),
        None => json!([]),
    };
    if protocol == Protocol::Xmlrpc {
        let params = vec![
            json!(db),
            json!(uid),
            json!(secret.expose()),
            json!(call.model),
            json!(call.method),
            args,
            Value::Object(kwargs),
        ];
        return xmlrpc_call(client, "object", "execute_kw", params, &page).await;
    }
    let req = Request::post_json(
        "jsonrpc",
        json!({"jsonrpc": "2.0", "method": "call", "id": 1,
               "params": {"service": "object", "method": "execute_kw",
                          "args": [db, uid, secret.expose(), call.model, call.method, args, kwargs]}}),
    )
    .page(page);
    let v = client.send_json(&req).await?;
    jsonrpc_result(client, &req, v)
}

/// One XML-RPC call to `/xmlrpc/2/<service>`.
async fn xmlrpc_call(
    client: &HttpClient,
    service: &str,
    method: &str,
    params: Vec<Value>,
    page: &str,
) -> Result<Value> {
    let req = Request::post_raw(
        format!("xmlrpc/2/{service}"),
        "text/xml",
        xmlrpc::encode_call(method, &params),
    )
    .page(format!("{method}, {page}"));
    let resp = client.send(&req).await?;
    let text = std::str::from_utf8(&resp.body)
        .map_err(|_| client.error(&req, "the answer is not UTF-8 text", false))?;
    match xmlrpc::decode_response(text) {
        Ok(xmlrpc::Answer::Value(v)) => Ok(v),
        Ok(xmlrpc::Answer::Fault(code, msg)) => {
            // Odoo's fault string is a whole traceback: its last line says what failed.
            let last = msg.trim().lines().last().unwrap_or("fault").trim();
            Err(client.error(&req, format!("fault {code}: {last}"), false))
        }
        Err(m) => Err(client.error(&req, format!("not an XML-RPC answer: {m}"), false)),
    }
}

fn jsonrpc_result(client: &HttpClient, req: &Request, v: Value) -> Result<Value> {
    if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
        let data = err.get("data");
        let name = data
            .and_then(|d| d.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let msg = data
            .and_then(|d| d.get("message"))
            .or_else(|| err.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("error");
        return Err(client.error(req, format!("{name}: {msg}"), false));
    }
    match v {
        Value::Object(mut m) => m
            .remove("result")
            .ok_or_else(|| client.error(req, "answer without result or error", false)),
        _ => Err(client.error(req, "answer is not a JSON-RPC object", false)),
    }
}

/// The checkpoint of an Odoo read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Mark {
    after_id: i64,
    #[serde(default)]
    max_write_date: Option<String>,
    #[serde(default)]
    ids_at_max: Vec<i64>,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    since_ids: Vec<i64>,
}

impl Mark {
    fn observe(&mut self, id: i64, ts: Option<&str>) {
        let Some(ts) = ts else { return };
        match self.max_write_date.as_deref() {
            Some(m) if m > ts => {}
            Some(m) if m == ts => self.ids_at_max.push(id),
            _ => {
                self.max_write_date = Some(ts.to_owned());
                self.ids_at_max = vec![id];
            }
        }
    }
}

fn parse_mark(cp: &Checkpoint, what: &str) -> Result<Mark> {
    serde_json::from_value(cp.0.clone())
        .map_err(|e| Error::config("state", format!("unreadable odoo {what} checkpoint: {e}")))
}

#[async_trait]
impl Source for OdooSource {
    fn stats(&self) -> Option<Value> {
        serde_json::to_value(self.client.stats()).ok()
    }

    fn describe(&self) -> String {
        self.display.clone()
    }

    async fn discover(&self) -> Result<Catalog> {
        let session = self.session().await?;
        let models = self
            .call_with(
                session,
                Call {
                    model: "ir.model",
                    method: "search_read",
                    domain: Some(json!([["transient", "=", false]])),
                    kwargs: [
                        ("fields".to_owned(), json!(["model"])),
                        ("order".to_owned(), json!("model")),
                    ]
                    .into_iter()
                    .collect(),
                    page: "models".into(),
                },
            )
            .await?;
        let names: Vec<String> = models
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m.get("model").and_then(Value::as_str))
                    .filter(|m| self.config.models.is_empty() || self.models.is_match(m))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let conc = self.config.http.max_concurrency.max(1);
        let results: Vec<(String, Result<StreamSpec>)> = futures::stream::iter(
            names
                .into_iter()
                .map(|m| async move { (m.clone(), self.describe_model(session, m).await) }),
        )
        .buffered(conc)
        .collect()
        .await;
        let mut catalog = Catalog::default();
        let mut skipped = Vec::new();
        for (model, r) in results {
            match r {
                Ok(spec) => catalog.streams.push(spec),
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => {
                    tracing::warn!(model, error = %e, "Model skipped: the user cannot read it.");
                    skipped.push(json!({"model": model, "error": e.to_string()}));
                }
            }
        }
        catalog
            .metadata
            .insert("server_version".into(), json!(session.version));
        catalog
            .metadata
            .insert("protocol".into(), json!(session.protocol));
        if !skipped.is_empty() {
            catalog
                .metadata
                .insert("models_skipped".into(), Value::Array(skipped));
        }
        Ok(catalog)
    }

    async fn read(&self, stream: &StreamSpec, options: ReadOptions) -> Result<EventStream> {
        let session = self.session().await?;
        let mut mark = match (&options.resume, &options.since) {
            (Some(cp), _) => parse_mark(cp, "resume")?,
            (None, Some(since)) => {
                let prev = parse_mark(since, "high-water")?;
                Mark {
                    after_id: 0,
                    max_write_date: prev.max_write_date.clone(),
                    ids_at_max: prev.ids_at_max.clone(),
                    since: prev.max_write_date,
                    since_ids: prev.ids_at_max,
                }
            }
            (None, None) => Mark::default(),
        };
        let schema = stream.schema.clone();
        let mut plan: Vec<ColumnPlan> = Vec::new();
        let mut fields: Vec<String> = Vec::new();
        let mut bools: Vec<String> = Vec::new();
        for f in schema.fields() {
            let name = f.name();
            let (key, index) = match name.strip_suffix("_name") {
                Some(base)
                    if matches!(f.data_type(), arrow::datatypes::DataType::Utf8)
                        && schema.field_with_name(base).is_ok_and(|b| {
                            matches!(b.data_type(), arrow::datatypes::DataType::Int64)
                        }) =>
                {
                    (base.to_owned(), Some(1))
                }
                _ => (name.clone(), None),
            };
            let kind = Kind::of(f.data_type());
            if kind == Kind::Bool {
                bools.push(name.clone());
            }
            if index.is_none() && name != "id" {
                fields.push(name.clone());
            }
            plan.push(ColumnPlan {
                name: name.clone(),
                key,
                index,
                kind,
            });
        }
        // many2one columns come as [id, name]: mark the id column of each pair.
        let pairs: Vec<String> = plan
            .iter()
            .filter(|c| c.index == Some(1))
            .map(|c| c.key.clone())
            .collect();
        for c in &mut plan {
            if c.index.is_none() && pairs.contains(&c.key) {
                c.index = Some(0);
            }
        }
        if schema.field_with_name("write_date").is_ok() && !fields.iter().any(|f| f == "write_date")
        {
            fields.push("write_date".into());
        }
        let has_write_date = schema.field_with_name("write_date").is_ok();
        let model = stream.name.clone();
        let client = self.client.clone();
        let db = self.db.clone();
        let secret = self.secret.clone();
        let (protocol, uid, context) = (session.protocol, session.uid, session.context.clone());
        let page_size = self.config.page_size.max(1);
        let id_page = self.config.id_page_size.max(page_size);
        let every = self.config.checkpoint_pages.max(1) as u64;
        let conc = self.config.http.max_concurrency.max(1);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<SourceEvent>>(conc + 2);
        tokio::spawn(async move {
            let since_ids: HashSet<i64> = mark.since_ids.iter().copied().collect();
            // Changed since the mark: later than it, or at it and not read at it before.
            let incr: Vec<Value> = match (&mark.since, has_write_date) {
                (Some(ts), true) if !mark.since_ids.is_empty() => vec![
                    json!("|"),
                    json!(["write_date", ">", ts]),
                    json!("&"),
                    json!(["write_date", "=", ts]),
                    json!(["id", "not in", mark.since_ids]),
                ],
                (Some(ts), true) => vec![json!(["write_date", ">=", ts])],
                _ => Vec::new(),
            };
            let (mut pages, mut rows, mut searches) = (0u64, 0u64, 0u64);
            let ctx = Arc::new(context);
            let fields = Arc::new(fields);
            let result: Result<()> = async {
                loop {
                    if searches >= ferry_http::paging::MAX_PAGES {
                        break;
                    }
                    searches += 1;
                    let mut domain = incr.clone();
                    domain.push(json!(["id", ">", mark.after_id]));
                    let ids = call_odoo(
                        &client,
                        &db,
                        &secret,
                        protocol,
                        uid,
                        &ctx,
                        Call {
                            model: &model,
                            method: "search",
                            domain: Some(Value::Array(domain)),
                            kwargs: [
                                ("limit".to_owned(), json!(id_page)),
                                ("order".to_owned(), json!("id")),
                            ]
                            .into_iter()
                            .collect(),
                            page: format!("ids after {}", mark.after_id),
                        },
                    )
                    .await?;
                    let ids: Vec<i64> = ids
                        .as_array()
                        .map(|a| a.iter().filter_map(Value::as_i64).collect())
                        .unwrap_or_default();
                    if ids.is_empty() {
                        break;
                    }
                    let chunks: Vec<Vec<i64>> =
                        ids.chunks(page_size).map(<[i64]>::to_vec).collect();
                    let mut pages_stream = futures::stream::iter(chunks.into_iter().map(|chunk| {
                        let (client, db, secret, ctx, fields, model) = (
                            client.clone(),
                            db.clone(),
                            secret.clone(),
                            ctx.clone(),
                            fields.clone(),
                            model.clone(),
                        );
                        async move {
                            let label = format!("ids {}-{}", chunk[0], chunk[chunk.len() - 1]);
                            let v = call_odoo(
                                &client,
                                &db,
                                &secret,
                                protocol,
                                uid,
                                &ctx,
                                Call {
                                    model: &model,
                                    method: "search_read",
                                    domain: Some(json!([["id", "in", chunk]])),
                                    kwargs: [
                                        ("fields".to_owned(), json!(*fields)),
                                        ("order".to_owned(), json!("id")),
                                    ]
                                    .into_iter()
                                    .collect(),
                                    page: label.clone(),
                                },
                            )
                            .await?;
                            Ok::<_, Error>((chunk, label, v))
                        }
                    }))
                    .buffered(conc);
                    while let Some(page) = pages_stream.next().await {
                        let (chunk, label, v) = page?;
                        let mut records = match v {
                            Value::Array(a) => a,
                            other => {
                                return Err(Error::Remote {
                                    system: client.system().to_owned(),
                                    endpoint: format!("{model}.search_read ({label})"),
                                    message: format!(
                                        "expected a list of records, got {}",
                                        ferry_http::snippet(other.to_string().as_bytes())
                                    ),
                                    transient: false,
                                });
                            }
                        };
                        pages += 1;
                        for r in &mut records {
                            nulls_for_false(r, &bools);
                            let id = r.get("id").and_then(Value::as_i64).unwrap_or(0);
                            let ts = r
                                .get("write_date")
                                .and_then(Value::as_str)
                                .map(str::to_owned);
                            mark.observe(id, ts.as_deref());
                        }
                        if let Some(since) = mark.since.as_deref() {
                            records.retain(|r| {
                                let id = r.get("id").and_then(Value::as_i64).unwrap_or(0);
                                !(r.get("write_date").and_then(Value::as_str) == Some(since)
                                    && since_ids.contains(&id))
                            });
                        }
                        mark.after_id = chunk[chunk.len() - 1];
                        if !records.is_empty() {
                            let origin = format!("{} {model} {label}", client.system());
                            let batch = build_batch(&schema, &plan, &records, &origin)?;
                            rows += batch.num_rows() as u64;
                            if tx.send(Ok(SourceEvent::Batch(batch))).await.is_err() {
                                return Ok(());
                            }
                        }
                        if pages % every == 0 {
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
                }
                let cp = serde_json::to_value(&mark).unwrap_or(Value::Null);
                let _ = tx.send(Ok(SourceEvent::Checkpoint(Checkpoint(cp)))).await;
                Ok(())
            }
            .await;
            tracing::info!(stream = model, pages, rows, "Odoo model read.");
            ferry_http::log_stats(client.system(), &model, client.stats());
            if let Err(e) = result {
                let _ = tx.send(Err(e)).await;
            }
        });
        Ok(futures::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed())
    }
}
