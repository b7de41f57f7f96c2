//! `ferry discover` / `ferry extract` against a real Tryton 8.2 server, started by
//! tests/harness/tryton/start.sh (a venv under ~/.cache, a seeded SQLite database,
//! trytond on 127.0.0.1). Runs when python3 is present; fails when `CI` is set and the
//! server cannot be started.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::util::*;

pub(crate) const PASSWORD: &str = "Tr-e2e-S3cret-9d1";

fn harness() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/harness/tryton")
}

fn port() -> u16 {
    std::env::var("FERRY_TRYTON_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8765)
}

/// The database URL of a running seeded server, or `None` (skip) outside CI.
pub(crate) fn server() -> Option<&'static str> {
    static URL: OnceLock<Option<String>> = OnceLock::new();
    URL.get_or_init(|| {
        let have_python = Command::new("python3")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !have_python {
            assert!(
                !mandatory(),
                "python3 is required in CI for the Tryton tests"
            );
            eprintln!("python3 not found: skipping Tryton tests");
            return None;
        }
        let out = Command::new(harness().join("start.sh"))
            .arg(port().to_string())
            .env("FERRY_TRYTON_PASSWORD", PASSWORD)
            .output()
            .expect("start.sh runs");
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                !mandatory(),
                "the Tryton server could not be started:\n{err}"
            );
            eprintln!("Tryton server unavailable, skipping:\n{err}");
            return None;
        }
        Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    })
    .as_deref()
}

pub(crate) fn spec(url: &str) -> String {
    url.replacen("http://", &format!("tryton+http://admin:{PASSWORD}@"), 1)
}

