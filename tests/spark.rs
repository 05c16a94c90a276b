//! The Spark engine against a real Spark Connect server.
//!
//! The server is given by `SQLVEIL_SPARK_URL` (`sc://127.0.0.1:PORT`), a
//! Spark Connect server on this machine with the sample data loaded as
//! tables (`.ci/run` starts one with `examples/data/spark.sh`, which a
//! developer can run too). The tests load tables of their own through a
//! plain Spark Connect client ([`raw::Raw`]) from files they write, which the
//! server must be able to read: a server on this machine. Without the URL,
//! the tests that need a server say so and pass when `CI` is not set, and
//! fail when it is.

use std::io::Read;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use sqlveil::error::Reason;
use sqlveil::guard::GuardBuilder;
use sqlveil::schema::Dialect;
use sqlveil::{Engine, ErrorKind, PolarsEngine, Policy, SparkEngine};

use crate::planted::{assert_queries_leak_nothing, plant, Env, RULES};
use crate::util::{cells, normalized, root, same_rows, tempdir_with, ORDER_KEY};

/// The tests that keep the server's cores busy (a cross join of minutes)
/// hold this for writing, every other test on the server for reading: a
/// Spark task notices an interrupt only between input batches, so an
/// interrupted cross join can hold the server's two task slots for tens of
/// seconds more, and a query of another test would wait past its timeout.
static SERVER: RwLock<()> = RwLock::new(());

fn heavy() -> RwLockWriteGuard<'static, ()> {
    SERVER.write().unwrap_or_else(|p| p.into_inner())
}

fn shared() -> RwLockReadGuard<'static, ()> {
    SERVER.read().unwrap_or_else(|p| p.into_inner())
}

/// Waits until the server answers a small query again (the heavy query's
/// tasks are gone), within `bound`.
fn until_free(url: &str, bound: Duration) -> Duration {
    let policy = Policy::from_path(root().join("rules/sample.toml")).unwrap();
    let patient = SparkEngine::builder()
        .statement_timeout(bound)
        .connect(url, &policy)
        .unwrap();
    let t = Instant::now();
    let df = patient
        .execute("SELECT COUNT(*) AS n FROM products", 10)
        .unwrap();
    assert_eq!(cells(&df), ["40"]);
    t.elapsed()
}

/// The server's URL, or `None` (with a note) outside CI.
pub fn spark_url() -> Option<String> {
    match std::env::var("SQLVEIL_SPARK_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::env::var_os("CI").is_some() => panic!(
            "SQLVEIL_SPARK_URL is not set, but CI is: the Spark tests must run in CI (.ci/run starts a server with examples/data/spark.sh and sets it)"
        ),
        _ => {
            eprintln!("note: SQLVEIL_SPARK_URL is not set; Spark tests skipped (see tests/spark.rs)");
            None
        }
    }
}

/// A plain Spark Connect client: what a user without sqlveil runs, and how
/// the tests load their own tables.
pub mod raw {
    use std::io::Cursor;

    use arrow_array::RecordBatch;
    use spark_connect_core::channel::ChannelBuilder;
    use spark_connect_core::{block_on, SparkConnectClient, SparkError};
    use spark_connect_proto as proto;

    pub struct Raw {
        client: SparkConnectClient,
    }

    impl Raw {
        pub fn connect(url: &str) -> Raw {
            let b = ChannelBuilder::parse(url).expect("a Spark Connect URL");
            let client = block_on(SparkConnectClient::connect(&b)).expect("connect");
            Raw { client }
        }

        /// Runs SQL as Spark runs it (a command at once, a query's rows as
        /// Arrow batches).
        pub fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>, String> {
            let request = proto::ExecutePlanRequest {
                session_id: self.client.session_id().to_string(),
                user_context: Some(proto::UserContext::default()),
                operation_id: Some(uuid::Uuid::new_v4().to_string()),
                plan: Some(proto::Plan {
                    op_type: Some(proto::plan::OpType::Root(proto::Relation {
                        common: None,
                        rel_type: Some(proto::relation::RelType::Sql(proto::Sql {
                            query: sql.to_string(),
                            ..Default::default()
                        })),
                    })),
                }),
                ..Default::default()
            };
            block_on(async {
                let mut s = self
                    .client
                    .execute_plan(request)
                    .await
                    .map_err(|e| e.to_string())?;
                let mut out = Vec::new();
                loop {
                    let next = s
                        .message()
                        .await
                        .map_err(|e| SparkError::from_grpc_status(e).to_string())?;
                    let Some(r) = next else { break };
                    if let Some(proto::execute_plan_response::ResponseType::ArrowBatch(b)) =
                        r.response_type
                    {
                        let reader = arrow_ipc::reader::StreamReader::try_new(
                            Cursor::new(&b.data[..]),
                            None,
                        )
                        .map_err(|e| e.to_string())?;
                        for batch in reader {
                            out.push(batch.map_err(|e| e.to_string())?);
                        }
                    }
                }
                Ok(out)
            })
        }

