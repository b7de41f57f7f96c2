//! Odoo 19 to the canonical model, by both roads: the demo database's pg_dump read as
//! a file, and the same database served over Odoo's JSON-RPC API by the test server of
//! tests/harness/odoo (restored into the local PostgreSQL). `ferry map --from odoo`
//! must turn both raw extractions into the same canonical rows, entity by entity, row
//! by row, and the row counts must be those of the database. Runs when PostgreSQL,
//! python3 and the dump are there; with `CI` set, their absence is a failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::*;

const PASSWORD_ENV: &str = "FERRY_E2E_ODOO_PASSWORD";

/// Raw tables the Odoo mappings read (dump stream `public.<t>`, API model with dots).
const MODELS: [&str; 26] = [
    "res.currency",
    "res.partner",
    "res.country",
    "res.country.state",
    "uom.uom",
    "product.category",
    "product.product",
    "product.template",
    "account.tax",
    "account.account",
    "account.journal",
    "account.move",
    "account.move.line",
    "account.payment",
    "account.payment.method",
    "sale.order",
    "sale.order.line",
    "purchase.order",
    "purchase.order.line",
    "stock.location",
    "stock.quant",
    "stock.lot",
    "stock.move",
    "mrp.bom",
    "mrp.bom.line",
    "mrp.production",
];

/// Rows each entity must have in the database, counted with the mappings' filters.
const DB_COUNTS: [(&str, &str); 24] = [
    ("currency", "SELECT count(*) FROM res_currency"),
    ("uom", "SELECT count(*) FROM uom_uom"),
    ("product_category", "SELECT count(*) FROM product_category"),
    (
        "party",
        "SELECT count(*) FROM res_partner WHERE commercial_partner_id = id",
    ),
    (
        "address",
        "SELECT count(*) FROM res_partner WHERE commercial_partner_id IS NOT NULL \
         AND (street IS NOT NULL OR street2 IS NOT NULL OR zip IS NOT NULL OR city IS NOT NULL \
         OR state_id IS NOT NULL OR country_id IS NOT NULL OR type IN ('invoice', 'delivery', 'other'))",
    ),
    (
        "contact",
        "SELECT (SELECT count(*) FROM res_partner WHERE commercial_partner_id = id \
         AND coalesce(email, '') <> '') + (SELECT count(*) FROM res_partner \
         WHERE commercial_partner_id = id AND coalesce(phone, '') <> '') \
         + (SELECT count(*) FROM res_partner WHERE commercial_partner_id = id \
         AND coalesce(website, '') <> '') + (SELECT count(*) FROM res_partner \
         WHERE commercial_partner_id <> id AND coalesce(type, 'contact') = 'contact')",
    ),
    ("product", "SELECT count(*) FROM product_product"),
    ("tax", "SELECT count(*) FROM account_tax"),
    ("sale_order", "SELECT count(*) FROM sale_order"),
    (
        "sale_order_line",
        "SELECT count(*) FROM sale_order_line WHERE display_type IS NULL",
    ),
    ("purchase_order", "SELECT count(*) FROM purchase_order"),
    (
        "purchase_order_line",
        "SELECT count(*) FROM purchase_order_line WHERE display_type IS NULL",
    ),
    (
        "invoice",
        "SELECT count(*) FROM account_move \
         WHERE move_type IN ('out_invoice', 'out_refund', 'in_invoice', 'in_refund')",
    ),
    (
        "invoice_line",
        "SELECT count(*) FROM account_move_line l JOIN account_move m ON m.id = l.move_id \
         WHERE l.display_type = 'product' \
         AND m.move_type IN ('out_invoice', 'out_refund', 'in_invoice', 'in_refund')",
    ),
    ("payment", "SELECT count(*) FROM account_payment"),
    ("stock_location", "SELECT count(*) FROM stock_location"),
    (
        "stock_level",
        "SELECT count(*) FROM stock_quant q JOIN stock_location l ON l.id = q.location_id \
         WHERE l.usage = 'internal'",
    ),
    ("stock_move", "SELECT count(*) FROM stock_move"),
    ("bom", "SELECT count(*) FROM mrp_bom"),
    ("bom_line", "SELECT count(*) FROM mrp_bom_line"),
    ("production_order", "SELECT count(*) FROM mrp_production"),
    ("account", "SELECT count(*) FROM account_account"),
    (
        "journal_entry",
        "SELECT count(*) FROM account_move WHERE state <> 'cancel'",
    ),
    (
        "journal_line",
        "SELECT count(*) FROM account_move_line l JOIN account_move m ON m.id = l.move_id \
         WHERE l.account_id IS NOT NULL AND m.state <> 'cancel'",
    ),
];

/// Entities that must not come out empty from the demo database.
const MAIN: [&str; 17] = [
    "currency",
    "uom",
    "product_category",
    "party",
    "address",
    "contact",
    "product",
    "tax",
    "sale_order",
    "sale_order_line",
    "purchase_order",
    "purchase_order_line",
    "invoice",
    "invoice_line",
    "stock_move",
    "account",
    "journal_line",
];

