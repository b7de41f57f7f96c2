//! `ferry migrate` into Odoo: the Odoo 19 demo database served by the Odoo test server
//! (tests/harness/odoo) is the source, a fresh copy of it served by a second server
//! (`start.sh PORT --copy NAME`) the target. Every figure is read by the test itself:
//! expected counts and untaxed sums from the source database with psql, what the
//! target holds through the server's own `search_count` and from the copy with psql,
//! calls from the target server's log. Runs when PostgreSQL, python3 and the dump are
//! there; with `CI` set, their absence is a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::util::*;

const PASSWORD: &str = "admin";
const SOURCE_DB: &str = "ferry_odoo19_e2e";
const TARGET_DB: &str = "ferry_odoo19_migrate";
const BATCH: u64 = 10;

/// Raw models the Odoo mappings read (as in the canonical test).
const STREAMS: [&str; 26] = [
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

/// Per loaded entity: its target model, and the source rows it comes from (the Odoo
/// mappings' filters), counted in the source database.
const ENTITIES: [(&str, &str, &str); 9] = [
    (
        "party",
        "res.partner",
        "SELECT count(*) FROM res_partner WHERE commercial_partner_id = id",
    ),
    (
        "address",
        "res.partner",
        "SELECT count(*) FROM res_partner WHERE commercial_partner_id IS NOT NULL \
         AND (street IS NOT NULL OR street2 IS NOT NULL OR zip IS NOT NULL OR city IS NOT NULL \
         OR state_id IS NOT NULL OR country_id IS NOT NULL OR type IN ('invoice', 'delivery', 'other'))",
    ),
    (
        "product",
        "product.template",
        "SELECT count(*) FROM product_product",
    ),
    (
        "sale_order",
        "sale.order",
        "SELECT count(*) FROM sale_order",
    ),
    (
        "sale_order_line",
        "sale.order.line",
        "SELECT count(*) FROM sale_order_line WHERE display_type IS NULL",
    ),
    (
        "purchase_order",
        "purchase.order",
        "SELECT count(*) FROM purchase_order",
    ),
    (
        "purchase_order_line",
        "purchase.order.line",
        "SELECT count(*) FROM purchase_order_line WHERE display_type IS NULL",
    ),
    (
        "invoice",
        "account.move",
        "SELECT count(*) FROM account_move \
         WHERE move_type IN ('out_invoice', 'out_refund', 'in_invoice', 'in_refund')",
    ),
    (
        "invoice_line",
        "account.move.line",
        "SELECT count(*) FROM account_move_line l JOIN account_move m ON m.id = l.move_id \
         WHERE l.display_type = 'product' \
         AND m.move_type IN ('out_invoice', 'out_refund', 'in_invoice', 'in_refund')",
    ),
];

/// Untaxed totals of the source documents (target model, source SQL, target table).
const SUMS: [(&str, &str, &str); 3] = [
    (
        "sale.order",
        "SELECT coalesce(sum(amount_untaxed), 0) FROM sale_order",
        "sale_order",
    ),
    (
        "purchase.order",
        "SELECT coalesce(sum(amount_untaxed), 0) FROM purchase_order",
        "purchase_order",
    ),
    (
        "account.move",
        "SELECT coalesce(sum(amount_untaxed), 0) FROM account_move \
         WHERE move_type IN ('out_invoice', 'out_refund', 'in_invoice', 'in_refund')",
        "account_move",
    ),
];

pub(crate) fn harness() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/harness/odoo")
}

fn dump() -> PathBuf {
    std::env::var_os("FERRY_ODOO_DUMP")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/samples/odoo19/pg_dump_ferry_demo.sql.gz")
        })
}

fn port(var: &str, default: u16) -> u16 {
    std::env::var(var)
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default)
}

/// Starts the harness on `port` (a fresh copy named `copy` when given); the URL, or
/// `None` (skip) outside CI when something it needs is missing.
fn start(port: u16, copy: Option<&str>) -> Option<String> {
    match copy {
        Some(name) => start_with(port, &["--copy", name]),
        None => start_with(port, &[]),
    }
}

/// `start.sh PORT ARGS`: the server URL, or `None` (skip) outside CI.
pub(crate) fn start_with(port: u16, args: &[&str]) -> Option<String> {
    let mut cmd = Command::new(harness().join("start.sh"));
    cmd.arg(port.to_string())
        .args(args)
        .env("FERRY_ODOO_DUMP", dump());
    let out = cmd.output().expect("start.sh runs");
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !mandatory(),
            "the Odoo test server could not be started:\n{err}"
        );
        eprintln!("Odoo test server unavailable, skipping:\n{err}");
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

