//! The soundness fuzzer (issue 11): a grammar-based generator of hostile SQL
//! over the sample schema, run on a canary copy of the data in which every
//! protected cell holds a unique marker.
//!
//! Every query the guard admits runs on polars and, with `SQLVEIL_PG_URL`,
//! on PostgreSQL. A case fails when
//! - a marker, or a part of one (six characters, in any case, either way
//!   round), is in the rows a model would see, beyond what the column's
//!   action shows by design (an email's domain, a phone's last four, a
//!   year);
//! - an output column holds values its claimed lineage and action do not
//!   allow (a raw marker in a column labelled `allow`, a column labelled as
//!   one source holding another's markers);
//! - polars and PostgreSQL return different rows for the same admitted
//!   query (the guard's total order makes their rows comparable).
//!
//! `SQLVEIL_FUZZ_CASES` (default 2,000) and `SQLVEIL_FUZZ_SEED` (default
//! fixed) set the run; CI runs the default. A long run:
//!
//! ```text
//! SQLVEIL_FUZZ_CASES=100000 SQLVEIL_FUZZ_SEED=7 cargo test --release --test integration -- fuzz --nocapture
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;
use std::sync::Arc;

use polars::prelude::{DataFrame, DataType};
use sqlveil::detect::Detector;
use sqlveil::guard::{Guard, GuardBuilder};
use sqlveil::protect::Protector;
use sqlveil::rules::{Action, TokenClass};
use sqlveil::tokens::{MemoryVault, Tokens};
use sqlveil::{Engine, MasterKey, PolarsEngine, Policy, PostgresEngine};

use crate::util::{normalized, root, same_rows, trim_time, ORDER_KEY};

// ------------------------------------------------------------------ random

/// splitmix64: small, seedable, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

// ------------------------------------------------------------------ schema

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Int,
    Num,
    Text,
    Date,
    Ts,
}

/// The sample schema, with PostgreSQL types.
const SCHEMA: &[(&str, &[(&str, Ty)])] = &[
    (
        "customers",
        &[
            ("customer_id", Ty::Int),
            ("customer_number", Ty::Text),
            ("full_name", Ty::Text),
            ("email", Ty::Text),
            ("phone", Ty::Text),
            ("street", Ty::Text),
            ("city", Ty::Text),
            ("zip", Ty::Text),
            ("date_of_birth", Ty::Date),
            ("ssn", Ty::Text),
            ("card_number", Ty::Text),
            ("income", Ty::Int),
            ("segment", Ty::Text),
            ("signup_date", Ty::Date),
            ("notes", Ty::Text),
        ],
    ),
    (
        "orders",
        &[
            ("order_id", Ty::Int),
            ("customer_id", Ty::Int),
            ("order_date", Ty::Date),
            ("product_id", Ty::Int),
            ("quantity", Ty::Int),
            ("amount", Ty::Num),
            ("status", Ty::Text),
            ("ship_city", Ty::Text),
        ],
    ),
    (
        "products",
        &[
            ("product_id", Ty::Int),
            ("name", Ty::Text),
            ("category", Ty::Text),
            ("price", Ty::Num),
        ],
    ),
    (
        "tickets",
        &[
            ("ticket_id", Ty::Int),
            ("customer_id", Ty::Int),
            ("opened_at", Ty::Ts),
            ("channel", Ty::Text),
            ("subject", Ty::Text),
            ("body", Ty::Text),
        ],
    ),
];

fn pg_type(t: Ty) -> &'static str {
    match t {
        Ty::Int => "bigint",
        Ty::Num => "double precision",
        Ty::Text => "text",
        Ty::Date => "date",
        Ty::Ts => "timestamp",
    }
}

/// The fuzz tables are the sample's with a prefix, so that they live beside
/// the sample data in one PostgreSQL database.
fn fuzz_name(t: &str) -> String {
    format!("fz_{t}")
}

/// The sample rules over the fuzz tables, with a row cap that never cuts a
/// result (the comparison of engines needs whole results).
fn policy() -> Policy {
    let mut rules = std::fs::read_to_string(root().join("rules/sample.toml")).unwrap();
    for (t, _) in SCHEMA {
        rules = rules.replace(
            &format!("[tables.{t}"),
            &format!("[tables.{}", fuzz_name(t)),
        );
    }
    rules = rules.replace("max_rows = 200", "max_rows = 100000");
    Policy::from_toml_str(&rules).unwrap()
}

// ------------------------------------------------------------------ canaries

const CUSTOMERS: usize = 40;
const ORDERS: usize = 150;
const PRODUCTS: usize = 12;
const TICKETS: usize = 60;

