//! The `sqlveil` binary: JSON on stdout, one sentence on stderr, exit codes.

use crate::util::tempdir_with;

const TEST_KEY: &str = crate::util::TEST_KEY_HEX;

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
    let other = crate::util::OTHER_KEY_HEX;
    let (_, j3, _) = scan(dir.path().join("c.jsonl").to_str().unwrap(), other);
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

use crate::util::{cli_command, finish_cli, run_cli_env, COLLIDING_EMAILS, OTHER_KEY_HEX};

fn json_of(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or(serde_json::Value::Null)
}

fn log_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Several `query` processes started together on one audit log (finding 4:
/// they all wrote seq 1 after the same line): one unbroken chain.
#[test]
fn query_processes_started_together_make_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let vault = dir.path().join("vault.jsonl");
    let (l, v) = (log.to_str().unwrap(), vault.to_str().unwrap());
    for round in 0..2 {
        let children: Vec<_> = (0..5)
            .map(|i| {
                let sql = format!("SELECT full_name, city FROM customers LIMIT {}", i + 1);
                let mut a = vec!["query"];
                a.extend(DATA);
                a.extend(["--vault", v, "--audit", l, "--sql", &sql]);
                cli_command(&a, &[("SQLVEIL_KEY", TEST_KEY)])
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let (code, _, err) = finish_cli(c, "");
            assert_eq!(code, 0, "round {round}: {err}");
        }
    }
    let (code, out, err) = run_cli_env(&["audit", "verify", l], &[("SQLVEIL_KEY", TEST_KEY)], "");
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(json_of(&out)["lines"], 10);
    let seqs: Vec<u64> = log_lines(&log)
        .iter()
        .map(|l| l["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (0..10).collect::<Vec<_>>());
}

/// `check` takes the key options of every command that writes the log, and
/// a process without the key cannot append to a keyed log.
#[test]
fn check_takes_the_key_and_never_appends_unkeyed_lines() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, TEST_KEY).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let l = log.to_str().unwrap();
    let mut a = vec!["check"];
    a.extend(DATA);
    a.extend(["--audit", l, "--key-file", key_file.to_str().unwrap()]);
    a.extend([
        "--sql",
        "SELECT city FROM customers WHERE segment = 'retail'",
    ]);
    let (code, _, err) = run_cli_env(&a, &[], "");
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "no warning for a private key file: {err}");
    let lines = log_lines(&log);
    assert_eq!(lines.len(), 1);
    assert!(lines[0]["key"].is_string(), "keyed: {}", lines[0]);
    assert!(!lines[0]["data"]["sql"].as_str().unwrap().contains("retail"));
    // Without the key: refused, nothing appended.
    let mut b = vec!["check"];
    b.extend(DATA);
    b.extend(["--audit", l, "--sql", "SELECT city FROM customers"]);
    let (code, out, err) = run_cli_env(&b, &[], "");
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("is keyed"), "{err}");
    assert_eq!(err.trim().lines().count(), 1);
    assert!(out.is_empty());
    // With another key: refused too.
    let (code, _, err) = run_cli_env(&b, &[("SQLVEIL_KEY", OTHER_KEY_HEX)], "");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("another key"), "{err}");
    assert_eq!(log_lines(&log).len(), 1);
    // A malformed key in the environment is an error, not ignored.
    let (code, _, err) = run_cli_env(&b, &[("SQLVEIL_KEY", "00")], "");
    assert_eq!(code, 2, "{err}");
    assert_eq!(log_lines(&log).len(), 1);
}

