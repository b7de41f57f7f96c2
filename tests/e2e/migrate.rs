//! `ferry migrate` from the seeded Tryton (tests/harness/tryton, port 8765) into empty
//! Tryton databases of a second server (`start.sh 8766 --targets …`: company,
//! currency and accounts set up, no business data). Every figure is read from both
//! servers by the test itself, not taken from ferry's report.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::tryton::{PASSWORD, rpc, server};
use crate::util::*;

const TARGETS: &str = "mig_full,mig_kill,mig_reject,bk_tryton";

fn harness() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/harness/tryton")
}

/// Base URL of the server holding the empty target databases (fresh each test run);
/// `bk_tryton` is the backup tests' source.
pub(crate) fn targets() -> Option<&'static str> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        server()?;
        let port = std::env::var("FERRY_TRYTON_TARGET_PORT").unwrap_or_else(|_| "8766".into());
        let out = Command::new(harness().join("start.sh"))
            .args([port.as_str(), "--targets", TARGETS])
            .env("FERRY_TRYTON_PASSWORD", PASSWORD)
            .output()
            .expect("start.sh runs");
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                !mandatory(),
                "the Tryton target server could not be started:\n{err}"
            );
            eprintln!("Tryton target server unavailable, skipping:\n{err}");
            return None;
        }
        Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    })
    .as_deref()
}

const STREAMS: &str = "party.party,party.address,party.contact_mechanism,party.identifier,\
product.product,product.template,product.category,product.uom,product.uom.category,\
currency.currency,company.company,country.country,account.tax,sale.sale,sale.line,\
purchase.purchase,purchase.line,account.invoice,account.invoice.line,stock.location,\
account.account,account.account.type";

fn job(dir: &Path, source: &str, target: &str, extra: &str) -> PathBuf {
    let host = |u: &str| u.replacen("http://", "tryton+http://", 1);
    write(
        dir,
        "job.toml",
        format!(
            "[source]\nkind = \"tryton\"\nurl = \"{}\"\nuser = \"admin\"\npassword_env = \"FERRY_E2E_TRYTON_PW\"\n\n\
             [migrate]\nfrom = \"tryton\"\nstreams = [{}]\n{extra}\n\n\
             [target]\nkind = \"tryton\"\nurl = \"{}\"\nuser = \"admin\"\npassword_env = \"FERRY_E2E_TRYTON_PW\"\n",
            host(source),
            STREAMS
                .split(',')
                .map(|s| format!("\"{s}\""))
                .collect::<Vec<_>>()
                .join(", "),
            host(target)
        ),
    )
}

fn migrate(job: &Path, args: &[&str]) -> Output {
    ferry()
        .arg("migrate")
        .arg(job)
        .args(args)
        .env("FERRY_E2E_TRYTON_PW", PASSWORD)
        .output()
        .expect("ferry runs")
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\nstdout:\n{}\nstderr:\n{}",
            stdout(out),
            stderr(out)
        )
    })
}

fn ctx() -> Value {
    json!({"active_test": false, "company": 1})
}

fn search_read(url: &str, model: &str, fields: &[&str]) -> Vec<Value> {
    rpc(
        url,
        &format!("model.{model}.search_read"),
        json!([[], 0, null, [["id", "ASC"]], fields, ctx()]),
    )
    .as_array()
    .cloned()
    .unwrap_or_default()
}

fn name_of(url: &str, model: &str, id: &Value) -> Value {
    let Some(id) = id.as_i64() else {
        return Value::Null;
    };
    let rows = rpc(
        url,
        &format!("model.{model}.read"),
        json!([[id], ["rec_name"], ctx()]),
    );
    rows[0]["rec_name"].clone()
}

