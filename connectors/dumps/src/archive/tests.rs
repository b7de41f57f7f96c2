//! Tests of the archive reader: on archives written here (a minimal writer of the
//! custom format, so that every edge is reachable without a server) and on real
//! archives made by the installed pg_dump when PostgreSQL is reachable.

use std::io::Write;
use std::process::Command;

use arrow::array::{Array, AsArray};

use super::*;
use crate::columns::ColType;

// ---------------------------------------------------------------------------
// A small writer of custom-format archives (version 1.14, as pg_dump 15).

struct TestEntry {
    id: i64,
    desc: &'static str,
    namespace: &'static str,
    tag: &'static str,
    defn: String,
    copy: String,
    data: Option<Vec<u8>>,
}

fn w_int(out: &mut Vec<u8>, v: i64) {
    out.push(u8::from(v < 0));
    out.extend_from_slice(&(v.unsigned_abs() as u32).to_le_bytes());
}

fn w_str(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        None => w_int(out, -1),
        Some(s) => {
            w_int(out, s.len() as i64);
            out.extend_from_slice(s);
        }
    }
}

/// Writes an archive; `offsets`: whether data offsets are recorded (as when
/// pg_dump writes to a file) or not (to a pipe).
fn write_custom(entries: &[TestEntry], gzip: bool, offsets: bool) -> Vec<u8> {
    let toc = |positions: &HashMap<i64, u64>| -> Vec<u8> {
        let mut out = b"PGDMP".to_vec();
        out.extend_from_slice(&[1, 14, 0, 4, 8, 1]);
        w_int(&mut out, if gzip { -1 } else { 0 });
        for v in [1, 2, 3, 4, 5, 125, 0] {
            w_int(&mut out, v);
        }
        w_str(&mut out, Some(b"testdb"));
        w_str(&mut out, Some(b"15.20"));
        w_str(&mut out, Some(b"15.20"));
        w_int(&mut out, entries.len() as i64);
        for e in entries {
            w_int(&mut out, e.id);
            w_int(&mut out, i64::from(e.data.is_some()));
            w_str(&mut out, Some(b"0"));
            w_str(&mut out, Some(b"0"));
            w_str(&mut out, Some(e.tag.as_bytes()));
            w_str(&mut out, Some(e.desc.as_bytes()));
            w_int(&mut out, 2);
            w_str(&mut out, Some(e.defn.as_bytes()));
            w_str(&mut out, None);
            w_str(&mut out, (!e.copy.is_empty()).then_some(e.copy.as_bytes()));
            w_str(&mut out, Some(e.namespace.as_bytes()));
            w_str(&mut out, None);
            w_str(&mut out, Some(b"heap"));
            w_str(&mut out, Some(b"postgres"));
            w_str(&mut out, Some(b"false"));
            w_str(&mut out, Some(b"1"));
            w_str(&mut out, None);
            match (e.data.is_some(), positions.get(&e.id)) {
                (false, _) => out.push(3),
                (true, Some(_)) => out.push(2),
                (true, None) => out.push(1),
            }
            out.extend_from_slice(&positions.get(&e.id).copied().unwrap_or(0).to_le_bytes());
        }
        out
    };
    // The TOC has the same size with or without offsets: write it once to know
    // where the data starts.
    let start = toc(&HashMap::new()).len() as u64;
    let mut data = Vec::new();
    let mut positions = HashMap::new();
    for e in entries {
        let Some(d) = &e.data else { continue };
        positions.insert(e.id, start + data.len() as u64);
        data.push(1);
        w_int(&mut data, e.id);
        let bytes = if gzip {
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(d).unwrap();
            z.finish().unwrap()
        } else {
            d.clone()
        };
        for chunk in bytes.chunks(7) {
            w_int(&mut data, chunk.len() as i64);
            data.extend_from_slice(chunk);
        }
        w_int(&mut data, 0);
    }
    let none = HashMap::new();
    let mut out = toc(if offsets { &positions } else { &none });
    out.extend_from_slice(&data);
    out
}

