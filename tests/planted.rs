//! A test data set with known values planted in every protected column, and
//! the check that no part of them reaches a model.

use std::collections::HashMap;
use std::sync::Arc;

use polars::prelude::DataFrame;
use sqlveil::detect::Detector;
use sqlveil::guard::{Guard, GuardBuilder};
use sqlveil::protect::Protector;
use sqlveil::tokens::{MemoryVault, Tokens};
use sqlveil::{Engine, MasterKey, Policy};

use crate::util::cells;

/// An engine with the guard for its dialect, tokens (memory vault),
/// detectors and a fixed test key.
pub struct Env {
    pub engine: Arc<dyn Engine>,
    pub guard: Guard,
    pub tokens: Tokens,
    pub detector: Detector,
    pub key: MasterKey,
}

impl Env {
    pub fn new(engine: Arc<dyn Engine>, policy: &Policy, key: u8) -> Env {
        let guard = GuardBuilder::new()
            .dialect(engine.dialect())
            .build(policy, engine.catalog())
            .unwrap();
        let key = MasterKey::from_bytes(&[key; 32]);
        Env {
            guard,
            tokens: Tokens::new(policy, key.clone(), Some(Arc::new(MemoryVault::new()))).unwrap(),
            detector: Detector::new(policy).unwrap(),
            key,
            engine,
        }
    }

    pub fn protector(&self) -> Protector<'_> {
        Protector::new(&self.tokens, &self.detector, &self.key).unwrap()
    }

    /// Guard, run and protect: the rows a model would see.
    pub fn rows(&self, sql: &str) -> DataFrame {
        let q = self
            .guard
            .check_with(sql, &self.tokens)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let rows = sqlveil::run(&self.engine, &q)
            .unwrap_or_else(|e| panic!("{sql}: {e} {:?}", e.engine_detail_less_safe()));
        self.protector().protect(rows, &q).unwrap().frame
    }
}

/// Runs every query of [`QUERIES`] over the planted data set and panics when
/// a window of a planted value is in a cell; returns the windows checked.
pub fn assert_queries_leak_nothing(env: &Env, planted: &Planted) -> usize {
    let secret = secret_windows(planted);
    let mut checked = 0;
    for sql in QUERIES {
        let shown = cells(&env.rows(sql));
        assert!(!shown.is_empty(), "{sql}: no rows");
        for cell in &shown {
            checked += assert_no_secret(sql, cell, &secret);
        }
    }
    checked
}

pub const RULES: &str = r#"
version = 1
[defaults]
max_rows = 500
[tables.people]
subject = "id"
[tables.people.columns]
id      = { action = "tokenize", class = "person_id" }
name    = { action = "tokenize", class = "person" }
email   = { action = "mask", mask = "email", filter = "equality" }
phone   = { action = "mask", mask = "last4" }
card    = { action = "mask", mask = "first4" }
secret  = { action = "deny" }
passport = { action = "mask", mask = "full" }
badge   = { action = "mask", mask = "hash" }
born    = { action = "generalize", to = "year" }
joined  = { action = "generalize", to = "month" }
zip     = { action = "generalize", to = "prefix:2" }
age     = { action = "generalize", to = "bucket:10" }
salary  = { action = "aggregate", functions = ["avg", "sum", "count"], min_group_size = 5 }
notes   = { action = "scan" }
city    = { action = "allow" }
team    = { action = "allow" }
[detectors]
builtin = ["email", "phone", "ssn", "credit_card", "iban"]
[roles.support]
reveal = ["person"]
"#;

