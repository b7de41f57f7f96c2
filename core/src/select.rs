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

/// Sets the incremental cursor column of streams from `(pattern, column)` pairs,
/// where the pattern is a stream name or glob (`*` for every stream). A stream that
/// lacks the column is an error unless the pattern is a glob, which then skips it.
///
/// # Errors
/// A named stream without the column, a bad glob, or a pattern matching no stream.
pub fn apply_cursors(streams: &mut [StreamSpec], cursors: &[(String, String)]) -> Result<()> {
    for (pattern, column) in cursors {
        let sel = Selection::new([pattern.as_str()])?;
        let is_glob = pattern.contains(['*', '?', '[']);
        let mut hit = false;
        for s in streams.iter_mut().filter(|s| sel.matches(&s.name)) {
            if s.schema.field_with_name(column).is_ok() {
                s.cursor_field = Some(column.clone());
                hit = true;
            } else if !is_glob {
                return Err(Error::config(
                    "--cursor",
                    format!("stream {:?} has no column {column:?}", s.name),
                ));
            }
        }
        if !hit {
            return Err(Error::config(
                "--cursor",
                format!("no selected stream matches {pattern:?} with a column {column:?}"),
            ));
        }
    }
    Ok(())
}

/// Parses `--cursor` values: `STREAM=COLUMN`, or `COLUMN` alone for every stream that has it.
pub fn parse_cursor_flags(values: &[String]) -> Vec<(String, String)> {
    values
        .iter()
        .map(|v| match v.split_once('=') {
            Some((stream, column)) => (stream.trim().to_owned(), column.trim().to_owned()),
            None => ("*".to_owned(), v.trim().to_owned()),
        })
        .collect()
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
    fn cursors_attach_to_streams_with_the_column() {
        use arrow_schema::{DataType, Field};
        let with = Arc::new(Schema::new(vec![Field::new(
            "write_date",
            DataType::Utf8,
            true,
        )]));
        let mut streams = vec![StreamSpec::new("a", with), spec("b")];
        apply_cursors(&mut streams, &parse_cursor_flags(&["write_date".into()])).unwrap();
        assert_eq!(streams[0].cursor_field.as_deref(), Some("write_date"));
        assert_eq!(streams[1].cursor_field, None);
        let err =
            apply_cursors(&mut streams, &parse_cursor_flags(&["b=write_date".into()])).unwrap_err();
        assert!(err.to_string().contains("has no column"), "{err}");
    }

    #[test]
    fn a_pattern_matching_nothing_is_an_error() {
        let sel = Selection::new(["nope"]).unwrap();
        let err = sel.apply(vec![spec("a")]).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