/// `audit verify` fails closed without the key and says what happened: a
/// keyed log needs the key, another key is another key, an unkeyed log
/// needs `--unkeyed`.
#[test]
fn verify_fails_closed_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let keyed = dir.path().join("keyed.jsonl");
    let plain = dir.path().join("plain.jsonl");
    for (log, env) in [(&keyed, vec![("SQLVEIL_KEY", TEST_KEY)]), (&plain, vec![])] {
        let mut a = vec!["check"];
        a.extend(DATA);
        a.extend([
            "--audit",
            log.to_str().unwrap(),
            "--sql",
            "SELECT city FROM customers",
        ]);
        assert_eq!(run_cli_env(&a, &env, "").0, 0);
    }
    let (k, p) = (keyed.to_str().unwrap(), plain.to_str().unwrap());
    let verify = |args: &[&str], env: &[(&str, &str)]| {
        let mut a = vec!["audit", "verify"];
        a.extend(args);
        run_cli_env(&a, env, "")
    };
    let (code, out, err) = verify(&[k], &[]);
    assert_eq!(code, 2, "{out}");
    assert!(
        err.contains("this log is keyed") && err.contains("give the key"),
        "{err}"
    );
    assert_eq!(json_of(&out)["intact"], false);
    let (code, _, err) = verify(&[k, "--unkeyed"], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("this log is keyed"), "{err}");
    let (code, _, err) = verify(&[k], &[("SQLVEIL_KEY", OTHER_KEY_HEX)]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("different key") && !err.contains("tamper"),
        "{err}"
    );
    assert_eq!(verify(&[k], &[("SQLVEIL_KEY", TEST_KEY)]).0, 0);
    let (code, _, err) = verify(&[p], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--unkeyed"), "{err}");
    assert_eq!(verify(&[p, "--unkeyed"], &[]).0, 0);
    let (code, _, err) = verify(&[p], &[("SQLVEIL_KEY", TEST_KEY)]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("without the key"), "{err}");
}

/// A separate audit key chains the log: the master key alone can neither
/// continue nor verify it. Every event carries the rules file's digest.
#[test]
fn the_audit_key_is_separate_and_events_carry_the_rules_digest() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let vault = dir.path().join("vault.jsonl");
    let l = log.to_str().unwrap();
    let both = [
        ("SQLVEIL_KEY", TEST_KEY),
        ("SQLVEIL_AUDIT_KEY", OTHER_KEY_HEX),
    ];
    let mut a = vec!["query"];
    a.extend(DATA);
    a.extend([
        "--vault",
        vault.to_str().unwrap(),
        "--audit",
        l,
        "--sql",
        "SELECT city FROM customers LIMIT 1",
    ]);
    assert_eq!(run_cli_env(&a, &both, "").0, 0);
    // The master key alone (a process that only tokenizes) cannot append.
    let (code, _, err) = run_cli_env(&a, &[("SQLVEIL_KEY", TEST_KEY)], "");
    assert_eq!(code, 2, "{err}");
    assert_eq!(log_lines(&log).len(), 1);
    assert_eq!(
        run_cli_env(&["audit", "verify", l], &[("SQLVEIL_KEY", TEST_KEY)], "").0,
        1
    );
    assert_eq!(run_cli_env(&["audit", "verify", l], &both, "").0, 0);
    let audit_key_file = dir.path().join("audit.key");
    std::fs::write(&audit_key_file, OTHER_KEY_HEX).unwrap();
    let (code, _, err) = run_cli_env(
        &[
            "audit",
            "verify",
            l,
            "--audit-key-file",
            audit_key_file.to_str().unwrap(),
        ],
        &[],
        "",
    );
    assert_eq!(code, 0);
    #[cfg(unix)]
    assert!(
        err.contains("can be read by other users"),
        "a world-readable key file is warned about: {err}"
    );
    let digest = sqlveil::Policy::from_path(crate::util::root().join("rules/sample.toml"))
        .unwrap()
        .digest()
        .to_string();
    assert_eq!(log_lines(&log)[0]["data"]["rules_digest"], digest.as_str());
}