/// The canary data set and what may never be shown of it.
struct Canary {
    /// CSV text per table.
    csv: BTreeMap<&'static str, String>,
    /// Six-character windows (lowercase) of text markers, with the column
    /// they come from, minus what actions show by design.
    windows: HashMap<String, &'static str>,
    /// Whole values that may never be shown: numbers and dates.
    whole: HashMap<String, &'static str>,
    /// Marker codes (`zqfn`, …) → the column they mark.
    codes: Vec<(&'static str, &'static str)>,
    /// Tokens of some markers, for queries to filter by.
    seeds: Vec<(&'static str, String)>,
}

fn canary() -> Canary {
    let mut rng = Rng(0x5EED);
    let cities = ["Austin", "Chicago", "Seattle", "Denver", "Boise"];
    let segments = ["consumer", "business", "vip"];
    let statuses = ["shipped", "pending", "returned"];
    let categories = ["Electronics", "Home", "Sports"];
    let channels = ["email", "phone", "chat"];
    let mut c = Canary {
        csv: BTreeMap::new(),
        windows: HashMap::new(),
        whole: HashMap::new(),
        codes: vec![
            ("zqcn", "customer_number"),
            ("zqfn", "full_name"),
            ("zqem", "email"),
            ("zqph", "phone"),
            ("zqst", "street"),
            ("zqzp", "zip"),
            ("zqss", "ssn"),
            ("zqcd", "card_number"),
            ("zqno", "notes"),
            ("zqtk", "body"),
            ("zqsu", "subject"),
        ],
        seeds: Vec::new(),
    };
    // Each text marker: the value, and the part its action shows.
    let secret = |c: &mut Canary, col: &'static str, value: &str, shown: &str| {
        let lower: Vec<char> = value.to_lowercase().chars().collect();
        let shown = shown.to_lowercase();
        for w in lower.windows(6) {
            let s: String = w.iter().collect();
            // A window is a marker's when it holds two of its letters: the
            // digits alone occur in computed numbers.
            if s.chars().filter(|ch| ch.is_ascii_alphanumeric()).count() < 5
                || s.chars().filter(|ch| ch.is_ascii_alphabetic()).count() < 2
                || (!shown.is_empty() && shown.contains(&s))
            {
                continue;
            }
            c.windows.insert(s, col);
        }
    };
    let mut ids = Vec::new();
    let mut csv = String::from("customer_id,customer_number,full_name,email,phone,street,city,zip,date_of_birth,ssn,card_number,income,segment,signup_date,notes\n");
    for i in 0..CUSTOMERS {
        let id = 900_000_000 + (i as u64) * 1_000 + 1 + rng.next() % 997;
        ids.push(id);
        let number = format!("ZQCN-{:06}", 310_000 + i * 7);
        let name = format!("Zqfn{i:03}a Vqzr{i:03}b");
        let email = format!("zqem{i:03}x@canary.test");
        let phone = format!("+1 555 zqph{i:03} 7{i:03}");
        let street = format!("zqst{i:03}q");
        let zip = format!("zqzp{i:03}");
        let dob = chrono::NaiveDate::from_ymd_opt(1901, 1, 1).unwrap()
            + chrono::Duration::days(i as i64 * 37);
        let ssn = format!("zqss{i:03}-yy-{i:04}");
        let card = format!("zqcd{i:03}kk{:04}", 1000 + i);
        let income = 800_000_000 + (i as u64) * 1_117 + rng.next() % 1_000;
        let signup = chrono::NaiveDate::from_ymd_opt(1950, 1, 1).unwrap()
            + chrono::Duration::days(i as i64 * 11);
        let note = format!(
            "Canary note {i}: write to zqno{i:03}x@canary.test or call +1 415 555 {:04}",
            1000 + i
        );
        let _ = writeln!(
            csv,
            "{id},{number},{name},{email},{phone},{street},{},{zip},{dob},{ssn},{card},{income},{},{signup},\"{note}\"",
            cities[i % cities.len()],
            segments[i % segments.len()],
        );
        secret(&mut c, "customer_number", &number, "");
        secret(&mut c, "full_name", &name, "");
        secret(&mut c, "email", &email, "@canary.test");
        secret(&mut c, "phone", &phone, &phone[phone.len() - 4..]);
        secret(&mut c, "street", &street, "");
        secret(&mut c, "zip", &zip, &zip[..3]);
        secret(&mut c, "ssn", &ssn, "");
        secret(&mut c, "card_number", &card, &card[card.len() - 4..]);
        secret(&mut c, "notes", &format!("zqno{i:03}x"), "");
        c.whole.insert(id.to_string(), "customer_id");
        c.whole.insert(income.to_string(), "income");
        c.whole.insert(dob.to_string(), "date_of_birth");
        c.whole.insert(signup.to_string(), "signup_date");
        if i < 6 {
            c.seeds.push(("person", name.clone()));
            c.seeds.push(("customer", id.to_string()));
            c.seeds.push(("email", email.clone()));
            c.seeds.push(("customer_number", number.clone()));
        }
    }
    c.csv.insert("customers", csv);
    let mut csv = String::from(
        "order_id,customer_id,order_date,product_id,quantity,amount,status,ship_city\n",
    );
    for i in 0..ORDERS {
        let date = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).unwrap()
            + chrono::Duration::days((i * 2) as i64);
        let _ = writeln!(
            csv,
            "{},{},{date},{},{},{}.{:02},{},{}",
            10_001 + i,
            ids[rng.below(CUSTOMERS)],
            1 + rng.below(PRODUCTS),
            1 + rng.below(4),
            5 + rng.below(400),
            rng.below(100),
            statuses[rng.below(statuses.len())],
            cities[rng.below(cities.len())],
        );
    }
    c.csv.insert("orders", csv);
    let mut csv = String::from("product_id,name,category,price\n");
    for i in 0..PRODUCTS {
        let _ = writeln!(
            csv,
            "{},Product {},{},{}.{:02}",
            i + 1,
            i + 1,
            categories[i % categories.len()],
            10 + rng.below(300),
            rng.below(100)
        );
    }
    c.csv.insert("products", csv);
    let mut csv = String::from("ticket_id,customer_id,opened_at,channel,subject,body\n");
    for i in 0..TICKETS {
        let opened = chrono::NaiveDate::from_ymd_opt(1960, 1, 1)
            .unwrap()
            .and_hms_opt(9, 30, 0)
            .unwrap()
            + chrono::Duration::hours(i as i64 * 53);
        let subject = format!("Help zqsu{i:03}x@canary.test");
        let body = format!("Please reply to zqtk{i:03}x@canary.test today");
        let _ = writeln!(
            csv,
            "{},{},{},{},{subject},{body}",
            5_001 + i,
            ids[rng.below(CUSTOMERS)],
            opened.format("%Y-%m-%d %H:%M:%S"),
            channels[i % channels.len()],
        );
        secret(&mut c, "subject", &format!("zqsu{i:03}x"), "");
        secret(&mut c, "body", &format!("zqtk{i:03}x"), "");
        c.whole
            .insert(opened.format("%Y-%m-%d %H:%M:%S").to_string(), "opened_at");
    }
    c.csv.insert("tickets", csv);
    c
}

