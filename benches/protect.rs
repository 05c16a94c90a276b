//! Protection speed: tokenizing (hash mode), masking and generalizing whole
//! columns. Run: `cargo bench --bench protect`.

use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use polars::prelude::*;
use sqlveil::protect::{generalize_column, mask_column};
use sqlveil::rules::{Generalization, Mask, MaskKind, TokenClass};
use sqlveil::tokens::{MemoryVault, Tokens};
use sqlveil::{MasterKey, Policy};

const N: usize = 100_000;

fn benches(c: &mut Criterion) {
    let policy = Policy::from_toml_str("version = 1\n").expect("policy");
    let key = MasterKey::from_bytes(&[7; 32]);
    let names: Vec<String> = (0..N).map(|i| format!("Customer Name {i:06}")).collect();

    let mut g = c.benchmark_group("tokenize");
    g.throughput(Throughput::Elements(N as u64));
    let class = TokenClass::new("person").expect("class");
    // Fresh vault: every value is issued for the first time.
    g.bench_function("hash_first_issue_100k", |b| {
        b.iter_batched(
            || {
                Tokens::new(&policy, key.clone(), Some(Arc::new(MemoryVault::new())))
                    .expect("tokens")
            },
            |t| {
                for v in &names {
                    black_box(t.issue(&class, v).expect("token"));
                }
            },
            criterion::BatchSize::LargeInput,
        )
    });
    // Warm vault: the same values again (a repeated result).
    let warm =
        Tokens::new(&policy, key.clone(), Some(Arc::new(MemoryVault::new()))).expect("tokens");
    for v in &names {
        warm.issue(&class, v).expect("token");
    }
    g.bench_function("hash_reissue_100k", |b| {
        b.iter(|| {
            for v in &names {
                black_box(warm.issue(&class, v).expect("token"));
            }
        })
    });
    g.finish();

    let mut g = c.benchmark_group("mask");
    g.throughput(Throughput::Elements(N as u64));
    let emails = Series::new(
        "e".into(),
        (0..N)
            .map(|i| format!("user{i}@example.com"))
            .collect::<Vec<_>>(),
    )
    .into_column();
    let phones = Series::new(
        "p".into(),
        (0..N)
            .map(|i| format!("(415) 555-{:04}", i % 10_000))
            .collect::<Vec<_>>(),
    )
    .into_column();
    for (kind, col) in [
        (MaskKind::Email, &emails),
        (MaskKind::Last4, &phones),
        (MaskKind::Hash, &emails),
    ] {
        g.bench_function(format!("{kind:?}_100k"), |b| {
            b.iter(|| black_box(mask_column(col, &Mask::new(kind), &key).expect("mask")))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("generalize");
    g.throughput(Throughput::Elements(N as u64));
    let days: Vec<i32> = (0..N as i32).map(|i| i % 30_000).collect();
    let dates = Series::new("d".into(), days)
        .cast(&DataType::Date)
        .expect("dates")
        .into_column();
    let incomes = Series::new(
        "x".into(),
        (0..N as i64).map(|i| i * 37).collect::<Vec<_>>(),
    )
    .into_column();
    let zips = Series::new(
        "z".into(),
        (0..N).map(|i| format!("{:05}", i)).collect::<Vec<_>>(),
    )
    .into_column();
    for (name, col, gz) in [
        ("year_100k", &dates, Generalization::Year),
        ("month_100k", &dates, Generalization::Month),
        ("bucket_100k", &incomes, Generalization::Bucket(1000.0)),
        ("prefix3_100k", &zips, Generalization::Prefix(3)),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| black_box(generalize_column(col, gz).expect("generalize")))
        });
    }
    g.finish();
}

criterion_group!(protect, benches);
criterion_main!(protect);
