//! `ferry migrate JOB.toml`: extract from the source ERP, map to the canonical model,
//! check it, load it into the target ERP in dependency order, reconcile.
//!
//! The job's work folder keeps the raw extraction and the canonical tables; the ID
//! map (canonical key → target id) sits beside the job, so a rerun after a crash or
//! after a change at the source creates only what is missing and writes only what
//! changed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use ferry_core::manifest::{FERRY_DIR, Manifest};
use ferry_core::registry::parse_config;
use ferry_core::select::Selection;
use ferry_core::state::FileStateStore;
use ferry_migrate::{IdMap, LoadOptions, MigrationReport};
use ferry_model::{Library, MapConfig, MapSource};
use serde::Deserialize;

use super::{move_streams, print_stream_errors};
use crate::args::{MigrateArgs, RunControl};
use crate::connectors::registry;
use crate::{EXIT_FAILURE, Failure};

/// A migration job file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MigrateJob {
    source: toml::Table,
    migrate: MigrateSection,
    target: toml::Table,
}

/// The `[migrate]` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MigrateSection {
    /// Whose mappings turn the raw extraction canonical (tryton, odoo…).
    from: String,
    /// `source_system` of canonical rows (default: `from`).
    #[serde(default)]
    system: Option<String>,
    /// Streams of the source to extract (names or globs; default all).
    #[serde(default)]
    streams: Vec<String>,
    /// Work folder for raw/ and canonical/ (default: JOB.work beside the job).
    #[serde(default)]
    work: Option<PathBuf>,
    /// The ID map (default: JOB.ids.sqlite beside the job).
    #[serde(default)]
    ids: Option<PathBuf>,
    /// Mapping files laid over the built-in ones.
    #[serde(default)]
    mappings: Option<PathBuf>,
    #[serde(default)]
    batch_size: Option<usize>,
    #[serde(default)]
    concurrency: Option<usize>,
    #[serde(default)]
    max_errors: Option<usize>,
    /// Stop before loading when a quality check finds anything.
    #[serde(default)]
    strict: bool,
}

fn beside(job: &Path, suffix: &str) -> PathBuf {
    let stem = job
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "job".into());
    job.with_file_name(format!("{stem}{suffix}"))
}

fn relative_to(job: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        job.parent().unwrap_or(Path::new(".")).join(p)
    }
}

/// Rows the source gave per canonical entity, from the `-- source-stream: NAME` line
/// of the vendor's mapping and the extraction's manifest.
fn source_counts(library: &Library, vendor: &str, raw: &Path) -> HashMap<String, u64> {
    let Ok(Some(manifest)) = Manifest::load(raw) else {
        return HashMap::new();
    };
    let mut out = HashMap::new();
    for rel in library.paths() {
        let Some(entity) = rel
            .strip_prefix(&format!("{vendor}/"))
            .and_then(|r| r.strip_suffix(".sql"))
            .filter(|r| !r.contains('/'))
        else {
            continue;
        };
        let Some(file) = library.file(rel) else {
            continue;
        };
        let stream = file
            .text
            .lines()
            .find_map(|l| l.trim().strip_prefix("-- source-stream:"))
            .map(str::trim);
        if let Some(s) = stream.and_then(|s| manifest.streams.get(s)) {
            out.insert(entity.to_owned(), s.rows);
        }
    }
    out
}

pub async fn run(args: MigrateArgs, quiet: bool) -> Result<(), Failure> {
    let origin = args.job.display().to_string();
    let text = std::fs::read_to_string(&args.job).with_context(|| format!("reading {origin}"))?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| ferry_core::Error::config(&origin, e.to_string().trim().to_owned()))?;
    let job: MigrateJob = parse_config(table, &origin)?;
    let m = job.migrate;
    let registry = registry();
    let source = registry
        .source_from_config(job.source, &format!("{origin} [source]"))
        .with_context(|| format!("in job {origin}"))?;
    let target = registry
        .target_from_config(job.target, &format!("{origin} [target]"))
        .with_context(|| format!("in job {origin}"))?;
    let target_kind = target_kind_of(&text);
    let work = m
        .work
        .as_deref()
        .map(|w| relative_to(&args.job, w))
        .unwrap_or_else(|| beside(&args.job, ".work"));
    let ids_path = m
        .ids
        .as_deref()
        .map(|p| relative_to(&args.job, p))
        .unwrap_or_else(|| beside(&args.job, ".ids.sqlite"));
    let mappings = m.mappings.as_deref().map(|p| relative_to(&args.job, p));
    let library = match &mappings {
        Some(dir) => Library::with_overrides(dir)?,
        None => Library::built_in(),
    };
    let raw = work.join("raw");
    let canonical = work.join("canonical");
    let no_bars = quiet || args.json;
    let control = RunControl::one_shot(args.json);

    // 1. Extract (always whole: the ID map, not the extraction, makes reruns cheap).
    if !quiet && !args.json {
        eprintln!("1/4 extracting {} → {}", source.describe(), raw.display());
    }
    let extraction = to_folder(source.clone(), &raw, &m.streams, &control, no_bars).await?;

    // 2. Map.
    if !quiet && !args.json {
        eprintln!(
            "2/4 mapping ({} mappings) → {}",
            m.from,
            canonical.display()
        );
    }
    let map_source = Arc::new(MapSource::new(MapConfig {
        from: m.from.clone(),
        raw: raw.clone(),
        mappings: mappings.clone(),
        system: m.system.clone(),
    })?);
    refuse_vanished_columns(&map_source, &raw, &extraction).await?;
    let model = map_source.model().clone();
    let map_meta = ferry_core::Source::discover(map_source.as_ref())
        .await
        .with_context(|| format!("planning the {} mappings", m.from))?
        .metadata;
    to_folder(map_source, &canonical, &[], &control, no_bars).await?;
    super::map::drop_skipped(&canonical, &map_meta)?;

    // 3. Check.
    let quality = ferry_model::check_folder(&canonical, &model)
        .await
        .with_context(|| format!("checking {}", canonical.display()))?;
    if !quiet && !args.json {
        eprintln!(
            "3/4 quality: {} checks, {} findings",
            quality.checks_run,
            quality.findings.len()
        );
        if !quality.is_clean() {
            eprint!("{}", quality.render());
        }
    }
    if m.strict && !quality.is_clean() {
        return Err(anyhow::anyhow!(
            "quality checks found problems and [migrate] strict = true: nothing was loaded"
        )
        .into());
    }

    // 4. Load and reconcile.
    let options = LoadOptions {
        dry_run: args.dry_run,
        batch_size: args.batch_size.or(m.batch_size).unwrap_or(50).max(1),
        concurrency: m.concurrency.unwrap_or(1).max(1),
        max_errors: args.max_errors.or(m.max_errors).unwrap_or(100),
    };
    if !quiet && !args.json {
        eprintln!(
            "4/4 loading into {}{} (ID map {})",
            target.describe(),
            if args.dry_run { ", dry run" } else { "" },
            ids_path.display()
        );
    }
    let ids = if args.dry_run && !ids_path.exists() {
        IdMap::open(Path::new(":memory:"), &target.describe())?
    } else {
        IdMap::open(&ids_path, &target.describe())?
    };
    let counts = source_counts(&library, &m.from, &raw);
    let result: MigrationReport = ferry_migrate::migrate(
        &canonical,
        &library,
        &target_kind,
        target,
        &ids,
        options,
        &counts,
    )
    .await?;
    if let Some(path) = &args.report {
        let doc = serde_json::to_vec_pretty(&result).context("serializing the report")?;
        ferry_core::fsutil::write_atomic(path, &doc)?;
    }
    if args.json {
        let doc = serde_json::json!({ "quality": quality, "migration": result });
        out!(
            "{}",
            serde_json::to_string_pretty(&doc).context("serializing the report")?
        );
    } else {
        out!("{}", result.render());
    }
    if !args.dry_run && !result.complete {
        return Err(Failure::quiet(EXIT_FAILURE));
    }
    Ok(())
}

