//! The polars engine: files, schemas, errors, group-size enforcement.

use polars::prelude::*;
use sqlveil::guard::Guard;
use sqlveil::schema::ColumnType;
use sqlveil::{Engine, ErrorKind, PolarsEngine, Policy};

use crate::util::{sample_guard, tempdir_with};

const PEOPLE_RULES: &str = r#"
version = 1
[tables.people]
subject = "id"
[tables.people.columns]
id = { action = "tokenize", class = "person" }
city = { action = "allow" }
salary = { action = "aggregate", functions = ["avg", "sum", "count"], min_group_size = 3 }
"#;

#[test]
fn sample_schema_is_discovered() {
    let (_, engine, _) = sample_guard();
    let names: Vec<&str> = engine
        .catalog()
        .tables()
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["customers", "orders", "products", "tickets"]);
    let customers = engine.catalog().table("customers").unwrap();
    let ty = |n: &str| {
        customers
            .columns
            .iter()
            .find(|c| c.name == n)
            .unwrap()
            .ty
            .clone()
    };
    assert_eq!(ty("city"), ColumnType::Text);
    assert_eq!(ty("income"), ColumnType::Integer);
    assert_eq!(ty("date_of_birth"), ColumnType::Date);
    let orders = engine.catalog().table("orders").unwrap();
    assert!(orders
        .columns
        .iter()
        .any(|c| c.name == "amount" && c.ty == ColumnType::Float));
}

#[test]
fn only_tables_named_in_the_rules_are_registered() {
    let dir = tempdir_with(&[
        ("people.csv", "id,city,salary\n1,Oslo,10\n"),
        ("secrets.csv", "k,v\na,b\n"),
    ]);
    let policy = Policy::from_toml_str(PEOPLE_RULES).unwrap();
    let engine = PolarsEngine::open(dir.path(), &policy).unwrap();
    assert!(engine.catalog().table("secrets").is_none());
    let guard = Guard::new(&policy, engine.catalog()).unwrap();
    let err = guard.check("SELECT * FROM secrets").unwrap_err();
    assert_eq!(
        err.refusal().unwrap().reason(),
        sqlveil::error::Reason::UnknownTable
    );
}

#[test]
fn parquet_and_ndjson_tables_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut df = df!("id" => [1i64, 2, 3], "city" => ["Oslo", "Oslo", "Bergen"], "salary" => [10i64, 20, 30]).unwrap();
    let f = std::fs::File::create(dir.path().join("people.parquet")).unwrap();
    ParquetWriter::new(f).finish(&mut df).unwrap();
    std::fs::write(
        dir.path().join("visits.ndjson"),
        "{\"vid\": 1, \"place\": \"a\"}\n{\"vid\": 2, \"place\": \"b\"}\n",
    )
    .unwrap();
    let rules = format!(
        "{PEOPLE_RULES}\n[tables.visits.columns]\nvid = {{ action = \"allow\" }}\nplace = {{ action = \"allow\" }}\n"
    );
    let policy = Policy::from_toml_str(&rules).unwrap();
    let engine = PolarsEngine::open(dir.path(), &policy).unwrap();
    let guard = Guard::new(&policy, engine.catalog()).unwrap();
    let rows = sqlveil::run(
        &engine,
        &guard
            .check("SELECT city FROM people ORDER BY city")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(rows.height(), 3);
    let rows = sqlveil::run(
        &engine,
        &guard
            .check("SELECT place FROM visits WHERE vid = 2")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(crate::util::cells(&rows), ["b"]);
}

#[test]
fn malformed_files_are_named() {
    let dir = tempdir_with(&[("people.parquet", "this is not parquet")]);
    let policy = Policy::from_toml_str(PEOPLE_RULES).unwrap();
    let err = PolarsEngine::open(dir.path(), &policy).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::DataFile { .. }), "{err:?}");
    assert!(err.to_string().contains("people.parquet"), "{err}");

    // A ragged CSV row past the schema sample: the full validation names it.
    let mut csv = String::from("id,city,salary\n");
    for i in 0..1200 {
        csv.push_str(&format!("{i},Oslo,{i}\n"));
    }
    csv.push_str("9999,Oslo,1,extra,fields\n");
    let dir = tempdir_with(&[("people.csv", &csv)]);
    let engine = PolarsEngine::open(dir.path(), &policy).unwrap();
    let err = engine.validate().unwrap_err();
    assert!(err.to_string().contains("people.csv"), "{err}");
    assert!(!err.to_string().contains("extra"), "{err}");
}

