//! `ferry map` and `ferry check`: raw extractions to the canonical model.
//!
//! - A real Tryton (tests/harness/tryton) → raw → canonical: counts per entity and
//!   document totals equal what the server itself answers, and the quality report is
//!   clean.
//! - A vendor of the test's own (mapping files given with `--mappings`, no
//!   recompiling) over a deliberately broken data set: the report holds exactly the
//!   faults planted.

use std::path::Path;

use serde_json::{Value, json};

use crate::tryton::{rpc, server, spec};
use crate::util::*;

/// Tryton models the built-in Tryton mappings read.
const TRYTON_MODELS: [&str; 26] = [
    "party.party",
    "party.address",
    "party.contact_mechanism",
    "party.identifier",
    "product.product",
    "product.template",
    "product.category",
    "product.uom",
    "product.uom.category",
    "currency.currency",
    "company.company",
    "country.country",
    "account.tax",
    "sale.sale",
    "sale.line",
    "purchase.purchase",
    "purchase.line",
    "account.invoice",
    "account.invoice.line",
    "stock.location",
    "stock.move",
    "account.account",
    "account.account.type",
    "account.move",
    "account.move.line",
    "account.journal",
];

/// Canonical entity → the Tryton model it maps one to one.
const ENTITY_MODELS: [(&str, &str); 19] = [
    ("party", "party.party"),
    ("address", "party.address"),
    ("contact", "party.contact_mechanism"),
    ("product", "product.product"),
    ("product_category", "product.category"),
    ("uom", "product.uom"),
    ("currency", "currency.currency"),
    ("tax", "account.tax"),
    ("sale_order", "sale.sale"),
    ("sale_order_line", "sale.line"),
    ("purchase_order", "purchase.purchase"),
    ("purchase_order_line", "purchase.line"),
    ("invoice", "account.invoice"),
    ("invoice_line", "account.invoice.line"),
    ("stock_location", "stock.location"),
    ("stock_move", "stock.move"),
    ("account", "account.account"),
    ("journal_entry", "account.move"),
    ("journal_line", "account.move.line"),
];