/// Moves every selected stream of `source` into the Parquet folder `out` (whole),
/// failing when any stream failed.
async fn to_folder(
    source: Arc<dyn ferry_core::Source>,
    out: &Path,
    streams: &[String],
    control: &RunControl,
    no_bars: bool,
) -> Result<ferry_core::pipeline::RunReport, Failure> {
    let sink = registry().sink_for_path("parquet", out)?;
    let state = Arc::new(FileStateStore::new(out.join(FERRY_DIR).join("state.json")));
    let report = move_streams(
        source,
        sink,
        &Selection::new(streams)?,
        &[],
        state,
        control,
        no_bars,
    )
    .await?;
    if !report.is_success() {
        print_stream_errors(&report);
        return Err(Failure::quiet(EXIT_FAILURE));
    }
    Ok(report)
}

/// Stops a migration whose mappings read a raw column the source no longer gives:
/// gone, or now of another type (its values moved to a new column). The extraction
/// keeps such a column (NULL) so that the raw tables stay readable, which is exactly
/// why a mapping would otherwise load NULL in silence.
async fn refuse_vanished_columns(
    mappings: &MapSource,
    raw: &Path,
    extraction: &ferry_core::pipeline::RunReport,
) -> Result<(), Failure> {
    use ferry_core::drift::Change;
    use ferry_core::state::StateStore;
    let state = FileStateStore::new(raw.join(FERRY_DIR).join("state.json")).load()?;
    // Per stream: the columns written that the source does not give as written.
    let mut vanished: HashMap<(String, String), String> = HashMap::new();
    for (stream, s) in &state.streams {
        if s.source_columns.is_empty() {
            continue;
        }
        for c in &s.columns {
            let now = s.source_columns.iter().find(|n| n.name == c.name);
            if now.is_some_and(|n| n.data_type == c.data_type) {
                continue;
            }
            let change = extraction
                .streams
                .iter()
                .filter(|r| &r.name == stream)
                .flat_map(|r| &r.schema_changes)
                .find(|ch| match ch {
                    Change::ColumnRemoved { column, .. } | Change::TypeChanged { column, .. } => {
                        *column == c.name
                    }
                    Change::LooksRenamed { from, .. } => *from == c.name,
                    _ => false,
                })
                .map(ToString::to_string)
                .unwrap_or_else(|| match now {
                    Some(n) => format!(
                        "column {} changed type from {} to {} in an earlier run",
                        c.name, c.data_type, n.data_type
                    ),
                    None => format!("column {} is gone since an earlier run", c.name),
                });
            vanished.insert((stream.clone(), c.name.clone()), change);
        }
    }
    if vanished.is_empty() {
        return Ok(());
    }
    let mut problems = Vec::new();
    for used in mappings.columns_read().await? {
        if let Some(change) = vanished.get(&(used.stream.clone(), used.column.clone())) {
            problems.push(format!(
                "mapping {} reads {}.{}, which the source no longer gives: {change}",
                used.mapping, used.stream, used.column
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(anyhow::anyhow!(
        "the source's schema changed under the mappings; nothing was loaded:\n  {}\nupdate the mappings (a folder laid over the built-in ones: [migrate] mappings) and rerun",
        problems.join("\n  ")
    )
    .into())
}

/// The `kind` of `[target]` (the registry consumed the table).
fn target_kind_of(text: &str) -> String {
    toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|t| t.get("target")?.get("kind")?.as_str().map(str::to_owned))
        .unwrap_or_default()
}
