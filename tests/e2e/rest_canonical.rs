//! The declarative REST sources end to end: `ferry extract` of a Dolibarr or ERPNext API
//! to raw Parquet, then `ferry map` to the canonical model, checked against what the
//! server holds, computed here without ferry.
//!
//! - Dolibarr: tests/harness/dolibarr/server.py replays the answers recorded from a real
//!   Dolibarr 20 (`../shared/samples/dolibarr20/samples`, or `FERRY_DOLIBARR_SAMPLES`;
//!   absent outside CI, where the test is skipped). The recordings hold part of that
//!   server's data (lists were recorded with `limit=2` or `3`): 6 of 8 third parties,
//!   3 of 8 products, 2 of 6 orders… The expected counts are computed from the
//!   recording files, and so are the quality findings the real data must yield: order,
//!   invoice, supplier-order and BOM lines naming products the recordings do not hold.
//! - ERPNext: tests/harness/erpnext/server.py, a small Frappe v15 site answering
//!   `/api/resource` as documented (token or session auth, `fields`, `filters`,
//!   paging, child DocTypes with `parent`), with accented names, a customer that is
//!   also a supplier, a cancelled and a draft order, a credit note and a debit note,
//!   cancelled stock and ledger entries. Expected counts come from the site itself,
//!   read over HTTP with a session login by Python's standard library.
//!
//! Both run when python3 is present; `CI` makes a missing python3 or recording fatal.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::util::*;

const DOLI_KEY: &str = "doli-e2e-K3y-51f0";
const ERP_KEY: &str = "e2e4p1key:e2es3cr3t";
const ERP_PASSWORD: &str = "Adm1n-e2e";

/// A harness server, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn harness(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/harness")
        .join(name)
        .join("server.py")
}

fn have_python() -> bool {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!mandatory(), "python3 is required in CI for the REST tests");
        eprintln!("python3 not found: skipping");
    }
    ok
}

/// Starts `python3 SCRIPT ARGS`, which prints its base URL once it listens.
fn start(script: &Path, args: &[&str]) -> Server {
    let mut child = Command::new("python3")
        .arg(script)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "{script:?} said {line:?}"
    );
    Server { child, url }
}

