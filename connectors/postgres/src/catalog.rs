//! Discovery: the tables of the chosen schemas with their columns, PostgreSQL types
//! (resolved through domains and arrays to a [`PgKind`]), primary keys and the planner's
//! row estimates (`pg_class.reltuples`, not exact).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::datatypes::{Field, Schema};
use ferry_core::{Result, StreamSpec};
use tokio_postgres::Client;

use crate::config::Settings;
use crate::types::{PgKind, kind_of_base_type};

/// One column as read.
#[derive(Debug, Clone)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// How it is read.
    pub kind: PgKind,
    /// The PostgreSQL type as `format_type` prints it, for messages.
    pub pg_type: String,
}

/// One table as read.
#[derive(Debug, Clone)]
pub struct Table {
    /// Schema name.
    pub schema: String,
    /// Table name.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Primary-key column names, in key order.
    pub primary_key: Vec<String>,
    /// The stream spec given to the pipeline.
    pub spec: StreamSpec,
}

impl Table {
    /// `"schema"."table"`, quoted for SQL.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }
}

/// Quotes an identifier for SQL.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[derive(Debug)]
struct TypeRow {
    name: String,
    typtype: String,
    basetype: u32,
    basetypmod: i32,
    elem: u32,
    category: String,
}

/// Resolves a column type to how it is read: domains to their base type, arrays to a
/// list of their element, enums to text, anything unmapped to `::text`.
fn resolve(
    types: &HashMap<u32, TypeRow>,
    oid: u32,
    typmod: i32,
    numeric_scale: i8,
    depth: u8,
) -> PgKind {
    let text = PgKind::CastText { warn: true };
    let Some(t) = types.get(&oid) else {
        return text;
    };
    if depth > 8 {
        return text;
    }
    match t.typtype.as_str() {
        "d" => return resolve(types, t.basetype, t.basetypmod, numeric_scale, depth + 1),
        "e" => return PgKind::Text,
        _ => {}
    }
    if t.category == "A" && t.elem != 0 {
        return match resolve(types, t.elem, typmod, numeric_scale, depth + 1) {
            PgKind::Array(_) | PgKind::CastText { .. } => text,
            inner => PgKind::Array(Box::new(inner)),
        };
    }
    kind_of_base_type(&t.name, typmod, numeric_scale).unwrap_or(text)
}