#[test]
fn two_files_for_one_table_are_an_error() {
    let dir = tempdir_with(&[
        ("people.csv", "id,city,salary\n1,Oslo,10\n"),
        ("people.ndjson", "{\"id\":1}\n"),
    ]);
    let policy = Policy::from_toml_str(PEOPLE_RULES).unwrap();
    let err = PolarsEngine::open(dir.path(), &policy).unwrap_err();
    assert!(err.to_string().contains("two files"), "{err}");
}

#[test]
fn small_groups_never_leave_the_engine() {
    // Oslo has 3 people, Bergen 2: Bergen's average must not come out.
    let dir = tempdir_with(&[(
        "people.csv",
        "id,city,salary\n1,Oslo,10\n2,Oslo,20\n3,Oslo,30\n4,Bergen,777001\n5,Bergen,777003\n",
    )]);
    let policy = Policy::from_toml_str(PEOPLE_RULES).unwrap();
    let engine = PolarsEngine::open(dir.path(), &policy).unwrap();
    let guard = Guard::new(&policy, engine.catalog()).unwrap();
    let q = guard
        .check("SELECT city, AVG(salary) AS a FROM people GROUP BY city")
        .unwrap();
    let rows = sqlveil::run(&engine, &q).unwrap();
    assert_eq!(rows.get_column_names(), ["city", "a"]);
    let cells = crate::util::cells(&rows);
    assert_eq!(cells, ["Oslo", "20.0"]);

    // A whole-table aggregate narrowed by WHERE to a small group: no row.
    let q = guard
        .check("SELECT SUM(salary) FROM people WHERE city = 'Bergen'")
        .unwrap();
    let rows = sqlveil::run(&engine, &q).unwrap();
    assert_eq!(rows.height(), 0);
}

/// A person with two rows counts once: where the subject column is not
/// unique, the guard counts distinct subjects, and three rows of two people
/// are a group of two.
#[test]
fn a_person_with_two_rows_counts_once() {
    let dir = tempdir_with(&[(
        "people.csv",
        "id,city,salary\n1,Oslo,10\n2,Oslo,20\n3,Oslo,30\n4,Bergen,777001\n4,Bergen,777003\n5,Bergen,777005\n",
    )]);
    let policy = Policy::from_toml_str(PEOPLE_RULES).unwrap();
    let engine = PolarsEngine::open(dir.path(), &policy).unwrap();
    assert!(!engine.catalog().is_unique("people", "id"));
    assert!(!engine.is_unique("people", "id").unwrap());
    let guard = Guard::new(&policy, engine.catalog()).unwrap();
    let q = guard
        .check("SELECT city, AVG(salary) AS a FROM people GROUP BY city")
        .unwrap();
    assert!(q.group_checks().iter().all(|c| c.unique_subject.is_none()));
    let rows = sqlveil::run(&engine, &q).unwrap();
    assert_eq!(crate::util::cells(&rows), ["Oslo", "20.0"]);
}

