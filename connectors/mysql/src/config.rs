//! Settings of the `mysql` source: the connection URL, where the password comes
//! from, and the knobs of partitioned, checkpointed reads.
//!
//! The URL is `mysql://user[:password]@host[:port]/database[?option=value…]`
//! (`mariadb://` is accepted too). ferry's own options may be given in the query
//! string (`partitions`, `partition_min_rows`, `connections`, `batch_rows`,
//! `checkpoint_rows`, `checkpoint_secs`); the password is taken from the URL, else
//! from `MYSQL_PWD`, else from `password_file`. It is never printed.

use std::path::PathBuf;
use std::time::Duration;

use ferry_core::redact::{Secret, redact_spec};
use ferry_core::{Error, Result};
use mysql_async::{Opts, OptsBuilder};
use serde::Deserialize;

/// Job-file options of the `mysql` source (`[source] kind = "mysql"`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MysqlConfig {
    /// `mysql://user[:password]@host[:port]/database`.
    pub url: String,
    /// A file holding the password (trailing newline ignored), used when the URL has none.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Partitions a large table is split into by primary-key range (default: cores).
    #[serde(default)]
    pub partitions: Option<usize>,
    /// Tables estimated below this many rows are read as one partition (default 100000).
    #[serde(default)]
    pub partition_min_rows: Option<u64>,
    /// Connections sharing the snapshot, i.e. partitions read at once (default: cores, at least 2).
    #[serde(default)]
    pub connections: Option<usize>,
    /// Rows per Arrow batch (default 65536).
    #[serde(default)]
    pub batch_rows: Option<usize>,
    /// Rows between checkpoints (default 1000000).
    #[serde(default)]
    pub checkpoint_rows: Option<u64>,
    /// Seconds between checkpoints (default 30).
    #[serde(default)]
    pub checkpoint_secs: Option<u64>,
}

/// Everything a source needs, resolved and checked.
#[derive(Clone)]
pub struct Settings {
    /// Connection options, password included.
    pub opts: Opts,
    /// The URL with the password replaced by `***`.
    pub display: String,
    /// `mysql host:port`, for error messages.
    pub system: String,
    /// The database whose tables are streams.
    pub database: String,
    /// Partitions per large table.
    pub partitions: usize,
    /// Smallest estimated row count that is partitioned.
    pub partition_min_rows: u64,
    /// Connections in the snapshot.
    pub connections: usize,
    /// Rows per batch.
    pub batch_rows: usize,
    /// Rows between checkpoints.
    pub checkpoint_rows: u64,
    /// Time between checkpoints.
    pub checkpoint_interval: Duration,
    /// The password, to scrub from server messages.
    pub password: Secret,
}

impl std::fmt::Debug for Settings {
    // Hand-written: the driver's `Opts` would print the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("url", &self.display)
            .field("partitions", &self.partitions)
            .field("connections", &self.connections)
            .field("batch_rows", &self.batch_rows)
            .field("checkpoint_rows", &self.checkpoint_rows)
            .finish_non_exhaustive()
    }
}

const OWN_KEYS: [&str; 6] = [
    "partitions",
    "partition_min_rows",
    "connections",
    "batch_rows",
    "checkpoint_rows",
    "checkpoint_secs",
];

