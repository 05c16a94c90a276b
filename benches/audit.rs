//! Audit log speed: appending events (serialise, chain, write, flush without
//! fsync) and verifying a log. Run: `cargo bench --bench audit`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sqlveil::audit::{verify, AuditEvent, AuditLogBuilder, AuditSink, Decision, Redaction};
use sqlveil::MasterKey;

fn event(i: u64) -> AuditEvent {
    AuditEvent {
        kind: "query".into(),
        actor: "alice".into(),
        request_id: format!("req-{i}"),
        role: Some("support".into()),
        sql: Some("SELECT city, COUNT(*) AS n FROM customers WHERE segment = '<lit_12d4df1ab5352449>' GROUP BY city".into()),
        decision: Some(Decision::Allowed),
        redactions: vec![Redaction { column: "full_name".into(), action: "tokenize".into(), count: 20 }],
        rows: Some(20),
        duration_ms: 1.5,
        ..AuditEvent::default()
    }
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = MasterKey::from_bytes(&[1; 32]);
    let mut g = c.benchmark_group("audit");
    const N: u64 = 10_000;
    g.throughput(Throughput::Elements(N));
    let mut run = 0;
    g.bench_function("append_10k_keyed", |b| {
        b.iter_batched(
            || {
                run += 1;
                let path = dir.path().join(format!("append-{run}.jsonl"));
                (
                    AuditLogBuilder::new().open(&path, Some(&key)).expect("log"),
                    (0..N).map(event).collect::<Vec<_>>(),
                )
            },
            |(log, events)| {
                for e in events {
                    log.record(e).expect("record");
                }
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();

    // A 100,000-event log to verify.
    let path = dir.path().join("verify.jsonl");
    let log = AuditLogBuilder::new().open(&path, Some(&key)).expect("log");
    for i in 0..100_000 {
        log.record(event(i)).expect("record");
    }
    let bytes = std::fs::metadata(&path).expect("log file").len();
    let mut g = c.benchmark_group("audit_verify");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    let files = [path];
    g.bench_function("verify_100k_keyed", |b| {
        b.iter(|| black_box(verify(&files, Some(&key)).expect("verify")))
    });
    g.finish();
}

criterion_group!(audit, benches);
criterion_main!(audit);
