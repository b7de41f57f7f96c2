//! Options of the `postgres` source and the connection settings built from them.
//!
//! A job file section looks like:
//!
//! ```toml
//! [source]
//! kind = "postgres"
//! url = "postgres://odoo@db.internal:5432/prod"
//! password_file = "/run/secrets/pg"   # or PGPASSWORD; or in the URL for quick use
//! schemas = ["public"]                # default: every non-system schema
//! partitions = 4                      # default: one per core
//! ```

use std::path::PathBuf;

use ferry_core::redact::{Secret, redact_spec};
use ferry_core::{Error, Result};
use serde::Deserialize;

/// Job-file options of the `postgres` source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// `postgres://user[:password]@host[:port]/db[?key=value…]`. ferry's own query keys
    /// (`schemas` comma-separated, `partitions`, `partition_min_rows`, `batch_rows`,
    /// `checkpoint_rows`, `checkpoint_secs`) are taken out; the rest go to the driver.
    pub url: String,
    /// A file holding the password (first line). Used when the URL has none.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Schemas to read (default: all but `pg_catalog`, `information_schema`, `pg_toast*`).
    #[serde(default)]
    pub schemas: Vec<String>,
    /// Parallel key-range partitions of one large table (default: one per core).
    #[serde(default)]
    pub partitions: Option<usize>,
    /// Tables with fewer estimated rows than this are read by one worker (default 200000).
    #[serde(default)]
    pub partition_min_rows: Option<u64>,
    /// Rows per Arrow batch (default 65536).
    #[serde(default)]
    pub batch_rows: Option<usize>,
    /// Rows between resume checkpoints (default 1000000).
    #[serde(default)]
    pub checkpoint_rows: Option<u64>,
    /// Seconds between resume checkpoints, whichever comes first (default 30).
    #[serde(default)]
    pub checkpoint_secs: Option<u64>,
    /// Scale of `numeric` columns declared without one (default 10); see `types.rs`.
    #[serde(default)]
    pub numeric_scale: Option<i8>,
}

impl PostgresConfig {
    /// Options from a command-line spec alone.
    pub fn from_url(url: &str) -> Self {
        PostgresConfig {
            url: url.to_owned(),
            password_file: None,
            schemas: Vec::new(),
            partitions: None,
            partition_min_rows: None,
            batch_rows: None,
            checkpoint_rows: None,
            checkpoint_secs: None,
            numeric_scale: None,
        }
    }
}

/// Everything a read needs, resolved once.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The driver's connection settings, with the password.
    pub pg: tokio_postgres::Config,
    /// The password, to scrub it from server messages.
    pub password: Secret,
    /// `host:port/db`, for messages.
    pub display: String,
    /// The URL with its password replaced by `***`.
    pub redacted_url: String,
    /// Schemas to read; empty means all non-system schemas.
    pub schemas: Vec<String>,
    /// Partitions of one large table.
    pub partitions: usize,
    /// Minimum estimated rows for a partitioned read.
    pub partition_min_rows: u64,
    /// Rows per batch.
    pub batch_rows: usize,
    /// Rows between checkpoints.
    pub checkpoint_rows: u64,
    /// Seconds between checkpoints.
    pub checkpoint_secs: u64,
    /// Scale of unconstrained `numeric`.
    pub numeric_scale: i8,
}