/// Calls the server directly (independent of ferry) with Python's standard library.
pub(crate) fn rpc(url: &str, method: &str, params: Value) -> Value {
    let script = r#"
import json, sys, urllib.request, base64
url, pw, method, params = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
def call(m, p, headers={}):
    req = urllib.request.Request(url + "/rpc/", json.dumps({"id": 1, "method": m, "params": p}).encode(),
                                 {"Content-Type": "application/json", **headers})
    return json.loads(urllib.request.urlopen(req).read())
uid, key, _ = call("common.db.login", ["admin", {"password": pw}, "en"])["result"]
auth = {"Authorization": "Session " + base64.b64encode(f"admin:{uid}:{key}".encode()).decode()}
print(json.dumps(call(method, params, auth)["result"]))
"#;
    let out = Command::new("python3")
        .args(["-c", script, url, PASSWORD, method, &params.to_string()])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

const MODELS: [&str; 12] = [
    "party.party",
    "party.address",
    "product.template",
    "product.product",
    "sale.sale",
    "sale.line",
    "purchase.purchase",
    "purchase.line",
    "account.invoice",
    "account.invoice.line",
    "stock.location",
    "stock.move",
];

#[test]
fn tryton_discover_lists_the_business_models() {
    let Some(url) = server() else { return };
    let out = ferry_ok(&["discover", &spec(url), "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for m in MODELS {
        assert!(names.contains(&m), "{m} missing from {names:?}");
    }
    assert!(
        !names.iter().any(|n| n.ends_with(".start")),
        "wizards are not streams"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(PASSWORD));
}

#[test]
fn tryton_extract_matches_the_server_counts_and_values_and_hides_the_password() {
    let Some(url) = server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let res = ferry()
        .args([
            "extract",
            &spec(url),
            "--out",
            out_dir.to_str().unwrap(),
            "--streams",
        ])
        .arg(MODELS.join(","))
        .env("FERRY_LOG", "debug")
        .output()
        .unwrap();
    let stderr = stderr(&res);
    assert!(res.status.success(), "{stderr}");
    assert!(!stderr.contains(PASSWORD), "the password is in the logs");
    let manifest_text = std::fs::read_to_string(out_dir.join("_ferry/manifest.json")).unwrap();
    let state_text = std::fs::read_to_string(out_dir.join("_ferry/state.json")).unwrap();
    assert!(!manifest_text.contains(PASSWORD) && !state_text.contains(PASSWORD));
    let manifest: Value = serde_json::from_str(&manifest_text).unwrap();
    let ctx = json!({"active_test": false, "company": 1});
    for m in MODELS {
        let count = rpc(url, &format!("model.{m}.search_count"), json!([[], ctx]));
        assert_eq!(
            manifest["streams"][m]["rows"], count,
            "{m}: ferry wrote {} rows, the server has {count}",
            manifest["streams"][m]["rows"]
        );
    }
    assert!(manifest["streams"]["sale.line"]["rows"].as_u64().unwrap() > 0);
    assert!(
        manifest["streams"]["party.party"]["rows"].as_u64().unwrap() >= 10,
        "archived parties included"
    );

    // Sampled values, read back with pyarrow, equal the server's (decimals as text).
    let server_lines = rpc(
        url,
        "model.sale.line.search_read",
        json!([
            [],
            0,
            null,
            [["id", "ASC"]],
            ["id", "quantity", "unit_price", "sale", "product"],
            ctx
        ]),
    );
    let server_parties = rpc(
        url,
        "model.party.party.search_read",
        json!([
            [],
            0,
            null,
            [["id", "ASC"]],
            ["id", "name", "active", "create_date"],
            ctx
        ]),
    );
    let script = r#"
import json, sys, glob, pyarrow.parquet as pq, pyarrow as pa
out = sys.argv[1]
def rows(stream, cols):
    t = pa.concat_tables([pq.read_table(f) for f in sorted(glob.glob(f"{out}/{stream}/*.parquet"))])
    return [{c: (str(r[c]) if r[c] is not None and c not in ("id", "sale", "product", "active") else r[c]) for c in cols}
            for r in t.select(cols).to_pylist()]
print(json.dumps({
    "lines": sorted(rows("sale.line", ["id", "quantity", "unit_price", "sale", "product"]), key=lambda r: r["id"]),
    "parties": sorted(rows("party.party", ["id", "name", "active", "create_date"]), key=lambda r: r["id"]),
    "types": {f.name: str(f.type) for f in pq.read_schema(glob.glob(f"{out}/sale.line/*.parquet")[0])},
}))
"#;
    let Some(py) = run_python(script, &[out_dir.to_str().unwrap()]) else {
        return;
    };
    let got: Value = serde_json::from_str(&py).unwrap();
    assert!(
        got["types"]["unit_price"]
            .as_str()
            .unwrap()
            .starts_with("decimal128(38,")
    );
    let lines = got["lines"].as_array().unwrap();
    for (server, ours) in server_lines.as_array().unwrap().iter().zip(lines) {
        let price = server["unit_price"]["decimal"].as_str().unwrap();
        let ours_price = ours["unit_price"].as_str().unwrap();
        assert_eq!(
            ours_price.trim_end_matches('0').trim_end_matches('.'),
            price.trim_end_matches('0').trim_end_matches('.'),
            "unit_price of sale.line {}",
            server["id"]
        );
        assert_eq!(ours["id"], server["id"]);
        assert_eq!(ours["sale"], server["sale"]);
        assert_eq!(ours["product"], server["product"]);
        let q: f64 = ours["quantity"].as_str().unwrap().parse().unwrap();
        assert_eq!(q, server["quantity"].as_f64().unwrap());
    }
    assert_eq!(lines.len(), server_lines.as_array().unwrap().len());
    let parties = got["parties"].as_array().unwrap();
    for (server, ours) in server_parties.as_array().unwrap().iter().zip(parties) {
        assert_eq!(ours["name"], server["name"]);
        // Tryton on SQLite answers booleans as 0/1; fields_get says boolean.
        let active = server["active"] == json!(true) || server["active"] == json!(1);
        assert_eq!(ours["active"], json!(active));
        let c = &server["create_date"];
        let part = |k: &str| c[k].as_i64().unwrap();
        let expected = format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            part("year"),
            part("month"),
            part("day"),
            part("hour"),
            part("minute"),
            part("second")
        );
        assert!(
            ours["create_date"].as_str().unwrap().starts_with(&expected),
            "{} vs {expected}",
            ours["create_date"]
        );
    }
    assert!(parties.iter().any(|p| p["active"] == json!(false)));
}

#[test]
fn tryton_wrong_password_fails_clearly_without_the_password() {
    let Some(url) = server() else { return };
    let bad = url.replacen("http://", "tryton+http://admin:Wrong-Pw-77x1@", 1);
    let out = ferry().args(["discover", &bad]).output().unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("login refused"), "{err}");
    assert!(!err.contains("Wrong-Pw-77x1"), "{err}");
}

#[test]
fn credentials_come_from_flags_and_the_environment() {
    let Some(url) = server() else { return };
    let spec = url.replacen("http://", "tryton+http://", 1);
    let out = ferry()
        .args(["discover", &spec, "--json", "--user", "admin"])
        .args(["--password-env", "FERRY_E2E_TRYTON_PW"])
        .env("FERRY_E2E_TRYTON_PW", PASSWORD)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let catalog: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!catalog["streams"].as_array().unwrap().is_empty());
    assert!(!String::from_utf8_lossy(&out.stdout).contains(PASSWORD));

    let unset = ferry()
        .args(["discover", &spec, "--user", "admin"])
        .args(["--password-env", "FERRY_E2E_UNSET_VAR_93"])
        .output()
        .unwrap();
    assert_eq!(unset.status.code(), Some(2), "a usage error");
    assert!(stderr(&unset).contains("FERRY_E2E_UNSET_VAR_93 is not set"));
}
