//! Turning driver errors into one clear [`ferry_core::Error`] line, without secrets.

use ferry_core::Error;
use ferry_core::redact::scrub;

use crate::config::Settings;

/// Server error codes after which a retry (or a resumed rerun) may succeed:
/// lock wait timeout, deadlock, connection killed, server shutting down, gone away,
/// lost connection, query interrupted.
const TRANSIENT_CODES: [u16; 8] = [1205, 1213, 1927, 1053, 2006, 2013, 1317, 3024];

/// The driver's message with the password removed and a hint for common refusals.
pub fn scrubbed(settings: &Settings, e: &mysql_async::Error) -> String {
    let text = match e {
        mysql_async::Error::Server(s) => {
            let hint = match s.code {
                1045 => " (check the user and password: URL, MYSQL_PWD or password_file)",
                1044 | 1142 | 1143 => " (the user lacks a privilege: GRANT SELECT on the database)",
                1049 => " (the database in the URL does not exist)",
                1146 => " (the table no longer exists; run `ferry discover` again)",
                1927 => " (the connection was killed; rerun to resume from the last checkpoint)",
                _ => "",
            };
            format!("{}{hint}", s.message)
        }
        mysql_async::Error::Io(io) => format!("cannot talk to the server: {io}"),
        mysql_async::Error::Driver(mysql_async::DriverError::ConnectionClosed) => {
            "the server closed the connection; rerun to resume from the last checkpoint".into()
        }
        other => other.to_string(),
    };
    scrub(&text, &[&settings.password])
}

/// Whether a driver error is worth retrying.
pub fn is_transient(e: &mysql_async::Error) -> bool {
    match e {
        mysql_async::Error::Io(_) => true,
        mysql_async::Error::Driver(mysql_async::DriverError::ConnectionClosed) => true,
        mysql_async::Error::Server(s) => TRANSIENT_CODES.contains(&s.code),
        _ => false,
    }
}

/// A [`Error::Remote`] naming the server and the endpoint (table, `connect`, …).
pub fn remote(settings: &Settings, endpoint: &str, e: mysql_async::Error) -> Error {
    Error::Remote {
        system: settings.system.clone(),
        endpoint: endpoint.to_owned(),
        message: scrubbed(settings, &e),
        transient: is_transient(&e),
    }
}
