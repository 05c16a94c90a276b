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
