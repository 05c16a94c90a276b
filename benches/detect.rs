//! Free-text detection speed: all built-in detectors over English prose with
//! sparse personal data (`benches/data/prose.txt`, the text the Presidio
//! comparison in `benches/compare/` reads). Run: `cargo bench --bench detect`.

use std::path::PathBuf;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sqlveil::{Detector, Policy};

fn benches(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("benches/data/prose.txt"))
        .expect("benches/data/prose.txt");
    let policy = Policy::from_toml_str(
        "version = 1\n[detectors]\nbuiltin = [\"email\", \"phone\", \"ssn\", \"credit_card\", \"iban\", \"ipv4\", \"ipv6\"]\n",
    )
    .expect("policy");
    let d = Detector::new(&policy).expect("detector");
    let mut g = c.benchmark_group("scan");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(20);
    g.bench_function("builtin_prose", |b| {
        b.iter(|| black_box(d.find(black_box(&text))))
    });
    // The same text in the short pieces a result's `scan` column holds.
    let lines: Vec<&str> = text.lines().collect();
    g.bench_function("builtin_prose_by_line", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(d.find(l));
            }
        })
    });
    g.finish();
}

criterion_group!(detect, benches);
criterion_main!(detect);