pub(crate) fn available() -> bool {
    if !postgres_reachable() {
        return false;
    }
    let python = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !python || !dump().is_file() {
        assert!(
            !mandatory(),
            "python3 and the Odoo 19 dump {} are required in CI",
            dump().display()
        );
        eprintln!("python3 or the Odoo dump missing: skipping the Odoo migration test");
        return false;
    }
    true
}

pub(crate) fn psql(db: &str, sql: &str) -> String {
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
    assert!(out.status.success(), "{sql}: {}", stderr(&out));
    stdout(&out).trim().to_owned()
}

fn count(db: &str, sql: &str) -> u64 {
    psql(db, sql).parse().unwrap()
}

/// `execute_kw` on the server at `url` (independent of ferry), with Python's stdlib.
fn execute_kw(url: &str, model: &str, method: &str, args: Value) -> Value {
    let script = r#"
import json, sys, urllib.request
url, pw, model, method, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
base, db = url.rsplit("/", 1)
def call(service, m, a):
    body = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": {"service": service, "method": m, "args": a}}
    req = urllib.request.Request(base + "/jsonrpc", json.dumps(body).encode(), {"Content-Type": "application/json"})
    r = json.loads(urllib.request.urlopen(req).read())
    if "error" in r:
        sys.exit(json.dumps(r["error"]))
    return r["result"]
uid = call("common", "authenticate", [db, "admin", pw, {}])
print(json.dumps(call("object", "execute_kw", [db, uid, pw, model, method, args, {"context": {"active_test": False}}])))
"#;
    let out = Command::new("python3")
        .args([
            "-c",
            script,
            url,
            PASSWORD,
            model,
            method,
            &args.to_string(),
        ])
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{model}.{method}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn search_count(url: &str, model: &str, domain: Value) -> u64 {
    execute_kw(url, model, "search_count", json!([domain]))
        .as_u64()
        .unwrap()
}

fn job(dir: &Path, source: &str, target: &str) -> PathBuf {
    let spec = |u: &str| u.replacen("http://", "odoo+http://", 1);
    let streams: Vec<String> = STREAMS.iter().map(|s| format!("\"{s}\"")).collect();
    write(
        dir,
        "job.toml",
        format!(
            "[source]\nkind = \"odoo\"\nurl = \"{}\"\nuser = \"admin\"\npassword_env = \"FERRY_E2E_ODOO_PW\"\n\n\
             [migrate]\nfrom = \"odoo\"\nstreams = [{}]\nbatch_size = {BATCH}\n\n\
             [target]\nkind = \"odoo\"\nurl = \"{}\"\nuser = \"admin\"\npassword_env = \"FERRY_E2E_ODOO_PW\"\n",
            spec(source),
            streams.join(", "),
            spec(target)
        ),
    )
}

fn migrate(job: &Path) -> (Output, Value) {
    let out = ferry()
        .args(["migrate", "--json"])
        .arg(job)
        .env("FERRY_E2E_ODOO_PW", PASSWORD)
        .output()
        .expect("ferry runs");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\nstdout:\n{}\nstderr:\n{}",
            stdout(&out),
            stderr(&out)
        )
    });
    (out, report)
}

fn loaded<'r>(report: &'r Value, entity: &str) -> &'r Value {
    report["migration"]["loaded"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["entity"] == entity)
        .unwrap_or_else(|| panic!("{entity} not in the report: {report:#}"))
}

/// `create` calls per model in the target server's log.
fn create_calls(port: u16, model: &str) -> u64 {
    let home = std::env::var_os("FERRY_ODOO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/ferry-odoo-harness")
        });
    let log = std::fs::read_to_string(home.join(format!("run-{port}/server.log"))).unwrap();
    let needle = format!("call {TARGET_DB} {model}.create ");
    log.lines().filter(|l| l.starts_with(&needle)).count() as u64
}

