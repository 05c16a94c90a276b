//! Reviewed question → SQL examples: retrieved into the SQL prompt, and
//! answering a question without a model call when one matches closely.
//!
//! An [`Example`] is a question, its SQL (written against the real schema)
//! and optional notes. Its SQL may hold `{param}` slots, each of a declared
//! [`ParamKind`]: a token class (`person`, `email`, …), `number` or `date`.
//! A slot never takes text: it is filled only from what the scrubbed
//! question carries — a token of the slot's class that sqlveil issued for
//! this question, a number, or a date — and is written into the SQL as a
//! literal of sqlveil's own (`'<person_…>'`, `42`, `DATE '2024-01-31'`),
//! which the guard then checks like any other literal.
//!
//! When the [`Chat`](crate::Chat) is built, every example is checked:
//!
//! - its name, question, SQL and notes are scanned by the detectors (with the
//!   data's known values): an example holding a protected value, or a
//!   token, is a rule error naming the example;
//! - its SQL, with every slot filled by a sample literal of its kind, must
//!   pass the guard: an example the policy would refuse is a rule error
//!   naming the example, never silently dropped;
//! - its slots and its declared parameters must agree.
//!
//! Retrieval is BM25 (k1 = 1.2, b = 0.75, an inverted index with a dense
//! score accumulator and a partial selection of the top k) over the
//! examples' questions, as words: lowercase, split on anything but letters
//! and digits, a plural `s` dropped, common words left out, and each slot
//! (or, in a question, each token, number and date) as a word of its kind.
//!
//! A `direct` example answers without a SQL call when the question's words
//! (slots as their kind) are all among the example's and the share of
//! shared words (Jaccard) is at least the threshold (0.9 by default), the
//! question reads as the example word for word and in order (every word,
//! common ones included; case, punctuation and slot values aside), and
//! every token, number and date of the question fills exactly one slot of
//! its kind. So a question with a word more, a word fewer or another word
//! than the example — `not`, `except`, a year, `by` for `on` — or the same
//! words in another order is never answered directly.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use polars::prelude::DataFrame;

use super::Chat;
use crate::detect::Detector;
use crate::engine::Engine;
use crate::error::Error;
use crate::guard::Guard;
use crate::leak::Texts;
use crate::rules::{Action, Policy, TokenClass};
use crate::schema::ColumnType;
use crate::tokens::{MasterKey, MemoryVault, RequestResolver, RequestTokens, Tokens};

/// What a `{param}` slot of an example's SQL takes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ParamKind {
    /// A token of this class that the question carried (written `'<class_…>'`).
    Token(TokenClass),
    /// A number in the question (written as a plain numeric literal).
    Number,
    /// A date `YYYY-MM-DD` in the question (written `DATE 'YYYY-MM-DD'`).
    Date,
}

impl ParamKind {
    /// `number`, `date`, or a token class name.
    ///
    /// # Errors
    /// A name that is neither `number`, `date` nor a valid token class.
    pub fn from_tag(tag: &str) -> Result<ParamKind, Error> {
        match tag {
            "number" => Ok(ParamKind::Number),
            "date" => Ok(ParamKind::Date),
            other => TokenClass::new(other).map(ParamKind::Token).map_err(|_| {
                Error::usage(format!(
                    "`{other}` is no parameter kind: `number`, `date` or a token class"
                ))
            }),
        }
    }

    /// The kind's name, as in an example file.
    pub fn as_tag(&self) -> &str {
        match self {
            ParamKind::Token(c) => c.as_str(),
            ParamKind::Number => "number",
            ParamKind::Date => "date",
        }
    }

    /// The word that stands for the kind in retrieval.
    fn word(&self) -> String {
        format!("slot:{}", self.as_tag())
    }
}

/// A reviewed question and its SQL.
///
/// # Example
/// ```
/// use sqlveil::chat::Example;
/// let e = Example::new("orders-of", "Which orders did {customer} place?",
///         "SELECT o.order_id FROM orders o JOIN customers c ON o.customer_id = c.customer_id \
///          WHERE c.full_name = {customer}")
///     .param("customer", "person")?
///     .direct(true);
/// assert_eq!(e.name(), "orders-of");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    name: String,
    question: String,
    sql: String,
    notes: Option<String>,
    direct: bool,
    params: BTreeMap<String, ParamKind>,
}

impl Example {
    /// An example named `name` (named in errors, answers and the audit log).
    pub fn new(
        name: impl Into<String>,
        question: impl Into<String>,
        sql: impl Into<String>,
    ) -> Example {
        Example {
            name: name.into(),
            question: question.into(),
            sql: sql.into(),
            notes: None,
            direct: false,
            params: BTreeMap::new(),
        }
    }

    /// Declares a `{name}` slot of kind `kind` (`number`, `date` or a token
    /// class).
    ///
    /// # Errors
    /// An unknown kind.
    pub fn param(mut self, name: impl Into<String>, kind: &str) -> Result<Example, Error> {
        self.params.insert(name.into(), ParamKind::from_tag(kind)?);
        Ok(self)
    }

    /// Notes shown to the model with the example.
    pub fn notes(mut self, notes: impl Into<String>) -> Example {
        self.notes = Some(notes.into());
        self
    }

    /// Whether the example may answer a matching question without a model
    /// call for SQL.
    pub fn direct(mut self, yes: bool) -> Example {
        self.direct = yes;
        self
    }

