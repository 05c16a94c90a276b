//! The audit log: no raw PII, tamper evidence, concurrency, fail-closed.

use std::path::PathBuf;
use std::sync::Arc;

use sqlveil::audit::{
    verify, verify_head, verify_with, AuditEvent, AuditKey, AuditLogBuilder, AuditSink, Break,
    Decision, VerifyOptions,
};
use sqlveil::{ErrorKind, MasterKey};

use crate::util::{
    spawn_worker, wait_for_go, wait_worker, OTHER_KEY_HEX, TEST_KEY_HEX, WORKER_ENV,
};

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
    // log is keyed (it carries no key).
    let (_d2, plain) = write_log(3, None);
    let forged = lines(&plain)[1].clone();
    let mut l = orig.clone();
    l.insert(5, forged.clone());
    rewrite(&path, &l);
    assert_eq!(broken_at(&path, Some(&key)), Some((6, Break::Unkeyed)));
    // … also when it claims the key's fingerprint.
    let fp = AuditKey::from_master(&key)
        .unwrap()
        .fingerprint()
        .to_string();
    l[5] = forged.replacen("\"data\"", &format!("\"key\":\"{fp}\",\"data\""), 1);
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
    // A file left out breaks the chain, the first one too.
    let mut gap = files.clone();
    gap.remove(1);
    assert!(!verify(&gap, None).unwrap().is_intact());
    let v = verify(&files[1..], None).unwrap();
    assert_eq!(v.broken.map(|b| (b.1, b.2)), Some((1, Break::Unanchored)));
    // Given the start hash (the last hash of the first file), the rest verifies.
    let start = verify(&files[..1], None).unwrap().head;
    let v = verify_with(&files[1..], &VerifyOptions::new().start(start)).unwrap();
    assert!(v.is_intact(), "{v:?}");
    assert_eq!(v.lines + verify(&files[..1], None).unwrap().lines, 40);
}

/// Lines cut from the start of a log are found: the chain is anchored at
/// seq 0 and the genesis value.
#[test]
fn a_log_without_its_first_lines_does_not_verify() {
    let key = MasterKey::from_bytes(&[4; 32]);
    let (_d, path) = write_log(6, Some(&key));
    let orig = lines(&path);
    assert!(orig[0].starts_with(&format!(
        "{{\"seq\":0,\"prev\":\"{}\"",
        sqlveil::audit::GENESIS
    )));
    for cut in 1..4 {
        rewrite(&path, &orig[cut..]);
        assert_eq!(
            broken_at(&path, Some(&key)),
            Some((1, Break::Unanchored)),
            "{cut}"
        );
    }
    // A wrong start hash is no better.
    rewrite(&path, &orig[2..]);
    let v = verify_with(
        std::slice::from_ref(&path),
        &VerifyOptions::new()
            .key(AuditKey::from_master(&key).unwrap())
            .start("00".repeat(32)),
    )
    .unwrap();
    assert_eq!(v.broken.map(|b| b.2), Some(Break::Unanchored));
}

/// Every byte of a line is covered: fields added after the hash, or any byte
/// after it, break the line.
#[test]
fn bytes_after_the_hash_break_the_line() {
    let key = MasterKey::from_bytes(&[4; 32]);
    let (_d, path) = write_log(3, Some(&key));
    let orig = lines(&path);
    for tail in [",\"role\":\"admin\"}", " ", "}", ",\"hash\":\"00\"}"] {
        let mut l = orig.clone();
        let last = l[1].len() - 1;
        l[1] = format!("{}{tail}", &l[1][..last]);
        if tail == " " || tail == "}" {
            l[1] = format!("{}{tail}", orig[1]);
        }
        rewrite(&path, &l);
        assert_eq!(
            broken_at(&path, Some(&key)),
            Some((2, Break::Malformed)),
            "{tail}"
        );
    }
    // A duplicated field before the hash is not accepted either.
    let mut l = orig.clone();
    l[1] = l[1].replacen("{\"seq\":1,", "{\"seq\":1,\"seq\":1,", 1);
    rewrite(&path, &l);
    assert!(broken_at(&path, Some(&key)).is_some());
}

