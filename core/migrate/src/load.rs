//! The load: canonical rows → target records, entity by entity in dependency order.
//!
//! For each batch of records of an entity:
//! 1. references are resolved through the [`IdMap`]; a record whose reference did
//!    not load is rejected with that reason;
//! 2. a record already in the ID map is skipped when the hash of its values is
//!    unchanged, written when it changed (and new children are added);
//! 3. the others are searched on the target by their lookup field first (a crash
//!    between the target's commit and ours left them there), then created in one
//!    call; a batch the target refuses is retried record by record, so one bad record
//!    is rejected with the target's message and the rest loads;
//! 4. the batch's ids are recorded in one transaction.
//!
//! With `dry_run` nothing is written anywhere: new records get placeholder ids so
//! the records referring to them are still checked.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use datafusion::prelude::SessionContext;
use ferry_core::target::{ChildSet, FieldValue, LoadRecord, Target};
use ferry_core::{Error, Result};
use futures::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::idmap::{Entry, IdMap};
use crate::plan::{ChildDef, ColumnRole, LoadDef};
use crate::values::{Exact, column_values, normalise_decimal};

/// Knobs of a load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Do everything but writes.
    pub dry_run: bool,
    /// Records per create call.
    pub batch_size: usize,
    /// Batches in flight at once.
    pub concurrency: usize,
    /// Rejected records tolerated before the run stops.
    pub max_errors: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            dry_run: false,
            batch_size: 50,
            concurrency: 1,
            max_errors: 100,
        }
    }
}

/// A record the target (or ferry) refused.
#[derive(Debug, Clone, Serialize)]
pub struct Reject {
    /// Canonical entity.
    pub entity: String,
    /// Canonical key.
    pub key: String,
    /// Why, in the target's words where it gave some.
    pub message: String,
}

/// What happened to one entity.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EntityLoad {
    /// Canonical entity.
    pub entity: String,
    /// Target model.
    pub model: String,
    /// Rows the load query gave.
    pub selected: u64,
    /// Records created (or, in a dry run, that would be).
    pub created: u64,
    /// Records written because their values changed.
    pub updated: u64,
    /// Records found on the target by their key after an interrupted run.
    pub recovered: u64,
    /// Records already loaded and unchanged.
    pub unchanged: u64,
    /// Records rejected.
    pub rejected: u64,
}

/// Children rows waiting for their parent: parent key → (child key, fields).
type ChildRows = HashMap<String, Vec<(String, BTreeMap<String, FieldValue>)>>;

/// Decoded rows of one query.
pub(crate) struct Rows {
    pub(crate) roles: Vec<ColumnRole>,
    names: Vec<String>,
    pub(crate) columns: Vec<Vec<FieldValue>>,
}

