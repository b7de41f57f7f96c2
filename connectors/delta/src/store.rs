//! Where a backup lives: a local folder or an object-storage prefix (S3 and
//! S3-compatible servers, Google Cloud Storage, Azure Blob Storage), one Delta table
//! per stream below it.
//!
//! Credentials come from the usual environment variables of each cloud (`AWS_*`,
//! `GOOGLE_*`, `AZURE_*`, read by `object_store`), overridden by the job's
//! `[backup.storage]` options. Neither ever appears in a description or an error.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

use deltalake_core::logstore::{
    LogStore, LogStoreFactory, ObjectStoreFactory, ObjectStoreRef, StorageConfig, default_logstore,
    logstore_factories, object_store_factories,
};
use deltalake_core::{DeltaResult, DeltaTable, DeltaTableBuilder, DeltaTableError};
use ferry_core::{Error, Result};
use futures::TryStreamExt;
use url::Url;

/// The schemes handed to `object_store`'s cloud builders.
const CLOUD_SCHEMES: &[&str] = &["s3", "s3a", "gs", "az", "abfs", "abfss", "azure"];

/// A backup's root: local folder or object-storage URL, with storage options.
#[derive(Debug, Clone)]
pub struct Store {
    location: Location,
    options: HashMap<String, String>,
}

#[derive(Debug, Clone)]
enum Location {
    Local(PathBuf),
    Remote(Url),
}

