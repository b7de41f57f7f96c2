//! Load definitions: `mappings/<target>/load/<entity>.toml`, one per canonical entity
//! a target receives, editable without recompiling (a `--mappings` folder overrides
//! them like any mapping file).
//!
//! ```toml
//! entity = "party"             # canonical table read
//! model = "party.party"        # target model written
//! lookup = "code"              # target field searched for keys before creating
//! deferred = ["active"]        # written right after creation, not with it
//! sql = """
//! SELECT id AS key, name, COALESCE(code, id) AS code FROM party
//! """
//!
//! [[children]]                 # created in the same call as their parent
//! entity = "address"
//! field = "addresses"          # the parent's one-to-many field
//! sql = "SELECT id AS key, party_id AS parent, street, city FROM address"
//!
//! [sums]                       # reconciliation: canonical column = target field
//! ```
//!
//! The SQL (DataFusion, over the canonical tables) gives one row per record: `key`
//! (the canonical id), then one column per target field. A column's name says how its
//! value is sent:
//!
//! | column name | value sent |
//! | --- | --- |
//! | `field` | the value (decimals exact, dates, text, booleans) |
//! | `field:ref:ENTITY` | the target id the ID map holds for that canonical key of ENTITY |
//! | `field:find:MODEL:FIELD2` | the id of the target's MODEL record whose FIELD2 equals the value |
//! | `field:json` | the text parsed as JSON and passed through |
//!
//! Entities are loaded in dependency order, derived from the `:ref:` columns.

use std::collections::{BTreeMap, BTreeSet};

use ferry_core::{Error, Result};
use ferry_model::Library;
use serde::Deserialize;

/// One `load/<entity>.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadDef {
    /// The canonical entity.
    pub entity: String,
    /// The target model.
    pub model: String,
    /// Target field that carries a record's key, searched before creating.
    #[serde(default)]
    pub lookup: Option<String>,
    /// When the entity's id is not the created record's: the one-to-many field whose
    /// first id is (a Tryton product template creates its variant).
    #[serde(default)]
    pub id_from: Option<String>,
    /// The query over canonical tables.
    pub sql: String,
    /// Fields written right after creation rather than with it (a Tryton party's
    /// code cannot be set on an archived party, so `active` comes second).
    #[serde(default)]
    pub deferred: Vec<String>,
    /// Canonical column = target field, summed over loaded records when reconciling.
    #[serde(default)]
    pub sums: BTreeMap<String, String>,
    /// Records created inside each parent record.
    #[serde(default)]
    pub children: Vec<ChildDef>,
    /// What this definition is for (documentation only).
    #[serde(default)]
    pub description: Option<String>,
    /// Where the definition came from (set when loading).
    #[serde(skip)]
    pub origin: String,
}

/// Records created with their parent (lines, addresses).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildDef {
    /// The canonical entity of the children.
    pub entity: String,
    /// The parent's one-to-many field.
    pub field: String,
    /// The children's target model (for reads and writes).
    pub model: String,
    /// The query; it also gives `parent`, the parent's canonical key.
    pub sql: String,
    /// As for the parent.
    #[serde(default)]
    pub sums: BTreeMap<String, String>,
}

/// How a column's value is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnRole {
    /// The record's key.
    Key,
    /// The parent's key (children only).
    Parent,
    /// A plain value for `field`.
    Value(String),
    /// A canonical key of `entity`, sent as its target id.
    Ref {
        /// Target field.
        field: String,
        /// Canonical entity referred to.
        entity: String,
    },
    /// A value looked up on the target.
    Find {
        /// Target field.
        field: String,
        /// Model searched.
        model: String,
        /// Field compared.
        by: String,
    },
    /// JSON passed through.
    Json(String),
}

impl ColumnRole {
    /// Reads a column name.
    ///
    /// # Errors
    /// An unknown form (`a:b:c` that is none of the above).
    pub fn parse(name: &str) -> std::result::Result<ColumnRole, String> {
        let parts: Vec<&str> = name.split(':').collect();
        Ok(match parts.as_slice() {
            ["key"] => ColumnRole::Key,
            ["parent"] => ColumnRole::Parent,
            [f] => ColumnRole::Value((*f).to_owned()),
            [f, "ref", e] => ColumnRole::Ref {
                field: (*f).to_owned(),
                entity: (*e).to_owned(),
            },
            [f, "find", m, by] => ColumnRole::Find {
                field: (*f).to_owned(),
                model: (*m).to_owned(),
                by: (*by).to_owned(),
            },
            [f, "json"] => ColumnRole::Json((*f).to_owned()),
            _ => {
                return Err(format!(
                    "column {name:?}: expected FIELD, FIELD:ref:ENTITY, FIELD:find:MODEL:FIELD or FIELD:json"
                ));
            }
        })
    }

    /// The target field the column fills, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ColumnRole::Value(f)
            | ColumnRole::Json(f)
            | ColumnRole::Ref { field: f, .. }
            | ColumnRole::Find { field: f, .. } => Some(f),
            _ => None,
        }
    }
}