fn sample_entries() -> Vec<TestEntry> {
    let e = |id, desc, tag, defn: &str, copy: &str, data: Option<&str>| TestEntry {
        id,
        desc,
        namespace: "public",
        tag,
        defn: defn.into(),
        copy: copy.into(),
        data: data.map(|d| d.as_bytes().to_vec()),
    };
    vec![
        e(
            1,
            "ENCODING",
            "ENCODING",
            "SET client_encoding = 'UTF8';\n",
            "",
            None,
        ),
        e(
            2,
            "TYPE",
            "mood",
            "CREATE TYPE public.mood AS ENUM (\n    'a',\n    'b'\n);\n",
            "",
            None,
        ),
        e(
            3,
            "TABLE",
            "first",
            "CREATE TABLE public.first (\n    id integer NOT NULL,\n    n numeric,\n    m public.mood\n);\n",
            "",
            None,
        ),
        e(
            4,
            "TABLE",
            "second",
            "CREATE TABLE public.second (\n    v text\n);\n",
            "",
            None,
        ),
        e(
            5,
            "FUNCTION",
            "f",
            "CREATE FUNCTION public.f() RETURNS int AS $$ select 1; $$ LANGUAGE sql;\n",
            "",
            None,
        ),
        e(
            6,
            "TABLE DATA",
            "first",
            "",
            "COPY public.first (id, n, m) FROM stdin;\n",
            Some("1\t1.25\ta\n2\t\\N\tb\n3\t-10.5\t\\N\n\\.\n\n\n"),
        ),
        // No `\.` line (newer pg_dump), and a single column holding `\\.`.
        e(
            7,
            "TABLE DATA",
            "second",
            "",
            "COPY public.second (v) FROM stdin;\n",
            Some("x\n\\\\.\n"),
        ),
        e(
            8,
            "CONSTRAINT",
            "first first_pkey",
            "ALTER TABLE ONLY public.first\n    ADD CONSTRAINT first_pkey PRIMARY KEY (id);\n",
            "",
            None,
        ),
    ]
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Each table's stream name and batches, or error text.
type Extracted = Vec<(String, std::result::Result<Vec<RecordBatch>, String>)>;

/// Discovers and reads every table.
fn extract(path: &Path) -> Result<(Scan, Extracted)> {
    let (container, _) = crate::input::sniff(path).map_err(|e| Error::io(path, e))?;
    let a = Archive::open(path, container)?;
    let (scan, sources) = scan_archive(&a, &|_| false)?;
    let mut out = Vec::new();
    for (i, t) in scan.tables.iter().enumerate() {
        let mut batches = Vec::new();
        let r = read_table(
            &a,
            &scan,
            &sources,
            i,
            BatchLimits {
                rows: 2,
                bytes: 1 << 20,
            },
            &mut |b| {
                batches.push(b);
                Ok(())
            },
        );
        let r = match r {
            Ok(n) if n == t.rows => Ok(batches),
            Ok(n) => Err(format!("read {n} rows, scan counted {}", t.rows)),
            Err(e) => Err(e.to_string()),
        };
        out.push((t.stream.clone(), r));
    }
    Ok((scan, out))
}

fn texts(batches: &[RecordBatch], col: usize) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let a = b.column(col);
        for i in 0..b.num_rows() {
            out.push(if a.is_null(i) {
                "NULL".into()
            } else if let Some(s) = a.as_string_opt::<i32>() {
                s.value(i).to_owned()
            } else {
                arrow::util::display::array_value_to_string(a, i).unwrap()
            });
        }
    }
    out
}

#[test]
fn written_archives_read_in_every_variant() {
    let dir = tempfile::tempdir().unwrap();
    for (gzip, offsets) in [(false, true), (true, true), (false, false), (true, false)] {
        let bytes = write_custom(&sample_entries(), gzip, offsets);
        let p = write_file(dir.path(), "x.bin", &bytes);
        assert_eq!(
            crate::input::sniff(&p).unwrap().0,
            Container::PgCustom,
            "sniffed from content"
        );
        let toc = parse_toc(&bytes[..]).unwrap();
        assert_eq!(toc.header.version, (1, 14, 0));
        assert_eq!(toc.header.database, "testdb");
        assert_eq!(
            toc.header.compression,
            if gzip {
                Compression::Gzip
            } else {
                Compression::None
            }
        );
        assert_eq!(toc.header.created.as_deref(), Some("2025-06-04 03:02:01"));
        assert_eq!(toc.entries.len(), 8);
        assert_eq!(toc.entries[5].desc, "TABLE DATA");
        assert_eq!(toc.entries[5].dependencies, vec![1]);
        let (scan, tables) = extract(&p).unwrap();
        let first = &scan.tables[0];
        assert_eq!(first.stream, "public.first");
        assert_eq!(first.primary_key, vec!["id"]);
        assert_eq!(first.rows, 3);
        assert_eq!(first.columns[1].ty, ColType::Decimal(38, 2));
        assert_eq!(first.columns[2].ty, ColType::Text);
        let b = tables[0].1.as_ref().unwrap();
        assert_eq!(texts(b, 0), ["1", "2", "3"]);
        assert_eq!(texts(b, 1), ["1.25", "NULL", "-10.50"]);
        assert_eq!(texts(b, 2), ["a", "b", "NULL"]);
        let b = tables[1].1.as_ref().unwrap();
        assert_eq!(texts(b, 0), ["x", "\\."], "gzip {gzip} offsets {offsets}");
        assert_eq!(scan.metadata["database"], "testdb");
    }
}

