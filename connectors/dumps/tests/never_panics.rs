//! Property tests: whatever bytes a dump holds, scanning and reading it returns
//! tables or errors, never a panic. They run in CI; the cargo-fuzz targets under
//! `fuzz/` explore the same entry points longer.

use ferry_dumps::read::{BatchLimits, read_table};
use ferry_dumps::scan::scan;
use ferry_dumps::sql::{self, Dialect};
use proptest::prelude::*;

fn scan_and_read(bytes: &[u8], dialect: Dialect) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.sql");
    std::fs::write(&path, bytes).unwrap();
    let Ok(s) = scan(bytes, dialect, "d.sql", &|_| false) else {
        return;
    };
    for t in &s.tables {
        let _ = read_table(
            &path,
            "d.sql",
            t,
            dialect,
            BatchLimits {
                rows: 3,
                bytes: 1 << 20,
            },
            &mut |_| Ok(()),
        );
    }
}

const SEEDS: &[&str] = &[
    "CREATE TABLE public.t (id integer NOT NULL, n numeric, a text[], b bytea, ts timestamptz);\nCOPY public.t (id, n, a, b, ts) FROM stdin;\n1\t1.5\t{a,\"b\"}\t\\\\x00\t2024-01-01 00:00:00+00\n\\.\n",
    "INSERT INTO public.t VALUES (1, E'a\\tb', '{1,2}', NULL, '2024-01-01');\n",
    "CREATE TABLE `t` (`id` int NOT NULL, `d` decimal(5,2), `b` blob);\nINSERT INTO `t` VALUES (1,1.50,_binary 'x\\0'),(2,NULL,0x4142);\n",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        scan_and_read(&bytes, Dialect::Postgres);
        scan_and_read(&bytes, Dialect::MySql);
    }

    #[test]
    fn mutated_dumps_never_panic(seed in 0usize..3, at in 0usize..400, junk in proptest::collection::vec(any::<u8>(), 0..12), cut in 0usize..400) {
        let mut b = SEEDS[seed].as_bytes().to_vec();
        let at = at.min(b.len());
        b.splice(at..at, junk);
        b.truncate(cut.max(1).min(b.len()));
        scan_and_read(&b, Dialect::Postgres);
        scan_and_read(&b, Dialect::MySql);
    }

    #[test]
    fn value_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        let _ = sql::insert_tuples(&bytes, 0, Dialect::MySql, false, |_, _| Ok(()));
        let _ = sql::insert_tuples(&bytes, 0, Dialect::Postgres, true, |_, _| Ok(()));
        let _ = sql::insert_head(&bytes, Dialect::Postgres);
        let mut out = Vec::new();
        sql::copy_unescape(&bytes, &mut out);
        let _ = ferry_dumps::columns::parse_pg_array(&bytes);
        let _ = ferry_dumps::columns::decode_bytea(&bytes);
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = ferry_dumps::columns::timestamp_micros(s);
        }
    }
}
