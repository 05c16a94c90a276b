//! sqlveil on Spark against a plain Spark Connect client, in one run.
//!
//! - `spark_1000_rows`: the same 1,000-row query executed by Apache's
//!   Spark Connect client alone (send the SQL, read every Arrow batch), and
//!   through guard + `sqlveil::run` on `SparkEngine` + protect. The
//!   difference is sqlveil's overhead.
//! - `spark_10m_rows`: a 10-million-row table (made by the bench on the
//!   server, `sqlveil_bench_big`), queried through sqlveil for 1,000 rows
//!   and for one aggregate row; the process's peak resident memory is
//!   printed before and after, to show that memory follows the result, not
//!   the table.
//!
//! Run with a server holding the sample data (`examples/data/spark.sh`):
//! `SQLVEIL_SPARK_URL=sc://… cargo bench --bench spark`.

use std::io::Cursor;
use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use spark_connect_core::channel::ChannelBuilder;
use spark_connect_core::{block_on, SparkConnectClient, SparkError};
use spark_connect_proto as proto;
use sqlveil::detect::Detector;
use sqlveil::guard::GuardBuilder;
use sqlveil::protect::Protector;
use sqlveil::tokens::{MemoryVault, Tokens};
use sqlveil::{Engine, MasterKey, Policy, SparkEngine};

const SQL: &str = "SELECT order_id, customer_id, order_date, amount, status, ship_city FROM orders ORDER BY order_id LIMIT 1000";

/// Runs SQL with the plain client and returns the number of rows.
fn plain(client: &SparkConnectClient, sql: &str) -> usize {
    let request = proto::ExecutePlanRequest {
        session_id: client.session_id().to_string(),
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
        let mut s = client.execute_plan(request).await.expect("execute");
        let mut n = 0;
        while let Some(r) = s
            .message()
            .await
            .map_err(SparkError::from_grpc_status)
            .expect("stream")
        {
            if let Some(proto::execute_plan_response::ResponseType::ArrowBatch(b)) = r.response_type
            {
                let reader =
                    arrow_ipc::reader::StreamReader::try_new(Cursor::new(&b.data[..]), None)
                        .expect("arrow");
                for batch in reader {
                    n += batch.expect("batch").num_rows();
                }
            }
        }
        n
    })
}

/// The process's peak resident memory (VmHWM), in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn benches(c: &mut Criterion) {
    let Ok(url) = std::env::var("SQLVEIL_SPARK_URL") else {
        eprintln!("SQLVEIL_SPARK_URL is not set: nothing to measure");
        return;
    };
    let text = std::fs::read_to_string("rules/sample.toml").expect("sample rules");
    let text = text.replace("max_rows = 200", "max_rows = 1000");
    let text = format!(
        "{text}\n[tables.sqlveil_bench_big.columns]\nid = {{ action = \"allow\" }}\nbucket = {{ action = \"allow\" }}\n"
    );
    let policy = Policy::from_toml_str(&text).expect("rules");
    let client = block_on(SparkConnectClient::connect(
        &ChannelBuilder::parse(&url).expect("url"),
    ))
    .expect("connect");
    let exists = plain(&client, "SHOW TABLES LIKE 'sqlveil_bench_big'") == 1;
    if !exists {
        eprintln!("making sqlveil_bench_big (10,000,000 rows) on the server");
        plain(
            &client,
            "CREATE TABLE sqlveil_bench_big USING parquet AS \
             SELECT id, CAST(id % 1000 AS INT) AS bucket FROM range(10000000)",
        );
    }
    let engine = SparkEngine::connect(&url, &policy).expect("connect");
    let guard = GuardBuilder::new()
        .dialect(engine.dialect())
        .build(&policy, engine.catalog())
        .expect("guard");
    let key = MasterKey::from_bytes(&[7; 32]);
    let tokens =
        Tokens::new(&policy, key.clone(), Some(Arc::new(MemoryVault::new()))).expect("tokens");
    let detector = Detector::new(&policy).expect("detector");
    let protector = Protector::new(&tokens, &detector, &key).expect("protector");

    let mut g = c.benchmark_group("spark_1000_rows");
    g.bench_function("plain_client_query", |b| {
        b.iter(|| {
            let n = plain(&client, SQL);
            assert_eq!(n, 1000);
            black_box(n)
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

    let before = peak_mib();
    let mut g = c.benchmark_group("spark_10m_rows");
    g.sample_size(10);
    for (name, sql, rows) in [
        (
            "rows_1000_of_10m",
            "SELECT id, bucket FROM sqlveil_bench_big WHERE bucket = 7 ORDER BY id LIMIT 1000",
            1000,
        ),
        (
            "aggregate_of_10m",
            "SELECT COUNT(*) AS n, SUM(id) AS s FROM sqlveil_bench_big",
            1,
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let q = guard.check_with(sql, &tokens).expect("guard");
                let df = sqlveil::run(&engine, &q).expect("run");
                assert_eq!(df.height(), rows);
                black_box(df)
            })
        });
    }
    g.finish();
    eprintln!(
        "peak resident memory of the bench process: {before:.0} MiB before the 10-million-row queries, {:.0} MiB after",
        peak_mib()
    );
}

criterion_group!(spark_bench, benches);
criterion_main!(spark_bench);