/// Tryton keeps a decimal's written scale (`99.9900` stays so): compare values.
fn same_decimals(v: &mut Value) {
    match v {
        Value::Object(m) if m.get("__class__") == Some(&json!("Decimal")) => {
            let d = m["decimal"].as_str().unwrap_or("0");
            let d = if d.contains('.') {
                d.trim_end_matches('0').trim_end_matches('.')
            } else {
                d
            };
            *v = json!(d);
        }
        Value::Object(m) => m.values_mut().for_each(same_decimals),
        Value::Array(a) => a.iter_mut().for_each(same_decimals),
        _ => {}
    }
}

/// What a database holds, independent of ids: per model, the sorted list of each
/// record's business values (references by name, amounts as Tryton gives them).
fn business_content(url: &str) -> Value {
    let mut out = serde_json::Map::new();
    let mut sorted = |model: &str, rows: Vec<Value>| {
        let mut rows: Vec<String> = rows
            .into_iter()
            .map(|mut r| {
                same_decimals(&mut r);
                r.to_string()
            })
            .collect();
        rows.sort();
        out.insert(model.to_owned(), json!(rows));
    };
    let parties = search_read(url, "party.party", &["name", "active"])
        .into_iter()
        .map(|p| json!([p["name"], p["active"]]))
        .collect();
    sorted("party.party", parties);
    let addresses: Vec<Value> = search_read(
        url,
        "party.address",
        &["party", "street", "postal_code", "city", "active"],
    )
    .into_iter()
    .map(|a| {
        json!([
            name_of(url, "party.party", &a["party"]),
            a["street"],
            a["postal_code"],
            a["city"],
            a["active"]
        ])
    })
    .collect();
    sorted("party.address", addresses);
    let products: Vec<Value> = search_read(
        url,
        "product.product",
        &[
            "code",
            "name",
            "list_price",
            "default_uom",
            "salable",
            "purchasable",
            "active",
        ],
    )
    .into_iter()
    .map(|p| {
        json!([
            p["code"],
            p["name"],
            p["list_price"],
            name_of(url, "product.uom", &p["default_uom"]),
            p["salable"],
            p["purchasable"],
            p["active"]
        ])
    })
    .collect();
    sorted("product.product", products);
    for (model, line_model, date) in [
        ("sale.sale", "sale.line", "sale_date"),
        ("purchase.purchase", "purchase.line", "purchase_date"),
        ("account.invoice", "account.invoice.line", "invoice_date"),
    ] {
        let docs: Vec<Value> = search_read(
            url,
            model,
            &["party", date, "untaxed_amount", "total_amount", "state"],
        )
        .into_iter()
        .map(|d| {
            json!([
                name_of(url, "party.party", &d["party"]),
                d[date],
                d["untaxed_amount"],
                d["total_amount"],
                d["state"]
            ])
        })
        .collect();
        sorted(model, docs);
        let lines: Vec<Value> = search_read(
            url,
            line_model,
            &["product", "description", "quantity", "unit_price", "amount"],
        )
        .into_iter()
        .map(|l| {
            json!([
                name_of(url, "product.product", &l["product"]),
                l["description"],
                l["quantity"],
                l["unit_price"],
                l["amount"]
            ])
        })
        .collect();
        sorted(line_model, lines);
    }
    Value::Object(out)
}

fn count(url: &str, model: &str) -> i64 {
    rpc(
        url,
        &format!("model.{model}.search_count"),
        json!([[], ctx()]),
    )
    .as_i64()
    .unwrap()
}

fn loaded(report: &Value, entity: &str) -> Value {
    report["migration"]["loaded"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["entity"] == entity)
        .cloned()
        .unwrap_or_else(|| panic!("{entity} not in {report:#}"))
}