#[test]
fn skipped_tables_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = write_custom(&sample_entries(), true, true);
    let p = write_file(dir.path(), "s.dump", &bytes);
    let a = Archive::open(&p, Container::PgCustom).unwrap();
    let (scan, sources) = scan_archive(&a, &|n| n == "public.first").unwrap();
    let names: Vec<&str> = scan.tables.iter().map(|t| t.stream.as_str()).collect();
    assert_eq!(names, ["public.second"]);
    let mut batches = Vec::new();
    let limits = BatchLimits {
        rows: 10,
        bytes: 1 << 20,
    };
    read_table(&a, &scan, &sources, 0, limits, &mut |b| {
        batches.push(b);
        Ok(())
    })
    .unwrap();
    assert_eq!(texts(&batches, 0), ["x", "\\."]);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

    /// Junk spliced anywhere into a written archive: tables or errors, no panic.
    #[test]
    fn mutated_archives_never_panic(
        gzip in proptest::bool::ANY,
        offsets in proptest::bool::ANY,
        at in 0usize..2000,
        junk in proptest::collection::vec(proptest::num::u8::ANY, 1..8),
        overwrite in proptest::bool::ANY,
    ) {
        let mut bytes = write_custom(&sample_entries(), gzip, offsets);
        let at = at % bytes.len();
        if overwrite {
            for (k, b) in junk.iter().enumerate() {
                if let Some(x) = bytes.get_mut(at + k) {
                    *x = *b;
                }
            }
        } else {
            bytes.splice(at..at, junk);
        }
        let dir = tempfile::tempdir().unwrap();
        let p = write_file(dir.path(), "m.dump", &bytes);
        let _ = extract(&p);
    }
}

#[test]
fn unsupported_compression_and_versions_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = write_custom(&sample_entries(), false, true);
    // Version 1.15 puts a compression algorithm byte where 1.14 has an int.
    bytes[6] = 15;
    bytes.splice(11..16, [3u8]);
    let p = write_file(dir.path(), "z.dump", &bytes);
    let e = Archive::open(&p, Container::PgCustom)
        .unwrap_err()
        .to_string();
    assert!(e.contains("z.dump") && e.contains("zstd"), "{e}");
    bytes[6] = 17;
    let p = write_file(dir.path(), "new.dump", &bytes);
    let e = Archive::open(&p, Container::PgCustom)
        .unwrap_err()
        .to_string();
    assert!(e.contains("version 1.17.0"), "{e}");
}

/// Cutting a written archive at every byte never panics; once the table of
/// contents is whole, the tables whose data precedes the cut are read in full
/// and the others fail with a message naming the entry.
#[test]
fn written_archive_cut_anywhere() {
    let dir = tempfile::tempdir().unwrap();
    for (gzip, offsets) in [(false, true), (true, false)] {
        let bytes = write_custom(&sample_entries(), gzip, offsets);
        let toc_end = parse_toc(&bytes[..]).unwrap().end as usize;
        for cut in 0..bytes.len() {
            let p = write_file(dir.path(), "cut.dump", &bytes[..cut]);
            let got = extract(&p);
            if cut < toc_end {
                assert!(got.is_err(), "cut at {cut}: the TOC is incomplete");
                continue;
            }
            let (_, tables) = got.unwrap();
            let first = &tables[0];
            assert_eq!(first.0, "public.first");
            if let Err(e) = &first.1 {
                assert!(e.contains("TOC entry 6"), "cut at {cut}: {e}");
            }
        }
        // Cut inside the second table's data: the first is whole.
        let p = write_file(dir.path(), "cut.dump", &bytes[..bytes.len() - 4]);
        let (_, tables) = extract(&p).unwrap();
        assert_eq!(texts(tables[0].1.as_ref().unwrap(), 0).len(), 3);
        let e = tables[1].1.as_ref().unwrap_err();
        assert!(e.contains("cut.dump") && e.contains("TOC entry 7"), "{e}");
    }
}

