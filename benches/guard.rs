//! The guard's speed: parse, resolve, lineage, check and rewrite, on the
//! queries in `benches/queries/*.sql` (the same files the sqlglot comparison
//! in `benches/compare/` reads).
//!
//! Run: `cargo bench --bench guard`.

use std::path::PathBuf;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use sqlveil::{Engine, Guard, PolarsEngine, Policy};

fn guard_benches(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let policy = Policy::from_path(root.join("rules/sample.toml")).expect("sample rules");
    let engine = PolarsEngine::open(root.join("examples/data"), &policy).expect("sample data");
    let guard = Guard::new(&policy, engine.catalog()).expect("guard");
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("benches/queries"))
        .expect("benches/queries")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    let mut group = c.benchmark_group("guard");
    for f in files {
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let sql = std::fs::read_to_string(&f).expect("query file");
        // Every benchmark query must pass the guard: a refusal is cheaper
        // and would flatter the figure.
        guard
            .check(&sql)
            .unwrap_or_else(|e| panic!("{name} is refused: {e}"));
        group.bench_function(&name, |b| b.iter(|| guard.check(black_box(&sql))));
    }
    group.finish();
}

criterion_group!(benches, guard_benches);
criterion_main!(benches);