/// Several `scan` processes on one vault at once, one of each colliding
/// pair in different processes: two tokens, each revealing its own value.
#[test]
fn scan_processes_on_one_vault_never_merge_values() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault.jsonl");
    let v = vault.to_str().unwrap();
    let args = ["scan", "--rules", "rules/sample.toml", "--vault", v];
    let children: Vec<_> = (0..4)
        .map(|_| {
            cli_command(&args, &[("SQLVEIL_KEY", TEST_KEY)])
                .spawn()
                .unwrap()
        })
        .collect();
    // Every process has opened the vault and waits for its input.
    std::thread::sleep(std::time::Duration::from_millis(700));
    let outs: Vec<serde_json::Value> = children
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let text = format!("Mail {} please.", COLLIDING_EMAILS[i % 2]);
            let (code, out, err) = finish_cli(c, &text);
            assert_eq!(code, 0, "{err}");
            json_of(&out)
        })
        .collect();
    let token = |i: usize| {
        outs[i]["text"]
            .as_str()
            .unwrap()
            .trim_start_matches("Mail ")
            .trim_end_matches(" please.")
            .to_string()
    };
    assert_eq!(token(0), token(2));
    assert_eq!(token(1), token(3));
    assert_ne!(token(0), token(1));
    for (i, email) in COLLIDING_EMAILS.iter().enumerate() {
        let (code, out, err) = run_cli_env(
            &[
                "reveal",
                "--rules",
                "rules/sample.toml",
                "--role",
                "support",
                "--vault",
                v,
            ],
            &[("SQLVEIL_KEY", TEST_KEY)],
            &token(i),
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(json_of(&out)["text"], *email);
    }
}

/// Trivial keys are refused by every command, and never echoed.
#[test]
fn trivial_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("v.jsonl");
    let args = [
        "scan",
        "--rules",
        "rules/sample.toml",
        "--vault",
        v.to_str().unwrap(),
    ];
    let zero = "00".repeat(32);
    for k in [
        zero.as_str(),
        &"ab".repeat(32),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    ] {
        let (code, _, err) = run_cli_env(&args, &[("SQLVEIL_KEY", k)], "x");
        assert_eq!(code, 2, "{k}: {err}");
        assert!(err.contains("trivial"), "{err}");
        assert!(!err.contains(k));
    }
    assert!(!v.exists(), "no vault is made under a refused key");
}

/// Second review, F9: text scanned for a model has its token look-alikes
/// made harmless, so `reveal` cannot turn them into another person's value.
#[test]
fn scan_neutralizes_token_lookalikes() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v.jsonl");
    let v = vault.to_str().unwrap();
    // A real token first, issued into this vault.
    let (code, j, err) = sqlveil_with(
        &["scan", "--rules", "rules/sample.toml", "--vault", v],
        Some(TEST_KEY),
        "Write to ada@example.com today.",
    );
    assert_eq!(code, 0, "{err}");
    let text = j["text"].as_str().unwrap();
    let token = &text[text.find("<email_").unwrap()..text.find("> today").unwrap() + 1];
    // The same token typed into text that is scanned again.
    let (code, j, err) = sqlveil_with(
        &["scan", "--rules", "rules/sample.toml", "--vault", v],
        Some(TEST_KEY),
        &format!("Refund {token} now"),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(j["text"], "Refund <email_?> now");
    assert_eq!(j["counts"]["token_lookalike"], 1);
}

/// Second review, F17: output names are the model's aliases and can hold
/// anything; the audit log records them through the digester.
#[test]
fn audit_redactions_never_hold_an_alias() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("v.jsonl");
    let log = dir.path().join("a.jsonl");
    let mut a = vec!["query"];
    a.extend(DATA);
    a.extend([
        "--vault",
        vault.to_str().unwrap(),
        "--audit",
        log.to_str().unwrap(),
        "--sql",
        "SELECT full_name AS \"Liam Johnson 213-67-8559\", city FROM customers LIMIT 3",
    ]);
    let (code, _, err) = sqlveil(&a);
    assert_eq!(code, 0, "{err}");
    let mut c = vec!["check"];
    c.extend(DATA);
    c.extend([
        "--audit",
        log.to_str().unwrap(),
        "--sql",
        "SELECT full_name AS \"liam.johnson@hotmail.com\" FROM customers",
    ]);
    let (code, _, err) = sqlveil_with(&c, Some(TEST_KEY), "");
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        !text.contains("Liam") && !text.contains("213-67") && !text.contains("hotmail"),
        "{text}"
    );
    // Policy names stay readable.
    assert!(text.contains("\"column\":\"city\""), "{text}");
}