/// Where the subject column is unique, a table read on its own is counted
/// by its rows; a join is still counted by distinct subjects.
#[test]
fn a_unique_subject_is_counted_by_rows_only_where_rows_are_people() {
    let dir = tempdir_with(&[
        (
            "people.csv",
            "id,city,salary\n1,Oslo,10\n2,Oslo,20\n3,Oslo,30\n4,Bergen,777001\n5,Bergen,777003\n",
        ),
        ("visits.csv", "visit,person\n1,4\n2,4\n3,4\n"),
    ]);
    let rules = format!(
        "{PEOPLE_RULES}\n[tables.visits]\n[tables.visits.columns]\nvisit = {{ action = \"allow\" }}\nperson = {{ action = \"tokenize\", class = \"person\" }}\n"
    );
    let policy = Policy::from_toml_str(&rules).unwrap();
    let engine = PolarsEngine::open(dir.path(), &policy).unwrap();
    assert!(engine.catalog().is_unique("people", "id"));
    let guard = Guard::new(&policy, engine.catalog()).unwrap();
    let alone = guard
        .check("SELECT city, AVG(salary) AS a FROM people GROUP BY city")
        .unwrap();
    let check = &alone.group_checks()[0];
    assert_eq!(
        check.unique_subject.as_ref().map(|c| c.to_string()),
        Some("people.id".to_string())
    );
    assert!(check.rows_column.is_none());
    assert!(
        !alone.sql().to_lowercase().contains("distinct"),
        "{}",
        alone.sql()
    );
    let rows = sqlveil::run(&engine, &alone).unwrap();
    assert_eq!(crate::util::cells(&rows), ["Oslo", "20.0"]);

    // Bergen's person 4 has three visits: joined, three rows are one person.
    let joined = guard
        .check(
            "SELECT p.city, AVG(p.salary) AS a FROM people p JOIN visits v ON v.person = p.id GROUP BY p.city",
        )
        .unwrap();
    assert!(joined
        .group_checks()
        .iter()
        .all(|c| c.unique_subject.is_none()));
    let rows = sqlveil::run(&engine, &joined).unwrap();
    assert_eq!(rows.height(), 0, "{rows}");
}

/// The guard's row count stands for people only while the subject column
/// is unique: data that changed since refuses to run.
#[test]
fn a_subject_that_stopped_being_unique_refuses_to_run() {
    let dir = tempdir_with(&[(
        "people.csv",
        "id,city,salary\n1,Oslo,10\n2,Oslo,20\n3,Oslo,30\n",
    )]);
    let policy = Policy::from_toml_str(PEOPLE_RULES).unwrap();
    let engine = PolarsEngine::open(dir.path(), &policy).unwrap();
    let guard = Guard::new(&policy, engine.catalog()).unwrap();
    let q = guard
        .check("SELECT city, AVG(salary) AS a FROM people GROUP BY city")
        .unwrap();
    assert!(sqlveil::run(&engine, &q).is_ok());
    // One person now has three rows: counted by rows, a group of three.
    crate::util::write(
        dir.path(),
        "people.csv",
        "id,city,salary\n1,Oslo,10\n1,Oslo,20\n1,Oslo,777001\n",
    );
    let err = sqlveil::run(&engine, &q).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Engine {
                category: "stale_catalog"
            }
        ),
        "{err}"
    );
    // The engine recorded the change in its catalog: the same guard now
    // counts distinct subjects, and the one person's group does not come out.
    assert!(!engine.catalog().is_unique("people", "id"));
    let q = guard
        .check("SELECT city, AVG(salary) AS a FROM people GROUP BY city")
        .unwrap();
    assert!(q.group_checks().iter().all(|c| c.unique_subject.is_none()));
    let rows = sqlveil::run(&engine, &q).unwrap();
    assert_eq!(rows.height(), 0, "{rows}");
    // Unique again: rows count for people again.
    crate::util::write(
        dir.path(),
        "people.csv",
        "id,city,salary\n1,Oslo,10\n2,Oslo,20\n3,Oslo,30\n4,Oslo,40\n",
    );
    assert!(engine.is_unique("people", "id").unwrap());
    let q = guard
        .check("SELECT city, AVG(salary) AS a FROM people GROUP BY city")
        .unwrap();
    assert!(q.group_checks().iter().any(|c| c.unique_subject.is_some()));
    assert_eq!(
        crate::util::cells(&sqlveil::run(&engine, &q).unwrap()),
        ["Oslo", "25.0"]
    );
}

/// Found in review of f1c5c5b: a guard built again from the catalog after
/// the subject stopped being unique was refused at every run, since the
/// catalog was fixed at `open`. Now the first run records the change in the
/// catalog, and the check after it counts distinct subjects.
#[test]
fn a_guard_built_after_the_subject_stopped_being_unique_recovers() {
    let dir = tempdir_with(&[(
        "people.csv",
        "id,city,salary\n1,Oslo,10\n2,Oslo,20\n3,Oslo,30\n",
    )]);
    let policy = Policy::from_toml_str(PEOPLE_RULES).unwrap();
    let engine = PolarsEngine::open(dir.path(), &policy).unwrap();
    let sql = "SELECT city, AVG(salary) AS a FROM people GROUP BY city";
    crate::util::write(
        dir.path(),
        "people.csv",
        "id,city,salary\n1,Oslo,10\n2,Oslo,20\n3,Oslo,30\n3,Oslo,40\n",
    );
    let guard = Guard::new(&policy, engine.catalog()).unwrap();
    let first = guard.check(sql).unwrap();
    assert!(sqlveil::run(&engine, &first).is_err());
    let q = guard.check(sql).unwrap();
    let rows = sqlveil::run(&engine, &q).unwrap();
    // Three people, four rows: person 3 counts once, and the group check
    // (distinct subjects == rows with a value) drops the group.
    assert_eq!(rows.height(), 0, "{rows}");
}

