//! The MySQL / MariaDB source of ferry (`mysql://user@host:port/database`).
//!
//! Every base table of the database is a stream named `database.table`. Reads run
//! inside one consistent snapshot shared by all tables and connections
//! ([`snapshot`]), large tables are split into primary-key ranges read in parallel,
//! and checkpoints record the last key emitted per range so that an interrupted run
//! resumes without duplicates or gaps ([`read`]). Values are converted exactly
//! ([`types`] holds the type map and the DATETIME/TIMESTAMP rules).
//!
//! Call [`register`] to make the `mysql` kind available.

pub mod config;
pub mod error;
pub mod read;
pub mod snapshot;
pub mod source;
pub mod types;

#[cfg(test)]
mod live_tests;

use std::sync::Arc;

use ferry_core::registry::{Registry, SourceFactory, parse_config};
use ferry_core::{Result, Source};

pub use config::{MysqlConfig, Settings};
pub use source::MysqlSource;

/// Adds the `mysql` source (specs `mysql://…` and `mariadb://…`).
pub fn register(registry: &mut Registry) {
    registry.add_source(MysqlFactory);
}

struct MysqlFactory;

impl SourceFactory for MysqlFactory {
    fn kind(&self) -> &'static str {
        "mysql"
    }

    fn accepts(&self, spec: &str) -> bool {
        spec.starts_with("mysql://") || spec.starts_with("mariadb://")
    }

    fn build_from_spec(&self, spec: &str) -> Result<Arc<dyn Source>> {
        let config = MysqlConfig {
            url: spec.to_owned(),
            ..Default::default()
        };
        Ok(Arc::new(MysqlSource::new(Settings::from_config(
            config, "source",
        )?)))
    }

    fn build_from_config(&self, table: toml::Table, origin: &str) -> Result<Arc<dyn Source>> {
        let config: MysqlConfig = parse_config(table, origin)?;
        Ok(Arc::new(MysqlSource::new(Settings::from_config(
            config, origin,
        )?)))
    }
}
