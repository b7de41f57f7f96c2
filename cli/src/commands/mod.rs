//! One module per subcommand.

mod backup;
mod demo;
mod discover;
mod extract;
mod map;
mod migrate;
pub(crate) mod sql;

use std::sync::Arc;

use anyhow::Context;
use ferry_core::pipeline::{self, RunOptions, RunReport};
use ferry_core::select::Selection;
use ferry_core::state::StateStore;
use ferry_core::{Sink, Source};

use crate::args::{Cli, Command, RunControl};
use crate::{EXIT_FAILURE, Failure, progress, render};

pub async fn run(cli: Cli) -> Result<(), Failure> {
    let quiet = cli.global.quiet;
    match cli.command {
        Command::Discover(a) => discover::run(a).await,
        Command::Extract(a) => extract::run(a, quiet).await,
        Command::Sql(a) => sql::run(a).await,
        Command::Run(a) => extract::run_job(a, quiet).await,
        Command::Demo(a) => demo::run(a, quiet).await,
        Command::Map(a) => map::run(a, quiet).await,
        Command::Check(a) => map::check(a).await,
        Command::Migrate(a) => migrate::run(a, quiet).await,
        Command::Backup(a) => backup::run(a, quiet).await,
        Command::Verify(a) => backup::verify(a).await,
        Command::Restore(a) => backup::restore(a, quiet).await,
    }
}

/// Discovers, selects and moves streams, then prints the report.
pub(crate) async fn transfer(
    source: Arc<dyn Source>,
    sink: Arc<dyn Sink>,
    selection: &Selection,
    cursors: &[(String, String)],
    state: Arc<dyn StateStore>,
    control: &RunControl,
    quiet: bool,
) -> Result<RunReport, Failure> {
    let report = move_streams(
        source,
        sink,
        selection,
        cursors,
        state,
        control,
        quiet || control.json,
    )
    .await?;
    if control.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&report).context("serializing the report")?
        );
    } else if !quiet {
        eprintln!("{}", render::run_summary(&report));
    }
    if quiet || control.json {
        print_stream_errors(&report);
    }
    if report.is_success() {
        Ok(report)
    } else {
        Err(Failure::quiet(EXIT_FAILURE))
    }
}

/// With no summary on stderr, each failed stream still gets its line there.
pub(crate) fn print_stream_errors(report: &RunReport) {
    for s in &report.streams {
        if let Some(e) = &s.error {
            eprintln!("error: {}: {e}", s.name);
        }
    }
}

/// The schema policy of each stream: evolve, then the job's setting, then the flags.
pub(crate) fn schema_policies(
    job: Option<&ferry_core::drift::PolicySetting>,
    flags: &[String],
) -> Result<ferry_core::drift::Policies, ferry_core::Error> {
    let mut overrides = job.map(|j| j.overrides()).unwrap_or_default();
    overrides.extend(ferry_core::drift::parse_policy_flags(flags)?);
    ferry_core::drift::Policies::new(ferry_core::drift::Policy::Evolve, &overrides)
}

/// Discovers, selects and moves streams; the report says what happened to each.
pub(crate) async fn move_streams(
    source: Arc<dyn Source>,
    sink: Arc<dyn Sink>,
    selection: &Selection,
    cursors: &[(String, String)],
    state: Arc<dyn StateStore>,
    control: &RunControl,
    no_bars: bool,
) -> Result<RunReport, Failure> {
    let catalog = source
        .discover()
        .await
        .with_context(|| format!("discovering {}", source.describe()))?;
    let gone = ferry_core::drift::gone_streams(&state.load()?, &catalog.streams, selection);
    let mut streams = selection.apply(catalog.streams)?;
    ferry_core::select::apply_cursors(&mut streams, cursors)?;
    let mut options = RunOptions {
        restart: control.restart,
        incremental: !control.full_refresh,
        schema_policy: schema_policies(None, &control.schema_policy)?,
        ..Default::default()
    };
    if let Some(n) = control.concurrency {
        options.concurrency = n.max(1);
    }
    let bars = Arc::new(progress::Bars::new(no_bars));
    let mut report = pipeline::run(source, sink, streams, state, bars, options).await?;
    report.streams_gone = gone;
    Ok(report)
}