/// One value of a one-row query on a data folder, as text.
pub(crate) fn sql_value(data: &Path, query: &str) -> String {
    let out = ferry_ok(&[
        "sql",
        "--data",
        data.to_str().unwrap(),
        "--format",
        "jsonl",
        query,
    ]);
    let row: Value = serde_json::from_str(stdout(&out).lines().next().expect("one row")).unwrap();
    match row.as_object().unwrap().values().next().unwrap() {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Maps `raw` with `ferry map … --json`, returning the JSON report.
pub(crate) fn map(vendor: &str, raw: &Path, out: &Path, extra: &[&str]) -> Value {
    let res = ferry()
        .args(["map", "--from", vendor, "--in", raw.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap(), "--json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        res.status.success(),
        "ferry map failed: {}\n{}",
        stderr(&res),
        stdout(&res)
    );
    serde_json::from_slice(&res.stdout).unwrap()
}

#[test]
fn tryton_maps_to_the_canonical_model_with_the_servers_counts_and_totals() {
    let Some(url) = server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let canon = dir.path().join("canonical");
    ferry_ok(&[
        "extract",
        &spec(url),
        "--out",
        raw.to_str().unwrap(),
        "--quiet",
        "--streams",
        &TRYTON_MODELS.join(","),
    ]);
    let report = map("tryton", &raw, &canon, &[]);
    let quality = &report["quality"];
    assert_eq!(
        quality["findings"],
        json!([]),
        "the quality report of real Tryton data is clean: {quality:#}"
    );
    let ctx = json!({"active_test": false, "company": 1});
    for (entity, model) in ENTITY_MODELS {
        let server_count = rpc(
            url,
            &format!("model.{model}.search_count"),
            json!([[], ctx]),
        );
        let ours = sql_value(&canon, &format!("SELECT count(*) AS n FROM {entity}"));
        assert_eq!(ours, server_count.to_string(), "{entity} vs {model}");
    }
    assert!(sql_value(&canon, "SELECT count(*) FROM sale_order_line") != "0");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(canon.join("_ferry/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["source_metadata"]["canonical_model_version"], 1);
    assert_eq!(manifest["source_metadata"]["vendor"], "tryton");
    assert!(
        manifest["source_metadata"]["skipped"]
            .as_object()
            .unwrap()
            .contains_key("bom"),
        "entities Tryton's mappings do not cover are listed"
    );

    // Document totals: the server's own figures, summed here, against the canonical sums.
    for (entity, model) in [
        ("sale_order", "sale.sale"),
        ("purchase_order", "purchase.purchase"),
        ("invoice", "account.invoice"),
    ] {
        let docs = rpc(
            url,
            &format!("model.{model}.search_read"),
            json!([
                [],
                0,
                null,
                [["id", "ASC"]],
                ["id", "untaxed_amount", "total_amount"],
                ctx
            ]),
        );
        for field in ["untaxed_amount", "total_amount"] {
            // Exact decimal sum of the server's strings, in cents.
            let cents: i128 = docs
                .as_array()
                .unwrap()
                .iter()
                .map(|d| {
                    let text = d[field]["decimal"].as_str().unwrap();
                    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
                    let frac = format!("{frac:0<2}");
                    assert!(
                        frac[2..].chars().all(|c| c == '0'),
                        "{text} has sub-cent digits"
                    );
                    let sign = if int.starts_with('-') { -1 } else { 1 };
                    int.parse::<i128>().unwrap() * 100 + sign * frac[..2].parse::<i128>().unwrap()
                })
                .sum();
            let sign = if cents < 0 { "-" } else { "" };
            let expected = format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100);
            let ours = sql_value(
                &canon,
                &format!("SELECT CAST(SUM({field}) AS VARCHAR) AS s FROM {entity}"),
            );
            assert_eq!(norm(&ours), norm(&expected), "{entity}.{field}");
        }
    }
    // One order, field by field.
    let first = rpc(
        url,
        "model.sale.sale.search_read",
        json!([
            [],
            0,
            1,
            [["id", "ASC"]],
            ["id", "party", "state", "sale_date"],
            ctx
        ]),
    );
    let first = &first[0];
    let row = ferry_ok(&[
        "sql",
        "--data",
        canon.to_str().unwrap(),
        "--format",
        "jsonl",
        &format!(
            "SELECT customer_id, state, CAST(order_date AS VARCHAR) AS d FROM sale_order WHERE source_id = '{}'",
            first["id"]
        ),
    ]);
    let row: Value = serde_json::from_str(stdout(&row).trim()).unwrap();
    assert_eq!(row["customer_id"], format!("tryton:{}", first["party"]));
    let date = &first["sale_date"];
    assert_eq!(
        row["d"],
        format!(
            "{:04}-{:02}-{:02}",
            date["year"].as_i64().unwrap(),
            date["month"].as_i64().unwrap(),
            date["day"].as_i64().unwrap()
        )
    );
}

/// Mapping files of a vendor "acme" the test invents: raw CSV exports → canonical.
const ACME_MAPPINGS: [(&str, &str); 3] = [
    (
        "acme/party.sql",
        "SELECT '${source_system}:' || CAST(id AS VARCHAR) AS id, '${source_system}' AS source_system,
                CAST(id AS VARCHAR) AS source_id, CAST(NULL AS VARCHAR) AS code, name,
                'company' AS kind, true AS is_customer, false AS is_supplier,
                CAST(NULL AS VARCHAR) AS tax_id, CAST(NULL AS VARCHAR) AS email,
                CAST(NULL AS VARCHAR) AS phone, true AS active,
                CAST(NULL AS TIMESTAMP) AS created_at, CAST(NULL AS TIMESTAMP) AS updated_at
         FROM customers",
    ),
    (
        "acme/sale_order.sql",
        "SELECT '${source_system}:' || CAST(id AS VARCHAR) AS id, '${source_system}' AS source_system,
                CAST(id AS VARCHAR) AS source_id, number,
                '${source_system}:' || CAST(customer AS VARCHAR) AS customer_id,
                CAST(NULL AS DATE) AS order_date, state, 'EUR' AS currency,
                CAST(untaxed AS DECIMAL(12, 2)) AS untaxed_amount,
                CAST(NULL AS DECIMAL(12, 2)) AS tax_amount,
                CAST(NULL AS DECIMAL(12, 2)) AS total_amount,
                CAST(NULL AS VARCHAR) AS invoice_address_id,
                CAST(NULL AS VARCHAR) AS delivery_address_id,
                CAST(NULL AS TIMESTAMP) AS created_at
         FROM orders",
    ),
    (
        "acme/sale_order_line.sql",
        "SELECT '${source_system}:' || CAST(id AS VARCHAR) AS id, '${source_system}' AS source_system,
                CAST(id AS VARCHAR) AS source_id,
                '${source_system}:' || CAST(order_id AS VARCHAR) AS order_id,
                CAST(NULL AS BIGINT) AS sequence, CAST(NULL AS VARCHAR) AS product_id,
                CAST(NULL AS VARCHAR) AS description,
                CAST(qty AS DECIMAL(12, 3)) AS quantity, CAST(NULL AS VARCHAR) AS uom_id,
                CAST(price AS DECIMAL(12, 2)) AS unit_price,
                CAST(NULL AS DECIMAL(12, 2)) AS discount,
                CAST(amount AS DECIMAL(12, 2)) AS amount, 'EUR' AS currency
         FROM order_lines",
    ),
];

fn acme(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let exports = dir.join("exports");
    std::fs::create_dir_all(&exports).unwrap();
    // Planted faults: customer 2 twice; order 12 names customer 9, who does not
    // exist; order 11's header says 30.01 while its lines sum to 30.00.
    write(
        &exports,
        "customers.csv",
        "id,name\n1,Épicerie Noël\n2,Müller GmbH\n2,Müller GmbH (copie)\n3,Café Crème\n",
    );
    write(
        &exports,
        "orders.csv",
        "id,number,customer,state,untaxed\n10,SO10,1,confirmed,12.50\n11,SO11,2,confirmed,30.01\n12,SO12,9,draft,5.00\n13,SO13,3,done,0.00\n",
    );
    write(
        &exports,
        "order_lines.csv",
        "id,order_id,qty,price,amount\n100,10,1,12.50,12.50\n101,11,2,10.00,20.00\n102,11,1,10.00,10.00\n103,12,1,5.00,5.00\n",
    );
    let mappings = dir.join("mappings");
    for (rel, sql) in ACME_MAPPINGS {
        let path = mappings.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, sql).unwrap();
    }
    let raw = dir.join("raw");
    ferry_ok(&[
        "extract",
        exports.to_str().unwrap(),
        "--out",
        raw.to_str().unwrap(),
        "--quiet",
    ]);
    (raw, mappings)
}

#[test]
fn a_broken_data_set_yields_exactly_its_planted_findings() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, mappings) = acme(dir.path());
    let canon = dir.path().join("canonical");
    let report = map(
        "acme",
        &raw,
        &canon,
        &["--mappings", mappings.to_str().unwrap()],
    );
    let findings: Vec<(String, String, String, u64, Value)> = report["quality"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_owned(),
                f["entity"].as_str().unwrap().to_owned(),
                f["column"].as_str().unwrap().to_owned(),
                f["count"].as_u64().unwrap(),
                f["examples"].clone(),
            )
        })
        .collect();
    assert_eq!(
        findings,
        vec![
            (
                "primary_key_unique".into(),
                "party".into(),
                "id".into(),
                1,
                json!(["acme:2 ×2"])
            ),
            (
                "foreign_key".into(),
                "sale_order".into(),
                "customer_id".into(),
                1,
                json!(["acme:12 → acme:9"])
            ),
            (
                "totals".into(),
                "sale_order".into(),
                "untaxed_amount".into(),
                1,
                json!(["acme:11 30.01000000 ≠ 30.00000000"])
            ),
        ],
        "{:#}",
        report["quality"]
    );

    // `ferry check` gives the same report; --strict turns it into a failure.
    let check = ferry()
        .args(["check", canon.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", stderr(&check));
    let again: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(again["findings"], report["quality"]["findings"]);
    let strict = ferry()
        .args(["check", canon.to_str().unwrap(), "--strict"])
        .output()
        .unwrap();
    assert_eq!(strict.status.code(), Some(1));
    let text = stdout(&strict);
    assert!(
        text.contains("3 finding(s)") && text.contains("acme:12 → acme:9"),
        "{text}"
    );
}

#[test]
fn a_mapping_that_does_not_fit_the_model_names_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, mappings) = acme(dir.path());
    // A float where the model wants an exact decimal.
    std::fs::write(
        mappings.join("acme/sale_order_line.sql"),
        ACME_MAPPINGS[2].1.replace(
            "CAST(price AS DECIMAL(12, 2)) AS unit_price",
            "CAST(price AS DOUBLE) AS unit_price",
        ),
    )
    .unwrap();
    let out = ferry()
        .args(["map", "--from", "acme", "--in", raw.to_str().unwrap()])
        .args(["--out", dir.path().join("c").to_str().unwrap()])
        .args(["--mappings", mappings.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("acme/sale_order_line.sql")
            && err.contains("\"unit_price\"")
            && err.contains("CAST"),
        "{err}"
    );
    // The entities that fit were written all the same.
    assert!(dir.path().join("c/party").is_dir());
    assert!(!dir.path().join("c/sale_order_line").exists());
}