impl Store {
    /// A store at `path`: a URL with a cloud scheme (`s3://bucket/prefix`), or a local
    /// folder (created when `create`).
    ///
    /// # Errors
    /// An unknown URL scheme, or a local folder that cannot be created or found.
    pub fn new(path: &str, options: &BTreeMap<String, String>, create: bool) -> Result<Store> {
        register_cloud_stores();
        let options: HashMap<String, String> = options
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some((scheme, _)) = path.split_once("://") {
            if scheme == "file" {
                let url = Url::parse(path).map_err(|e| Error::config(path, e.to_string()))?;
                let local = url
                    .to_file_path()
                    .map_err(|()| Error::config(path, "not a local path"))?;
                return Self::local(&local, options, create);
            }
            if !CLOUD_SCHEMES.contains(&scheme) {
                return Err(Error::config(
                    redact_url(path),
                    format!(
                        "unknown storage scheme {scheme}://; use a local folder or one of {}",
                        CLOUD_SCHEMES
                            .iter()
                            .map(|s| format!("{s}://"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            let mut text = path.trim_end_matches('/').to_owned();
            text.push('/');
            let url =
                Url::parse(&text).map_err(|e| Error::config(redact_url(path), e.to_string()))?;
            return Ok(Store {
                location: Location::Remote(url),
                options,
            });
        }
        Self::local(Path::new(path), options, create)
    }

    fn local(path: &Path, options: HashMap<String, String>, create: bool) -> Result<Store> {
        if create {
            std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
        }
        let abs = path.canonicalize().map_err(|e| Error::io(path, e))?;
        Ok(Store {
            location: Location::Local(abs),
            options,
        })
    }

    /// The local folder, for a local store.
    pub fn local_root(&self) -> Option<&Path> {
        match &self.location {
            Location::Local(p) => Some(p),
            Location::Remote(_) => None,
        }
    }

    /// A description without credentials, e.g. `s3://bucket/backups/`.
    pub fn describe(&self) -> String {
        match &self.location {
            Location::Local(p) => p.display().to_string(),
            Location::Remote(u) => redact_url(u.as_str()),
        }
    }

    /// The URL of the table of `stream`.
    ///
    /// # Errors
    /// A stream name that does not make a URL path segment.
    pub fn table_url(&self, stream: &str) -> Result<Url> {
        match &self.location {
            Location::Local(root) => {
                let dir = root.join(stream);
                Url::from_directory_path(&dir).map_err(|()| {
                    Error::config(dir.display().to_string(), "not an absolute folder path")
                })
            }
            Location::Remote(base) => {
                let mut url = base.clone();
                url.path_segments_mut()
                    .map_err(|()| Error::config(self.describe(), "cannot hold a path"))?
                    .pop_if_empty()
                    .push(stream)
                    .push("");
                Ok(url)
            }
        }
    }

    /// The table of `stream`, loaded at its latest version, or an uninitialised table
    /// when there is none yet (the first write creates it).
    ///
    /// # Errors
    /// Storage unreachable or a damaged log.
    pub async fn table_for_write(&self, stream: &str) -> Result<DeltaTable> {
        if let Location::Local(root) = &self.location {
            let dir = root.join(stream);
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        let url = self.table_url(stream)?;
        let mut table = DeltaTableBuilder::from_url(url)
            .and_then(|b| b.with_storage_options(self.options.clone()).build())
            .map_err(self.err(stream, "opening"))?;
        // Loading a table that is not there yet makes the Delta kernel log an error.
        if !self.has_table(stream).await? {
            return Ok(table);
        }
        match table.load().await {
            Ok(()) | Err(DeltaTableError::NotATable(_)) => Ok(table),
            Err(e) => Err(self.err(stream, "opening")(e)),
        }
    }

    /// The table of `stream` at its latest version, version `version`, or the version
    /// current at `as_of` (RFC 3339).
    ///
    /// # Errors
    /// No such table or version.
    pub async fn open(
        &self,
        stream: &str,
        version: Option<i64>,
        as_of: Option<&str>,
    ) -> Result<DeltaTable> {
        let url = self.table_url(stream)?;
        let mut builder = DeltaTableBuilder::from_url(url)
            .map_err(self.err(stream, "opening"))?
            .with_storage_options(self.options.clone());
        let what = match (version, as_of) {
            (Some(v), _) => {
                let v = u64::try_from(v)
                    .map_err(|_| Error::config("--version", format!("{v}: versions start at 0")))?;
                builder = builder.with_version(v);
                format!("opening at version {v}")
            }
            (None, Some(ts)) => {
                builder = builder
                    .with_datestring(ts)
                    .map_err(|e| Error::config("--as-of", format!("{ts}: {e}")))?;
                format!("opening as of {ts}")
            }
            (None, None) => "opening".to_owned(),
        };
        builder.load().await.map_err(self.err(stream, &what))
    }

    /// Whether `stream` has a table (a `_delta_log` with entries) here.
    ///
    /// # Errors
    /// The storage cannot be listed.
    pub async fn has_table(&self, stream: &str) -> Result<bool> {
        match &self.location {
            Location::Local(root) => Ok(root.join(stream).join("_delta_log").is_dir()),
            Location::Remote(_) => {
                let log = self.table_path(stream)?.join("_delta_log");
                let mut entries = self.object_store()?.list(Some(&log));
                Ok(entries
                    .try_next()
                    .await
                    .map_err(|e| Error::external(format!("listing {log}"), e))?
                    .is_some())
            }
        }
    }

    /// The streams that have a table here, sorted.
    ///
    /// # Errors
    /// The folder or prefix cannot be listed.
    pub async fn list_tables(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        match &self.location {
            Location::Local(root) => {
                let entries = std::fs::read_dir(root).map_err(|e| Error::io(root, e))?;
                for e in entries.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if !name.starts_with(['_', '.']) && e.path().join("_delta_log").is_dir() {
                        names.push(name);
                    }
                }
            }
            Location::Remote(url) => {
                let store = self.object_store()?;
                let prefix = object_store::path::Path::from_url_path(url.path())
                    .map_err(|e| Error::external(self.describe(), e))?;
                let listing = store
                    .list_with_delimiter(Some(&prefix))
                    .await
                    .map_err(|e| Error::external(format!("listing {}", self.describe()), e))?;
                for dir in listing.common_prefixes {
                    let Some(name) = dir.filename().map(str::to_owned) else {
                        continue;
                    };
                    if name.starts_with(['_', '.']) {
                        continue;
                    }
                    let log = dir.clone().join("_delta_log");
                    let mut entries = store.list(Some(&log));
                    if entries
                        .try_next()
                        .await
                        .map_err(|e| Error::external(format!("listing {log}"), e))?
                        .is_some()
                    {
                        names.push(name);
                    }
                }
            }
        }
        names.sort();
        Ok(names)
    }

    /// The table of `stream` as a path in [`Store::object_store`].
    ///
    /// # Errors
    /// A stream name that does not make a path.
    pub fn table_path(&self, stream: &str) -> Result<object_store::path::Path> {
        let url = self.table_url(stream)?;
        object_store::path::Path::from_url_path(url.path())
            .map_err(|e| Error::external(format!("{stream}: table path"), e))
    }

    /// The object store at the root of this store's bucket or file system.
    ///
    /// # Errors
    /// Invalid storage options.
    pub fn object_store(&self) -> Result<ObjectStoreRef> {
        let url = match &self.location {
            Location::Local(_) => Url::parse("file:///").expect("a valid URL"),
            Location::Remote(u) => {
                let mut root = u.clone();
                root.set_path("/");
                root
            }
        };
        deltalake_core::logstore::store_for(&url, self.options.clone())
            .map_err(|e| Error::external(format!("connecting to {}", self.describe()), e))
    }

    fn err(&self, stream: &str, what: &str) -> impl FnOnce(DeltaTableError) -> Error + use<> {
        let context = format!("{what} the Delta table of {stream} in {}", self.describe());
        move |e| Error::external(context, e)
    }
}

/// A URL without user info or query (where credentials hide).
pub fn redact_url(text: &str) -> String {
    match Url::parse(text) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.to_string()
        }
        Err(_) => text.to_owned(),
    }
}

/// Makes Delta reach the cloud schemes through `object_store`, with credentials from
/// the environment unless the options override them.
fn register_cloud_stores() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for scheme in CLOUD_SCHEMES {
            let url = Url::parse(&format!("{scheme}://")).expect("a valid scheme URL");
            object_store_factories().insert(url.clone(), Arc::new(CloudStores));
            logstore_factories().insert(url, Arc::new(CloudLogs));
        }
    });
}

struct CloudStores;

impl ObjectStoreFactory for CloudStores {
    fn parse_url_opts(
        &self,
        url: &Url,
        config: &StorageConfig,
    ) -> DeltaResult<(ObjectStoreRef, object_store::path::Path)> {
        let mut options: Vec<(String, String)> = Vec::new();
        // The environment first, then the job's options over it.
        let prefix = match url.scheme() {
            "s3" | "s3a" => "AWS_",
            "gs" => "GOOGLE_",
            _ => "AZURE_",
        };
        for (k, v) in std::env::vars() {
            if k.starts_with(prefix) {
                options.push((k.to_ascii_lowercase(), v));
            }
        }
        options.extend(
            config
                .raw
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone())),
        );
        let (store, path) = object_store::parse_url_opts(url, options)?;
        Ok((Arc::from(store), path))
    }
}

