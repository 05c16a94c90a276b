//! The audit log: no raw PII, tamper evidence, concurrency, fail-closed.

use std::path::PathBuf;
use std::sync::Arc;

use sqlveil::audit::{
    verify, verify_head, AuditEvent, AuditLogBuilder, AuditSink, Break, Decision,
};
use sqlveil::MasterKey;

fn event(i: usize) -> AuditEvent {
    AuditEvent {
        kind: "query".into(),
        actor: format!("actor{}", i % 3),
        request_id: format!("r{i}"),
        decision: Some(Decision::Allowed),
        rows: Some(i as u64),
        ..AuditEvent::default()
    }
}

fn write_log(n: usize, key: Option<&MasterKey>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLogBuilder::new().open(&path, key).unwrap();
    for i in 0..n {
        log.record(event(i)).unwrap();
    }
    (dir, path)
}

fn lines(path: &PathBuf) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn rewrite(path: &PathBuf, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn broken_at(path: &PathBuf, key: Option<&MasterKey>) -> Option<(u64, Break)> {
    verify(std::slice::from_ref(path), key)
        .unwrap()
        .broken
        .map(|(_, line, b)| (line, b))
}

#[test]
fn tampering_is_found_at_the_right_line() {
    let key = MasterKey::from_bytes(&[4; 32]);
    let (_d, path) = write_log(10, Some(&key));
    let orig = lines(&path);
    assert_eq!(broken_at(&path, Some(&key)), None);

    // One byte changed in line 4.
    let mut l = orig.clone();
    l[3] = l[3].replace("\"rows\":3", "\"rows\":4");
    rewrite(&path, &l);
    assert_eq!(broken_at(&path, Some(&key)), Some((4, Break::Edited)));

    // Line 6 deleted: line 6 now holds seq 6, one past what was expected.
    let mut l = orig.clone();
    l.remove(5);
    rewrite(&path, &l);
    assert_eq!(broken_at(&path, Some(&key)), Some((6, Break::Removed)));

    // Lines 3 and 4 swapped.
    let mut l = orig.clone();
    l.swap(2, 3);
    rewrite(&path, &l);
    assert_eq!(broken_at(&path, Some(&key)), Some((3, Break::Reordered)));

    // The tail cut in the middle of the last line.
    let mut l = orig.clone();
    let last = l.len() - 1;
    l[last].truncate(40);
    rewrite(&path, &l);
    assert_eq!(broken_at(&path, Some(&key)), Some((10, Break::Malformed)));

    // The tail cut at a line boundary: found against the head kept elsewhere.
    rewrite(&path, &orig);
    let head = verify(std::slice::from_ref(&path), Some(&key))
        .unwrap()
        .head;
    rewrite(&path, &orig[..8]);
    let v = verify_head(std::slice::from_ref(&path), Some(&key), Some(&head)).unwrap();
    assert_eq!(v.broken.map(|b| b.2), Some(Break::Truncated));

    // A forged line inserted with a recomputed plain SHA-256: caught when the
    // log is keyed.
    let (_d2, plain) = write_log(3, None);
    let forged = lines(&plain)[1].clone();
    let mut l = orig.clone();
    l.insert(5, forged);
    rewrite(&path, &l);
    assert_eq!(broken_at(&path, Some(&key)), Some((6, Break::Edited)));
    // An unkeyed log cannot tell a recomputed chain from the real one, but
    // still finds an inserted line that does not link.
    let mut pl = lines(&plain);
    let extra = pl[0].clone();
    pl.insert(2, extra);
    rewrite(&plain, &pl);
    assert_eq!(broken_at(&plain, None), Some((3, Break::Reordered)));
}

#[test]
fn reopening_continues_the_chain_and_rotation_links_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    {
        let log = AuditLogBuilder::new().open(&path, None).unwrap();
        log.record(event(0)).unwrap();
    }
    let log = AuditLogBuilder::new()
        .max_bytes(2_000)
        .open(&path, None)
        .unwrap();
    for i in 1..40 {
        log.record(event(i)).unwrap();
    }
    let mut files: Vec<PathBuf> = (1..)
        .map(|i| dir.path().join(format!("audit.jsonl.{i}")))
        .take_while(|p| p.exists())
        .collect();
    assert!(files.len() >= 3, "rotation happened");
    files.push(path.clone());
    let v = verify(&files, None).unwrap();
    assert!(v.is_intact(), "{v:?}");
    assert_eq!(v.lines, 40);
    // A file left out breaks the chain.
    files.remove(1);
    assert!(!verify(&files, None).unwrap().is_intact());
}