    /// The example's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The example's question.
    pub fn question(&self) -> &str {
        &self.question
    }

    /// The example's SQL, with its slots.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The example's notes.
    pub fn notes_text(&self) -> Option<&str> {
        self.notes.as_deref()
    }

    /// Whether it is a `direct` example.
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    /// The SQL with every slot filled by `fill(name, kind)`.
    fn fill_with(
        &self,
        mut fill: impl FnMut(&str, &ParamKind) -> Result<String, Error>,
    ) -> Result<String, Error> {
        let mut out = String::with_capacity(self.sql.len());
        for piece in split_slots(&self.sql) {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Slot(name) => {
                    let kind = self.params.get(name).ok_or_else(|| {
                        self.error(format!("its SQL has a slot `{{{name}}}` not in `params`"))
                    })?;
                    out.push_str(&fill(name, kind)?);
                }
            }
        }
        Ok(out)
    }

    /// The same example with other SQL (same slots and parameters).
    pub(crate) fn with_sql(mut self, sql: &str) -> Example {
        self.sql = sql.to_string();
        self
    }

    fn error(&self, message: String) -> Error {
        Error::rules(None, format!("example `{}`: {message}", self.name))
    }
}

/// A piece of a text with `{name}` slots.
enum Piece<'a> {
    Text(&'a str),
    Slot(&'a str),
}

/// Splits a text at `{name}` slots (`name`: ASCII letters, digits and `_`,
/// starting with a letter); other braces stay text.
fn split_slots(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut last = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{' {
            let rest = &text[i + 1..];
            let len = rest
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            if len > 0
                && rest.as_bytes()[0].is_ascii_alphabetic()
                && rest.as_bytes().get(len) == Some(&b'}')
            {
                out.push(Piece::Text(&text[last..i]));
                out.push(Piece::Slot(&rest[..len]));
                i += len + 2;
                last = i;
                continue;
            }
        }
        i += 1;
    }
    out.push(Piece::Text(&text[last..]));
    out
}

