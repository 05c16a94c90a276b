//! The PostgreSQL engine against a real server.
//!
//! The server is given by `SQLVEIL_PG_URL`, a role that owns a database in
//! which the sample data is loaded (`.ci/run` starts one and loads it with
//! `examples/data/postgres.py`). Without it, the tests say so and pass when
//! `CI` is not set, and fail when it is: CI must run them.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use polars::prelude::{DataFrame, DataType};
use sqlveil::detect::Detector;
use sqlveil::tokens::{MemoryVault, Tokens};
use sqlveil::{Engine, ErrorKind, MasterKey, PolarsEngine, Policy, PostgresEngine};

use crate::planted::{assert_queries_leak_nothing, plant, Env, RULES};
use crate::util::{cells, root, tempdir_with};

/// The server's URL, or `None` (with a note) outside CI.
fn pg_url() -> Option<String> {
    match std::env::var("SQLVEIL_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::env::var_os("CI").is_some() => panic!(
            "SQLVEIL_PG_URL is not set, but CI is: the PostgreSQL tests must run in CI (.ci/run starts a server and sets it)"
        ),
        _ => {
            eprintln!("note: SQLVEIL_PG_URL is not set; PostgreSQL tests skipped (see tests/postgres.rs)");
            None
        }
    }
}

fn admin(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("connect as the test role")
}

/// Loads the planted data set into table `people`, once per test run.
fn planted_table(url: &str) {
    static LOADED: OnceLock<()> = OnceLock::new();
    LOADED.get_or_init(|| {
        let planted = plant();
        let mut c = admin(url);
        c.batch_execute(
            "DROP TABLE IF EXISTS people;
             CREATE TABLE people (id integer, name text, email text, phone text, card text,
               secret text, passport text, badge text, born date, joined date, zip text,
               age integer, salary integer, notes text, city text, team text);",
        )
        .expect("create people");
        let mut w = c
            .copy_in("COPY people FROM STDIN WITH (FORMAT csv, HEADER true)")
            .expect("copy");
        std::io::Write::write_all(&mut w, planted.csv.as_bytes()).expect("copy rows");
        w.finish().expect("finish copy");
    });
}

fn env(engine: Arc<dyn Engine>, policy: &Policy) -> Env {
    Env::new(engine, policy, 42)
}

#[test]
fn planted_values_never_reach_the_model() {
    let Some(url) = pg_url() else { return };
    planted_table(&url);
    let policy = Policy::from_toml_str(RULES).unwrap();
    let engine = Arc::new(PostgresEngine::connect(&url, &policy).unwrap());
    let checked = assert_queries_leak_nothing(&env(engine, &policy), &plant());
    assert!(checked > 100_000, "{checked}");
}

/// Rows as text, floats to 6 decimals (PostgreSQL's numeric and polars'
/// floating-point sums can differ in the last bit), sorted: without an
/// ORDER BY (which tokens do not allow) the engines may order rows apart.
fn normalized(df: &DataFrame) -> Vec<String> {
    let mut rows = vec![String::new(); df.height()];
    for c in df.columns() {
        let floats = matches!(c.dtype(), DataType::Float32 | DataType::Float64);
        let s = c.cast(&DataType::String).unwrap();
        for (row, v) in rows.iter_mut().zip(s.str().unwrap().iter()) {
            row.push_str(&match (v, floats) {
                (None, _) => "NULL".to_string(),
                (Some(v), true) => format!("{:.6}", v.parse::<f64>().unwrap()),
                (Some(v), false) => v.to_string(),
            });
            row.push('|');
        }
    }
    rows.sort();
    rows
}

