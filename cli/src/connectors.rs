//! The connectors compiled into this binary.

use ferry_core::Registry;

/// A registry with every connector of this build.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    ferry_sqlite::register(&mut registry);
    ferry_dumps::register(&mut registry);
    ferry_postgres::register(&mut registry);
    ferry_mysql::register(&mut registry);
    ferry_tryton::register(&mut registry);
    ferry_odoo::register(&mut registry);
    ferry_rest::register(&mut registry);
    ferry_files::register(&mut registry);
    ferry_delta::register(&mut registry);
    ferry_model::register(&mut registry);
    registry
}
