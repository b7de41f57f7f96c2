//! Odoo source and migration target ([`target`]) of ferry: JSON-RPC (`/jsonrpc`, `execute_kw`, Odoo 14–19), the
//! JSON-2 API of Odoo 19 (`/json/2/<model>/<method>`, bearer API key) and XML-RPC
//! (`/xmlrpc/2/common`, `/xmlrpc/2/object`, [`xmlrpc`]) as a fallback.
//!
//! Spec: `odoo+https://HOST[:PORT]/DB` with `login:password` (or `login:api-key`) in the
//! user info for quick local use; in a job file `user` with `password_env`,
//! `password_file`, `api_key_env` or `api_key_file`. With an API key and
//! `protocol = "auto"` (the default) ferry uses JSON-2 when the server is 19 or later,
//! JSON-RPC otherwise, and XML-RPC when `/jsonrpc` does not answer (or with
//! `protocol = "xmlrpc"`).
//!
//! Types ([`types`]): many2one → id column plus a `<field>_name` display-name column,
//! one2many/many2many → list of ids, monetary → Decimal128 (`monetary_scale`, default
//! 4), float with digits → Decimal128 with the field's scale, float without digits →
//! Float64, selection/char/text/html → text, date → Date32, datetime → UTC timestamp,
//! binary skipped unless `include_binary`. Only stored fields are read. Translatable
//! fields are read in the context language (`lang`, default `en_US`), one column each.
//! Odoo's `false` for an empty non-boolean field becomes NULL.
//!
//! Reading ([`source`]): record ids are listed by keyset `search` (`id > last`, by id)
//! and read with `search_read([("id", "in", chunk)])`, chunks fetched concurrently and
//! written in id order; listing continues until a search past the last id is empty, so
//! records inserted during the read are read once. Archived records are included
//! (`active_test: false`), every company the user may see is in
//! `allowed_company_ids`, the user's own company first (company-dependent fields are
//! read for the first one). Incremental on `write_date >=` the saved mark, ids already
//! read at the mark dropped. A model the user cannot read is reported and skipped.

pub mod source;
pub mod target;
pub mod types;
pub mod xmlrpc;

use std::sync::Arc;

use ferry_core::registry::{Registry, SourceFactory, parse_config};
use ferry_core::{Result, Source};

pub use source::{OdooConfig, OdooSource, Protocol};
pub use target::{OdooTarget, OdooTargetFactory};

/// Adds the `odoo` source and migration target.
pub fn register(registry: &mut Registry) {
    registry.add_source(OdooFactory);
    registry.add_target(OdooTargetFactory);
}

struct OdooFactory;

impl SourceFactory for OdooFactory {
    fn kind(&self) -> &'static str {
        "odoo"
    }

    fn accepts(&self, spec: &str) -> bool {
        spec.starts_with("odoo+http://") || spec.starts_with("odoo+https://")
    }

    fn build_from_spec(&self, spec: &str) -> Result<Arc<dyn Source>> {
        Ok(Arc::new(OdooSource::new(OdooConfig {
            url: spec.to_owned(),
            ..Default::default()
        })?))
    }

    fn build_from_config(&self, table: toml::Table, origin: &str) -> Result<Arc<dyn Source>> {
        Ok(Arc::new(OdooSource::new(parse_config::<OdooConfig>(
            table, origin,
        )?)?))
    }
}
