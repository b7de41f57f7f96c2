//! The `ferry` command: take your data out of the ERP you rent.
//!
//! This binary is glue: it parses flags ([`args`]), builds connectors through the
//! registry ([`connectors`]) and runs one command ([`commands`]). Errors are printed
//! once, with their causes, and mapped to exit codes:
//! 0 success, 1 failure (some stream or query failed), 2 usage or configuration error,
//! 130 interrupted.

/// `println!` that ends the process quietly when stdout is closed early
/// (`ferry discover … | head`) instead of panicking, as a broken pipe ends any
/// other command's output.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            $crate::stdout_failed(e);
        }
    }};
}

mod args;
mod commands;
mod connectors;
mod progress;
mod render;

use std::process::ExitCode;

use clap::Parser;

/// Exit code for a failed run.
const EXIT_FAILURE: u8 = 1;
/// Exit code for bad flags, specs or configuration.
const EXIT_USAGE: u8 = 2;
/// Exit code after Ctrl-C.
const EXIT_INTERRUPTED: u8 = 130;

/// An error with the exit code it should produce.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    error: Option<anyhow::Error>,
}

impl Failure {
    /// Exit non-zero without printing anything more (the command already reported).
    pub fn quiet(code: u8) -> Self {
        Failure { code, error: None }
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        let error: anyhow::Error = e.into();
        let usage = error.chain().any(|c| {
            c.downcast_ref::<ferry_core::Error>()
                .is_some_and(ferry_core::Error::is_usage)
        });
        Failure {
            code: if usage { EXIT_USAGE } else { EXIT_FAILURE },
            error: Some(error),
        }
    }
}

/// glibc gives each thread that allocates its own heap ("arena", up to eight per
/// core) and returns little of it to the system: with encoder and reader threads
/// beside the async workers, peak RSS grew by a quarter for the same work. Two arenas
/// keep a run's memory at what it holds (as `MALLOC_ARENA_MAX=2` would), and the
/// environment variable still wins when set.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; it runs before any other
        // thread exists, as glibc requires for M_ARENA_MAX.
        #[allow(unsafe_code)]
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = args::Cli::parse();
    init_tracing(cli.global.verbose, cli.global.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferry: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let result = runtime.block_on(async {
        tokio::select! {
            r = commands::run(cli) => r,
            _ = tokio::signal::ctrl_c() => {
                eprintln!("ferry: interrupted; a rerun resumes where this one stopped");
                Err(Failure::quiet(EXIT_INTERRUPTED))
            }
        }
    });
    // Do not wait for blocking readers still running after an error or Ctrl-C.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if let Some(e) = failure.error {
                if is_broken_pipe(&e) {
                    return ExitCode::SUCCESS;
                }
                eprintln!("ferry: error: {}", render::error_text(&e));
            }
            ExitCode::from(failure.code)
        }
    }
}

/// Ends the process after a failed write to stdout: silently for a closed pipe.
pub fn stdout_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("ferry: error: writing to stdout: {e}");
    std::process::exit(i32::from(EXIT_FAILURE));
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_tracing(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("FERRY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