/// An engine that passes a catalog claiming uniqueness but cannot confirm
/// it (`Engine::is_unique` left at its default, false): one refusal, then
/// the guard counts distinct subjects.
#[test]
fn an_engine_that_cannot_confirm_uniqueness_is_refused_once() {
    struct Unsure(PolarsEngine);
    impl Engine for Unsure {
        fn catalog(&self) -> &sqlveil::schema::Catalog {
            self.0.catalog()
        }
        fn dialect(&self) -> sqlveil::schema::Dialect {
            self.0.dialect()
        }
        fn execute(&self, sql: &str, max_rows: u64) -> Result<DataFrame, sqlveil::Error> {
            self.0.execute(sql, max_rows)
        }
        fn distinct_values(
            &self,
            table: &str,
            column: &str,
            limit: Option<u64>,
            each: &mut dyn FnMut(&str) -> Result<(), sqlveil::Error>,
        ) -> Result<(), sqlveil::Error> {
            self.0.distinct_values(table, column, limit, each)
        }
    }
    let dir = tempdir_with(&[(
        "people.csv",
        "id,city,salary\n1,Oslo,10\n2,Oslo,20\n3,Oslo,30\n",
    )]);
    let policy = Policy::from_toml_str(PEOPLE_RULES).unwrap();
    let engine = Unsure(PolarsEngine::open(dir.path(), &policy).unwrap());
    let guard = Guard::new(&policy, engine.catalog()).unwrap();
    let sql = "SELECT city, AVG(salary) AS a FROM people GROUP BY city";
    let first = guard.check(sql).unwrap();
    assert!(first
        .group_checks()
        .iter()
        .any(|c| c.unique_subject.is_some()));
    assert!(sqlveil::run(&engine, &first).is_err());
    let q = guard.check(sql).unwrap();
    assert!(q.group_checks().iter().all(|c| c.unique_subject.is_none()));
    assert_eq!(
        crate::util::cells(&sqlveil::run(&engine, &q).unwrap()),
        ["Oslo", "20.0"]
    );
}

/// A running chat whose data changed under it: the first query after the
/// change is checked again with distinct subjects, inside the same question.
#[test]
fn a_chat_recovers_when_a_subject_stops_being_unique() {
    use sqlveil::llm::ScriptedModel;
    use sqlveil::tokens::MemoryVault;
    use sqlveil::{Chat, Context, MasterKey};
    let dir = tempdir_with(&[(
        "people.csv",
        "id,city,salary\n1,Oslo,10\n2,Oslo,20\n3,Oslo,30\n",
    )]);
    let policy = Policy::from_toml_str(PEOPLE_RULES).unwrap();
    let engine = std::sync::Arc::new(PolarsEngine::open(dir.path(), &policy).unwrap());
    let model = std::sync::Arc::new(ScriptedModel::from_fn(|_| {
        Ok("```sql\nSELECT city, AVG(salary) AS a FROM people GROUP BY city\n```".to_string())
    }));
    let chat = Chat::builder(policy, engine, model, MasterKey::from_bytes(&[7; 32]))
        .vault(std::sync::Arc::new(MemoryVault::new()))
        .write_answer(false)
        .build()
        .unwrap();
    let ctx = Context::new("tester");
    let a = chat.ask("average salary per city?", &ctx).unwrap();
    assert_eq!(crate::util::cells(&a.rows), ["Oslo", "20.0"]);
    crate::util::write(
        dir.path(),
        "people.csv",
        "id,city,salary\n1,Oslo,10\n1,Oslo,20\n1,Oslo,777001\n",
    );
    let a = chat.ask("average salary per city, again?", &ctx).unwrap();
    assert_eq!(a.rows.height(), 0, "{}", a.rows);
    // Checked again without asking the model to repair anything.
    assert_eq!(a.attempts.len(), 1, "{:?}", a.attempts);
}

