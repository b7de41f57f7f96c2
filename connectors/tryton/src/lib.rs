//! Tryton source and migration target of ferry: reads any Tryton model over JSON-RPC,
//! and loads canonical records into one ([`target`]).
//!
//! Spec: `tryton+https://HOST[:PORT]/DB` (or `tryton+http://` on loopback), credentials
//! in the user info (`tryton+http://admin:secret@127.0.0.1:8000/DB`) or, in a job
//! file, `user` with `password_env` / `password_file`.
//!
//! - Login with `common.db.login`; later calls carry
//!   `Authorization: Session base64(login:user_id:key)`. The company of the user's
//!   preferences goes into the context, with `active_test: false` so archived
//!   records are read too.
//! - Discover: `ir.model` lists the models; `fields_get` gives each model's fields.
//!   Models without `create_date` (wizards, views) are not stored and are left out.
//! - Read: `search_read` ordered by id, keyset paging on `id > last` (so records
//!   inserted during the read are neither skipped nor read twice), a checkpoint every
//!   few pages, incremental on `write_date`/`create_date`.
//!
//! Tryton's typed JSON (`{"__class__": "Decimal", "decimal": "12.50"}`, `date`,
//! `datetime`, `bytes`, `timedelta`) is decoded exactly; see [`types`].

pub mod source;
pub mod target;
pub mod types;

use std::sync::Arc;

use ferry_core::registry::{Registry, SourceFactory, parse_config};
use ferry_core::{Result, Source};

pub use source::{TrytonConfig, TrytonSource};
pub use target::{TrytonTarget, TrytonTargetFactory};

/// Adds the `tryton` source and migration target.
pub fn register(registry: &mut Registry) {
    registry.add_source(TrytonFactory);
    registry.add_target(TrytonTargetFactory);
}

struct TrytonFactory;

impl SourceFactory for TrytonFactory {
    fn kind(&self) -> &'static str {
        "tryton"
    }

    fn accepts(&self, spec: &str) -> bool {
        spec.starts_with("tryton+http://") || spec.starts_with("tryton+https://")
    }

    fn build_from_spec(&self, spec: &str) -> Result<Arc<dyn Source>> {
        Ok(Arc::new(TrytonSource::new(TrytonConfig {
            url: spec.to_owned(),
            ..Default::default()
        })?))
    }

    fn build_from_config(&self, table: toml::Table, origin: &str) -> Result<Arc<dyn Source>> {
        Ok(Arc::new(TrytonSource::new(parse_config::<TrytonConfig>(
            table, origin,
        )?)?))
    }
}
