//! Free-text detection speed.
//!
//! - `dense`: a generated text with one personal value per 60 bytes (clinic
//!   notes, tickets, log lines; every built-in type in several spellings,
//!   with look-alikes around), the case where per-hit costs show:
//!   `Detector::find`, and `Detector::redact` with `hash` tokens issued into
//!   a fresh memory vault every iteration (every value is new).
//! - `prose`: English prose with sparse personal data
//!   (`benches/data/prose.txt`, the text the Presidio comparison in
//!   `benches/compare/` reads), whole and line by line.
//!
//! Run: `cargo bench --bench detect`. With `SQLVEIL_DENSE_OUT=FILE` set, the
//! bench first writes 10 MB of the dense text to FILE (for a timed
//! `sqlveil scan`, see the README). With `SQLVEIL_DETECT_ONCE=find` (or
//! `redact`) it runs that over the 1 MB dense text `SQLVEIL_DETECT_TIMES`
//! times (default 1) and exits, without criterion: a fixed amount of work,
//! for instruction counts (`valgrind --tool=callgrind`), which other
//! processes on the machine do not change as they change times. The first
//! run also fills the regex engine's lazy DFA: the difference between 3
//! and 1 runs, halved, is the cost of one warm run.

use std::path::PathBuf;
use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use sqlveil::detect::Detector;
use sqlveil::tokens::{MemoryVault, Tokens};
use sqlveil::{MasterKey, Policy};

/// A small deterministic generator (SplitMix64), so the text is the same
/// on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

fn luhn_complete(payload: &str) -> String {
    let mut sum = 0;
    for (i, c) in payload.bytes().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    format!("{payload}{}", (10 - sum % 10) % 10)
}

fn iban_de(r: &mut Rng) -> String {
    let bban = r.digits(18);
    let numeric = format!("{bban}131400");
    let rem = numeric
        .bytes()
        .fold(0u32, |a, b| (a * 10 + u32::from(b - b'0')) % 97);
    format!("DE{:02}{bban}", 98 - rem)
}

/// One personal value, in one of the spellings people use.
fn entity(r: &mut Rng) -> String {
    let area = 200 + r.below(700);
    let ex = 200 + r.below(800);
    let line = r.digits(4);
    match r.below(14) {
        0 => format!(
            "{}.{}{}@{}",
            r.pick(&["maria", "james", "aisha", "tom", "zoë"]),
            r.pick(&["lopez", "kim", "okafor", "müller"]),
            r.below(1000),
            r.pick(&["example.com", "mail.example.co.uk", "bücher.de"])
        ),
        1 => format!("({area}) {ex}-{line}"),
        2 => format!("+1 {area} {ex} {line}"),
        3 => format!("cell {area}{ex}{line}"),
        4 => format!("+44 20 {} {}", 7000 + r.below(2000), r.digits(4)),
        5 => format!(
            "{:03}-{:02}-{:04}",
            1 + r.below(660),
            1 + r.below(99),
            1 + r.below(9999)
        ),
        6 => format!(
            "SSN {:03} {:02} {:04}",
            1 + r.below(660),
            1 + r.below(99),
            1 + r.below(9999)
        ),
        7 => {
            let c = luhn_complete(&format!("4{}", r.digits(14)));
            format!("{} {} {} {}", &c[..4], &c[4..8], &c[8..12], &c[12..])
        }
        8 => luhn_complete(&format!("5{}{}", 1 + r.below(5), r.digits(13))),
        9 => {
            let i = iban_de(r);
            let grouped: Vec<String> = i
                .as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            grouped.join(" ")
        }
        10 => format!("10.{}.{}.{}", r.below(256), r.below(256), 1 + r.below(254)),
        11 => format!(
            "{}.{}.{}.{}:8443",
            1 + r.below(223),
            r.below(256),
            r.below(256),
            1 + r.below(254)
        ),
        12 => format!("2001:db8:{:x}::{:x}", r.below(65536), 1 + r.below(65535)),
        _ => format!("fe80::{:x}:{:x}%eth0", r.below(65536), r.below(65536)),
    }
}