impl Rows {
    pub(crate) fn len(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }
    pub(crate) fn text(&self, role: &ColumnRole, row: usize) -> Option<String> {
        let i = self.roles.iter().position(|r| r == role)?;
        match &self.columns[i][row] {
            FieldValue::Text(s) => Some(s.clone()),
            FieldValue::Int(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

/// Runs `sql` and decodes every column; `origin` names the file in errors.
pub(crate) async fn query(ctx: &SessionContext, sql: &str, origin: &str) -> Result<Vec<Rows>> {
    let df = ctx
        .sql(sql)
        .await
        .map_err(|e| Error::config(origin, e.to_string()))?;
    let names: Vec<String> = df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let roles = names
        .iter()
        .map(|n| ColumnRole::parse(n).map_err(|m| Error::config(origin, m)))
        .collect::<Result<Vec<_>>>()?;
    if !roles.contains(&ColumnRole::Key) {
        return Err(Error::config(origin, "the query gives no `key` column"));
    }
    let mut stream = df
        .execute_stream()
        .await
        .map_err(|e| Error::config(origin, e.to_string()))?;
    let mut out = Vec::new();
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| Error::config(origin, e.to_string()))?;
        let columns = (0..batch.num_columns())
            .map(|i| column_values(&batch, i).map_err(|m| Error::config(origin, m)))
            .collect::<Result<Vec<_>>>()?;
        out.push(Rows {
            roles: roles.clone(),
            names: names.clone(),
            columns,
        });
    }
    Ok(out)
}

/// Column names of a query, without running it.
///
/// # Errors
/// The query does not plan.
pub async fn columns_of(ctx: &SessionContext, sql: &str, origin: &str) -> Result<Vec<String>> {
    let df = ctx
        .sql(sql)
        .await
        .map_err(|e| Error::config(origin, e.to_string()))?;
    Ok(df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect())
}

fn hash_of(fields: &BTreeMap<String, FieldValue>) -> String {
    let text = serde_json::to_string(fields).unwrap_or_default();
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The loader of one migration.
pub struct Loader<'a> {
    pub(crate) ctx: &'a SessionContext,
    pub(crate) target: Arc<dyn Target>,
    pub(crate) ids: &'a IdMap,
    options: LoadOptions,
    /// Canonical key → target id, per entity, for references (filled as entities load).
    known: HashMap<String, HashMap<String, i64>>,
    found: HashMap<(String, String, String), Option<i64>>,
    next_placeholder: i64,
    /// Every reject so far.
    pub rejects: Vec<Reject>,
}

impl std::fmt::Debug for Loader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loader")
            .field("target", &self.target.describe())
            .finish_non_exhaustive()
    }
}

/// A record ready to go, with what it needs for the ID map.
struct Pending {
    record: LoadRecord,
    hash: String,
    child_hashes: Vec<Vec<String>>,
}

impl<'a> Loader<'a> {
    /// A loader over canonical tables registered in `ctx`.
    pub fn new(
        ctx: &'a SessionContext,
        target: Arc<dyn Target>,
        ids: &'a IdMap,
        options: LoadOptions,
    ) -> Self {
        Loader {
            ctx,
            target,
            ids,
            options,
            known: HashMap::new(),
            found: HashMap::new(),
            next_placeholder: -1,
            rejects: Vec::new(),
        }
    }

    fn known(&mut self, entity: &str) -> Result<&mut HashMap<String, i64>> {
        if !self.known.contains_key(entity) {
            let map = self
                .ids
                .entries(entity)?
                .into_iter()
                .map(|(k, e)| (k, e.target_id))
                .collect();
            self.known.insert(entity.to_owned(), map);
        }
        Ok(self.known.get_mut(entity).expect("inserted"))
    }

    fn reject(&mut self, entity: &str, key: &str, message: impl Into<String>) -> Result<()> {
        let message = message.into();
        tracing::warn!(entity, key, %message, "Rejected.");
        self.rejects.push(Reject {
            entity: entity.to_owned(),
            key: key.to_owned(),
            message,
        });
        if self.rejects.len() > self.options.max_errors {
            return Err(Error::config(
                "--max-errors",
                format!(
                    "{} records rejected, more than the {} allowed; the last: {entity} {key}",
                    self.rejects.len(),
                    self.options.max_errors
                ),
            ));
        }
        Ok(())
    }

