//! ferry's canonical ERP model: whatever system the data came from, one documented
//! set of entities (parties, products, orders, invoices, stock, accounting…).
//!
//! - [`model`]: the entity definitions, one TOML file per entity under
//!   `mappings/canonical/` (columns, types, meaning, allowed values, keys), as Arrow
//!   schemas.
//! - [`library`]: the mapping files, built into the binary from `mappings/` and
//!   overridable at run time by a folder of the user's (same relative paths).
//! - [`mapping`]: [`mapping::MapSource`], a ferry [`Source`](ferry_core::Source) whose
//!   streams are canonical entities, each produced by running the vendor's
//!   `mappings/<vendor>/<entity>.sql` with DataFusion over raw extracted tables, and
//!   checked against the canonical schema ([`conform`]).
//! - [`quality`]: data-quality checks on a canonical folder (keys, references,
//!   required fields, allowed values, ranges, document totals).

pub mod conform;
pub mod library;
pub mod mapping;
pub mod model;
pub mod quality;
mod raw;
mod udf;

pub use library::Library;
pub use mapping::{MapConfig, MapSource};
pub use model::{EntityDef, Model};
pub use quality::{QualityReport, check_folder};

use std::path::PathBuf;

/// Errors of the canonical model layer.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A mapping or entity file is wrong; `origin` names the file.
    #[error("{origin}: {message}")]
    File {
        /// The file (and column, where one is concerned).
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A folder cannot be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// DataFusion failed.
    #[error("{context}: {source}")]
    Query {
        /// What was being done.
        context: String,
        /// The cause.
        source: datafusion::error::DataFusionError,
    },
}

impl ModelError {
    pub(crate) fn file(origin: impl Into<String>, message: impl Into<String>) -> Self {
        ModelError::File {
            origin: origin.into(),
            message: message.into(),
        }
    }
}

impl From<ModelError> for ferry_core::Error {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::File { origin, message } => ferry_core::Error::config(origin, message),
            ModelError::Io { path, source } => ferry_core::Error::io(path, source),
            other => ferry_core::Error::external("canonical model", other),
        }
    }
}

/// Adds the `map` source kind for job files:
///
/// ```toml
/// [source]
/// kind = "map"
/// from = "tryton"        # whose mappings
/// raw = "raw/"           # an extraction folder
/// # mappings = "my-mappings/"   system = "tryton-prod"
///
/// [sink]
/// kind = "parquet"
/// path = "canonical/"
/// ```
pub fn register(registry: &mut ferry_core::Registry) {
    registry.add_source(MapFactory);
}

struct MapFactory;

impl ferry_core::registry::SourceFactory for MapFactory {
    fn kind(&self) -> &'static str {
        "map"
    }

    fn accepts(&self, _spec: &str) -> bool {
        false
    }

    fn build_from_spec(
        &self,
        spec: &str,
    ) -> ferry_core::Result<std::sync::Arc<dyn ferry_core::Source>> {
        Err(ferry_core::Error::config(
            spec,
            "the `map` source is used from a job file or with `ferry map`",
        ))
    }

    fn build_from_config(
        &self,
        table: toml::Table,
        origin: &str,
    ) -> ferry_core::Result<std::sync::Arc<dyn ferry_core::Source>> {
        let config: MapConfig = ferry_core::registry::parse_config(table, origin)?;
        Ok(std::sync::Arc::new(MapSource::new(config)?))
    }
}