impl Canary {
    /// The protected columns whose markers `cell` holds.
    fn markers_in(&self, cell: &str) -> Vec<&'static str> {
        let cell = &trim_time(cell);
        let mut out = Vec::new();
        let lower = cell.to_lowercase();
        let reversed: String = lower.chars().rev().collect();
        for text in [&lower, &reversed] {
            let chars: Vec<char> = text.chars().collect();
            for w in chars.windows(6) {
                let s: String = w.iter().collect();
                if let Some(col) = self.windows.get(&s) {
                    out.push(*col);
                }
            }
        }
        let trimmed = cell.trim_end_matches(".0");
        if let Some(col) = self.whole.get(trimmed) {
            out.push(*col);
        }
        for (v, col) in &self.whole {
            if v.len() >= 10 && cell.contains(v.as_str()) {
                out.push(*col);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The column a raw value of a protected output belongs to, by its
    /// marker, if it is one.
    fn column_of(&self, cell: &str) -> Option<&'static str> {
        let cell = &trim_time(cell);
        let lower = cell.to_lowercase();
        for (code, col) in &self.codes {
            if lower.contains(code) {
                return Some(col);
            }
        }
        self.whole.get(cell.trim_end_matches(".0")).copied()
    }
}

// ------------------------------------------------------------------ generator

/// A relation in scope of the generator: how to name it, and its columns.
#[derive(Clone)]
struct GenRel {
    qual: Option<String>,
    cols: Vec<(String, Ty)>,
}

struct Gen<'a> {
    rng: Rng,
    tokens: &'a [String],
    alias_n: usize,
    /// Joins without a key left in this statement: each multiplies rows,
    /// and a chain of them would only measure the machine's memory.
    cross_budget: usize,
}

/// Aliases a hostile model might choose.
const ODD_ALIASES: &[&str] = &[
    "name",
    "city",
    "full_name",
    "customer_id",
    "\"^ssn$\"",
    "\"^.*$\"",
    "\"c1\"",
    "\"t1\"",
    "q1",
    "\"Name\"",
    "\"x y\"",
    "ssn",
    "income",
    "\"customers\"",
    "\"a.b\"",
    "\"\"\"q\"\"\"",
    "\"c10\"",
];

const TEXT_LITS: &[&str] = &[
    "'Austin'",
    "'vip'",
    "'shipped'",
    "'Electronics'",
    "'email'",
    "'Product 3'",
    "'A%'",
    "'%e%'",
    "''",
    "'x''y'",
];