/// The slots of a text, in order of first appearance.
fn slots(text: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for p in split_slots(text) {
        if let Piece::Slot(s) = p {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// Examples, as read from a TOML file or built through the API.
///
/// ```toml
/// [[examples]]
/// name = "orders-of-customer"
/// question = "Which orders did {customer} place?"
/// sql = """SELECT o.order_id, o.order_date FROM orders o
///          JOIN customers c ON o.customer_id = c.customer_id
///          WHERE c.full_name = {customer}"""
/// params = { customer = "person" }   # a token class, "number" or "date"
/// direct = true                       # may answer without a SQL model call
/// notes = "Orders are joined to customers by customer_id."
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExampleSet {
    examples: Vec<Example>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExampleFile {
    #[serde(default)]
    examples: Vec<ExampleEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExampleEntry {
    name: String,
    question: String,
    sql: String,
    #[serde(default)]
    notes: Option<String>,
    #[serde(default)]
    direct: bool,
    #[serde(default)]
    params: BTreeMap<String, String>,
}

impl ExampleSet {
    /// No example.
    pub fn new() -> ExampleSet {
        ExampleSet::default()
    }

    /// Reads examples from TOML text (`[[examples]]` tables).
    ///
    /// # Errors
    /// Malformed TOML, unknown keys, an unknown parameter kind, two examples
    /// of one name, slots and parameters that do not agree.
    ///
    /// # Example
    /// ```
    /// let set = sqlveil::chat::ExampleSet::from_toml_str(r#"
    ///     [[examples]]
    ///     name = "per-segment"
    ///     question = "How many customers are in each segment?"
    ///     sql = "SELECT segment, COUNT(*) AS n FROM customers GROUP BY segment"
    /// "#)?;
    /// assert_eq!(set.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_toml_str(text: &str) -> Result<ExampleSet, Error> {
        ExampleSet::parse(text, None)
    }

    /// Reads examples from a TOML file.
    ///
    /// # Errors
    /// As [`from_toml_str`](Self::from_toml_str), and a file that cannot be
    /// read.
    pub fn from_path(path: impl AsRef<Path>) -> Result<ExampleSet, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| {
            Error::new(crate::ErrorKind::Io {
                path: path.to_path_buf(),
                source,
            })
        })?;
        ExampleSet::parse(&text, Some(path))
    }

    fn parse(text: &str, path: Option<&Path>) -> Result<ExampleSet, Error> {
        let file: ExampleFile = toml::from_str(text)
            .map_err(|e| Error::rules(path, format!("examples: {}", e.message())))?;
        let mut set = ExampleSet::new();
        for e in file.examples {
            let mut ex = Example::new(e.name, e.question, e.sql).direct(e.direct);
            ex.notes = e.notes;
            for (k, v) in e.params {
                ex = ex
                    .param(k, &v)
                    .map_err(|err| Error::rules(path, format!("{err}")))?;
            }
            set.push(ex).map_err(|err| match path {
                Some(p) => Error::rules(Some(p), err.to_string()),
                None => err,
            })?;
        }
        Ok(set)
    }

    /// Adds an example.
    ///
    /// # Errors
    /// A name already taken or empty, slots of the SQL without a parameter,
    /// parameters without a slot in the SQL, a `direct` example whose
    /// question does not hold its slots.
    pub fn push(&mut self, example: Example) -> Result<(), Error> {
        if example.name.trim().is_empty() {
            return Err(Error::rules(None, "an example has an empty name"));
        }
        if self.examples.iter().any(|e| e.name == example.name) {
            return Err(example.error("the name is used twice".into()));
        }
        let in_sql = slots(&example.sql);
        for s in &in_sql {
            if !example.params.contains_key(*s) {
                return Err(example.error(format!("its SQL has a slot `{{{s}}}` not in `params`")));
            }
        }
        for p in example.params.keys() {
            if !in_sql.contains(&p.as_str()) {
                return Err(example.error(format!("parameter `{p}` has no slot in its SQL")));
            }
        }
        // A slot inside quotes would be filled into a string: refused.
        for (i, _) in example.sql.match_indices('{') {
            let before = &example.sql[..i];
            let open = |q: char| before.matches(q).count() % 2 == 1;
            if open('\'') || open('"') {
                return Err(example.error(
                    "a slot stands inside quotes; write it bare, sqlveil writes the literal".into(),
                ));
            }
        }
        if example.direct {
            let in_q = slots(&example.question);
            for p in example.params.keys() {
                if !in_q.contains(&p.as_str()) {
                    return Err(example.error(format!(
                        "a direct example's question must show its slot `{{{p}}}`"
                    )));
                }
            }
        }
        self.examples.push(example);
        Ok(())
    }

    /// How many examples.
    pub fn len(&self) -> usize {
        self.examples.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// The examples, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Example> {
        self.examples.iter()
    }
}

/// Which example answered a question directly, and how closely it matched.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DirectMatch {
    /// The example's name.
    pub example: String,
    /// The share of shared words (0 to 1) between the question and the
    /// example's question, slots counted as their kind.
    pub score: f64,
}

/// Common words that say nothing about which example fits. No negation,
/// quantity or comparison is among them.
const STOP: &[&str] = &[
    "the", "a", "an", "of", "and", "in", "on", "to", "for", "is", "are", "was", "were", "do",
    "does", "did", "me", "please", "show", "list", "give", "tell", "what", "which", "there",
    "their", "that", "this", "it", "be", "by", "with", "from", "at", "as", "can", "you", "i", "we",
];

/// Lowercase words of a text, split on anything but letters and digits;
/// with `exact`, every word as written (for direct answers, where order,
/// `not` and `by` against `on` change the meaning), else with plurals
/// dropped and stop words left out (for retrieval).
fn words_of(text: &str, out: &mut Vec<String>, exact: bool) {
    for w in text.split(|c: char| !c.is_alphanumeric()) {
        if w.is_empty() {
            continue;
        }
        let w = w.to_lowercase();
        if exact {
            out.push(w);
            continue;
        }
        if STOP.contains(&w.as_str()) {
            continue;
        }
        let w = match w.strip_suffix('s') {
            Some(stem) if stem.chars().count() >= 3 && !stem.ends_with('s') => stem.to_string(),
            _ => w,
        };
        out.push(w);
    }
}

/// The words of an example's question: slots as their kind's word.
fn example_words(e: &Example, exact: bool) -> Vec<String> {
    let mut out = Vec::new();
    for p in split_slots(&e.question) {
        match p {
            Piece::Text(t) => words_of(t, &mut out, exact),
            Piece::Slot(s) => match e.params.get(s) {
                Some(k) => out.push(k.word()),
                None => words_of(s, &mut out, exact),
            },
        }
    }
    out
}

/// What a scrubbed question carries that can fill a slot, in order.
#[derive(Debug, Default)]
struct Fills {
    items: Vec<(ParamKind, String)>,
}

/// Splits a scrubbed question into words and slot fills: tokens (by
/// class), dates and numbers become their kind's word.
fn question_parts(tokens: &Tokens, text: &str, exact: bool) -> (Vec<String>, Fills) {
    let mut words = Vec::new();
    let mut fills = Fills::default();
    let mut last = 0;
    for (r, class) in tokens.find(text) {
        literal_parts(&text[last..r.start], &mut words, &mut fills, exact);
        if let Ok(c) = TokenClass::new(class.as_ref()) {
            let kind = ParamKind::Token(c);
            words.push(kind.word());
            fills.items.push((kind, text[r.clone()].to_string()));
        }
        last = r.end;
    }
    literal_parts(&text[last..], &mut words, &mut fills, exact);
    (words, fills)
}

/// Words, dates and numbers of text without tokens.
fn literal_parts(text: &str, words: &mut Vec<String>, fills: &mut Fills, exact: bool) {
    let plain_words = |t: &str, out: &mut Vec<String>| words_of(t, out, exact);
    let mut rest = text;
    while !rest.is_empty() {
        // The next run of digits that starts a number or a date.
        let Some(start) = rest.find(|c: char| c.is_ascii_digit()) else {
            plain_words(rest, words);
            return;
        };
        // A digit glued to a letter before it is part of a word (`b2b`).
        let glued = rest[..start]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric());
        let tail = &rest[start..];
        let date_len = date_prefix(tail);
        let num_len = number_prefix(tail);
        let after = |n: usize| tail[n..].chars().next();
        if !glued && date_len > 0 && !after(date_len).is_some_and(|c| c.is_alphanumeric()) {
            plain_words(&rest[..start], words);
            let d = &tail[..date_len];
            words.push(ParamKind::Date.word());
            fills.items.push((ParamKind::Date, d.to_string()));
            rest = &tail[date_len..];
        } else if !glued && !after(num_len).is_some_and(|c| c.is_alphanumeric() || c == '-') {
            // A minus sign before the number is the number's: kept in the
            // fill, which no number slot takes (so no direct answer drops it).
            let sign = rest[..start].ends_with('-')
                && !rest[..start - 1]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric());
            let head = if sign { start - 1 } else { start };
            plain_words(&rest[..head], words);
            words.push(ParamKind::Number.word());
            let value = if sign {
                format!("-{}", &tail[..num_len])
            } else {
                tail[..num_len].to_string()
            };
            fills.items.push((ParamKind::Number, value));
            rest = &tail[num_len..];
        } else {
            // Part of a word: up to the end of that word.
            let end = tail
                .find(|c: char| !c.is_alphanumeric())
                .unwrap_or(tail.len());
            plain_words(&rest[..start + end], words);
            rest = &tail[end..];
        }
    }
}

