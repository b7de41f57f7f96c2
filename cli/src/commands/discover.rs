//! `ferry discover`: a source's streams with their columns and types.

use anyhow::Context;
use ferry_core::select::Selection;

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
    let streams = Selection::new(&args.streams)?.apply(catalog.streams)?;
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
