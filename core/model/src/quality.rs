//! Data-quality checks on a canonical folder.
//!
//! For every entity present: the primary key is unique and never NULL; required
//! columns are filled; each foreign key finds its row in the referenced entity (when
//! that entity is present; otherwise the check is listed as not run); normalised codes
//! are among the allowed values; numbers are not below their `min`; and for every
//! `[[totals]]` rule, each header amount equals the sum of its lines within the
//! tolerance. Each finding carries a count and the first offending keys, so a report
//! says exactly what to look at.

use std::path::Path;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::TableReference;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use serde::Serialize;

use crate::ModelError;
use crate::model::{Model, TotalRule};

/// How many offending keys a finding lists.
pub const SAMPLE: usize = 5;

/// One failed check.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Finding {
    /// `primary_key_unique`, `primary_key_null`, `required`, `foreign_key`,
    /// `allowed_values`, `range` or `totals`.
    pub check: String,
    /// The entity checked.
    pub entity: String,
    /// The column checked (for `totals`, the header column).
    pub column: String,
    /// How many rows (or keys) fail.
    pub count: u64,
    /// The first offending rows: their key and, where it helps, the value.
    pub examples: Vec<String>,
    /// A one-line explanation.
    pub message: String,
}

/// Rows of one entity present in the folder.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EntityCount {
    /// Entity name.
    pub entity: String,
    /// Rows.
    pub rows: u64,
}

/// The result of [`check_folder`].
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct QualityReport {
    /// Entities found, with row counts.
    pub entities: Vec<EntityCount>,
    /// Checks that ran.
    pub checks_run: u64,
    /// Checks that could not run and why (e.g. a referenced entity is absent).
    pub not_run: Vec<String>,
    /// Every failed check.
    pub findings: Vec<Finding>,
}

impl QualityReport {
    /// No finding.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// A human rendering.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let rows: u64 = self.entities.iter().map(|e| e.rows).sum();
        out.push_str(&format!(
            "quality: {} entities, {rows} rows, {} checks, {} finding(s)\n",
            self.entities.len(),
            self.checks_run,
            self.findings.len()
        ));
        for f in &self.findings {
            out.push_str(&format!(
                "  {} {}.{}: {} — {} (e.g. {})\n",
                f.check,
                f.entity,
                f.column,
                f.count,
                f.message,
                f.examples.join("; ")
            ));
        }
        for n in &self.not_run {
            out.push_str(&format!("  not run: {n}\n"));
        }
        out
    }
}

fn query_err(
    context: impl Into<String>,
) -> impl FnOnce(datafusion::error::DataFusionError) -> ModelError {
    let context = context.into();
    move |source| ModelError::Query { context, source }
}

async fn collect(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>, ModelError> {
    ctx.sql(sql)
        .await
        .map_err(query_err(sql))?
        .collect()
        .await
        .map_err(query_err(sql))
}

/// Every row of a query result, each column formatted as text.
async fn rows(ctx: &SessionContext, sql: &str) -> Result<Vec<Vec<String>>, ModelError> {
    let mut out = Vec::new();
    let options = FormatOptions::default().with_null("NULL");
    for batch in collect(ctx, sql).await? {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ModelError::file(sql, e.to_string()))?;
        for r in 0..batch.num_rows() {
            out.push(formatters.iter().map(|f| f.value(r).to_string()).collect());
        }
    }
    Ok(out)
}