/// The length of a `YYYY-MM-DD` date at the start of `s` that parses, or 0.
fn date_prefix(s: &str) -> usize {
    let b = s.as_bytes();
    let shape = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit);
    if shape && chrono::NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").is_ok() {
        10
    } else {
        0
    }
}

/// The length of a number (`123`, `12.5`) at the start of `s`.
fn number_prefix(s: &str) -> usize {
    let b = s.as_bytes();
    let mut n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if b.get(n) == Some(&b'.') && b.get(n + 1).is_some_and(u8::is_ascii_digit) {
        n += 1 + b[n + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
    }
    n
}

/// A slot's literal, written by sqlveil: never text of the question's
/// except a token's, a number's or a date's characters, each checked.
fn literal(kind: &ParamKind, value: &str, tokens: &Tokens) -> Option<String> {
    match kind {
        ParamKind::Token(class) => {
            // One whole token of the slot's class, nothing around it.
            let found = tokens.find(value);
            match found.as_slice() {
                [(r, c)] if r.start == 0 && r.end == value.len() && c == class.as_str() => {
                    Some(format!("'{value}'"))
                }
                _ => None,
            }
        }
        ParamKind::Number => {
            let ok = number_prefix(value) == value.len()
                && !value.is_empty()
                && value.len() <= 24
                && value.bytes().next().is_some_and(|b| b.is_ascii_digit());
            ok.then(|| value.to_string())
        }
        ParamKind::Date => {
            let d = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()?;
            (date_prefix(value) == value.len()).then(|| format!("DATE '{}'", d.format("%Y-%m-%d")))
        }
    }
}

/// BM25 over word lists: per term, its documents and their term weights
/// `tf·(k1+1) / (tf + k1·(1 − b + b·len/avglen))`, and the term's idf
/// `ln(1 + (N − df + 0.5) / (df + 0.5))`.
#[derive(Debug, Default)]
struct Bm25 {
    terms: HashMap<String, usize>,
    postings: Vec<Vec<(u32, f32)>>,
    idf: Vec<f32>,
    docs: usize,
}

impl Bm25 {
    const K1: f32 = 1.2;
    const B: f32 = 0.75;

    fn new(docs: &[Vec<String>]) -> Bm25 {
        let mut bm = Bm25 {
            docs: docs.len(),
            ..Bm25::default()
        };
        let total: usize = docs.iter().map(Vec::len).sum();
        let avg = (total as f32 / docs.len().max(1) as f32).max(1.0);
        for (d, words) in docs.iter().enumerate() {
            let mut tf: BTreeMap<&str, u32> = BTreeMap::new();
            for w in words {
                *tf.entry(w.as_str()).or_insert(0) += 1;
            }
            let norm = Self::K1 * (1.0 - Self::B + Self::B * words.len() as f32 / avg);
            for (w, n) in tf {
                let t = match bm.terms.get(w) {
                    Some(&t) => t,
                    None => {
                        bm.terms.insert(w.to_string(), bm.postings.len());
                        bm.postings.push(Vec::new());
                        bm.postings.len() - 1
                    }
                };
                let n = n as f32;
                let doc = u32::try_from(d).unwrap_or(u32::MAX);
                bm.postings[t].push((doc, n * (Self::K1 + 1.0) / (n + norm)));
            }
        }
        let n = bm.docs as f32;
        bm.idf = bm
            .postings
            .iter()
            .map(|p| {
                let df = p.len() as f32;
                (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
            })
            .collect();
        bm
    }

    /// The `k` best documents for a set of words, best first; ties by
    /// document order.
    fn search(&self, words: &BTreeSet<String>, k: usize) -> Vec<(usize, f32)> {
        let mut acc = vec![0f32; self.docs];
        let mut touched: Vec<usize> = Vec::new();
        for w in words {
            let Some(&t) = self.terms.get(w) else {
                continue;
            };
            let idf = self.idf.get(t).copied().unwrap_or(0.0);
            for &(d, weight) in self.postings.get(t).map(Vec::as_slice).unwrap_or(&[]) {
                let d = d as usize;
                if let Some(a) = acc.get_mut(d) {
                    if *a == 0.0 {
                        touched.push(d);
                    }
                    *a += idf * weight;
                }
            }
        }
        let score = |d: usize| acc.get(d).copied().unwrap_or(0.0);
        let order = |a: &usize, b: &usize| score(*b).total_cmp(&score(*a)).then(a.cmp(b));
        if touched.len() > k && k > 0 {
            touched.select_nth_unstable_by(k - 1, order);
            touched.truncate(k);
        }
        touched.sort_by(order);
        touched.truncate(k);
        touched.into_iter().map(|d| (d, score(d))).collect()
    }
}

/// One example as the index keeps it.
#[derive(Debug)]
struct Entry {
    example: Example,
    words: BTreeSet<String>,
    /// Every word of the question in order, slots as their kind.
    exact: Vec<String>,
}

/// Examples indexed for retrieval (BM25 over their questions' words).
///
/// A [`Chat`](crate::Chat) builds its own, after checking every example;
/// this type is public for benchmarks and for inspecting retrieval.
///
/// # Example
/// ```
/// use sqlveil::{MasterKey, Policy};
/// use sqlveil::chat::{Example, ExampleIndex, ExampleSet};
/// use sqlveil::tokens::Tokens;
/// let mut set = ExampleSet::new();
/// set.push(Example::new("per-city", "How many customers live in each city?", "SELECT 1"))?;
/// set.push(Example::new("revenue", "Total revenue per month", "SELECT 2"))?;
/// let index = ExampleIndex::new(&set);
/// let policy = Policy::from_toml_str("version = 1\n[defaults]\ntokens = \"sealed\"")?;
/// let tokens = Tokens::new(&policy, MasterKey::from_bytes(&[7; 32]), None)?;
/// let hits = index.retrieve(&tokens, "customers per city", 1);
/// assert_eq!(hits[0].example.name(), "per-city");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ExampleIndex {
    entries: Vec<Entry>,
    bm25: Bm25,
}

impl std::fmt::Debug for ExampleIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExampleIndex")
            .field("examples", &self.entries.len())
            .finish_non_exhaustive()
    }
}