/// Columns whose API value may differ from the dump for a known reason outside the
/// mappings: company-dependent fields, which Odoo's API returns for the context's first
/// company only (ferry puts the user's own company first), while the dump keeps every
/// company's value and the mapping takes the first one stored. These columns are
/// checked on each road against the database instead.
const COMPANY_DEPENDENT: [(&str, &str); 2] = [("account", "code"), ("product", "cost_price")];

fn harness() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/harness/odoo")
}

fn mappings() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../mappings")
}

fn port() -> u16 {
    std::env::var("FERRY_ODOO_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8769)
}

fn dump() -> PathBuf {
    std::env::var_os("FERRY_ODOO_DUMP")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/samples/odoo19/pg_dump_ferry_demo.sql.gz")
        })
}

/// The database name and server URL, or `None` (skip) outside CI.
fn server() -> Option<(String, String)> {
    if !postgres_reachable() {
        return None;
    }
    let have_python = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_python {
        assert!(!mandatory(), "python3 is required in CI for the Odoo tests");
        eprintln!("python3 not found: skipping the Odoo canonical test");
        return None;
    }
    if !dump().is_file() {
        assert!(
            !mandatory(),
            "the Odoo 19 dump {} is required in CI",
            dump().display()
        );
        eprintln!(
            "{} not found: skipping the Odoo canonical test",
            dump().display()
        );
        return None;
    }
    let out = Command::new(harness().join("start.sh"))
        .arg(port().to_string())
        .env("FERRY_ODOO_DUMP", dump())
        .output()
        .expect("start.sh runs");
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !mandatory(),
            "the Odoo test server could not be started:\n{err}"
        );
        eprintln!("Odoo test server unavailable, skipping:\n{err}");
        return None;
    }
    let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let db = url.rsplit('/').next().unwrap_or_default().to_owned();
    Some((db, url))
}

fn psql(db: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-XAtq",
            "-d",
            db,
            "-c",
            sql,
        ])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `ferry map --from odoo` of a raw folder; returns rows written per entity.
fn map(raw: &Path, canon: &Path) -> BTreeMap<String, u64> {
    let out = ferry_ok(&[
        "map",
        "--from",
        "odoo",
        "--in",
        raw.to_str().unwrap(),
        "--out",
        canon.to_str().unwrap(),
        "--mappings",
        mappings().to_str().unwrap(),
        "--json",
    ]);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("ferry map --json: {e}\n{}", stdout(&out)));
    let streams = report["run"]["streams"]
        .as_array()
        .unwrap_or_else(|| panic!("no streams in the map report: {report:#}"));
    let mut rows = BTreeMap::new();
    for s in streams {
        let name = s["name"].as_str().expect("stream name").to_owned();
        assert!(
            s["error"].is_null(),
            "mapping {name} from {} failed: {}",
            raw.display(),
            s["error"]
        );
        rows.insert(name, s["rows"].as_u64().unwrap_or(0));
    }
    rows
}

