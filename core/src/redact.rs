//! Keeping secrets out of logs, errors and reports.

use std::fmt;

/// A secret value whose `Debug` and `Display` never show it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Removes the password from a URL-like spec: `postgres://u:pw@h/db` → `postgres://u:***@h/db`.
/// Works on strings that are not valid URLs too (it only looks at `scheme://userinfo@`).
pub fn redact_spec(spec: &str) -> String {
    let Some(scheme_end) = spec.find("://") else {
        return spec.to_owned();
    };
    let rest = &spec[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return spec.to_owned();
    };
    let userinfo = &authority[..at];
    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
    let redacted = if userinfo.contains(':') {
        format!("{user}:***")
    } else {
        user.to_owned()
    };
    format!("{}://{}{}", &spec[..scheme_end], redacted, &rest[at..])
}

/// Replaces every occurrence of each secret in `text` with `***`.
pub fn scrub(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_owned();
    for s in secrets {
        if s.0.len() >= 3 {
            out = out.replace(&s.0, "***");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_leave_specs() {
        assert_eq!(
            redact_spec("postgres://u:s3cr@t@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact_spec("odoo+https://admin@h/db"),
            "odoo+https://admin@h/db"
        );
        assert_eq!(redact_spec("./exports"), "./exports");
        assert_eq!(format!("{:?}", Secret::new("k")), "Secret(***)");
        assert_eq!(scrub("key=abcdef!", &[&Secret::new("abcdef")]), "key=***!");
    }
}