/// Lists the tables of `settings.schemas` (or of every non-system schema).
///
/// # Errors
/// A catalog query fails.
pub async fn discover(client: &Client, settings: &Settings) -> Result<Vec<Table>> {
    let err = |e: tokio_postgres::Error| settings.remote_error("catalog", &e);
    let mut types = HashMap::new();
    for row in client
        .query(
            "SELECT oid::int8, typname::text, typtype::text, typbasetype::int8, typtypmod, \
             typelem::int8, typcategory::text FROM pg_type",
            &[],
        )
        .await
        .map_err(err)?
    {
        types.insert(
            row.get::<_, i64>(0) as u32,
            TypeRow {
                name: row.get(1),
                typtype: row.get(2),
                basetype: row.get::<_, i64>(3) as u32,
                basetypmod: row.get(4),
                elem: row.get::<_, i64>(5) as u32,
                category: row.get(6),
            },
        );
    }
    let schema_filter = "n.nspname NOT IN ('pg_catalog', 'information_schema') \
         AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' \
         AND (cardinality($1::text[]) = 0 OR n.nspname = ANY($1::text[]))";
    let columns = client
        .query(
            &format!(
                "SELECT n.nspname::text, c.relname::text, c.reltuples::float8, a.attname::text, \
                 a.atttypid::int8, a.atttypmod, format_type(a.atttypid, a.atttypmod), a.attnotnull \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
                 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {schema_filter} \
                 ORDER BY 1, 2, a.attnum"
            ),
            &[&settings.schemas],
        )
        .await
        .map_err(err)?;
    let keys = client
        .query(
            &format!(
                "SELECT n.nspname::text, c.relname::text, a.attname::text \
                 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace \
                 CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
                 WHERE i.indisprimary AND {schema_filter} ORDER BY 1, 2, k.ord"
            ),
            &[&settings.schemas],
        )
        .await
        .map_err(err)?;
    let mut pks: HashMap<(String, String), Vec<String>> = HashMap::new();
    for row in keys {
        pks.entry((row.get(0), row.get(1)))
            .or_default()
            .push(row.get(2));
    }
    let mut tables: BTreeMap<(String, String), TableColumns> = BTreeMap::new();
    for row in columns {
        let key = (row.get::<_, String>(0), row.get::<_, String>(1));
        let kind = resolve(
            &types,
            row.get::<_, i64>(4) as u32,
            row.get(5),
            settings.numeric_scale,
            0,
        );
        let column = Column {
            name: row.get(3),
            kind,
            pg_type: row.get(6),
        };
        let not_null: bool = row.get(7);
        tables
            .entry(key)
            .or_insert_with(|| (row.get(2), Vec::new()))
            .1
            .push((column, not_null));
    }
    let mut out = Vec::with_capacity(tables.len());
    for ((schema, name), (reltuples, columns)) in tables {
        let stream = format!("{schema}.{name}");
        let fields: Vec<Field> = columns
            .iter()
            .map(|(c, not_null)| {
                if let PgKind::CastText { warn: true } = c.kind {
                    tracing::warn!(
                        stream,
                        column = c.name,
                        pg_type = c.pg_type,
                        "Column type has no exact Arrow mapping; it is read as text."
                    );
                }
                Field::new(
                    &c.name,
                    c.kind.arrow_type(),
                    !*not_null || c.kind.may_null_values(),
                )
            })
            .collect();
        let primary_key = pks
            .remove(&(schema.clone(), name.clone()))
            .unwrap_or_default();
        let mut spec = StreamSpec::new(&stream, Arc::new(Schema::new(fields)));
        spec.primary_key = primary_key.clone();
        spec.row_estimate = (reltuples >= 0.0).then_some(reltuples as u64);
        spec.row_count_exact = false;
        out.push(Table {
            schema,
            name,
            columns: columns.into_iter().map(|(c, _)| c).collect(),
            primary_key,
            spec,
        });
    }
    Ok(out)
}

/// Row estimate and columns (with a supported flag) of one table, while discovering.
type TableColumns = (f64, Vec<(Column, bool)>);

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(name: &str, typtype: &str, base: u32, elem: u32, category: &str) -> TypeRow {
        TypeRow {
            name: name.into(),
            typtype: typtype.into(),
            basetype: base,
            basetypmod: (12 << 16 | 2) + 4,
            elem,
            category: category.into(),
        }
    }

    #[test]
    fn domains_arrays_and_enums_resolve() {
        let types: HashMap<u32, TypeRow> = [
            (1700, ty("numeric", "b", 0, 0, "N")),
            (1231, ty("_numeric", "b", 0, 1700, "A")),
            (25, ty("text", "b", 0, 0, "S")),
            (9000, ty("money_amount", "d", 1700, 0, "N")),
            (9001, ty("mood", "e", 0, 0, "E")),
            (9002, ty("_mood", "b", 0, 9001, "A")),
            (790, ty("money", "b", 0, 0, "N")),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            resolve(&types, 9000, -1, 10, 0),
            PgKind::Numeric {
                precision: 12,
                scale: 2
            },
            "a domain takes its base type and typmod"
        );
        assert_eq!(resolve(&types, 9001, -1, 10, 0), PgKind::Text);
        assert_eq!(
            resolve(&types, 9002, -1, 10, 0),
            PgKind::Array(Box::new(PgKind::Text))
        );
        assert_eq!(
            resolve(&types, 1231, -1, 10, 0),
            PgKind::Array(Box::new(PgKind::Numeric {
                precision: 38,
                scale: 10
            }))
        );
        assert_eq!(
            resolve(&types, 790, -1, 10, 0),
            PgKind::CastText { warn: true }
        );
        assert_eq!(
            resolve(&types, 4242, -1, 10, 0),
            PgKind::CastText { warn: true }
        );
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident(r#"we"ird"#), r#""we""ird""#);
    }
}
