//! Known values and known dates on the sample data, over 1 MB of prose
//! (`benches/data/prose.txt`) and over the same prose with a birth date, a
//! joined name and an ordinary date in every line: what a scan or a
//! question pays for joined names (`Liam_Johnson`) and dates in any form.
//! Run: `cargo bench --bench known_forms`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sqlveil::detect::{Detector, KnownValuesOptions};
use sqlveil::{PolarsEngine, Policy};

fn benches(c: &mut Criterion) {
    let policy = Policy::from_path("rules/sample.toml").expect("rules");
    let engine = PolarsEngine::open("examples/data", &policy).expect("data");
    let d = Detector::with_known_values(&policy, &engine, &KnownValuesOptions::new())
        .expect("detector");
    let prose = std::fs::read_to_string("benches/data/prose.txt").expect("prose");
    let dated: String = prose
        .lines()
        .enumerate()
        .map(|(i, l)| match i % 3 {
            0 => format!("{l} Born 06/24/1993.\n"),
            1 => format!("{l} Asked by liam_johnson on 2024-03-05.\n"),
            _ => format!("{l} Due June 2nd, 2024.\n"),
        })
        .collect();
    let mut g = c.benchmark_group("known_forms");
    for (name, text) in [("prose", &prose), ("prose_with_dates_and_names", &dated)] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(name, |b| b.iter(|| black_box(d.find(black_box(text)))));
    }
    g.finish();
}

criterion_group!(known_forms, benches);
criterion_main!(known_forms);