#[test]
fn odoo_to_odoo_copy_in_batches_with_external_ids_and_an_idempotent_rerun() {
    if !available() {
        return;
    }
    let source_port = port("FERRY_ODOO_MIGRATE_SOURCE_PORT", 8773);
    let target_port = port("FERRY_ODOO_MIGRATE_TARGET_PORT", 8774);
    let Some(source) = start(source_port, None) else {
        return;
    };
    let Some(target) = start(target_port, Some(TARGET_DB)) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let job = job(tmp.path(), &source, &target);

    // What the source holds, and what the copy holds before loading.
    let expected: Vec<u64> = ENTITIES
        .iter()
        .map(|(_, _, sql)| count(SOURCE_DB, sql))
        .collect();
    let mut growth = std::collections::BTreeMap::<&str, u64>::new();
    for ((_, model, _), n) in ENTITIES.iter().zip(&expected) {
        *growth.entry(model).or_default() += n;
    }
    let before: std::collections::BTreeMap<&str, u64> = growth
        .keys()
        .map(|model| (*model, search_count(&target, model, json!([]))))
        .collect();
    for ((entity, _, _), n) in ENTITIES.iter().zip(&expected) {
        assert!(*n > 0, "the demo database has no {entity}");
    }

    // 1. The load.
    let (out, report) = migrate(&job);
    std::fs::write(
        std::env::temp_dir().join("ferry-migrate-odoo-report.json"),
        serde_json::to_vec_pretty(&report).unwrap(),
    )
    .unwrap();
    assert!(
        out.status.success(),
        "migrate failed:\n{report:#}\nstderr:\n{}",
        stderr(&out)
    );
    assert_eq!(report["migration"]["complete"], true, "{report:#}");
    assert_eq!(report["migration"]["rejects"], json!([]));
    for ((entity, _, _), n) in ENTITIES.iter().zip(&expected) {
        let l = loaded(&report, entity);
        assert_eq!(l["selected"], json!(n), "{entity}: {l}");
        assert_eq!(l["created"], json!(n), "{entity}: {l}");
    }
    // Every record is on the target: per model, the growth is what the source has.
    for (model, n) in &growth {
        let now = search_count(&target, model, json!([]));
        assert_eq!(now - before[model], *n, "{model} on the target");
    }
    // External ids: one per created document, product and party, in module __ferry__.
    for (entity, model) in [
        ("party", "res.partner"),
        ("product", "product.template"),
        ("sale_order", "sale.order"),
        ("purchase_order", "purchase.order"),
        ("invoice", "account.move"),
    ] {
        let n = ENTITIES
            .iter()
            .zip(&expected)
            .find(|((e, _, _), _)| *e == entity)
            .unwrap()
            .1;
        let xids = search_count(
            &target,
            "ir.model.data",
            json!([["module", "=", "__ferry__"], ["model", "=", model]]),
        );
        assert_eq!(xids, *n, "external ids of {model}");
        // Each names a record that exists.
        let dangling = count(
            TARGET_DB,
            &format!(
                "SELECT count(*) FROM ir_model_data d WHERE d.module = '__ferry__' AND d.model = '{model}' \
                 AND NOT EXISTS (SELECT 1 FROM {} t WHERE t.id = d.res_id)",
                model.replace('.', "_")
            ),
        );
        assert_eq!(dangling, 0, "{model}");
        // Batches: creates of BATCH records, so ceil(n / BATCH) calls, never one per record.
        assert_eq!(
            create_calls(target_port, model),
            n.div_ceil(BATCH),
            "{model}: create calls for {n} records"
        );
    }
    // Untaxed totals of the loaded documents equal the source's (no taxes are computed
    // on the target, so the untaxed amount is what can be compared).
    for (model, source_sql, table) in SUMS {
        let source_sum = psql(SOURCE_DB, source_sql);
        let target_sum = psql(
            TARGET_DB,
            &format!(
                "SELECT coalesce(sum(t.amount_untaxed), 0) FROM {table} t JOIN ir_model_data d \
                 ON d.res_id = t.id AND d.model = '{model}' AND d.module = '__ferry__'"
            ),
        );
        assert_eq!(
            source_sum.parse::<f64>().unwrap(),
            target_sum.parse::<f64>().unwrap(),
            "untaxed total of {model}"
        );
    }
    let calls_after_load: Vec<u64> = ["res.partner", "sale.order", "account.move"]
        .iter()
        .map(|m| create_calls(target_port, m))
        .collect();

    // 2. A second run creates nothing and writes nothing.
    let (out, report) = migrate(&job);
    assert!(out.status.success(), "rerun failed:\n{report:#}");
    for l in report["migration"]["loaded"].as_array().unwrap() {
        assert_eq!(l["created"], 0, "rerun: {l}");
        assert_eq!(l["updated"], 0, "rerun: {l}");
        assert_eq!(l["rejected"], 0, "rerun: {l}");
    }
    // 3. Without the ID map (lost, or a crash before ferry recorded a batch), the
    // records are found by their external ids, not created again.
    std::fs::remove_file(tmp.path().join("job.ids.sqlite")).unwrap();
    let (out, report) = migrate(&job);
    assert!(
        out.status.success(),
        "run without ID map failed:\n{report:#}"
    );
    for ((entity, _, _), n) in ENTITIES.iter().zip(&expected) {
        let l = loaded(&report, entity);
        assert_eq!(l["created"], 0, "{entity}: {l}");
        assert_eq!(l["recovered"], json!(n), "{entity}: {l}");
    }
    for (model, n) in &growth {
        assert_eq!(
            search_count(&target, model, json!([])),
            before[model] + n,
            "{model} after the reruns"
        );
    }
    let calls_now: Vec<u64> = ["res.partner", "sale.order", "account.move"]
        .iter()
        .map(|m| create_calls(target_port, m))
        .collect();
    assert_eq!(calls_now, calls_after_load, "the reruns called create");
}
