//! Command-line flags. Raw flags stay here; commands receive them parsed.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Take your data out of the ERP you rent: extract, back up, query.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, about, long_about = None, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "\
Examples:
  ferry demo                                   # extract the bundled sample and query it
  ferry discover exports/                      # streams and column types of a folder of exports
  ferry extract exports/ --out backup/         # everything to Parquet
  ferry sql --data backup/ \"SELECT COUNT(*) FROM customers\"
  ferry run nightly.toml                       # a job file: source, streams, sink

Exit codes: 0 success, 1 failure, 2 usage or configuration error, 130 interrupted.
Logs: -v / -vv, or FERRY_LOG=debug.";

#[derive(Debug, Args)]
pub struct Global {
    /// No progress bars or summaries; errors only.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More logging (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List a source's streams with their columns and types.
    #[command(
        after_help = "Examples:\n  ferry discover exports/\n  ferry discover exports/customers.csv --json"
    )]
    Discover(DiscoverArgs),
    /// Copy streams from a source into a folder (Parquet by default).
    #[command(
        after_help = "Examples:\n  ferry extract exports/ --out backup/\n  ferry extract exports/ --out backup/ --streams 'sale_*,customers'\n  ferry extract exports/orders.csv --out plain/ --format csv\n\nAn interrupted extract resumes when run again; --restart starts over."
    )]
    Extract(ExtractArgs),
    /// Query extracted streams with SQL (DataFusion); interactive without QUERY.
    #[command(
        after_help = "Examples:\n  ferry sql --data backup/ \"SELECT COUNT(*) FROM customers\"\n  ferry sql --data backup/ \"SELECT * FROM invoices\" --format csv --output invoices.csv\n  ferry sql --data backup/            # prompt: .tables, .schema NAME, .quit"
    )]
    Sql(SqlArgs),
    /// Run a job file naming a source, streams and a sink.
    #[command(
        after_help = "Example job file:\n  [source]\n  kind = \"files\"\n  path = \"exports/\"\n\n  [sink]\n  kind = \"parquet\"\n  path = \"backup/\"\n\n  streams = [\"customers\", \"sale_*\"]\n\nThen: ferry run nightly.toml"
    )]
    Run(RunArgs),
    /// Extract a bundled sample of ERP exports to Parquet and query it. No server, no network.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// A path (file or folder of exports) or a connection URL.
    pub source: String,
    /// Only these streams (comma-separated names or globs).
    #[arg(long, value_delimiter = ',')]
    pub streams: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// A path (file or folder of exports) or a connection URL.
    pub source: String,
    /// Output folder (one sub-folder per stream).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Only these streams (comma-separated names or globs, e.g. `public.*,sale_order`).
    #[arg(long, value_delimiter = ',')]
    pub streams: Vec<String>,
    /// Output file format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Parquet)]
    pub format: OutputFormat,
    /// Odoo backup zip: also copy the attachment files of its filestore to
    /// OUT/_filestore/ (each checked against the SHA-1 in its name).
    #[arg(long)]
    pub with_files: bool,
    #[command(flatten)]
    pub run: RunControl,
}

#[derive(Debug, Args)]
pub struct RunControl {
    /// Incremental cursor: `STREAM=COLUMN` (repeatable), or `COLUMN` for every stream
    /// that has it. Later runs read only rows at or after the saved high-water mark.
    #[arg(long = "cursor", value_name = "STREAM=COLUMN")]
    pub cursors: Vec<String>,
    /// Start over instead of resuming an interrupted run.
    #[arg(long)]
    pub restart: bool,
    /// Read every stream in full, ignoring saved incremental positions.
    #[arg(long)]
    pub full_refresh: bool,
    /// Streams read at once (default: one per core).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Print the run report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Parquet,
    Csv,
    Jsonl,
}

impl OutputFormat {
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Parquet => "parquet",
            OutputFormat::Csv => "csv",
            OutputFormat::Jsonl => "jsonl",
        }
    }
}

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// Folder of extracted streams; each stream folder is a table.
    #[arg(long, short, default_value = ".")]
    pub data: PathBuf,
    /// The query; without it, an interactive prompt starts.
    pub query: Option<String>,
    /// Result format.
    #[arg(long, value_enum, default_value_t = SqlFormat::Table)]
    pub format: SqlFormat,
    /// Write the result to this file instead of stdout (required for parquet).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqlFormat {
    Table,
    Csv,
    Json,
    Jsonl,
    Parquet,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The job file (TOML).
    pub job: PathBuf,
    #[command(flatten)]
    pub run: RunControl,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the sample exports and their Parquet copy.
    #[arg(long, default_value = "ferry-demo")]
    pub dir: PathBuf,
}