    /// Builds the fields of row `row`, resolving references; `Err(message)` rejects it.
    pub(crate) async fn fields_of(
        &mut self,
        rows: &Rows,
        row: usize,
    ) -> Result<std::result::Result<BTreeMap<String, FieldValue>, String>> {
        let mut fields = BTreeMap::new();
        for (i, role) in rows.roles.iter().enumerate() {
            let value = rows.columns[i][row].clone();
            match role {
                ColumnRole::Key | ColumnRole::Parent => {}
                ColumnRole::Value(f) => {
                    fields.insert(f.clone(), value);
                }
                ColumnRole::Json(f) => {
                    let v = match value {
                        FieldValue::Text(t) => match serde_json::from_str(&t) {
                            Ok(v) => FieldValue::Json(v),
                            Err(e) => return Ok(Err(format!("{}: not JSON: {e}", rows.names[i]))),
                        },
                        other => other,
                    };
                    fields.insert(f.clone(), v);
                }
                ColumnRole::Ref { field, entity } => {
                    let v = match value {
                        FieldValue::Null => FieldValue::Null,
                        FieldValue::Text(k) => match self.known(entity)?.get(&k) {
                            Some(id) => FieldValue::Ref(*id),
                            None => {
                                return Ok(Err(format!(
                                    "{field}: {entity} {k} was not loaded (rejected or missing)"
                                )));
                            }
                        },
                        other => {
                            return Ok(Err(format!(
                                "{}: a reference must be a text key, got {other:?}",
                                rows.names[i]
                            )));
                        }
                    };
                    fields.insert(field.clone(), v);
                }
                ColumnRole::Find { field, model, by } => {
                    if value == FieldValue::Null {
                        fields.insert(field.clone(), FieldValue::Null);
                        continue;
                    }
                    let cache_key = (model.clone(), by.clone(), format!("{value:?}"));
                    let id = match self.found.get(&cache_key) {
                        Some(id) => *id,
                        None => {
                            let id = self.target.lookup(model, by, &value).await?;
                            self.found.insert(cache_key, id);
                            id
                        }
                    };
                    match id {
                        Some(id) => {
                            fields.insert(field.clone(), FieldValue::Ref(id));
                        }
                        None => {
                            return Ok(Err(format!(
                                "{field}: no single {model} with {by} = {value:?} on the target"
                            )));
                        }
                    }
                }
            }
        }
        Ok(Ok(fields))
    }