async fn count(ctx: &SessionContext, sql: &str) -> Result<u64, ModelError> {
    let r = rows(ctx, sql).await?;
    Ok(r.first()
        .and_then(|row| row.first())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A check: counts rows matching `condition` over `from`, lists the first ones.
struct Probe<'a> {
    check: &'a str,
    entity: &'a str,
    column: &'a str,
    from: String,
    condition: String,
    shown: String,
    message: String,
}

async fn probe(ctx: &SessionContext, p: Probe<'_>) -> Result<Option<Finding>, ModelError> {
    let n = count(
        ctx,
        &format!("SELECT count(*) FROM {} WHERE {}", p.from, p.condition),
    )
    .await?;
    if n == 0 {
        return Ok(None);
    }
    let examples = rows(
        ctx,
        &format!(
            "SELECT {} FROM {} WHERE {} ORDER BY 1 LIMIT {SAMPLE}",
            p.shown, p.from, p.condition
        ),
    )
    .await?
    .into_iter()
    .map(|r| r.join(" "))
    .collect();
    Ok(Some(Finding {
        check: p.check.to_owned(),
        entity: p.entity.to_owned(),
        column: p.column.to_owned(),
        count: n,
        examples,
        message: p.message,
    }))
}

/// Runs every check on the canonical folder `dir` (one sub-folder of Parquet files per
/// entity, as `ferry map` writes).
///
/// # Errors
/// The folder cannot be read, or a query fails.
pub async fn check_folder(dir: &Path, model: &Model) -> Result<QualityReport, ModelError> {
    let mut config = SessionConfig::new();
    config
        .options_mut()
        .execution
        .parquet
        .schema_force_view_types = false;
    let ctx = SessionContext::new_with_config(config);
    let mut report = QualityReport::default();
    let mut present = std::collections::HashSet::new();
    for name in model.entities.keys() {
        let path = dir.join(name);
        let has_parquet = std::fs::read_dir(&path)
            .map(|it| {
                it.flatten()
                    .any(|f| f.file_name().to_string_lossy().ends_with(".parquet"))
            })
            .unwrap_or(false);
        if !has_parquet {
            continue;
        }
        ctx.register_parquet(
            TableReference::bare(name.as_str()),
            &format!("{}/", path.display()),
            ParquetReadOptions::default().file_extension(".parquet"),
        )
        .await
        .map_err(|e| ModelError::file(path.display().to_string(), e.to_string()))?;
        present.insert(name.clone());
        let rows = count(&ctx, &format!("SELECT count(*) FROM {}", quote(name))).await?;
        report.entities.push(EntityCount {
            entity: name.clone(),
            rows,
        });
    }
    if present.is_empty() {
        return Err(ModelError::file(
            dir.display().to_string(),
            "holds no canonical entity folder (run `ferry map` first)",
        ));
    }
    let mut findings = Vec::new();
    for def in model.dependency_order() {
        if !present.contains(&def.entity) {
            continue;
        }
        let e = def.entity.as_str();
        let t = quote(e);
        let pk = quote(&def.primary_key);
        let mut probes = vec![Probe {
            check: "primary_key_unique",
            entity: e,
            column: &def.primary_key,
            from: format!("(SELECT {pk} AS k, count(*) AS n FROM {t} GROUP BY {pk}) d"),
            condition: "n > 1".into(),
            shown: "k, '×' || CAST(n AS VARCHAR)".into(),
            message: "key appears more than once".into(),
        }];
        for c in &def.columns {
            let col = quote(&c.name);
            if c.required {
                probes.push(Probe {
                    check: if c.name == def.primary_key {
                        "primary_key_null"
                    } else {
                        "required"
                    },
                    entity: e,
                    column: &c.name,
                    from: t.clone(),
                    condition: format!("{col} IS NULL"),
                    shown: format!("CAST({pk} AS VARCHAR)"),
                    message: "required value missing".into(),
                });
            }
            if let Some(r) = &c.references {
                if present.contains(r) {
                    probes.push(Probe {
                        check: "foreign_key",
                        entity: e,
                        column: &c.name,
                        from: format!(
                            "{t} x LEFT JOIN (SELECT id AS ref_id FROM {}) r ON x.{col} = r.ref_id",
                            quote(r)
                        ),
                        condition: format!("x.{col} IS NOT NULL AND r.ref_id IS NULL"),
                        shown: format!("x.{pk}, '→ ' || x.{col}"),
                        message: format!("no {r} with this id"),
                    });
                } else {
                    report
                        .not_run
                        .push(format!("{e}.{}: referenced entity {r} is absent", c.name));
                }
            }
            if !c.values.is_empty() {
                let list = c
                    .values
                    .iter()
                    .map(|v| literal(v))
                    .collect::<Vec<_>>()
                    .join(", ");
                probes.push(Probe {
                    check: "allowed_values",
                    entity: e,
                    column: &c.name,
                    from: t.clone(),
                    condition: format!("{col} IS NOT NULL AND {col} NOT IN ({list})"),
                    shown: format!("{pk}, '= ' || {col}"),
                    message: format!("not one of {}", c.values.join(", ")),
                });
            }
            if let Some(min) = &c.min {
                probes.push(Probe {
                    check: "range",
                    entity: e,
                    column: &c.name,
                    from: t.clone(),
                    condition: if c.kind == crate::model::ColumnType::Decimal {
                        format!("{col} < CAST('{min}' AS DECIMAL(28, 8))")
                    } else {
                        format!("{col} < {min}")
                    },
                    shown: format!("{pk}, '= ' || CAST({col} AS VARCHAR)"),
                    message: format!("below {min}"),
                });
            }
        }
        for rule in &def.totals {
            if !present.contains(&rule.lines) {
                report.not_run.push(format!(
                    "{e}.{} totals: line entity {} is absent",
                    rule.header, rule.lines
                ));
                continue;
            }
            probes.push(totals_probe(e, &def.primary_key, rule));
        }
        for p in probes {
            report.checks_run += 1;
            if let Some(f) = probe(&ctx, p).await? {
                findings.push(f);
            }
        }
    }
    report.findings = findings;
    Ok(report)
}

fn totals_probe<'a>(entity: &'a str, pk: &str, rule: &'a TotalRule) -> Probe<'a> {
    let (h, l) = (quote(entity), quote(&rule.lines));
    let (pk, key, header, line) = (
        quote(pk),
        quote(&rule.key),
        quote(&rule.header),
        quote(&rule.line),
    );
    Probe {
        check: "totals",
        entity,
        column: &rule.header,
        from: format!(
            "(SELECT h.{pk} AS k, h.{header} AS header, COALESCE(s.total, 0) AS total \
             FROM {h} h LEFT JOIN (SELECT {key} AS k, SUM({line}) AS total FROM {l} GROUP BY {key}) s \
             ON s.k = h.{pk} WHERE h.{header} IS NOT NULL) d"
        ),
        condition: format!(
            "abs(header - total) > CAST('{}' AS DECIMAL(28, 8))",
            rule.tolerance
        ),
        shown: "k, CAST(header AS VARCHAR) || ' ≠ ' || CAST(total AS VARCHAR)".into(),
        message: format!(
            "differs from the sum of {}.{} by more than {}",
            rule.lines, rule.line, rule.tolerance
        ),
    }
}
