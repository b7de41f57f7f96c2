//! The description file format.

use std::collections::BTreeMap;

use ferry_core::{Error, Result};
use serde::Deserialize;

/// A system's description (YAML).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Description {
    /// Name used in errors, e.g. `dolibarr`.
    pub system: String,
    /// How to authenticate.
    #[serde(default)]
    pub auth: AuthSpec,
    /// Default pagination of every stream.
    pub pagination: Pagination,
    /// JSON pointer to the records in a page (`/data`); empty = the body.
    #[serde(default)]
    pub records: String,
    /// Query parameters of every request.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Default primary key.
    #[serde(default)]
    pub primary_key: Vec<String>,
    /// Incremental reads.
    #[serde(default)]
    pub incremental: Option<Incremental>,
    /// Type hints by column name.
    #[serde(default)]
    pub types: BTreeMap<String, String>,
    /// The streams.
    pub streams: Vec<StreamDef>,
}

/// Authentication kinds a description can ask for; the secret comes from the config.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum AuthSpec {
    /// None.
    #[default]
    None,
    /// A header holding `prefix` + the key.
    Header {
        /// Header name.
        header: String,
        /// Text before the key (`token `).
        #[serde(default)]
        prefix: String,
    },
    /// Bearer token.
    Bearer,
    /// Basic with the URL's user and the secret.
    Basic,
}

/// How pages follow each other.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum Pagination {
    /// `offset_param` = rows skipped, `size_param` = rows per page.
    Offset {
        /// Offset parameter.
        offset_param: String,
        /// Page size parameter.
        size_param: String,
        /// Rows per page.
        size: u64,
        /// Statuses that mean "no more pages".
        #[serde(default)]
        end_status: Vec<u16>,
    },
    /// `page_param` = page number from `first`.
    Page {
        /// Page number parameter.
        page_param: String,
        /// Page size parameter.
        size_param: String,
        /// Rows per page.
        size: u64,
        /// First page number.
        #[serde(default)]
        first: u64,
        /// Statuses that mean "no more pages".
        #[serde(default)]
        end_status: Vec<u16>,
    },
    /// A cursor from the body (JSON pointer) sent back as `param`.
    Cursor {
        /// Query parameter carrying the cursor.
        param: String,
        /// JSON pointer to the next cursor in the body.
        pointer: String,
    },
    /// The next page's URL in the body (JSON pointer).
    NextUrl {
        /// JSON pointer to the URL.
        pointer: String,
    },
    /// The `Link: <…>; rel="next"` header.
    LinkHeader,
    /// One request.
    None,
}

/// Incremental reads: a query parameter built from the saved mark.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incremental {
    /// Query parameter.
    pub param: String,
    /// Its value, with `{since}` replaced by the mark.
    pub template: String,
    /// Record field whose largest value becomes the mark.
    pub field: String,
}

/// One stream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamDef {
    /// Stream name.
    pub name: String,
    /// Path below the base URL.
    pub path: String,
    /// Extra query parameters.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Record selector override.
    #[serde(default)]
    pub records: Option<String>,
    /// Primary key override.
    #[serde(default)]
    pub primary_key: Option<Vec<String>>,
    /// Array fields that become child streams.
    #[serde(default)]
    pub children: Vec<String>,
}

/// A shipped description by name.
pub fn builtin(name: &str) -> Option<&'static str> {
    match name {
        "dolibarr" => Some(include_str!("../systems/dolibarr.yaml")),
        "erpnext" => Some(include_str!("../systems/erpnext.yaml")),
        _ => None,
    }
}

/// Parses a description.
///
/// # Errors
/// Not valid YAML or not a description; the message names `origin`.
pub fn parse(text: &str, origin: &str) -> Result<Description> {
    serde_yaml::from_str(text).map_err(|e| Error::config(origin, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_descriptions_parse() {
        for name in ["dolibarr", "erpnext"] {
            let d = parse(builtin(name).unwrap(), name).unwrap();
            assert_eq!(d.system, name);
            assert!(d.streams.len() >= 8);
        }
        assert!(parse("system: x\nstreams: []\npagination: {kind: bogus}", "t").is_err());
    }
}
