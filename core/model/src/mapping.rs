//! [`MapSource`]: canonical entities as the streams of a ferry source.
//!
//! Each stream runs `mappings/<vendor>/<entity>.sql` with DataFusion over the raw
//! extraction folder and checks the result with [`Conformer`], so `ferry map` (and a
//! job whose `[source]` has `kind = "map"`) writes canonical Parquet through the same
//! pipeline, sinks, manifest and run report as any extraction.
//!
//! In the SQL, raw tables are named by [`raw::sql_name`] of their stream folder, and
//! `${source_system}` stands for the system label (default: the vendor name), so keys
//! are built as `'${source_system}:' || CAST(id AS VARCHAR)`. An entity whose mapping
//! reads a raw table absent from the extraction is left out and listed in the
//! catalog's metadata under `skipped`, with the reason.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::common::TableReference;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use ferry_core::source::{Catalog, EventStream, ReadOptions, SourceEvent};
use ferry_core::{Error, Result, Source, StreamSpec};
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::OnceCell;

use crate::conform::Conformer;
use crate::library::Library;
use crate::model::{MODEL_VERSION, Model};
use crate::{ModelError, raw, udf};

/// Settings of a mapping run (`[source]` of a job with `kind = "map"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapConfig {
    /// The vendor whose mappings apply: `tryton`, `odoo`, `dolibarr`, `erpnext`, or
    /// one of the user's mappings folder.
    pub from: String,
    /// The raw extraction folder (as written by `ferry extract`).
    pub raw: PathBuf,
    /// A folder laid over the built-in `mappings/`.
    #[serde(default)]
    pub mappings: Option<PathBuf>,
    /// The value of `source_system` (default: the vendor name).
    #[serde(default)]
    pub system: Option<String>,
}

/// A raw column a mapping reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnUse {
    /// The mapping file, e.g. `odoo/sale_order_line.sql`.
    pub mapping: String,
    /// The raw stream (its folder name), e.g. `sale.order.line`.
    pub stream: String,
    /// The column.
    pub column: String,
}

/// One entity that can be produced.
#[derive(Debug, Clone)]
struct Planned {
    origin: String,
    sql: String,
    /// Why the query's result does not fit, found at discovery, reported at read.
    unfit: Option<String>,
}

/// Canonical entities from a raw extraction.
pub struct MapSource {
    config: MapConfig,
    system: String,
    library: Library,
    model: Model,
    ctx: SessionContext,
    plans: OnceCell<(
        BTreeMap<String, Planned>,
        serde_json::Map<String, serde_json::Value>,
    )>,
}

impl MapSource {
    /// Loads the model and mappings; nothing is read yet.
    ///
    /// # Errors
    /// The mappings folder or a definition is wrong, or no mapping exists for the vendor.
    pub fn new(config: MapConfig) -> Result<MapSource> {
        let library = match &config.mappings {
            Some(dir) => Library::with_overrides(dir)?,
            None => Library::built_in(),
        };
        let model = library.model()?;
        let vendors = library.vendors();
        if !vendors.contains(&config.from) {
            return Err(Error::config(
                "--from",
                format!(
                    "no mappings for {:?}; mappings exist for: {}",
                    config.from,
                    vendors.join(", ")
                ),
            ));
        }
        let system = config.system.clone().unwrap_or_else(|| config.from.clone());
        if system.is_empty() || system.contains([':', '\'', '\\']) {
            return Err(Error::config(
                "--system",
                format!("{system:?}: use a label without ':', quotes or backslashes"),
            ));
        }
        let mut options = SessionConfig::new();
        // Plain Utf8 everywhere: mapping results then compare with canonical types as written.
        options
            .options_mut()
            .execution
            .parquet
            .schema_force_view_types = false;
        options
            .options_mut()
            .sql_parser
            .map_string_types_to_utf8view = false;
        let ctx = SessionContext::new_with_config(options);
        udf::register(&ctx);
        Ok(MapSource {
            config,
            system,
            library,
            model,
            ctx,
            plans: OnceCell::new(),
        })
    }

    /// The canonical model in effect.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The raw columns each mapping reads, as DataFusion plans it (projections and
    /// filters pushed into each scan, subqueries included): so a vanished or retyped
    /// raw column can be traced to the mapping files that use it.
    ///
    /// # Errors
    /// The mappings cannot be planned.
    pub async fn columns_read(&self) -> Result<Vec<ColumnUse>> {
        use datafusion::common::tree_node::TreeNodeRecursion;
        use datafusion::logical_expr::LogicalPlan;
        let (plans, _) = self.plan().await?;
        let tables = raw::list(&self.config.raw)?;
        let mut out = Vec::new();
        for planned in plans.values().filter(|p| p.unfit.is_none()) {
            let query_error =
                |e: datafusion::error::DataFusionError| Error::external(planned.origin.clone(), e);
            let plan = self
                .ctx
                .sql(&planned.sql)
                .await
                .and_then(|df| df.into_optimized_plan())
                .map_err(query_error)?;
            let mut uses = Vec::new();
            plan.apply_with_subqueries(|node| {
                if let LogicalPlan::TableScan(scan) = node {
                    let schema = scan.source.schema();
                    let mut names: Vec<String> = match &scan.projection {
                        Some(p) => p.iter().map(|i| schema.field(*i).name().clone()).collect(),
                        None => schema.fields().iter().map(|f| f.name().clone()).collect(),
                    };
                    for f in &scan.filters {
                        names.extend(f.column_refs().into_iter().map(|c| c.name.clone()));
                    }
                    let table = scan.table_name.table().to_owned();
                    let stream = tables
                        .get(&table)
                        .and_then(|p| p.file_name())
                        .map_or(table.clone(), |n| n.to_string_lossy().into_owned());
                    for column in names {
                        uses.push(ColumnUse {
                            mapping: planned.origin.clone(),
                            stream: stream.clone(),
                            column,
                        });
                    }
                }
                Ok(TreeNodeRecursion::Continue)
            })
            .map_err(query_error)?;
            out.extend(uses);
        }
        out.sort_by(|a, b| {
            (&a.mapping, &a.stream, &a.column).cmp(&(&b.mapping, &b.stream, &b.column))
        });
        out.dedup();
        Ok(out)
    }