/// `ferry map --json`, returning the report; the run must succeed.
fn map(vendor: &str, raw: &Path, out: &Path) -> Value {
    let res = ferry()
        .args(["map", "--from", vendor, "--in", raw.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap(), "--json"])
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

/// Rows per canonical entity, from the quality report.
fn entity_counts(report: &Value) -> BTreeMap<String, u64> {
    report["quality"]["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["entity"].as_str().unwrap().to_owned(),
                e["rows"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// (check, entity.column, count) of every finding.
fn findings(report: &Value) -> BTreeSet<(String, String, u64)> {
    report["quality"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_owned(),
                format!(
                    "{}.{}",
                    f["entity"].as_str().unwrap(),
                    f["column"].as_str().unwrap()
                ),
                f["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Every row of a query on a canonical folder, as JSON objects.
fn rows(data: &Path, query: &str) -> Vec<Value> {
    let out = ferry_ok(&[
        "sql",
        "--data",
        data.to_str().unwrap(),
        "--format",
        "jsonl",
        query,
    ]);
    stdout(&out)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------
// Dolibarr

fn dolibarr_samples() -> Option<PathBuf> {
    let dir = std::env::var_os("FERRY_DOLIBARR_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/samples/dolibarr20/samples")
        });
    if dir.join("get_thirdparties.json").is_file() {
        return Some(dir);
    }
    assert!(
        !mandatory(),
        "the Dolibarr recordings are required in CI ({})",
        dir.display()
    );
    eprintln!(
        "Dolibarr recordings not found at {}: skipping",
        dir.display()
    );
    None
}

/// The records the recordings hold, by resource and id: every 200 answer to a GET of a
/// list or of one record, except answers cut down with `properties=`.
fn recorded(dir: &Path) -> BTreeMap<String, BTreeMap<i64, Value>> {
    // (resource, id) → (from a list answer, record); a list answer wins over a single GET.
    let mut found: BTreeMap<(String, i64), (bool, Value)> = BTreeMap::new();
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    for p in names {
        let rec: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let endpoint = rec["endpoint"].as_str().unwrap();
        let Some(target) = endpoint.strip_prefix("GET /api/index.php/") else {
            continue;
        };
        if rec["http_status"] != 200 || target.contains("properties=") {
            continue;
        }
        let path = target.split('?').next().unwrap();
        let segments: Vec<&str> = path.split('/').collect();
        let response = &rec["response"];
        let items: Vec<Value> = match (segments.as_slice(), response) {
            ([_], Value::Array(a)) => a.clone(),
            ([_], Value::Object(o)) if o.contains_key("data") => {
                o["data"].as_array().unwrap().clone()
            }
            ([_, id], Value::Object(_)) if id.parse::<i64>().is_ok() => vec![response.clone()],
            _ => continue,
        };
        let list = segments.len() == 1;
        for r in items {
            let id = text(&r["id"]).parse::<i64>().unwrap();
            let key = (segments[0].to_owned(), id);
            match found.get(&key) {
                Some((true, _)) => {}
                Some((false, _)) if !list => {}
                _ => {
                    found.insert(key, (list, r));
                }
            }
        }
    }
    let mut out: BTreeMap<String, BTreeMap<i64, Value>> = BTreeMap::new();
    for ((resource, id), (_, r)) in found {
        out.entry(resource).or_default().insert(id, r);
    }
    out
}

fn filled(v: &Value) -> bool {
    !matches!(v, Value::Null) && !text(v).is_empty()
}

#[test]
fn dolibarr_recordings_extract_and_map_to_the_canonical_model() {
    if !have_python() {
        return;
    }
    let Some(samples) = dolibarr_samples() else {
        return;
    };
    let rec = recorded(&samples);
    let server = start(
        &harness("dolibarr"),
        &[samples.to_str().unwrap(), "--key", DOLI_KEY],
    );
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let spec = server.url.replacen("http://", "dolibarr+http://", 1);
    let out = ferry()
        .args(["extract", &spec, "--api-key-env", "DOLI_E2E_KEY"])
        .args(["--out", raw.to_str().unwrap(), "--json"])
        .env("DOLI_E2E_KEY", DOLI_KEY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "extract failed: {}\n{}",
        stderr(&out),
        stdout(&out)
    );
    assert!(!stdout(&out).contains(DOLI_KEY) && !stderr(&out).contains(DOLI_KEY));

    // The same with two records a page: pages follow each other to Dolibarr's 404.
    let paged = dir.path().join("raw-paged");
    let job = write(
        dir.path(),
        "paged.toml",
        format!(
            "[source]\nkind = \"rest\"\nsystem = \"dolibarr\"\nurl = \"{}\"\napi_key_env = \"DOLI_E2E_KEY\"\npage_size = 2\n\n[sink]\nkind = \"parquet\"\npath = \"{}\"\n",
            server.url,
            paged.display()
        ),
    );
    let out = ferry()
        .args(["run", job.to_str().unwrap()])
        .env("DOLI_E2E_KEY", DOLI_KEY)
        .output()
        .unwrap();
    assert!(out.status.success(), "paged run failed: {}", stderr(&out));

    // A wrong key is refused with Dolibarr's own 401, named, never shown.
    let out = ferry()
        .args(["extract", &spec, "--api-key-env", "DOLI_E2E_KEY"])
        .args(["--out", dir.path().join("nokey").to_str().unwrap()])
        .env("DOLI_E2E_KEY", "wrong-key-0000")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("wrong-key-0000"));

    // What the recordings hold, computed from the files.
    let get = |r: &str| rec.get(r).cloned().unwrap_or_default();
    let (thirdparties, products, orders, invoices, supplierorders) = (
        get("thirdparties"),
        get("products"),
        get("orders"),
        get("invoices"),
        get("supplierorders"),
    );
    let lines_of = |docs: &BTreeMap<i64, Value>| -> Vec<Value> {
        docs.values()
            .flat_map(|d| d["lines"].as_array().cloned().unwrap_or_default())
            .collect()
    };
    let (order_lines, invoice_lines, supplier_lines) = (
        lines_of(&orders),
        lines_of(&invoices),
        lines_of(&supplierorders),
    );
    let bom_lines = lines_of(&get("boms"));
    let contacts: usize = thirdparties
        .values()
        .map(|t| {
            ["email", "phone", "phone_mobile", "fax", "url"]
                .iter()
                .filter(|f| filled(&t[**f]))
                .count()
        })
        .sum();
    let addresses = thirdparties
        .values()
        .filter(|t| {
            ["address", "zip", "town", "country_code"]
                .iter()
                .any(|f| filled(&t[*f]))
        })
        .count();
    let product_categories = get("categories")
        .values()
        .filter(|c| text(&c["type"]) == "0")
        .count();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    let mut put = |e: &str, n: usize| {
        expected.insert(e.to_owned(), n as u64);
    };
    put("party", thirdparties.len());
    put("address", addresses);
    put("contact", contacts);
    put("product", products.len());
    put("product_category", product_categories);
    put("sale_order", orders.len());
    put("sale_order_line", order_lines.len());
    put("purchase_order", supplierorders.len());
    put("purchase_order_line", supplier_lines.len());
    put("invoice", invoices.len());
    put("invoice_line", invoice_lines.len());
    put("stock_location", get("warehouses").len());
    put("stock_move", get("stockmovements").len());
    put("bom", get("boms").len());
    if !bom_lines.is_empty() {
        put("bom_line", bom_lines.len());
    }
    // The recordings are a real server's, a few records a resource: sanity of the files.
    assert!(thirdparties.len() >= 6 && orders.len() >= 2 && invoices.len() >= 2);

    let canon = dir.path().join("canon");
    let report = map("dolibarr", &raw, &canon);
    let mut got = entity_counts(&report);
    got.retain(|e, n| *n > 0 || expected.contains_key(e));
    expected.retain(|e, n| *n > 0 || got.contains_key(e));
    assert_eq!(got, expected, "rows per entity");

    // Paged extraction, same canonical rows.
    let canon_paged = dir.path().join("canon-paged");
    let paged_report = map("dolibarr", &paged, &canon_paged);
    let mut got_paged = entity_counts(&paged_report);
    got_paged.retain(|e, n| *n > 0 || expected.contains_key(e));
    assert_eq!(got_paged, expected, "rows per entity, two records a page");

    // Findings: exactly the lines naming a product the recordings do not hold.
    let unknown = |lines: &[Value], field: &str| -> u64 {
        lines
            .iter()
            .filter(|l| filled(&l[field]) && text(&l[field]) != "0")
            .filter(|l| !products.contains_key(&text(&l[field]).parse::<i64>().unwrap()))
            .count() as u64
    };
    let mut want = BTreeSet::new();
    for (entity, lines) in [
        ("sale_order_line", &order_lines),
        ("invoice_line", &invoice_lines),
        ("purchase_order_line", &supplier_lines),
        ("bom_line", &bom_lines),
    ] {
        let n = unknown(lines, "fk_product");
        if n > 0 {
            want.insert(("foreign_key".to_owned(), format!("{entity}.product_id"), n));
        }
    }
    let boms: Vec<Value> = get("boms").into_values().collect();
    let n = unknown(&boms, "fk_product");
    if n > 0 {
        want.insert(("foreign_key".to_owned(), "bom.product_id".to_owned(), n));
    }
    assert!(
        !want.is_empty(),
        "the recordings name products they do not hold"
    );
    assert_eq!(findings(&report), want, "{:#}", report["quality"]);
    assert_eq!(findings(&paged_report), want);
    assert!(report["run"].is_object());

    // Values, against the recordings.
    for (id, t) in &thirdparties {
        let row = &rows(
            &canon,
            &format!(
                "SELECT name, is_customer, is_supplier, tax_id, code FROM party WHERE id = 'dolibarr:{id}'"
            ),
        )[0];
        assert_eq!(row["name"], t["name"]);
        let client = text(&t["client"]);
        assert_eq!(
            row["is_customer"],
            Value::Bool(client == "1" || client == "3")
        );
        assert_eq!(
            row["is_supplier"],
            Value::Bool(text(&t["fournisseur"]) == "1")
        );
        let tax = if filled(&t["tva_intra"]) {
            t["tva_intra"].clone()
        } else {
            Value::Null
        };
        assert_eq!(row["tax_id"], tax);
    }
    for (id, o) in &orders {
        let row = &rows(
            &canon,
            &format!(
                "SELECT number, customer_id, state, CAST(untaxed_amount AS VARCHAR) AS u, CAST(total_amount AS VARCHAR) AS t FROM sale_order WHERE source_id = '{id}'"
            ),
        )[0];
        assert_eq!(row["number"], o["ref"]);
        assert_eq!(
            row["customer_id"],
            format!("dolibarr:{}", text(&o["socid"]))
        );
        let state = match text(&o["statut"]).as_str() {
            "-1" => "cancelled",
            "0" => "draft",
            "1" | "2" => "confirmed",
            _ => "done",
        };
        assert_eq!(row["state"], state);
        assert_eq!(norm(&text(&row["u"])), norm(&text(&o["total_ht"])));
        assert_eq!(norm(&text(&row["t"])), norm(&text(&o["total_ttc"])));
    }
    for (id, i) in &invoices {
        let row = &rows(
            &canon,
            &format!("SELECT kind, state, number FROM invoice WHERE source_id = '{id}'"),
        )[0];
        let state = match text(&i["statut"]).as_str() {
            "0" => "draft",
            "1" => "posted",
            "2" => "paid",
            _ => "cancelled",
        };
        assert_eq!(row["state"], state, "invoice {id}");
        let kind = if text(&i["type"]) == "2" {
            "customer_credit_note"
        } else {
            "customer_invoice"
        };
        assert_eq!(row["kind"], kind);
    }
    let po = &rows(
        &canon,
        "SELECT state, supplier_id FROM purchase_order ORDER BY id LIMIT 1",
    )[0];
    let first_po = supplierorders.values().next().unwrap();
    assert_eq!(
        po["supplier_id"],
        format!("dolibarr:{}", text(&first_po["socid"]))
    );
    if text(&first_po["statut"]) == "0" {
        assert_eq!(po["state"], "draft");
    }
    // Stock moves: a positive quantity enters its warehouse.
    for (id, m) in &get("stockmovements") {
        let row = &rows(
            &canon,
            &format!(
                "SELECT from_location_id, to_location_id, CAST(quantity AS VARCHAR) AS q, state FROM stock_move WHERE source_id = '{id}'"
            ),
        )[0];
        let qty = text(&m["qty"]);
        let wh = Value::String(format!("dolibarr:{}", text(&m["warehouse_id"])));
        if qty.starts_with('-') {
            assert_eq!(row["from_location_id"], wh);
        } else {
            assert_eq!(row["to_location_id"], wh);
        }
        assert_eq!(norm(&text(&row["q"])), norm(qty.trim_start_matches('-')));
        assert_eq!(row["state"], "done");
    }
}

// ---------------------------------------------------------------------------------
// ERPNext

/// The site's documents by DocType, read over HTTP with a session login (not token
/// auth, not ferry): every field, no page limit, children with their parent DocType.
fn erpnext_documents(url: &str) -> BTreeMap<String, Vec<Value>> {
    let script = r#"
import http.cookiejar, json, sys, urllib.parse, urllib.request
url, pw = sys.argv[1], sys.argv[2]
jar = http.cookiejar.CookieJar()
op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
r = op.open(url + "/api/method/login", urllib.parse.urlencode({"usr": "Administrator", "pwd": pw}).encode())
assert json.load(r)["message"] == "Logged In"
parents = {"Sales Order Item": "Sales Order", "Sales Invoice Item": "Sales Invoice",
           "Purchase Order Item": "Purchase Order", "Purchase Invoice Item": "Purchase Invoice"}
out = {}
for dt in ["Customer", "Supplier", "Item", "Warehouse", "Sales Order", "Sales Invoice",
           "Purchase Order", "Purchase Invoice", "Stock Ledger Entry", "GL Entry", *parents]:
    q = {"fields": '["*"]', "limit_page_length": "0"}
    if dt in parents:
        q["parent"] = parents[dt]
    r = op.open(url + "/api/resource/" + urllib.parse.quote(dt) + "?" + urllib.parse.urlencode(q))
    out[dt] = json.load(r)["data"]
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .args(["-c", script, url, ERP_PASSWORD])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn erpnext_site_extracts_and_maps_to_the_canonical_model() {
    if !have_python() {
        return;
    }
    let server = start(
        &harness("erpnext"),
        &["--key", ERP_KEY, "--password", ERP_PASSWORD],
    );
    let docs = erpnext_documents(&server.url);
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    let spec = server.url.replacen("http://", "erpnext+http://", 1);
    let out = ferry()
        .args(["extract", &spec, "--api-key-env", "ERP_E2E_KEY"])
        .args(["--out", raw.to_str().unwrap(), "--json"])
        .env("ERP_E2E_KEY", ERP_KEY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "extract failed: {}\n{}",
        stderr(&out),
        stdout(&out)
    );
    let secret = ERP_KEY.split_once(':').unwrap().1;
    assert!(!stdout(&out).contains(secret) && !stderr(&out).contains(secret));

    let d = |dt: &str| docs.get(dt).cloned().unwrap_or_default();
    let int = |v: &Value| text(v).parse::<i64>().unwrap_or(0);
    let distinct = |dt: &str, field: &str| -> BTreeSet<String> {
        d(dt)
            .iter()
            .filter(|r| filled(&r[field]))
            .map(|r| text(&r[field]))
            .collect()
    };
    let live_gl: Vec<Value> = d("GL Entry")
        .into_iter()
        .filter(|g| int(&g["is_cancelled"]) == 0)
        .collect();
    let vouchers: BTreeSet<(String, String)> = live_gl
        .iter()
        .map(|g| (text(&g["voucher_type"]), text(&g["voucher_no"])))
        .collect();
    let mut accounts = distinct("GL Entry", "account");
    accounts.extend(distinct("Sales Invoice Item", "income_account"));
    accounts.extend(distinct("Purchase Invoice Item", "expense_account"));
    let expected: BTreeMap<String, u64> = [
        ("party", d("Customer").len() + d("Supplier").len()),
        ("product", d("Item").len()),
        ("product_category", distinct("Item", "item_group").len()),
        ("uom", distinct("Item", "stock_uom").len()),
        ("sale_order", d("Sales Order").len()),
        ("sale_order_line", d("Sales Order Item").len()),
        ("purchase_order", d("Purchase Order").len()),
        ("purchase_order_line", d("Purchase Order Item").len()),
        (
            "invoice",
            d("Sales Invoice").len() + d("Purchase Invoice").len(),
        ),
        (
            "invoice_line",
            d("Sales Invoice Item").len() + d("Purchase Invoice Item").len(),
        ),
        ("stock_location", d("Warehouse").len()),
        ("stock_move", d("Stock Ledger Entry").len()),
        ("account", accounts.len()),
        ("journal_entry", vouchers.len()),
        ("journal_line", live_gl.len()),
    ]
    .into_iter()
    .map(|(e, n)| (e.to_owned(), n as u64))
    .collect();

    let canon = dir.path().join("canon");
    let report = map("erpnext", &raw, &canon);
    assert_eq!(entity_counts(&report), expected, "rows per entity");
    assert_eq!(
        findings(&report),
        BTreeSet::new(),
        "{:#}",
        report["quality"]
    );

    // A name that is both a Customer and a Supplier is two parties.
    let both: Vec<String> = distinct("Customer", "name")
        .intersection(&distinct("Supplier", "name"))
        .cloned()
        .collect();
    assert!(
        !both.is_empty(),
        "the data set has a customer that is also a supplier"
    );
    for name in &both {
        let q = format!(
            "SELECT id, is_customer, is_supplier FROM party WHERE name = '{}' ORDER BY id",
            name.replace('\'', "''")
        );
        let r = rows(&canon, &q);
        assert_eq!(r.len(), 2, "{name}");
        assert_eq!(r[0]["id"], format!("erpnext:Customer/{name}"));
        assert_eq!(r[0]["is_customer"], true);
        assert_eq!(r[1]["id"], format!("erpnext:Supplier/{name}"));
        assert_eq!(r[1]["is_supplier"], true);
    }
    // Accented text arrives intact.
    for c in d("Customer") {
        let q = format!(
            "SELECT name FROM party WHERE source_id = 'Customer/{}'",
            text(&c["name"]).replace('\'', "''")
        );
        assert_eq!(rows(&canon, &q)[0]["name"], c["customer_name"]);
    }
    // Orders: states from docstatus and status; totals exact.
    for o in d("Sales Order") {
        let r = &rows(
            &canon,
            &format!(
                "SELECT state, CAST(untaxed_amount AS VARCHAR) AS u, CAST(total_amount AS VARCHAR) AS t, customer_id FROM sale_order WHERE source_id = '{}'",
                text(&o["name"])
            ),
        )[0];
        let state = match (int(&o["docstatus"]), text(&o["status"]).as_str()) {
            (0, _) => "draft",
            (2, _) => "cancelled",
            (_, "Completed" | "Closed") => "done",
            _ => "confirmed",
        };
        assert_eq!(r["state"], state, "{}", o["name"]);
        assert_eq!(norm(&text(&r["u"])), norm(&text(&o["net_total"])));
        assert_eq!(norm(&text(&r["t"])), norm(&text(&o["grand_total"])));
        assert_eq!(
            r["customer_id"],
            format!("erpnext:Customer/{}", text(&o["customer"]))
        );
    }
    let states: BTreeSet<String> = rows(&canon, "SELECT DISTINCT state FROM sale_order")
        .iter()
        .map(|r| text(&r["state"]))
        .collect();
    assert!(
        states.contains("cancelled") && states.contains("draft"),
        "{states:?}"
    );
    // Invoices: returns are credit notes, amounts keep their sign.
    for (dt, credit) in [
        ("Sales Invoice", "customer_credit_note"),
        ("Purchase Invoice", "supplier_credit_note"),
    ] {
        for i in d(dt) {
            let r = &rows(
                &canon,
                &format!(
                    "SELECT kind, state, CAST(total_amount AS VARCHAR) AS t, CAST(amount_due AS VARCHAR) AS due FROM invoice WHERE source_id = '{dt}/{}'",
                    text(&i["name"])
                ),
            )[0];
            if int(&i["is_return"]) == 1 {
                assert_eq!(r["kind"], credit);
                assert!(text(&r["t"]).starts_with('-'), "{r}");
            } else {
                assert_ne!(r["kind"], credit);
            }
            let state = match (int(&i["docstatus"]), text(&i["status"]).as_str()) {
                (0, _) => "draft",
                (2, _) => "cancelled",
                (_, "Paid") => "paid",
                _ => "posted",
            };
            assert_eq!(r["state"], state);
            assert_eq!(norm(&text(&r["t"])), norm(&text(&i["grand_total"])));
            assert_eq!(
                norm(&text(&r["due"])),
                norm(&text(&i["outstanding_amount"]))
            );
        }
    }
    assert!(
        d("Sales Invoice").iter().any(|i| int(&i["is_return"]) == 1),
        "the data set has a credit note"
    );
    // The ledger balances, and a cancelled stock entry is a cancelled move.
    let bal = &rows(
        &canon,
        "SELECT CAST(SUM(debit) AS VARCHAR) AS d, CAST(SUM(credit) AS VARCHAR) AS c FROM journal_line",
    )[0];
    assert_eq!(norm(&text(&bal["d"])), norm(&text(&bal["c"])));
    let cancelled = d("Stock Ledger Entry")
        .iter()
        .filter(|e| int(&e["is_cancelled"]) == 1)
        .count();
    let r = &rows(
        &canon,
        "SELECT COUNT(*) AS n FROM stock_move WHERE state = 'cancelled'",
    )[0];
    assert_eq!(int(&r["n"]) as usize, cancelled);
    assert!(cancelled > 0);
}
