//! The mapping files: built in from the repository's `mappings/` folder, with a
//! user's folder laid over them at run time.
//!
//! Layout (same in both): `canonical/<entity>.toml` defines an entity,
//! `<vendor>/<entity>.sql` maps a vendor's raw tables to it. A user file at the same
//! relative path replaces the built-in one; a new path adds a file — a new vendor, a
//! new entity mapping, or a changed definition — without recompiling ferry.

use std::collections::BTreeMap;
use std::path::Path;

use crate::ModelError;
use crate::model::{EntityDef, Model};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// One mapping or definition file.
#[derive(Debug, Clone)]
pub struct LibraryFile {
    /// Where it came from, for messages: `mappings/odoo/party.sql (built in)` or a path.
    pub origin: String,
    /// Its text.
    pub text: String,
}

/// The set of mapping files in effect.
#[derive(Debug, Clone)]
pub struct Library {
    files: BTreeMap<String, LibraryFile>,
}

impl Library {
    /// The built-in files only.
    pub fn built_in() -> Library {
        let files = embedded::EMBEDDED
            .iter()
            .map(|(rel, text)| {
                (
                    (*rel).to_owned(),
                    LibraryFile {
                        origin: format!("mappings/{rel} (built in)"),
                        text: (*text).to_owned(),
                    },
                )
            })
            .collect();
        Library { files }
    }

    /// The built-in files with the `.sql` and `.toml` files under `dir` laid over them.
    ///
    /// # Errors
    /// `dir` or a file in it cannot be read.
    pub fn with_overrides(dir: &Path) -> Result<Library, ModelError> {
        let mut lib = Library::built_in();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let io = |e| ModelError::Io {
                path: d.clone(),
                source: e,
            };
            for entry in std::fs::read_dir(&d).map_err(io)? {
                let path = entry.map_err(io)?.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if !matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("sql" | "toml")
                ) {
                    continue;
                }
                let text = std::fs::read_to_string(&path).map_err(|e| ModelError::Io {
                    path: path.clone(),
                    source: e,
                })?;
                let rel = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                lib.files.insert(
                    rel,
                    LibraryFile {
                        origin: path.display().to_string(),
                        text,
                    },
                );
            }
        }
        Ok(lib)
    }

    /// Relative paths of every file, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// A file by relative path.
    pub fn file(&self, rel: &str) -> Option<&LibraryFile> {
        self.files.get(rel)
    }

    /// The canonical model defined by `canonical/*.toml`.
    ///
    /// # Errors
    /// A definition does not parse or is inconsistent.
    pub fn model(&self) -> Result<Model, ModelError> {
        let mut model = Model::default();
        for (rel, file) in &self.files {
            let Some(name) = rel
                .strip_prefix("canonical/")
                .and_then(|n| n.strip_suffix(".toml"))
            else {
                continue;
            };
            let def = EntityDef::parse(&file.text, &file.origin)?;
            if def.entity != name {
                return Err(ModelError::file(
                    &file.origin,
                    format!("entity {:?} in a file named {name}.toml", def.entity),
                ));
            }
            model.entities.insert(def.entity.clone(), def);
        }
        model.validate()?;
        Ok(model)
    }

    /// Vendors that have at least one mapping (`<vendor>/<entity>.sql`).
    pub fn vendors(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .files
            .keys()
            .filter_map(|rel| {
                let (vendor, file) = rel.split_once('/')?;
                (vendor != "canonical" && !file.contains('/') && file.ends_with(".sql"))
                    .then(|| vendor.to_owned())
            })
            .collect();
        out.dedup();
        out
    }

    /// The mapping of `entity` for `vendor`, if there is one.
    pub fn mapping(&self, vendor: &str, entity: &str) -> Option<&LibraryFile> {
        self.files.get(&format!("{vendor}/{entity}.sql"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_model_is_consistent() {
        let model = Library::built_in().model().unwrap();
        for e in [
            "party",
            "product",
            "sale_order",
            "invoice_line",
            "journal_line",
        ] {
            assert!(model.entities.contains_key(e), "{e}");
        }
        let order = model.dependency_order();
        let pos = |n: &str| order.iter().position(|e| e.entity == n).unwrap();
        assert!(pos("party") < pos("sale_order"));
        assert!(pos("sale_order") < pos("sale_order_line"));
    }

    #[test]
    fn a_user_file_replaces_the_built_in_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("acme")).unwrap();
        std::fs::write(dir.path().join("acme/party.sql"), "SELECT 1").unwrap();
        let lib = Library::with_overrides(dir.path()).unwrap();
        assert!(lib.vendors().contains(&"acme".to_owned()));
        let f = lib.mapping("acme", "party").unwrap();
        assert_eq!(f.text, "SELECT 1");
        assert!(f.origin.ends_with("acme/party.sql"));
    }
}