#[test]
fn many_threads_make_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let key = MasterKey::from_bytes(&[5; 32]);
    let log = Arc::new(AuditLogBuilder::new().open(&path, Some(&key)).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..1000 {
                    log.record(event(t * 1000 + i)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let v = verify(&[path], Some(&key)).unwrap();
    assert!(v.is_intact(), "{v:?}");
    assert_eq!(v.lines, 8000);
}

const KEY: &str = "3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c";

fn cli(args: &[&str], stdin: &str) -> (i32, String, String) {
    crate::util::run_cli(args, Some(KEY), stdin)
}

/// Planted values from every protected column of the sample data, in the
/// question and in SQL literals: after allowed, refused and failing
/// requests, none is in the log.
#[test]
fn the_log_holds_no_planted_value() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let vault = dir.path().join("vault.jsonl");
    let (l, v) = (log.to_str().unwrap(), vault.to_str().unwrap());
    let data = ["--data", "examples/data", "--rules", "rules/sample.toml"];
    let planted = [
        "Harriet Cromusshaw",
        "CUST-399807",
        "h.cromusshaw6@icloud.com",
        "(678) 555-0132",
        "9287 Walnut Boulevard",
        "630-58-3958",
        "6011429100800650",
        "98267",
        "1977-06-14",
        "30358",
        "720-555-0194",
        "Denver",
    ];
    let sqls = [
        "SELECT full_name, email, phone, zip, date_of_birth, card_number, notes FROM customers WHERE city = 'Denver'",
        "SELECT city FROM customers WHERE full_name = 'Harriet Cromusshaw'",
        "SELECT ssn FROM customers WHERE ssn = '630-58-3958'",
        "SELECT street FROM customers WHERE street LIKE '9287 Walnut Boulevard%'",
        "SELECT city FROM customers WHERE customer_number = 'CUST-399807' OR email = 'h.cromusshaw6@icloud.com'",
        "SELECT CAST(segment AS INTEGER) AS n FROM customers WHERE zip = 30358 AND income = 98267",
        "SELECT city FROM customers WHERE card_number = 6011429100800650 AND date_of_birth = '1977-06-14'",
        "SELECT notes FROM customers WHERE notes = '720-555-0194'",
        "SELECT CAST(city AS INTEGER) AS n FROM customers WHERE city = 'Denver'",
        "SELEC garbage 'Harriet Cromusshaw' (678) 555-0132",
    ];
    for sql in sqls {
        let mut a = vec!["query"];
        a.extend(data);
        a.extend(["--vault", v, "--audit", l, "--sql", sql]);
        cli(&a, "");
        let mut a = vec!["check"];
        a.extend(data);
        a.extend(["--audit", l, "--sql", sql]);
        cli(&a, "");
    }
    // Typed literals, aliases, quoted names and token look-alikes that carry
    // data, and comments.
    for sql in [
        "SELECT city AS \"Harriet Cromusshaw\" FROM customers WHERE signup_date = DATE '1977-06-14'",
        "SELECT \"630-58-3958\" FROM customers -- 6011429100800650",
        "SELECT city FROM customers WHERE city = '<x_630-58-3958>' OR city = '<a_CROMUSSHAW>'",
        "SELECT 1 FROM \"h.cromusshaw6@icloud.com\"",
    ] {
        let mut a = vec!["check"];
        a.extend(data);
        a.extend(["--audit", l, "--sql", sql]);
        cli(&a, "");
    }
    let question = "Did Harriet Cromusshaw (h.cromusshaw6@icloud.com, 630-58-3958, card 6011429100800650) from Denver order?";
    cli(
        &[
            "scan",
            "--rules",
            "rules/sample.toml",
            "--vault",
            v,
            "--audit",
            l,
        ],
        question,
    );
    let (_, revealed, _) = cli(
        &["scan", "--rules", "rules/sample.toml", "--vault", v],
        question,
    );
    let token_text = serde_json::from_str::<serde_json::Value>(&revealed).unwrap()["text"]
        .as_str()
        .unwrap()
        .to_string();
    cli(
        &[
            "reveal",
            "--rules",
            "rules/sample.toml",
            "--role",
            "support",
            "--vault",
            v,
            "--audit",
            l,
        ],
        &token_text,
    );

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.lines().count() >= 20, "{text}");
    for p in planted {
        assert!(!text.contains(p), "a planted value is in the audit log");
    }
    let (code, out, _) = cli(&["audit", "verify", l], "");
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = cli(&["audit", "summary", l, "--json"], "");
    assert_eq!(code, 0);
    let s: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(s["decisions"]["refused"].as_u64().unwrap() >= 5, "{s}");
    assert!(s["decisions"]["allowed"].as_u64().unwrap() >= 3, "{s}");
    assert!(s["decisions"]["error"].as_u64().unwrap() >= 1, "{s}");
    assert!(s["detectors"]["email"].as_u64().unwrap() >= 1, "{s}");
    assert!(s["reasons"]["denied_column"].as_u64().unwrap() >= 1, "{s}");
}

