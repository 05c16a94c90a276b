//! Leak tests: queries over the sample data run through the guard and the
//! polars engine; no value of a `deny` column and no result of a function
//! over a protected column may appear in any allowed result.

use polars::prelude::*;
use sqlveil::error::Reason;

use crate::util::{cells, root, sample_guard};

/// Every value of the sample's `deny` columns (street, ssn).
fn denied_values() -> Vec<String> {
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(root().join("examples/data/customers.csv")))
        .unwrap()
        .finish()
        .unwrap();
    let mut out = Vec::new();
    for c in ["street", "ssn"] {
        let s = df.column(c).unwrap().cast(&DataType::String).unwrap();
        out.extend(s.str().unwrap().iter().flatten().map(str::to_string));
    }
    assert!(out.len() >= 400);
    out
}

fn assert_no_denied(sql: &str, df: &DataFrame, denied: &[String]) {
    for cell in cells(df) {
        for d in denied {
            assert!(!cell.contains(d.as_str()), "{sql}: a denied value came out");
        }
    }
}

/// Allowed queries of many shapes: none may carry a denied value.
#[test]
fn allowed_queries_never_return_denied_values() {
    let (_, engine, guard) = sample_guard();
    let denied = denied_values();
    let queries = [
        "SELECT * FROM customers",
        "SELECT c.* FROM customers c",
        "SELECT * FROM customers c JOIN orders o ON c.customer_id = o.customer_id",
        "SELECT city, COUNT(*) AS n FROM customers GROUP BY city ORDER BY n DESC",
        "WITH x AS (SELECT * FROM customers) SELECT * FROM x",
        "SELECT * FROM (SELECT * FROM customers) t",
        "SELECT city FROM customers UNION SELECT ship_city FROM orders",
        "SELECT notes FROM customers",
        "SELECT body, subject FROM tickets",
        "SELECT city, AVG(income) AS avg_income FROM customers GROUP BY city",
        "SELECT segment, SUM(income) AS s, COUNT(income) AS n FROM customers GROUP BY segment",
        "SELECT c.city, COUNT(DISTINCT c.customer_id) AS people FROM customers c GROUP BY c.city",
        "SELECT o.status, SUM(o.amount) AS total FROM orders o GROUP BY o.status",
    ];
    for sql in queries {
        let q = guard.check(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let df = sqlveil::run(&engine, &q).unwrap_or_else(|e| panic!("{sql}: {e} / {}", q.sql()));
        assert_no_denied(sql, &df, &denied);
        for c in q.columns() {
            assert!(!c
                .sources
                .iter()
                .any(|s| s.column == "ssn" || s.column == "street"));
        }
    }
}

/// Functions over protected columns are refused: their results could reveal
/// the value.
#[test]
fn functions_over_protected_columns_are_refused() {
    let (_, _, guard) = sample_guard();
    let cases = [
        (
            "SELECT substr(ssn, 1, 3) FROM customers",
            Reason::DeniedColumn,
        ),
        (
            "SELECT length(full_name) FROM customers",
            Reason::ProtectedInExpression,
        ),
        (
            "SELECT lower(email) FROM customers",
            Reason::ProtectedInExpression,
        ),
        (
            "SELECT zip + 0 AS z FROM customers",
            Reason::ProtectedInExpression,
        ),
        (
            "SELECT CAST(card_number AS TEXT) FROM customers",
            Reason::ProtectedInExpression,
        ),
        (
            "SELECT city FROM customers WHERE email LIKE 'a%'",
            Reason::ProtectedInExpression,
        ),
        (
            "SELECT CASE WHEN phone > '5' THEN 1 ELSE 0 END AS x FROM customers",
            Reason::ProtectedInExpression,
        ),
        (
            "SELECT MAX(date_of_birth) FROM customers",
            Reason::ProtectedInExpression,
        ),
        (
            "SELECT city FROM customers ORDER BY full_name",
            Reason::ProtectedOrdering,
        ),
        ("SELECT income FROM customers", Reason::AggregateMisuse),
    ];
    for (sql, want) in cases {
        let e = guard.check(sql).expect_err(sql);
        assert_eq!(e.refusal().map(|r| r.reason()), Some(want), "{sql}: {e}");
    }
}

/// One person repeated by a join does not make a group large: Boise has 3
/// customers (31 order rows), below `min_group_size = 5`.
#[test]
fn join_repetition_does_not_pass_the_group_size() {
    let (_, engine, guard) = sample_guard();
    // The attack would work if rows were counted.
    let rows = sqlveil::run(&engine, &guard.check("SELECT COUNT(*) AS n FROM customers c JOIN orders o ON c.customer_id = o.customer_id WHERE c.city = 'Boise'").unwrap())
        .unwrap();
    assert!(cells(&rows)[0].parse::<u64>().unwrap() >= 5);
    for sql in [
        "SELECT c.city, AVG(c.income) AS a FROM customers c JOIN orders o ON c.customer_id = o.customer_id WHERE c.city = 'Boise' GROUP BY c.city",
        "SELECT AVG(c.income) AS a FROM customers c JOIN orders o ON c.customer_id = o.customer_id WHERE c.city = 'Boise'",
    ] {
        let q = guard.check(sql).unwrap();
        let df = sqlveil::run(&engine, &q).unwrap();
        assert_eq!(df.height(), 0, "{sql}: {df}");
    }
    // Groups keyed by the joined table could overlap: refused.
    let sql = "SELECT o.status, SUM(c.income) AS s FROM customers c JOIN orders o ON c.customer_id = o.customer_id WHERE c.city = 'Boise' GROUP BY o.status";
    assert_eq!(
        guard.check(sql).unwrap_err().refusal().map(|r| r.reason()),
        Some(Reason::AggregateMisuse)
    );
    // A join that repeats people inside a group that is large enough still
    // weighs one person many times: a cross join with a condition that keeps
    // one target's rows 1500 times and everyone else's once. Rows then differ
    // from distinct people, and the group is removed.
    let q = guard
        .check("SELECT SUM(c.income) AS s FROM customers c CROSS JOIN orders o WHERE (c.city = 'Seattle' AND c.segment = 'vip') OR o.order_id = 10001")
        .unwrap();
    assert_eq!(sqlveil::run(&engine, &q).unwrap().height(), 0);
    // Joined rows that repeat people are never counted, so a join-grouped
    // average comes out only where each person appears once per group.
    let q = guard
        .check("SELECT c.city, AVG(c.income) AS a FROM customers c JOIN orders o ON c.customer_id = o.customer_id GROUP BY c.city")
        .unwrap();
    assert_eq!(sqlveil::run(&engine, &q).unwrap().height(), 0);
    // The semi-join form counts each person once, and large groups come out.
    let q = guard
        .check("SELECT c.city, AVG(c.income) AS a FROM customers c WHERE c.customer_id IN (SELECT customer_id FROM orders) GROUP BY c.city ORDER BY c.city")
        .unwrap();
    let df = sqlveil::run(&engine, &q).unwrap();
    let cities = cells(&df.select(["city"]).unwrap());
    assert!(cities.len() >= 10, "{df}");
    assert!(!cities.iter().any(|c| c == "Boise"), "{df}");
}

/// A single person's income cannot be isolated by the attacks that
/// per-column rules alone let through.
#[test]
fn aggregate_attacks_are_refused() {
    let (_, _, guard) = sample_guard();
    let cases = [
        // Two permitted sums subtracted.
        "SELECT SUM(income) - SUM(income) AS d FROM customers",
        "SELECT (SELECT SUM(income) FROM customers) - (SELECT SUM(income) FROM customers WHERE city <> 'Boise') AS d",
        // An aggregate with a FILTER.
        "SELECT SUM(income) FILTER (WHERE city = 'Boise') AS s FROM customers",
        // A window average partitioned by person.
        "SELECT customer_id, AVG(income) OVER (PARTITION BY customer_id) AS a FROM customers",
        // An expression inside the aggregate.
        "SELECT AVG(CASE WHEN city = 'Boise' THEN income END) AS a FROM customers",
        // Compared, ordered, passed on.
        "SELECT city FROM customers GROUP BY city HAVING AVG(income) > 100000",
        "SELECT city, AVG(income) AS a FROM customers GROUP BY city ORDER BY a",
        "WITH s AS (SELECT city, AVG(income) AS a FROM customers GROUP BY city) SELECT * FROM s",
        "SELECT MAX(income) AS m FROM customers",
    ];
    for sql in cases {
        let e = guard.check(sql).expect_err(sql);
        let r = e.refusal().expect("refusal");
        assert!(
            matches!(
                r.reason(),
                Reason::AggregateMisuse | Reason::AggregateFunctionNotAllowed
            ),
            "{sql}: {r}"
        );
    }
}

/// A guessed-name join against a literal list would turn a token column into
/// a name oracle.
#[test]
fn guessed_value_joins_are_refused() {
    let (_, _, guard) = sample_guard();
    for sql in [
        "SELECT c.city FROM customers c JOIN (VALUES ('Harriet Cromusshaw')) AS g(n) ON c.full_name = g.n",
        "SELECT city FROM customers WHERE full_name IN (SELECT 'Harriet Cromusshaw')",
        "SELECT city FROM customers WHERE full_name = 'Harriet Cromusshaw'",
        "SELECT city FROM customers WHERE full_name IN ('Harriet Cromusshaw', 'Ignatius Wolstenholme')",
        "SELECT c.city FROM customers c JOIN orders o ON c.full_name = o.status",
        "SELECT city FROM customers WHERE customer_id = 17",
    ] {
        let e = guard.check(sql).expect_err(sql);
        let r = e.refusal().unwrap();
        assert!(
            matches!(r.reason(), Reason::JoinMismatch | Reason::RawLiteral),
            "{sql}: {r}"
        );
    }
}

/// Paging with OFFSET cannot reach past the row cap.
#[test]
fn paging_stays_within_the_cap() {
    let (_, engine, guard) = sample_guard();
    let e = guard
        .check("SELECT order_id FROM orders ORDER BY order_id LIMIT 200 OFFSET 200")
        .unwrap_err();
    assert_eq!(e.refusal().unwrap().reason(), Reason::RowCap);
    let q = guard
        .check("SELECT order_id FROM orders ORDER BY order_id LIMIT 1000 OFFSET 150")
        .unwrap();
    let df = sqlveil::run(&engine, &q).unwrap();
    assert_eq!(df.height(), 50);
    let q = guard
        .check("SELECT order_id FROM (SELECT order_id FROM orders ORDER BY order_id LIMIT 1000 OFFSET 150) t")
        .unwrap();
    assert_eq!(sqlveil::run(&engine, &q).unwrap().height(), 50);
    let e = guard
        .check("SELECT order_id FROM (SELECT order_id FROM orders ORDER BY order_id OFFSET 400) t")
        .unwrap_err();
    assert_eq!(e.refusal().unwrap().reason(), Reason::RowCap);
    let q = guard.check("SELECT order_id FROM orders").unwrap();
    assert_eq!(sqlveil::run(&engine, &q).unwrap().height(), 200);
}

/// A failing cast quotes values in the engine's text; the error that leaves
/// sqlveil does not.
#[test]
fn failing_cast_error_carries_no_values() {
    let (_, engine, guard) = sample_guard();
    let q = guard
        .check("SELECT CAST(city AS INTEGER) AS n FROM customers")
        .unwrap();
    let e = sqlveil::run(&engine, &q).unwrap_err();
    let shown = format!("{e} {e:?}");
    for city in ["New York", "Chicago", "Boise", "Denver"] {
        assert!(!shown.contains(city), "{shown}");
    }
    let q = guard
        .check("SELECT CAST(segment AS DATE) AS d FROM customers")
        .unwrap();
    let e = sqlveil::run(&engine, &q).unwrap_err();
    assert!(!format!("{e} {e:?}").contains("consumer"));
}

const SCAN_RULES: &str = r#"
version = 1
[defaults]
max_rows = 500
[tables.people.columns]
id    = { action = "tokenize", class = "person_id" }
notes = { action = "scan" }
city  = { action = "allow" }
[detectors]
builtin = ["email", "phone", "ssn", "credit_card", "iban", "ipv4", "ipv6"]
"#;

/// A folder with `people.csv` whose `notes` hold every spelled number, one
/// per note and all together in one long note, and the rules (with `notes`
/// given `action`).
fn spelled_notes(numbers: &[(&'static str, String, String)], action: &str) -> tempfile::TempDir {
    let mut csv = String::from("id,notes,city\n");
    for (i, (_, written, _)) in numbers.iter().enumerate() {
        csv.push_str(&format!(
            "{i},\"Pt note: {written}. Follow up next week.\",{}\n",
            ["Oslo", "Bergen"][i % 2]
        ));
    }
    let all: Vec<&str> = numbers.iter().map(|n| n.1.as_str()).collect();
    csv.push_str(&format!("999,\"{}\",Oslo\n", all.join("; ")));
    let rules = SCAN_RULES.replace("\"scan\"", &format!("{action:?}"));
    crate::util::tempdir_with(&[("people.csv", &csv), ("rules.toml", &rules)])
}

/// SSNs, phone numbers and card numbers in a `scan` column, in every
/// spelling people write them, never come out of a query: through the
/// library (guard, engine, protect) and through `sqlveil query`.
#[test]
fn scan_columns_leak_no_number_in_any_spelling() {
    use crate::planted::{assert_no_number, spelled_numbers, Env};
    let numbers = spelled_numbers();
    let dir = spelled_notes(&numbers, "scan");
    let policy = sqlveil::Policy::from_path(dir.path().join("rules.toml")).unwrap();
    let engine = std::sync::Arc::new(sqlveil::PolarsEngine::open(dir.path(), &policy).unwrap());
    let env = Env::new(engine, &policy, 5);
    let mut shown = 0;
    for sql in [
        "SELECT notes FROM people",
        "SELECT * FROM people",
        "SELECT id, notes, city FROM people WHERE city = 'Oslo'",
        "WITH t AS (SELECT notes FROM people) SELECT * FROM t",
    ] {
        for cell in cells(&env.rows(sql)) {
            assert_no_number(sql, &cell, &numbers);
            shown += 1;
        }
    }
    assert!(shown > numbers.len() * 3, "{shown}");

    let vault = dir.path().join("vault.jsonl");
    let (code, out, err) = crate::util::run_cli(
        &[
            "query",
            "--data",
            dir.path().to_str().unwrap(),
            "--rules",
            dir.path().join("rules.toml").to_str().unwrap(),
            "--vault",
            vault.to_str().unwrap(),
            "--sql",
            "SELECT notes FROM people",
        ],
        Some(crate::util::TEST_KEY_HEX),
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("<ssn_") && out.contains("<phone_") && out.contains("<credit_card_"));
    assert_no_number("sqlveil query", &out, &numbers);

    // The check itself finds the numbers when the column is shown as is.
    let open = spelled_notes(&numbers, "allow");
    let policy = sqlveil::Policy::from_path(open.path().join("rules.toml")).unwrap();
    let engine = std::sync::Arc::new(sqlveil::PolarsEngine::open(open.path(), &policy).unwrap());
    let env = Env::new(engine, &policy, 5);
    let cells = cells(&env.rows("SELECT notes FROM people"));
    for n in &numbers {
        let one = std::slice::from_ref(n);
        let caught = cells
            .iter()
            .any(|c| std::panic::catch_unwind(|| assert_no_number("allow", c, one)).is_err());
        assert!(caught, "{:?} is not caught when shown", n.1);
    }
}
