//! Token vault speed: issuing first-time tokens into a file vault (one
//! batch, one lock and one append per request, versus one lock per value),
//! and scanning dense text (one entity per ~60 bytes) with a file vault.
//! Run: `cargo bench --bench vault`.

use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sqlveil::detect::Detector;
use sqlveil::rules::TokenClass;
use sqlveil::tokens::{FileVault, MemoryVault, Tokens};
use sqlveil::{MasterKey, Policy};

const N: usize = 50_000;

/// Text with one email or phone number per ~60 bytes, every one distinct.
fn dense_text(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 100);
    let mut i = 0u64;
    while out.len() < bytes {
        if i.is_multiple_of(2) {
            out.push_str(&format!(
                "Please reach user{i}@corp{}.example.com today, thank you so much.\n",
                i % 97
            ));
        } else {
            out.push_str(&format!(
                "Or call ({}) 555-{:04} after noon, any weekday is fine.\n",
                200 + i % 700,
                i % 10_000
            ));
        }
        i += 1;
    }
    out
}

fn benches(c: &mut Criterion) {
    let policy =
        Policy::from_toml_str("version = 1\n[detectors]\nbuiltin = [\"email\", \"phone\"]\n")
            .expect("policy");
    let key = MasterKey::from_bytes(&[7; 32]);
    let class = TokenClass::new("email").expect("class");
    let values: Vec<String> = (0..N).map(|i| format!("user{i}@example.com")).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut run = 0;
    let mut fresh = |dir: &std::path::Path| {
        run += 1;
        let vault = FileVault::open(dir.join(format!("v{run}.jsonl")), &key).expect("vault");
        Tokens::new(&policy, key.clone(), Some(Arc::new(vault))).expect("tokens")
    };

    let mut g = c.benchmark_group("vault_issue");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(10);
    g.bench_function("file_vault_one_batch_50k", |b| {
        b.iter_batched(
            || fresh(dir.path()),
            |t| {
                t.batch(|t| {
                    for v in &values {
                        black_box(t.issue(&class, v)?);
                    }
                    Ok(())
                })
                .expect("batch")
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.bench_function("file_vault_lock_per_value_50k", |b| {
        b.iter_batched(
            || fresh(dir.path()),
            |t| {
                for v in &values {
                    black_box(t.issue(&class, v).expect("token"));
                }
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.bench_function("memory_vault_50k", |b| {
        b.iter_batched(
            || {
                Tokens::new(&policy, key.clone(), Some(Arc::new(MemoryVault::new())))
                    .expect("tokens")
            },
            |t| {
                for v in &values {
                    black_box(t.issue(&class, v).expect("token"));
                }
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();

    // Dense text through the detectors, every hit a new token.
    let text = dense_text(4 << 20);
    let detector = Detector::new(&policy).expect("detector");
    let mut g = c.benchmark_group("scan_dense");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(10);
    g.bench_function("redact_4MiB_file_vault_batch", |b| {
        b.iter_batched(
            || fresh(dir.path()),
            |t| black_box(t.batch(|t| detector.redact(&text, t)).expect("redact")),
            criterion::BatchSize::PerIteration,
        )
    });
    g.bench_function("redact_4MiB_memory_vault", |b| {
        b.iter_batched(
            || {
                Tokens::new(&policy, key.clone(), Some(Arc::new(MemoryVault::new())))
                    .expect("tokens")
            },
            |t| black_box(detector.redact(&text, &t).expect("redact")),
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(vault, benches);
criterion_main!(vault);
