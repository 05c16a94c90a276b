//! The `sqlveil` command-line tool.
//!
//! Exit codes: 0 done, 1 refused by policy (or, for `rules lint`, rules that
//! name something missing), 2 bad usage or bad input, 3 engine failure. Every
//! error is one sentence on stderr; results are JSON on stdout.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::unreachable)]

mod args;
mod ask;
mod audit;
mod auditor;
mod check;
mod lint;
mod output;
mod query;
mod reveal;
mod scan;
mod setup;

// mimalloc serves the many small allocations of the SQL parser, the guard
// and polars faster than the system allocator (benches/guard.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;
use sqlveil::{Error, ErrorKind};

use crate::args::{Cli, Command, RulesCommand};
// `eval.rs` names these `crate::print`, `crate::open`, ….
use crate::output::print;
use crate::setup::{data_dir, env_or, known_detector, master_key, open};

mod eval;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("sqlveil: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

fn exit_code(e: &Error) -> u8 {
    match e.kind() {
        ErrorKind::Refused(_) => 1,
        ErrorKind::Engine { .. } | ErrorKind::Connection { .. } => 3,
        ErrorKind::Vault { .. } | ErrorKind::Audit { .. } | ErrorKind::Crypto => 3,
        ErrorKind::Model(_) | ErrorKind::NoSql => 3,
        _ => 2,
    }
}

fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Check {
            source,
            audit,
            key,
            sql,
        } => check::check(&source, &audit, &key, &sql),
        Command::Audit { command } => audit::audit_command(command),
        Command::Eval { command, run } => eval::command(&run, command.as_ref()),
        Command::Rules {
            command: RulesCommand::Lint { source },
        } => lint::lint(&source),
        Command::Query {
            source,
            audit,
            keys,
            sql,
        } => query::query(&source, &audit, &keys, &sql),
        Command::Scan {
            rules,
            data,
            audit,
            keys,
        } => scan::scan(&rules, data.as_deref(), &audit, &keys),
        Command::Ask {
            source,
            audit,
            keys,
            ask: args,
        } => ask::ask(&source, &audit, &keys, &args),
        Command::Reveal {
            rules,
            role,
            audit,
            keys,
        } => reveal::reveal(&rules, &role, &audit, &keys),
    }
}
