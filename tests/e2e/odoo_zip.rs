//! An Odoo-shaped database, dumped and zipped the way Odoo's database manager does
//! (`dump.sql` from `pg_dump --no-owner`, `manifest.json`, `filestore/<xx>/<sha1>`),
//! read back by `ferry extract ZIP --with-files`: every table complete, values equal
//! to the server's, attachments copied and checked against the SHA-1 in their names.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use arrow::array::{Array, AsArray, RecordBatch};

use crate::util::{ferry, postgres_reachable, stderr};

const TABLES: &str = r#"
CREATE TABLE res_partner (id serial PRIMARY KEY, name varchar NOT NULL, email varchar,
  is_company boolean, lang varchar, create_date timestamp, write_date timestamp);
CREATE TABLE product_template (id serial PRIMARY KEY, name jsonb NOT NULL, description_sale jsonb,
  list_price numeric, type varchar NOT NULL, create_date timestamp, write_date timestamp);
CREATE TABLE product_product (id serial PRIMARY KEY, product_tmpl_id integer NOT NULL
  REFERENCES product_template(id), default_code varchar, active boolean, write_date timestamp);
CREATE TABLE sale_order (id serial PRIMARY KEY, name varchar NOT NULL, partner_id integer NOT NULL
  REFERENCES res_partner(id), date_order timestamp NOT NULL, state varchar,
  amount_total numeric(16,2), note text, write_date timestamp);
CREATE TABLE sale_order_line (id serial PRIMARY KEY, order_id integer NOT NULL REFERENCES sale_order(id),
  product_id integer REFERENCES product_product(id), name text NOT NULL,
  product_uom_qty numeric NOT NULL, price_unit numeric NOT NULL, write_date timestamp);
CREATE TABLE account_move (id serial PRIMARY KEY, name varchar, move_type varchar NOT NULL,
  partner_id integer REFERENCES res_partner(id), invoice_date date, amount_total numeric,
  state varchar NOT NULL, write_date timestamp);
CREATE TABLE account_move_line (id serial PRIMARY KEY, move_id integer NOT NULL REFERENCES account_move(id),
  name varchar, debit numeric, credit numeric, balance numeric, quantity numeric, write_date timestamp);
CREATE TABLE stock_quant (id serial PRIMARY KEY, product_id integer NOT NULL REFERENCES product_product(id),
  location_id integer NOT NULL, quantity numeric, reserved_quantity numeric NOT NULL, in_date timestamp);
CREATE TABLE ir_attachment (id serial PRIMARY KEY, name varchar NOT NULL, res_model varchar, res_id integer,
  store_fname varchar, checksum varchar(40), file_size integer, mimetype varchar, db_datas bytea,
  create_date timestamp);
INSERT INTO res_partner (name, email, is_company, lang, create_date, write_date)
SELECT CASE WHEN g % 5 = 0 THEN 'Société ' || g || ' «Ñandú» 😀' ELSE 'Partner ' || g END,
       CASE WHEN g % 4 = 0 THEN NULL WHEN g % 4 = 1 THEN '' ELSE 'p' || g || '@example.com' END,
       g % 3 = 0, CASE WHEN g % 2 = 0 THEN 'fr_FR' ELSE 'en_US' END,
       timestamp '2024-01-01 00:00:00' + g * interval '1 hour',
       timestamp '2024-06-01 00:00:00' + g * interval '1 minute'
FROM generate_series(1, 240) g;
INSERT INTO product_template (name, description_sale, list_price, type, create_date, write_date)
SELECT jsonb_build_object('en_US', 'Chair ' || g, 'fr_FR', 'Chaise « ' || g || ' »', 'de_DE', 'Stuhl\t' || g),
       CASE WHEN g % 3 = 0 THEN NULL ELSE jsonb_build_object('en_US', E'Line one\nline "two" \\ three') END,
       g * 1.25, CASE WHEN g % 2 = 0 THEN 'consu' ELSE 'service' END,
       timestamp '2024-02-01 00:00:00', timestamp '2024-02-02 00:00:00' + g * interval '1 second'
