//! Reconciliation: after a load, every record the load queries select is read back
//! from the target and compared field by field with what was sent; counts and exact
//! sums are set side by side per entity (source, canonical, target).

use std::collections::{BTreeMap, HashMap};

use ferry_core::target::FieldValue;
use ferry_core::{Error, Result};
use serde::Serialize;

use crate::load::{Loader, exact_sum, query, same_value};
use crate::plan::{ColumnRole, LoadDef};
use crate::values::Exact;

/// At most this many keys are listed per entity (the counts are complete).
const LISTED: usize = 50;

/// One field that differs on the target.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    /// Canonical key.
    pub key: String,
    /// Target field.
    pub field: String,
    /// What was sent.
    pub expected: FieldValue,
    /// What the target holds.
    pub found: FieldValue,
}

/// A sum compared between canonical data and the target.
#[derive(Debug, Clone, Serialize)]
pub struct SumCheck {
    /// Canonical column.
    pub column: String,
    /// Target field.
    pub field: String,
    /// Exact sum over the selected canonical rows.
    pub canonical: String,
    /// Exact sum over the target records.
    pub target: String,
    /// Whether they are equal.
    pub equal: bool,
}

/// The reconciliation of one entity.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EntityCheck {
    /// Canonical entity.
    pub entity: String,
    /// Target model.
    pub model: String,
    /// Rows of the source's own table, where known.
    pub source: Option<u64>,
    /// Rows of the canonical table.
    pub canonical: u64,
    /// Rows the load query selects.
    pub selected: u64,
    /// Selected records present on the target.
    pub target: u64,
    /// Selected records absent from the target (count).
    pub missing_count: u64,
    /// The first missing keys.
    pub missing: Vec<String>,
    /// Records whose fields differ (count).
    pub differing_count: u64,
    /// The first differences.
    pub differing: Vec<Difference>,
    /// Sums side by side.
    pub sums: Vec<SumCheck>,
}

impl EntityCheck {
    /// Nothing missing, nothing differing, sums equal.
    pub fn is_clean(&self) -> bool {
        self.missing_count == 0 && self.differing_count == 0 && self.sums.iter().all(|s| s.equal)
    }
}

async fn count(loader: &Loader<'_>, sql: &str, origin: &str) -> Result<u64> {
    let rows = query(loader.ctx, sql, origin).await?;
    for r in rows {
        if let Some(FieldValue::Int(n)) = r.columns.first().and_then(|c| c.first()) {
            return Ok(u64::try_from(n.to_owned()).unwrap_or(0));
        }
    }
    Ok(0)
}

async fn canonical_sum(
    loader: &Loader<'_>,
    entity: &str,
    column: &str,
    sql: &str,
    origin: &str,
) -> Result<Exact> {
    let q = format!(
        "SELECT CAST(SUM(e.\"{column}\") AS VARCHAR) AS key FROM \"{entity}\" e \
         WHERE e.id IN (SELECT key FROM ({sql}) s)"
    );
    for r in query(loader.ctx, &q, origin).await? {
        if let Some(FieldValue::Text(t)) = r.columns.first().and_then(|c| c.first()) {
            return Exact::parse(t.as_str()).ok_or_else(|| {
                Error::config(
                    origin,
                    format!("sum of {entity}.{column} is not a decimal: {t}"),
                )
            });
        }
    }
    Ok(Exact::default())
}