impl Gen<'_> {
    fn alias(&mut self) -> String {
        if self.rng.chance(30) {
            return self.rng.pick(ODD_ALIASES).to_string();
        }
        self.alias_n += 1;
        format!("a{}", self.alias_n)
    }

    fn table(&mut self) -> (String, Vec<(String, Ty)>) {
        let (t, cols) = self.rng.pick(SCHEMA);
        (
            fuzz_name(t),
            cols.iter().map(|(c, ty)| (c.to_string(), *ty)).collect(),
        )
    }

    /// A column reference of a relation in scope.
    fn column(&mut self, scope: &[GenRel], want: Option<Ty>) -> Option<(String, Ty)> {
        let mut cands = Vec::new();
        for r in scope {
            for (c, ty) in &r.cols {
                if want.is_none_or(|w| w == *ty) && !c.is_empty() {
                    cands.push((r.qual.clone(), c.clone(), *ty));
                }
            }
        }
        if cands.is_empty() {
            return None;
        }
        let (q, c, ty) = cands[self.rng.below(cands.len())].clone();
        let name = quote_if_needed(&c);
        Some(match q {
            Some(q) if self.rng.chance(75) => (format!("{q}.{name}"), ty),
            _ => (name, ty),
        })
    }

    fn literal(&mut self, ty: Ty) -> String {
        match ty {
            Ty::Int => {
                if self.rng.chance(20) && !self.tokens.is_empty() {
                    format!("'{}'", self.rng.pick(self.tokens))
                } else {
                    (self.rng.below(200) as i64 - 20).to_string()
                }
            }
            Ty::Num => format!("{}.{}", self.rng.below(300), self.rng.below(100)),
            Ty::Text => {
                if self.rng.chance(25) && !self.tokens.is_empty() {
                    format!("'{}'", self.rng.pick(self.tokens))
                } else {
                    self.rng.pick(TEXT_LITS).to_string()
                }
            }
            Ty::Date => format!(
                "DATE '2023-{:02}-{:02}'",
                1 + self.rng.below(12),
                1 + self.rng.below(28)
            ),
            Ty::Ts => "TIMESTAMP '1960-03-01 00:00:00'".to_string(),
        }
    }

    /// A scalar expression, of type `want` when given.
    fn expr(&mut self, scope: &[GenRel], depth: usize) -> (String, Ty) {
        self.typed(scope, depth, None)
    }

    fn typed(&mut self, scope: &[GenRel], depth: usize, want: Option<Ty>) -> (String, Ty) {
        let r = self.rng.below(100);
        if depth > 2 || r < 45 {
            if let Some(c) = self.column(scope, want) {
                return c;
            }
        }
        if r < 55 || depth > 2 {
            let ty = want.unwrap_or(*self.rng.pick(&[Ty::Int, Ty::Text, Ty::Num, Ty::Date]));
            return (self.literal(ty), ty);
        }
        if r < 65 {
            let (a, at) = self.typed(scope, depth + 1, want.filter(|w| *w != Ty::Int));
            let (f, ty) = match at {
                Ty::Text if want == Some(Ty::Int) => ("length", Ty::Int),
                Ty::Text => (
                    *self.rng.pick(&["upper", "lower", "reverse", "ltrim"]),
                    Ty::Text,
                ),
                Ty::Int | Ty::Num => (*self.rng.pick(&["abs", "round", "sign", "floor"]), at),
                Ty::Date | Ty::Ts => {
                    if want.is_none() || want == Some(Ty::Int) {
                        let part = *self.rng.pick(&["year", "month", "day", "quarter"]);
                        return (format!("date_part('{part}', {a})"), Ty::Int);
                    }
                    return (a, at);
                }
            };
            return (format!("{f}({a})"), ty);
        }
        if r < 75 {
            let ty = want.unwrap_or(*self.rng.pick(&[Ty::Int, Ty::Num, Ty::Text, Ty::Date]));
            let (a, at) = self.typed(scope, depth + 1, Some(ty));
            return match at {
                Ty::Text => {
                    let (b, _) = self.typed(scope, depth + 1, Some(Ty::Text));
                    (format!("({a} || {b})"), Ty::Text)
                }
                Ty::Int | Ty::Num => {
                    let bty = *self.rng.pick(&[Ty::Int, Ty::Num]);
                    let (b, bt) = self.typed(scope, depth + 1, Some(bty));
                    let op = *self.rng.pick(&["+", "-", "*", "/", "%"]);
                    let op = if op == "%" && (at == Ty::Num || bt == Ty::Num) {
                        "+"
                    } else {
                        op
                    };
                    let ty = if at == Ty::Num || bt == Ty::Num {
                        Ty::Num
                    } else {
                        Ty::Int
                    };
                    (
                        format!("({a} {op} {b})"),
                        if want == Some(Ty::Int) { Ty::Int } else { ty },
                    )
                }
                Ty::Date => (
                    format!("({a} + INTERVAL '{} days')", self.rng.below(40)),
                    Ty::Date,
                ),
                Ty::Ts => (a, at),
            };
        }
        if r < 85 {
            let (p, _) = self.pred(scope, depth + 1);
            let (a, at) = self.typed(scope, depth + 1, want);
            let b = if self.rng.chance(50) {
                "NULL".to_string()
            } else {
                self.typed(scope, depth + 1, Some(at)).0
            };
            return (format!("CASE WHEN {p} THEN {a} ELSE {b} END"), at);
        }
        if r < 92 {
            let (to, ty, from) = *self.rng.pick(&[
                ("TEXT", Ty::Text, Ty::Int),
                ("TEXT", Ty::Text, Ty::Date),
                ("INTEGER", Ty::Int, Ty::Int),
                ("DOUBLE PRECISION", Ty::Num, Ty::Int),
                ("DATE", Ty::Date, Ty::Date),
            ]);
            if want.is_none_or(|w| w == ty) {
                let (a, _) = self.typed(scope, depth + 1, Some(from));
                return (format!("CAST({a} AS {to})"), ty);
            }
        }
        if want.is_none_or(|w| w == Ty::Date) {
            if let Some((c, _)) = self.column(scope, Some(Ty::Date)) {
                let u = *self.rng.pick(&["month", "year", "day"]);
                return (format!("date_trunc('{u}', {c})"), Ty::Date);
            }
        }
        let ty = want.unwrap_or(Ty::Int);
        (self.literal(ty), ty)
    }

    /// A predicate.
    fn pred(&mut self, scope: &[GenRel], depth: usize) -> (String, Ty) {
        let r = self.rng.below(100);
        let out = if depth < 2 && r < 15 {
            let (a, _) = self.pred(scope, depth + 1);
            let (b, _) = self.pred(scope, depth + 1);
            format!("({a} {} {b})", self.rng.pick(&["AND", "OR"]))
        } else if r < 55 {
            let (a, at) = self.expr(scope, depth + 1);
            let b = if self.rng.chance(50) {
                self.literal(at)
            } else {
                self.typed(scope, depth + 1, Some(at)).0
            };
            format!("{a} {} {b}", self.rng.pick(&["=", "<>", "<", ">=", "="]))
        } else if r < 65 {
            let (a, at) = self.expr(scope, depth + 1);
            let l1 = self.literal(at);
            let l2 = self.literal(at);
            format!("{a} IN ({l1}, {l2})")
        } else if r < 72 {
            let (a, _) = self.expr(scope, depth + 1);
            format!(
                "{a} IS {}NULL",
                if self.rng.chance(50) { "NOT " } else { "" }
            )
        } else if r < 78 {
            let (a, _) = self
                .column(scope, Some(Ty::Text))
                .unwrap_or(("'x'".into(), Ty::Text));
            format!("{a} LIKE {}", self.rng.pick(&["'A%'", "'%e%'", "'Z%'"]))
        } else if depth < 2 && r < 88 {
            let (sub, outs) = self.select(depth + 2, &[], Some(1), scope);
            let (a, _) = self
                .column(scope, outs.first().map(|o| o.1))
                .unwrap_or(("1".into(), Ty::Int));
            format!(
                "{a} {}IN ({sub})",
                if self.rng.chance(30) { "NOT " } else { "" }
            )
        } else if depth < 2 && r < 94 {
            let (sub, _) = self.select(depth + 2, &[], None, scope);
            format!(
                "{}EXISTS ({sub})",
                if self.rng.chance(30) { "NOT " } else { "" }
            )
        } else {
            let (a, at) = self.expr(scope, depth + 1);
            let l1 = self.literal(at);
            let l2 = self.literal(at);
            format!("{a} BETWEEN {l1} AND {l2}")
        };
        (out, Ty::Int)
    }

    /// A relation for FROM: a table, a CTE, or a derived table.
    fn relation(&mut self, depth: usize, ctes: &[GenRel]) -> (String, GenRel) {
        let r = self.rng.below(100);
        if r < 15 && !ctes.is_empty() {
            let cte = self.rng.pick(ctes).clone();
            let name = cte.qual.clone().unwrap_or_default();
            if self.rng.chance(50) {
                let a = self.alias();
                return (
                    format!("{name} AS {a}"),
                    GenRel {
                        qual: Some(a),
                        cols: cte.cols,
                    },
                );
            }
            return (
                name.clone(),
                GenRel {
                    qual: Some(name),
                    cols: cte.cols,
                },
            );
        }
        if r < 35 && depth < 3 {
            let (sub, outs) = self.select(depth + 1, ctes, None, &[]);
            if self.rng.chance(10) {
                return (
                    format!("({sub})"),
                    GenRel {
                        qual: None,
                        cols: outs,
                    },
                );
            }
            let a = self.alias();
            return (
                format!("({sub}) AS {a}"),
                GenRel {
                    qual: Some(a),
                    cols: outs,
                },
            );
        }
        let (t, cols) = self.table();
        if self.rng.chance(60) {
            let a = self.alias();
            (
                format!("{t} {a}"),
                GenRel {
                    qual: Some(a),
                    cols,
                },
            )
        } else {
            (
                t.clone(),
                GenRel {
                    qual: Some(t),
                    cols,
                },
            )
        }
    }

    /// A SELECT; `arity` forces the number of output columns. Returns the
    /// SQL and the output columns (name, type) a derived table would have.
    fn select(
        &mut self,
        depth: usize,
        ctes: &[GenRel],
        arity: Option<usize>,
        outer: &[GenRel],
    ) -> (String, Vec<(String, Ty)>) {
        let mut sql = String::from("SELECT ");
        let (first, r0) = self.relation(depth, ctes);
        let mut from = first;
        let mut scope = vec![r0];
        let joins = if depth > 2 { 0 } else { self.rng.below(3) };
        for _ in 0..joins {
            let (next, r) = self.relation(depth, ctes);
            let mut kind = *self.rng.pick(&[
                "JOIN",
                "LEFT JOIN",
                "RIGHT JOIN",
                "FULL JOIN",
                "CROSS JOIN",
                ",",
            ]);
            let left = self.column(&scope, Some(Ty::Int)).map(|c| c.0);
            let right = self
                .column(std::slice::from_ref(&r), Some(Ty::Int))
                .map(|c| c.0);
            let keyed = left.is_some() && right.is_some();
            if kind == "CROSS JOIN" || kind == "," || !keyed {
                if self.cross_budget == 0 {
                    break;
                }
                self.cross_budget -= 1;
                if !keyed {
                    kind = "CROSS JOIN";
                }
            }
            let mut both = scope.clone();
            both.push(r.clone());
            if kind == "CROSS JOIN" || kind == "," {
                let _ = write!(from, " {kind} {next}");
            } else {
                let mut on = match (left, right) {
                    (Some(l), Some(rr)) => format!("{l} = {rr}"),
                    _ => "1 = 1".to_string(),
                };
                if self.rng.chance(30) {
                    let (p, _) = self.pred(&both, depth + 1);
                    let _ = write!(on, " AND {p}");
                }
                let _ = write!(from, " {kind} {next} ON {on}");
            }
            scope.push(r);
        }
        let mut full_scope = scope.clone();
        full_scope.extend(outer.iter().cloned());
        let grouped = self.rng.chance(30);
        let n = arity.unwrap_or_else(|| 1 + self.rng.below(3));
        let mut outs = Vec::new();
        let mut items = Vec::new();
        let mut keys = Vec::new();
        if !grouped && arity.is_none() && self.rng.chance(8) {
            items.push(if self.rng.chance(50) {
                "*".to_string()
            } else {
                match &scope[0].qual {
                    Some(q) => format!("{q}.*"),
                    None => "*".to_string(),
                }
            });
            for r in &scope {
                outs.extend(r.cols.iter().cloned());
            }
        } else {
            for i in 0..n {
                let (e, ty) = if grouped && i > 0 {
                    let f = *self.rng.pick(&["count", "sum", "avg", "min", "max"]);
                    let want = if matches!(f, "sum" | "avg") {
                        Some(*self.rng.pick(&[Ty::Int, Ty::Num]))
                    } else {
                        None
                    };
                    let (a, at) = self.column(&scope, want).unwrap_or(("1".into(), Ty::Int));
                    if f == "count" && self.rng.chance(30) {
                        ("count(*)".to_string(), Ty::Int)
                    } else {
                        let d = if self.rng.chance(15) { "DISTINCT " } else { "" };
                        let ty = if f == "count" {
                            Ty::Int
                        } else if f == "avg" {
                            Ty::Num
                        } else {
                            at
                        };
                        (format!("{f}({d}{a})"), ty)
                    }
                } else if !grouped && self.rng.chance(12) {
                    let (p, _) = self.column(&scope, None).unwrap_or(("1".into(), Ty::Int));
                    let (o, _) = self.column(&scope, None).unwrap_or(("1".into(), Ty::Int));
                    let f = *self
                        .rng
                        .pick(&["row_number()", "rank()", "count(*)", "dense_rank()"]);
                    (format!("{f} OVER (PARTITION BY {p} ORDER BY {o})"), Ty::Int)
                } else {
                    let e = self.expr(&full_scope, 1);
                    if grouped {
                        keys.push(e.0.clone());
                    }
                    e
                };
                let name = if self.rng.chance(60) {
                    let a = self.alias();
                    let _ = write!(e.clone(), "");
                    items.push(format!("{e} AS {a}"));
                    unquote(&a)
                } else {
                    items.push(e.clone());
                    bare_name(&e)
                };
                outs.push((name, ty));
            }
        }
        if self.rng.chance(10) {
            sql.push_str("DISTINCT ");
        }
        sql.push_str(&items.join(", "));
        let _ = write!(sql, " FROM {from}");
        if self.rng.chance(45) {
            let (p, _) = self.pred(&full_scope, depth);
            let _ = write!(sql, " WHERE {p}");
        }
        if grouped && !keys.is_empty() {
            let _ = write!(sql, " GROUP BY {}", keys.join(", "));
            if self.rng.chance(20) {
                let _ = write!(sql, " HAVING count(*) > {}", self.rng.below(4));
            }
        }
        if self.rng.chance(20) && !outs.is_empty() {
            let i = self.rng.below(outs.len());
            let _ = write!(
                sql,
                " ORDER BY {}{}",
                i + 1,
                if self.rng.chance(50) { " DESC" } else { "" }
            );
        }
        if self.rng.chance(20) {
            let _ = write!(sql, " LIMIT {}", self.rng.below(8));
            if self.rng.chance(30) {
                let _ = write!(sql, " OFFSET {}", self.rng.below(4));
            }
        }
        (sql, outs)
    }

    /// A whole statement: CTEs, a select or a set operation.
    fn statement(&mut self) -> String {
        self.cross_budget = 1;
        let mut ctes: Vec<GenRel> = Vec::new();
        let mut with = Vec::new();
        if self.rng.chance(20) {
            for _ in 0..1 + self.rng.below(2) {
                let (sub, outs) = self.select(2, &ctes, None, &[]);
                let name = if self.rng.chance(20) {
                    "customers".to_string()
                } else {
                    self.alias_n += 1;
                    format!("w{}", self.alias_n)
                };
                with.push(format!("{name} AS ({sub})"));
                ctes.push(GenRel {
                    qual: Some(name),
                    cols: outs,
                });
            }
        }
        let (mut body, outs) = self.select(0, &ctes, None, &[]);
        if self.rng.chance(12) {
            let op = *self
                .rng
                .pick(&["UNION", "UNION ALL", "INTERSECT", "EXCEPT"]);
            let (other, _) = self.select(1, &ctes, Some(outs.len()), &[]);
            body = format!("{body} {op} {other}");
        }
        if with.is_empty() {
            body
        } else {
            format!("WITH {} {body}", with.join(", "))
        }
    }
}

