//! Shared helpers for the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use polars::prelude::{DataFrame, DataType};
use sqlveil::guard::{Guard, GuardBuilder};
use sqlveil::{Engine, PolarsEngine, Policy};

/// The order key every test guard uses, so that the SQL a guard writes is
/// the same from run to run.
pub const ORDER_KEY: [u8; 16] = [0x5a; 16];

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample_policy() -> Policy {
    Policy::from_path(root().join("rules/sample.toml")).expect("sample rules parse")
}

pub fn sample_engine(policy: &Policy) -> PolarsEngine {
    PolarsEngine::open(root().join("examples/data"), policy).expect("sample data opens")
}

pub fn sample_guard() -> (Policy, PolarsEngine, Guard) {
    let policy = sample_policy();
    let engine = sample_engine(&policy);
    let guard = GuardBuilder::new()
        .order_key(ORDER_KEY)
        .build(&policy, engine.catalog())
        .expect("guard builds");
    (policy, engine, guard)
}

/// One guard over the sample data for the whole test binary (property tests
/// call it thousands of times).
pub fn shared_guard() -> &'static Guard {
    static G: std::sync::LazyLock<Guard> = std::sync::LazyLock::new(|| sample_guard().2);
    &G
}

/// Writes files into a fresh temporary folder.
pub fn tempdir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        write(dir.path(), name, text);
    }
    dir
}

pub fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write test file");
}

/// Every cell of a data frame, rendered as text (NULLs skipped).
pub fn cells(df: &polars::prelude::DataFrame) -> Vec<String> {
    let mut out = Vec::new();
    for c in df.columns() {
        let s = c
            .cast(&polars::prelude::DataType::String)
            .expect("cast to text");
        let ca = s.str().expect("text column");
        for v in ca.iter().flatten() {
            out.push(v.to_string());
        }
    }
    out
}

/// Asserts two strings are equal, printing both on separate lines.
#[macro_export]
macro_rules! eqnice {
    ($expected:expr, $got:expr) => {{
        let (e, g) = (&$expected, &$got);
        if e != g {
            panic!("\n==== expected ====\n{e}\n==== got ====\n{g}\n==================\n");
        }
    }};
}

/// Runs the `sqlveil` binary in the crate root with `key` as SQLVEIL_KEY (or
/// none) and `stdin` as its input: (exit code, stdout, stderr).
pub fn run_cli(args: &[&str], key: Option<&str>, stdin: &str) -> (i32, String, String) {
    match key {
        Some(k) => run_cli_env(args, &[("SQLVEIL_KEY", k)], stdin),
        None => run_cli_env(args, &[], stdin),
    }
}

/// Runs the `sqlveil` binary in the crate root with these environment
/// variables (and no other sqlveil key or model variable) and `stdin`.
pub fn run_cli_env(args: &[&str], env: &[(&str, &str)], stdin: &str) -> (i32, String, String) {
    let child = cli_command(args, env).spawn().expect("run sqlveil");
    finish_cli(child, stdin)
}