/// One retrieved example and its BM25 score.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ExampleHit<'a> {
    /// The example.
    pub example: &'a Example,
    /// Its BM25 score for the question.
    pub score: f32,
}

impl ExampleIndex {
    /// Checks every example (detectors, guard, slots, then the data's
    /// protected values in the forms of the independent matcher) and
    /// indexes them.
    pub(crate) fn build(
        set: &ExampleSet,
        policy: &Policy,
        guard: &Guard,
        detector: &Detector,
        key: &MasterKey,
        engine: &dyn Engine,
    ) -> Result<ExampleIndex, Error> {
        // Throw-away tokens: nothing an example check issues reaches the
        // pipeline's vault.
        let scratch = Tokens::new(policy, key.clone(), Some(Arc::new(MemoryVault::new())))?;
        for e in set.iter() {
            check_example(e, guard, detector, &scratch)?;
        }
        if !set.is_empty() {
            check_values(set, policy, engine)?;
        }
        Ok(ExampleIndex::index(set.iter().cloned().collect()))
    }

    /// Indexes examples without checking them (a [`Chat`] checks its own).
    pub fn new(set: &ExampleSet) -> ExampleIndex {
        ExampleIndex::index(set.iter().cloned().collect())
    }

    fn index(examples: Vec<Example>) -> ExampleIndex {
        let entries: Vec<Entry> = examples
            .into_iter()
            .map(|example| {
                let words = example_words(&example, false).into_iter().collect();
                let exact = example_words(&example, true);
                Entry {
                    example,
                    words,
                    exact,
                }
            })
            .collect();
        let docs: Vec<Vec<String>> = entries
            .iter()
            .map(|e| e.words.iter().cloned().collect())
            .collect();
        ExampleIndex {
            entries,
            bm25: Bm25::new(&docs),
        }
    }

    /// How many examples.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `k` examples most similar to a scrubbed question, best first
    /// (only those sharing a word with it); `tokens` finds the question's
    /// tokens, which count as words of their class.
    pub fn retrieve(&self, tokens: &Tokens, scrubbed: &str, k: usize) -> Vec<ExampleHit<'_>> {
        if self.entries.is_empty() || k == 0 {
            return Vec::new();
        }
        let (words, _) = question_parts(tokens, scrubbed, false);
        self.search(&words, k)
    }

    fn search(&self, words: &[String], k: usize) -> Vec<ExampleHit<'_>> {
        let q: BTreeSet<String> = words.iter().cloned().collect();
        // Best first; ties keep the examples' order, so retrieval is the
        // same from run to run.
        self.bm25
            .search(&q, k)
            .into_iter()
            .filter_map(|(i, score)| {
                self.entries.get(i).map(|e| ExampleHit {
                    example: &e.example,
                    score,
                })
            })
            .collect()
    }

    /// The direct example that answers a scrubbed question, with its SQL
    /// filled, when one matches closely enough and its slots can be filled
    /// from the question.
    pub(crate) fn direct(
        &self,
        tokens: &Tokens,
        scrubbed: &str,
        threshold: f64,
    ) -> Option<(DirectMatch, String)> {
        let (words, fills) = question_parts(tokens, scrubbed, false);
        let (exact, _) = question_parts(tokens, scrubbed, true);
        let q: BTreeSet<&str> = words.iter().map(String::as_str).collect();
        if q.is_empty() {
            return None;
        }
        let mut best: Option<(f64, &Entry)> = None;
        let qset: BTreeSet<String> = words.iter().cloned().collect();
        for (i, _) in self.bm25.search(&qset, 8) {
            let Some(entry) = self.entries.get(i) else {
                continue;
            };
            if !entry.example.direct {
                continue;
            }
            let e: BTreeSet<&str> = entry.words.iter().map(String::as_str).collect();
            // Every word of the question must be the example's.
            if !q.is_subset(&e) {
                continue;
            }
            // And the question must read as the example, word for word and
            // in order (case, punctuation and slot values aside): a dropped
            // `not`, `by` for `on`, or two words swapped change the meaning
            // while keeping the words.
            if exact != entry.exact {
                continue;
            }
            let score = q.len() as f64 / e.len().max(1) as f64;
            if score >= threshold && best.is_none_or(|(s, _)| score > s) {
                best = Some((score, entry));
            }
        }
        let (score, entry) = best?;
        let sql = fill_from_question(&entry.example, &fills, tokens)?;
        Some((
            DirectMatch {
                example: entry.example.name.clone(),
                score,
            },
            sql,
        ))
    }
}