fn quote_if_needed(c: &str) -> String {
    if c.chars()
        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        && c.chars().next().is_some_and(|ch| ch.is_ascii_lowercase())
    {
        c.to_string()
    } else {
        format!("\"{}\"", c.replace('"', "\"\""))
    }
}

fn unquote(a: &str) -> String {
    match a.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => a.to_lowercase(),
    }
}

/// The name an unnamed item gets: a column keeps its own.
fn bare_name(e: &str) -> String {
    let last = e.rsplit('.').next().unwrap_or(e);
    if last
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
    {
        last.to_string()
    } else if last.starts_with('"') && last.ends_with('"') {
        unquote(last)
    } else {
        String::new()
    }
}

// ------------------------------------------------------------------ running

struct Target {
    name: &'static str,
    engine: Arc<dyn Engine>,
    guard: Guard,
}

#[derive(Default)]
struct Stats {
    generated: usize,
    admitted: BTreeMap<&'static str, usize>,
    engine_errors: BTreeMap<String, usize>,
    compared: usize,
    findings: Vec<String>,
}

fn pg_url() -> Option<String> {
    match std::env::var("SQLVEIL_PG_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::env::var_os("CI").is_some() => {
            panic!("SQLVEIL_PG_URL is not set, but CI is: the fuzzer must run against PostgreSQL in CI")
        }
        _ => None,
    }
}

