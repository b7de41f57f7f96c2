//! End-to-end tests of the `ferry` binary: they run the real command on real files and
//! check its output with independent readers (pyarrow, DuckDB) where Python is present.

mod util;

mod backup;
mod canonical;
mod crash;
mod demo;
mod drift;
mod dumps;
mod errors;
mod extract;
mod migrate;
mod migrate_odoo;
mod mysql;
mod odoo_canonical;
mod odoo_zip;
mod postgres;
mod readers;
mod rest_canonical;
mod sql;
mod sqlite;
mod tryton;
