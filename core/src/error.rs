//! Typed errors of the ferry libraries.
//!
//! Each variant says who is at fault and carries what a person needs to act: the
//! configuration key, the file/line/column of bad input, or the remote system and
//! endpoint that failed. The CLI renders the whole chain once, with `{:#}`.

use std::fmt;
use std::path::PathBuf;

/// Result alias used throughout ferry's libraries.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where in the input a problem was found. Every part is optional; the display
/// shows the parts that are known, e.g. `orders.csv:12:3 (column "amount", byte 4410)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// File, table or endpoint the data came from.
    pub file: Option<String>,
    /// 1-based line number.
    pub line: Option<u64>,
    /// 1-based column (field) number.
    pub column: Option<u64>,
    /// Column name, when known.
    pub column_name: Option<String>,
    /// Byte offset from the start of the input.
    pub byte: Option<u64>,
}

impl Location {
    /// A location naming only a file or object.
    pub fn file(file: impl Into<String>) -> Self {
        Location {
            file: Some(file.into()),
            ..Default::default()
        }
    }

    /// Adds a 1-based line number.
    pub fn line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }

    /// Adds a 1-based column number and, when known, its name.
    pub fn column(mut self, column: u64, name: Option<&str>) -> Self {
        self.column = Some(column);
        self.column_name = name.map(str::to_owned);
        self
    }

    /// Adds a byte offset.
    pub fn byte(mut self, byte: u64) -> Self {
        self.byte = Some(byte);
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file.as_deref().unwrap_or("<input>"))?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        let mut extra = Vec::new();
        if let Some(name) = &self.column_name {
            extra.push(format!("column {name:?}"));
        } else if self.line.is_none()
            && let Some(col) = self.column
        {
            extra.push(format!("column {col}"));
        }
        if let Some(byte) = self.byte {
            extra.push(format!("byte {byte}"));
        }
        if !extra.is_empty() {
            write!(f, " ({})", extra.join(", "))?;
        }
        Ok(())
    }
}

/// The error type of ferry's libraries.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A job file, flag or source spec is wrong. `origin` names where it came from
    /// (a file and key, or a flag).
    #[error("invalid configuration ({origin}): {message}")]
    Config {
        /// File, section or flag holding the bad value.
        origin: String,
        /// What is wrong and, where possible, what would be right.
        message: String,
    },

    /// Reading or writing a local path failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// Input data is malformed at a known place.
    #[error("{location}: {message}")]
    Data {
        /// Where the bad data is.
        location: Location,
        /// What is wrong with it.
        message: String,
    },

    /// A remote system (database, ERP API) failed or refused a request.
    #[error("{system} {endpoint}: {message}")]
    Remote {
        /// The system, e.g. `postgres 127.0.0.1:5432` or `odoo erp.example.com`.
        system: String,
        /// The endpoint, table or request that failed.
        endpoint: String,
        /// The system's own message, with secrets removed.
        message: String,
        /// Whether retrying later may succeed (timeouts, dropped connections, 429, 5xx).
        transient: bool,
    },

    /// No registered connector understands a source or sink spec.
    #[error("no connector understands {spec:?}; known kinds: {known}")]
    UnknownSpec {
        /// The spec as given (secrets removed).
        spec: String,
        /// The kinds that are registered.
        known: String,
    },

    /// A stream named by the user does not exist in the source.
    #[error("no stream matches {pattern:?}; available: {available}")]
    StreamNotFound {
        /// The name or glob the user gave.
        pattern: String,
        /// Some of the stream names that exist.
        available: String,
    },

    /// The schema found now differs from the one a stream was written with.
    #[error("stream {stream:?}: {message}")]
    Schema {
        /// The stream concerned.
        stream: String,
        /// What differs.
        message: String,
    },

    /// An Arrow computation failed.
    #[error(transparent)]
    Arrow(#[from] arrow_schema::ArrowError),

    /// Any other error, with the context it happened in.
    #[error("{context}: {source}")]
    External {
        /// What ferry was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// A configuration error.
    pub fn config(origin: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            origin: origin.into(),
            message: message.into(),
        }
    }

    /// A bad-data error at `location`.
    pub fn data(location: Location, message: impl Into<String>) -> Self {
        Error::Data {
            location,
            message: message.into(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Wraps any error with what ferry was doing.
    pub fn external(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::External {
            context: context.into(),
            source: source.into(),
        }
    }

    /// Whether the error is worth retrying (a transient remote failure).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Remote {
                transient: true,
                ..
            }
        )
    }

    /// Whether the user can fix it by changing flags or configuration (exit code 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Error::Config { .. } | Error::UnknownSpec { .. } | Error::StreamNotFound { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_display_names_every_known_part() {
        let loc = Location::file("orders.csv")
            .line(12)
            .column(3, Some("amount"))
            .byte(4410);
        assert_eq!(
            loc.to_string(),
            r#"orders.csv:12:3 (column "amount", byte 4410)"#
        );
        assert_eq!(
            Location::file("x.sql").byte(7).to_string(),
            "x.sql (byte 7)"
        );
    }
}