#[test]
fn results_match_the_polars_engine() {
    let Some(url) = pg_url() else { return };
    let policy = Policy::from_path(root().join("rules/sample.toml")).unwrap();
    let pg = env(
        Arc::new(PostgresEngine::connect(&url, &policy).unwrap()),
        &policy,
    );
    let files = env(
        Arc::new(PolarsEngine::open(root().join("examples/data"), &policy).unwrap()),
        &policy,
    );
    let queries = [
        "SELECT customer_id, customer_number, full_name, email, phone, city, zip, date_of_birth, card_number, segment, signup_date, notes FROM customers",
        "SELECT city, AVG(income) AS avg_income, COUNT(income) AS n FROM customers GROUP BY city ORDER BY city",
        "SELECT segment, COUNT(*) AS n FROM customers GROUP BY segment ORDER BY segment",
        "SELECT o.order_id, o.customer_id, o.order_date, o.amount, p.name, p.price FROM orders o JOIN products p ON p.product_id = o.product_id ORDER BY o.order_id",
        "SELECT status, COUNT(*) AS n, SUM(amount) AS total FROM orders GROUP BY status ORDER BY status",
        "SELECT ticket_id, customer_id, opened_at, channel, subject, body FROM tickets ORDER BY ticket_id LIMIT 200",
        "SELECT c.full_name AS customer, COUNT(*) AS tickets FROM customers c JOIN tickets t ON t.customer_id = c.customer_id GROUP BY c.full_name",
        "SELECT city FROM customers WHERE customer_id IN (SELECT customer_id FROM orders WHERE amount > 400) ORDER BY city",
    ];
    for sql in queries {
        let a = normalized(&files.rows(sql));
        let b = normalized(&pg.rows(sql));
        assert!(!a.is_empty(), "{sql}");
        assert_eq!(a, b, "{sql}");
    }
}

#[test]
fn writes_fail_in_the_read_only_transaction() {
    let Some(url) = pg_url() else { return };
    let policy = Policy::from_path(root().join("rules/sample.toml")).unwrap();
    admin(&url)
        .batch_execute("CREATE SEQUENCE IF NOT EXISTS sqlveil_test_seq")
        .unwrap();
    let engine = PostgresEngine::connect(&url, &policy).unwrap();
    // The guard refuses these; the server refuses them a second time.
    for sql in [
        "SELECT nextval('sqlveil_test_seq') AS n",
        "CREATE TABLE sqlveil_should_not_exist (a int)",
        "DELETE FROM customers",
    ] {
        let e = engine.execute(sql, 10).unwrap_err();
        assert!(
            matches!(
                e.kind(),
                ErrorKind::Engine {
                    category: "read_only"
                }
            ),
            "{sql}: {e:?}"
        );
        // The message has no value; the server's text is the less-safe detail.
        assert!(
            e.engine_detail_less_safe().unwrap().contains("25006"),
            "{sql}"
        );
    }
    let n: i64 = admin(&url)
        .query_one("SELECT count(*) FROM customers", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 200);
    // The pooled connection is still usable after the failures.
    assert_eq!(engine.execute("SELECT 1 AS one", 10).unwrap().height(), 1);
}

#[test]
fn connection_failures_and_timeouts_are_typed() {
    let Some(url) = pg_url() else { return };
    let policy = Policy::from_toml_str(RULES).unwrap();
    let config: postgres::Config = url.parse().unwrap();
    let host = match &config.get_hosts()[0] {
        postgres::config::Host::Tcp(h) => h.clone(),
        postgres::config::Host::Unix(p) => p.display().to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap();
    let db = config.get_dbname().unwrap();
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cases = [
        (
            format!("postgresql://{user}:x@127.0.0.1:{free}/{db}"),
            "cannot be reached",
        ),
        (
            format!("postgresql://{user}:wrong-password@{host}:{port}/{db}"),
            "refused the login",
        ),
        (
            format!("postgresql://no_such_role:x@{host}:{port}/{db}"),
            "refused the login",
        ),
        ("not a url at all".to_string(), "not a valid connection URL"),
    ];
    for (u, want) in cases {
        let e = PostgresEngine::connect(&u, &policy).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Connection { .. }),
            "{u}: {e:?}"
        );
        assert!(e.to_string().contains(want), "{u}: {e}");
        assert!(!e.to_string().contains("wrong-password"), "{e}");
        assert_eq!(e.code(), "connection");
    }
    // Unknown database: the role's password is right, the database is not.
    let with_pw = url.replace(&format!("/{db}"), "/sqlveil_no_such_database");
    let e = PostgresEngine::connect(&with_pw, &policy).unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");

    let engine = PostgresEngine::builder()
        .statement_timeout(Duration::from_millis(200))
        .connect(&url, &policy)
        .unwrap();
    let t = std::time::Instant::now();
    let e = engine.execute("SELECT pg_sleep(5)", 10).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::Engine {
                category: "timeout"
            }
        ),
        "{e:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(3));
}