    /// Loads one definition (and its children).
    ///
    /// # Errors
    /// A query fails, the target fails for a whole batch in a way that is not the
    /// records' fault, or more records were rejected than allowed.
    pub async fn load(&mut self, def: &LoadDef) -> Result<Vec<EntityLoad>> {
        let mut stats = EntityLoad {
            entity: def.entity.clone(),
            model: def.model.clone(),
            ..Default::default()
        };
        let mut child_stats: Vec<EntityLoad> = def
            .children
            .iter()
            .map(|c| EntityLoad {
                entity: c.entity.clone(),
                model: c.model.clone(),
                ..Default::default()
            })
            .collect();
        // Children, grouped by parent key (one document's lines at a time are small).
        let mut children: Vec<ChildRows> = Vec::new();
        // Parents with a rejected child are rejected too: a document never loads with
        // a line missing.
        let mut broken: HashMap<String, String> = HashMap::new();
        for (ci, c) in def.children.iter().enumerate() {
            let mut by_parent = ChildRows::new();
            let sql = format!("SELECT * FROM ({}) ORDER BY parent, key", c.sql);
            for rows in query(self.ctx, &sql, &def.origin).await? {
                for r in 0..rows.len() {
                    let key = rows.text(&ColumnRole::Key, r).unwrap_or_default();
                    let Some(parent) = rows.text(&ColumnRole::Parent, r) else {
                        return Err(Error::config(
                            &def.origin,
                            format!("children {}: row {key} has no `parent`", c.entity),
                        ));
                    };
                    child_stats[ci].selected += 1;
                    match self.fields_of(&rows, r).await? {
                        Ok(fields) => by_parent.entry(parent).or_default().push((key, fields)),
                        Err(m) => {
                            child_stats[ci].rejected += 1;
                            broken
                                .entry(parent)
                                .or_insert_with(|| format!("its {} {key} was rejected", c.entity));
                            self.reject(&c.entity, &key, m)?;
                        }
                    }
                }
            }
            children.push(by_parent);
        }
        let existing = self.ids.entries(&def.entity)?;
        let child_existing: Vec<HashMap<String, Entry>> = def
            .children
            .iter()
            .map(|c| self.ids.entries(&c.entity))
            .collect::<Result<_>>()?;

        let sql = format!("SELECT * FROM ({}) ORDER BY key", def.sql);
        let mut batch: Vec<Pending> = Vec::new();
        for rows in query(self.ctx, &sql, &def.origin).await? {
            for r in 0..rows.len() {
                let key = rows.text(&ColumnRole::Key, r).unwrap_or_default();
                stats.selected += 1;
                let fields = match self.fields_of(&rows, r).await? {
                    Ok(f) if !broken.contains_key(&key) => f,
                    result => {
                        let m = match result {
                            Err(m) => m,
                            Ok(_) => broken[&key].clone(),
                        };
                        stats.rejected += 1;
                        self.reject(&def.entity, &key, m)?;
                        // Its other children go with it.
                        for (ci, c) in def.children.iter().enumerate() {
                            for (k, _) in children[ci].remove(&key).unwrap_or_default() {
                                child_stats[ci].rejected += 1;
                                self.reject(
                                    &c.entity,
                                    &k,
                                    format!("its parent {} {key} was rejected", def.entity),
                                )?;
                            }
                        }
                        continue;
                    }
                };
                let hash = hash_of(&fields);
                let mut record = LoadRecord {
                    key: key.clone(),
                    fields,
                    children: Vec::new(),
                };
                let mut child_hashes = Vec::new();
                for (ci, c) in def.children.iter().enumerate() {
                    let kids = children[ci].remove(&key).unwrap_or_default();
                    child_hashes.push(kids.iter().map(|(_, f)| hash_of(f)).collect());
                    record.children.push(ChildSet {
                        field: c.field.clone(),
                        records: kids
                            .into_iter()
                            .map(|(k, fields)| LoadRecord {
                                key: k,
                                fields,
                                children: Vec::new(),
                            })
                            .collect(),
                    });
                }
                batch.push(Pending {
                    record,
                    hash,
                    child_hashes,
                });
                if batch.len() >= self.options.batch_size * self.options.concurrency.max(1) {
                    self.flush(
                        def,
                        std::mem::take(&mut batch),
                        &existing,
                        &child_existing,
                        &mut stats,
                        &mut child_stats,
                    )
                    .await?;
                }
            }
        }
        self.flush(
            def,
            batch,
            &existing,
            &child_existing,
            &mut stats,
            &mut child_stats,
        )
        .await?;
        // Children whose parent is not in the parent query.
        for (ci, c) in def.children.iter().enumerate() {
            for (parent, kids) in std::mem::take(&mut children[ci]) {
                for (k, _) in kids {
                    child_stats[ci].rejected += 1;
                    self.reject(
                        &c.entity,
                        &k,
                        format!("its parent {} {parent} is not loaded", def.entity),
                    )?;
                }
            }
        }
        let mut out = vec![stats];
        out.extend(child_stats);
        Ok(out)
    }