fn total(report: &Value, field: &str) -> u64 {
    report["migration"]["loaded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l[field].as_u64().unwrap())
        .sum()
}

const ENTITY_MODELS: [(&str, &str); 9] = [
    ("party", "party.party"),
    ("address", "party.address"),
    ("product", "product.product"),
    ("sale_order", "sale.sale"),
    ("sale_order_line", "sale.line"),
    ("purchase_order", "purchase.purchase"),
    ("purchase_order_line", "purchase.line"),
    ("invoice", "account.invoice"),
    ("invoice_line", "account.invoice.line"),
];

/// The target holds exactly the source's business records and the report's figures
/// are the servers'.
fn assert_same_content(source: &str, target: &str, report: &Value) {
    assert_eq!(
        business_content(target),
        business_content(source),
        "the target holds exactly the source's records"
    );
    let rec = report["migration"]["reconciliation"].as_array().unwrap();
    for (entity, model) in ENTITY_MODELS {
        let check = rec
            .iter()
            .find(|c| c["entity"] == entity)
            .unwrap_or_else(|| panic!("{entity} not reconciled: {report:#}"));
        let n = count(source, model);
        assert_eq!(check["source"], json!(n), "{entity}: source count");
        assert_eq!(check["canonical"], json!(n), "{entity}: canonical count");
        assert_eq!(check["target"], json!(n), "{entity}: on the target");
        assert_eq!(check["missing_count"], json!(0), "{entity}");
        assert_eq!(check["differing_count"], json!(0), "{entity}: {check:#}");
    }
    // Document totals, summed exactly from each server's own figures.
    for model in ["sale.sale", "purchase.purchase", "account.invoice"] {
        for field in ["untaxed_amount", "total_amount"] {
            let sum = |url: &str| -> i128 {
                search_read(url, model, &[field])
                    .iter()
                    .map(|r| units(r[field]["decimal"].as_str().unwrap_or("0")))
                    .sum()
            };
            assert_eq!(sum(target), sum(source), "{model}.{field}");
            let check = rec.iter().find(|c| c["model"] == model).unwrap();
            let s = check["sums"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["field"] == field)
                .unwrap();
            assert_eq!(s["equal"], json!(true), "{model}.{field}: {s}");
        }
    }
}

/// A decimal text as an integer number of 10^-8.
fn units(d: &str) -> i128 {
    let neg = d.starts_with('-');
    let d = d.trim_start_matches('-');
    let (i, f) = d.split_once('.').unwrap_or((d, ""));
    let f = format!("{f:0<8}");
    let v = i.parse::<i128>().unwrap() * 100_000_000 + f[..8].parse::<i128>().unwrap();
    if neg { -v } else { v }
}

#[test]
fn tryton_migrates_into_an_empty_tryton_completely_and_a_rerun_changes_nothing() {
    let Some(source) = server() else { return };
    let Some(base) = targets() else { return };
    let target = format!("{base}/mig_full");
    let dir = tempfile::tempdir().unwrap();
    let job = job(dir.path(), source, &target, "batch_size = 4");

    // A dry run writes nothing and says what it would create.
    let before = count(&target, "party.party");
    let out = migrate(&job, &["--dry-run", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dry = report(&out);
    assert_eq!(dry["migration"]["dry_run"], json!(true));
    assert_eq!(
        loaded(&dry, "sale_order_line")["created"],
        json!(count(source, "sale.line"))
    );
    assert_eq!(
        count(&target, "party.party"),
        before,
        "a dry run writes nothing"
    );
    assert_eq!(count(&target, "sale.sale"), 0);

    let out = migrate(&job, &["--json"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let first = report(&out);
    assert_eq!(first["migration"]["complete"], json!(true), "{first:#}");
    assert_eq!(first["migration"]["rejects"], json!([]));
    assert_same_content(source, &target, &first);
    assert!(!stdout(&out).contains(PASSWORD) && !stderr(&out).contains(PASSWORD));

    // Unchanged source: nothing created, nothing written.
    let out = migrate(&job, &["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let second = report(&out);
    assert_eq!(total(&second, "created"), 0, "{second:#}");
    assert_eq!(total(&second, "updated"), 0, "{second:#}");
    assert_eq!(total(&second, "recovered"), 0);
    assert_eq!(total(&second, "unchanged"), total(&first, "selected"));
    assert_same_content(source, &target, &second);
}

#[test]
fn a_migration_killed_mid_load_resumes_without_duplicates() {
    let Some(source) = server() else { return };
    let Some(base) = targets() else { return };
    let target = format!("{base}/mig_kill");
    let dir = tempfile::tempdir().unwrap();
    let job = job(dir.path(), source, &target, "batch_size = 1");
    let ids = dir.path().join("job.ids.sqlite");
    let mut child = ferry()
        .arg("migrate")
        .arg(&job)
        .arg("--quiet")
        .env("FERRY_E2E_TRYTON_PW", PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once some, not all, records are loaded (one record per call).
    let entries = || -> i64 {
        let out = Command::new("python3")
            .args([
                "-c",
                "import sqlite3,sys\ntry:\n c=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro',uri=True);print(c.execute('select count(*) from ids').fetchone()[0])\nexcept Exception:\n print(0)",
                ids.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        stdout(&out).trim().parse().unwrap_or(0)
    };
    let start = Instant::now();
    let mut at_kill = 0;
    while start.elapsed() < Duration::from_secs(240) {
        at_kill = entries();
        if at_kill >= 12 {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        at_kill >= 12,
        "the run was killed mid-load (ID map had {at_kill} entries)"
    );
    let partial = count(&target, "party.party") + count(&target, "product.product");
    assert!(
        partial < count(source, "party.party") + count(source, "product.product") + 1,
        "killed before the end"
    );

    let out = migrate(&job, &["--json"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let rerun = report(&out);
    assert_eq!(rerun["migration"]["complete"], json!(true), "{rerun:#}");
    assert_same_content(source, &target, &rerun);
    // What the killed run finished is not created again.
    assert!(
        total(&rerun, "unchanged") + total(&rerun, "recovered") > 0,
        "the rerun kept the killed run's work: {rerun:#}"
    );
    assert_eq!(
        total(&rerun, "created") + total(&rerun, "unchanged") + total(&rerun, "recovered"),
        total(&rerun, "selected")
    );
}

#[test]
fn a_record_the_target_refuses_is_reported_with_its_message_and_the_rest_loads() {
    let Some(source) = server() else { return };
    let Some(base) = targets() else { return };
    let target = format!("{base}/mig_reject");
    let dir = tempfile::tempdir().unwrap();
    // Product P-0002 (sold by the Unit) gets a sale unit of another category, which
    // Tryton's domain on `sale_uom` refuses.
    let overrides = dir.path().join("mappings/tryton/load");
    std::fs::create_dir_all(&overrides).unwrap();
    let product = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../mappings/tryton/load/product.toml"),
    )
    .unwrap()
    .replace(
        "u.symbol AS \"sale_uom:find:product.uom:symbol\"",
        "CASE WHEN p.code = 'P-0002' THEN 'kg' ELSE u.symbol END AS \"sale_uom:find:product.uom:symbol\"",
    );
    assert!(product.contains("P-0002"));
    write(&overrides, "product.toml", product);
    let job = job(
        dir.path(),
        source,
        &target,
        "mappings = \"mappings\"\nbatch_size = 5",
    );
    let out = migrate(&job, &["--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = report(&out);
    let rejects = r["migration"]["rejects"].as_array().unwrap();
    let bad: Vec<&Value> = rejects
        .iter()
        .filter(|x| x["entity"] == "product")
        .collect();
    assert_eq!(bad.len(), 1, "{rejects:#?}");
    let message = bad[0]["message"].as_str().unwrap();
    assert!(
        message.contains("Sale UoM") || message.contains("sale_uom"),
        "the target's own message: {message}"
    );
    // Everything else loaded: all parties, every other product.
    assert_eq!(count(&target, "party.party"), count(source, "party.party"));
    assert_eq!(
        count(&target, "product.product"),
        count(source, "product.product") - 1
    );
    // Lines of that product are rejected by ferry, naming the product.
    for x in rejects.iter().filter(|x| x["entity"] != "product") {
        let m = x["message"].as_str().unwrap();
        assert!(
            m.contains("was not loaded") || m.contains("was rejected"),
            "{x}"
        );
    }
    assert_eq!(r["migration"]["complete"], json!(false));
}
