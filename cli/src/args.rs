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
  ferry map --from tryton --in raw/ --out canonical/   # vendor tables → canonical model
  ferry backup nightly.toml                    # incremental backup into Delta tables, with history

Exit codes: 0 success, 1 failure, 2 usage or configuration error, 130 interrupted.
Logs: -v / -vv, or FERRY_LOG=debug.
Parquet encoding threads per file: FERRY_ENCODER_THREADS=N (default one per core, at most 4;
0 encodes in the writing thread, for the least memory).";

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
        after_help = "Examples:\n  ferry discover exports/\n  ferry discover exports/customers.csv --json\n  ferry discover postgres://erp@db/erp --diff out/\n  ferry discover odoo+https://acme.odoo.com/acme --diff nightly.toml --json"
    )]
    Discover(DiscoverArgs),
    /// Copy streams from a source into a folder (Parquet by default).
    #[command(
        after_help = "Examples:\n  ferry extract exports/ --out backup/\n  ferry extract exports/ --out backup/ --streams 'sale_*,customers'\n  ferry extract exports/orders.csv --out plain/ --format csv\n\nAn interrupted extract resumes when run again; --restart starts over."
    )]
    Extract(ExtractArgs),
    /// Query extracted streams with SQL (DataFusion); interactive without QUERY.
    #[command(
        after_help = "Examples:\n  ferry sql --data backup/ \"SELECT COUNT(*) FROM customers\"\n  ferry sql --data backup/ \"SELECT * FROM invoices\" --format csv --output invoices.csv\n  ferry sql --data backup/            # prompt: .tables, .schema NAME, .quit\n  ferry sql --data canon-tryton/ --data canon-odoo/ \"SELECT source_system, COUNT(*) FROM party GROUP BY 1\""
    )]
    Sql(SqlArgs),
    /// Run a job file naming a source, streams and a sink.
    #[command(
        after_help = "Example job file (nightly.toml):\n  streams = [\"customers\", \"sale_*\"]\n  schema_policy = \"evolve\"          # or freeze, fail; or { \"*\" = \"evolve\", \"sale_orders\" = \"fail\" }\n\n  [source]\n  kind = \"files\"\n  path = \"exports/\"\n\n  [sink]\n  kind = \"parquet\"\n  path = \"backup/\"\n\nThen: ferry run nightly.toml\n      ferry run nightly.toml --schema-policy fail --json   # stop a stream whose columns changed"
    )]
    Run(RunArgs),
    /// Extract a bundled sample of ERP exports to Parquet and query it. No server, no network.
    Demo(DemoArgs),
    /// Turn a raw extraction into the canonical ERP model (mappings/), then check it.
    #[command(
        after_help = "Examples:\n  ferry extract tryton+http://admin@127.0.0.1:8000/prod --password-env TRYTON_PASSWORD --out raw/\n  ferry map --from tryton --in raw/ --out canonical/\n  ferry map --from odoo --in odoo-dump/ --out canonical/ --mappings my-mappings/ --strict\n  ferry sql --data canonical/ \"SELECT customer_id, SUM(total_amount) FROM sale_order GROUP BY 1\"\n\nMappings: the built-in mappings/<vendor>/<entity>.sql, with files of --mappings DIR at the\nsame relative paths replacing or adding to them. Entities whose raw tables were not\nextracted are skipped and listed. Exit codes: 0 mapped (findings reported), 1 a mapping\nfailed or --strict and a quality check failed, 2 configuration error."
    )]
    Map(MapArgs),
    /// Run the data-quality checks on a canonical folder.
    #[command(
        after_help = "Examples:\n  ferry check canonical/\n  ferry check canonical/ --json --strict\n\nChecks: primary keys unique, foreign keys resolve, required fields present, codes among\nthe allowed values, numbers in range, order and invoice totals equal to the sum of\ntheir lines. --strict makes any finding fatal (exit 1)."
    )]
    Check(CheckArgs),
    /// Move a company's data into another ERP: extract, map, check, load, reconcile.
    #[command(
        after_help = "Example job file (tryton-to-tryton.toml):\n  [source]\n  kind = \"tryton\"\n  url = \"tryton+https://old.example.com/prod\"\n  user = \"admin\"\n  password_env = \"OLD_PASSWORD\"\n\n  [migrate]\n  from = \"tryton\"              # mappings/<from>/*.sql make the data canonical\n  streams = [\"party.party\", \"party.address\", \"party.contact_mechanism\", \"party.identifier\",\n             \"product.product\", \"product.template\", \"product.category\", \"product.uom\",\n             \"product.uom.category\", \"currency.currency\", \"company.company\", \"country.country\",\n             \"sale.sale\", \"sale.line\", \"purchase.purchase\", \"purchase.line\", \"account.invoice\",\n             \"account.invoice.line\", \"account.account\", \"account.account.type\"]\n  # work = \"tryton-to-tryton.work\"   ids = \"tryton-to-tryton.ids.sqlite\"\n  # batch_size = 50   concurrency = 1   max_errors = 100   strict = false\n\n  [target]\n  kind = \"tryton\"                # mappings/<kind>/load/*.toml say what goes where\n  url = \"tryton+https://new.example.com/prod\"\n  user = \"admin\"\n  password_env = \"NEW_PASSWORD\"\n\nThen:\n  ferry migrate tryton-to-tryton.toml --dry-run     # what would be created or updated\n  ferry migrate tryton-to-tryton.toml --report reconciliation.json\n\nA rerun creates only what is missing and writes only what changed (the ID map beside\nthe job remembers what was loaded; records a crashed run created are found on the\ntarget by their key). Exit codes: 0 complete, 1 something rejected, missing or\ndifferent (see the report), 2 configuration error."
    )]
    Migrate(MigrateArgs),
    /// Back up every stream of a source into Delta tables: incremental, with history.
    #[command(
        after_help = "Example job file (nightly.toml):\n  streams = [\"public.*\"]\n  cursors = { \"*\" = \"write_date\" }   # incremental where the column exists\n  schema_policy = \"evolve\"           # the default: new columns added, vanished ones NULL\n\n  [source]\n  spec = \"postgresql://backup@erp-db:5432/erp\"\n\n  [backup]\n  path = \"/srv/backups/erp\"          # or \"s3://bucket/erp\" (credentials: AWS_* variables)\n  keep_versions = 30                  # and/or keep_days = 90; older versions are vacuumed\n  key_scan_every = 7                  # incremental streams: find deletions every 7th run\n  # [backup.storage]  endpoint = \"https://s3.example.net\"   region = \"eu-west-3\"\n\nThen:\n  ferry backup nightly.toml --json > last-backup.json\n  ferry sql --data /srv/backups/erp \"SELECT COUNT(*) FROM sale_order\"\n  ferry sql --data /srv/backups/erp --as-of 2026-11-01T00:00:00Z \"SELECT …\"\n  ferry verify /srv/backups/erp\n  ferry restore /srv/backups/erp --version 3 --out plain/ --format csv\n\nEach run adds one version per changed table; an interrupted run leaves the previous\nversion intact and the next run resumes. Two runs of one job never overlap (a lock\nbeside the job file). Schedule it with cron or a systemd timer (see README).\nExit codes: 0 every stream backed up, 1 a stream failed (the others are kept),\n2 configuration error, 3 another run of this job holds the lock."
    )]
    Backup(BackupArgs),
    /// Check a backup: every log entry parses, every data file is there and decodes.
    #[command(
        after_help = "Examples:\n  ferry verify /srv/backups/erp\n  ferry verify s3://bucket/erp --json\n\nExit codes: 0 sound, 1 damage found (each problem names its file)."
    )]
    Verify(VerifyArgs),
    /// Write a backup (latest or earlier version) out as plain Parquet or CSV files.
    #[command(
        after_help = "Examples:\n  ferry restore /srv/backups/erp --out restored/\n  ferry restore /srv/backups/erp --as-of 2026-11-01T00:00:00Z --out nov1/ --format csv\n  ferry restore s3://bucket/erp --version 12 --streams 'public.sale_*' --out plain/"
    )]
    Restore(RestoreArgs),
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The job file (TOML): [source], [backup], streams, cursors.
    pub job: PathBuf,
    /// Read every stream in full this time (keyed tables are merged: changed rows
    /// updated, vanished rows deleted).
    #[arg(long)]
    pub full: bool,
    /// Scan the keys of every incremental stream for deletions this time.
    #[arg(long)]
    pub key_scan: bool,
    /// Start over instead of resuming an interrupted run.
    #[arg(long)]
    pub restart: bool,
    /// Streams read at once (default: the job's, else one per core).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Print the run report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// When a stream's columns changed since the last backup: `evolve` (default: add
    /// columns, keep removed ones as NULL, widen types), `freeze` or `fail`.
    /// `POLICY` or `STREAM=POLICY` (repeatable), over the job's `schema_policy`.
    #[arg(long = "schema-policy", value_name = "[STREAM=]POLICY")]
    pub schema_policy: Vec<String>,
}

