//! The `sqlveil` binary: JSON on stdout, one sentence on stderr, exit codes.

use crate::util::tempdir_with;

const TEST_KEY: &str = "5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f";

fn sqlveil(args: &[&str]) -> (i32, serde_json::Value, String) {
    sqlveil_with(args, Some(TEST_KEY), "")
}

/// Runs the binary with a key in the environment (or none) and stdin text;
/// stdout parsed as JSON.
fn sqlveil_with(args: &[&str], key: Option<&str>, stdin: &str) -> (i32, serde_json::Value, String) {
    let (code, stdout, stderr) = crate::util::run_cli(args, key, stdin);
    let json = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    (code, json, stderr)
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

fn query(vault: &str, sql: &str) -> (i32, serde_json::Value, String) {
    let mut a = vec!["query"];
    a.extend(DATA);
    a.extend(["--vault", vault, "--sql", sql]);
    sqlveil(&a)
}

#[test]
fn query_prints_protected_rows_and_reveal_gives_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault.jsonl");
    let v = vault.to_str().unwrap();
    let (code, json, err) = query(v, "SELECT full_name, email, city FROM customers WHERE customer_id IN (SELECT customer_id FROM orders WHERE order_id = 10001)");
    assert_eq!(code, 0, "{err}");
    let row = &json["rows"][0];
    let name = row["full_name"].as_str().unwrap().to_string();
    assert!(name.starts_with("<person_"), "{row}");
    assert!(row["email"].as_str().unwrap().contains("***@"), "{row}");
    assert_eq!(json["columns"][0]["action"], "tokenize");

    // Reveal in another process, from the vault file.
    let text = format!("The customer is {name}.");
    let (code, json, err) = reveal_cli("support", v, &text);
    assert_eq!(code, 0, "{err}");
    let revealed = json["text"].as_str().unwrap();
    assert!(!revealed.contains("<person_"), "{revealed}");
    assert_eq!(json["revealed"], 1);
    // A role that may not see people gets the token back.
    let (_, json, _) = reveal_cli("analyst", v, &text);
    assert_eq!(json["text"], text);

    // The token, used as a filter in another process, finds the same person.
    let (code, json, err) = query(
        v,
        &format!("SELECT city FROM customers WHERE full_name = '{name}'"),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["row_count"], 1);
}

#[test]
fn tokens_are_the_same_in_two_processes_and_differ_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = "Write to ada@example.com or call (415) 555-0134.";
    let scan = |vault: &str, key: &str| {
        sqlveil_with(
            &["scan", "--rules", "rules/sample.toml", "--vault", vault],
            Some(key),
            text,
        )
    };
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    let (c1, j1, _) = scan(a.to_str().unwrap(), TEST_KEY);
    let (c2, j2, _) = scan(b.to_str().unwrap(), TEST_KEY);
    assert_eq!((c1, c2), (0, 0));
    assert_eq!(j1["text"], j2["text"]);
    assert!(!j1["text"].as_str().unwrap().contains("ada@example.com"));
    assert_eq!(j1["counts"]["email"], 1);
    assert_eq!(j1["counts"]["phone"], 1);
    let other = "6".repeat(64);
    let (_, j3, _) = scan(dir.path().join("c.jsonl").to_str().unwrap(), &other);
    assert_ne!(j1["text"], j3["text"]);
}

#[test]
fn missing_or_bad_keys_are_one_sentence_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("v.jsonl");
    let args = [
        "scan",
        "--rules",
        "rules/sample.toml",
        "--vault",
        v.to_str().unwrap(),
    ];
    let (code, _, err) = sqlveil_with(&args, None, "x");
    assert_eq!(code, 2);
    assert!(err.contains("SQLVEIL_KEY"), "{err}");
    assert_eq!(err.trim().lines().count(), 1);
    let (code, _, err) = sqlveil_with(&args, Some("abcd"), "x");
    assert_eq!(code, 2);
    assert!(!err.contains("abcd"), "the key is never echoed: {err}");
    // Hash tokens without a vault.
    let (code, _, err) = sqlveil_with(
        &["scan", "--rules", "rules/sample.toml"],
        Some(TEST_KEY),
        "x",
    );
    assert_eq!(code, 2);
    assert!(err.contains("--vault"), "{err}");
}

#[test]
fn scan_with_data_finds_the_data_own_values() {
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("v.jsonl");
    let v = v.to_str().unwrap();
    let text = "Please call harriet cromusshaw back about her order.";
    let (code, json, err) = sqlveil_with(
        &[
            "scan",
            "--rules",
            "rules/sample.toml",
            "--vault",
            v,
            "--data",
            "examples/data",
        ],
        Some(TEST_KEY),
        text,
    );
    assert_eq!(code, 0, "{err}");
    let out = json["text"].as_str().unwrap();
    assert!(out.starts_with("Please call <person_"), "{out}");
    assert!(!out.to_lowercase().contains("cromusshaw"), "{out}");
    assert_eq!(json["counts"]["known:customers.full_name"], 1);
    assert_eq!(json["hits"][0]["detector"], "known:customers.full_name");
    assert_eq!(json["hits"][0]["class"], "person");
    // Progress lines may come (a debug build takes over a second to build
    // the index); warnings may not.
    assert!(
        !err.contains("warning"),
        "no warning for the sample data: {err}"
    );
    // Reveal in another process gives the name as the data spells it.
    let (code, json, _) = reveal_cli("support", v, out);
    assert_eq!(code, 0);
    assert_eq!(
        json["text"],
        "Please call Harriet Cromusshaw back about her order."
    );

    // Without --data, a name has no pattern and passes.
    let (_, json, _) = sqlveil_with(
        &["scan", "--rules", "rules/sample.toml", "--vault", v],
        Some(TEST_KEY),
        text,
    );
    assert_eq!(json["text"], text);

    // A data folder that does not open is bad input.
    let (code, _, err) = sqlveil_with(
        &[
            "scan",
            "--rules",
            "rules/sample.toml",
            "--vault",
            v,
            "--data",
            "/nonexistent",
        ],
        Some(TEST_KEY),
        text,
    );
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// `sqlveil reveal` on the sample rules for a role, with a vault file.
fn reveal_cli(role: &str, vault: &str, text: &str) -> (i32, serde_json::Value, String) {
    sqlveil_with(
        &[
            "reveal",
            "--rules",
            "rules/sample.toml",
            "--role",
            role,
            "--vault",
            vault,
        ],
        Some(TEST_KEY),
        text,
    )
}