pub struct Planted {
    /// (column, value, the part of it the action shows by design)
    pub values: Vec<(&'static str, String, String)>,
    pub csv: String,
}

pub fn plant() -> Planted {
    let mut csv = String::from("id,name,email,phone,card,secret,passport,badge,born,joined,zip,age,salary,notes,city,team\n");
    let mut values = Vec::new();
    let cities = ["Oslo", "Bergen", "Tromsø"];
    for i in 0..60 {
        let name = format!("Quillon Vandermeer{i:02}x");
        let email = format!("quillon.secret{i:02}@plantedmail.test");
        let phone = format!("+1 415 555 {:04}", 3000 + i);
        let card = format!("9{:015}", 713_000_000 + i * 7919);
        let secret = format!("TOPSECRET-{i:04}-ZX");
        let passport = format!("PXQ{:06}", 481_516 + i);
        let badge = format!("BADGE-{:05}-K", 27_182 + i);
        let born = format!("19{:02}-0{}-1{}", 50 + i % 40, 1 + i % 9, i % 9);
        let joined = format!("20{:02}-1{}-2{}", 10 + i % 10, i % 3, i % 9);
        let zip = format!("{}", 71_000 + i * 13);
        let age = 20 + i;
        let salary = 913_000 + (i * i * 7919 + i * 104_729) % 86_243;
        let note_email = format!("leak.{i:02}@notesmail.test");
        let notes = format!(
            "Called from +44 20 7946 {:04}; wrote from {note_email} about card 4111 1111 1111 1111",
            1000 + i
        );
        csv.push_str(&format!(
            "{i},{name},{email},{phone},{card},{secret},{passport},{badge},{born},{joined},{zip},{age},{salary},\"{notes}\",{},{}\n",
            cities[i % 3],
            if i % 2 == 0 { "red" } else { "blue" }
        ));
        let domain = "@plantedmail.test".to_string();
        values.push(("name", name, String::new()));
        values.push(("email", email.clone(), domain));
        values.push(("phone", phone.clone(), phone[phone.len() - 4..].to_string()));
        values.push(("card", card.clone(), card[..4].to_string()));
        values.push(("secret", secret, String::new()));
        values.push(("passport", passport, String::new()));
        values.push(("badge", badge, String::new()));
        values.push(("born", born.clone(), born[..4].to_string()));
        values.push(("joined", joined.clone(), joined[..7].to_string()));
        values.push(("zip", zip.clone(), zip[..2].to_string()));
        values.push(("salary", salary.to_string(), String::new()));
        values.push(("notes", note_email, String::new()));
        values.push((
            "notes",
            format!("+44 20 7946 {:04}", 1000 + i),
            String::new(),
        ));
        values.push(("notes", "4111 1111 1111 1111".to_string(), String::new()));
    }
    Planted { values, csv }
}

/// The windows of planted values that a model may not see: every leaked
/// substring of four characters or more holds a window of four (six for
/// digit runs, which bucketed ages and aggregates share by chance). Parts
/// that the actions show by design (an email's domain, the last four of a
/// phone, a year) and the allowed columns' values are left out.
pub fn secret_windows(planted: &Planted) -> HashMap<String, &'static str> {
    let mut allowed: Vec<String> = ["Oslo", "Bergen", "Tromsø", "red", "blue"]
        .map(String::from)
        .to_vec();
    allowed.extend(
        planted
            .values
            .iter()
            .map(|v| v.2.clone())
            .filter(|d| !d.is_empty()),
    );
    let mut secret = HashMap::new();
    for (col, v, by_design) in &planted.values {
        let chars: Vec<char> = v.chars().collect();
        for len in [4, 6] {
            for w in chars.windows(len) {
                let sub: String = w.iter().collect();
                // Digit runs with spaces or punctuation (" 101") count as
                // digits: a keyed hash in hex shares them by chance.
                let digits = sub
                    .chars()
                    .filter(|c| c.is_alphanumeric())
                    .all(|c| c.is_ascii_digit());
                if (len == 4) == digits {
                    continue;
                }
                // Windows of mostly spaces and punctuation (" 20 ") say
                // nothing about a value.
                if sub.chars().filter(|c| c.is_alphanumeric()).count() < 3 {
                    continue;
                }
                if by_design.contains(&sub) || allowed.iter().any(|a| a.contains(&sub)) {
                    continue;
                }
                secret.insert(sub, *col);
            }
        }
    }
    assert!(secret.len() > 1_000, "{}", secret.len());
    secret
}

/// Panics when a window of a planted value is in `text`; returns how many
/// windows were checked.
pub fn assert_no_secret(
    context: &str,
    text: &str,
    secret: &HashMap<String, &'static str>,
) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let mut checked = 0;
    for len in [4, 6] {
        for w in chars.windows(len) {
            checked += 1;
            let sub: String = w.iter().collect();
            if let Some(col) = secret.get(&sub) {
                panic!("{context}: a part of a planted {col} value reached the model: {sub:?} in {text:?}");
            }
        }
    }
    checked
}

/// Queries of many shapes that the guard allows.
pub const QUERIES: &[&str] = &[
    "SELECT * FROM people",
    "SELECT p.* FROM people p ORDER BY p.city",
    "SELECT name, email, phone, card, passport, badge, born, joined, zip, age, notes, city FROM people",
    "WITH t AS (SELECT * FROM people) SELECT * FROM t",
    "SELECT * FROM (SELECT name, email, city FROM people WHERE team = 'red') x",
    "SELECT name FROM people UNION ALL SELECT name FROM people",
    "SELECT CASE WHEN city = 'Oslo' THEN name END AS n FROM people",
    "SELECT city, COUNT(*) AS n, COUNT(DISTINCT name) AS names FROM people GROUP BY city",
    "SELECT name, COUNT(*) AS n FROM people GROUP BY name",
    "SELECT city, AVG(salary) AS a, SUM(salary) AS s, COUNT(salary) AS c FROM people GROUP BY city",
    "SELECT team, city, AVG(salary) AS a FROM people GROUP BY team, city",
    "SELECT a.name, b.name AS other FROM people a JOIN people b ON a.id = b.id",
    "SELECT email, COUNT(*) AS n FROM people GROUP BY email",
    "SELECT notes FROM people WHERE city = 'Bergen'",
    "SELECT DISTINCT name FROM people",
];