FROM generate_series(1, 60) g;
INSERT INTO product_product (product_tmpl_id, default_code, active, write_date)
SELECT 1 + (g - 1) % 60, 'SKU-' || g, g % 9 <> 0, timestamp '2024-02-03 00:00:00'
FROM generate_series(1, 90) g;
INSERT INTO sale_order (name, partner_id, date_order, state, amount_total, note, write_date)
SELECT 'S' || lpad(g::text, 5, '0'), 1 + g % 240, timestamp '2024-03-01 09:00:00' + g * interval '2 hours',
       (ARRAY['draft', 'sale', 'cancel'])[1 + g % 3], 0, CASE WHEN g % 2 = 0 THEN NULL ELSE 'Note ' || g END,
       timestamp '2024-03-05 00:00:00'
FROM generate_series(1, 120) g;
INSERT INTO sale_order_line (order_id, product_id, name, product_uom_qty, price_unit, write_date)
SELECT 1 + (g - 1) / 4, 1 + g % 90, '[SKU-' || (1 + g % 90) || '] line ' || g,
       (g % 7) + 0.125, (g % 100) + 0.0001, timestamp '2024-03-06 00:00:00'
FROM generate_series(1, 480) g;
UPDATE sale_order o SET amount_total = (SELECT round(sum(product_uom_qty * price_unit), 2)
  FROM sale_order_line l WHERE l.order_id = o.id);
INSERT INTO account_move (name, move_type, partner_id, invoice_date, amount_total, state, write_date)
SELECT 'INV/2024/' || lpad(g::text, 5, '0'), CASE WHEN g % 10 = 0 THEN 'out_refund' ELSE 'out_invoice' END,
       1 + g % 240, date '2024-04-01' + g, g * 10.01, 'posted', timestamp '2024-04-02 00:00:00'
FROM generate_series(1, 100) g;
INSERT INTO account_move_line (move_id, name, debit, credit, balance, quantity, write_date)
SELECT 1 + (g - 1) / 3, 'Line ' || g, CASE WHEN g % 3 = 0 THEN g * 10.01 ELSE 0 END,
       CASE WHEN g % 3 = 0 THEN 0 ELSE g * 5.005 END,
       CASE WHEN g % 3 = 0 THEN g * 10.01 ELSE -g * 5.005 END, g % 11, timestamp '2024-04-02 00:00:00'
FROM generate_series(1, 300) g;
INSERT INTO stock_quant (product_id, location_id, quantity, reserved_quantity, in_date)
SELECT 1 + g % 90, 8 + g % 3, CASE WHEN g % 13 = 0 THEN -2.5 ELSE g * 1.5 END, 0, timestamp '2024-05-01 00:00:00'
FROM generate_series(1, 150) g;
"#;

fn psql(db: &str, sql: &str) -> String {
    let mut child = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
        .args(["-U", "postgres", "-d", db, "-At", "-F", "\u{1f}"])
        .args(["-P", "null=@NULL@"])
        .env("PGTZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct Db(String);
impl Drop for Db {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-qc"])
            .arg(format!("DROP DATABASE IF EXISTS {}", self.0))
            .output();
    }
}

fn sha1_hex(path: &Path) -> String {
    let out = Command::new("sha1sum").arg(path).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned()
}

fn read_dir_batches(dir: &Path) -> Vec<RecordBatch> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| {
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                std::fs::File::open(f).unwrap(),
            )
            .unwrap()
            .build()
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
        })
        .collect()
}

/// Column `name` of every row, as text (`@NULL@` for NULL), keyed by `id`.
fn column_by_id(batches: &[RecordBatch], name: &str) -> BTreeMap<i64, String> {
    let mut out = BTreeMap::new();
    for b in batches {
        let ids = arrow::compute::cast(
            b.column_by_name("id").unwrap(),
            &arrow::datatypes::DataType::Int64,
        )
        .unwrap();
        let ids = ids.as_primitive::<arrow::datatypes::Int64Type>();
        let col = b.column_by_name(name).unwrap();
        let binary = col.as_binary_opt::<i32>();
        let text = arrow::compute::cast(col, &arrow::datatypes::DataType::Utf8).unwrap();
        let text = text.as_string::<i32>();
        for i in 0..b.num_rows() {
            let v = if col.is_null(i) {
                "@NULL@".to_owned()
            } else if let Some(bytes) = binary {
                hex::encode(bytes.value(i))
            } else {
                text.value(i).to_owned()
            };
            out.insert(ids.value(i), v);
        }
    }
    out
}

