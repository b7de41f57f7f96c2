//! Choosing streams by name or glob (`--streams public.*,res_partner`).

use globset::{Glob, GlobMatcher};

use crate::{Error, Result, StreamSpec};

/// A list of names or globs. An empty selection selects every stream.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    patterns: Vec<(String, GlobMatcher)>,
}

impl Selection {
    /// Parses patterns such as `orders`, `public.*`, `sale_*`.
    ///
    /// # Errors
    /// A pattern that is not a valid glob.
    pub fn new<I, S>(patterns: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out = Vec::new();
        for pattern in patterns {
            let pattern = pattern.as_ref().trim();
            if pattern.is_empty() {
                continue;
            }
            let glob = Glob::new(pattern)
                .map_err(|e| Error::config("--streams", format!("bad pattern {pattern:?}: {e}")))?;
            out.push((pattern.to_owned(), glob.compile_matcher()));
        }
        Ok(Selection { patterns: out })
    }

    /// Whether no pattern was given (everything is selected).
    pub fn is_all(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `name` is selected. A stream `schema.table` is also selected by `table`.
    pub fn matches(&self, name: &str) -> bool {
        if self.is_all() {
            return true;
        }
        let short = name.rsplit_once('.').map(|(_, t)| t);
        self.patterns
            .iter()
            .any(|(_, m)| m.is_match(name) || short.is_some_and(|s| m.is_match(s)))
    }

    /// Keeps the selected streams, in their order. Every pattern must match at least
    /// one stream, so a typo is an error rather than an empty run.
    ///
    /// # Errors
    /// [`Error::StreamNotFound`] for a pattern that matches nothing.
    pub fn apply(&self, streams: Vec<StreamSpec>) -> Result<Vec<StreamSpec>> {
        for (pattern, matcher) in &self.patterns {
            let hit = streams.iter().any(|s| {
                matcher.is_match(&s.name)
                    || s.name
                        .rsplit_once('.')
                        .is_some_and(|(_, t)| matcher.is_match(t))
            });
            if !hit {
                let mut names: Vec<&str> =
                    streams.iter().map(|s| s.name.as_str()).take(12).collect();
                if streams.len() > 12 {
                    names.push("...");
                }
                return Err(Error::StreamNotFound {
                    pattern: pattern.clone(),
                    available: if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    },
                });
            }
        }
        Ok(streams
            .into_iter()
            .filter(|s| self.matches(&s.name))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::Schema;
    use std::sync::Arc;

    fn spec(name: &str) -> StreamSpec {
        StreamSpec::new(name, Arc::new(Schema::empty()))
    }

    #[test]
    fn globs_and_short_names_select() {
        let sel = Selection::new(["public.sale_*", "res_partner"]).unwrap();
        let kept = sel
            .apply(vec![
                spec("public.sale_order"),
                spec("public.res_partner"),
                spec("public.x"),
            ])
            .unwrap();
        let names: Vec<_> = kept.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["public.sale_order", "public.res_partner"]);
    }

    #[test]
    fn a_pattern_matching_nothing_is_an_error() {
        let sel = Selection::new(["nope"]).unwrap();
        let err = sel.apply(vec![spec("a")]).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