/// The `sqlveil` command, ready to spawn with piped standard streams.
pub fn cli_command(args: &[&str], env: &[(&str, &str)]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sqlveil"));
    cmd.args(args)
        .current_dir(root())
        .env_remove("SQLVEIL_KEY")
        .env_remove("SQLVEIL_AUDIT_KEY")
        .env_remove("SQLVEIL_MODEL_URL")
        .env_remove("SQLVEIL_MODEL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Writes `stdin` to a spawned `sqlveil`, closes it and waits: (exit code,
/// stdout, stderr).
pub fn finish_cli(mut child: std::process::Child, stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(stdin.as_bytes());
    }
    let out = child.wait_with_output().expect("run sqlveil");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Checks that SQL is one the guard wrote: every quoted name is a generated
/// one (`t1`, `q2`, `c3`) or a name of the sample policy's tables and
/// columns, every bare word a keyword or a function the emitter writes, and
/// nothing else (no placeholder, no other quoting) is in it.
pub fn assert_guard_written(sql: &str, label: &str) -> Result<(), String> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Tokenizer};
    static POLICY_NAMES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        let p = sample_policy();
        let e = sample_engine(&p);
        let mut names = Vec::new();
        for t in e.catalog().tables() {
            names.push(t.name.clone());
            names.extend(t.columns.iter().map(|c| c.name.clone()));
        }
        names
    });
    // The functions the emitter writes (src/guard/emit.rs), and those it
    // writes for translations.
    const FUNCTIONS: &[&str] = &[
        "abs",
        "ceil",
        "floor",
        "round",
        "trunc",
        "sqrt",
        "cbrt",
        "power",
        "exp",
        "ln",
        "log",
        "log10",
        "sign",
        "mod",
        "greatest",
        "least",
        "coalesce",
        "nullif",
        "lower",
        "upper",
        "length",
        "ltrim",
        "rtrim",
        "substr",
        "left",
        "right",
        "replace",
        "reverse",
        "concat",
        "concat_ws",
        "lpad",
        "rpad",
        "starts_with",
        "ends_with",
        "strpos",
        "split_part",
        "initcap",
        "date_part",
        "date_trunc",
        "to_date",
        "count",
        "sum",
        "avg",
        "min",
        "max",
        "median",
        "stddev",
        "stddev_pop",
        "variance",
        "var_pop",
        "bool_and",
        "bool_or",
        "row_number",
        "rank",
        "dense_rank",
        "ntile",
        "percent_rank",
        "cume_dist",
        "lag",
        "lead",
        "first_value",
        "sqlveil_order_hash",
        "strptime",
        "strftime",
        "sha256",
        "convert_to",
        "percentile_cont",
    ];
    let tokens = Tokenizer::new(&sqlparser::dialect::GenericDialect {}, sql)
        .tokenize()
        .map_err(|e| format!("{label}: the guard's SQL does not tokenize: {e}"))?;
    for t in tokens {
        match t {
            Token::Word(w) => match w.quote_style {
                Some('"') => {
                    let v = &w.value;
                    let generated = v.len() > 1
                        && matches!(v.as_bytes()[0], b't' | b'q' | b'c')
                        && v[1..].bytes().all(|b| b.is_ascii_digit());
                    if !generated && !POLICY_NAMES.contains(v) {
                        return Err(format!(
                            "{label}: the name \"{v}\" is not the guard's: {sql}"
                        ));
                    }
                }
                None => {
                    let known = w.keyword != Keyword::NoKeyword
                        || FUNCTIONS.contains(&w.value.to_ascii_lowercase().as_str());
                    if !known {
                        return Err(format!(
                            "{label}: the word {} is not the guard's: {sql}",
                            w.value
                        ));
                    }
                }
                Some(q) => return Err(format!("{label}: a name quoted with {q}: {sql}")),
            },
            Token::Whitespace(_)
            | Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::Comma
            | Token::Period
            | Token::LParen
            | Token::RParen
            | Token::Eq
            | Token::Neq
            | Token::Lt
            | Token::Gt
            | Token::LtEq
            | Token::GtEq
            | Token::Plus
            | Token::Minus
            | Token::Mul
            | Token::Div
            | Token::Mod
            | Token::StringConcat => {}
            other => {
                return Err(format!(
                    "{label}: the token {other:?} is not the guard's: {sql}"
                ))
            }
        }
    }
    Ok(())
}

/// A timestamp as text without a zero fraction (`… 09:30:00.000000`) and a
/// midnight time as a date (`2023-01-01 00:00:00`: PostgreSQL's date_trunc
/// of a date).
pub fn trim_time(s: &str) -> String {
    let s = match s.split_once('.') {
        Some((head, frac)) if head.len() == 19 && frac.bytes().all(|b| b == b'0') => head,
        _ => s,
    };
    match s.strip_suffix(" 00:00:00") {
        Some(date) if date.len() == 10 => date.to_string(),
        _ => s.to_string(),
    }
}