fn load_pg(url: &str, canary: &Canary) {
    let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    for (t, cols) in SCHEMA {
        let name = fuzz_name(t);
        let ddl = cols
            .iter()
            .map(|(c, ty)| format!("{c} {}", pg_type(*ty)))
            .collect::<Vec<_>>()
            .join(", ");
        c.batch_execute(&format!(
            "DROP TABLE IF EXISTS {name}; CREATE TABLE {name} ({ddl});"
        ))
        .expect("create a fuzz table");
        let mut w = c
            .copy_in(&format!(
                "COPY {name} FROM STDIN WITH (FORMAT csv, HEADER true)"
            ))
            .expect("copy");
        std::io::Write::write_all(&mut w, canary.csv[t].as_bytes()).expect("copy rows");
        w.finish().expect("finish copy");
    }
}

fn check_rows(
    canary: &Canary,
    target: &str,
    sql: &str,
    q: &sqlveil::guard::GuardedQuery,
    raw: &DataFrame,
    shown: &DataFrame,
    findings: &mut Vec<String>,
) {
    // No marker in what a model sees.
    for col in shown.columns() {
        let s = col.cast(&DataType::String).unwrap();
        for v in s.str().unwrap().iter().flatten() {
            let m = canary.markers_in(v);
            if !m.is_empty() {
                findings.push(format!(
                    "{target}: LEAK of {m:?} in column {}: {sql}",
                    col.name()
                ));
                return;
            }
        }
    }
    // Raw values fit the claimed lineage.
    for (oc, col) in q.columns().iter().zip(raw.columns()) {
        let s = col.cast(&DataType::String).unwrap();
        let sources: HashSet<&str> = oc.sources.iter().map(|s| s.column.as_str()).collect();
        for v in s.str().unwrap().iter().flatten() {
            if oc.action == Action::Allow {
                let m = canary.markers_in(v);
                if !m.is_empty() {
                    findings.push(format!(
                        "{target}: LINEAGE: column {} is labelled allow and holds {m:?}: {sql}",
                        oc.name
                    ));
                    return;
                }
            } else if matches!(
                oc.action,
                Action::Tokenize { .. } | Action::Mask(_) | Action::Generalize(_)
            ) {
                match canary.column_of(v) {
                    Some(c) if sources.contains(c) => {}
                    other => {
                        findings.push(format!(
                            "{target}: LINEAGE: column {} from {sources:?} holds a value of {other:?}: {sql}",
                            oc.name
                        ));
                        return;
                    }
                }
            }
        }
    }
}