/// `min_group_size` counts the people who have a value: five people of whom
/// four have no salary do not hide the fifth one's salary.
#[test]
fn people_without_a_value_do_not_fill_a_group() {
    let dir = tempdir_with(&[(
        "people.csv",
        "id,city,salary\n1,Oslo,\n2,Oslo,\n3,Oslo,\n4,Oslo,555777\n5,Bergen,1\n6,Bergen,2\n7,Bergen,3\n",
    )]);
    let policy = Policy::from_toml_str(PEOPLE_RULES).unwrap();
    let engine = PolarsEngine::open(dir.path(), &policy).unwrap();
    let guard = Guard::new(&policy, engine.catalog()).unwrap();
    let q = guard
        .check("SELECT city, AVG(salary) AS a FROM people GROUP BY city ORDER BY city")
        .unwrap();
    let rows = sqlveil::run(&engine, &q).unwrap();
    let cells = crate::util::cells(&rows);
    assert_eq!(cells, ["Bergen", "2.0"], "{rows}");
}

#[test]
fn engine_errors_withhold_values() {
    let dir = tempdir_with(&[(
        "people.csv",
        "id,city,salary\n1,Oslo,10\n2,Zanzibar-Secret,20\n",
    )]);
    let policy = Policy::from_toml_str(PEOPLE_RULES).unwrap();
    let engine = PolarsEngine::open(dir.path(), &policy).unwrap();
    let guard = Guard::new(&policy, engine.catalog()).unwrap();
    let q = guard
        .check("SELECT CAST(city AS INTEGER) AS n FROM people")
        .unwrap();
    let err = sqlveil::run(&engine, &q).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Engine { .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("Zanzibar"), "{shown}");
    // The raw text stays reachable for a developer, by a name that warns.
    let detail = err.engine_detail_less_safe().unwrap_or_default();
    assert!(!detail.is_empty());
}

/// Columns a mask or a prefix reads are text: `02134` keeps its zero, so
/// `prefix:3` shows `021`, not `213`.
#[test]
fn masked_and_prefixed_csv_columns_are_read_as_text() {
    let dir = tempdir_with(&[(
        "people.csv",
        "id,zip,phone\n1,02134,5551234567\n2,00501,5559876543\n",
    )]);
    let rules = "version = 1\n[tables.people.columns]\nid = { action = \"allow\" }\nzip = { action = \"generalize\", to = \"prefix:3\" }\nphone = { action = \"mask\", mask = \"last4\" }\n";
    let policy = Policy::from_toml_str(rules).unwrap();
    let engine = PolarsEngine::open(dir.path(), &policy).unwrap();
    let t = engine.catalog().table("people").unwrap();
    assert!(
        t.columns
            .iter()
            .all(|c| c.name == "id" || c.ty == ColumnType::Text),
        "{t:?}"
    );
    let guard = Guard::new(&policy, engine.catalog()).unwrap();
    let key = sqlveil::MasterKey::from_bytes(&[1; 32]);
    let tokens = sqlveil::tokens::Tokens::new(
        &policy,
        key.clone(),
        Some(std::sync::Arc::new(sqlveil::tokens::MemoryVault::new())),
    )
    .unwrap();
    let detector = sqlveil::detect::Detector::new(&policy).unwrap();
    let protector = sqlveil::protect::Protector::new(&tokens, &detector, &key).unwrap();
    let q = guard
        .check("SELECT zip, phone FROM people ORDER BY id")
        .unwrap();
    let out = protector
        .protect(sqlveil::run(&engine, &q).unwrap(), &q)
        .unwrap();
    assert_eq!(
        crate::util::cells(&out.frame),
        ["021", "005", "******4567", "******6543"]
    );
}