/// Every row of an entity, ordered by id, as JSON objects.
fn rows(canon: &Path, entity: &str) -> Vec<serde_json::Map<String, Value>> {
    let out = ferry_ok(&[
        "sql",
        "--data",
        canon.to_str().unwrap(),
        "--format",
        "json",
        &format!("SELECT * FROM {entity} ORDER BY id"),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("ferry sql --format json: {e}\n{}", stdout(&out)));
    v.as_array()
        .unwrap_or_else(|| panic!("not a JSON array: {v}"))
        .iter()
        .map(|r| r.as_object().expect("a row is an object").clone())
        .collect()
}

#[test]
fn odoo_dump_and_api_map_to_the_same_canonical_rows() {
    let Some((db, url)) = server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (raw_dump, raw_api) = (dir.path().join("raw_dump"), dir.path().join("raw_api"));
    let (canon_dump, canon_api) = (dir.path().join("canon_dump"), dir.path().join("canon_api"));

    let tables: Vec<String> = MODELS
        .iter()
        .map(|m| format!("public.{}", m.replace('.', "_")))
        .collect();
    ferry_ok(&[
        "extract",
        dump().to_str().unwrap(),
        "--out",
        raw_dump.to_str().unwrap(),
        "--streams",
        &tables.join(","),
    ]);
    let spec = url.replacen("http://", "odoo+http://", 1);
    let out = ferry()
        .args([
            "extract",
            &spec,
            "--user",
            "admin",
            "--password-env",
            PASSWORD_ENV,
        ])
        .args([
            "--out",
            raw_api.to_str().unwrap(),
            "--streams",
            &MODELS.join(","),
        ])
        .env(PASSWORD_ENV, "admin")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ferry extract from the Odoo test server failed:\n{}",
        stderr(&out)
    );

    let mapped_dump = map(&raw_dump, &canon_dump);
    let mapped_api = map(&raw_api, &canon_api);
    eprintln!("entity: rows from the dump / from the API");
    for (entity, n) in &mapped_dump {
        eprintln!("  {entity}: {n} / {:?}", mapped_api.get(entity));
    }
    assert_eq!(
        mapped_dump.keys().collect::<Vec<_>>(),
        mapped_api.keys().collect::<Vec<_>>(),
        "both roads map the same entities"
    );

    // Counts equal the database's, with the filters the mappings use.
    for (entity, sql) in DB_COUNTS {
        let expected: u64 = psql(&db, sql).parse().unwrap();
        let got = mapped_dump.get(entity).copied().unwrap_or(0);
        assert_eq!(
            got, expected,
            "{entity}: {got} rows from the dump, the database has {expected}"
        );
        let got = mapped_api.get(entity).copied().unwrap_or(0);
        assert_eq!(
            got, expected,
            "{entity}: {got} rows from the API, the database has {expected}"
        );
    }
    for entity in MAIN {
        assert!(
            mapped_dump.get(entity).copied().unwrap_or(0) > 0,
            "{entity} is empty"
        );
    }

    // Row by row, column by column.
    let mut known = 0;
    for entity in mapped_dump.keys() {
        let (a, b) = (rows(&canon_dump, entity), rows(&canon_api, entity));
        assert_eq!(a.len(), b.len(), "{entity}: row counts differ");
        for (ra, rb) in a.iter().zip(&b) {
            // `ferry sql --format json` leaves NULL columns out of a row.
            let cols: std::collections::BTreeSet<&String> = ra.keys().chain(rb.keys()).collect();
            for col in cols {
                let (va, vb) = (
                    ra.get(col).unwrap_or(&Value::Null),
                    rb.get(col).unwrap_or(&Value::Null),
                );
                if va == vb {
                    continue;
                }
                if COMPANY_DEPENDENT.contains(&(entity.as_str(), col.as_str())) {
                    known += 1;
                    continue;
                }
                panic!(
                    "{entity} {}: {col} is {va} from the dump but {vb} from the API\ndump row: {ra:?}\napi row:  {rb:?}",
                    ra["id"]
                );
            }
        }
    }
    eprintln!("{known} company-dependent values differ between the roads (see COMPANY_DEPENDENT)");

    // The company-dependent columns, from the dump, against the database.
    let codes = psql(
        &db,
        "SELECT count(*) FROM account_account WHERE code_store IS NOT NULL",
    );
    let with_code = rows(&canon_dump, "account")
        .iter()
        .filter(|r| r.get("code").is_some_and(Value::is_string))
        .count();
    assert_eq!(with_code.to_string(), codes, "accounts with a code (dump)");
    let costs = psql(
        &db,
        "SELECT string_agg(id || '=' || ((standard_price ->> '1')::numeric)::text, ',' ORDER BY id) \
         FROM product_product WHERE standard_price ? '1'",
    );
    let dump_costs: BTreeMap<i64, f64> = rows(&canon_dump, "product")
        .iter()
        .filter_map(|r| {
            let id = r["source_id"].as_str()?.parse().ok()?;
            let cost = match r.get("cost_price")? {
                Value::String(s) => s.parse().ok()?,
                Value::Number(n) => n.as_f64()?,
                _ => return None,
            };
            Some((id, cost))
        })
        .collect();
    for pair in costs.split(',').filter(|p| !p.is_empty()) {
        let (id, cost) = pair.split_once('=').unwrap();
        let (id, cost): (i64, f64) = (id.parse().unwrap(), cost.parse().unwrap());
        assert_eq!(dump_costs.get(&id), Some(&cost), "cost of product {id}");
    }

    // The API road reads company-dependent fields for the user's own company (admin's
    // company_id), which ferry puts first in allowed_company_ids.
    let own = psql(
        &db,
        "SELECT company_id FROM res_users WHERE login = 'admin'",
    );
    let own_codes = psql(
        &db,
        &format!("SELECT count(*) FROM account_account WHERE code_store ? '{own}'"),
    );
    let api_codes = rows(&canon_api, "account")
        .iter()
        .filter(|r| r.get("code").is_some_and(Value::is_string))
        .count();
    assert_eq!(
        api_codes.to_string(),
        own_codes,
        "accounts with a code for company {own} (API)"
    );

    // A few values against the database: order numbers and totals, invoice totals.
    let orders = psql(
        &db,
        "SELECT string_agg(id || '|' || name || '|' || amount_total::numeric(20,2), ',' ORDER BY id) FROM sale_order",
    );
    let canon_orders: Vec<String> = rows(&canon_api, "sale_order")
        .iter()
        .map(|r| {
            let total: f64 = match &r["total_amount"] {
                Value::String(s) => s.parse().unwrap(),
                v => v.as_f64().unwrap(),
            };
            format!(
                "{}|{}|{total:.2}",
                r["source_id"].as_str().unwrap(),
                r["number"].as_str().unwrap()
            )
        })
        .collect();
    let mut expected: Vec<String> = orders.split(',').map(str::to_owned).collect();
    let mut got = canon_orders;
    expected.sort();
    got.sort();
    assert_eq!(got, expected, "sale orders: number and total");
}