        /// The number of rows a query returns.
        pub fn count(&self, sql: &str) -> usize {
            self.sql(sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .iter()
                .map(|b| b.num_rows())
                .sum()
        }

        /// Writes `csv` (with a header) to a file and loads it as the
        /// Parquet table `name` with the columns `ddl`, replacing it.
        pub fn load_csv(&self, name: &str, ddl: &str, csv: &str) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(format!("{name}.csv"));
            std::fs::write(&path, csv).unwrap();
            let view = format!("{name}_csv");
            for sql in [
                format!(
                    "CREATE OR REPLACE TEMPORARY VIEW {view} ({ddl}) USING csv OPTIONS \
                     (path '{}', header 'true', multiLine 'true', escape '\"', mode 'FAILFAST', \
                     timestampFormat 'yyyy-MM-dd HH:mm:ss')",
                    path.display()
                ),
                format!("DROP TABLE IF EXISTS {name}"),
                format!("CREATE TABLE {name} USING parquet AS SELECT * FROM {view}"),
            ] {
                self.sql(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }
}

/// The planted data set as table `people`, once per test run.
fn planted_table(url: &str) {
    static LOADED: OnceLock<()> = OnceLock::new();
    LOADED.get_or_init(|| {
        raw::Raw::connect(url).load_csv(
            "people",
            "id INT, name STRING, email STRING, phone STRING, card STRING, secret STRING, \
             passport STRING, badge STRING, born DATE, joined DATE, zip STRING, age INT, \
             salary INT, notes STRING, city STRING, team STRING",
            &plant().csv,
        );
    });
}

/// One engine per test run (connecting reads the catalog and sets the
/// session; the tests share the session, as a service would).
fn sample_engine(url: &str) -> Arc<SparkEngine> {
    static ENGINE: OnceLock<Arc<SparkEngine>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let policy = Policy::from_path(root().join("rules/sample.toml")).unwrap();
            Arc::new(SparkEngine::connect(url, &policy).unwrap())
        })
        .clone()
}

fn env(engine: Arc<dyn Engine>, policy: &Policy) -> Env {
    Env::new(engine, policy, 42)
}

/// A model's SQL, written with PostgreSQL's quoting, as Spark SQL: names in
/// backquotes, backslashes and quotes in strings escaped.
pub fn spark_sql(sql: &str) -> String {
    use sqlparser::dialect::GenericDialect;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let tokens = Tokenizer::new(&GenericDialect {}, sql).tokenize().unwrap();
    let mut out = String::with_capacity(sql.len());
    for t in tokens {
        match t {
            Token::Word(mut w) if w.quote_style == Some('"') => {
                w.quote_style = Some('`');
                out.push_str(&Token::Word(w).to_string());
            }
            Token::SingleQuotedString(s) => {
                out.push('\'');
                for ch in s.chars() {
                    match ch {
                        '\\' => out.push_str("\\\\"),
                        '\'' => out.push_str("\\'"),
                        c => out.push(c),
                    }
                }
                out.push('\'');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    out
}

#[test]
fn engine_and_its_builder_are_send_sync_and_debug_hides_the_url() {
    fn is<T: Send + Sync>() {}
    is::<SparkEngine>();
    is::<sqlveil::engine::SparkEngineBuilder>();
    // A bad URL: one sentence, and no parameter of it (a token) in it.
    let policy = Policy::from_toml_str(RULES).unwrap();
    for url in [
        "http://127.0.0.1:15002",
        "sc://127.0.0.1:15002/;token",
        "sc://h:notaport/;token=hunter2secret",
    ] {
        let e = SparkEngine::connect(url, &policy).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Connection { .. }),
            "{url}: {e:?}"
        );
        assert!(
            e.to_string().contains("not a valid Spark Connect URL"),
            "{e}"
        );
        assert!(!format!("{e} {e:?}").contains("hunter2"), "{e}");
    }
}

#[test]
fn unreachable_server_is_a_connection_error_without_the_token() {
    let policy = Policy::from_toml_str(RULES).unwrap();
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = Instant::now();
    let e = SparkEngine::builder()
        .connect_timeout(Duration::from_secs(5))
        .connect(
            &format!("sc://127.0.0.1:{free}/;token=hunter2secret"),
            &policy,
        )
        .unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    assert!(matches!(e.kind(), ErrorKind::Connection { .. }), "{e:?}");
    assert_eq!(e.code(), "connection");
    let text = format!("{e} {e:?}");
    assert!(text.contains(&format!("127.0.0.1:{free}")), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(e.to_string().contains("cannot be reached"), "{e}");
}

#[test]
fn planted_values_never_reach_the_model() {
    let Some(url) = spark_url() else { return };
    let _shared = shared();
    planted_table(&url);
    let policy = Policy::from_toml_str(RULES).unwrap();
    let engine = Arc::new(SparkEngine::connect(&url, &policy).unwrap());
    let env = env(engine, &policy);
    let checked = assert_queries_leak_nothing(&env, &plant());
    assert!(checked > 100_000, "{checked}");
}

/// The queries of the PostgreSQL parity test, and the guard's total order
/// over protected values, give the same rows on Spark as on polars.
#[test]
fn results_match_the_polars_engine() {
    let Some(url) = spark_url() else { return };
    let _shared = shared();
    let policy = Policy::from_path(root().join("rules/sample.toml")).unwrap();
    let spark: Arc<dyn Engine> = sample_engine(&url);
    let files: Arc<dyn Engine> =
        Arc::new(PolarsEngine::open(root().join("examples/data"), &policy).unwrap());
    let guard = |e: &Arc<dyn Engine>| {
        GuardBuilder::new()
            .dialect(e.dialect())
            .order_key(ORDER_KEY)
            .total_order(true)
            .build(&policy, e.catalog())
            .unwrap()
    };
    let (gs, gf) = (guard(&spark), guard(&files));
    let queries = [
        "SELECT customer_id, customer_number, full_name, email, phone, city, zip, date_of_birth, card_number, segment, signup_date, notes FROM customers",
        "SELECT city, AVG(income) AS avg_income, COUNT(income) AS n FROM customers GROUP BY city ORDER BY city",
        "SELECT segment, COUNT(*) AS n FROM customers GROUP BY segment ORDER BY segment",
        "SELECT o.order_id, o.customer_id, o.order_date, o.amount, p.name, p.price FROM orders o JOIN products p ON p.product_id = o.product_id ORDER BY o.order_id",
        "SELECT status, COUNT(*) AS n, SUM(amount) AS total FROM orders GROUP BY status ORDER BY status",
        "SELECT ticket_id, customer_id, opened_at, channel, subject, body FROM tickets ORDER BY ticket_id LIMIT 200",
        "SELECT c.full_name AS customer, COUNT(*) AS tickets FROM customers c JOIN tickets t ON t.customer_id = c.customer_id GROUP BY c.full_name",
        "SELECT city FROM customers WHERE customer_id IN (SELECT customer_id FROM orders WHERE amount > 400) ORDER BY city",
        // Protected values ordered by the keyed hash: the same rows, in
        // the same order, on both engines.
        "SELECT DISTINCT full_name, city FROM customers LIMIT 7",
        "SELECT customer_id, rank() OVER (PARTITION BY customer_id ORDER BY order_date) AS k FROM orders LIMIT 9",
        // Translations: days between dates, integer division, the day of
        // the week, dates plus intervals, text functions.
        "SELECT order_id, order_date - DATE '2023-01-01' AS days, quantity / 2 AS half, date_part('dow', order_date) AS dow, order_date + INTERVAL '1 month' AS next FROM orders ORDER BY order_id LIMIT 50",
        "SELECT product_id, ceil(price) AS up, floor(price) AS down, sign(product_id - 20) AS s, round(price, 1) AS r FROM products ORDER BY product_id",
        "SELECT product_id, substr(name, 0, 3) AS a, left(name, -2) AS b, right(name, -3) AS c, concat(name, NULL, category) AS d, ltrim(name, 'W') AS e, strpos(name, 'e') AS f FROM products ORDER BY product_id",
        "SELECT date_trunc('month', order_date) AS m, COUNT(*) AS n FROM orders GROUP BY date_trunc('month', order_date) ORDER BY m",
        // (Not `CAST(price AS INTEGER)`: 18.50 is 19 on Spark and
        // PostgreSQL, which round a decimal half away from zero, and 18 on
        // polars, which reads the price as a float and rounds half to even;
        // 1.4 times a whole number is never a half, and 2.8 is 3 where a
        // truncating cast would give 2.)
        "SELECT CAST(quantity * 1.4 AS INTEGER) AS whole, starts_with(name, 'B') AS b FROM orders o JOIN products p ON p.product_id = o.product_id ORDER BY order_id LIMIT 20",
    ];
    for sql in queries {
        let run = |g: &sqlveil::guard::Guard, e: &Arc<dyn Engine>, sql: &str| {
            let q = g.check(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
            sqlveil::run(&e, &q).unwrap_or_else(|err| {
                panic!(
                    "{sql}: {err} {:?}\n{}",
                    err.engine_detail_less_safe(),
                    q.sql()
                )
            })
        };
        let a = run(&gf, &files, sql);
        let b = run(&gs, &spark, &spark_sql(sql));
        assert!(a.height() > 0, "{sql}");
        let (na, nb) = (normalized(&a), normalized(&b));
        assert!(same_rows(&na, &nb), "{sql}\npolars: {na:?}\nspark:  {nb:?}");
        // Where the query orders rows, the order is the same too (Spark
        // keeps the order of the subquery the engine wraps in its LIMIT):
        // every row in place, compared by its rank among the sorted rows.
        if sql.contains("ORDER BY") || sql.contains("LIMIT") {
            let ranks = |df: &polars::prelude::DataFrame| {
                let sorted = normalized(df);
                (0..df.height())
                    .map(|i| {
                        let row = normalized(&df.slice(i as i64, 1)).remove(0);
                        sorted.iter().position(|r| {
                            same_rows(std::slice::from_ref(r), std::slice::from_ref(&row))
                        })
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(ranks(&a), ranks(&b), "{sql}: rows in another order");
        }
    }
}

/// Every Spark-only construct that could read data the guard did not check
/// is refused with a reason, on the guard alone (no server needed); with a
/// server, the same SQL run by a plain client shows that Spark would have
/// run it.
#[test]
fn spark_only_constructs_are_refused() {
    let policy = Policy::from_path(root().join("rules/sample.toml")).unwrap();
    let engine = PolarsEngine::open(root().join("examples/data"), &policy).unwrap();
    let guard = GuardBuilder::new()
        .dialect(Dialect::Spark)
        .build(&policy, engine.catalog())
        .unwrap();
    let dir = tempdir_with(&[("x.csv", "a\n1\n")]);
    let path = dir.path().join("x.csv");
    let path = path.display();
    // (SQL, a plain client runs it)
    let cases: Vec<(String, bool)> = vec![
        (
            "SELECT c.city, n FROM customers c LATERAL VIEW explode(array(1, 2)) t AS n".into(),
            true,
        ),
        (
            "SELECT city FROM customers TABLESAMPLE (50 PERCENT)".into(),
            true,
        ),
        (
            "SELECT city FROM customers TABLESAMPLE (BUCKET 1 OUT OF 2)".into(),
            true,
        ),
        (
            "SELECT TRANSFORM(city) USING 'cat' AS (c) FROM customers".into(),
            true,
        ),
        ("SELECT * FROM range(3)".into(), true),
        ("SELECT id FROM range(3) r".into(), true),
        ("SELECT * FROM explode(array(1, 2))".into(), true),
        (format!("SELECT * FROM csv.`{path}`"), true),
        (format!("SELECT * FROM parquet.`{path}`"), false),
        (format!("SELECT * FROM text.`{path}`"), true),
        (format!("SELECT * FROM read_files('{path}')"), false),
        ("ANALYZE TABLE customers COMPUTE STATISTICS".into(), true),
        ("CACHE TABLE customers".into(), true),
        ("UNCACHE TABLE customers".into(), true),
        ("SET spark.sql.ansi.enabled = false".into(), true),
        ("SET spark.sql.variable.substitute".into(), true),
        ("RESET".into(), true),
        ("ADD JAR /tmp/sqlveil-no-such.jar".into(), false),
        (
            "CREATE TEMPORARY VIEW sqlveil_v AS SELECT ssn FROM customers".into(),
            true,
        ),
        (
            "CREATE TEMPORARY FUNCTION sqlveil_f AS 'org.apache.hadoop.hive.ql.udf.UDFToString'"
                .into(),
            false,
        ),
        ("DESCRIBE TABLE customers".into(), true),
        ("SHOW TABLES".into(), true),
        ("EXPLAIN SELECT ssn FROM customers".into(), true),
        (
            "SELECT reflect('java.lang.System', 'getProperty', 'user.home') AS h FROM customers"
                .into(),
            true,
        ),
        (
            "SELECT java_method('java.lang.System', 'getenv', 'HOME') AS h FROM customers".into(),
            true,
        ),
        ("SELECT input_file_name() AS f FROM customers".into(), true),
        ("SELECT current_user() AS u FROM customers".into(), true),
        ("SELECT city FROM customers VERSION AS OF 1".into(), false),
        (
            "SELECT city FROM customers TIMESTAMP AS OF '2024-01-01'".into(),
            false,
        ),
        ("SELECT * EXCEPT (ssn) FROM customers".into(), true),
        ("SELECT city FROM customers CLUSTER BY city".into(), true),
        (
            "SELECT city FROM customers DISTRIBUTE BY city SORT BY city".into(),
            true,
        ),
        (
            "SELECT city, count(*) AS n FROM customers GROUP BY city WITH ROLLUP".into(),
            true,
        ),
        (
            "SELECT city, count(*) AS n FROM customers GROUP BY GROUPING SETS ((city), ())".into(),
            true,
        ),
        (
            "SELECT * FROM customers PIVOT (count(*) FOR segment IN ('vip', 'consumer'))".into(),
            true,
        ),
        (
            "SELECT transform(array(1, 2), x -> x + 1) AS t FROM customers".into(),
            true,
        ),
        (
            "SELECT struct(ssn, city).ssn AS s FROM customers".into(),
            true,
        ),
        (
            "SELECT named_struct('a', ssn) AS s FROM customers".into(),
            true,
        ),
        ("SELECT * FROM IDENTIFIER('customers')".into(), true),
        ("SELECT `(ssn|city)` FROM customers".into(), false),
        ("SELECT \"ssn\" FROM customers".into(), true),
        (
            "SELECT city FROM customers WHERE city = '${spark.sql.warehouse.dir}'".into(),
            true,
        ),
        ("SELECT city FROM global_temp.customers".into(), false),
        (
            "SELECT city FROM customers; SELECT ssn FROM customers".into(),
            false,
        ),
        (
            "INSERT OVERWRITE DIRECTORY '/tmp/sqlveil-out' SELECT ssn FROM customers".into(),
            false,
        ),
        (
            "SELECT city FROM customers WINDOW w AS (PARTITION BY city)".into(),
            true,
        ),
        (
            "SELECT city FROM customers QUALIFY row_number() OVER (ORDER BY city) = 1".into(),
            false,
        ),
        // Last: it hides the table `customers` from the plain client's
        // session.
        (
            "CREATE OR REPLACE TEMPORARY VIEW customers AS SELECT 1 AS city".into(),
            true,
        ),
    ];
    let mut accepted = Vec::new();
    for (sql, _) in &cases {
        match guard.check(sql) {
            Err(e) => {
                let r = e.refusal().unwrap_or_else(|| panic!("{sql}: {e}"));
                assert!(!r.to_string().is_empty());
            }
            Ok(q) => accepted.push(format!("{sql}\n  -> {}", q.sql())),
        }
    }
    // The one accepted form: a `${…}` text is a plain string, which the
    // engine does not substitute (see `literals_reach_spark_as_the_guard_read_them`).
    assert_eq!(accepted.len(), 1, "accepted:\n{}", accepted.join("\n"));
    assert!(accepted[0].contains("warehouse"), "{accepted:?}");
    let Some(url) = spark_url() else { return };
    let _shared = shared();
    let plain = raw::Raw::connect(&url);
    let mut ran = 0;
    for (sql, runs) in &cases {
        if *runs {
            match plain.sql(sql) {
                Ok(_) => ran += 1,
                Err(e) => panic!("a plain client could not run {sql}: {e}"),
            }
        }
    }
    assert!(ran > 30, "{ran}");
    // The view the plain client just made is the plain client's: the
    // engine's session does not see it.
    let policy = Policy::from_path(root().join("rules/sample.toml")).unwrap();
    let spark = SparkEngine::connect(&url, &policy).unwrap();
    let df = spark
        .execute("SELECT COUNT(*) AS n FROM customers", 10)
        .unwrap();
    assert_eq!(cells(&df), ["200"]);
}

/// The guard writes every literal for Spark's parser: quotes, backslashes,
/// `${…}` and unicode escapes come back as the guard read them, never
/// substituted, never ending the string early.
#[test]
fn literals_reach_spark_as_the_guard_read_them() {
    let Some(url) = spark_url() else { return };
    let _shared = shared();
    let policy = Policy::from_path(root().join("rules/sample.toml")).unwrap();
    let engine = sample_engine(&url);
    let guard = GuardBuilder::new()
        .dialect(Dialect::Spark)
        .build(&policy, engine.catalog())
        .unwrap();
    let cases = [
        (r"'It\'s'", "It's"),
        ("'It''s'", "It's"),
        (r"'back\\slash'", r"back\slash"),
        ("'${spark.sql.warehouse.dir}'", "${spark.sql.warehouse.dir}"),
        (
            "'${env:HOME}${system:user.name}'",
            "${env:HOME}${system:user.name}",
        ),
        (r"'\u0024{spark.app.id}'", "u0024{spark.app.id}"),
        ("'-- not a comment'", "-- not a comment"),
        ("'/* nor this */'", "/* nor this */"),
        ("'x'' OR ''1''=''1'", "x' OR '1'='1"),
        (r"'tab\there'", "tab\there"),
        ("'Tromsø ✓'", "Tromsø ✓"),
    ];
    for (lit, want) in cases {
        let sql = format!("SELECT {lit} AS x, city FROM customers LIMIT 1");
        let q = guard.check(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let df = sqlveil::run(&engine, &q).unwrap_or_else(|e| {
            panic!("{sql}: {e} {:?}\n{}", e.engine_detail_less_safe(), q.sql())
        });
        assert_eq!(cells(&df)[0], want, "{sql}\n{}", q.sql());
    }
    // A filter on a literal built to end the string early matches nothing
    // (no city is named so), rather than running what follows the quote.
    let q = guard
        .check(r"SELECT city FROM customers WHERE city = 'x\' OR 1=1 OR city = \'Austin'")
        .unwrap();
    assert_eq!(sqlveil::run(&engine, &q).unwrap().height(), 0);
}

#[test]
fn a_query_that_outruns_the_timeout_is_interrupted_on_the_server() {
    let Some(url) = spark_url() else { return };
    let _heavy = heavy();
    let policy = Policy::from_path(root().join("rules/sample.toml")).unwrap();
    let engine = SparkEngine::builder()
        .statement_timeout(Duration::from_millis(1500))
        .connect(&url, &policy)
        .unwrap();
    let guard = GuardBuilder::new()
        .dialect(Dialect::Spark)
        .build(&policy, engine.catalog())
        .unwrap();
    // 1,500³ rows: minutes of work for a 2-core local server.
    let q = guard
        .check("SELECT COUNT(*) AS n FROM orders a CROSS JOIN orders b CROSS JOIN orders c WHERE a.quantity + b.quantity + c.quantity > 1")
        .unwrap();
    let t = Instant::now();
    let e = sqlveil::run(&engine, &q).unwrap_err();
    let took = t.elapsed();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::Engine {
                category: "timeout"
            }
        ),
        "{e:?} {:?}",
        e.engine_detail_less_safe()
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
    let detail = e.engine_detail_less_safe().unwrap();
    assert!(detail.contains("interrupted on the server"), "{detail}");
    // The server is free again: the cross join's tasks end (Spark kills a
    // task between its input batches; left alone, the cross join runs for
    // minutes).
    let took = until_free(&url, Duration::from_secs(120));
    assert!(took < Duration::from_secs(90), "{took:?}");
}

/// A TCP proxy on loopback to the server, which the test can cut: a server
/// that dies, as the client sees it.
struct Proxy {
    port: u16,
    cut: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn to(url: &str) -> Proxy {
        let target = url
            .trim_start_matches("sc://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::new(Mutex::new(Vec::new()));
        let (c2, k2) = (cut.clone(), conns.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                if c2.load(Ordering::SeqCst) {
                    // A dead server: the connection is dropped at once.
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                k2.lock().unwrap().push(client.try_clone().unwrap());
                k2.lock().unwrap().push(server.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16 * 1024];
                        loop {
                            match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => {
                                    if std::io::Write::write_all(&mut to, &buf[..n]).is_err() {
                                        break;
                                    }
                                }
                            }
                        }
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Proxy { port, cut, conns }
    }

    fn kill(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

#[test]
fn a_server_that_dies_mid_query_is_a_connection_error() {
    let Some(url) = spark_url() else { return };
    let _heavy = heavy();
    let policy = Policy::from_path(root().join("rules/sample.toml")).unwrap();
    let proxy = Proxy::to(&url);
    let engine = Arc::new(
        SparkEngine::builder()
            .statement_timeout(Duration::from_secs(60))
            .connect(&format!("sc://127.0.0.1:{}", proxy.port), &policy)
            .unwrap(),
    );
    let guard = GuardBuilder::new()
        .dialect(Dialect::Spark)
        .build(&policy, engine.catalog())
        .unwrap();
    let q = guard
        .check("SELECT COUNT(*) AS n FROM orders a CROSS JOIN orders b CROSS JOIN orders c WHERE a.quantity + b.quantity + c.quantity > 2")
        .unwrap();
    let e2 = engine.clone();
    let worker = std::thread::spawn(move || {
        let t = Instant::now();
        (sqlveil::run(&e2, &q), t.elapsed())
    });
    std::thread::sleep(Duration::from_millis(1500));
    proxy.kill();
    let (r, took) = worker.join().unwrap();
    let e = r.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Connection { .. }),
        "{e:?} {:?}",
        e.engine_detail_less_safe()
    );
    assert!(took < Duration::from_secs(30), "{took:?}");
    // The next query fails the same way, soon.
    let t = Instant::now();
    let e = engine.execute("SELECT 1 AS one", 10).unwrap_err();
    assert_eq!(
        e.code(),
        "connection",
        "{e} {:?}",
        e.engine_detail_less_safe()
    );
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    // The server ends the operation of the cut stream.
    let took = until_free(&url, Duration::from_secs(120));
    assert!(took < Duration::from_secs(90), "{took:?}");
}

#[test]
fn unknown_tables_and_engine_errors_are_typed_without_values() {
    let Some(url) = spark_url() else { return };
    let _shared = shared();
    let policy = Policy::from_toml_str(
        r#"
        version = 1
        [tables.no_such_table.columns]
        a = { action = "allow" }
        [tables.customers.columns]
        city = { action = "allow" }
        "#,
    )
    .unwrap();
    let engine = SparkEngine::connect(&url, &policy).unwrap();
    // A table the server does not have is not in the catalog; the guard
    // refuses it.
    assert!(engine.catalog().table("no_such_table").is_none());
    assert!(engine.catalog().table("customers").is_some());
    let guard = GuardBuilder::new()
        .dialect(engine.dialect())
        .build(&policy, engine.catalog())
        .unwrap();
    let e = guard.check("SELECT a FROM no_such_table").unwrap_err();
    assert_eq!(e.refusal().unwrap().reason(), Reason::UnknownTable);
    // SQL that reaches the server anyway fails by class; the server's text
    // (which quotes values) is only the less-safe detail.
    let cases = [
        ("SELECT a FROM no_such_table", "table_not_found"),
        ("SELECT nope FROM customers", "column_not_found"),
        (
            "SELECT no_such_fn(city) AS x FROM customers",
            "function_not_found",
        ),
        ("SELECT CAST(city AS INT) AS x FROM customers", "data"),
        ("SELECT 1 / 0 AS x", "data"),
        ("SELEC city FROM customers", "syntax"),
    ];
    for (sql, want) in cases {
        let e = engine.execute(sql, 10).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Engine { category } if *category == want),
            "{sql}: {e:?} {:?}",
            e.engine_detail_less_safe()
        );
        assert!(!e.to_string().contains("Austin"), "{e}");
    }
    let e = engine
        .execute("SELECT CAST(city AS INT) AS x FROM customers", 10)
        .unwrap_err();
    // The server's message quotes the value; the error's text does not.
    let detail = e.engine_detail_less_safe().unwrap();
    assert!(detail.contains("CAST_INVALID_INPUT"), "{detail}");
}

/// Spark has no read-only transaction: the engine runs SQL only as a
/// subquery, which no command, `SET` or DDL can be.
#[test]
fn only_a_query_runs() {
    let Some(url) = spark_url() else { return };
    let _shared = shared();
    let engine = sample_engine(&url);
    for sql in [
        "CREATE TABLE sqlveil_should_not_exist (a INT) USING parquet",
        "DROP TABLE customers",
        "SET spark.sql.ansi.enabled = false",
        "INSERT INTO customers SELECT * FROM customers",
        "CACHE TABLE customers",
        "CREATE TEMPORARY VIEW sqlveil_v AS SELECT 1 AS a",
        "SELECT 1 AS a) AS x; DROP TABLE customers; SELECT * FROM (SELECT 1 AS a",
        "SELECT 1 AS a; DROP TABLE customers",
    ] {
        let e = engine.execute(sql, 10).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Engine { category: "syntax" }),
            "{sql}: {e:?}"
        );
    }
    let plain = raw::Raw::connect(&url);
    assert_eq!(plain.count("SELECT * FROM customers"), 200);
    assert_eq!(
        plain.count("SHOW TABLES LIKE 'sqlveil_should_not_exist'"),
        0
    );
    // The session's settings are sqlveil's: ANSI errors, UTC, no
    // substitution.
    let df = engine
        .execute(
            "SELECT current_timezone() AS tz, '${spark.sql.session.timeZone}' AS s",
            10,
        )
        .unwrap();
    assert_eq!(cells(&df), ["UTC", "${spark.sql.session.timeZone}"]);
}

#[test]
fn every_spark_type_converts_and_others_are_named() {
    let Some(url) = spark_url() else { return };
    let _shared = shared();
    let engine = sample_engine(&url);
    let df = engine
        .execute(
            "SELECT true AS b, CAST(1 AS TINYINT) AS i1, CAST(2 AS SMALLINT) AS i2, 3 AS i4, \
             CAST(4 AS BIGINT) AS i8, CAST(1.5 AS FLOAT) AS f4, 2.25D AS f8, \
             CAST(-12.345 AS DECIMAL(10,3)) AS n, 'x' AS t, CAST('y' AS VARCHAR(3)) AS v, \
             DATE '2024-02-29' AS d, TIMESTAMP '2024-02-29 13:14:15' AS ts, \
             TIMESTAMP_NTZ '2024-02-29 13:14:15' AS ntz, CAST(NULL AS INT) AS nothing",
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
            "i64",
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
            "4",
            "1.5",
            "2.25",
            "-12.345",
            "x",
            "y",
            "2024-02-29",
            "2024-02-29 13:14:15.000000",
            "2024-02-29 13:14:15.000000"
        ]
    );
    // No rows: the columns and their types still come back.
    let df = engine
        .execute("SELECT city, income FROM customers WHERE 1 = 0", 10)
        .unwrap();
    assert_eq!(df.height(), 0);
    assert_eq!(df.width(), 2);
    for (sql, column) in [
        ("SELECT X'0102' AS bytes", "`bytes`"),
        ("SELECT INTERVAL '1' DAY AS span", "`span`"),
        ("SELECT array(1, 2) AS list", "`list`"),
    ] {
        let e = engine.execute(sql, 10).unwrap_err();
        assert!(
            matches!(
                e.kind(),
                ErrorKind::Engine {
                    category: "unsupported_type"
                }
            ),
            "{sql}: {e:?}"
        );
        assert!(e.engine_detail_less_safe().unwrap().contains(column));
    }
    // The row cap holds in SQL and on collection.
    let df = engine.execute("SELECT * FROM range(100000)", 7).unwrap();
    assert_eq!(df.height(), 7);
}

#[test]
fn concurrent_queries_from_8_threads_share_the_session() {
    let Some(url) = spark_url() else { return };
    let _shared = shared();
    let policy = Policy::from_path(root().join("rules/sample.toml")).unwrap();
    let engine = sample_engine(&url);
    let guard = Arc::new(
        GuardBuilder::new()
            .dialect(Dialect::Spark)
            .build(&policy, engine.catalog())
            .unwrap(),
    );
    let sqls = [
        ("SELECT COUNT(*) AS n FROM customers", "200"),
        ("SELECT COUNT(*) AS n FROM orders", "1500"),
        ("SELECT COUNT(*) AS n FROM products", "40"),
        ("SELECT COUNT(*) AS n FROM tickets", "300"),
    ];
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let (engine, guard) = (engine.clone(), guard.clone());
            std::thread::spawn(move || {
                for k in 0..6 {
                    let (sql, want) = sqls[(i + k) % sqls.len()];
                    let q = guard.check(sql).unwrap();
                    let df = sqlveil::run(&engine, &q).unwrap();
                    assert_eq!(cells(&df), [want], "{sql}");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn qualified_table_names_and_the_cli() {
    let Some(url) = spark_url() else { return };
    let _shared = shared();
    let policy = Policy::from_toml_str(
        r#"
        version = 1
        [tables."default.customers"]
        subject = "customer_id"
        [tables."default.customers".columns]
        customer_id = { action = "tokenize", class = "customer" }
        city = { action = "allow" }
        [tables."spark_catalog.default.products".columns]
        category = { action = "allow" }
        "#,
    )
    .unwrap();
    let engine = Arc::new(SparkEngine::connect(&url, &policy).unwrap());
    let names: Vec<&str> = engine
        .catalog()
        .tables()
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["default.customers", "spark_catalog.default.products"]
    );
    let env = env(engine, &policy);
    let df = env.rows(
        "SELECT city, COUNT(*) AS n FROM default.customers GROUP BY city ORDER BY n DESC, city LIMIT 1",
    );
    let plain = raw::Raw::connect(&url);
    let n = plain.count("SELECT * FROM customers WHERE city = 'New York'");
    assert_eq!(cells(&df), ["New York".to_string(), n.to_string()]);
    let df = env.rows("SELECT COUNT(DISTINCT category) AS n FROM spark_catalog.default.products");
    assert_eq!(cells(&df), ["6"]);

    let dir = tempdir_with(&[]);
    let vault = dir.path().join("v.jsonl");
    let (code, out, err) = crate::util::run_cli(
        &[
            "query",
            "--spark",
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

/// `Engine::distinct_values` gives the same values from Spark as from the
/// files (sorted with a limit, all of them without), and the known-value
/// detector built on either finds the same values.
#[test]
fn distinct_values_match_the_polars_engine() {
    let Some(url) = spark_url() else { return };
    let _shared = shared();
    let policy = Policy::from_path(root().join("rules/sample.toml")).unwrap();
    let spark = sample_engine(&url);
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
    for column in ["full_name", "city", "email", "ssn", "customer_id"] {
        let first = read(spark.as_ref(), column, Some(5));
        assert_eq!(first, read(&files, column, Some(5)), "{column}");
        let mut a = read(spark.as_ref(), column, None);
        let mut b = read(&files, column, None);
        a.sort();
        b.sort();
        assert_eq!(a, b, "{column}");
    }
    let e = spark
        .distinct_values(
            "customers",
            "nope`; DROP TABLE x; --",
            None,
            &mut |_| Ok(()),
        )
        .unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Usage(_)), "{e}");
    let mut n = 0;
    let e = spark
        .distinct_values("customers", "full_name", None, &mut |_| {
            n += 1;
            Err(sqlveil::Error::from(ErrorKind::Usage("stop".into())))
        })
        .unwrap_err();
    assert_eq!((n, e.to_string()), (1, "stop".to_string()));
    assert_eq!(read(spark.as_ref(), "city", Some(1)).len(), 1);
    let d1 = sqlveil::detect::Detector::with_known_values(
        &policy,
        spark.as_ref(),
        &sqlveil::detect::KnownValuesOptions::new(),
    )
    .unwrap();
    let d2 = sqlveil::detect::Detector::with_known_values(
        &policy,
        &files,
        &sqlveil::detect::KnownValuesOptions::new(),
    )
    .unwrap();
    let q = "Did harriet cromusshaw (CUST-399807, h.cromusshaw6@icloud.com) call?";
    assert_eq!(d1.find(q), d2.find(q));
}