#[derive(Debug, Args)]
pub struct BackupPlace {
    /// The backup: a folder or an object-storage URL (s3://, gs://, az://).
    pub backup: String,
    /// Object-storage option KEY=VALUE (repeatable), e.g. endpoint=http://127.0.0.1:9000.
    #[arg(long = "storage-option", value_name = "KEY=VALUE")]
    pub storage: Vec<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub place: BackupPlace,
    /// Print the findings as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub place: BackupPlace,
    /// Output folder (one sub-folder per stream).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Output file format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Parquet)]
    pub format: OutputFormat,
    /// The table version to restore.
    #[arg(long, conflicts_with = "as_of")]
    pub version: Option<i64>,
    /// Restore the state at this time (RFC 3339).
    #[arg(long, value_name = "TIMESTAMP")]
    pub as_of: Option<String>,
    /// Only these streams (comma-separated names or globs).
    #[arg(long, value_delimiter = ',')]
    pub streams: Vec<String>,
    /// Print the run report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The migration job file (TOML with [source], [migrate] and [target]).
    pub job: PathBuf,
    /// Do everything but the writes; report what would be created or updated.
    #[arg(long)]
    pub dry_run: bool,
    /// Rejected records tolerated before the run stops (default 100).
    #[arg(long)]
    pub max_errors: Option<usize>,
    /// Records per create call (default 50).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Also write the load and reconciliation report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Print the quality and migration reports as one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MapArgs {
    /// Whose mappings apply: tryton, odoo, dolibarr, erpnext (or a vendor folder of --mappings).
    #[arg(long)]
    pub from: String,
    /// The raw extraction folder (written by `ferry extract`).
    #[arg(long = "in", value_name = "RAW_DIR")]
    pub input: PathBuf,
    /// The canonical output folder (one sub-folder per entity).
    #[arg(long, short, value_name = "CANON_DIR")]
    pub out: PathBuf,
    /// A folder of mapping files laid over the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub mappings: Option<PathBuf>,
    /// The value of `source_system` in every row (default: the vendor name).
    #[arg(long)]
    pub system: Option<String>,
    /// Do not run the quality checks after mapping.
    #[arg(long)]
    pub no_check: bool,
    /// Fail (exit 1) when a quality check finds anything.
    #[arg(long)]
    pub strict: bool,
    /// Print the run and quality reports as one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A canonical folder (written by `ferry map`).
    pub data: PathBuf,
    /// A folder of mapping files laid over the built-in ones (for changed definitions).
    #[arg(long, value_name = "DIR")]
    pub mappings: Option<PathBuf>,
    /// Fail (exit 1) when a check finds anything.
    #[arg(long)]
    pub strict: bool,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// A path (file or folder of exports) or a connection URL.
    pub source: String,
    #[command(flatten)]
    pub credentials: Credentials,
    /// Only these streams (comma-separated names or globs).
    #[arg(long, value_delimiter = ',')]
    pub streams: Vec<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Compare with the columns each stream had at the last run of a job: an output
    /// folder of `ferry extract`, a job file (its state beside it) or a state file.
    #[arg(long, value_name = "OUT_DIR|JOB.toml|STATE.json")]
    pub diff: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// A path (file or folder of exports) or a connection URL.
    pub source: String,
    #[command(flatten)]
    pub credentials: Credentials,
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
    /// When a stream's columns changed since the last run: `evolve` (add columns, keep
    /// removed ones as NULL, widen types), `freeze` (keep the old columns) or `fail`
    /// (stop before writing it). `POLICY` for every stream or `STREAM=POLICY`
    /// (repeatable). Default: the job's `schema_policy`, else evolve.
    #[arg(long = "schema-policy", value_name = "[STREAM=]POLICY")]
    pub schema_policy: Vec<String>,
}