/// SSNs, phone numbers and card numbers as people write them, every
/// spelling the detectors promise (weak ones next to a context word):
/// (kind, as written, the value's digits).
pub fn spelled_numbers() -> Vec<(&'static str, String, String)> {
    let mut v: Vec<(&'static str, String)> = Vec::new();
    for ssn in ["789281752", "512493318", "634019876"] {
        let (a, g, s) = (&ssn[..3], &ssn[3..5], &ssn[5..]);
        v.push(("ssn", format!("SSN {a}-{g}-{s} verified")));
        v.push(("ssn", format!("ssn {a} {g} {s} on the intake form")));
        v.push(("ssn", format!("{a}.{g}.{s} per patient")));
        v.push(("ssn", format!("SS# {ssn}")));
        v.push(("ssn", format!("social security number {ssn}")));
        v.push(("ssn", format!("{ssn} is her SSN")));
    }
    for (a, e, l) in [("415", "732", "0134"), ("646", "281", "9907")] {
        for p in [
            format!("({a}) {e}-{l}"),
            format!("({a}){e}-{l}"),
            format!("{a}-{e}-{l}"),
            format!("{a}.{e}.{l}"),
            format!("{a} {e} {l}"),
            format!("+1 {a} {e} {l}"),
            format!("+1-{a}-{e}-{l}"),
            format!("+1 ({a}) {e}-{l}"),
            format!("1-{a}-{e}-{l}"),
            format!("+1{a}{e}{l}"),
            format!("{a}-{e}-{l} ext. 2048"),
            format!("({a}) {e}-{l} x2048"),
            format!("cell {a}{e}{l}"),
            format!("cb 1{a}{e}{l}"),
        ] {
            v.push(("phone", p));
        }
    }
    for p in [
        "+44 20 7946 0958",
        "+44 (0)20 7946 0958",
        "0044 20 7946 0958",
        "+33 6 12 34 56 78",
        "+442079460958",
        "+49 30 1234567",
        "020 7946 0958",
        "(020) 7946 0958",
        "07911 123456",
        "030/1234567",
        "01 42 68 53 00",
        "tel 02079460958",
    ] {
        v.push(("phone", p.to_string()));
    }
    for c in [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111.1111.1111.1111",
        "4111111111111111",
        "4222222222222",
        "4000000000000000006",
        "5555 5555 5555 4444",
        "2223 0031 2200 3222",
        "3782 822463 10005",
        "378282246310005",
        "6011111111111117",
        "3056 930902 5904",
        "3530 1113 3330 0000",
        "6212345678901234569",
        "2200 0000 0000 0004",
    ] {
        v.push(("credit_card", c.to_string()));
    }
    v.into_iter()
        .map(|(k, w)| {
            let digits = w.chars().filter(char::is_ascii_digit).collect();
            (k, w, digits)
        })
        .collect()
}

/// Panics when `text`, outside tokens (`<…>`), holds four digits in a row
/// of a planted number's digits, with separators skipped: the number or a
/// part of it came out. Returns how many numbers were checked.
pub fn assert_no_number(
    context: &str,
    text: &str,
    numbers: &[(&'static str, String, String)],
) -> usize {
    let mut outside = String::new();
    let mut depth = 0;
    for c in text.chars() {
        match c {
            '<' => depth += 1,
            '>' if depth > 0 => depth -= 1,
            _ if depth == 0 => outside.push(c),
            _ => {}
        }
    }
    // Digits with separators skipped; any other character breaks a run.
    let mut runs = String::new();
    for c in outside.chars() {
        if c.is_ascii_digit() {
            runs.push(c);
        } else if !matches!(c, ' ' | '.' | '-' | '(' | ')' | '/' | '+') {
            runs.push('|');
        }
    }
    for (kind, written, digits) in numbers {
        for w in digits.as_bytes().windows(4) {
            let w = std::str::from_utf8(w).unwrap_or("");
            assert!(
                !runs.contains(w),
                "{context}: digits {w} of the {kind} {written:?} came out: {text:?}"
            );
        }
    }
    numbers.len()
}
