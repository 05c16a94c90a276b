//! Known-value detection at scale: one column of 1,000,000 distinct
//! synthetic name-like values (generated in memory, deterministic), served by
//! an in-memory engine so that the bench measures the index, not file
//! reading. Reports build time, memory (the report's figure) and
//! scan throughput over 1 MB of prose (`benches/data/prose.txt`) with the
//! values loaded. Run: `cargo bench --bench known`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use polars::prelude::{Column, DataFrame};
use sqlveil::detect::{Detector, KnownValuesOptions};
use sqlveil::schema::{Catalog, CatalogColumn, CatalogTable, ColumnType};
use sqlveil::{Engine, Error, Policy};

const N: usize = 1_000_000;

const SYLLABLES: &[&str] = &[
    "an", "ber", "ca", "dor", "el", "fi", "gan", "ha", "is", "jo", "ka", "li", "mar", "ne", "ol",
    "pe", "qui", "ra", "sa", "ta", "ul", "ve", "wen", "xa", "yo", "zu", "bri", "chel", "dre",
    "fra", "gre", "hol", "ing", "kle", "lor", "mon", "nor", "pri", "ros", "ste",
];

/// `N` distinct "First Last" names of 2-3 and 2-4 syllables (about 15
/// bytes each), from a fixed xorshift seed.
fn names() -> Vec<String> {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut seen = HashSet::with_capacity(N);
    let mut out = Vec::with_capacity(N);
    let word = |r: u64, shift: u32, n: usize| {
        let mut w = String::new();
        for i in 0..n {
            let s = (r >> (shift + 6 * i as u32)) % SYLLABLES.len() as u64;
            w.push_str(SYLLABLES[s as usize]);
        }
        let mut c = w.chars();
        c.next()
            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
            .unwrap_or_default()
    };
    while out.len() < N {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let name = format!(
            "{} {}",
            word(x, 8, 2 + (x % 2) as usize),
            word(x, 28, 2 + ((x >> 4) % 3) as usize)
        );
        if seen.insert(name.clone()) {
            out.push(name);
        }
    }
    out
}

/// An engine holding one table, `people`, whose `name` column it returns
/// for any query (the known-value loader's `SELECT DISTINCT`).
struct Memory {
    catalog: Catalog,
    frame: DataFrame,
}

impl Engine for Memory {
    fn catalog(&self) -> &Catalog {
        &self.catalog
    }
    fn dialect(&self) -> sqlveil::schema::Dialect {
        sqlveil::schema::Dialect::Polars
    }
    fn execute(&self, _sql: &str, max_rows: u64) -> Result<DataFrame, Error> {
        Ok(self.frame.head(Some(max_rows as usize)))
    }
    fn distinct_values(
        &self,
        _table: &str,
        _column: &str,
        _limit: Option<u64>,
        each: &mut dyn FnMut(&str) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let c = self.frame.columns()[0]
            .as_materialized_series()
            .str()
            .expect("text")
            .clone();
        for v in c.iter().flatten() {
            each(v)?;
        }
        Ok(())
    }
}

fn benches(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("benches/data/prose.txt"))
        .expect("benches/data/prose.txt");
    let values = names();
    let engine = Memory {
        catalog: Catalog::new(vec![CatalogTable {
            name: "people".into(),
            columns: vec![CatalogColumn {
                name: "name".into(),
                ty: ColumnType::Text,
            }],
        }]),
        frame: DataFrame::new_infer_height(vec![Column::new("name".into(), values)])
            .expect("frame"),
    };
    let known_only = Policy::from_toml_str(
        "version = 1\n[tables.people.columns]\nname = { action = \"tokenize\", class = \"person\" }\n",
    )
    .expect("policy");
    let with_builtins = Policy::from_toml_str(
        "version = 1\n[tables.people.columns]\nname = { action = \"tokenize\", class = \"person\" }\n[detectors]\nbuiltin = [\"email\", \"phone\", \"ssn\", \"credit_card\", \"iban\", \"ipv4\", \"ipv6\"]\n",
    )
    .expect("policy");
    let opts = KnownValuesOptions::new();

    // One build outside criterion, for the report's figures.
    let t = Instant::now();
    let d = Detector::with_known_values(&known_only, &engine, &opts).expect("build");
    let wall = t.elapsed();
    let r = d.known_values_report().expect("report");
    println!(
        "known values: {} values, {} patterns, build {:.2} s (report: {:.2} s), memory {:.1} MiB \
         (index {:.1} MiB, spellings {:.1} MiB), skipped: {}",
        r.columns[0].values,
        r.patterns,
        wall.as_secs_f64(),
        r.build_time.as_secs_f64(),
        r.memory_bytes() as f64 / (1 << 20) as f64,
        r.index_bytes as f64 / (1 << 20) as f64,
        r.values_bytes as f64 / (1 << 20) as f64,
        r.columns[0].skipped,
    );

    let mut g = c.benchmark_group("known_build");
    g.sample_size(10);
    g.bench_function("1m_names", |b| {
        b.iter(|| {
            black_box(Detector::with_known_values(&known_only, &engine, &opts).expect("build"))
        })
    });
    g.finish();

    let full = Detector::with_known_values(&with_builtins, &engine, &opts).expect("build");
    let mut g = c.benchmark_group("known_scan");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.sample_size(20);
    g.bench_function("1m_names_prose", |b| {
        b.iter(|| black_box(d.find(black_box(&text))))
    });
    g.bench_function("1m_names_and_builtins_prose", |b| {
        b.iter(|| black_box(full.find(black_box(&text))))
    });
    g.finish();
}

criterion_group!(known, benches);
criterion_main!(known);