/// Text around the values: clinic notes, tickets and log lines, with
/// look-alikes (dates, times, order numbers, versions, prices).
const FRAMES: &[&str] = &[
    "Pt f/u {d}, BP 128/82. Contact: {e}.\n",
    "Ticket #{n}: customer gave {e}, refund {p}.\n",
    "{d} 10:22:31 INFO auth ok {e} v2.4.1\n",
    "Called re order {n}; {e} confirmed.\n",
    "Note {d}: pls update to {e} asap.\n",
    "{d} WARN retry peer={e} build 10.0.19045.3803\n",
];

/// About `bytes` bytes of text with one value per 60 bytes.
fn dense_text(bytes: usize) -> String {
    let mut r = Rng(12);
    let mut out = String::with_capacity(bytes + 128);
    let mut values = 0usize;
    while out.len() < bytes {
        let frame = r.pick(FRAMES);
        let date = format!("2024-{:02}-{:02}", 1 + r.below(12), 1 + r.below(28));
        let mut s = frame
            .replace("{d}", &date)
            .replace("{n}", &r.digits(6))
            .replace("{p}", &format!("${}.{}", r.below(900), r.digits(2)))
            .replace("{e}", &entity(&mut r));
        values += 1;
        // Pad to 60 bytes a value, with plain words.
        let target = values * 60;
        let filler = [
            "and ", "the ", "patient ", "was ", "seen ", "again ", "by ", "the ", "team ", "today ",
        ];
        let mut pad = String::new();
        for w in filler {
            if out.len() + pad.len() + s.len() + w.len() > target {
                break;
            }
            pad.push_str(w);
        }
        s.insert_str(0, &pad);
        out.push_str(&s);
    }
    out
}

fn all_builtins() -> Policy {
    Policy::from_toml_str(
        "version = 1\n[detectors]\nbuiltin = [\"email\", \"phone\", \"ssn\", \"credit_card\", \"iban\", \"ipv4\", \"ipv6\"]\n",
    )
    .expect("policy")
}

fn benches(c: &mut Criterion) {
    if let Ok(path) = std::env::var("SQLVEIL_DENSE_OUT") {
        std::fs::write(&path, dense_text(10_000_000)).expect("write the dense text");
        eprintln!("wrote 10 MB of dense text to {path}");
    }
    let policy = all_builtins();
    let d = Detector::new(&policy).expect("detector");

    let dense = dense_text(1_000_000);
    let key = MasterKey::from_bytes(&[7; 32]);
    if let Ok(what) = std::env::var("SQLVEIL_DETECT_ONCE") {
        let times: usize = std::env::var("SQLVEIL_DETECT_TIMES")
            .map_or(1, |n| n.parse().expect("SQLVEIL_DETECT_TIMES is a number"));
        for _ in 0..times {
            match what.as_str() {
                "find" => eprintln!("{} hits", d.find(&dense).len()),
                "redact" => {
                    let tokens =
                        Tokens::new(&policy, key.clone(), Some(Arc::new(MemoryVault::new())))
                            .expect("tokens");
                    let r = d.redact(&dense, &tokens).expect("redact");
                    eprintln!("{} bytes redacted", r.text.len());
                }
                other => panic!("SQLVEIL_DETECT_ONCE is find or redact, not {other}"),
            }
        }
        std::process::exit(0);
    }
    let mut g = c.benchmark_group("dense");
    g.throughput(Throughput::Bytes(dense.len() as u64));
    g.sample_size(20);
    g.bench_function("find", |b| b.iter(|| black_box(d.find(black_box(&dense)))));
    g.bench_function("redact_hash_fresh_vault", |b| {
        b.iter_batched(
            || {
                Tokens::new(&policy, key.clone(), Some(Arc::new(MemoryVault::new())))
                    .expect("tokens")
            },
            |tokens| black_box(d.redact(black_box(&dense), &tokens).expect("redact")),
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("benches/data/prose.txt"))
        .expect("benches/data/prose.txt");
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
