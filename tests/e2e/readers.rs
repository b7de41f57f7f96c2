//! Parquet written by ferry reads back the same in pyarrow and DuckDB: row counts,
//! decimals with their scale, timestamps in UTC, NULL distinct from ''.

use crate::util::*;

const CHECK: &str = r#"
import json, sys
import pyarrow.parquet as pq, duckdb
folder = sys.argv[1]
t = pq.read_table(folder)
out = {"rows": t.num_rows, "types": {f.name: str(f.type) for f in t.schema}}
rows = t.sort_by("id").to_pylist()
out["amount"] = [str(r["amount"]) if r["amount"] is not None else None for r in rows]
out["label"] = [r["label"] for r in rows]
out["at"] = [r["at"].isoformat() if r["at"] is not None else None for r in rows]
con = duckdb.connect()
c = con.execute(f"SELECT COUNT(*), typeof(any_value(amount)), typeof(any_value(\"at\")), CAST(SUM(amount) AS VARCHAR) FROM read_parquet('{folder}/*.parquet')").fetchone()
out["duckdb"] = {"rows": c[0], "amount": c[1], "at": c[2], "sum": c[3]}
print(json.dumps(out))
"#;

#[test]
fn pyarrow_and_duckdb_read_ferry_parquet_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let src = write(
        dir.path(),
        "ledger.csv",
        "id,amount,label,at,day\n\
         1,0.10,café,2025-03-30T02:30:00+02:00,2025-03-30\n\
         2,-1234567.895,\"\",2025-01-01 00:00:00,2025-01-01\n\
         3,,\"Zoë 😀 \"\"quoted\"\"\",,\n\
         4,42,,1999-12-31T23:59:59.999999Z,1999-12-31\n",
    );
    let out = dir.path().join("out");
    ferry_ok(&[
        "extract",
        src.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    let Some(json) = run_python(CHECK, &[out.join("ledger").to_str().unwrap()]) else {
        return;
    };
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["rows"], 4);
    assert_eq!(v["types"]["amount"], "decimal128(18, 3)");
    assert_eq!(v["types"]["at"], "timestamp[us, tz=UTC]");
    assert_eq!(v["types"]["day"], "date32[day]");
    assert_eq!(
        v["amount"],
        serde_json::json!(["0.100", "-1234567.895", null, "42.000"])
    );
    assert_eq!(
        v["label"],
        serde_json::json!(["café", "", "Zoë 😀 \"quoted\"", null])
    );
    assert_eq!(v["at"][0], "2025-03-30T00:30:00+00:00");
    assert_eq!(v["at"][3], "1999-12-31T23:59:59.999999+00:00");
    assert_eq!(v["duckdb"]["rows"], 4);
    assert_eq!(v["duckdb"]["amount"], "DECIMAL(18,3)");
    assert_eq!(v["duckdb"]["at"], "TIMESTAMP WITH TIME ZONE");
    assert_eq!(v["duckdb"]["sum"], "-1234525.795");
}