#[test]
fn every_supported_type_converts_and_others_are_named() {
    let Some(url) = pg_url() else { return };
    let policy = Policy::from_toml_str(RULES).unwrap();
    let engine = PostgresEngine::connect(&url, &policy).unwrap();
    let df = engine
        .execute(
            "SELECT true AS b, 1::int2 AS i2, 2::int4 AS i4, 3::int8 AS i8, 1.5::float4 AS f4, \
             2.25::float8 AS f8, -12.345::numeric AS n, 0::numeric AS z, 'x'::text AS t, \
             'y'::varchar AS v, DATE '2024-02-29' AS d, TIMESTAMP '2024-02-29 13:14:15' AS ts, \
             TIMESTAMPTZ '2024-02-29 13:14:15+02' AS tz, NULL::int AS nothing",
            10,
        )
        .unwrap();
    let types: Vec<String> = df.dtypes().iter().map(|d| d.to_string()).collect();
    assert_eq!(
        types,
        [
            "bool",
            "i64",
            "i64",
            "i64",
            "f64",
            "f64",
            "f64",
            "f64",
            "str",
            "str",
            "date",
            "datetime[μs]",
            "datetime[μs]",
            "i64"
        ]
    );
    assert_eq!(
        cells(&df),
        [
            "true",
            "1",
            "2",
            "3",
            "1.5",
            "2.25",
            "-12.345",
            "0.0",
            "x",
            "y",
            "2024-02-29",
            "2024-02-29 13:14:15.000000",
            "2024-02-29 11:14:15.000000"
        ]
    );
    let df = engine
        .execute(
            "SELECT 'Infinity'::numeric AS a, '-Infinity'::numeric AS b, 'NaN'::numeric AS c, \
             0.0001::numeric AS d, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u",
            10,
        )
        .unwrap();
    assert_eq!(
        cells(&df),
        [
            "inf",
            "-inf",
            "NaN",
            "0.0001",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
        ]
    );
    // The session's settings are sqlveil's, whatever the role's defaults.
    let df = engine
        .execute(
            "SELECT current_setting('standard_conforming_strings') AS s, \
             current_setting('search_path') AS p",
            10,
        )
        .unwrap();
    assert_eq!(cells(&df), ["on", "pg_catalog, public"]);
    let e = engine
        .execute("SELECT '10.0.0.1'::inet AS address", 10)
        .unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::Engine {
                category: "unsupported_type"
            }
        ),
        "{e:?}"
    );
    assert!(e.engine_detail_less_safe().unwrap().contains("`address`"));
}

