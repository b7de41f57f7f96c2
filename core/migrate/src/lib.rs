//! ferry's migration engine: canonical tables loaded into another ERP.
//!
//! - [`plan`]: the load definitions (`mappings/<target>/load/*.toml`): which canonical
//!   entity goes to which target model, how its fields are computed (DataFusion SQL),
//!   what is created together; their dependency order.
//! - [`idmap`]: canonical key → target id, persisted beside the job.
//! - [`load`]: batches, lookups before creating, updates of changed records, rejects.
//! - [`reconcile`]: every selected record read back and compared; counts and sums.
//!
//! The target itself is a [`ferry_core::Target`], implemented by a connector.

pub mod idmap;
pub mod load;
pub mod plan;
pub mod reconcile;
pub mod values;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use ferry_core::{Error, Result, Target};
use ferry_model::Library;
use serde::Serialize;

pub use idmap::IdMap;
pub use load::{EntityLoad, LoadOptions, Reject};
pub use reconcile::EntityCheck;

/// What a migration's load step did and found.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationReport {
    /// The target, without secrets.
    pub target: String,
    /// Whether writes were skipped.
    pub dry_run: bool,
    /// Per entity, in load order.
    pub loaded: Vec<EntityLoad>,
    /// Rejected records with the reason.
    pub rejects: Vec<Reject>,
    /// Per entity, after loading (empty in a dry run).
    pub reconciliation: Vec<EntityCheck>,
    /// Entities with a load definition but no canonical table (nothing to load).
    pub skipped: Vec<String>,
    /// Nothing rejected, missing or differing.
    pub complete: bool,
    /// Seconds spent loading (not reconciling).
    pub load_seconds: f64,
}

impl MigrationReport {
    /// A table for people.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let verb = if self.dry_run {
            "would create"
        } else {
            "created"
        };
        let _ = writeln!(
            s,
            "Load into {}{}:",
            self.target,
            if self.dry_run { " (dry run)" } else { "" }
        );
        let _ = writeln!(
            s,
            "  {:<22} {:>8} {:>12} {:>8} {:>10} {:>10} {:>9}",
            "entity", "selected", verb, "updated", "recovered", "unchanged", "rejected"
        );
        for l in &self.loaded {
            let _ = writeln!(
                s,
                "  {:<22} {:>8} {:>12} {:>8} {:>10} {:>10} {:>9}",
                l.entity, l.selected, l.created, l.updated, l.recovered, l.unchanged, l.rejected
            );
        }
        if !self.reconciliation.is_empty() {
            let _ = writeln!(s, "Reconciliation:");
            let _ = writeln!(
                s,
                "  {:<22} {:>8} {:>10} {:>8} {:>8} {:>8} {:>9}",
                "entity", "source", "canonical", "selected", "target", "missing", "differing"
            );
            for c in &self.reconciliation {
                let _ = writeln!(
                    s,
                    "  {:<22} {:>8} {:>10} {:>8} {:>8} {:>8} {:>9}",
                    c.entity,
                    c.source.map_or("-".into(), |n| n.to_string()),
                    c.canonical,
                    c.selected,
                    c.target,
                    c.missing_count,
                    c.differing_count
                );
                for sum in &c.sums {
                    let _ = writeln!(
                        s,
                        "    sum {} = {} (canonical) vs {} = {} (target){}",
                        sum.column,
                        sum.canonical,
                        sum.field,
                        sum.target,
                        if sum.equal { "" } else { "  DIFFERENT" }
                    );
                }
                for k in &c.missing {
                    let _ = writeln!(s, "    missing: {k}");
                }
                for d in &c.differing {
                    let _ = writeln!(
                        s,
                        "    differs: {} {}: sent {:?}, target has {:?}",
                        d.key, d.field, d.expected, d.found
                    );
                }
            }
        }
        if !self.rejects.is_empty() {
            let _ = writeln!(s, "Rejected ({}):", self.rejects.len());
            for r in &self.rejects {
                let _ = writeln!(s, "  {} {}: {}", r.entity, r.key, r.message);
            }
        }
        if !self.skipped.is_empty() {
            let _ = writeln!(
                s,
                "No canonical table (nothing loaded): {}",
                self.skipped.join(", ")
            );
        }
        let _ = write!(
            s,
            "{}",
            if self.dry_run {
                "Dry run: nothing was written."
            } else if self.complete {
                "Complete: every selected record is on the target with the values sent."
            } else {
                "INCOMPLETE: see the rejected, missing or differing records above."
            }
        );
        s
    }
}

