//! The `sqlveil` binary: JSON on stdout, one sentence on stderr, exit codes.

use std::process::Command;

use crate::util::{root, tempdir_with};

fn sqlveil(args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sqlveil"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run sqlveil");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

const DATA: [&str; 4] = ["--data", "examples/data", "--rules", "rules/sample.toml"];

fn check(sql: &str) -> (i32, serde_json::Value, String) {
    let mut a = vec!["check"];
    a.extend(DATA);
    a.extend(["--sql", sql]);
    sqlveil(&a)
}

#[test]
fn check_allows_and_describes_columns() {
    let (code, json, _) = check("SELECT full_name, city FROM customers");
    assert_eq!(code, 0);
    assert_eq!(json["verdict"], "allowed");
    assert_eq!(json["columns"][0]["action"], "tokenize");
    assert_eq!(json["columns"][0]["class"], "person");
    assert_eq!(json["columns"][1]["action"], "allow");
    assert!(json["sql"].as_str().unwrap().ends_with("LIMIT 200"));
}

#[test]
fn check_refusal_exits_1_with_reason() {
    let (code, json, stderr) = check("SELECT ssn FROM customers");
    assert_eq!(code, 1);
    assert_eq!(json["verdict"], "refused");
    assert_eq!(json["reason"], "denied_column");
    assert_eq!(json["column"], "customers.ssn");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let (code, json, _) = check("SELECT emial FROM customers");
    assert_eq!(code, 1);
    assert_eq!(json["suggestion"], "email");
}

#[test]
fn bad_input_exits_2_with_one_sentence() {
    let dir = tempdir_with(&[("bad.toml", "version = 1\n[defaults]\nmax_rowz = 1\n")]);
    let rules = dir.path().join("bad.toml");
    let (code, _, stderr) = sqlveil(&[
        "check",
        "--data",
        "examples/data",
        "--rules",
        rules.to_str().unwrap(),
        "--sql",
        "SELECT 1",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("bad.toml:3:"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    let (code, _, _) = sqlveil(&[
        "check",
        "--data",
        "/nonexistent",
        "--rules",
        "rules/sample.toml",
        "--sql",
        "SELECT 1",
    ]);
    assert_eq!(code, 2);
    let (code, _, _) = sqlveil(&["check", "--bogus"]);
    assert_eq!(code, 2);
}

#[test]
fn rules_lint_reports_drift() {
    let (code, json, _) = sqlveil(&[
        "rules",
        "lint",
        "--data",
        "examples/data",
        "--rules",
        "rules/sample.toml",
    ]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["ok"], true);

    let dir = tempdir_with(&[
        ("people.csv", "id,name,shoe_size\n1,Ann,40\n"),
        (
            "rules.toml",
            "version = 1\n[tables.people.columns]\nid = { action = \"allow\" }\nname = { action = \"tokenize\", class = \"person\" }\nemail = { action = \"deny\" }\n[tables.gone.columns]\nx = { action = \"allow\" }\n",
        ),
    ]);
    let d = dir.path().to_str().unwrap();
    let rules = dir.path().join("rules.toml");
    let (code, json, _) = sqlveil(&[
        "rules",
        "lint",
        "--data",
        d,
        "--rules",
        rules.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["missing_tables"][0], "gone");
    assert_eq!(json["tables"][0]["missing_columns"][0], "email");
    assert_eq!(
        json["tables"][0]["unlisted_columns"][0]["column"],
        "shoe_size"
    );
    assert_eq!(
        json["tables"][0]["unlisted_columns"][0]["treated_as"],
        "deny"
    );
}
