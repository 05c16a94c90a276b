//! sqlveil on PostgreSQL against the plain client, in one run: the same
//! 1,000-row query executed with `postgres::Client::query` (what `psql` does:
//! send, fetch every row), and through guard + `PostgresEngine::run` +
//! protect. The difference is sqlveil's overhead.
//!
//! Run with a server holding the sample data (`examples/data/postgres.py`):
//! `SQLVEIL_PG_URL=postgresql://… cargo bench --bench postgres`.

use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use sqlveil::detect::Detector;
use sqlveil::guard::GuardBuilder;
use sqlveil::protect::Protector;
use sqlveil::tokens::{MemoryVault, Tokens};
use sqlveil::{Engine, MasterKey, Policy, PostgresEngine};

const SQL: &str = "SELECT order_id, customer_id, order_date, amount, status, ship_city FROM orders ORDER BY order_id LIMIT 1000";

fn benches(c: &mut Criterion) {
    let Ok(url) = std::env::var("SQLVEIL_PG_URL") else {
        eprintln!("SQLVEIL_PG_URL is not set: nothing to measure");
        return;
    };
    let text = std::fs::read_to_string("rules/sample.toml").expect("sample rules");
    let policy =
        Policy::from_toml_str(&text.replace("max_rows = 200", "max_rows = 1000")).expect("rules");
    let engine = PostgresEngine::builder()
        .pool_size(1)
        .connect(&url, &policy)
        .expect("connect");
    let guard = GuardBuilder::new()
        .dialect(engine.dialect())
        .build(&policy, engine.catalog())
        .expect("guard");
    let key = MasterKey::from_bytes(&[7; 32]);
    let tokens =
        Tokens::new(&policy, key.clone(), Some(Arc::new(MemoryVault::new()))).expect("tokens");
    let detector = Detector::new(&policy).expect("detector");
    let protector = Protector::new(&tokens, &detector, &key).expect("protector");
    let mut plain = postgres::Client::connect(&url, postgres::NoTls).expect("connect");

    let mut g = c.benchmark_group("postgres_1000_rows");
    g.bench_function("plain_client_query", |b| {
        b.iter(|| {
            let rows = plain.query(SQL, &[]).expect("query");
            assert_eq!(rows.len(), 1000);
            black_box(rows)
        })
    });
    g.bench_function("sqlveil_guard_run_protect", |b| {
        b.iter(|| {
            let q = guard.check_with(SQL, &tokens).expect("guard");
            let rows = sqlveil::run(&engine, &q).expect("run");
            let out = protector.protect(rows, &q).expect("protect");
            assert_eq!(out.frame.height(), 1000);
            black_box(out)
        })
    });
    g.finish();
}

criterion_group!(postgres_bench, benches);
criterion_main!(postgres_bench);
