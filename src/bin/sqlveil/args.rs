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
    #[arg(long, value_name = "DIR")]
    pub(crate) data: PathBuf,
    /// The rule file (TOML).
    #[arg(long, value_name = "FILE")]
    pub(crate) rules: PathBuf,
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

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Guard only: print the verdict, the rewritten SQL and the output columns' actions as JSON.
    Check {
        #[command(flatten)]
        source: Source,
        /// The SQL to check (it may start with `--`, an SQL comment).
        #[arg(long, value_name = "SQL", allow_hyphen_values = true)]
        sql: String,
    },
    /// Guard, run and protect a query: print the rows the model may see as JSON.
    Query {
        #[command(flatten)]
        source: Source,
        #[command(flatten)]
        keys: Keys,
        /// The SQL to run (it may start with `--`, an SQL comment).
        #[arg(long, value_name = "SQL", allow_hyphen_values = true)]
        sql: String,
    },
    /// Find personal data in text on stdin: hits and the redacted text as JSON.
    Scan {
        /// The rule file (its detectors and token format).
        #[arg(long, value_name = "FILE")]
        rules: PathBuf,
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
        keys: Keys,
    },
    /// Rule file tools.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RulesCommand {
    /// Report schema drift between the rules and the data (exit 1 when the rules name something missing).
    Lint {
        #[command(flatten)]
        source: Source,
    },
}