#[test]
fn odoo_shaped_database_round_trips_through_a_manager_style_zip() {
    if !postgres_reachable() {
        return;
    }
    let db = Db(format!(
        "ferry_odoo_zip_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    ));
    psql("postgres", &format!("CREATE DATABASE {}", db.0));
    psql(&db.0, TABLES);

    // A small filestore: files named by the SHA-1 of their content, one of them tampered.
    let dir = tempfile::tempdir().unwrap();
    let stage = dir.path().join("stage");
    let mut attachments = Vec::new();
    for (i, content) in [
        b"%PDF-1.4 invoice 1".to_vec(),
        vec![0x89, b'P', b'N', b'G', 0, 1, 2, 255],
        "Bon de commande n° 42 – café".as_bytes().to_vec(),
        vec![7u8; 70_000],
        b"tampered original".to_vec(),
    ]
    .into_iter()
    .enumerate()
    {
        let tmp = dir.path().join(format!("blob{i}"));
        std::fs::write(&tmp, &content).unwrap();
        let sha = sha1_hex(&tmp);
        let rel = format!("{}/{sha}", &sha[..2]);
        let target = stage.join("filestore").join(&rel);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        let stored: &[u8] = if i == 4 {
            b"changed afterwards"
        } else {
            &content
        };
        std::fs::write(&target, stored).unwrap();
        attachments.push((rel, sha, content.len(), i == 4));
    }
    let inserts: Vec<String> = attachments
        .iter()
        .enumerate()
        .map(|(i, (rel, sha, size, _))| {
            format!(
                "('file {i}.bin', 'sale.order', {}, '{rel}', '{sha}', {size}, 'application/octet-stream', now())",
                i + 1
            )
        })
        .collect();
    psql(
        &db.0,
        &format!(
            "INSERT INTO ir_attachment (name, res_model, res_id, store_fname, checksum, file_size, mimetype, create_date) VALUES {}; \
             INSERT INTO ir_attachment (name, res_model, res_id, db_datas, file_size, create_date) VALUES ('inline', 'res.partner', 1, '\\x00ff', 2, now());",
            inserts.join(", ")
        ),
    );

    // What Odoo's database manager writes: pg_dump --no-owner into dump.sql, a manifest.
    let st = Command::new("pg_dump")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "--no-owner",
            "-d",
            &db.0,
            "-f",
        ])
        .arg(stage.join("dump.sql"))
        .status()
        .unwrap();
    assert!(st.success());
    let manifest = serde_json::json!({
        "odoo_dump": "1", "db_name": db.0, "version": "17.0", "version_info": [17, 0, 0, "final", 0, ""],
        "major_version": "17.0", "pg_version": "15.0",
        "modules": {"base": "17.0.1.3", "sale_management": "17.0.1.0", "account": "17.0.1.2", "stock": "17.0.1.1"}
    });
    std::fs::write(
        stage.join("manifest.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    let zip = dir.path().join("odoo_backup.zip");
    let st = Command::new("zip")
        .current_dir(&stage)
        .args(["-q", "-r"])
        .arg(&zip)
        .args(["dump.sql", "manifest.json", "filestore"])
        .status()
        .unwrap();
    assert!(st.success());

    let out = dir.path().join("out");
    let res = ferry()
        .args([
            "extract",
            zip.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--with-files", "--json"])
        .output()
        .unwrap();
    let err = stderr(&res);
    assert!(res.status.success(), "{err}");
    let report: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    let rows: BTreeMap<String, (String, u64)> = report["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                (
                    s["status"].as_str().unwrap().to_owned(),
                    s["rows"].as_u64().unwrap(),
                ),
            )
        })
        .collect();

    // Every table complete, every value equal to the server's text of it.
    let tables = [
        (
            "res_partner",
            vec!["name", "email", "is_company", "lang", "create_date"],
        ),
        (
            "product_template",
            vec!["name", "description_sale", "list_price", "type"],
        ),
        (
            "product_product",
            vec!["product_tmpl_id", "default_code", "active"],
        ),
        (
            "sale_order",
            vec![
                "name",
                "partner_id",
                "date_order",
                "state",
                "amount_total",
                "note",
            ],
        ),
        (
            "sale_order_line",
            vec![
                "order_id",
                "product_id",
                "name",
                "product_uom_qty",
                "price_unit",
            ],
        ),
        (
            "account_move",
            vec!["name", "move_type", "invoice_date", "amount_total", "state"],
        ),
        (
            "account_move_line",
            vec!["move_id", "debit", "credit", "balance", "quantity"],
        ),
        (
            "stock_quant",
            vec!["product_id", "location_id", "quantity", "reserved_quantity"],
        ),
        (
            "ir_attachment",
            vec!["name", "store_fname", "checksum", "file_size", "db_datas"],
        ),
    ];
    for (table, cols) in &tables {
        let count: u64 = psql(&db.0, &format!("SELECT count(*) FROM {table}"))
            .trim()
            .parse()
            .unwrap();
        let stream = format!("public.{table}");
        assert_eq!(
            rows.get(&stream),
            Some(&("written".to_owned(), count)),
            "{stream}"
        );
        let batches = read_dir_batches(&out.join(&stream));
        for col in cols {
            // The server's text of each value, in the form ferry's types print it:
            // jsonb as its canonical text, numerics without trailing zeros,
            // timestamps as UTC, booleans as true/false, bytea as hex.
            let expr = if *col == "db_datas" {
                format!("encode({col}, 'hex')")
            } else {
                format!("{col}::text")
            };
            let server: BTreeMap<i64, String> = psql(
                &db.0,
                &format!("SELECT id, {expr} FROM {table} ORDER BY id"),
            )
            .lines()
            .map(|l| {
                let (id, v) = l.split_once('\u{1f}').unwrap();
                (id.parse().unwrap(), v.to_owned())
            })
            .collect();
            let ours = column_by_id(&batches, col);
            assert_eq!(ours.len(), server.len(), "{table}.{col}");
            for (id, want) in &server {
                let got = &ours[id];
                let same = got == want
                    || normalise(got) == normalise(want)
                    || (*col == "db_datas" && got.eq_ignore_ascii_case(want));
                assert!(
                    same,
                    "{table}.{col} id {id}: ferry {got:?}, server {want:?}"
                );
            }
        }
    }

    // The manifest's modules, and the filestore: every named file present, copied,
    // verified; the tampered one reported.
    assert_eq!(rows["odoo_manifest_modules"], ("written".to_owned(), 4));
    assert_eq!(rows["filestore"], ("written".to_owned(), 5));
    let store = read_dir_batches(&out.join("filestore"));
    let mut verified = BTreeMap::new();
    for b in &store {
        let path = b.column_by_name("path").unwrap().as_string::<i32>();
        let ok = b.column_by_name("verified").unwrap().as_boolean();
        for i in 0..b.num_rows() {
            verified.insert(path.value(i).to_owned(), ok.value(i));
        }
    }
    for (rel, sha, _, tampered) in &attachments {
        assert_eq!(verified.get(rel), Some(&!tampered), "{rel}");
        let copy = out.join("_filestore").join(rel);
        assert!(copy.is_file(), "{} copied", copy.display());
        if *tampered {
            assert_ne!(&sha1_hex(&copy), sha);
            assert!(
                err.contains(rel.as_str()),
                "the mismatch is reported: {err}"
            );
        } else {
            assert_eq!(&sha1_hex(&copy), sha);
        }
    }
}

/// `12.50` and `12.5`, `2024-01-01 00:00:00` and `2024-01-01T00:00:00Z`, compare equal.
fn normalise(v: &str) -> String {
    let v = v.replace('T', " ").trim_end_matches('Z').to_owned();
    let v = v.strip_suffix("+00:00").unwrap_or(&v).to_owned();
    if v.contains('.')
        && v.trim_start_matches('-')
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.')
    {
        let t = v.trim_end_matches('0').trim_end_matches('.');
        if t == "-0" { "0".into() } else { t.to_owned() }
    } else {
        v
    }
}
