//! Raw command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Let an LLM answer questions about tabular data without seeing personal data.
#[derive(Debug, Parser)]
#[command(name = "sqlveil", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Args)]
pub(crate) struct Source {
    /// Folder of CSV / Parquet / NDJSON files, one table per file.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["pg", "spark"])]
    pub(crate) data: Option<PathBuf>,
    /// A PostgreSQL server instead of files: postgresql://user:password@host:port/database (default: SQLVEIL_PG_URL).
    #[arg(long, value_name = "URL", conflicts_with = "spark")]
    pub(crate) pg: Option<String>,
    /// A Spark Connect server instead of files: sc://host:port, with Spark Connect's ;token=…;use_ssl=true (default: SQLVEIL_SPARK_URL, when SQLVEIL_PG_URL is not set).
    #[arg(long, value_name = "URL")]
    pub(crate) spark: Option<String>,
    /// The rule file (TOML).
    #[arg(long, value_name = "FILE")]
    pub(crate) rules: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct KeyFile {
    /// A file holding the 32-byte master key (hex, base64 or raw); default: the SQLVEIL_KEY variable. Here it only digests the audited SQL and keys the audit chain.
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct Keys {
    /// A file holding the 32-byte master key (hex, base64 or raw); default: the SQLVEIL_KEY variable.
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,
    /// The token vault file (needed for `tokens = "hash"`; created if missing).
    #[arg(long, value_name = "FILE")]
    pub(crate) vault: Option<PathBuf>,
}

#[derive(Debug, Args, Default)]
pub(crate) struct AuditArgs {
    /// Append a hash-chained audit event for this request to FILE (the request fails if it cannot be written).
    #[arg(long, value_name = "FILE")]
    pub(crate) audit: Option<PathBuf>,
    /// Who is asking, for the audit log.
    #[arg(long, value_name = "NAME", default_value = "cli")]
    pub(crate) actor: String,
    /// The request id for the audit log (default: generated).
    #[arg(long, value_name = "ID")]
    pub(crate) request_id: Option<String>,
    /// A file holding a separate 32-byte audit key that chains the log (default: SQLVEIL_AUDIT_KEY, else a key derived from the master key, else an unkeyed log).
    #[arg(long, value_name = "FILE")]
    pub(crate) audit_key_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Check the hash chain: report the first edited, removed, inserted or reordered line (exit 1).
    Verify {
        /// The log's files, oldest first (FILE.1, FILE.2, …, FILE).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The master key's file, for a log chained under it (default: SQLVEIL_KEY).
        #[arg(long, value_name = "FILE", conflicts_with = "unkeyed")]
        key_file: Option<PathBuf>,
        /// The audit key's file, for a log chained under a separate audit key (default: SQLVEIL_AUDIT_KEY).
        #[arg(long, value_name = "FILE", conflicts_with = "unkeyed")]
        audit_key_file: Option<PathBuf>,
        /// Verify a log written without a key (plain SHA-256, which anyone who can write the file can recompute); without a key and without this, verify refuses.
        #[arg(long)]
        unkeyed: bool,
        /// The hash of the line before the first file's first line, for a log whose older files are archived elsewhere (default: the first line must be seq 0).
        #[arg(long, value_name = "HASH")]
        start: Option<String>,
        /// The expected hash of the last line, kept elsewhere: detects a cut tail.
        #[arg(long, value_name = "HASH")]
        head: Option<String>,
    },
    /// Count events per decision, refusal kind, column and action, detector and actor.
    Summary {
        /// The log's files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Only events at or after this RFC 3339 time.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Only events before this RFC 3339 time.
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        /// Only this actor's events.
        #[arg(long, value_name = "NAME")]
        actor: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Guard only: print the verdict, the rewritten SQL and the output columns' actions as JSON.
    Check {
        #[command(flatten)]
        source: Source,
        #[command(flatten)]
        audit: AuditArgs,
        #[command(flatten)]
        key: KeyFile,
        /// The SQL to check (it may start with `--`, an SQL comment).
        #[arg(long, value_name = "SQL", allow_hyphen_values = true)]
        sql: String,
    },
    /// Guard, run and protect a query: print the rows the model may see as JSON.
    Query {
        #[command(flatten)]
        source: Source,
        #[command(flatten)]
        audit: AuditArgs,
        #[command(flatten)]
        keys: Keys,
        /// The SQL to run (it may start with `--`, an SQL comment).
        #[arg(long, value_name = "SQL", allow_hyphen_values = true)]
        sql: String,
    },
    /// The whole pipeline: a question to the model, its SQL guarded and run, the answer written from protected rows, as JSON.
    Ask {
        #[command(flatten)]
        source: Source,
        #[command(flatten)]
        audit: AuditArgs,
        #[command(flatten)]
        keys: Keys,
        #[command(flatten)]
        ask: AskArgs,
    },
    /// Find personal data in text on stdin: hits and the redacted text as JSON.
    Scan {
        /// The rule file (its detectors and token format).
        #[arg(long, value_name = "FILE")]
        rules: PathBuf,
        /// Folder of the data: its protected values (names, customer numbers, …) are found too.
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        #[command(flatten)]
        audit: AuditArgs,
        #[command(flatten)]
        keys: Keys,
    },
    /// Turn tokens in text on stdin back into values, for the classes a role may see.
    Reveal {
        /// The rule file (its roles and token format).
        #[arg(long, value_name = "FILE")]
        rules: PathBuf,
        /// The role whose `reveal` classes apply.
        #[arg(long, value_name = "ROLE")]
        role: String,
        #[command(flatten)]
        audit: AuditArgs,
        #[command(flatten)]
        keys: Keys,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Rule file tools.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Run a question set through the pipeline and score it: a table on stdout, JSON with --json (exit 1 when any protected value of the data reached the model, unless the question set marks it reviewed).
    #[command(args_conflicts_with_subcommands = true)]
    Eval {
        #[command(subcommand)]
        command: Option<EvalCommand>,
        #[command(flatten)]
        run: EvalRun,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum EvalCommand {
    /// Two eval reports side by side, question by question.
    Compare {
        /// The first run's JSON report.
        a: PathBuf,
        /// The second run's JSON report.
        b: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct EvalRun {
    /// Folder of CSV / Parquet / NDJSON files, one table per file.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["pg", "spark"])]
    pub(crate) data: Option<PathBuf>,
    /// A PostgreSQL server instead of files (default: SQLVEIL_PG_URL).
    #[arg(long, value_name = "URL", conflicts_with = "spark")]
    pub(crate) pg: Option<String>,
    /// A Spark Connect server instead of files (default: SQLVEIL_SPARK_URL).
    #[arg(long, value_name = "URL")]
    pub(crate) spark: Option<String>,
    /// The rule file (TOML).
    #[arg(long, value_name = "FILE")]
    pub(crate) rules: Option<PathBuf>,
    /// A file holding the 32-byte master key (hex, base64 or raw); default: the SQLVEIL_KEY variable. A replay needs the key the recording was made under.
    #[arg(long, value_name = "FILE")]
    pub(crate) key_file: Option<PathBuf>,
    /// The question set (TOML, `[[question]]` tables).
    #[arg(long, value_name = "FILE")]
    pub(crate) questions: Option<PathBuf>,
    /// Reviewed examples (TOML, `[[examples]]` tables).
    #[arg(long, value_name = "FILE")]
    pub(crate) examples: Option<PathBuf>,
    /// An OpenAI-compatible endpoint, up to `/v1` (default: SQLVEIL_MODEL_URL).
    #[arg(long, value_name = "URL")]
    pub(crate) model_url: Option<String>,
    /// The model id (default: SQLVEIL_MODEL); with --replay, the name the report gives.
    #[arg(long, value_name = "NAME")]
    pub(crate) model: Option<String>,
    /// Answer from responses recorded in DIR (by --record) instead of a model; the same master key is needed.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["model_url", "scripted"])]
    pub(crate) replay: Option<PathBuf>,
    /// Store every model response in DIR, keyed by the request's hash.
    #[arg(long, value_name = "DIR")]
    pub(crate) record: Option<PathBuf>,
    /// Answer with the question set's scripted SQL (its `scripted` or `gold`), no model.
    #[arg(long, conflicts_with = "model_url")]
    pub(crate) scripted: bool,
    /// Write the report as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// Seconds one model call may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub(crate) timeout: u64,
    /// How many times a refused or failing query goes back to the model.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub(crate) max_repairs: u32,
    /// How closely a question must match a direct example (default 0.9; above 1 turns direct answers off).
    #[arg(long, value_name = "SCORE")]
    pub(crate) direct_threshold: Option<f64>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RulesCommand {
    /// Report schema drift between the rules and the data (exit 1 when the rules name something missing).
    Lint {
        #[command(flatten)]
        source: Source,
    },
}

#[derive(Debug, Args)]
pub(crate) struct AskArgs {
    /// The question, in natural language.
    #[arg(long, value_name = "TEXT")]
    pub(crate) question: String,
    /// Reveal tokens in the answer and rows for this role's classes (default: reveal nothing).
    #[arg(long, value_name = "ROLE")]
    pub(crate) role: Option<String>,
    /// An OpenAI-compatible endpoint, up to `/v1` (default: SQLVEIL_MODEL_URL). The API key, if any, comes from SQLVEIL_MODEL_API_KEY or OPENAI_API_KEY.
    #[arg(long, value_name = "URL")]
    pub(crate) model_url: Option<String>,
    /// The model id (default: SQLVEIL_MODEL).
    #[arg(long, value_name = "NAME")]
    pub(crate) model: Option<String>,
    /// Seconds one model call may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub(crate) timeout: u64,
    /// How many times a refused or failing query goes back to the model.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub(crate) max_repairs: u32,
    /// Stop at the rows: no second call to write the answer.
    #[arg(long)]
    pub(crate) no_answer: bool,
    /// Reviewed question → SQL examples (TOML): the closest go into the prompt, `direct` ones can answer without a SQL call.
    #[arg(long, value_name = "FILE")]
    pub(crate) examples: Option<PathBuf>,
    /// Keep links and images in the answer only to this host (`example.com`, or `*.example.com` for its subdomains); repeat for more. Any of these removes links to every other host.
    #[arg(long, value_name = "HOST")]
    pub(crate) allow_link_host: Vec<String>,
    /// Remove every link, image and HTML tag to another host from the answer, even with no --allow-link-host.
    #[arg(long)]
    pub(crate) strip_links: bool,
}