impl RunControl {
    /// A run that reads everything once and keeps no incremental position: each run
    /// starts over and reads every stream in full.
    pub fn one_shot(json: bool) -> Self {
        RunControl {
            cursors: Vec::new(),
            restart: true,
            full_refresh: true,
            concurrency: None,
            json,
            schema_policy: Vec::new(),
        }
    }
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
    /// Folder of extracted streams; each stream folder is a table. Repeat to query
    /// several folders as one: a table present in several holds all their rows. A
    /// backup on object storage is given by its URL (s3://bucket/prefix; credentials
    /// from the AWS_* / GOOGLE_* / AZURE_* variables).
    #[arg(long, short, default_value = ".")]
    pub data: Vec<PathBuf>,
    /// The query; without it, an interactive prompt starts.
    pub query: Option<String>,
    /// Result format.
    #[arg(long, value_enum, default_value_t = SqlFormat::Table)]
    pub format: SqlFormat,
    /// Write the result to this file instead of stdout (required for parquet).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Read backups (Delta tables) as they were at this table version.
    #[arg(long, conflicts_with = "as_of")]
    pub version: Option<i64>,
    /// Read backups (Delta tables) as they were at this time (RFC 3339, e.g.
    /// 2026-11-29T08:00:00Z).
    #[arg(long, value_name = "TIMESTAMP")]
    pub as_of: Option<String>,
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

/// Credentials for a connection URL, kept out of the command line and shell history:
/// they fill the URL's user info (`scheme://USER:SECRET@host/…`) before the connector
/// sees it, and are redacted like any secret.
#[derive(Debug, Args, Default)]
pub struct Credentials {
    /// Login for the connection URL (replaces a user in the URL).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Read the password from this environment variable.
    #[arg(long, value_name = "VAR", conflicts_with = "api_key_env")]
    pub password_env: Option<String>,
    /// Read the API key from this environment variable (Odoo: with `--user`;
    /// Dolibarr, ERPNext: alone).
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
}

impl Credentials {
    /// `spec` with the user and secret put in its user info; `spec` itself when no
    /// flag is given.
    ///
    /// # Errors
    /// A named variable is unset, or `spec` is not a URL.
    pub fn apply(&self, spec: &str) -> Result<String, ferry_core::Error> {
        let secret = match (&self.password_env, &self.api_key_env) {
            (Some(var), _) | (None, Some(var)) => Some(std::env::var(var).map_err(|_| {
                ferry_core::Error::config(
                    "credentials",
                    format!("environment variable {var} is not set"),
                )
            })?),
            (None, None) => None,
        };
        if self.user.is_none() && secret.is_none() {
            return Ok(spec.to_owned());
        }
        let Some((scheme, rest)) = spec.split_once("://") else {
            return Err(ferry_core::Error::config(
                "credentials",
                "--user, --password-env and --api-key-env apply to a connection URL",
            ));
        };
        // Keep the URL's own user unless --user replaces it; drop its password.
        let (userinfo, host) = match rest.split_once('@') {
            Some((info, host)) if !info.contains('/') => (Some(info), host),
            _ => (None, rest),
        };
        let url_user = userinfo.map(|i| i.split(':').next().unwrap_or("").to_owned());
        let enc = percent_encode;
        let user = match &self.user {
            Some(u) => enc(u),
            None => url_user.unwrap_or_default(),
        };
        let info = match secret {
            Some(s) if user.is_empty() => enc(&s),
            Some(s) => format!("{user}:{}", enc(&s)),
            None if user.is_empty() => return Ok(format!("{scheme}://{host}")),
            None => user,
        };
        Ok(format!("{scheme}://{info}@{host}"))
    }
}

/// Percent-encodes all but RFC 3986's unreserved characters, for a URL's user info.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{Credentials, percent_encode};

    #[test]
    fn user_info_is_percent_encoded() {
        assert_eq!(percent_encode("a@b:c/d é"), "a%40b%3Ac%2Fd%20%C3%A9");
    }

    #[test]
    fn credentials_fill_the_user_info() {
        let var = "FERRY_TEST_SECRET_CLI_7F3";
        let missing = Credentials {
            password_env: Some(var.into()),
            ..Credentials::default()
        };
        assert!(missing.apply("odoo+https://h/db").is_err());
        let none = Credentials::default();
        assert_eq!(none.apply("exports/").unwrap(), "exports/");
        let user_only = Credentials {
            user: Some("admin".into()),
            ..Credentials::default()
        };
        assert_eq!(
            user_only
                .apply("tryton+http://old:pw@127.0.0.1:8000/db")
                .unwrap(),
            "tryton+http://admin@127.0.0.1:8000/db"
        );
        assert!(user_only.apply("exports/").is_err());
    }
}