impl Settings {
    /// Resolves `config`: parses the URL, finds the password.
    ///
    /// # Errors
    /// A malformed URL, a bad option, or an unreadable password file.
    pub fn resolve(config: &PostgresConfig) -> Result<Settings> {
        let redacted_url = redact_spec(&config.url);
        let origin = || format!("postgres source {redacted_url}");
        let (url, query) =
            split_ferry_params(&config.url).map_err(|m| Error::config(origin(), m))?;
        let mut pg: tokio_postgres::Config = url.parse().map_err(|e| {
            Error::config(
                origin(),
                format!("not a valid PostgreSQL URL ({e}); expected postgres://user[:password]@host[:port]/db"),
            )
        })?;
        if pg.get_hosts().is_empty() {
            pg.host("localhost");
        }
        if pg.get_user().is_none() {
            let user = std::env::var("PGUSER")
                .or_else(|_| std::env::var("USER"))
                .unwrap_or_else(|_| "postgres".into());
            pg.user(&user);
        }
        let dbname = pg
            .get_dbname()
            .map(str::to_owned)
            .or_else(|| pg.get_user().map(str::to_owned))
            .unwrap_or_default();
        pg.dbname(&dbname);
        let password = match pg.get_password() {
            Some(p) => Secret::new(String::from_utf8_lossy(p).into_owned()),
            None => {
                let from_file = match &config.password_file {
                    Some(path) => {
                        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
                        Some(text.lines().next().unwrap_or("").to_owned())
                    }
                    None => None,
                };
                let p = from_file
                    .or_else(|| std::env::var("PGPASSWORD").ok())
                    .unwrap_or_default();
                if !p.is_empty() {
                    pg.password(p.as_bytes());
                }
                Secret::new(p)
            }
        };
        pg.application_name("ferry");
        let host = match pg.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        let port = pg.get_ports().first().copied().unwrap_or(5432);
        let mut schemas = config.schemas.clone();
        schemas.extend(query.schemas);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let partitions = query
            .partitions
            .or(config.partitions)
            .unwrap_or(cores)
            .max(1);
        let numeric_scale = config.numeric_scale.unwrap_or(10);
        if !(0..=38).contains(&numeric_scale) {
            return Err(Error::config(
                origin(),
                "numeric_scale must be between 0 and 38",
            ));
        }
        Ok(Settings {
            pg,
            password,
            display: format!("{host}:{port}/{dbname}"),
            redacted_url,
            schemas,
            partitions,
            partition_min_rows: query
                .partition_min_rows
                .or(config.partition_min_rows)
                .unwrap_or(200_000),
            batch_rows: query
                .batch_rows
                .or(config.batch_rows)
                .unwrap_or(65_536)
                .max(1),
            checkpoint_rows: query
                .checkpoint_rows
                .or(config.checkpoint_rows)
                .unwrap_or(1_000_000)
                .max(1),
            checkpoint_secs: query
                .checkpoint_secs
                .or(config.checkpoint_secs)
                .unwrap_or(30)
                .max(1),
            numeric_scale,
        })
    }

    /// The system name used in errors: `postgres host:port/db`.
    pub fn system(&self) -> String {
        format!("postgres {}", self.display)
    }

    /// A remote error from a driver error, with the password scrubbed from it.
    pub fn remote_error(&self, endpoint: &str, e: &tokio_postgres::Error) -> Error {
        let (message, transient) = describe_pg_error(e);
        Error::Remote {
            system: self.system(),
            endpoint: endpoint.to_owned(),
            message: ferry_core::redact::scrub(&message, &[&self.password]),
            transient,
        }
    }
}

/// The server's message (`FATAL: password authentication failed for user "x"`) or the
/// driver's, and whether retrying may help (lost connections, shutdowns, serialization).
pub fn describe_pg_error(e: &tokio_postgres::Error) -> (String, bool) {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        let transient = code.starts_with("08")
            || code.starts_with("53")
            || matches!(code, "57P01" | "57P02" | "57P03" | "40001" | "40P01");
        let mut m = format!("{}: {} (SQLSTATE {code})", db.severity(), db.message());
        if let Some(hint) = db.hint() {
            m.push_str("; hint: ");
            m.push_str(hint);
        }
        return (m, transient);
    }
    let mut m = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        let s = c.to_string();
        if !m.contains(&s) {
            m.push_str(": ");
            m.push_str(&s);
        }
        cur = c.source();
    }
    // Without a server message the connection itself failed or was lost.
    (m, true)
}