/// Fills a direct example's slots from what the question carries: per kind,
/// the question's items in order fill the slots in the order the example's
/// question shows them. Every item must fill a slot and every slot must be
/// filled.
fn fill_from_question(example: &Example, fills: &Fills, tokens: &Tokens) -> Option<String> {
    // Nothing of the question left over: a number or a token more than the
    // example takes changes the question's meaning.
    fill_in_order(example, slots(&example.question), fills, tokens, true)
}

/// Fills an example's slots from a scrubbed question (for the evaluation's
/// gold SQL and scripted answers): as a direct answer fills them, without
/// the match.
pub(crate) fn fill_for_question(
    example: &Example,
    tokens: &Tokens,
    scrubbed: &str,
) -> Option<String> {
    if example.params.is_empty() {
        return Some(example.sql.clone());
    }
    let (_, fills) = question_parts(tokens, scrubbed, false);
    // Slots in the order of the question's template if it shows them, else
    // of the SQL.
    let mut order = slots(&example.question);
    for s in slots(&example.sql) {
        if !order.contains(&s) {
            order.push(s);
        }
    }
    fill_in_order(example, order, &fills, tokens, false)
}

/// Fills the slots named in `order`, per kind with the question's items in
/// their order, each written as sqlveil's own literal; with `all_used`,
/// an item of the question that fills no slot fails the fill.
fn fill_in_order(
    example: &Example,
    order: Vec<&str>,
    fills: &Fills,
    tokens: &Tokens,
    all_used: bool,
) -> Option<String> {
    let mut by_kind: HashMap<&ParamKind, Vec<&str>> = HashMap::new();
    for (kind, v) in &fills.items {
        by_kind.entry(kind).or_default().push(v.as_str());
    }
    let mut assigned: HashMap<&str, String> = HashMap::new();
    let mut used: HashMap<&ParamKind, usize> = HashMap::new();
    for name in order {
        let kind = example.params.get(name)?;
        let n = used.entry(kind).or_insert(0);
        let value = by_kind.get(kind)?.get(*n)?;
        *n += 1;
        assigned.insert(name, literal(kind, value, tokens)?);
    }
    if all_used
        && by_kind
            .iter()
            .any(|(kind, vals)| used.get(kind).copied().unwrap_or(0) != vals.len())
    {
        return None;
    }
    example
        .fill_with(|name, _| {
            assigned
                .get(name)
                .cloned()
                .ok_or_else(|| Error::usage("unfilled slot"))
        })
        .ok()
}

impl Chat {
    /// The master key (for the evaluation's keyed fingerprints).
    pub(crate) fn key(&self) -> &crate::tokens::MasterKey {
        &self.protector_key
    }

    /// The question as the model would see it: detector hits and the data's
    /// protected values replaced by tokens.
    ///
    /// # Errors
    /// The token vault cannot be written.
    pub fn scrub(&self, question: &str) -> Result<String, Error> {
        Ok(self
            .tokens
            .batch(|t| self.detector.redact(question, t))?
            .text)
    }

    /// The engine the pipeline runs queries on.
    pub fn engine(&self) -> &dyn Engine {
        self.engine.as_ref()
    }

    /// Runs a reviewed query for a question, as a direct answer would, and
    /// returns the rows as the model would see them: the question is
    /// scrubbed, the example's slots are filled from its tokens, numbers and
    /// dates, and the SQL passes the guard, the engine and protection. For
    /// evaluations (gold queries) and for checking an example by hand.
    ///
    /// # Errors
    /// Slots that the question cannot fill, a refusal, an engine error, a
    /// vault failure.
    pub fn run_example(&self, question: &str, example: &Example) -> Result<DataFrame, Error> {
        let scrubbed = self.scrub(question)?;
        let sql = fill_for_question(example, &self.tokens, &scrubbed).ok_or_else(|| {
            Error::usage(format!(
                "example `{}`: its slots cannot be filled from the question",
                example.name
            ))
        })?;
        let mut issued = RequestTokens::new();
        issued.add_text(&self.tokens, &scrubbed);
        let mut trace = super::Trace::default();
        let (_, protected) = self.execute(&sql, &mut trace, &issued)?;
        Ok(protected.frame)
    }
}

/// The single-quoted strings of a SQL text, with `''` read as one quote.
fn string_literals(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut lit = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    lit.push('\'');
                    continue;
                }
                break;
            }
            lit.push(c);
        }
        out.push(lit);
    }
    out
}

/// Each word with a capital first letter (`johnson` → `Johnson`).
fn title_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut start = true;
    for c in text.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    out
}

