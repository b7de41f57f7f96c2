//! PostgreSQL source of ferry: every table of a database, read with binary
//! `COPY … TO STDOUT (FORMAT binary)` straight into Arrow builders.
//!
//! - [`config`]: the spec (`postgres://user[:password]@host[:port]/db`) and job-file options;
//!   the password comes from the URL, `PGPASSWORD` or a `password_file`, and is never printed.
//! - [`catalog`]: discovery of tables, columns, primary keys and row estimates.
//! - [`types`]: the one PostgreSQL → Arrow type table and the binary decoders.
//! - [`read`]: consistent (one exported snapshot per source), partitioned, resumable and
//!   incremental reads.
//!
//! Call [`register`] to make the source available as kind `postgres`.

pub mod catalog;
pub mod config;
pub mod read;
pub mod types;

use std::sync::Arc;

use ferry_core::registry::{Registry, SourceFactory, parse_config};
use ferry_core::{Result, Source};

pub use config::PostgresConfig;
pub use read::PostgresSource;

/// Adds the `postgres` source (specs `postgres://…` and `postgresql://…`).
pub fn register(registry: &mut Registry) {
    registry.add_source(PostgresFactory);
}

struct PostgresFactory;

impl SourceFactory for PostgresFactory {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn accepts(&self, spec: &str) -> bool {
        spec.starts_with("postgres://") || spec.starts_with("postgresql://")
    }

    fn build_from_spec(&self, spec: &str) -> Result<Arc<dyn Source>> {
        Ok(Arc::new(PostgresSource::new(PostgresConfig::from_url(
            spec,
        ))?))
    }

    fn build_from_config(&self, table: toml::Table, origin: &str) -> Result<Arc<dyn Source>> {
        Ok(Arc::new(PostgresSource::new(parse_config::<
            PostgresConfig,
        >(table, origin)?)?))
    }
}