struct CloudLogs;

impl LogStoreFactory for CloudLogs {
    fn with_options(
        &self,
        prefixed_store: ObjectStoreRef,
        root_store: ObjectStoreRef,
        location: &Url,
        options: &StorageConfig,
    ) -> DeltaResult<Arc<dyn LogStore>> {
        // Commits are conditional puts (`If-None-Match: *`), which S3, GCS and Azure
        // honour, so no external lock is needed.
        Ok(default_logstore(
            prefixed_store,
            root_store,
            location,
            options,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_tables_sit_below_the_prefix() {
        let s = Store::new("s3://bucket/erp/nightly", &BTreeMap::new(), false).unwrap();
        assert_eq!(
            s.table_url("public.sale_order").unwrap().as_str(),
            "s3://bucket/erp/nightly/public.sale_order/"
        );
        assert_eq!(s.describe(), "s3://bucket/erp/nightly/");
    }

    #[test]
    fn unknown_schemes_are_refused_without_credentials_in_the_message() {
        let err = Store::new("ftp://user:hunter2@host/x", &BTreeMap::new(), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown storage scheme ftp://"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn local_folders_are_made_absolute() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::new(
            dir.path().join("b").to_str().unwrap(),
            &BTreeMap::new(),
            true,
        )
        .unwrap();
        let url = s.table_url("items").unwrap();
        assert!(url.as_str().starts_with("file:///"), "{url}");
        assert!(url.as_str().ends_with("/b/items/"), "{url}");
    }
}
