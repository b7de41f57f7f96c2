//! The raw side of a mapping: stream folders of an extraction, named for SQL.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::ModelError;

/// The SQL name of a raw stream: a leading `public.` dropped, `.`, space and `-` made
/// `_`, lower case. So Odoo's API model `sale.order.line` and its PostgreSQL table
/// `public.sale_order_line` are both `sale_order_line`.
pub fn sql_name(stream: &str) -> String {
    let s = stream.strip_prefix("public.").unwrap_or(stream);
    s.chars()
        .map(|c| match c {
            '.' | ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Stream folders holding Parquet files under `dir`, by SQL name.
pub fn list(dir: &Path) -> Result<BTreeMap<String, PathBuf>, ModelError> {
    let io = |e| ModelError::Io {
        path: dir.to_owned(),
        source: e,
    };
    let mut out: BTreeMap<String, PathBuf> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with(['.', '_']) || !path.is_dir() {
            continue;
        }
        let has_parquet = std::fs::read_dir(&path)
            .map_err(io)?
            .flatten()
            .any(|f| f.file_name().to_string_lossy().ends_with(".parquet"));
        if !has_parquet {
            continue;
        }
        let key = sql_name(&name);
        if let Some(other) = out.get(&key) {
            return Err(ModelError::file(
                dir.display().to_string(),
                format!(
                    "streams {:?} and {name:?} would both be table {key}",
                    other.file_name().unwrap_or_default()
                ),
            ));
        }
        out.insert(key, path);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::sql_name;

    #[test]
    fn vendor_stream_names_become_plain_sql_names() {
        assert_eq!(sql_name("sale.order.line"), "sale_order_line");
        assert_eq!(sql_name("public.sale_order_line"), "sale_order_line");
        assert_eq!(sql_name("Sales Order Item"), "sales_order_item");
        assert_eq!(sql_name("account.invoice-line"), "account_invoice_line");
    }
}