#[test]
fn files_in_memory_follow_changes_on_disk() {
    let dir = tempdir_with(&[("people.csv", "id,city,salary\n1,Oslo,10\n2,Oslo,20\n")]);
    let policy = Policy::from_toml_str(PEOPLE_RULES).unwrap();
    let count = |engine: &PolarsEngine| {
        let df = engine
            .execute("SELECT COUNT(*) AS n FROM people", 10)
            .unwrap();
        crate::util::cells(&df)
    };
    for limit in [256 << 20, 0] {
        crate::util::write(
            dir.path(),
            "people.csv",
            "id,city,salary\n1,Oslo,10\n2,Oslo,20\n",
        );
        let engine = PolarsEngine::open(dir.path(), &policy)
            .unwrap()
            .with_memory_limit(limit);
        assert_eq!(count(&engine), ["2"]);
        assert_eq!(count(&engine), ["2"]);
        crate::util::write(
            dir.path(),
            "people.csv",
            "id,city,salary\n1,Oslo,10\n2,Oslo,20\n3,Bergen,30\n",
        );
        assert_eq!(count(&engine), ["3"], "memory limit {limit}");
    }
}

#[test]
fn distinct_values_are_read_through_the_engine() {
    let dir = tempdir_with(&[(
        "people.csv",
        "id,name,city\n1,Bo,Oslo\n2,Al,Bergen\n3,Cy,Oslo\n4,,Bergen\n5,Di,Alta\n",
    )]);
    let policy = Policy::from_toml_str(
        "version = 1\n[tables.people.columns]\nid = { action = \"allow\" }\nname = { action = \"deny\" }\ncity = { action = \"allow\" }\n",
    )
    .unwrap();
    let engine = PolarsEngine::open(dir.path(), &policy).unwrap();
    let read = |column: &str, limit: Option<u64>| {
        let mut out = Vec::new();
        engine
            .distinct_values("people", column, limit, &mut |v| {
                out.push(v.to_string());
                Ok(())
            })
            .unwrap();
        out
    };
    assert_eq!(read("city", Some(2)), ["Alta", "Bergen"]);
    let mut all = read("name", None);
    all.sort();
    // Nulls are left out; every distinct value comes once.
    assert_eq!(all, ["Al", "Bo", "Cy", "Di"]);
    assert_eq!(read("id", Some(2)), ["1", "2"]);
    for (table, column) in [("people", "nope"), ("nope", "name"), ("people", "*")] {
        let e = engine
            .distinct_values(table, column, None, &mut |_| Ok(()))
            .unwrap_err();
        assert_eq!(e.code(), "usage", "{table}.{column}: {e}");
    }
}

/// An engine of a user's own that returns rows the guard's SQL would have
/// filtered (a small group, with its hidden counts) or a column the guard
/// did not write: `sqlveil::run` removes the first and refuses the second,
/// whatever the engine does, since the checks are not the engine's to
/// override.
#[test]
fn a_users_engine_cannot_skip_the_group_filter() {
    struct Careless {
        inner: PolarsEngine,
        extra_column: bool,
        /// The guard's hidden count columns.
        hidden: Vec<String>,
    }
    impl Engine for Careless {
        fn catalog(&self) -> &sqlveil::schema::Catalog {
            self.inner.catalog()
        }
        fn dialect(&self) -> sqlveil::schema::Dialect {
            self.inner.dialect()
        }
        fn execute(&self, sql: &str, max_rows: u64) -> Result<DataFrame, sqlveil::Error> {
            // Runs the guard's SQL, then adds a row of a two-person group
            // as if the engine had not filtered it.
            let df = self.inner.execute(sql, max_rows)?;
            let mut columns = Vec::new();
            for c in df.columns() {
                let name = c.name().clone();
                let extra = if self.hidden.iter().any(|h| h == name.as_str()) {
                    Column::new(name, [2u32]).cast(c.dtype()).unwrap()
                } else if c.dtype().is_primitive_numeric() {
                    Column::new(name, [777_002.0f64]).cast(c.dtype()).unwrap()
                } else {
                    Column::new(name, ["Bergen"])
                };
                let mut c = c.clone();
                c.append(&extra).unwrap();
                columns.push(c);
            }
            if self.extra_column {
                columns.push(Column::new("salary".into(), vec![1.0f64; df.height() + 1]));
            }
            Ok(DataFrame::new(df.height() + 1, columns).unwrap())
        }
        fn distinct_values(
            &self,
            table: &str,
            column: &str,
            limit: Option<u64>,
            each: &mut dyn FnMut(&str) -> Result<(), sqlveil::Error>,
        ) -> Result<(), sqlveil::Error> {
            self.inner.distinct_values(table, column, limit, each)
        }
        fn is_unique(&self, table: &str, column: &str) -> Result<bool, sqlveil::Error> {
            self.inner.is_unique(table, column)
        }
    }
    let dir = tempdir_with(&[(
        "people.csv",
        "id,city,salary\n1,Oslo,10\n2,Oslo,20\n3,Oslo,30\n4,Bergen,777001\n5,Bergen,777003\n",
    )]);
    let policy = Policy::from_toml_str(PEOPLE_RULES).unwrap();
    let inner = PolarsEngine::open(dir.path(), &policy).unwrap();
    let guard = Guard::new(&policy, inner.catalog()).unwrap();
    let q = guard
        .check("SELECT city, AVG(salary) AS a FROM people GROUP BY city")
        .unwrap();
    let hidden: Vec<String> = q
        .group_checks()
        .iter()
        .flat_map(|g| std::iter::once(g.column.clone()).chain(g.rows_column.clone()))
        .collect();
    assert!(!hidden.is_empty());
    let careless = Careless {
        inner,
        extra_column: false,
        hidden: hidden.clone(),
    };
    let raw = careless.execute(q.sql(), q.max_rows()).unwrap();
    assert!(crate::util::cells(&raw).contains(&"Bergen".to_string()));
    let rows = sqlveil::run(&careless, &q).unwrap();
    assert_eq!(crate::util::cells(&rows), ["Oslo", "20.0"]);
    // Behind an Arc<dyn Engine>, as Chat holds it: the same.
    let shared: std::sync::Arc<dyn Engine> = std::sync::Arc::new(careless);
    assert_eq!(
        crate::util::cells(&sqlveil::run(&shared, &q).unwrap()),
        ["Oslo", "20.0"]
    );

    let extra = Careless {
        inner: PolarsEngine::open(dir.path(), &policy).unwrap(),
        extra_column: true,
        hidden,
    };
    let err = sqlveil::run(&extra, &q).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Engine { .. }), "{err}");
}