#[test]
fn schema_qualified_tables_and_the_cli() {
    let Some(url) = pg_url() else { return };
    let policy = Policy::from_toml_str(
        r#"
        version = 1
        [tables."public.customers"]
        subject = "customer_id"
        [tables."public.customers".columns]
        customer_id = { action = "tokenize", class = "customer" }
        city = { action = "allow" }
        "#,
    )
    .unwrap();
    let engine = Arc::new(PostgresEngine::connect(&url, &policy).unwrap());
    assert_eq!(engine.catalog().tables()[0].name, "public.customers");
    let env = env(engine, &policy);
    let df = env.rows("SELECT city, COUNT(*) AS n FROM public.customers GROUP BY city ORDER BY n DESC, city LIMIT 1");
    let n: i64 = admin(&url)
        .query_one(
            "SELECT count(*) FROM customers WHERE city = 'New York'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(cells(&df), ["New York".to_string(), n.to_string()]);

    let dir = tempdir_with(&[]);
    let vault = dir.path().join("v.jsonl");
    let (code, out, err) = crate::util::run_cli(
        &[
            "query",
            "--pg",
            &url,
            "--rules",
            "rules/sample.toml",
            "--vault",
            vault.to_str().unwrap(),
            "--sql",
            "SELECT segment, COUNT(*) AS n FROM customers GROUP BY segment ORDER BY segment",
        ],
        Some(crate::util::TEST_KEY_HEX),
        "",
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rows"][2]["segment"], "vip");
}

#[test]
fn citext_and_uuid_columns_are_text_and_their_values_are_found() {
    let Some(url) = pg_url() else { return };
    admin(&url)
        .batch_execute(
            "CREATE EXTENSION IF NOT EXISTS citext;
             DROP TABLE IF EXISTS members;
             CREATE TABLE members (id uuid, name citext, city text);
             INSERT INTO members VALUES
               ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'Wilhelmina Quorndale', 'Oslo');",
        )
        .unwrap();
    let policy = Policy::from_toml_str(
        r#"
        version = 1
        [tables.members.columns]
        id = { action = "tokenize", class = "member" }
        name = { action = "tokenize", class = "person" }
        city = { action = "allow" }
        "#,
    )
    .unwrap();
    let engine = PostgresEngine::connect(&url, &policy).unwrap();
    let types: Vec<sqlveil::schema::ColumnType> = engine.catalog().tables()[0]
        .columns
        .iter()
        .map(|c| c.ty.clone())
        .collect();
    assert_eq!(types, vec![sqlveil::schema::ColumnType::Text; 3]);
    let d = Detector::with_known_values(
        &policy,
        &engine,
        &sqlveil::detect::KnownValuesOptions::new(),
    )
    .unwrap();
    let key = MasterKey::from_bytes(&[3; 32]);
    let tokens = Tokens::new(&policy, key, Some(Arc::new(MemoryVault::new()))).unwrap();
    let r = d
        .redact("Where does wilhelmina quorndale live?", &tokens)
        .unwrap();
    assert!(r.text.starts_with("Where does <person_"), "{}", r.text);
    let df = engine.execute("SELECT id, name FROM members", 10).unwrap();
    assert_eq!(
        cells(&df),
        [
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "Wilhelmina Quorndale"
        ]
    );
}

/// `Engine::distinct_values` gives the same values from PostgreSQL as from
/// the files (sorted with a limit, all of them without), streamed, and the
/// known-value detector built on either finds the same values.
#[test]
fn distinct_values_match_the_polars_engine() {
    let Some(url) = pg_url() else { return };
    let policy = Policy::from_path(root().join("rules/sample.toml")).unwrap();
    let pg = PostgresEngine::connect(&url, &policy).unwrap();
    let files = PolarsEngine::open(root().join("examples/data"), &policy).unwrap();
    let read = |e: &dyn Engine, column: &str, limit: Option<u64>| {
        let mut out = Vec::new();
        e.distinct_values("customers", column, limit, &mut |v| {
            out.push(v.to_string());
            Ok(())
        })
        .unwrap();
        out
    };
    for column in ["full_name", "city", "email", "ssn"] {
        let first = read(&pg, column, Some(5));
        assert_eq!(first, read(&files, column, Some(5)), "{column}");
        assert_eq!(first.len(), 5);
        let mut a = read(&pg, column, None);
        let mut b = read(&files, column, None);
        a.sort();
        b.sort();
        assert_eq!(a, b, "{column}");
    }
    // Integers are read as text.
    let ids = read(&pg, "customer_id", Some(3));
    assert_eq!(ids, read(&files, "customer_id", Some(3)));
    // A column the catalog does not hold is a usage error, not SQL.
    let e = pg
        .distinct_values("customers", "nope\"; DROP TABLE x; --", None, &mut |_| {
            Ok(())
        })
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Usage(_)), "{e}");
    // An error from the callback stops the read and comes back.
    let mut n = 0;
    let e = pg
        .distinct_values("customers", "full_name", None, &mut |_| {
            n += 1;
            Err(sqlveil::Error::from(ErrorKind::Usage("stop".into())))
        })
        .unwrap_err();
    assert_eq!((n, e.to_string()), (1, "stop".to_string()));
    // The engine still answers afterwards.
    assert_eq!(read(&pg, "city", Some(1)).len(), 1);

    let d1 = Detector::with_known_values(&policy, &pg, &sqlveil::detect::KnownValuesOptions::new())
        .unwrap();
    let d2 =
        Detector::with_known_values(&policy, &files, &sqlveil::detect::KnownValuesOptions::new())
            .unwrap();
    let (r1, r2) = (
        d1.known_values_report().unwrap(),
        d2.known_values_report().unwrap(),
    );
    assert_eq!(r1.patterns, r2.patterns);
    // The memory figures depend on the order values arrive in; the counts
    // do not.
    let counts = |r: &sqlveil::detect::KnownValuesReport| {
        r.columns
            .iter()
            .map(|c| {
                (
                    c.column.clone(),
                    c.values,
                    c.skipped,
                    c.digit_values,
                    c.patterns,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(counts(&r1), counts(&r2));
    let q = "Did harriet cromusshaw (CUST-399807, h.cromusshaw6@icloud.com) call?";
    assert_eq!(d1.find(q), d2.find(q));
}