/// Loads the canonical folder `canonical` into `target` with the load definitions
/// of `target_kind`, then (unless a dry run) reconciles.
///
/// # Errors
/// Bad definitions, unreadable tables, a target failing for a whole batch, or more
/// rejects than `options.max_errors`.
pub async fn migrate(
    canonical: &Path,
    library: &Library,
    target_kind: &str,
    target: Arc<dyn Target>,
    ids: &IdMap,
    options: LoadOptions,
    source_counts: &HashMap<String, u64>,
) -> Result<MigrationReport> {
    let (ctx, _) = ferry_engine::open(canonical)
        .await
        .map_err(|e| Error::external(format!("opening {}", canonical.display()), e))?;
    let defs = plan::load_defs(library, target_kind)?;
    let (defs, skipped): (Vec<_>, Vec<_>) = defs.into_iter().partition(|d| {
        load::has_table(canonical, &d.entity)
            && d.children
                .iter()
                .all(|c| load::has_table(canonical, &c.entity))
    });
    // Entity → the missing canonical table that kept its definition from loading.
    let mut unavailable: BTreeMap<String, String> = BTreeMap::new();
    for d in &skipped {
        let missing = std::iter::once(&d.entity)
            .chain(d.children.iter().map(|c| &c.entity))
            .find(|e| !load::has_table(canonical, e))
            .cloned()
            .unwrap_or_default();
        unavailable.insert(d.entity.clone(), missing.clone());
        for c in &d.children {
            unavailable.insert(c.entity.clone(), missing.clone());
        }
    }
    let skipped: Vec<String> = skipped.into_iter().map(|d| d.entity).collect();
    let mut refs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for d in &defs {
        let mut r = plan::refs_in(&load::columns_of(&ctx, &d.sql, &d.origin).await?);
        for c in &d.children {
            r.extend(plan::refs_in(
                &load::columns_of(&ctx, &c.sql, &d.origin).await?,
            ));
        }
        if let Some((entity, table)) = r.iter().find_map(|e| unavailable.get(e).map(|t| (e, t))) {
            return Err(Error::config(
                &d.origin,
                format!(
                    "refers to {entity}, which cannot be loaded: the canonical folder {} has no table {table} \
                     (extract the source streams its mapping reads)",
                    canonical.display()
                ),
            ));
        }
        refs.insert(d.entity.clone(), r);
    }
    let defs = plan::order(defs, &refs)?;
    let dry_run = options.dry_run;
    let mut loader = load::Loader::new(&ctx, target.clone(), ids, options);
    let mut loaded = Vec::new();
    let started = std::time::Instant::now();
    for d in &defs {
        tracing::info!(entity = d.entity, model = d.model, "Loading.");
        let stats = loader.load(d).await?;
        for s in &stats {
            tracing::info!(
                entity = s.entity,
                created = s.created,
                updated = s.updated,
                unchanged = s.unchanged,
                rejected = s.rejected,
                "Loaded."
            );
        }
        loaded.extend(stats);
    }
    let load_seconds = started.elapsed().as_secs_f64();
    let mut reconciliation = Vec::new();
    if !dry_run {
        for d in &defs {
            reconciliation.extend(reconcile::reconcile(&mut loader, d, source_counts).await?);
        }
    }
    let rejects = std::mem::take(&mut loader.rejects);
    let complete =
        !dry_run && rejects.is_empty() && reconciliation.iter().all(EntityCheck::is_clean);
    Ok(MigrationReport {
        target: target.describe(),
        dry_run,
        loaded,
        rejects,
        reconciliation,
        skipped,
        complete,
        load_seconds,
    })
}