#[test]
fn soundness_fuzz() {
    let cases: usize = std::env::var("SQLVEIL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let seed: u64 = std::env::var("SQLVEIL_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(11);
    let canary = canary();
    let policy = policy();
    let dir = tempfile::tempdir().unwrap();
    for (t, text) in &canary.csv {
        std::fs::write(dir.path().join(format!("{}.csv", fuzz_name(t))), text).unwrap();
    }
    let mut engines: Vec<(&'static str, Arc<dyn Engine>)> = vec![(
        "polars",
        Arc::new(PolarsEngine::open(dir.path(), &policy).unwrap()),
    )];
    if let Some(url) = pg_url() {
        load_pg(&url, &canary);
        engines.push((
            "postgres",
            Arc::new(PostgresEngine::connect(&url, &policy).unwrap()),
        ));
    }
    let targets: Vec<Target> = engines
        .into_iter()
        .map(|(name, engine)| Target {
            name,
            guard: GuardBuilder::new()
                .dialect(engine.dialect())
                .order_key(ORDER_KEY)
                .total_order(true)
                .build(&policy, engine.catalog())
                .unwrap(),
            engine,
        })
        .collect();
    let key = MasterKey::from_bytes(&[0x11; 32]);
    let tokens = Tokens::new(&policy, key.clone(), Some(Arc::new(MemoryVault::new()))).unwrap();
    let detector = Detector::new(&policy).unwrap();
    let issued: Vec<String> = canary
        .seeds
        .iter()
        .map(|(class, v)| tokens.issue(&TokenClass::new(class).unwrap(), v).unwrap())
        .collect();
    let mut gen = Gen {
        rng: Rng(seed),
        tokens: &issued,
        alias_n: 0,
        cross_budget: 1,
    };
    let mut stats = Stats::default();
    for _ in 0..cases {
        let sql = gen.statement();
        stats.generated += 1;
        if std::env::var_os("SQLVEIL_FUZZ_TRACE").is_some() {
            eprintln!("CASE {}: {sql:?}", stats.generated);
        }
        let mut results: Vec<(&str, DataFrame)> = Vec::new();
        for t in &targets {
            let Ok(q) = t.guard.check_with(&sql, &tokens) else {
                continue;
            };
            *stats.admitted.entry(t.name).or_default() += 1;
            let raw = match sqlveil::run(&t.engine, &q) {
                Ok(r) => r,
                Err(e) => {
                    *stats
                        .engine_errors
                        .entry(format!("{} {}", t.name, e.code()))
                        .or_default() += 1;
                    if std::env::var_os("SQLVEIL_FUZZ_SHOW_ERRORS").is_some() {
                        eprintln!(
                            "{}: {e}: {:?}\n  {sql}\n  {}",
                            t.name,
                            e.engine_detail_less_safe(),
                            q.sql()
                        );
                    }
                    continue;
                }
            };
            let protector = Protector::new(&tokens, &detector, &key).unwrap();
            let shown = protector.protect(raw.clone(), &q).unwrap().frame;
            check_rows(&canary, t.name, &sql, &q, &raw, &shown, &mut stats.findings);
            results.push((t.name, raw));
        }
        if let [(_, a), (_, b)] = results.as_slice() {
            stats.compared += 1;
            let (na, nb) = (normalized(a), normalized(b));
            if !same_rows(&na, &nb) {
                stats.findings.push(format!(
                    "PARITY: polars {} rows, postgres {} rows: {sql}\n  polars:   {:?}\n  postgres: {:?}",
                    na.len(),
                    nb.len(),
                    na.iter().take(3).collect::<Vec<_>>(),
                    nb.iter().take(3).collect::<Vec<_>>()
                ));
            }
        }
    }
    eprintln!(
        "soundness fuzz: seed {seed}, {} queries generated, admitted {:?}, engine errors {:?}, {} compared across engines, {} findings",
        stats.generated,
        stats.admitted,
        stats.engine_errors,
        stats.compared,
        stats.findings.len()
    );
    assert!(
        stats.findings.is_empty(),
        "{} findings:\n{}",
        stats.findings.len(),
        stats
            .findings
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The run exercised the guard: enough queries got through.
    for t in &targets {
        let n = stats.admitted.get(t.name).copied().unwrap_or(0);
        assert!(
            n * 10 >= cases,
            "{}: only {n} of {cases} queries admitted",
            t.name
        );
    }
}
