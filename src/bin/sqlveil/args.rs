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