/// polars writes a wrapped group-by's counts in the form its partitioned
/// group-by computes (the share of rows with a value times the rows): the
/// counts, the group-size check and the order by a count are those of SQL,
/// with NULLs, groups just at the limit and larger groups.
#[test]
fn grouped_counts_are_exact_with_nulls() {
    let mut csv = String::from("id,city,salary\n");
    let mut id = 0;
    // Oslo: 4 rows, 2 salaries (below 3 people with a value: removed).
    // Rome: 5 rows, 3 salaries (kept). Lima: 1,000 rows, 999 salaries.
    for (city, rows, nulls) in [("Oslo", 4, 2), ("Rome", 5, 2), ("Lima", 1000, 1)] {
        for i in 0..rows {
            id += 1;
            let salary = if i < nulls {
                String::new()
            } else {
                (10 + i).to_string()
            };
            csv.push_str(&format!("{id},{city},{salary}\n"));
        }
    }
    let dir = tempdir_with(&[("people.csv", &csv)]);
    let policy = Policy::from_toml_str(PEOPLE_RULES).unwrap();
    let engine = PolarsEngine::open(dir.path(), &policy).unwrap();
    let guard = Guard::new(&policy, engine.catalog()).unwrap();
    let q = guard
        .check(
            "SELECT city, COUNT(salary) AS k, COUNT(*) AS n, SUM(salary) AS s \
             FROM people GROUP BY city ORDER BY n DESC",
        )
        .unwrap();
    assert!(q.sql().contains("IS NOT NULL AS DOUBLE"), "{}", q.sql());
    let rows = sqlveil::run(&engine, &q).unwrap();
    let lima_sum: i64 = (1..1000).map(|i| 10 + i).sum();
    assert_eq!(
        crate::util::cells(&rows),
        [
            "Lima".to_string(),
            "Rome".into(),
            "999".into(),
            "3".into(),
            "1000".into(),
            "5".into(),
            lima_sum.to_string(),
            "39".into(),
        ]
    );
    // Counts are signed 64-bit, as on the other engines.
    for name in ["k", "n"] {
        let i = q.columns().iter().position(|c| c.name == name).unwrap();
        assert_eq!(
            rows.columns()[i].dtype(),
            &polars::prelude::DataType::Int64,
            "{name}"
        );
    }
}
