//! Job files: a TOML document naming a source, the streams to take and a sink.
//!
//! ```toml
//! [source]
//! kind = "files"
//! path = "exports/"
//!
//! [sink]
//! kind = "parquet"
//! path = "out/"
//!
//! streams = ["customers", "sale_*"]   # optional; every stream by default
//! ```
//!
//! Sections are checked by the connector that owns them; unknown keys are errors.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Error, Result};

/// A parsed job file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobFile {
    /// Where to read; `kind` selects the connector, or `spec = "postgres://…"` alone.
    pub source: toml::Table,
    /// Where to write; `kind` selects the connector.
    pub sink: toml::Table,
    /// Names or globs of the streams to take; all when empty.
    #[serde(default)]
    pub streams: Vec<String>,
    /// Incremental cursor column per stream name or glob, e.g.
    /// `{ "public.sale_order" = "write_date", "*" = "write_date" }`.
    #[serde(default)]
    pub cursors: std::collections::BTreeMap<String, String>,
    /// How many streams are read at once (default: one per core).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Where the job's state is kept (default: beside the job file, `JOB.state.json`).
    #[serde(default)]
    pub state: Option<PathBuf>,
    /// What a run does with a stream whose shape changed: `evolve` (default), `freeze`
    /// or `fail`, for every stream or per stream name or glob.
    #[serde(default)]
    pub schema_policy: Option<crate::drift::PolicySetting>,
}

impl JobFile {
    /// Reads and parses a job file.
    ///
    /// # Errors
    /// Unreadable file, invalid TOML or unknown keys; the message names the file, line
    /// and column.
    pub fn load(path: &Path) -> Result<JobFile> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses job-file text; `origin` names it in errors.
    ///
    /// # Errors
    /// Invalid TOML or unknown keys.
    pub fn parse(text: &str, origin: &str) -> Result<JobFile> {
        parse_toml(text, origin)
    }

    /// The state file for a job file at `job_path`.
    pub fn state_path(&self, job_path: &Path) -> PathBuf {
        match &self.state {
            Some(p) if p.is_absolute() => p.clone(),
            Some(p) => job_path.parent().unwrap_or(Path::new(".")).join(p),
            None => beside(job_path, ".state.json"),
        }
    }
}

/// Parses a TOML document into `T`; errors name `origin`, line and column.
///
/// # Errors
/// Invalid TOML, unknown keys or wrong types.
pub fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| {
        let place = e
            .span()
            .map(|s| {
                let line = text[..s.start].matches('\n').count() + 1;
                let col = s.start - text[..s.start].rfind('\n').map_or(0, |i| i + 1) + 1;
                format!("{origin}:{line}:{col}")
            })
            .unwrap_or_else(|| origin.to_owned());
        Error::config(place, e.message().to_owned())
    })
}

/// A job file's companion file: `nightly.toml` → `nightly<suffix>` beside it.
pub fn beside(job_path: &Path, suffix: &str) -> PathBuf {
    let mut name = job_path
        .file_stem()
        .map(|s| s.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    job_path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named_with_their_place() {
        let err = JobFile::parse(
            "[source]\nkind='files'\n[sink]\nkind='parquet'\n[extra]\n",
            "job.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("job.toml:5"), "{err}");
        assert!(err.contains("extra"), "{err}");
    }

    #[test]
    fn state_defaults_beside_the_job() {
        let job = JobFile::parse("[source]\nkind='files'\n[sink]\nkind='parquet'\n", "j").unwrap();
        assert_eq!(
            job.state_path(Path::new("/x/nightly.toml")),
            Path::new("/x/nightly.state.json")
        );
    }
}