/// Checks one entity (a definition's parent or one of its children).
#[allow(clippy::too_many_arguments)]
async fn check_one(
    loader: &mut Loader<'_>,
    entity: &str,
    model: &str,
    sql: &str,
    sums: &BTreeMap<String, String>,
    origin: &str,
    record_ids: bool,
    source: Option<u64>,
) -> Result<EntityCheck> {
    let mut check = EntityCheck {
        entity: entity.to_owned(),
        model: model.to_owned(),
        source,
        canonical: count(
            loader,
            &format!("SELECT COUNT(*) AS key FROM \"{entity}\""),
            origin,
        )
        .await?,
        ..Default::default()
    };
    let entries = loader.ids.entries(entity)?;
    // Expected values, by key.
    let mut expected: Vec<(String, BTreeMap<String, FieldValue>)> = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    for rows in query(loader.ctx, sql, origin).await? {
        for role in &rows.roles {
            if let (Some(f), false) = (role.field(), matches!(role, ColumnRole::Json(_)))
                && !fields.iter().any(|x| x == f)
            {
                fields.push(f.to_owned());
            }
        }
        for r in 0..rows.len() {
            let key = rows.text(&ColumnRole::Key, r).unwrap_or_default();
            check.selected += 1;
            let f = loader.fields_of(&rows, r).await?.unwrap_or_default();
            expected.push((key, f));
        }
    }
    for target_field in sums.values() {
        if !fields.contains(target_field) {
            fields.push(target_field.clone());
        }
    }
    let mut target_values: Vec<FieldValue> = Vec::new();
    let target_fields: BTreeMap<&String, &String> = sums.iter().collect();
    for chunk in expected.chunks(200) {
        let ids: Vec<i64> = chunk
            .iter()
            .filter_map(|(k, _)| entries.get(k))
            .map(|e| if record_ids { e.record_id } else { e.target_id })
            .collect();
        let read = loader.target.read(model, &ids, &fields).await?;
        for (key, sent) in chunk {
            let got = entries
                .get(key)
                .map(|e| if record_ids { e.record_id } else { e.target_id })
                .and_then(|id| read.get(&id));
            let Some(got) = got else {
                check.missing_count += 1;
                if check.missing.len() < LISTED {
                    check.missing.push(key.clone());
                }
                continue;
            };
            check.target += 1;
            for tf in target_fields.values() {
                target_values.push(got.get(*tf).cloned().unwrap_or(FieldValue::Null));
            }
            let mut differs = false;
            for (field, value) in sent {
                // JSON is passed through (commands such as "create a variant"), not stored.
                if matches!(value, FieldValue::Json(_)) {
                    continue;
                }
                let found = got.get(field).cloned().unwrap_or(FieldValue::Null);
                if !same_value(value, &found) {
                    differs = true;
                    if check.differing.len() < LISTED {
                        check.differing.push(Difference {
                            key: key.clone(),
                            field: field.clone(),
                            expected: value.clone(),
                            found,
                        });
                    }
                }
            }
            if differs {
                check.differing_count += 1;
            }
        }
    }
    let n = target_fields.len().max(1);
    for (i, (column, field)) in sums.iter().enumerate() {
        let canonical = canonical_sum(loader, entity, column, sql, origin).await?;
        let target = exact_sum(target_values.iter().skip(i).step_by(n)).ok_or_else(|| {
            Error::config(
                origin,
                format!("{model}.{field} is not a number on the target"),
            )
        })?;
        check.sums.push(SumCheck {
            column: column.clone(),
            field: field.clone(),
            canonical: canonical.to_string(),
            target: target.to_string(),
            equal: canonical == target,
        });
    }
    Ok(check)
}

/// Reconciles a definition and its children.
///
/// # Errors
/// A query or a read fails.
pub async fn reconcile(
    loader: &mut Loader<'_>,
    def: &LoadDef,
    source_counts: &HashMap<String, u64>,
) -> Result<Vec<EntityCheck>> {
    let mut out = vec![
        check_one(
            loader,
            &def.entity,
            &def.model,
            &def.sql,
            &def.sums,
            &def.origin,
            true,
            source_counts.get(&def.entity).copied(),
        )
        .await?,
    ];
    for c in &def.children {
        out.push(
            check_one(
                loader,
                &c.entity,
                &c.model,
                &c.sql,
                &c.sums,
                &def.origin,
                false,
                source_counts.get(&c.entity).copied(),
            )
            .await?,
        );
    }
    Ok(out)
}
