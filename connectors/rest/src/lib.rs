//! Declarative REST source of ferry: a YAML file describes a system's streams.
//!
//! A description ([`Description`]) gives the authentication, the pagination (`offset`
//! with offset/size parameters, `page` numbers, `cursor` from a JSON pointer in the
//! body, `next_url` from the body, or the `Link` header), the record selector (a JSON
//! pointer, empty = the body), query parameters, the primary key, the incremental
//! parameter and type hints. Shipped descriptions: `systems/dolibarr.yaml` and
//! `systems/erpnext.yaml` (spec `dolibarr+https://HOST/api/index.php`,
//! `erpnext+https://HOST`, the key in the user info for quick local use, or a job file
//! with `api_key_env` / `api_key_file`).
//!
//! The Arrow schema is inferred from the first page: integers → Int64, numbers with a
//! fraction → Decimal128 at the largest scale seen, booleans, strings → Utf8; hints
//! (`int`, `decimal(S)`, `timestamp`, `unix_time`, `date`, `text`, `bool`) override it
//! and keep money exact when the API sends it as text. Nested objects flatten to
//! `parent.child` columns; arrays of objects named in `children` become child streams
//! `<stream>.<field>` carrying the parent key as `_parent_<key>`; other arrays are JSON
//! text. Offset and page paging fetch pages concurrently, in order; cursor and next-URL
//! paging is sequential.

pub mod describe;
pub mod source;

use std::sync::Arc;

use ferry_core::registry::{Registry, SourceFactory, parse_config};
use ferry_core::{Result, Source};

pub use describe::Description;
pub use source::{RestConfig, RestSource};

/// Adds the `rest` source (and the `dolibarr+`/`erpnext+` specs).
pub fn register(registry: &mut Registry) {
    registry.add_source(RestFactory);
}

struct RestFactory;

impl SourceFactory for RestFactory {
    fn kind(&self) -> &'static str {
        "rest"
    }

    fn accepts(&self, spec: &str) -> bool {
        [
            "dolibarr+http://",
            "dolibarr+https://",
            "erpnext+http://",
            "erpnext+https://",
        ]
        .iter()
        .any(|p| spec.starts_with(p))
    }

    fn build_from_spec(&self, spec: &str) -> Result<Arc<dyn Source>> {
        let (system, url) = spec.split_once('+').unwrap_or(("", spec));
        Ok(Arc::new(RestSource::new(RestConfig {
            system: Some(system.to_owned()),
            url: url.to_owned(),
            ..Default::default()
        })?))
    }

    fn build_from_config(&self, table: toml::Table, origin: &str) -> Result<Arc<dyn Source>> {
        Ok(Arc::new(RestSource::new(parse_config::<RestConfig>(
            table, origin,
        )?)?))
    }
}