impl Settings {
    /// Resolves a job-file config.
    ///
    /// # Errors
    /// A malformed URL or option, no database, or an unreadable password file.
    pub fn from_config(mut config: MysqlConfig, origin: &str) -> Result<Settings> {
        let display = redact_spec(&config.url);
        let bad = |message: String| Error::config(origin, format!("{display}: {message}"));
        let (base, query) = match config.url.split_once('?') {
            Some((b, q)) => (b.to_owned(), q.to_owned()),
            None => (config.url.clone(), String::new()),
        };
        let base = match base.strip_prefix("mariadb://") {
            Some(rest) => format!("mysql://{rest}"),
            None => base,
        };
        let mut driver_params = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let number = || {
                value.parse::<u64>().map_err(|_| {
                    bad(format!(
                        "option {key} must be a whole number, not {value:?}"
                    ))
                })
            };
            match key {
                "partitions" => config.partitions = Some(number()? as usize),
                "partition_min_rows" => config.partition_min_rows = Some(number()?),
                "connections" => config.connections = Some(number()? as usize),
                "batch_rows" => config.batch_rows = Some(number()? as usize),
                "checkpoint_rows" => config.checkpoint_rows = Some(number()?),
                "checkpoint_secs" => config.checkpoint_secs = Some(number()?),
                _ => driver_params.push(pair.to_owned()),
            }
        }
        let url = if driver_params.is_empty() {
            base
        } else {
            format!("{base}?{}", driver_params.join("&"))
        };
        let opts = Opts::from_url(&url).map_err(|e| {
            bad(format!(
                "not a valid mysql:// URL ({e}); ferry's own options are {}",
                OWN_KEYS.join(", ")
            ))
        })?;
        let database = opts
            .db_name()
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| bad("name the database: mysql://user@host/DATABASE".into()))?;
        let password = match opts.pass().filter(|p| !p.is_empty()) {
            Some(p) => Some(p.to_owned()),
            None => match std::env::var("MYSQL_PWD").ok().filter(|p| !p.is_empty()) {
                Some(p) => Some(p),
                None => match &config.password_file {
                    Some(path) => Some(
                        std::fs::read_to_string(path)
                            .map_err(|e| Error::io(path, e))?
                            .trim_end_matches(['\r', '\n'])
                            .to_owned(),
                    ),
                    None => None,
                },
            },
        };
        let system = format!("mysql {}:{}", opts.ip_or_hostname(), opts.tcp_port());
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let opts: Opts = OptsBuilder::from_opts(opts)
            .pass(password.clone())
            .prefer_socket(false)
            .init(vec![
                "SET NAMES utf8mb4",
                // TIMESTAMP values come back in UTC; DATETIME values are unchanged.
                "SET time_zone = '+00:00'",
                // The sink may pause reading for a while (file flushes): don't let the
                // server drop a streaming result set meanwhile.
                "SET SESSION net_write_timeout = 3600",
            ])
            .into();
        Ok(Settings {
            opts,
            display,
            system,
            database,
            partitions: config.partitions.unwrap_or(cores).max(1),
            partition_min_rows: config.partition_min_rows.unwrap_or(100_000),
            connections: config.connections.unwrap_or(cores.max(2)).max(1),
            batch_rows: config.batch_rows.unwrap_or(65_536).max(1),
            checkpoint_rows: config.checkpoint_rows.unwrap_or(1_000_000).max(1),
            checkpoint_interval: Duration::from_secs(config.checkpoint_secs.unwrap_or(30)),
            password: Secret::new(password.unwrap_or_default()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> Result<Settings> {
        Settings::from_config(
            MysqlConfig {
                url: url.into(),
                ..Default::default()
            },
            "test",
        )
    }

    #[test]
    fn urls_resolve_and_never_show_the_password() {
        let s = settings("mysql://u:s3cret@db.example:3307/erp?partitions=3&checkpoint_rows=10")
            .unwrap();
        assert_eq!(
            s.display,
            "mysql://u:***@db.example:3307/erp?partitions=3&checkpoint_rows=10"
        );
        assert_eq!(s.system, "mysql db.example:3307");
        assert_eq!(s.database, "erp");
        assert_eq!((s.partitions, s.checkpoint_rows), (3, 10));
        assert_eq!(s.password.expose(), "s3cret");
        assert!(!format!("{s:?}").contains("s3cret"), "{s:?}");
        let s = settings("mariadb://root@127.0.0.1/x").unwrap();
        assert_eq!(s.opts.tcp_port(), 3306);
    }

    #[test]
    fn bad_urls_are_config_errors_without_secrets() {
        let err = settings("mysql://u:pw123@h/").unwrap_err();
        assert!(err.is_usage(), "{err}");
        assert!(err.to_string().contains("name the database"), "{err}");
        let err = settings("mysql://u:pw123@h/db?partitions=many").unwrap_err();
        assert!(err.to_string().contains("partitions"), "{err}");
        assert!(!err.to_string().contains("pw123"), "{err}");
    }
}