/// The same SQL over a Tryton and an Odoo extraction, mapped to the canonical model and
/// queried as one: revenue per customer per month, by system.
#[test]
fn one_query_answers_across_tryton_and_odoo() {
    let Some(url) = server() else { return };
    let dump = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/samples/odoo19/pg_dump_ferry_demo.sql.gz");
    if !dump.exists() {
        assert!(!mandatory(), "../shared/samples is required in CI");
        eprintln!("{} not found: skipping", dump.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (raw_t, raw_o) = (dir.path().join("raw_t"), dir.path().join("raw_o"));
    let (canon_t, canon_o) = (dir.path().join("canon_t"), dir.path().join("canon_o"));
    ferry_ok(&[
        "extract",
        &spec(url),
        "--out",
        raw_t.to_str().unwrap(),
        "--quiet",
        "--streams",
        &TRYTON_MODELS.join(","),
    ]);
    ferry_ok(&[
        "extract",
        dump.to_str().unwrap(),
        "--out",
        raw_o.to_str().unwrap(),
        "--quiet",
    ]);
    map("tryton", &raw_t, &canon_t, &["--no-check"]);
    map("odoo", &raw_o, &canon_o, &["--no-check"]);
    let query = "SELECT o.source_system, p.name AS customer, \
                 date_trunc('month', CAST(o.order_date AS TIMESTAMP)) AS month, \
                 CAST(SUM(o.untaxed_amount) AS VARCHAR) AS revenue \
                 FROM sale_order o JOIN party p ON p.id = o.customer_id \
                 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";
    let run = |dirs: &[&Path]| -> Vec<Value> {
        let mut cmd = ferry();
        cmd.arg("sql");
        for d in dirs {
            cmd.args(["--data", d.to_str().unwrap()]);
        }
        let out = cmd.args(["--format", "jsonl", query]).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let tryton = run(&[&canon_t]);
    let odoo = run(&[&canon_o]);
    let both = run(&[&canon_t, &canon_o]);
    assert!(
        !tryton.is_empty() && !odoo.is_empty(),
        "{tryton:?} {odoo:?}"
    );
    assert!(tryton.iter().all(|r| r["source_system"] == "tryton"));
    assert!(odoo.iter().all(|r| r["source_system"] == "odoo"));
    // The combined answer is exactly the two answers together ('odoo' sorts first).
    let mut expected = odoo.clone();
    expected.extend(tryton);
    assert_eq!(both, expected);
}

/// `ferry map` as a step of a job file: `[source] kind = "map"`.
#[test]
fn a_job_file_maps_with_a_map_source() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, mappings) = acme(dir.path());
    let canon = dir.path().join("canonical");
    let job = write(
        dir.path(),
        "to-canonical.toml",
        format!(
            "[source]\nkind = \"map\"\nfrom = \"acme\"\nraw = {:?}\nmappings = {:?}\nsystem = \"acme-prod\"\n\n[sink]\nkind = \"parquet\"\npath = {:?}\n",
            raw.display().to_string(),
            mappings.display().to_string(),
            canon.display().to_string()
        ),
    );
    ferry_ok(&["run", job.to_str().unwrap(), "--quiet"]);
    assert_eq!(
        sql_value(&canon, "SELECT min(id) FROM party"),
        "acme-prod:1"
    );
    assert_eq!(
        sql_value(&canon, "SELECT count(*) FROM sale_order_line"),
        "4"
    );
}

#[test]
fn a_table_skipped_by_a_later_map_run_does_not_stay_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, mappings) = acme(dir.path());
    let canon = dir.path().join("canonical");
    let mappings_arg = ["--mappings", mappings.to_str().unwrap()];
    map("acme", &raw, &canon, &mappings_arg);
    assert!(canon.join("sale_order_line").is_dir());
    // The lines' raw table is gone (not extracted this time): its canonical table goes.
    std::fs::remove_dir_all(raw.join("order_lines")).unwrap();
    map("acme", &raw, &canon, &mappings_arg);
    assert!(
        !canon.join("sale_order_line").exists(),
        "the stale canonical table was removed"
    );
    assert!(canon.join("sale_order").is_dir());
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(canon.join("_ferry/manifest.json")).unwrap())
            .unwrap();
    assert!(
        manifest["streams"].get("sale_order_line").is_none(),
        "{manifest:#}"
    );
    assert!(manifest["streams"].get("sale_order").is_some());
    assert!(
        manifest["source_metadata"]["skipped"]
            .get("sale_order_line")
            .is_some(),
        "the manifest says why: {manifest:#}"
    );
}