/// Takes ferry's query keys (`schemas`, `partitions`) out of a URL.
fn split_ferry_params(url: &str) -> std::result::Result<(String, UrlOptions), String> {
    let mut options = UrlOptions::default();
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), options));
    };
    let mut kept = Vec::new();
    let number = |key: &str, v: &str| {
        v.parse::<u64>()
            .map_err(|_| format!("{key}={v} is not a whole number"))
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("schemas", v)) => options.schemas.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            ),
            Some((key @ "partitions", v)) => options.partitions = Some(number(key, v)? as usize),
            Some((key @ "partition_min_rows", v)) => {
                options.partition_min_rows = Some(number(key, v)?)
            }
            Some((key @ "batch_rows", v)) => options.batch_rows = Some(number(key, v)? as usize),
            Some((key @ "checkpoint_rows", v)) => options.checkpoint_rows = Some(number(key, v)?),
            Some((key @ "checkpoint_secs", v)) => options.checkpoint_secs = Some(number(key, v)?),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, options))
}

/// ferry's own options given as URL query keys; they win over job-file options.
#[derive(Debug, Default)]
struct UrlOptions {
    schemas: Vec<String>,
    partitions: Option<usize>,
    partition_min_rows: Option<u64>,
    batch_rows: Option<usize>,
    checkpoint_rows: Option<u64>,
    checkpoint_secs: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_resolve_and_keep_the_password_secret() {
        let s = Settings::resolve(&PostgresConfig::from_url(
            "postgres://odoo:s3cret@db.example:6543/prod?schemas=public,sales&partitions=3&connect_timeout=5",
        ))
        .unwrap();
        assert_eq!(s.display, "db.example:6543/prod");
        assert_eq!(s.schemas, ["public", "sales"]);
        assert_eq!(s.partitions, 3);
        assert_eq!(s.password.expose(), "s3cret");
        assert_eq!(s.pg.get_password(), Some(&b"s3cret"[..]));
        assert!(!format!("{s:?}").contains("s3cret") || !s.redacted_url.contains("s3cret"));
        assert_eq!(
            s.redacted_url,
            "postgres://odoo:***@db.example:6543/prod?schemas=public,sales&partitions=3&connect_timeout=5"
        );
    }

    #[test]
    fn password_file_is_read_when_the_url_has_none() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "from-file\n").unwrap();
        let mut c = PostgresConfig::from_url("postgres://u@h/db");
        c.password_file = Some(file);
        let s = Settings::resolve(&c).unwrap();
        assert_eq!(s.password.expose(), "from-file");
        let mut c = PostgresConfig::from_url("postgres://u@h/db");
        c.password_file = Some(dir.path().join("missing"));
        assert!(Settings::resolve(&c).is_err());
    }

    #[test]
    fn bad_urls_and_options_are_config_errors() {
        let e = Settings::resolve(&PostgresConfig::from_url(
            "postgres://u:pw@h/db?partitions=x",
        ))
        .unwrap_err();
        assert!(e.is_usage(), "{e}");
        assert!(!e.to_string().contains(":pw@"), "{e}");
        let mut c = PostgresConfig::from_url("postgres://u@h/db");
        c.numeric_scale = Some(40);
        assert!(Settings::resolve(&c).is_err());
    }

    #[test]
    fn job_file_options_reject_unknown_keys() {
        let t: toml::Table = toml::from_str("url = \"postgres://h/db\"\nschema = [\"x\"]").unwrap();
        assert!(
            ferry_core::registry::parse_config::<PostgresConfig>(t, "job.toml [source]").is_err()
        );
        let t: toml::Table =
            toml::from_str("url = \"postgres://h/db\"\nschemas = [\"x\"]\npartitions = 2").unwrap();
        let c: PostgresConfig = ferry_core::registry::parse_config(t, "job.toml [source]").unwrap();
        assert_eq!(c.partitions, Some(2));
    }
}