/// A cell of a result, for comparing results across engines.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Num(f64),
    Text(String),
}

/// Rows as cells, sorted by a coarse key (numbers to 4 digits) so that two
/// engines' results line up; numbers are then compared with a tolerance
/// (PostgreSQL's numeric and polars' f64 round apart in the last digits).
pub fn normalized(df: &DataFrame) -> Vec<Vec<Cell>> {
    let mut rows = vec![Vec::new(); df.height()];
    for col in df.columns() {
        let numeric = col.dtype().is_primitive_numeric();
        let s = col.cast(&DataType::String).unwrap();
        for (i, v) in s.str().unwrap().iter().enumerate() {
            let cell = match v {
                None => Cell::Null,
                // Numbers cast to text too: PostgreSQL's numeric prints more
                // digits than polars' f64.
                Some(v) if numeric || v.parse::<f64>().is_ok() => match v.parse::<f64>() {
                    Ok(f) if f.is_finite() => Cell::Num(f),
                    _ => Cell::Text(v.to_string()),
                },
                Some(v) => Cell::Text(trim_time(v)),
            };
            rows[i].push(cell);
        }
    }
    let key = |r: &Vec<Cell>| {
        r.iter()
            .map(|c| match c {
                Cell::Null => "∅".to_string(),
                Cell::Num(f) => format!("{f:.3e}"),
                Cell::Text(t) => t.clone(),
            })
            .collect::<Vec<_>>()
            .join("|")
    };
    rows.sort_by_cached_key(key);
    rows
}

pub fn same_rows(a: &[Vec<Cell>], b: &[Vec<Cell>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.len() == y.len()
                && x.iter().zip(y).all(|(p, q)| match (p, q) {
                    (Cell::Num(p), Cell::Num(q)) => {
                        (p - q).abs() <= 1e-6 * p.abs().max(q.abs()).max(1.0)
                    }
                    _ => p == q,
                })
        })
}

/// A master key for tests that go through key parsing (the CLI's
/// `SQLVEIL_KEY`): 32 random-looking bytes, since trivial keys are refused.
pub const TEST_KEY_HEX: &str = "3b1f5e0c9a7d2468b4e1f0a3c5d79e2b6a8c0f1e3d5b7a9c2e4f6a8b0d1c3e5f";

/// Another such key.
pub const OTHER_KEY_HEX: &str = "c4a1e7093f5b2d86a0e9c3f17b5d2e48f6a9b0c1d2e3f4051627384950a1b2c3";

/// The bytes of [`TEST_KEY_HEX`].
pub fn test_key_bytes() -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&TEST_KEY_HEX[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// Two emails whose 8-character `email` token codes collide under
/// [`TEST_KEY_HEX`] (found by search; `tokens::the_planted_pair_collides`
/// checks it).
pub const COLLIDING_EMAILS: [&str; 2] = ["user224774@example.com", "user465355@example.com"];

/// Set in a worker process (see [`spawn_worker`]).
pub const WORKER_ENV: &str = "SQLVEIL_TEST_WORKER";

/// Runs this test binary again, as a separate process that runs only the
/// test `name` (an `#[ignore]`d worker that does nothing unless
/// [`WORKER_ENV`] is set), with `env`. Cross-process tests use real
/// processes this way, without a helper binary.
pub fn spawn_worker(name: &str, env: &[(&str, String)]) -> std::process::Child {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([
        name,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(WORKER_ENV, "1")
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("run a worker process")
}

/// Waits for a worker; panics with its output when it failed. Returns its
/// standard output.
pub fn wait_worker(child: std::process::Child) -> String {
    let out = child.wait_with_output().expect("wait for a worker");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "worker failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// In a worker: waits until the file `go` exists, so that every worker
/// starts at once.
pub fn wait_for_go(go: &Path) {
    let start = std::time::Instant::now();
    while !go.exists() {
        assert!(start.elapsed().as_secs() < 60, "no go signal");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}
