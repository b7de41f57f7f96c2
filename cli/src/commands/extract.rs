//! `ferry extract` and `ferry run`: move streams from a source into a sink.

use std::sync::Arc;

use anyhow::Context;
use ferry_core::job::JobFile;
use ferry_core::manifest::FERRY_DIR;
use ferry_core::select::Selection;
use ferry_core::state::FileStateStore;

use crate::Failure;
use crate::args::{ExtractArgs, RunArgs};
use crate::connectors::registry;

/// Where `--with-files` copies an Odoo filestore, inside the output folder (a leading
/// `_` keeps `ferry sql` from taking it for a stream).
const FILESTORE_COPY: &str = "_filestore";

pub async fn run(args: ExtractArgs, quiet: bool) -> Result<(), Failure> {
    let registry = registry();
    let spec = args.credentials.apply(&args.source)?;
    let source = if args.with_files {
        if !ferry_dumps::is_dump(&args.source) {
            return Err(ferry_core::Error::config(
                "--with-files",
                format!(
                    "applies to an Odoo backup zip; {} is not a dump file",
                    ferry_core::redact::redact_spec(&args.source)
                ),
            )
            .into());
        }
        let mut table = toml::Table::new();
        table.insert("kind".into(), "dump".into());
        table.insert("path".into(), args.source.clone().into());
        table.insert(
            "with_files_dir".into(),
            args.out.join(FILESTORE_COPY).display().to_string().into(),
        );
        registry.source_from_config(table, "--with-files")?
    } else {
        registry.source_from_spec(&spec)?
    };
    let sink = registry.sink_for_path(args.format.name(), &args.out)?;
    // The output folder carries its own state, so rerunning the same command resumes.
    let state = Arc::new(FileStateStore::new(
        args.out.join(FERRY_DIR).join("state.json"),
    ));
    let cursors = ferry_core::select::parse_cursor_flags(&args.run.cursors);
    super::transfer(
        source,
        sink,
        &Selection::new(&args.streams)?,
        &cursors,
        state,
        &args.run,
        quiet,
    )
    .await?;
    Ok(())
}

pub async fn run_job(args: RunArgs, quiet: bool) -> Result<(), Failure> {
    let job = JobFile::load(&args.job)?;
    let registry = registry();
    let origin = args.job.display().to_string();
    let source = registry
        .source_from_config(job.source.clone(), &format!("{origin} [source]"))
        .with_context(|| format!("in job {origin}"))?;
    let sink = registry
        .sink_from_config(job.sink.clone(), &format!("{origin} [sink]"))
        .with_context(|| format!("in job {origin}"))?;
    let state = Arc::new(FileStateStore::new(job.state_path(&args.job)));
    let mut control = args.run;
    if control.concurrency.is_none() {
        control.concurrency = job.concurrency;
    }
    // The job's schema policies come first; flags given on the command line win.
    if let Some(setting) = &job.schema_policy {
        let mut flags: Vec<String> = setting
            .overrides()
            .into_iter()
            .map(|(stream, p)| format!("{stream}={}", p.as_str()))
            .collect();
        flags.append(&mut control.schema_policy);
        control.schema_policy = flags;
    }
    let mut cursors: Vec<(String, String)> = job.cursors.clone().into_iter().collect();
    cursors.extend(ferry_core::select::parse_cursor_flags(&control.cursors));
    super::transfer(
        source,
        sink,
        &Selection::new(&job.streams)?,
        &cursors,
        state,
        &control,
        quiet,
    )
    .await?;
    Ok(())
}
