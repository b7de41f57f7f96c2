//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// A `ferry` command with logs quiet and no colour.
pub fn ferry() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    cmd.env_remove("FERRY_LOG").env("NO_COLOR", "1");
    cmd
}

/// Runs `ferry ARGS`, returning the output; panics with stderr if it fails.
pub fn ferry_ok(args: &[&str]) -> Output {
    let out = ferry().args(args).output().expect("ferry runs");
    assert!(
        out.status.success(),
        "ferry {args:?} failed with {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Whether PostgreSQL answers at 127.0.0.1:5432; when it does not, tests skip, except
/// in CI, where they fail.
pub fn postgres_reachable() -> bool {
    let ok = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-XAtqc", "SELECT 1"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !mandatory(),
            "PostgreSQL at 127.0.0.1:5432 is required when CI is set"
        );
        eprintln!("PostgreSQL at 127.0.0.1:5432 is not reachable: skipping");
    }
    ok
}

/// Whether the services the tests need are mandatory (CI sets `CI`).
pub fn mandatory() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A Python interpreter with pyarrow and duckdb, in a virtualenv under the user's
/// cache folder (made once, reused). `None` when python3 is absent and not in CI.
pub fn python() -> Option<&'static Path> {
    static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let have_python = Command::new("python3")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success());
            if !have_python {
                assert!(
                    !mandatory(),
                    "python3 is required in CI for the reader tests"
                );
                eprintln!("python3 not found: skipping independent-reader checks");
                return None;
            }
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir);
            let venv = home.join(".cache/ferry-test-venv");
            let py = venv.join("bin/python");
            let ready = Command::new(&py)
                .args(["-c", "import pyarrow, duckdb"])
                .output()
                .is_ok_and(|o| o.status.success());
            if !ready {
                let ok = Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(&venv)
                    .status()
                    .is_ok_and(|s| s.success())
                    && Command::new(&py)
                        .args([
                            "-m",
                            "pip",
                            "install",
                            "--quiet",
                            "--disable-pip-version-check",
                            "pyarrow",
                            "duckdb",
                        ])
                        .status()
                        .is_ok_and(|s| s.success());
                if !ok {
                    assert!(
                        !mandatory(),
                        "could not install pyarrow and duckdb in {}",
                        venv.display()
                    );
                    eprintln!(
                        "could not install pyarrow/duckdb: skipping independent-reader checks"
                    );
                    return None;
                }
            }
            Some(py)
        })
        .as_deref()
}

/// Runs a Python script with the test virtualenv, returning its stdout.
pub fn run_python(script: &str, args: &[&str]) -> Option<String> {
    let py = python()?;
    let out = Command::new(py)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Decimal text without trailing zeros, for comparing amounts of different scales.
pub fn norm(decimal: &str) -> String {
    if decimal.contains('.') {
        decimal
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    } else {
        decimal.to_owned()
    }
}