    async fn plan(
        &self,
    ) -> Result<&(
        BTreeMap<String, Planned>,
        serde_json::Map<String, serde_json::Value>,
    )> {
        self.plans.get_or_try_init(|| self.plan_all()).await
    }

    async fn plan_all(
        &self,
    ) -> Result<(
        BTreeMap<String, Planned>,
        serde_json::Map<String, serde_json::Value>,
    )> {
        let tables = raw::list(&self.config.raw)?;
        if tables.is_empty() {
            return Err(Error::config(
                self.config.raw.display().to_string(),
                "holds no stream folder with Parquet files (run `ferry extract` first)",
            ));
        }
        let mut registered = std::collections::HashSet::new();
        let mut plans = BTreeMap::new();
        let mut skipped = serde_json::Map::new();
        let state = self.ctx.state();
        let dialect = state.config().options().sql_parser.dialect;
        for def in self.model.dependency_order() {
            let Some(file) = self.library.mapping(&self.config.from, &def.entity) else {
                skipped.insert(def.entity.clone(), json!("no mapping file"));
                continue;
            };
            let sql = file.text.replace("${source_system}", &self.system);
            let statement = state
                .sql_to_statement(&sql, &dialect)
                .map_err(|e| ModelError::file(&file.origin, e.to_string()))?;
            let refs = state
                .resolve_table_references(&statement)
                .map_err(|e| ModelError::file(&file.origin, e.to_string()))?;
            let mut missing = Vec::new();
            for r in &refs {
                let name = r.table().to_owned();
                match tables.get(&name) {
                    Some(path) => {
                        if registered.insert(name.clone()) {
                            self.ctx
                                .register_parquet(
                                    TableReference::bare(name.as_str()),
                                    &format!("{}/", path.display()),
                                    ParquetReadOptions::default().file_extension(".parquet"),
                                )
                                .await
                                .map_err(|e| {
                                    ModelError::file(path.display().to_string(), e.to_string())
                                })?;
                        }
                    }
                    None => missing.push(name),
                }
            }
            if !missing.is_empty() {
                missing.sort();
                missing.dedup();
                skipped.insert(
                    def.entity.clone(),
                    json!(format!("raw table(s) {} not extracted", missing.join(", "))),
                );
                continue;
            }
            let unfit = match self.ctx.sql(&sql).await {
                Ok(df) => {
                    let produced = df.schema().as_arrow().clone();
                    Conformer::new(def, &file.origin, &produced)
                        .err()
                        .map(|e| e.to_string())
                }
                Err(e) => Some(format!("{}: {e}", file.origin)),
            };
            plans.insert(
                def.entity.clone(),
                Planned {
                    origin: file.origin.clone(),
                    sql,
                    unfit,
                },
            );
        }
        let mut meta = serde_json::Map::new();
        meta.insert("canonical_model_version".into(), json!(MODEL_VERSION));
        meta.insert("vendor".into(), json!(self.config.from));
        meta.insert("source_system".into(), json!(self.system));
        meta.insert("raw".into(), json!(self.config.raw.display().to_string()));
        meta.insert("skipped".into(), serde_json::Value::Object(skipped));
        Ok((plans, meta))
    }
}

impl std::fmt::Debug for MapSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapSource")
            .field("config", &self.config)
            .field("system", &self.system)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Source for MapSource {
    fn describe(&self) -> String {
        format!(
            "{} mappings over {}",
            self.config.from,
            self.config.raw.display()
        )
    }

    async fn discover(&self) -> Result<Catalog> {
        let (plans, meta) = self.plan().await?;
        let streams = self
            .model
            .dependency_order()
            .into_iter()
            .filter(|d| plans.contains_key(&d.entity))
            .map(|d| {
                let mut spec = StreamSpec::new(d.entity.clone(), d.schema());
                spec.primary_key = vec![d.primary_key.clone()];
                spec
            })
            .collect();
        Ok(Catalog {
            streams,
            metadata: meta.clone(),
        })
    }

    async fn read(&self, stream: &StreamSpec, _options: ReadOptions) -> Result<EventStream> {
        let (plans, _) = self.plan().await?;
        let planned = plans
            .get(&stream.name)
            .ok_or_else(|| Error::StreamNotFound {
                pattern: stream.name.clone(),
                available: plans.keys().cloned().collect::<Vec<_>>().join(", "),
            })?;
        if let Some(why) = &planned.unfit {
            return Err(Error::Schema {
                stream: stream.name.clone(),
                message: why.clone(),
            });
        }
        let def = &self.model.entities[&stream.name];
        let origin = planned.origin.clone();
        let query_error =
            move |e: datafusion::error::DataFusionError| Error::external(origin.clone(), e);
        let df = self.ctx.sql(&planned.sql).await.map_err(&query_error)?;
        let conformer = Arc::new(Conformer::new(
            def,
            &planned.origin,
            df.schema().as_arrow(),
        )?);
        let batches = df.execute_stream().await.map_err(&query_error)?;
        Ok(batches
            .map_err(query_error)
            .and_then(move |batch| {
                let conformer = conformer.clone();
                async move {
                    Ok(SourceEvent::Batch(
                        conformer.apply(&batch).map_err(Error::from)?,
                    ))
                }
            })
            .boxed())
    }
}
