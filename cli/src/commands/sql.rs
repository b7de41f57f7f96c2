//! `ferry sql`: DataFusion SQL over a folder of extracted streams.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use arrow::array::RecordBatch;
use datafusion::prelude::SessionContext;
use ferry_engine::TableEntry;
use futures::TryStreamExt;

use crate::Failure;
use crate::args::{SqlArgs, SqlFormat};

pub async fn run(args: SqlArgs) -> Result<(), Failure> {
    // Delta tables (backups) are read through their log, at the version asked for.
    let mut providers = std::collections::HashMap::new();
    let mut skipped = Vec::new();
    for dir in &args.data {
        let store =
            ferry_delta::Store::new(&dir.display().to_string(), &Default::default(), false)?;
        for stream in store.list_tables().await? {
            // Versions count per table: one that never reached N is left out.
            if let Some(v) = args.version {
                let latest = store.open(&stream, None, None).await?.version();
                if latest.is_none_or(|l| (l as i64) < v) {
                    eprintln!(
                        "note: {stream} has no version {v}; it is left out (--as-of reads every table at one time)"
                    );
                    skipped.push(dir.join(&stream));
                    continue;
                }
            }
            let table =
                ferry_delta::open_provider(&store, &stream, args.version, args.as_of.as_deref())
                    .await?;
            providers.insert(dir.join(&stream), table);
        }
    }
    if providers.is_empty() && (args.version.is_some() || args.as_of.is_some()) {
        return Err(anyhow::anyhow!(
            "--version and --as-of read backups (Delta tables); {} holds none",
            args.data
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
        .into());
    }
    let (ctx, tables) = ferry_engine::open_many_with(&args.data, &providers, &skipped).await?;
    match &args.query {
        Some(q) => execute(&ctx, q, args.format, args.output.as_deref()).await?,
        None => {
            let handle = tokio::runtime::Handle::current();
            let format = args.format;
            tokio::task::spawn_blocking(move || interactive(&handle, &ctx, &tables, format))
                .await
                .context("interactive prompt")??;
        }
    }
    Ok(())
}

/// Runs one query and writes its result in `format` to `output` or stdout.
pub async fn execute(
    ctx: &SessionContext,
    sql: &str,
    format: SqlFormat,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    if format == SqlFormat::Parquet && output.is_none() {
        bail!("--format parquet needs --output FILE");
    }
    let stream = ferry_engine::query(ctx, sql).await?;
    let schema = stream.schema();
    match output {
        Some(path) => {
            let partial = ferry_core::fsutil::partial_path(path);
            let file = std::fs::File::create(&partial)
                .with_context(|| format!("creating {}", partial.display()))?;
            let mut out = std::io::BufWriter::new(file);
            write_stream(stream, schema, format, &mut out).await?;
            let file = out
                .into_inner()
                .map_err(|e| e.into_error())
                .context("flushing the output")?;
            file.sync_all().context("syncing the output")?;
            ferry_core::fsutil::rename(&partial, path)?;
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout());
            write_stream(stream, schema, format, &mut out).await?;
            out.flush()?;
        }
    }
    Ok(())
}