    /// Sorts a batch into unchanged, changed and new records and acts on each.
    async fn flush(
        &mut self,
        def: &LoadDef,
        batch: Vec<Pending>,
        existing: &HashMap<String, Entry>,
        child_existing: &[HashMap<String, Entry>],
        stats: &mut EntityLoad,
        child_stats: &mut [EntityLoad],
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut new = Vec::new();
        let mut entries: Vec<(String, String, Entry)> = Vec::new();
        for p in batch {
            let Some(e) = existing.get(&p.record.key) else {
                new.push(p);
                continue;
            };
            self.known(&def.entity)?
                .insert(p.record.key.clone(), e.target_id);
            let mut changed = false;
            if e.hash != p.hash {
                changed = true;
                if !self.options.dry_run {
                    if let Err(err) = self.target.write(&def.model, e.record_id, &p.record).await {
                        if err.is_transient() {
                            return Err(err);
                        }
                        stats.rejected += 1;
                        self.reject(&def.entity, &p.record.key, err.to_string())?;
                        continue;
                    }
                    entries.push((
                        def.entity.clone(),
                        p.record.key.clone(),
                        Entry {
                            hash: p.hash.clone(),
                            ..e.clone()
                        },
                    ));
                }
            }
            // Children: changed ones are written, new ones added to the parent.
            for (ci, (set, c)) in p.record.children.iter().zip(&def.children).enumerate() {
                let mut added = ChildSet {
                    field: set.field.clone(),
                    records: Vec::new(),
                };
                let mut added_hashes = Vec::new();
                for (kid, h) in set.records.iter().zip(&p.child_hashes[ci]) {
                    match child_existing[ci].get(&kid.key) {
                        Some(ce) if &ce.hash == h => {
                            child_stats[ci].unchanged += 1;
                            self.known(&c.entity)?.insert(kid.key.clone(), ce.target_id);
                        }
                        Some(ce) => {
                            child_stats[ci].updated += 1;
                            self.known(&c.entity)?.insert(kid.key.clone(), ce.target_id);
                            if !self.options.dry_run {
                                self.target.write(&c.model, ce.record_id, kid).await?;
                                entries.push((
                                    c.entity.clone(),
                                    kid.key.clone(),
                                    Entry {
                                        hash: h.clone(),
                                        ..ce.clone()
                                    },
                                ));
                            }
                        }
                        None => {
                            added.records.push(kid.clone());
                            added_hashes.push(h.clone());
                        }
                    }
                }
                if added.records.is_empty() {
                    continue;
                }
                child_stats[ci].created += added.records.len() as u64;
                changed = true;
                if self.options.dry_run {
                    for kid in &added.records {
                        let id = self.placeholder();
                        self.known(&c.entity)?.insert(kid.key.clone(), id);
                    }
                    continue;
                }
                let before: Vec<i64> = self
                    .target
                    .children(&def.model, &[e.record_id], &set.field)
                    .await?
                    .remove(&e.record_id)
                    .unwrap_or_default();
                self.target
                    .add_children(&def.model, e.record_id, &added)
                    .await?;
                let after = self
                    .target
                    .children(&def.model, &[e.record_id], &set.field)
                    .await?
                    .remove(&e.record_id)
                    .unwrap_or_default();
                let fresh: Vec<i64> = after.into_iter().filter(|i| !before.contains(i)).collect();
                self.record_children(c, &added.records, &added_hashes, &fresh, &mut entries)?;
            }
            if changed {
                stats.updated += 1;
            } else {
                stats.unchanged += 1;
            }
        }
        if !entries.is_empty() {
            self.ids.record(&entries)?;
            entries.clear();
        }
        if new.is_empty() {
            return Ok(());
        }
        // Records an interrupted run created: found by their lookup field, or by their
        // key in the target's external-id store when the definition names no field.
        let mut to_create = Vec::new();
        if self.options.dry_run {
            to_create = new;
        } else {
            let lookup = def.lookup.as_deref();
            let probe = |p: &Pending| -> Option<String> {
                match lookup {
                    Some(field) => match p.record.fields.get(field) {
                        Some(FieldValue::Text(t)) => Some(t.clone()),
                        _ => None,
                    },
                    None => Some(p.record.key.clone()),
                }
            };
            let values: Vec<String> = new.iter().filter_map(probe).collect();
            let on_target = self.target.find(&def.model, lookup, &values).await?;
            let mut recovered = Vec::new();
            for p in new {
                match probe(&p).and_then(|v| on_target.get(&v).copied()) {
                    Some(id) => recovered.push((p, id)),
                    None => to_create.push(p),
                }
            }
            if !recovered.is_empty() {
                stats.recovered += recovered.len() as u64;
                let ids: Vec<i64> = recovered.iter().map(|(_, id)| *id).collect();
                let records: Vec<Pending> = recovered.into_iter().map(|(p, _)| p).collect();
                for (ci, _) in def.children.iter().enumerate() {
                    child_stats[ci].recovered += records
                        .iter()
                        .map(|p| p.record.children[ci].records.len() as u64)
                        .sum::<u64>();
                }
                self.record_created(def, &records, &ids).await?;
            }
        }
        if to_create.is_empty() {
            return Ok(());
        }
        if self.options.dry_run {
            stats.created += to_create.len() as u64;
            for p in &to_create {
                let id = self.placeholder();
                self.known(&def.entity)?.insert(p.record.key.clone(), id);
                for (ci, c) in def.children.iter().enumerate() {
                    child_stats[ci].created += p.record.children[ci].records.len() as u64;
                    for kid in &p.record.children[ci].records {
                        let id = self.placeholder();
                        self.known(&c.entity)?.insert(kid.key.clone(), id);
                    }
                }
            }
            return Ok(());
        }
        let chunks: Vec<Vec<Pending>> = {
            let mut chunks = Vec::new();
            let mut it = to_create.into_iter().peekable();
            while it.peek().is_some() {
                chunks.push(it.by_ref().take(self.options.batch_size.max(1)).collect());
            }
            chunks
        };
        let target = self.target.clone();
        let model = def.model.clone();
        let external = def.lookup.is_none();
        let deferred = def.deferred.clone();
        let results: Vec<(Vec<Pending>, Result<Vec<i64>>)> =
            futures::stream::iter(chunks.into_iter().map(|chunk| {
                let target = target.clone();
                let model = model.clone();
                let deferred = deferred.clone();
                async move {
                    let records: Vec<LoadRecord> = chunk
                        .iter()
                        .map(|p| without(&p.record, &deferred))
                        .collect();
                    let r = target.create(&model, &records, external).await;
                    (chunk, r)
                }
            }))
            .buffered(self.options.concurrency.max(1))
            .collect()
            .await;
        for (chunk, result) in results {
            match result {
                Ok(ids) => {
                    self.count_created(def, &chunk, stats, child_stats);
                    self.record_created(def, &chunk, &ids).await?;
                }
                Err(e) if e.is_transient() => return Err(e),
                Err(e) if chunk.len() == 1 => {
                    stats.rejected += 1;
                    for (ci, c) in def.children.iter().enumerate() {
                        for kid in &chunk[0].record.children[ci].records {
                            child_stats[ci].rejected += 1;
                            self.rejects.push(Reject {
                                entity: c.entity.clone(),
                                key: kid.key.clone(),
                                message: format!(
                                    "its parent {} {} was rejected",
                                    def.entity, chunk[0].record.key
                                ),
                            });
                        }
                    }
                    self.reject(&def.entity, &chunk[0].record.key, e.to_string())?;
                }
                Err(e) => {
                    tracing::info!(entity = def.entity, error = %e, "A batch was refused; retrying its records one by one.");
                    for p in chunk {
                        match self
                            .target
                            .create(
                                &def.model,
                                std::slice::from_ref(&without(&p.record, &def.deferred)),
                                external,
                            )
                            .await
                        {
                            Ok(ids) => {
                                self.count_created(
                                    def,
                                    std::slice::from_ref(&p),
                                    stats,
                                    child_stats,
                                );
                                self.record_created(def, std::slice::from_ref(&p), &ids)
                                    .await?;
                            }
                            Err(e) if e.is_transient() => return Err(e),
                            Err(e) => {
                                stats.rejected += 1;
                                for (ci, c) in def.children.iter().enumerate() {
                                    for kid in &p.record.children[ci].records {
                                        child_stats[ci].rejected += 1;
                                        self.rejects.push(Reject {
                                            entity: c.entity.clone(),
                                            key: kid.key.clone(),
                                            message: format!(
                                                "its parent {} {} was rejected",
                                                def.entity, p.record.key
                                            ),
                                        });
                                    }
                                }
                                self.reject(&def.entity, &p.record.key, e.to_string())?;
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn placeholder(&mut self) -> i64 {
        self.next_placeholder -= 1;
        self.next_placeholder
    }

    fn count_created(
        &self,
        def: &LoadDef,
        records: &[Pending],
        stats: &mut EntityLoad,
        child_stats: &mut [EntityLoad],
    ) {
        stats.created += records.len() as u64;
        for (ci, _) in def.children.iter().enumerate() {
            child_stats[ci].created += records
                .iter()
                .map(|p| p.record.children[ci].records.len() as u64)
                .sum::<u64>();
        }
    }

    /// Records created (or recovered) parents and their children in the ID map, after
    /// writing their deferred fields (again, for a recovered record: a crash may have
    /// come between the create and that write).
    async fn record_created(
        &mut self,
        def: &LoadDef,
        records: &[Pending],
        ids: &[i64],
    ) -> Result<()> {
        if !def.deferred.is_empty() {
            for (p, id) in records.iter().zip(ids) {
                let later = LoadRecord {
                    key: p.record.key.clone(),
                    fields: p
                        .record
                        .fields
                        .iter()
                        .filter(|(k, _)| def.deferred.contains(k))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    children: Vec::new(),
                };
                if !later.fields.is_empty() {
                    self.target.write(&def.model, *id, &later).await?;
                }
            }
        }
        let mut entries = Vec::new();
        let mut kid_ids: Vec<HashMap<i64, Vec<i64>>> = Vec::new();
        for c in &def.children {
            kid_ids.push(self.target.children(&def.model, ids, &c.field).await?);
        }
        let id_from = match &def.id_from {
            Some(field) => Some(self.target.children(&def.model, ids, field).await?),
            None => None,
        };
        for (p, id) in records.iter().zip(ids) {
            let target_id = match &id_from {
                Some(map) => *map.get(id).and_then(|v| v.first()).ok_or_else(|| {
                    Error::config(
                        &def.origin,
                        format!(
                            "{} {id} has no {} to take the id from",
                            def.model,
                            def.id_from.as_deref().unwrap_or_default()
                        ),
                    )
                })?,
                None => *id,
            };
            self.known(&def.entity)?
                .insert(p.record.key.clone(), target_id);
            entries.push((
                def.entity.clone(),
                p.record.key.clone(),
                Entry {
                    target_id,
                    record_id: *id,
                    hash: p.hash.clone(),
                },
            ));
            for (ci, c) in def.children.iter().enumerate() {
                let got = kid_ids[ci].get(id).cloned().unwrap_or_default();
                self.record_children(
                    c,
                    &p.record.children[ci].records,
                    &p.child_hashes[ci],
                    &got,
                    &mut entries,
                )?;
            }
        }
        self.ids.record(&entries)
    }

    fn record_children(
        &mut self,
        c: &ChildDef,
        kids: &[LoadRecord],
        hashes: &[String],
        ids: &[i64],
        entries: &mut Vec<(String, String, Entry)>,
    ) -> Result<()> {
        if ids.len() != kids.len() {
            return Err(Error::config(
                &c.entity,
                format!(
                    "{} children sent in {}, {} found on the target",
                    kids.len(),
                    c.field,
                    ids.len()
                ),
            ));
        }
        for ((kid, h), id) in kids.iter().zip(hashes).zip(ids) {
            self.known(&c.entity)?.insert(kid.key.clone(), *id);
            entries.push((
                c.entity.clone(),
                kid.key.clone(),
                Entry {
                    target_id: *id,
                    record_id: *id,
                    hash: h.clone(),
                },
            ));
        }
        Ok(())
    }
}

/// `record` without the fields written after creation.
fn without(record: &LoadRecord, deferred: &[String]) -> LoadRecord {
    if deferred.is_empty() {
        return record.clone();
    }
    LoadRecord {
        key: record.key.clone(),
        fields: record
            .fields
            .iter()
            .filter(|(k, _)| !deferred.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        children: record.children.clone(),
    }
}

/// How two values compare after the target stored one: decimals by value, a
/// reference by id, text exactly.
pub fn same_value(sent: &FieldValue, read: &FieldValue) -> bool {
    use FieldValue as V;
    match (sent, read) {
        (V::Ref(a), V::Int(b)) | (V::Int(a), V::Int(b)) | (V::Ref(a), V::Ref(b)) => a == b,
        // SQLite-backed servers answer 0/1 for booleans.
        (V::Bool(a), V::Int(b)) => i64::from(*a) == *b,
        (V::Decimal(a), V::Decimal(b)) => normalise_decimal(a) == normalise_decimal(b),
        (V::Decimal(a), V::Int(b)) | (V::Int(b), V::Decimal(a)) => {
            normalise_decimal(a) == b.to_string()
        }
        // Some systems return '' or false for an empty field.
        (V::Null, V::Bool(false)) => true,
        (V::Null, V::Text(t)) => t.is_empty(),
        (V::Timestamp(a), V::Timestamp(b)) => same_instant(a) == same_instant(b),
        (a, b) => a == b,
    }
}

/// `2025-03-01T10:00:00.000000` and `2025-03-01 10:00:00` are the same instant: a
/// separator and a fraction of zeros do not count.
fn same_instant(t: &str) -> String {
    let t = t.replace('T', " ");
    match t.split_once('.') {
        Some((whole, frac)) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                whole.to_owned()
            } else {
                format!("{whole}.{frac}")
            }
        }
        None => t,
    }
}

/// Sums `field` of `values` exactly; `None` when a value is not a number.
pub fn exact_sum<'v>(values: impl Iterator<Item = &'v FieldValue>) -> Option<Exact> {
    let mut sum = Exact::default();
    for v in values {
        let e = match v {
            FieldValue::Null => continue,
            FieldValue::Decimal(d) => Exact::parse(d)?,
            FieldValue::Int(i) => Exact::parse(&i.to_string())?,
            _ => return None,
        };
        sum = sum.plus(e)?;
    }
    Some(sum)
}

/// Whether `dir` holds a canonical table for `entity`.
pub fn has_table(dir: &Path, entity: &str) -> bool {
    std::fs::read_dir(dir.join(entity)).is_ok_and(|mut it| {
        it.any(|f| f.is_ok_and(|f| f.file_name().to_string_lossy().ends_with(".parquet")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_compare_by_meaning() {
        use FieldValue as V;
        assert!(same_value(
            &V::Timestamp("2025-03-01 10:00:00.000000".into()),
            &V::Timestamp("2025-03-01T10:00:00".into())
        ));
        assert!(!same_value(
            &V::Timestamp("2025-03-01 10:00:10".into()),
            &V::Timestamp("2025-03-01 10:00:01".into())
        ));
        assert!(same_value(
            &V::Decimal("99.99".into()),
            &V::Decimal("99.9900".into())
        ));
        assert!(!same_value(
            &V::Decimal("99.99".into()),
            &V::Decimal("99.9".into())
        ));
        assert!(same_value(&V::Ref(7), &V::Int(7)));
        assert!(same_value(&V::Bool(true), &V::Int(1)));
        assert!(same_value(&V::Null, &V::Text(String::new())));
        assert!(!same_value(&V::Null, &V::Text("x".into())));
    }

    #[test]
    fn deferred_fields_are_left_out_of_the_create() {
        let mut r = LoadRecord {
            key: "t:1".into(),
            ..Default::default()
        };
        r.fields.insert("code".into(), FieldValue::Text("1".into()));
        r.fields.insert("active".into(), FieldValue::Bool(false));
        let sent = without(&r, &["active".to_owned()]);
        assert_eq!(sent.fields.len(), 1);
        assert!(sent.fields.contains_key("code"));
    }
}