#[test]
fn a_log_that_cannot_be_written_fails_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let v = dir.path().join("vault.jsonl");
    // The log's folder is a file: the log cannot be opened.
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, "x").unwrap();
    let log = not_a_dir.join("audit.jsonl");
    let (code, out, err) = cli(
        &[
            "query",
            "--data",
            "examples/data",
            "--rules",
            "rules/sample.toml",
            "--vault",
            v.to_str().unwrap(),
            "--audit",
            log.to_str().unwrap(),
            "--sql",
            "SELECT full_name FROM customers",
        ],
        "",
    );
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty(), "no result leaves: {out}");
    assert!(err.contains("audit.jsonl"), "{err}");
    assert_eq!(err.trim().lines().count(), 1);
}

/// A sink that always fails: a request recorded through it fails, and with
/// `fail_open` the log reports the failure instead.
#[test]
fn failing_sinks_fail_closed_unless_told_otherwise() {
    struct Full;
    impl AuditSink for Full {
        fn record(&self, _: AuditEvent) -> Result<(), sqlveil::Error> {
            Err(sqlveil::MasterKey::parse("no space left").unwrap_err())
        }
    }
    let sink: &dyn AuditSink = &Full;
    assert!(sink.record(event(0)).is_err());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLogBuilder::new()
        .fail_open(true)
        .open(&path, None)
        .unwrap();
    assert!(log.record_or_warn(event(0)).unwrap().is_none());
}

/// Issue 11, finding 6: every literal form is refused by the guard or
/// digested in the log; a placeholder was written raw.
#[test]
fn every_literal_form_is_digested_in_the_log() {
    let policy = crate::util::sample_policy();
    let d = sqlveil::audit::Digester::new(&MasterKey::from_bytes(&[3; 32]), &policy).unwrap();
    for (sql, secret) in [
        (
            "SELECT city FROM customers WHERE city = $ZebulonQuixworth",
            "Zebulon",
        ),
        (
            "SELECT city FROM customers WHERE city = :ZebulonQuixworth",
            "Zebulon",
        ),
        (
            "SELECT city FROM customers WHERE city = @ZebulonQuixworth",
            "Zebulon",
        ),
        ("SELECT city FROM customers WHERE city = ?", "?"),
        (
            "SELECT city FROM customers WHERE city = N'Zebulon Quixworth'",
            "Zebulon",
        ),
        (
            "SELECT city FROM customers WHERE city = E'Zebulon\\x20Quixworth'",
            "Zebulon",
        ),
        (
            "SELECT city FROM customers WHERE city = $$Zebulon Quixworth$$",
            "Zebulon",
        ),
        (
            "SELECT city FROM customers WHERE city = $q$Zebulon Quixworth$q$",
            "Zebulon",
        ),
        (
            "SELECT city FROM customers WHERE city = X'5A6562756C6F6E'",
            "5A6562756C6F6E",
        ),
        (
            "SELECT city FROM customers WHERE city = U&'Zebulon'",
            "Zebulon",
        ),
        (
            "SELECT city FROM customers WHERE city = DATE '1984-02-29'",
            "1984-02-29",
        ),
        (
            "SELECT city FROM customers WHERE city = 'Zebulon' -- Quixworth",
            "Quixworth",
        ),
        (
            "SELECT city FROM customers WHERE city = 'Zebulon' /* Quixworth */",
            "Quixworth",
        ),
        (
            "SELECT city FROM customers WHERE income = 123456789",
            "123456789",
        ),
    ] {
        let logged = d.sql(sql, None);
        assert!(!logged.contains(secret), "{sql} -> {logged}");
        assert!(
            logged.contains("SELECT city FROM customers WHERE"),
            "{logged}"
        );
    }
    // Punctuation and operators stay readable.
    let logged = d.sql(
        "SELECT city, count(*) FROM customers WHERE segment <> 'vip'",
        None,
    );
    assert!(
        logged.contains("count(*)") && logged.contains("<>"),
        "{logged}"
    );
}