async fn write_stream(
    mut stream: datafusion::execution::SendableRecordBatchStream,
    schema: arrow::datatypes::SchemaRef,
    format: SqlFormat,
    out: &mut (impl Write + Send),
) -> anyhow::Result<()> {
    match format {
        SqlFormat::Table => {
            let batches: Vec<RecordBatch> = stream.try_collect().await?;
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            let table = arrow::util::pretty::pretty_format_batches_with_schema(schema, &batches)?;
            writeln!(out, "{table}")?;
            writeln!(out, "({rows} row{})", if rows == 1 { "" } else { "s" })?;
        }
        SqlFormat::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(out);
            let mut wrote = false;
            while let Some(b) = stream.try_next().await? {
                w.write(&b)?;
                wrote = true;
            }
            if !wrote {
                w.write(&RecordBatch::new_empty(schema))?;
            }
        }
        SqlFormat::Json => {
            let mut w = arrow::json::ArrayWriter::new(out);
            while let Some(b) = stream.try_next().await? {
                w.write(&b)?;
            }
            w.finish()?;
            // ArrayWriter writes nothing for no rows; print an empty array then.
            let out = w.into_inner();
            out.write_all(b"\n")?;
        }
        SqlFormat::Jsonl => {
            let mut w = arrow::json::LineDelimitedWriter::new(out);
            while let Some(b) = stream.try_next().await? {
                w.write(&b)?;
            }
            w.finish()?;
        }
        SqlFormat::Parquet => {
            let mut w = parquet::arrow::ArrowWriter::try_new(out, schema, None)?;
            while let Some(b) = stream.try_next().await? {
                w.write(&b)?;
            }
            w.close()?;
        }
    }
    Ok(())
}

fn history_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(base.join("ferry").join("sql_history"))
}

const HELP: &str = "\
Statements end with ';' and may span lines. Commands:
  .tables          list tables
  .schema NAME     columns of a table
  .format FORMAT   table, csv, json or jsonl
  .help            this text
  .quit            leave (or Ctrl-D)";

fn interactive(
    handle: &tokio::runtime::Handle,
    ctx: &SessionContext,
    tables: &[TableEntry],
    mut format: SqlFormat,
) -> anyhow::Result<()> {
    let mut rl = rustyline::DefaultEditor::new().context("starting the prompt")?;
    let history = history_path();
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    eprintln!("ferry sql: {} tables. Type .help for help.", tables.len());
    let mut pending = String::new();
    loop {
        let prompt = if pending.is_empty() {
            "ferry> "
        } else {
            "   ..> "
        };
        let line = match rl.readline(prompt) {
            Ok(line) => line,
            Err(rustyline::error::ReadlineError::Interrupted) => {
                pending.clear();
                continue;
            }
            Err(rustyline::error::ReadlineError::Eof) => break,
            Err(e) => return Err(e).context("reading the prompt"),
        };
        let trimmed = line.trim();
        if pending.is_empty() && trimmed.starts_with('.') {
            let _ = rl.add_history_entry(trimmed);
            let mut words = trimmed.split_whitespace();
            match (words.next(), words.next()) {
                (Some(".quit" | ".exit"), _) => break,
                (Some(".help"), _) => eprintln!("{HELP}"),
                (Some(".tables"), _) => {
                    for t in tables {
                        out!("{}", t.sql_name);
                    }
                }
                (Some(".schema"), Some(name)) => {
                    let sql = format!(
                        "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = '{}' ORDER BY ordinal_position",
                        name.rsplit('.').next().unwrap_or(name).replace('\'', "''")
                    );
                    if let Err(e) = handle.block_on(execute(ctx, &sql, SqlFormat::Table, None)) {
                        eprintln!("error: {}", crate::render::error_text(&e));
                    }
                }
                (Some(".format"), Some(f)) => {
                    match <SqlFormat as clap::ValueEnum>::from_str(f, true) {
                        Ok(SqlFormat::Parquet) | Err(_) => {
                            eprintln!("formats: table, csv, json, jsonl")
                        }
                        Ok(f) => format = f,
                    }
                }
                _ => eprintln!("unknown command; .help lists them"),
            }
            continue;
        }
        if trimmed.is_empty() && pending.is_empty() {
            continue;
        }
        pending.push_str(&line);
        pending.push('\n');
        if !trimmed.ends_with(';') {
            continue;
        }
        let sql = std::mem::take(&mut pending);
        let _ = rl.add_history_entry(sql.trim());
        if let Err(e) =
            handle.block_on(execute(ctx, sql.trim().trim_end_matches(';'), format, None))
        {
            eprintln!("error: {}", crate::render::error_text(&e));
        }
    }
    if let Some(h) = &history {
        if let Some(parent) = h.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let _ = rl.save_history(h);
    }
    Ok(())
}