/// Checks every example's texts (and the strings of its SQL) for the
/// data's protected values with the matcher the detectors do not share
/// (`leak`), which reads more forms than they do (`ljohnson`,
/// `liam . johnson @ hotmail . com`): a second net under the detectors.
/// Single name words and numbers under 8 digits are left to the detectors
/// here: at real sizes common words (`Price`, `Young`) and numbers (`2024`,
/// `150000` of CUST-150000) are some customer's value. A name's initial
/// and surname run together (`ljohnson`) is looked for, though at real
/// sizes some words are one (`shopper` of S. Hopper): a refused example is
/// loud and is rephrased, a name in every prompt is not. Public columns are read (for
/// their exemptions) only when they hold dates or text. The values are streamed past the texts, so the
/// cost is one read of the protected columns, at any size.
fn check_values(set: &ExampleSet, policy: &Policy, engine: &dyn Engine) -> Result<(), Error> {
    let mut owners: Vec<(&Example, &str)> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    for e in set.iter() {
        let mut add = |what: &'static str, text: String| {
            owners.push((e, what));
            texts.push(text);
        };
        add("name", e.name.clone());
        add("question", e.question.clone());
        if let Some(n) = &e.notes {
            add("notes", n.clone());
        }
        // The whole SQL (comments and names too: it goes into prompts as
        // written), and each string in it with `%` as a break.
        add("sql", e.sql.clone());
        for lit in string_literals(&e.sql) {
            add("sql", lit.replace('%', " "));
        }
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut search = Texts::new(&refs, false, 8);
    let catalog = engine.catalog();
    let columns = || {
        policy.tables().iter().flat_map(move |t| {
            t.columns.iter().filter_map(move |c| {
                let ty = catalog
                    .table(&t.name)?
                    .columns
                    .iter()
                    .find(|x| x.name == c.name)?
                    .ty
                    .clone();
                Some((t.name.as_str(), c, ty))
            })
        })
    };
    for (table, c, ty) in columns() {
        // A public number exempts only a number, and numbers under 8
        // digits are not looked for: only dates and text are read.
        let exempts = !matches!(
            ty,
            ColumnType::Integer | ColumnType::Float | ColumnType::Boolean
        );
        if matches!(c.action, Action::Allow) && exempts {
            engine.distinct_values(table, &c.name, None, &mut |v| {
                search.public(v);
                Ok(())
            })?;
        }
    }
    for (table, c, _) in columns() {
        if matches!(c.action, Action::Allow | Action::Scan) {
            continue;
        }
        let label = format!("{table}.{}", c.name);
        let mut hit = None;
        engine.distinct_values(table, &c.name, None, &mut |v| {
            if hit.is_none() {
                hit = search.protected(&label, v);
            }
            Ok(())
        })?;
        if let Some((t, found)) = hit {
            let Some((e, what)) = owners.get(t) else {
                continue;
            };
            return Err(e.error(format!(
                "its {what} holds a value of {label} in a form the detectors do not find (a {} form; found by the independent check); write a `{{param}}` slot instead",
                found.kind.as_str()
            )));
        }
    }
    Ok(())
}

