//! The guard: table-driven cases from `tests/data/guard/*.toml`, plus bounds
//! on untrusted SQL.

use serde::Deserialize;
use sqlveil::error::Reason;
use sqlveil::guard::{Guard, GuardBuilder};

use crate::util::{root, sample_guard};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    sql: String,
    expect: String,
    reason: Option<String>,
    column: Option<String>,
    actions: Option<Vec<String>>,
    sources: Option<Vec<Vec<String>>>,
    rewritten: Option<String>,
    /// `postgres` to check with the PostgreSQL dialect (correlated
    /// subqueries, which the polars dialect refuses).
    dialect: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    test: Vec<Case>,
}

thread_local! {
    /// With `SQLVEIL_BLESS` set: the expected rewritten SQL that differs,
    /// and what the guard writes now, to be written back into the files.
    static BLESSED: std::cell::RefCell<Vec<(String, String)>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn run_case(guard: &Guard, group: &str, c: &Case) -> Result<(), String> {
    let label = format!("{group}/{}", c.name);
    let result = guard.check(&c.sql);
    match (c.expect.as_str(), result) {
        ("allow", Ok(q)) => {
            if let Some(want) = &c.actions {
                let got: Vec<&str> = q.columns().iter().map(|c| c.action.as_tag()).collect();
                if &got != want {
                    return Err(format!("{label}: actions {got:?}, expected {want:?}"));
                }
            }
            if let Some(want) = &c.sources {
                let got: Vec<Vec<String>> = q
                    .columns()
                    .iter()
                    .map(|c| c.sources.iter().map(|s| s.to_string()).collect())
                    .collect();
                if &got != want {
                    return Err(format!("{label}: sources {got:?}, expected {want:?}"));
                }
            }
            if let Some(want) = &c.rewritten {
                if q.sql() != want && std::env::var_os("SQLVEIL_BLESS").is_some() {
                    BLESSED.with(|b| b.borrow_mut().push((want.clone(), q.sql().to_string())));
                } else if q.sql() != want {
                    return Err(format!(
                        "{label}: rewritten\n  {}\nexpected\n  {want}",
                        q.sql()
                    ));
                }
            }
            // The SQL is the guard's own: no name the model wrote.
            crate::util::assert_guard_written(q.sql(), &label)?;
            Ok(())
        }
        ("allow", Err(e)) => Err(format!("{label}: expected allow, got {} ({e})", e.code())),
        ("refuse", Ok(q)) => Err(format!("{label}: expected refusal, allowed as {}", q.sql())),
        ("refuse", Err(e)) => {
            let Some(r) = e.refusal() else {
                return Err(format!("{label}: expected a refusal, got error {e}"));
            };
            if let Some(want) = &c.reason {
                if r.reason().code() != want {
                    return Err(format!(
                        "{label}: reason {}, expected {want} ({r})",
                        r.reason().code()
                    ));
                }
            } else {
                return Err(format!("{label}: a refusal case must name its reason"));
            }
            if let Some(want) = &c.column {
                if r.column_name() != Some(want.as_str()) {
                    return Err(format!(
                        "{label}: column {:?}, expected {want} ({r})",
                        r.column_name()
                    ));
                }
            }
            Ok(())
        }
        (other, _) => Err(format!("{label}: unknown expect {other:?}")),
    }
}

#[test]
fn table_driven_cases() {
    let (policy, engine, guard) = sample_guard();
    let pg = GuardBuilder::new()
        .dialect(sqlveil::schema::Dialect::Postgres)
        .order_key(crate::util::ORDER_KEY)
        .build(&policy, sqlveil::Engine::catalog(&engine))
        .unwrap();
    let dir = root().join("tests/data/guard");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/data/guard exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    let mut count = 0;
    for f in files {
        let group = f.file_stem().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        let cases: CaseFile =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for c in &cases.test {
            count += 1;
            let g = match c.dialect.as_deref() {
                None | Some("polars") => &guard,
                Some("postgres") => &pg,
                Some(other) => panic!("{}: unknown dialect {other}", c.name),
            };
            if let Err(msg) = run_case(g, &group, c) {
                failures.push(msg);
            }
        }
        let blessed = BLESSED.with(|b| std::mem::take(&mut *b.borrow_mut()));
        if !blessed.is_empty() {
            let mut text = text;
            for (old, new) in blessed {
                for q in ["\"\"\"", "'"] {
                    text = text.replace(&format!("{q}{old}{q}"), &format!("\"\"\"{new}\"\"\""));
                }
            }
            std::fs::write(&f, text).unwrap();
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn reason(guard: &Guard, sql: &str) -> Reason {
    guard
        .check(sql)
        .expect_err("should be refused")
        .refusal()
        .expect("a refusal")
        .reason()
}

#[test]
fn very_long_sql_is_refused() {
    let (_, _, guard) = sample_guard();
    let mut sql = String::from("SELECT city FROM customers WHERE city IN (");
    for i in 0..20_000 {
        sql.push_str(&format!("'c{i}',"));
    }
    sql.push_str("'x')");
    assert_eq!(reason(&guard, &sql), Reason::TooLong);
}

#[test]
fn deep_nesting_is_refused_without_overflow() {
    let (_, _, guard) = sample_guard();
    // Parentheses.
    let sql = format!(
        "SELECT {}1{} FROM customers",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    assert_eq!(reason(&guard, &sql), Reason::TooDeep);
    // A left-deep operator chain, which the parser builds without recursing.
    let sql = format!("SELECT 1{} FROM customers", "+1".repeat(20_000));
    assert_eq!(reason(&guard, &sql), Reason::TooDeep);
    let sql = format!(
        "SELECT city FROM customers WHERE {}",
        vec!["city = 'x'"; 3000].join(" OR ")
    );
    assert_eq!(reason(&guard, &sql), Reason::TooDeep);
    // Nested subqueries.
    let mut sql = String::from("SELECT city FROM customers");
    for _ in 0..200 {
        sql = format!("SELECT city FROM ({sql}) t");
    }
    assert_eq!(reason(&guard, &sql), Reason::TooDeep);
    // A moderate chain still passes.
    let sql = format!("SELECT 1{} AS n FROM customers", "+1".repeat(30));
    guard.check(&sql).unwrap();
}

#[test]
fn depth_is_configurable() {
    let policy = crate::util::sample_policy();
    let engine = crate::util::sample_engine(&policy);
    let guard = GuardBuilder::new()
        .max_depth(8)
        .build(&policy, sqlveil::Engine::catalog(&engine))
        .unwrap();
    let sql = "SELECT city FROM (SELECT city FROM (SELECT city FROM (SELECT city FROM (SELECT city FROM customers) a) b) c) d";
    assert_eq!(reason(&guard, sql), Reason::TooDeep);
}

#[test]
fn parse_errors_do_not_echo_literals() {
    let (_, _, guard) = sample_guard();
    let e = guard
        .check("SELECT city FROM customers WHERE city = 'Harriet Cromusshaw' ))")
        .unwrap_err();
    assert_eq!(e.refusal().unwrap().reason(), Reason::ParseError);
    assert!(!e.to_string().contains("Cromusshaw"), "{e}");
    let e = guard.check("SELEC 'Harriet Cromusshaw'").unwrap_err();
    assert!(!e.to_string().contains("Cromusshaw"), "{e}");
}

#[test]
fn public_types_are_thread_safe() {
    fn check<T: Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    fn send_sync<T: Send + Sync>() {}
    check::<sqlveil::guard::Guard>();
    check::<sqlveil::guard::GuardedQuery>();
    check::<sqlveil::Policy>();
    check::<sqlveil::error::Refusal>();
    check::<sqlveil::schema::Catalog>();
    // These hold an `io::Error` and polars plans, which are not unwind-safe.
    send_sync::<sqlveil::Error>();
    send_sync::<sqlveil::PolarsEngine>();
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

    /// Arbitrary text never panics the guard.
    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        let _ = crate::util::shared_guard().check(&s);
    }

    /// SQL-shaped noise around real names never panics and never lets a
    /// denied column through.
    #[test]
    fn sql_noise_never_shows_ssn(
        parts in proptest::collection::vec(proptest::sample::select(vec![
            "SELECT", "ssn", "city", "FROM", "customers", "c", "WHERE", "=", "'x'", "(", ")",
            ",", "UNION", "JOIN", "ON", "c.ssn", "*", "AS", "GROUP BY", "ORDER BY", "1", "COUNT(",
            "income", "AVG(", "LIMIT", "WITH", "t", "t.*", "CASE WHEN", "THEN", "END", "IN",
        ]), 1..24)
    ) {
        let sql = parts.join(" ");
        if let Ok(q) = crate::util::shared_guard().check(&sql) {
            for c in q.columns() {
                proptest::prop_assert!(
                    !c.sources.iter().any(|s| s.column == "ssn"),
                    "{sql} -> {}", q.sql()
                );
            }
        }
    }
}
