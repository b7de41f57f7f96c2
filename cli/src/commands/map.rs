//! `ferry map` (raw extraction → canonical model) and `ferry check` (quality checks).

use std::sync::Arc;

use anyhow::Context;
use ferry_core::manifest::FERRY_DIR;
use ferry_core::select::Selection;
use ferry_core::state::FileStateStore;
use ferry_model::{Library, MapConfig, MapSource, QualityReport};

use super::{move_streams, print_stream_errors};
use crate::args::{CheckArgs, MapArgs, RunControl};
use crate::connectors::registry;
use crate::{EXIT_FAILURE, Failure, render};

pub async fn run(args: MapArgs, quiet: bool) -> Result<(), Failure> {
    let source = Arc::new(MapSource::new(MapConfig {
        from: args.from.clone(),
        raw: args.input.clone(),
        mappings: args.mappings.clone(),
        system: args.system.clone(),
    })?);
    let model = source.model().clone();
    let meta = ferry_core::Source::discover(source.as_ref())
        .await
        .with_context(|| format!("planning the {} mappings", args.from))?
        .metadata;
    let sink = registry().sink_for_path("parquet", &args.out)?;
    let state = Arc::new(FileStateStore::new(
        args.out.join(FERRY_DIR).join("state.json"),
    ));
    // Canonical tables are rebuilt whole each time: a mapping reads every raw row.
    let control = RunControl::one_shot(args.json);
    let report = move_streams(
        source,
        sink,
        &Selection::new(&[] as &[String])?,
        &[],
        state,
        &control,
        quiet || args.json,
    )
    .await?;
    // The manifest says which model version, vendor and raw folder the tables come from.
    if let Some(mut manifest) = ferry_core::manifest::Manifest::load(&args.out)? {
        manifest.source = format!("{} mappings over {}", args.from, args.input.display());
        manifest.source_metadata = meta.clone();
        manifest.save(&args.out)?;
    }
    drop_skipped(&args.out, &meta)?;
    let quality = if args.no_check {
        None
    } else {
        Some(
            ferry_model::check_folder(&args.out, &model)
                .await
                .with_context(|| format!("checking {}", args.out.display()))?,
        )
    };
    if args.json {
        let doc = serde_json::json!({ "run": report, "quality": quality });
        out!(
            "{}",
            serde_json::to_string_pretty(&doc).context("serializing the report")?
        );
        print_stream_errors(&report);
    } else if quiet {
        print_stream_errors(&report);
    } else {
        eprintln!("{}", render::run_summary(&report));
        if let Some(skipped) = meta
            .get("skipped")
            .and_then(|s| s.as_object())
            .filter(|s| !s.is_empty())
        {
            eprintln!("not mapped:");
            for (entity, why) in skipped {
                eprintln!("  {entity}: {}", why.as_str().unwrap_or_default());
            }
        }
        if let Some(q) = &quality {
            eprint!("{}", q.render());
        }
    }
    finish(report.is_success(), quality.as_ref(), args.strict)
}

/// Removes what an earlier run wrote for entities this run skipped (their raw tables
/// are gone): a stale table would otherwise be checked, queried and loaded as current.
pub(crate) fn drop_skipped(
    out: &std::path::Path,
    meta: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), Failure> {
    let Some(skipped) = meta.get("skipped").and_then(|s| s.as_object()) else {
        return Ok(());
    };
    let mut manifest = ferry_core::manifest::Manifest::load(out)?;
    for entity in skipped.keys() {
        let dir = out.join(entity);
        if dir.exists() {
            tracing::info!(
                entity,
                "Removing the table of an earlier run: this run skipped it."
            );
            ferry_core::fsutil::remove_dir_all(&dir)?;
        }
        if let Some(m) = manifest.as_mut() {
            m.streams.remove(entity);
        }
    }
    if let Some(m) = manifest {
        m.save(out)?;
    }
    Ok(())
}

pub async fn check(args: CheckArgs) -> Result<(), Failure> {
    let library = match &args.mappings {
        Some(dir) => Library::with_overrides(dir)?,
        None => Library::built_in(),
    };
    let model = library.model()?;
    let quality = ferry_model::check_folder(&args.data, &model)
        .await
        .with_context(|| format!("checking {}", args.data.display()))?;
    if args.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&quality).context("serializing the report")?
        );
    } else {
        out!("{}", quality.render().trim_end());
    }
    finish(true, Some(&quality), args.strict)
}

fn finish(mapped: bool, quality: Option<&QualityReport>, strict: bool) -> Result<(), Failure> {
    let clean = quality.is_none_or(QualityReport::is_clean);
    if !mapped || (strict && !clean) {
        return Err(Failure::quiet(EXIT_FAILURE));
    }
    Ok(())
}
