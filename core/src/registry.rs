//! Building sources and sinks by name.
//!
//! Each connector crate exposes a `register(&mut Registry)` function that adds its
//! factories; the CLI calls them explicitly. A source is then built either from a
//! spec on the command line (a path, `postgres://…`, `odoo+https://…`) or from a
//! `[source]` table of a job file whose `kind` names the factory.

use std::path::Path;
use std::sync::Arc;

use crate::redact::redact_spec;
use crate::target::{Target, TargetFactory};
use crate::{Error, Result, Sink, Source};

/// Builds one kind of source.
pub trait SourceFactory: Send + Sync {
    /// The `kind` used in job files, e.g. `files`, `postgres`.
    fn kind(&self) -> &'static str;

    /// Whether this factory understands a command-line spec.
    fn accepts(&self, spec: &str) -> bool;

    /// Builds a source from a command-line spec.
    ///
    /// # Errors
    /// The spec is malformed or names something that does not exist.
    fn build_from_spec(&self, spec: &str) -> Result<Arc<dyn Source>>;

    /// Builds a source from a job-file table (without its `kind` key). Unknown keys
    /// are rejected. `origin` names the file and section for error messages.
    ///
    /// # Errors
    /// The table does not describe a valid source.
    fn build_from_config(&self, table: toml::Table, origin: &str) -> Result<Arc<dyn Source>>;
}

/// Builds one kind of sink.
pub trait SinkFactory: Send + Sync {
    /// The `kind` used in job files and `--format`, e.g. `parquet`.
    fn kind(&self) -> &'static str;

    /// Builds a sink writing under `root`.
    ///
    /// # Errors
    /// The folder cannot be used.
    fn build_at_path(&self, root: &Path) -> Result<Arc<dyn Sink>>;

    /// Builds a sink from a job-file table (without its `kind` key).
    ///
    /// # Errors
    /// The table does not describe a valid sink.
    fn build_from_config(&self, table: toml::Table, origin: &str) -> Result<Arc<dyn Sink>>;
}

/// All connectors known to this build.
#[derive(Default)]
pub struct Registry {
    sources: Vec<Box<dyn SourceFactory>>,
    sinks: Vec<Box<dyn SinkFactory>>,
    targets: Vec<Box<dyn TargetFactory>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("sources", &self.source_kinds())
            .field("sinks", &self.sink_kinds())
            .field("targets", &self.target_kinds())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a source factory. Factories added earlier win when several accept a spec.
    pub fn add_source(&mut self, factory: impl SourceFactory + 'static) {
        self.sources.push(Box::new(factory));
    }

    /// Adds a sink factory.
    pub fn add_sink(&mut self, factory: impl SinkFactory + 'static) {
        self.sinks.push(Box::new(factory));
    }

    /// Adds a migration target factory.
    pub fn add_target(&mut self, factory: impl TargetFactory + 'static) {
        self.targets.push(Box::new(factory));
    }

    /// Kinds of migration target, in registration order.
    pub fn target_kinds(&self) -> Vec<&'static str> {
        self.targets.iter().map(|f| f.kind()).collect()
    }

    /// Builds a migration target from a job file's `[target]` table.
    ///
    /// # Errors
    /// Missing or unknown kind, or a table the factory rejects.
    pub fn target_from_config(
        &self,
        mut table: toml::Table,
        origin: &str,
    ) -> Result<Arc<dyn Target>> {
        let kind = take_kind(&mut table, origin, &self.target_kinds())?;
        match self.targets.iter().find(|f| f.kind() == kind) {
            Some(f) => f.build(table, origin),
            None => Err(Error::config(
                origin,
                format!(
                    "unknown target kind {kind:?}; known: {}",
                    self.target_kinds().join(", ")
                ),
            )),
        }
    }

    /// Kinds of source, in registration order.
    pub fn source_kinds(&self) -> Vec<&'static str> {
        self.sources.iter().map(|f| f.kind()).collect()
    }

    /// Kinds of sink, in registration order.
    pub fn sink_kinds(&self) -> Vec<&'static str> {
        self.sinks.iter().map(|f| f.kind()).collect()
    }

    /// Builds a source from a command-line spec.
    ///
    /// # Errors
    /// No factory accepts the spec, or the one that does fails.
    pub fn source_from_spec(&self, spec: &str) -> Result<Arc<dyn Source>> {
        match self.sources.iter().find(|f| f.accepts(spec)) {
            Some(f) => f.build_from_spec(spec),
            None => Err(Error::UnknownSpec {
                spec: redact_spec(spec),
                known: self.source_kinds().join(", "),
            }),
        }
    }

    /// Builds a source from a job-file table with a `kind` key, or a `spec` key alone.
    ///
    /// # Errors
    /// Missing or unknown kind, or a table the factory rejects.
    pub fn source_from_config(
        &self,
        mut table: toml::Table,
        origin: &str,
    ) -> Result<Arc<dyn Source>> {
        if table.len() == 1
            && let Some(spec) = table.get("spec").and_then(|v| v.as_str())
        {
            return self.source_from_spec(spec);
        }
        let kind = take_kind(&mut table, origin, &self.source_kinds())?;
        match self.sources.iter().find(|f| f.kind() == kind) {
            Some(f) => f.build_from_config(table, origin),
            None => Err(Error::config(
                origin,
                format!(
                    "unknown source kind {kind:?}; known: {}",
                    self.source_kinds().join(", ")
                ),
            )),
        }
    }

    /// Builds a sink of `kind` writing under `root`.
    ///
    /// # Errors
    /// Unknown kind or unusable folder.
    pub fn sink_for_path(&self, kind: &str, root: &Path) -> Result<Arc<dyn Sink>> {
        match self.sinks.iter().find(|f| f.kind() == kind) {
            Some(f) => f.build_at_path(root),
            None => Err(Error::config(
                "--format",
                format!(
                    "unknown output format {kind:?}; known: {}",
                    self.sink_kinds().join(", ")
                ),
            )),
        }
    }

    /// Builds a sink from a job-file table with a `kind` key.
    ///
    /// # Errors
    /// Missing or unknown kind, or a table the factory rejects.
    pub fn sink_from_config(&self, mut table: toml::Table, origin: &str) -> Result<Arc<dyn Sink>> {
        let kind = take_kind(&mut table, origin, &self.sink_kinds())?;
        match self.sinks.iter().find(|f| f.kind() == kind) {
            Some(f) => f.build_from_config(table, origin),
            None => Err(Error::config(
                origin,
                format!(
                    "unknown sink kind {kind:?}; known: {}",
                    self.sink_kinds().join(", ")
                ),
            )),
        }
    }
}

fn take_kind(table: &mut toml::Table, origin: &str, known: &[&str]) -> Result<String> {
    match table.remove("kind") {
        Some(toml::Value::String(k)) => Ok(k),
        Some(other) => Err(Error::config(
            origin,
            format!("`kind` must be a string, found {other}"),
        )),
        None => Err(Error::config(
            origin,
            format!("missing `kind`; one of: {}", known.join(", ")),
        )),
    }
}

/// Deserializes a connector's config struct from a job-file table, naming the
/// section in the error (serde's message names the unknown or missing key).
///
/// # Errors
/// The table does not match `T`.
pub fn parse_config<T: serde::de::DeserializeOwned>(table: toml::Table, origin: &str) -> Result<T> {
    T::deserialize(toml::Value::Table(table))
        .map_err(|e| Error::config(origin, e.to_string().trim().to_owned()))
}
