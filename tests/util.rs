//! Shared helpers for the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use sqlveil::{Engine, Guard, PolarsEngine, Policy};

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
    let guard = Guard::new(&policy, engine.catalog()).expect("guard builds");
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
    use std::io::Write;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sqlveil"));
    cmd.args(args)
        .current_dir(root())
        .env_remove("SQLVEIL_KEY")
        .env_remove("SQLVEIL_MODEL_URL")
        .env_remove("SQLVEIL_MODEL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(k) = key {
        cmd.env("SQLVEIL_KEY", k);
    }
    let mut child = cmd.spawn().expect("run sqlveil");
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