/// A keyed log says so: without the key, verify reports that a key is
/// needed (not tampering); with another key, that it is another key; an
/// unkeyed log from scratch does not pass a keyed verification.
#[test]
fn verify_names_key_problems() {
    let key = MasterKey::from_bytes(&[4; 32]);
    let (_d, path) = write_log(3, Some(&key));
    let files = [path.clone()];
    let v = verify(&files, None).unwrap();
    assert_eq!(
        v.broken.as_ref().map(|b| (b.1, b.2)),
        Some((1, Break::KeyNeeded))
    );
    let fp = AuditKey::from_master(&key)
        .unwrap()
        .fingerprint()
        .to_string();
    assert_eq!(v.key.as_deref(), Some(fp.as_str()));
    assert!(!std::fs::read_to_string(&path)
        .unwrap()
        .contains(&"04".repeat(32)));
    let v = verify(&files, Some(&MasterKey::from_bytes(&[5; 32]))).unwrap();
    assert_eq!(v.broken.map(|b| (b.1, b.2)), Some((1, Break::OtherKey)));
    // A log forged from scratch without a key.
    let (_d2, forged) = write_log(3, None);
    let v = verify(&[forged], Some(&key)).unwrap();
    assert_eq!(v.broken.map(|b| (b.1, b.2)), Some((1, Break::Unkeyed)));
}

/// A writer never continues a chain it cannot verify: an unkeyed writer on a
/// keyed log, a keyed one on an unkeyed log, another key, an altered tail.
#[test]
fn writers_refuse_logs_they_cannot_continue() {
    let key = MasterKey::from_bytes(&[4; 32]);
    let (_d, path) = write_log(2, Some(&key));
    let e = AuditLogBuilder::new().open(&path, None).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Key(_)), "{e}");
    assert!(e.to_string().contains("is keyed"), "{e}");
    let e = AuditLogBuilder::new()
        .open(&path, Some(&MasterKey::from_bytes(&[5; 32])))
        .unwrap_err();
    assert!(e.to_string().contains("another key"), "{e}");
    let (_d2, plain) = write_log(2, None);
    let e = AuditLogBuilder::new().open(&plain, Some(&key)).unwrap_err();
    assert!(e.to_string().contains("without a key"), "{e}");
    // An altered last line.
    let mut l = lines(&path);
    l[1] = l[1].replace("\"rows\":1", "\"rows\":2");
    rewrite(&path, &l);
    let e = AuditLogBuilder::new().open(&path, Some(&key)).unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Audit { .. }), "{e}");
    // A torn last line.
    std::fs::write(&path, "{\"seq\":0,\"prev\":").unwrap();
    let e = AuditLogBuilder::new().open(&path, Some(&key)).unwrap_err();
    assert!(e.to_string().contains("incomplete"), "{e}");
    // Nothing was appended by any of them.
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"seq\":0,\"prev\":"
    );
}

/// A writer notices when the log it writes to was cut or removed under it,
/// rather than starting a new chain.
#[test]
fn a_log_cut_under_a_writer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLogBuilder::new().open(&path, None).unwrap();
    for i in 0..3 {
        log.record(event(i)).unwrap();
    }
    std::fs::remove_file(&path).unwrap();
    let e = log.record(event(3)).unwrap_err();
    assert!(e.to_string().contains("cut or replaced"), "{e}");
    let l = lines(&path);
    assert!(l.is_empty(), "{l:?}");
    // A removed lock file would let a second writer in: refused too.
    let path = dir.path().join("other.jsonl");
    let log = AuditLogBuilder::new().open(&path, None).unwrap();
    log.record(event(0)).unwrap();
    std::fs::remove_file(dir.path().join("other.jsonl.lock")).unwrap();
    let e = log.record(event(1)).unwrap_err();
    assert!(e.to_string().contains("lock file"), "{e}");
}

