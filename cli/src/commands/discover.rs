//! `ferry discover`: a source's streams with their columns and types.

use std::path::{Path, PathBuf};

use anyhow::Context;
use ferry_core::StreamSpec;
use ferry_core::drift::{self, Change};
use ferry_core::select::Selection;
use ferry_core::state::{FileStateStore, StateStore};
use serde::Serialize;

use crate::Failure;
use crate::args::DiscoverArgs;
use crate::connectors::registry;

pub async fn run(args: DiscoverArgs) -> Result<(), Failure> {
    let spec = args.credentials.apply(&args.source)?;
    let source = registry().source_from_spec(&spec)?;
    let catalog = source
        .discover()
        .await
        .with_context(|| format!("discovering {}", source.describe()))?;
    let selection = Selection::new(&args.streams)?;
    let streams = selection.apply(catalog.streams)?;
    if let Some(path) = &args.diff {
        return diff(&source.describe(), &streams, &selection, path, args.json);
    }
    if args.json {
        let out = serde_json::json!({
            "source": source.describe(),
            "metadata": catalog.metadata,
            "streams": streams.iter().map(|s| s.describe()).collect::<Vec<_>>(),
        });
        out!(
            "{}",
            serde_json::to_string_pretty(&out).context("serializing the catalog")?
        );
        return Ok(());
    }
    out!("{}: {} streams", source.describe(), streams.len());
    for s in &streams {
        let rows = match (s.row_estimate, s.row_count_exact) {
            (Some(n), true) => format!("{n} rows"),
            (Some(n), false) => format!("~{n} rows"),
            (None, _) => "rows unknown".to_owned(),
        };
        let key = if s.primary_key.is_empty() {
            String::new()
        } else {
            format!(", key ({})", s.primary_key.join(", "))
        };
        out!("\n{} ({rows}{key})", s.name);
        let width = s
            .schema
            .fields()
            .iter()
            .map(|f| f.name().len())
            .max()
            .unwrap_or(0);
        for f in s.schema.fields() {
            let null = if f.is_nullable() { "" } else { " not null" };
            out!("  {:<width$}  {}{null}", f.name(), f.data_type());
        }
    }
    Ok(())
}

/// How one stream compares with the job's last run.
#[derive(Debug, Serialize)]
struct StreamDiff {
    name: String,
    /// `unchanged`, `changed`, `added` (not in the last run) or `gone` (no longer at
    /// the source).
    status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    changes: Vec<Change>,
}

/// The state file a `--diff` path stands for.
fn state_file(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_dir() {
        return Ok(path
            .join(ferry_core::manifest::FERRY_DIR)
            .join("state.json"));
    }
    if path.extension().is_some_and(|e| e == "toml") {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let job: toml::Table =
            toml::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
        return Ok(match job.get("state").and_then(|s| s.as_str()) {
            Some(p) if Path::new(p).is_absolute() => PathBuf::from(p),
            Some(p) => path.parent().unwrap_or(Path::new(".")).join(p),
            None => ferry_core::job::beside(path, ".state.json"),
        });
    }
    Ok(path.to_owned())
}

fn diff(
    source: &str,
    streams: &[StreamSpec],
    selection: &Selection,
    path: &Path,
    json: bool,
) -> Result<(), Failure> {
    let file = state_file(path)?;
    if !file.is_file() {
        return Err(ferry_core::Error::config(
            "--diff",
            format!(
                "{} holds no job state (run the job once first)",
                file.display()
            ),
        )
        .into());
    }
    let state = FileStateStore::new(&file).load()?;
    let mut out = Vec::new();
    for s in streams {
        let entry = match state.streams.get(&s.name) {
            Some(e) if !e.columns.is_empty() => {
                let prev = e.previous();
                let before = if prev.source.is_empty() {
                    prev.written
                } else {
                    prev.source
                };
                let changes = drift::diff(before, prev.key, &s.schema, &s.primary_key);
                StreamDiff {
                    name: s.name.clone(),
                    status: if changes.is_empty() {
                        "unchanged"
                    } else {
                        "changed"
                    },
                    changes,
                }
            }
            _ => StreamDiff {
                name: s.name.clone(),
                status: "added",
                changes: Vec::new(),
            },
        };
        out.push(entry);
    }
    for (name, e) in &state.streams {
        if !e.columns.is_empty()
            && selection.matches(name)
            && !streams.iter().any(|s| &s.name == name)
        {
            out.push(StreamDiff {
                name: name.clone(),
                status: "gone",
                changes: Vec::new(),
            });
        }
    }
    if json {
        let doc = serde_json::json!({
            "source": source,
            "state": file.display().to_string(),
            "changed": out.iter().any(|d| d.status != "unchanged"),
            "streams": out,
        });
        out!(
            "{}",
            serde_json::to_string_pretty(&doc).context("serializing the comparison")?
        );
        return Ok(());
    }
    let changed = out.iter().filter(|d| d.status != "unchanged").count();
    out!(
        "{source} against {}: {changed} of {} streams differ",
        file.display(),
        out.len()
    );
    for d in out.iter().filter(|d| d.status != "unchanged") {
        match d.status {
            "added" => out!("  {}: new stream (not in the last run)", d.name),
            "gone" => out!("  {}: gone (the source no longer has it)", d.name),
            _ => {
                for c in &d.changes {
                    out!("  {}: {c}", d.name);
                }
            }
        }
    }
    Ok(())
}