/// Entities referred to by `:ref:` in a query's column names.
pub fn refs_in(columns: &[String]) -> BTreeSet<String> {
    columns
        .iter()
        .filter_map(|c| match ColumnRole::parse(c) {
            Ok(ColumnRole::Ref { entity, .. }) => Some(entity),
            _ => None,
        })
        .collect()
}

/// The load definitions of `target` in the library.
///
/// # Errors
/// None for that target, or a file that does not parse.
pub fn load_defs(library: &Library, target: &str) -> Result<Vec<LoadDef>> {
    let prefix = format!("{target}/load/");
    let mut defs = Vec::new();
    for rel in library.paths() {
        let Some(name) = rel
            .strip_prefix(&prefix)
            .and_then(|n| n.strip_suffix(".toml"))
        else {
            continue;
        };
        let file = library.file(rel).expect("listed");
        let mut def: LoadDef = toml::from_str(&file.text)
            .map_err(|e| Error::config(&file.origin, e.to_string().trim().to_owned()))?;
        if def.entity != name {
            return Err(Error::config(
                &file.origin,
                format!("entity {:?} in a file named {name}.toml", def.entity),
            ));
        }
        def.origin = file.origin.clone();
        defs.push(def);
    }
    if defs.is_empty() {
        return Err(Error::config(
            "target",
            format!("no load definitions for {target:?} (mappings/{target}/load/*.toml)"),
        ));
    }
    Ok(defs)
}

/// Orders definitions so every `:ref:` target comes first.
///
/// # Errors
/// A cycle, or a reference to an entity no definition loads.
pub fn order(
    defs: Vec<LoadDef>,
    refs: &BTreeMap<String, BTreeSet<String>>,
) -> Result<Vec<LoadDef>> {
    let loaded: BTreeSet<String> = defs
        .iter()
        .flat_map(|d| {
            std::iter::once(d.entity.clone()).chain(d.children.iter().map(|c| c.entity.clone()))
        })
        .collect();
    for d in &defs {
        for r in refs.get(&d.entity).into_iter().flatten() {
            if !loaded.contains(r) {
                return Err(Error::config(
                    &d.origin,
                    format!("refers to {r:?}, which no load definition loads"),
                ));
            }
        }
    }
    // The entity that loads each (children are loaded by their parent's definition).
    let owner: BTreeMap<String, String> = defs
        .iter()
        .flat_map(|d| {
            std::iter::once((d.entity.clone(), d.entity.clone())).chain(
                d.children
                    .iter()
                    .map(|c| (c.entity.clone(), d.entity.clone())),
            )
        })
        .collect();
    let mut pending: Vec<LoadDef> = defs;
    pending.sort_by(|a, b| a.entity.cmp(&b.entity));
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    while !pending.is_empty() {
        let ready = pending.iter().position(|d| {
            refs.get(&d.entity)
                .into_iter()
                .flatten()
                .map(|r| &owner[r])
                .all(|o| o == &d.entity || done.contains(o))
        });
        let Some(i) = ready else {
            let names: Vec<&str> = pending.iter().map(|d| d.entity.as_str()).collect();
            return Err(Error::config(
                "load definitions",
                format!("references form a cycle among {}", names.join(", ")),
            ));
        };
        let d = pending.remove(i);
        done.insert(d.entity.clone());
        out.push(d);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_say_how_values_are_sent() {
        assert_eq!(ColumnRole::parse("key").unwrap(), ColumnRole::Key);
        assert_eq!(
            ColumnRole::parse("party:ref:party").unwrap(),
            ColumnRole::Ref {
                field: "party".into(),
                entity: "party".into()
            }
        );
        assert_eq!(
            ColumnRole::parse("currency:find:currency.currency:code").unwrap(),
            ColumnRole::Find {
                field: "currency".into(),
                model: "currency.currency".into(),
                by: "code".into()
            }
        );
        assert!(ColumnRole::parse("a:b").unwrap_err().contains("\"a:b\""));
    }

    fn def(entity: &str) -> LoadDef {
        LoadDef {
            entity: entity.into(),
            model: entity.into(),
            lookup: None,
            id_from: None,
            sql: String::new(),
            deferred: Vec::new(),
            sums: BTreeMap::new(),
            children: Vec::new(),
            description: None,
            origin: format!("{entity}.toml"),
        }
    }

    #[test]
    fn references_load_first_and_cycles_are_named() {
        let mut refs = BTreeMap::new();
        refs.insert(
            "sale_order".to_owned(),
            BTreeSet::from(["party".to_owned()]),
        );
        refs.insert("party".to_owned(), BTreeSet::new());
        let order_ = order(vec![def("sale_order"), def("party")], &refs).unwrap();
        let names: Vec<_> = order_.iter().map(|d| d.entity.as_str()).collect();
        assert_eq!(names, ["party", "sale_order"]);

        refs.insert(
            "party".to_owned(),
            BTreeSet::from(["sale_order".to_owned()]),
        );
        let err = order(vec![def("sale_order"), def("party")], &refs).unwrap_err();
        assert!(err.to_string().contains("cycle"), "{err}");

        refs.insert("party".to_owned(), BTreeSet::from(["currency".to_owned()]));
        let err = order(vec![def("party")], &refs).unwrap_err();
        assert!(err.to_string().contains("party.toml"), "{err}");
    }
}