/// A separate audit key: the master key cannot continue or verify the log,
/// and the audit key can.
#[test]
fn a_separate_audit_key_chains_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let audit = AuditKey::parse(OTHER_KEY_HEX).unwrap();
    let master = MasterKey::parse(TEST_KEY_HEX).unwrap();
    let log = AuditLogBuilder::new()
        .open_with(&path, Some(&audit))
        .unwrap();
    log.record(event(0)).unwrap();
    assert_eq!(log.key_fingerprint(), Some(audit.fingerprint()));
    drop(log);
    assert!(AuditLogBuilder::new().open(&path, Some(&master)).is_err());
    let files = [path];
    assert_eq!(
        verify(&files, Some(&master)).unwrap().broken.map(|b| b.2),
        Some(Break::OtherKey)
    );
    assert!(verify_with(&files, &VerifyOptions::new().key(audit))
        .unwrap()
        .is_intact());
}

/// The log and its lock are created readable by their owner only.
#[cfg(unix)]
#[test]
fn log_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLogBuilder::new()
        .max_bytes(300)
        .open(&path, None)
        .unwrap();
    for i in 0..5 {
        log.record(event(i)).unwrap();
    }
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let f = f.unwrap().path();
        let mode = std::fs::metadata(&f).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", f.display());
    }
}

/// A worker process for `processes_make_one_chain`: opens the log, waits for
/// the go signal, appends `W_EVENTS` events.
#[test]
#[ignore = "a worker process, run by processes_make_one_chain"]
fn worker_audit_append() {
    if std::env::var_os(WORKER_ENV).is_none() {
        return;
    }
    let path = std::env::var("W_LOG").unwrap();
    let n: usize = std::env::var("W_EVENTS").unwrap().parse().unwrap();
    let id: usize = std::env::var("W_ID").unwrap().parse().unwrap();
    let mut b = AuditLogBuilder::new();
    if let Ok(m) = std::env::var("W_MAX_BYTES") {
        b = b.max_bytes(m.parse().unwrap());
    }
    let key = AuditKey::parse(OTHER_KEY_HEX).unwrap();
    let log = b.open_with(&path, Some(&key)).unwrap();
    wait_for_go(std::path::Path::new(&std::env::var("W_GO").unwrap()));
    for i in 0..n {
        log.record(event(id * 100_000 + i)).unwrap();
    }
}

/// N processes × M requests on one log, all started at once, some rotating
/// the file: one unbroken chain of N × M lines.
#[test]
fn processes_make_one_chain() {
    for max_bytes in [None, Some(6_000u64)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let go = dir.path().join("go");
        const N: usize = 4;
        const M: usize = 150;
        let children: Vec<_> = (0..N)
            .map(|w| {
                let mut env = vec![
                    ("W_LOG", path.display().to_string()),
                    ("W_GO", go.display().to_string()),
                    ("W_EVENTS", M.to_string()),
                    ("W_ID", w.to_string()),
                ];
                if let Some(m) = max_bytes {
                    env.push(("W_MAX_BYTES", m.to_string()));
                }
                spawn_worker("audit::worker_audit_append", &env)
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(300));
        std::fs::write(&go, "").unwrap();
        for c in children {
            wait_worker(c);
        }
        let mut files: Vec<PathBuf> = (1..)
            .map(|i| dir.path().join(format!("audit.jsonl.{i}")))
            .take_while(|p| p.exists())
            .collect();
        assert_eq!(files.is_empty(), max_bytes.is_none());
        files.push(path);
        let key = AuditKey::parse(OTHER_KEY_HEX).unwrap();
        let v = verify_with(&files, &VerifyOptions::new().key(key)).unwrap();
        assert!(v.is_intact(), "{max_bytes:?}: {v:?}");
        assert_eq!(v.lines, (N * M) as u64);
    }
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

const KEY: &str = TEST_KEY_HEX;

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
        assert!(
            !text.contains(p),
            "a planted value is in the audit log: {p}"
        );
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