#[test]
fn tar_sizes_and_headers() {
    assert_eq!(tar_size(b"00000001750\0"), Some(0o1750));
    assert_eq!(tar_size(b"      17 \0\0\0"), Some(0o17));
    let mut big = [0u8; 12];
    big[0] = 0x80;
    big[11] = 5;
    big[10] = 1;
    assert_eq!(tar_size(&big), Some(261));
    assert_eq!(tar_size(b"zz"), None);
    assert!(ends_with_terminator(b"1\n\\.\n\n\n", false));
    assert!(ends_with_terminator(b"\\.\n", true));
    assert!(!ends_with_terminator(b"\\.\n", false));
    assert!(!ends_with_terminator(b"x\\.\n", false));
}

// ---------------------------------------------------------------------------
// Real archives from the installed pg_dump.

fn ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn pg_ok() -> bool {
    let ok = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-Atc", "select 1"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!ci(), "PostgreSQL on 127.0.0.1:5432 is required in CI");
        eprintln!("PostgreSQL not reachable: skipping");
    }
    ok
}

fn psql(db: &str, sql: &str) {
    let out = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U"])
        .args(["postgres", "-d", db, "-c", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Db(String);
impl Drop for Db {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-c"])
            .arg(format!("DROP DATABASE IF EXISTS {}", self.0))
            .output();
    }
}

fn pg_dump(db: &str, out: &Path, flags: &[&str]) {
    let st = Command::new("pg_dump")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", db, "-f"])
        .arg(out)
        .args(flags)
        .status()
        .unwrap();
    assert!(st.success(), "pg_dump {flags:?}");
}

fn real_db() -> Db {
    let name = format!(
        "ferry_archive_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    psql("postgres", &format!("CREATE DATABASE {name}"));
    let db = Db(name);
    psql(
        &db.0,
        "CREATE TABLE public.a (id integer PRIMARY KEY, t text, n numeric);
         INSERT INTO a SELECT g, 'row ' || g, g * 0.125 FROM generate_series(1, 5000) g;
         CREATE TABLE public.empty (id integer);
         CREATE TABLE public.one (v text);
         INSERT INTO one VALUES ('\\.'), (E'tab\\there');
         CREATE TABLE public.z (id bigint PRIMARY KEY, payload text);
         INSERT INTO z SELECT g, md5(g::text) FROM generate_series(1, 20000) g;",
    );
    db
}

/// The TOC parser on real archives: every entry kind the scanner needs is there,
/// with its SQL, and the data of each format reads back.
#[test]
fn real_archive_toc_and_data() {
    if !pg_ok() {
        return;
    }
    let db = real_db();
    let dir = tempfile::tempdir().unwrap();
    let custom = dir.path().join("c.dump");
    pg_dump(&db.0, &custom, &["-Fc"]);
    let toc = parse_toc(std::fs::File::open(&custom).unwrap()).unwrap();
    assert_eq!((toc.header.version.0, toc.header.format), (1, 1));
    assert_eq!(toc.header.database, db.0);
    assert_eq!(toc.header.compression, Compression::Gzip);
    assert!(toc.header.pg_dump_version.is_some());
    let find = |desc: &str, tag: &str| {
        toc.entries
            .iter()
            .find(|e| e.desc == desc && e.tag == tag)
            .unwrap_or_else(|| panic!("no {desc} {tag}"))
    };
    assert!(
        find("ENCODING", "ENCODING")
            .defn
            .starts_with(b"SET client_encoding")
    );
    assert!(
        find("TABLE", "a")
            .defn
            .starts_with(b"CREATE TABLE public.a (")
    );
    let data = find("TABLE DATA", "a");
    assert_eq!(data.copy_stmt, b"COPY public.a (id, t, n) FROM stdin;\n");
    assert_eq!(data.namespace, "public");
    assert!(matches!(data.data, DataRef::Offset(_)));
    assert!(
        String::from_utf8_lossy(&find("CONSTRAINT", "a a_pkey").defn).contains("PRIMARY KEY (id)")
    );

    let dirfmt = dir.path().join("d");
    pg_dump(&db.0, &dirfmt, &["-Fd"]);
    let tar = dir.path().join("t.tar");
    pg_dump(&db.0, &tar, &["-Ft"]);
    let piped = dir.path().join("piped.dump");
    let out = Command::new("pg_dump")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-Fc", "-d", &db.0])
        .output()
        .unwrap();
    std::fs::write(&piped, out.stdout).unwrap();
    let uncompressed = dir.path().join("c0.dump");
    pg_dump(&db.0, &uncompressed, &["-Fc", "-Z0"]);
    let piped_toc = parse_toc(std::fs::File::open(&piped).unwrap()).unwrap();
    let piped_a = piped_toc
        .entries
        .iter()
        .find(|e| e.desc == "TABLE DATA" && e.tag == "a");
    assert_eq!(piped_a.unwrap().data, DataRef::NotSet);
    for p in [
        &custom,
        &dirfmt,
        &tar,
        &piped,
        &uncompressed,
        &dirfmt.join("toc.dat"),
    ] {
        let (scan, tables) = extract(p).unwrap();
        let names: Vec<&str> = scan.tables.iter().map(|t| t.stream.as_str()).collect();
        assert_eq!(
            names,
            ["public.a", "public.empty", "public.one", "public.z"],
            "{p:?}"
        );
        let rows: Vec<u64> = scan.tables.iter().map(|t| t.rows).collect();
        assert_eq!(rows, [5000, 0, 2, 20000], "{p:?}");
        assert_eq!(scan.tables[0].primary_key, vec!["id"]);
        assert_eq!(scan.tables[0].columns[2].ty, ColType::Decimal(38, 3));
        for (name, r) in &tables {
            assert!(r.is_ok(), "{p:?} {name}: {r:?}");
        }
        let one = tables[2].1.as_ref().unwrap();
        assert_eq!(texts(one, 0), ["\\.", "tab\there"], "{p:?}");
        let a = tables[0].1.as_ref().unwrap();
        assert_eq!(texts(a, 1)[4999], "row 5000");
    }
}

/// A real archive cut at several points: never a panic; the tables whose data
/// lies before the cut are read in full, the others fail naming the entry.
#[test]
fn real_archive_truncated_keeps_earlier_tables() {
    if !pg_ok() {
        return;
    }
    let db = real_db();
    let dir = tempfile::tempdir().unwrap();
    for flags in [&["-Fc"][..], &["-Fc", "-Z0"][..]] {
        let full = dir.path().join("full.dump");
        pg_dump(&db.0, &full, flags);
        let bytes = std::fs::read(&full).unwrap();
        let toc = parse_toc(&bytes[..]).unwrap();
        let offset = |tag: &str| -> usize {
            match toc
                .entries
                .iter()
                .find(|e| e.desc == "TABLE DATA" && e.tag == tag)
                .unwrap()
                .data
            {
                DataRef::Offset(o) => o as usize,
                ref other => panic!("{other:?}"),
            }
        };
        let (z_at, a_at) = (offset("z"), offset("a"));
        assert!(a_at < z_at);
        let cuts = [
            (toc.end / 2) as usize,
            toc.end as usize,
            a_at + 3,
            a_at + (z_at - a_at) / 2,
            z_at,
            z_at + 10,
            z_at + (bytes.len() - z_at) / 2,
            bytes.len() - 1,
        ];
        for cut in cuts {
            let p = write_file(dir.path(), "cut.dump", &bytes[..cut]);
            let got = std::panic::catch_unwind(|| extract(&p).map(|(_, t)| t));
            let got = got.unwrap_or_else(|_| panic!("{flags:?} cut at {cut}: panic"));
            let Ok(tables) = got else {
                assert!(cut < toc.end as usize, "{flags:?} cut at {cut}: {got:?}");
                continue;
            };
            let status: HashMap<&str, &std::result::Result<Vec<RecordBatch>, String>> =
                tables.iter().map(|(n, r)| (n.as_str(), r)).collect();
            let ok = |n: &str| status[n].is_ok();
            if cut >= z_at {
                assert!(
                    ok("public.a") && ok("public.one") && ok("public.empty"),
                    "{cut}"
                );
            }
            if cut < bytes.len() {
                let e = status["public.z"].as_ref().unwrap_err();
                assert!(e.contains("cut.dump") && e.contains("TOC entry"), "{e}");
            }
            if cut <= a_at + (z_at - a_at) / 2 {
                assert!(!ok("public.a"), "{cut}");
            }
        }
    }
}
