//! One module per subcommand.

mod demo;
mod discover;
mod extract;
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
    let catalog = source
        .discover()
        .await
        .with_context(|| format!("discovering {}", source.describe()))?;
    let mut streams = selection.apply(catalog.streams)?;
    ferry_core::select::apply_cursors(&mut streams, cursors)?;
    let mut options = RunOptions {
        restart: control.restart,
        incremental: !control.full_refresh,
        ..Default::default()
    };
    if let Some(n) = control.concurrency {
        options.concurrency = n.max(1);
    }
    let bars = Arc::new(progress::Bars::new(quiet || control.json));
    let report = pipeline::run(source, sink, streams, state, bars, options).await?;
    if control.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&report).context("serializing the report")?
        );
    } else if !quiet {
        eprintln!("{}", render::run_summary(&report));
    }
    if quiet || control.json {
        // No summary on stderr: each failure still gets its line there.
        for s in &report.streams {
            if let Some(e) = &s.error {
                eprintln!("error: {}: {e}", s.name);
            }
        }
    }
    if report.is_success() {
        Ok(report)
    } else {
        Err(Failure::quiet(EXIT_FAILURE))
    }
}
