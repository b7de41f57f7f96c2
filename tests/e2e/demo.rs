//! `ferry demo` runs offline and prints its three query results.

use crate::util::*;

#[test]
fn demo_extracts_and_prints_three_results() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo");
    let out = ferry_ok(&["demo", "--dir", demo_dir.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(text.matches("-- ").count(), 3, "{text}");
    assert!(
        text.contains("Top 5 customers by invoiced revenue"),
        "{text}"
    );
    assert!(text.contains("(5 rows)"), "{text}");
    // Accents from the Windows-1252 export survive.
    assert!(
        text.contains('é') || text.contains('ü') || text.contains('ñ'),
        "{text}"
    );
    for stream in [
        "customers",
        "suppliers",
        "products",
        "sale_orders",
        "sale_order_lines",
        "invoices",
    ] {
        assert!(
            demo_dir.join("parquet").join(stream).is_dir(),
            "{stream} missing"
        );
    }
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(demo_dir.join("parquet/_ferry/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["streams"]["sale_order_lines"]["rows"], 956);
    assert_eq!(manifest["streams"]["customers"]["rows"], 24);
    // Running it again replaces the copy instead of piling up files.
    ferry_ok(&["demo", "--dir", demo_dir.to_str().unwrap(), "--quiet"]);
    let files = std::fs::read_dir(demo_dir.join("parquet/invoices"))
        .unwrap()
        .count();
    assert_eq!(files, 1);
}
