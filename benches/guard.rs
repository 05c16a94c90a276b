//! The guard's speed: parse, resolve, lineage, check and rewrite, on the
//! queries in `benches/queries/*.sql` (the same files the sqlglot comparison
//! in `benches/compare/` reads).
//!
//! Run: `cargo bench --bench guard`.
//!
//! The bench runs with the `sqlveil` CLI's global allocator, mimalloc: the
//! parser and the guard allocate many small values, and the allocator is
//! the program's choice, not the library's. A backend that keeps the system
//! allocator pays about a third more per check (README, "Figures").

use std::path::PathBuf;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use sqlveil::guard::{Guard, GuardBuilder};
use sqlveil::schema::Dialect;
use sqlveil::{Engine, PolarsEngine, Policy};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn guard_benches(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let policy = Policy::from_path(root.join("rules/sample.toml")).expect("sample rules");
    let engine = PolarsEngine::open(root.join("examples/data"), &policy).expect("sample data");
    let guard = Guard::new(&policy, engine.catalog()).expect("guard");
    // Correlated subqueries are refused on the polars dialect; such queries
    // are measured with the PostgreSQL dialect (the same walk).
    let pg = GuardBuilder::new()
        .dialect(Dialect::Postgres)
        .build(&policy, engine.catalog())
        .expect("guard");
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("benches/queries"))
        .expect("benches/queries")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    let mut group = c.benchmark_group("guard");
    for f in files {
        let mut name = f
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let sql = std::fs::read_to_string(&f).expect("query file");
        // Every benchmark query must pass the guard: a refusal is cheaper
        // and would flatter the figure.
        let g = if guard.check(&sql).is_ok() {
            &guard
        } else {
            name.push_str("_pg");
            &pg
        };
        g.check(&sql)
            .unwrap_or_else(|e| panic!("{name} is refused: {e}"));
        group.bench_function(&name, |b| b.iter(|| g.check(black_box(&sql))));
    }
    group.finish();

    // The floor: sqlparser's tokenize + parse of the typical query alone.
    let sql = std::fs::read_to_string(root.join("benches/queries/join3_cte_groupby.sql"))
        .expect("query file");
    let dialect = sqlparser::dialect::GenericDialect {};
    c.bench_function("sqlparser_parse_only/join3_cte_groupby", |b| {
        b.iter(|| sqlparser::parser::Parser::parse_sql(&dialect, black_box(&sql)))
    });
    let parsed = sqlparser::parser::Parser::parse_sql(&dialect, &sql).expect("parses");
    c.bench_function("sqlparser_display_only/join3_cte_groupby", |b| {
        b.iter(|| {
            black_box(&parsed)
                .iter()
                .map(|s| s.to_string().len())
                .sum::<usize>()
        })
    });
}

criterion_group!(benches, guard_benches);
criterion_main!(benches);
