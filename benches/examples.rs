//! Retrieval of reviewed examples: BM25 over 10,000 examples, per question
//! (goal: at most 1 ms), and a direct-answer lookup.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use sqlveil::chat::{Example, ExampleIndex, ExampleSet};
use sqlveil::tokens::Tokens;
use sqlveil::{MasterKey, Policy};

const SUBJECTS: &[&str] = &[
    "customers",
    "orders",
    "products",
    "tickets",
    "revenue",
    "refunds",
    "shipments",
    "invoices",
    "returns",
    "reviews",
    "payments",
    "subscriptions",
    "suppliers",
    "warehouses",
    "carts",
];
const MEASURES: &[&str] = &[
    "how many",
    "total",
    "average",
    "median",
    "largest",
    "smallest",
    "share of",
    "growth of",
    "count of",
    "sum of",
];
const GROUPS: &[&str] = &[
    "per city",
    "per month",
    "per segment",
    "per category",
    "per channel",
    "per status",
    "per week",
    "per region",
    "per product",
    "per year",
    "per day",
    "per store",
    "per brand",
    "per country",
    "per supplier",
];
const FILTERS: &[&str] = &[
    "in 2024",
    "last quarter",
    "for vip customers",
    "that were cancelled",
    "shipped late",
    "above 100 dollars",
    "in Austin",
    "by email",
    "opened by chat",
    "with a discount",
];

fn set(n: usize) -> ExampleSet {
    let mut s = ExampleSet::new();
    for i in 0..n {
        let q = format!(
            "{} {} {} {} (variant {i})",
            MEASURES[i % MEASURES.len()],
            SUBJECTS[(i / 7) % SUBJECTS.len()],
            GROUPS[(i / 3) % GROUPS.len()],
            FILTERS[(i / 11) % FILTERS.len()],
        );
        s.push(Example::new(format!("e{i}"), q, "SELECT 1 AS one").direct(i % 2 == 0))
            .expect("distinct names");
    }
    s
}

fn bench(c: &mut Criterion) {
    let policy =
        Policy::from_toml_str("version = 1\n[defaults]\ntokens = \"sealed\"").expect("policy");
    let tokens = Tokens::new(&policy, MasterKey::from_bytes(&[7; 32]), None).expect("tokens");
    let index = ExampleIndex::new(&set(10_000));
    assert_eq!(index.len(), 10_000);
    let questions = [
        "What is the total revenue per month in 2024?",
        "How many orders were cancelled per city last quarter?",
        "Average payments per supplier for vip customers",
        "Which products have the most reviews?",
    ];
    let mut g = c.benchmark_group("examples");
    g.bench_function("retrieve_top3_of_10000", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            black_box(
                index
                    .retrieve(&tokens, questions[i % questions.len()], 3)
                    .len(),
            )
        })
    });
    g.bench_function("build_index_10000", |b| {
        let s = set(10_000);
        b.iter(|| black_box(ExampleIndex::new(&s).len()))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