/// Checks one example: detectors over its texts, its slots, the guard.
fn check_example(
    e: &Example,
    guard: &Guard,
    detector: &Detector,
    scratch: &Tokens,
) -> Result<(), Error> {
    let mut texts: Vec<(&str, &str)> = vec![
        ("name", e.name.as_str()),
        ("question", e.question.as_str()),
        ("sql", e.sql.as_str()),
    ];
    if let Some(n) = &e.notes {
        texts.push(("notes", n.as_str()));
    }
    for (what, text) in texts {
        if !scratch.find(text).is_empty() {
            return Err(e.error(format!(
                "its {what} holds a token; write a `{{param}}` slot instead"
            )));
        }
        let r = detector.redact(text, scratch)?;
        if let Some(kind) = r.counts.keys().next() {
            return Err(e.error(format!(
                "its {what} holds a protected value (found by `{kind}`); write a `{{param}}` slot instead"
            )));
        }
    }
    // A string in the SQL is a value, in whatever case it is written: a
    // surname in `LIKE '%johnson%'` is looked for as `Johnson` (a part of a
    // value is found only with a capital in ordinary text).
    for lit in string_literals(&e.sql) {
        let r = detector.redact(&title_words(&lit.replace('%', " ")), scratch)?;
        if let Some(kind) = r.counts.keys().next() {
            return Err(e.error(format!(
                "its sql holds a protected value in a string (found by `{kind}`); write a `{{param}}` slot instead"
            )));
        }
    }
    // The guard, with each slot a sample literal of its kind; tokens are
    // issued in the scratch vault for a placeholder value.
    let mut allowed = RequestTokens::new();
    let sql = e.fill_with(|_, kind| {
        Ok(match kind {
            ParamKind::Token(class) => {
                let t = scratch.issue(class, "sqlveil example check")?;
                allowed.add_text(scratch, &t);
                format!("'{t}'")
            }
            ParamKind::Number => "1".to_string(),
            ParamKind::Date => "DATE '2024-01-01'".to_string(),
        })
    })?;
    guard
        .check_with(&sql, &RequestResolver::new(scratch, &allowed))
        .map_err(|err| e.error(format!("the guard refuses its SQL: {err}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        let policy = Policy::from_toml_str("version = 1").unwrap();
        Tokens::new(
            &policy,
            MasterKey::from_bytes(&[3; 32]),
            Some(Arc::new(MemoryVault::new())),
        )
        .unwrap()
    }

    #[test]
    fn slots_split_and_keep_other_braces() {
        assert_eq!(slots("a {x} b {y_2} {x} {1} {} {a-b}"), ["x", "y_2"]);
    }

    #[test]
    fn questions_split_into_words_and_fills() {
        let t = tokens();
        let p = TokenClass::new("person").unwrap();
        let tok = t.issue(&p, "Ada").unwrap();
        let (w, f) = question_parts(
            &t,
            &format!("Orders of {tok} since 2024-01-31, top 5 by b2b 12.5?"),
            false,
        );
        assert_eq!(
            w,
            [
                "order",
                "slot:person",
                "since",
                "slot:date",
                "top",
                "slot:number",
                "b2b",
                "slot:number"
            ]
        );
        let kinds: Vec<&str> = f.items.iter().map(|(k, _)| k.as_tag()).collect();
        assert_eq!(kinds, ["person", "date", "number", "number"]);
        assert_eq!(f.items[3].1, "12.5");
    }

    #[test]
    fn literals_are_sqlveils_own() {
        let t = tokens();
        let p = TokenClass::new("person").unwrap();
        let tok = t.issue(&p, "Ada").unwrap();
        assert_eq!(
            literal(&ParamKind::Token(p.clone()), &tok, &t),
            Some(format!("'{tok}'"))
        );
        let email = ParamKind::Token(TokenClass::new("email").unwrap());
        assert_eq!(literal(&email, &tok, &t), None, "a token of another class");
        assert_eq!(literal(&ParamKind::Token(p), &format!("{tok}'"), &t), None);
        assert_eq!(literal(&ParamKind::Number, "1 OR 1=1", &t), None);
        assert_eq!(
            literal(&ParamKind::Number, "12.50", &t).as_deref(),
            Some("12.50")
        );
        assert_eq!(literal(&ParamKind::Date, "2024-02-30", &t), None);
        assert_eq!(
            literal(&ParamKind::Date, "2024-02-29", &t).as_deref(),
            Some("DATE '2024-02-29'")
        );
    }

    #[test]
    fn direct_needs_every_word_of_the_question() {
        let t = tokens();
        let set = {
            let mut s = ExampleSet::new();
            s.push(
                Example::new(
                    "per-segment",
                    "How many customers are in each segment?",
                    "SELECT 1",
                )
                .direct(true),
            )
            .unwrap();
            s.push(
                Example::new(
                    "orders-in",
                    "How many orders were placed in {year}?",
                    "SELECT {year}",
                )
                .param("year", "number")
                .unwrap()
                .direct(true),
            )
            .unwrap();
            s
        };
        let idx = ExampleIndex::new(&set);
        let (m, sql) = idx
            .direct(&t, "how many customers are in each segment", 0.9)
            .unwrap();
        assert_eq!(
            (m.example.as_str(), m.score, sql.as_str()),
            ("per-segment", 1.0, "SELECT 1")
        );
        // One word more, and no direct answer.
        assert!(idx
            .direct(&t, "How many customers are not in each segment?", 0.9)
            .is_none());
        assert!(idx
            .direct(&t, "How many customers are in each segment in 2024?", 0.5)
            .is_none());
        // Slots: the number fills; two numbers, or none, do not.
        let (_, sql) = idx
            .direct(&t, "How many orders were placed in 2024?", 0.9)
            .unwrap();
        assert_eq!(sql, "SELECT 2024");
        assert!(idx
            .direct(&t, "How many orders were placed in 2024 2023?", 0.9)
            .is_none());
        assert!(idx
            .direct(&t, "How many orders were placed in?", 0.9)
            .is_none());
        // Retrieval ranks the closest first.
        let hits = idx.retrieve(&t, "orders placed in 2023", 3);
        assert_eq!(hits[0].example.name(), "orders-in");
    }

    #[test]
    fn bm25_ranks_rare_words_higher_and_breaks_ties_by_order() {
        let doc = |w: &str| w.split(' ').map(str::to_string).collect::<Vec<_>>();
        let bm = Bm25::new(&[
            doc("order count city"),
            doc("order revenue month"),
            doc("order count month"),
            doc("ticket channel"),
        ]);
        let q = |w: &str| w.split(' ').map(str::to_string).collect::<BTreeSet<_>>();
        // `revenue` is rarer than `count`: document 1 first.
        let hits = bm.search(&q("order revenue count"), 2);
        assert_eq!(hits[0].0, 1, "{hits:?}");
        // Equal scores keep document order.
        let hits = bm.search(&q("order"), 3);
        assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(bm.search(&q("nothing"), 3).is_empty());
        assert_eq!(bm.search(&q("order"), 0).len(), 0);
    }

    #[test]
    fn sets_reject_disagreeing_slots() {
        let mut s = ExampleSet::new();
        let e = s.push(Example::new("a", "q", "SELECT {x}"));
        assert!(e.unwrap_err().to_string().contains("example `a`"));
        let e = s.push(
            Example::new("b", "q", "SELECT 1")
                .param("x", "number")
                .unwrap(),
        );
        assert!(e.unwrap_err().to_string().contains("no slot"));
        let e = s.push(
            Example::new("c", "q", "SELECT '{x}'")
                .param("x", "number")
                .unwrap(),
        );
        assert!(e.unwrap_err().to_string().contains("inside quotes"));
        let e = s.push(
            Example::new("d", "q", "SELECT {x}")
                .param("x", "number")
                .unwrap()
                .direct(true),
        );
        assert!(e.unwrap_err().to_string().contains("must show its slot"));
        assert!(ParamKind::from_tag("Not A Class").is_err());
    }
}
