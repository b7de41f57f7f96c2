//! A backup read back as a source: each Delta table is a stream, at the latest
//! version or at an earlier one. `ferry restore` moves it into plain Parquet or CSV
//! through the ordinary pipeline.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::prelude::{DataFrame, SessionContext};
use ferry_core::source::{Catalog, EventStream, ReadOptions, SourceEvent};
use ferry_core::{Error, Result, Source, StreamSpec};
use futures::StreamExt;

use crate::sink::open_provider;
use crate::store::Store;

/// The tables of a backup at one point of its history.
#[derive(Debug)]
pub struct DeltaSource {
    store: Store,
    version: Option<i64>,
    as_of: Option<String>,
}

impl DeltaSource {
    /// Reads `store` at `version`, or as of `as_of` (RFC 3339), or at the latest version.
    pub fn new(store: Store, version: Option<i64>, as_of: Option<String>) -> Self {
        DeltaSource {
            store,
            version,
            as_of,
        }
    }

    async fn frame(&self, stream: &str) -> Result<DataFrame> {
        let provider =
            open_provider(&self.store, stream, self.version, self.as_of.as_deref()).await?;
        SessionContext::new()
            .read_table(provider)
            .map_err(|e| Error::external(format!("reading the Delta table of {stream}"), e))
    }
}

#[async_trait]
impl Source for DeltaSource {
    fn describe(&self) -> String {
        let at = match (&self.version, &self.as_of) {
            (Some(v), _) => format!(" at version {v}"),
            (None, Some(ts)) => format!(" as of {ts}"),
            (None, None) => String::new(),
        };
        format!("delta {}{at}", self.store.describe())
    }

    async fn discover(&self) -> Result<Catalog> {
        let mut streams = Vec::new();
        for name in self.store.list_tables().await? {
            let frame = self.frame(&name).await?;
            let schema = Arc::new(frame.schema().as_arrow().clone());
            streams.push(StreamSpec::new(name, schema));
        }
        if streams.is_empty() {
            return Err(Error::config(
                self.store.describe(),
                "holds no Delta table (is it a ferry backup?)",
            ));
        }
        Ok(Catalog {
            streams,
            metadata: Default::default(),
        })
    }

    async fn read(&self, stream: &StreamSpec, _options: ReadOptions) -> Result<EventStream> {
        let name = stream.name.clone();
        let batches = self
            .frame(&name)
            .await?
            .execute_stream()
            .await
            .map_err(|e| Error::external(format!("reading the Delta table of {name}"), e))?;
        Ok(Box::pin(batches.map(move |b| {
            b.map(SourceEvent::Batch)
                .map_err(|e| Error::external(format!("reading the Delta table of {name}"), e))
        })))
    }
}
