//! Known-value detection: the distinct values of protected columns, in two
//! FSTs (the `fst` crate) over their normalised spellings. The choices are
//! documented on the parent module.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use fst::raw::{Fst, Output};
use fst::{Map, MapBuilder};

use super::is_word;
use super::normalize::{
    diacritic, digit_byte, digit_gap, dropped, ignorable, is_ascii_space, is_space, push_text_char,
    text_key,
};
use crate::engine::{Catalog, ColumnType, Engine};
use crate::error::Error;
use crate::rules::{Action, Mask, Policy, TokenClass};

/// Options of known-value detection.
///
/// There is no cap on the number of values: every distinct value of every
/// loaded column is found. The one limit is on memory
/// ([`max_memory`](Self::max_memory)), and exceeding it is an error when the
/// index is built, never a partial index.
///
/// # Example
/// ```
/// use sqlveil::detect::KnownValuesOptions;
/// let mut o = KnownValuesOptions::new();
/// o.max_memory(512 << 20).min_chars(4);
/// assert_eq!(o.get_max_memory(), 512 << 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownValuesOptions {
    min_chars: usize,
    min_digits: usize,
    min_part_chars: usize,
    parts_any_case: bool,
    max_memory: u64,
    build_buffer: u64,
}

impl Default for KnownValuesOptions {
    fn default() -> Self {
        KnownValuesOptions {
            min_chars: 3,
            min_digits: 6,
            min_part_chars: 4,
            parts_any_case: false,
            max_memory: 4 << 30,
            build_buffer: 256 << 20,
        }
    }
}

impl KnownValuesOptions {
    /// The defaults: values of at least 3 characters, numbers of at least 6
    /// digits, parts of at least 4 characters that start with a capital, an
    /// index of at most 4 GiB built with a 256 MiB sort buffer.
    pub fn new() -> KnownValuesOptions {
        KnownValuesOptions::default()
    }

    /// The most memory the finished index may hold, in bytes (default
    /// 4 GiB). A build that needs more fails with an error naming the
    /// figure; it never keeps part of the values.
    pub fn max_memory(&mut self, bytes: u64) -> &mut Self {
        self.max_memory = bytes;
        self
    }

    /// How many bytes of keys are sorted in memory at once while the index
    /// is built (default 256 MiB). Each full buffer becomes one compressed
    /// run; the runs are merged at the end. A smaller buffer builds with
    /// less memory and a little more time; it never drops a value.
    pub fn build_buffer(&mut self, bytes: u64) -> &mut Self {
        self.build_buffer = bytes.max(1);
        self
    }

    /// The fewest characters a value must have to be found (default 3).
    pub fn min_chars(&mut self, n: usize) -> &mut Self {
        self.min_chars = n;
        self
    }

    /// The fewest digits a value made only of digits and separators must
    /// have to be found (default 6).
    pub fn min_digits(&mut self, n: usize) -> &mut Self {
        self.min_digits = n;
        self
    }

    /// The fewest characters a part (`match_parts`) must have (default 4).
    pub fn min_part_chars(&mut self, n: usize) -> &mut Self {
        self.min_part_chars = n;
        self
    }

    /// Whether parts are found in any case (default `false`: only where
    /// they start with a capital letter in the text).
    pub fn parts_any_case(&mut self, yes: bool) -> &mut Self {
        self.parts_any_case = yes;
        self
    }

    /// The limit on the index's memory, in bytes.
    pub fn get_max_memory(&self) -> u64 {
        self.max_memory
    }

    pub(crate) fn get_parts_any_case(&self) -> bool {
        self.parts_any_case
    }

    /// What the saved index depends on (everything but the limits, which do
    /// not change its content).
    pub(crate) fn identity(&self) -> String {
        format!(
            "min_chars={} min_digits={} min_part_chars={}",
            self.min_chars, self.min_digits, self.min_part_chars
        )
    }
}

/// What known-value detection loaded for one column.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KnownColumnReport {
    /// The table.
    pub table: String,
    /// The column.
    pub column: String,
    /// The column's action (`tokenize`, `mask` or `deny`).
    pub action: &'static str,
    /// Distinct non-null values read from the engine: all of them.
    pub values: usize,
    /// Values skipped as too short or as common numbers.
    pub skipped: usize,
    /// Values indexed by their digits and letters (mostly-digit values such
    /// as phone, card or customer numbers), out of `values`.
    pub digit_values: usize,
    /// Keys the column added to the index (values, national forms of
    /// phone numbers and parts; before merging keys shared with other
    /// columns).
    pub patterns: usize,
    /// The column's share of the index's memory (by key bytes; an
    /// estimate).
    pub memory_bytes: usize,
}

/// What a build or load of the known values holds, and what it costs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct KnownValuesReport {
    /// Per column, in policy order.
    pub columns: Vec<KnownColumnReport>,
    /// Keys in the index, after merging.
    pub patterns: usize,
    /// Memory of the two FSTs (text keys and digit keys).
    pub index_bytes: usize,
    /// Memory of the stored spellings the FSTs cannot give back (values
    /// whose stored spelling is neither the key, nor its title or upper
    /// case, nor a digit template).
    pub values_bytes: usize,
    /// How long reading and building (or loading) took.
    pub build_time: Duration,
    /// The saved index this one was read from, when it was.
    pub loaded_from: Option<PathBuf>,
    /// Where this index was saved, when it was.
    pub saved_to: Option<PathBuf>,
    /// Warnings: columns missing from the data, a saved index that was
    /// stale or corrupt and rebuilt, an index that could not be saved. They
    /// name columns and files, never values.
    pub warnings: Vec<String>,
}

impl KnownValuesReport {
    /// All memory known-value detection holds, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.index_bytes + self.values_bytes
    }
}

/// What a build of the known values is doing, for a progress line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KnownProgress {
    /// The step.
    pub phase: KnownPhase,
    /// The column being read (`table.column`), in [`KnownPhase::Reading`].
    pub column: Option<String>,
    /// Columns read so far.
    pub columns_done: usize,
    /// Columns to read.
    pub columns: usize,
    /// Values read so far, all columns.
    pub values: u64,
    /// Time since the build started.
    pub elapsed: Duration,
}

/// A step of building the known-value index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KnownPhase {
    /// Reading a saved index.
    Loading,
    /// Reading a column's values from the engine.
    Reading,
    /// Merging the sorted runs into the index.
    Indexing,
    /// Writing the index next to the data.
    Saving,
    /// Finished.
    Done,
}

impl KnownPhase {
    /// The step in words (`reading`, `indexing`, …).
    pub fn as_str(&self) -> &'static str {
        match self {
            KnownPhase::Loading => "loading the saved index",
            KnownPhase::Reading => "reading values",
            KnownPhase::Indexing => "indexing",
            KnownPhase::Saving => "saving the index",
            KnownPhase::Done => "done",
        }
    }
}

/// A protected column whose values are looked for.
#[derive(Debug, Clone)]
pub(crate) struct ColumnSpec {
    pub(crate) table: String,
    pub(crate) column: String,
    pub(crate) action: Action,
    pub(crate) match_parts: bool,
    /// `detect_values` as the rule file says it.
    pub(crate) explicit: Option<bool>,
}

impl ColumnSpec {
    /// What the saved index depends on for this column.
    pub(crate) fn identity(&self) -> String {
        let action = match &self.action {
            Action::Tokenize { class } => format!("tokenize:{}", class.as_str()),
            Action::Mask(kind) => format!("mask:{}", kind.as_tag()),
            other => other.as_tag().to_string(),
        };
        format!(
            "{}\u{1f}{}\u{1f}{action}\u{1f}{}",
            self.table, self.column, self.match_parts
        )
    }
}

/// The columns of a policy that may have their values found (the type check
/// comes when the engine's catalog is known).
pub(crate) fn column_specs(policy: &Policy) -> Vec<ColumnSpec> {
    let mut out = Vec::new();
    for t in policy.tables() {
        for c in &t.columns {
            // A text column with the default; the catalog decides later.
            if c.detects_values(true) || c.detects_values(false) {
                out.push(ColumnSpec {
                    table: t.name.clone(),
                    column: c.name.clone(),
                    action: c.action.clone(),
                    match_parts: c.match_parts,
                    explicit: c.detect_values,
                });
            }
        }
    }
    out
}

/// The specs whose values are loaded from an engine with this catalog, and
/// warnings for those the data lacks.
pub(crate) fn included(specs: &[ColumnSpec], catalog: &Catalog) -> (Vec<ColumnSpec>, Vec<String>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    for spec in specs {
        let ty = catalog
            .table(&spec.table)
            .and_then(|t| t.columns.iter().find(|c| c.name == spec.column))
            .map(|c| c.ty.clone());
        let Some(ty) = ty else {
            warnings.push(format!(
                "column `{}.{}` is not in the data; its values cannot be found in text",
                spec.table, spec.column
            ));
            continue;
        };
        if spec.explicit.unwrap_or(ty == ColumnType::Text) {
            out.push(spec.clone());
        }
    }
    (out, warnings)
}

/// What a hit of a column is replaced by.
#[derive(Debug, Clone)]
pub(crate) enum Replace {
    Token(TokenClass),
    Mask(Mask),
    Redact(String),
}

#[derive(Debug)]
pub(crate) struct KnownColumn {
    /// `known:<table>.<column>`.
    pub(crate) detector: String,
    /// The `class` of its hits: the token class, `mask:<kind>` or `redacted`.
    pub(crate) class: String,
    pub(crate) replace: Replace,
    /// Tie-break among hits of one length (see the module docs).
    pub(crate) specificity: u8,
}

impl KnownColumn {
    pub(crate) fn of(spec: &ColumnSpec) -> KnownColumn {
        let (replace, class, specificity) = match &spec.action {
            Action::Tokenize { class } => {
                (Replace::Token(class.clone()), class.as_str().to_string(), 6)
            }
            Action::Mask(kind) => (
                Replace::Mask(kind.clone()),
                format!("mask:{}", kind.as_tag()),
                0,
            ),
            _ => (
                Replace::Redact(format!("[redacted:{}]", spec.column)),
                "redacted".to_string(),
                7,
            ),
        };
        KnownColumn {
            detector: format!("known:{}.{}", spec.table, spec.column),
            class,
            replace,
            specificity,
        }
    }
}

// The value of a key in the FSTs: whose it is and how its stored spelling
// is given back.
//
//   bits  0..16  column
//   bit  16      a part (`match_parts`)
//   bit  17      a digit key holding letters (word boundaries apply)
//   bits 18..21  how the stored spelling is given back (`KIND_*`)
//   bits 21..24  priority among keys shared by columns
//   bits 24..64  payload: a template number or an offset in the spellings
const COLUMN_MASK: u64 = 0xFFFF;
const PART: u64 = 1 << 16;
const LETTERS: u64 = 1 << 17;
const KIND_SHIFT: u32 = 18;
const PRIO_SHIFT: u32 = 21;
const PAYLOAD_SHIFT: u32 = 24;
const MAX_PAYLOAD: u64 = (1 << (64 - PAYLOAD_SHIFT)) - 1;

/// The stored spelling is the key.
const KIND_EXACT: u64 = 0;
/// The key with the first letter of each word upper case.
const KIND_TITLE: u64 = 1;
/// The key in upper case.
const KIND_UPPER: u64 = 2;
/// A digit key poured into a template (see [`Templates`]).
const KIND_TEMPLATE: u64 = 3;
/// Kept as written, in the spellings.
const KIND_SPELLED: u64 = 4;
/// Not needed (a `deny` column's hits are redacted).
const KIND_NONE: u64 = 5;

fn column_of(v: u64) -> usize {
    (v & COLUMN_MASK) as usize
}

fn kind_of(v: u64) -> u64 {
    (v >> KIND_SHIFT) & 7
}

fn prio_of(v: u64) -> u64 {
    (v >> PRIO_SHIFT) & 7
}

fn payload_of(v: u64) -> u64 {
    v >> PAYLOAD_SHIFT
}

/// Template bytes: a placeholder takes the next key byte as it is, an upper
/// one upper-cased, a skip consumes a key byte (a national form's trunk
/// `0`); any other byte is itself.
const T_KEEP: u8 = 0;
const T_UPPER: u8 = 1;
const T_SKIP: u8 = 2;

/// At most this many distinct templates; values of other shapes keep their
/// spelling.
const MAX_TEMPLATES: usize = 1 << 16;

/// The stored spellings of digit keys share few shapes (`ddd-dd-dddd`,
/// `(ddd) ddd-dddd`, `CUST-dddddd`): each shape is kept once.
#[derive(Debug, Default, Clone)]
pub(crate) struct Templates {
    pub(crate) list: Vec<Box<[u8]>>,
    index: HashMap<Box<[u8]>, u32>,
}

impl Templates {
    pub(crate) fn from_list(list: Vec<Box<[u8]>>) -> Templates {
        Templates {
            list,
            index: HashMap::new(),
        }
    }

    fn intern(&mut self, t: &[u8]) -> Option<u32> {
        if let Some(&i) = self.index.get(t) {
            return Some(i);
        }
        if self.list.len() >= MAX_TEMPLATES {
            return None;
        }
        let i = u32::try_from(self.list.len()).ok()?;
        self.list.push(t.into());
        self.index.insert(t.into(), i);
        Some(i)
    }

    fn bytes(&self) -> usize {
        self.list.iter().map(|t| t.len() + 16).sum()
    }
}

fn fill(template: &[u8], key: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(template.len());
    let mut k = key.iter();
    for &t in template {
        match t {
            T_KEEP => out.push(*k.next()?),
            T_UPPER => out.push(k.next()?.to_ascii_uppercase()),
            T_SKIP => {
                k.next()?;
            }
            b => out.push(b),
        }
    }
    if k.next().is_some() {
        return None;
    }
    String::from_utf8(out).ok()
}

/// Whether `v` is `title(key)`, without building it.
fn is_title(key: &[u8], v: &[u8]) -> bool {
    if key.len() != v.len() {
        return false;
    }
    let mut start = true;
    for (&k, &b) in key.iter().zip(v) {
        let want = if start { k.to_ascii_uppercase() } else { k };
        if want != b {
            return false;
        }
        start = !k.is_ascii_alphanumeric();
    }
    true
}

fn title(key: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len());
    let mut start = true;
    for &b in key {
        out.push(if start { b.to_ascii_uppercase() } else { b });
        start = !b.is_ascii_alphanumeric();
    }
    out
}

/// The stored spellings the keys cannot give back, end to end, each as a
/// LEB128 length and its bytes.
fn push_spelled(spellings: &mut Vec<u8>, v: &str) -> u64 {
    let at = spellings.len() as u64;
    let mut n = v.len();
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            spellings.push(b);
            break;
        }
        spellings.push(b | 0x80);
    }
    spellings.extend_from_slice(v.as_bytes());
    at
}

fn spelled(spellings: &[u8], at: u64) -> Option<&str> {
    let mut i = usize::try_from(at).ok()?;
    let mut n: usize = 0;
    let mut shift = 0;
    loop {
        let b = *spellings.get(i)?;
        i += 1;
        n |= usize::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 35 {
            return None;
        }
    }
    std::str::from_utf8(spellings.get(i..i.checked_add(n)?)?).ok()
}

/// The stored spelling of a key.
fn stored(key: &[u8], v: u64, templates: &Templates, spellings: &[u8]) -> Option<String> {
    match kind_of(v) {
        KIND_EXACT => String::from_utf8(key.to_vec()).ok(),
        KIND_TITLE => String::from_utf8(title(key)).ok(),
        KIND_UPPER => String::from_utf8(key.to_ascii_uppercase()).ok(),
        KIND_TEMPLATE => {
            let t = templates.list.get(usize::try_from(payload_of(v)).ok()?)?;
            fill(t, key)
        }
        KIND_SPELLED => spelled(spellings, payload_of(v)).map(str::to_string),
        KIND_NONE => Some(String::new()),
        _ => None,
    }
}

/// The loaded values: two FSTs and what gives back stored spellings.
pub(crate) struct KnownValues {
    /// Text keys (names, streets, emails).
    pub(crate) text: Option<Map<Vec<u8>>>,
    /// Digit keys (SSNs, phones, cards, customer numbers).
    pub(crate) digits: Option<Map<Vec<u8>>>,
    pub(crate) templates: Templates,
    pub(crate) spellings: Vec<u8>,
    pub(crate) columns: Vec<KnownColumn>,
    pub(crate) parts_any_case: bool,
    /// The root transitions of the two FSTs by first byte, so that the many
    /// walks that end at once cost a table look-up.
    pub(crate) heads: [Head; 2],
    /// What the index was built from (see `known_file`); empty when the
    /// engine cannot tell.
    pub(crate) identity: Option<[u8; 32]>,
    pub(crate) report: KnownValuesReport,
}

impl std::fmt::Debug for KnownValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnownValues")
            .field("patterns", &self.report.patterns)
            .finish_non_exhaustive()
    }
}

/// An FST's root transitions by input byte: the node reached and the output
/// so far.
#[derive(Clone)]
pub(crate) struct Head(Box<[Option<(usize, u64)>; 256]>);

impl Default for Head {
    fn default() -> Head {
        Head(Box::new([None; 256]))
    }
}

impl Head {
    pub(crate) fn of(map: Option<&Map<Vec<u8>>>) -> Head {
        let mut h = Head::default();
        if let Some(m) = map {
            let root = m.as_fst().root();
            for t in root.transitions() {
                h.0[usize::from(t.inp)] = Some((t.addr, t.out.value()));
            }
        }
        h
    }
}

/// The most readings of one stretch of text a walk follows at once (see
/// `walk_text`): joined words are rare, and each reading ends at the first
/// byte no key continues with.
const MAX_BRANCHES: usize = 8;

/// Characters that may join the words of a value in place of a space
/// (`Liam_Johnson`, `liam.johnson`, `Liam-Johnson`).
fn is_joiner(c: char) -> bool {
    matches!(
        c,
        '_' | '.' | '-' | '\u{2010}'..='\u{2015}' | '\u{00B7}' | '\u{2027}'
    )
}

/// The branches that read a word break where the text joins two words,
/// after a branch at `k` with key `kb`: the key's space or hyphen (none
/// after one, or where white space waits: the text has a real space
/// there).
#[allow(clippy::type_complexity)]
fn forks<'f>(k: &Cursor<'f>, kb: &[u8], waiting: bool, out: &mut Vec<(Cursor<'f>, Vec<u8>, bool)>) {
    if waiting || kb.last().is_none_or(|&b| b == b' ' || b == b'-') {
        return;
    }
    for brk in [b' ', b'-'] {
        let mut k = *k;
        if k.step(brk) {
            let mut kb = kb.to_vec();
            kb.push(brk);
            out.push((k, kb, false));
        }
    }
}

/// Steps a word break the text writes as white space: the key's space, or
/// its hyphen (`Mary Jane` for `Mary-Jane`).
fn step_break(k: &mut Cursor<'_>, kb: &mut Vec<u8>) -> bool {
    for brk in [b' ', b'-'] {
        let mut t = *k;
        if t.step(brk) {
            *k = t;
            kb.push(brk);
            return true;
        }
    }
    false
}

/// A walk through an FST.
#[derive(Clone, Copy)]
struct Cursor<'f> {
    fst: &'f Fst<Vec<u8>>,
    node: fst::raw::Node<'f>,
    acc: Output,
}

impl<'f> Cursor<'f> {
    /// The walk after its first byte, or `None` when no key starts with it.
    fn start(fst: &'f Fst<Vec<u8>>, head: &Head, b: u8) -> Option<Cursor<'f>> {
        let (addr, out) = head.0[usize::from(b)]?;
        Some(Cursor {
            fst,
            node: fst.node(addr),
            acc: Output::new(out),
        })
    }

    fn step(&mut self, b: u8) -> bool {
        match self.node.find_input(b) {
            Some(i) => {
                let t = self.node.transition(i);
                self.acc = self.acc.cat(t.out);
                self.node = self.fst.node(t.addr);
                true
            }
            None => false,
        }
    }

    fn value(&self) -> Option<u64> {
        self.node
            .is_final()
            .then(|| self.acc.cat(self.node.final_output()).value())
    }
}

/// A known-value hit: the range, the column and the value as stored.
pub(crate) struct KnownHit {
    pub(crate) range: std::ops::Range<usize>,
    pub(crate) column: usize,
    pub(crate) value: String,
    pub(crate) specificity: u8,
}

impl KnownValues {
    /// Reads the values of `specs` (already checked against the catalog)
    /// from the engine and builds the index.
    pub(crate) fn build(
        specs: &[ColumnSpec],
        engine: &dyn Engine,
        opts: &KnownValuesOptions,
        progress: &mut dyn FnMut(&KnownProgress),
    ) -> Result<KnownValues, Error> {
        let start = Instant::now();
        let mut b = Builder::new(opts);
        let mut read: u64 = 0;
        for (i, spec) in specs.iter().enumerate() {
            let name = format!("{}.{}", spec.table, spec.column);
            progress(&KnownProgress {
                phase: KnownPhase::Reading,
                column: Some(name.clone()),
                columns_done: i,
                columns: specs.len(),
                values: read,
                elapsed: start.elapsed(),
            });
            b.start_column(spec)?;
            let mut last = Instant::now();
            engine.distinct_values(&spec.table, &spec.column, None, &mut |v| {
                read += 1;
                if read.is_multiple_of(65_536) && last.elapsed() >= Duration::from_millis(500) {
                    last = Instant::now();
                    progress(&KnownProgress {
                        phase: KnownPhase::Reading,
                        column: Some(name.clone()),
                        columns_done: i,
                        columns: specs.len(),
                        values: read,
                        elapsed: start.elapsed(),
                    });
                }
                b.value(v)
            })?;
        }
        progress(&KnownProgress {
            phase: KnownPhase::Indexing,
            column: None,
            columns_done: specs.len(),
            columns: specs.len(),
            values: read,
            elapsed: start.elapsed(),
        });
        let mut kv = b.finish()?;
        kv.report.build_time = start.elapsed();
        Ok(kv)
    }

    /// Builds from values in memory (for tests): one list per spec.
    #[cfg(test)]
    pub(crate) fn from_values(
        specs: &[ColumnSpec],
        values: &[&[&str]],
        opts: &KnownValuesOptions,
    ) -> Result<KnownValues, Error> {
        let mut b = Builder::new(opts);
        for (spec, vs) in specs.iter().zip(values) {
            b.start_column(spec)?;
            for v in vs.iter() {
                b.value(v)?;
            }
        }
        b.finish()
    }

    /// The column of a hit.
    pub(crate) fn column(&self, i: usize) -> Option<&KnownColumn> {
        self.columns.get(i)
    }

    /// Every hit on word boundaries, overlapping ones included.
    pub(crate) fn find(&self, text: &str, out: &mut Vec<KnownHit>) {
        if self.text.is_none() && self.digits.is_none() {
            return;
        }
        let mut key = Vec::with_capacity(64);
        let mut one = Vec::with_capacity(8);
        let mut prev_word = false;
        let mut prev_digit = false;
        for (p, c) in text.char_indices() {
            let (word, digit, space, skip) = if c.is_ascii() {
                (
                    c.is_ascii_alphanumeric() || c == '_',
                    c.is_ascii_digit(),
                    is_ascii_space(c as u8),
                    false,
                )
            } else {
                (is_word(Some(c)), c.is_numeric(), is_space(c), dropped(c))
            };
            let starts_word = word && !prev_word;
            if let Some(m) = &self.text {
                if !space && !skip && (starts_word || !word) {
                    self.walk_text(m.as_fst(), text, p, &mut key, &mut one, out);
                }
            }
            if let Some(m) = &self.digits {
                // A digit key starts a word, or is a number glued to letters
                // before it (`SSN789281752`).
                if starts_word || (digit && !prev_digit && prev_word) {
                    self.walk_digits(m.as_fst(), text, p, starts_word, &mut key, out);
                }
            }
            // An accent belongs to the letter before it; an invisible
            // character is a boundary, as it is for the reader who does not
            // see it.
            if c.is_ascii() || !diacritic(c) {
                prev_word = word;
                prev_digit = digit;
            }
        }
    }

    /// Follows the text FST from `p` over the normalised text.
    ///
    /// A value's words may also be joined in the text: where a key has a
    /// space, the text may have `_`, `.`, `-` (or another dash), or nothing
    /// at all (`Liam_Johnson`, `liam.johnson`, `LiamJohnson`,
    /// `liamjohnson` are all `Liam Johnson`). The walk follows each reading
    /// as a branch of its own (at most [`MAX_BRANCHES`]); a branch ends
    /// where the FST has no key with its prefix, so a joined reading costs
    /// a look-up only where some value has a space after the letters read.
    fn walk_text(
        &self,
        fst: &Fst<Vec<u8>>,
        text: &str,
        p: usize,
        key: &mut Vec<u8>,
        one: &mut Vec<u8>,
        out: &mut Vec<KnownHit>,
    ) {
        let Some(rest) = text.get(p..) else { return };
        // The first branch reads the text as written; `key` is its key.
        let mut cur: Option<Cursor<'_>> = None;
        key.clear();
        let mut pending = false;
        // Other branches: a cursor, its key, and whether white space waits.
        let mut joined: Vec<(Cursor<'_>, Vec<u8>, bool)> = Vec::new();
        let mut main_alive = true;
        for (i, c) in rest.char_indices() {
            one.clear();
            if c.is_ascii() {
                if is_ascii_space(c as u8) {
                    pending = !key.is_empty();
                    for b in joined.iter_mut() {
                        b.2 = b.1.last().is_some_and(|&b| b != b' ' && b != b'-');
                    }
                    continue;
                }
                one.push(c.to_ascii_lowercase() as u8);
            } else {
                if is_space(c) {
                    pending = !key.is_empty();
                    for b in joined.iter_mut() {
                        b.2 = b.1.last().is_some_and(|&b| b != b' ' && b != b'-');
                    }
                    continue;
                }
                push_text_char(c, one);
                if one.is_empty() {
                    continue;
                }
            }
            let end = p + i + c.len_utf8();
            // New joined readings, from every branch alive before `c`: a
            // joiner read as the space, or a space read before a letter.
            let mut new: Vec<(Cursor<'_>, Vec<u8>, bool)> = Vec::new();
            if c.is_alphabetic() || is_joiner(c) {
                if let (true, Some(k)) = (main_alive, cur.as_ref()) {
                    forks(k, key, pending, &mut new);
                }
                for b in &joined {
                    if new.len() + joined.len() >= MAX_BRANCHES {
                        break;
                    }
                    forks(&b.0, &b.1, b.2, &mut new);
                }
            }
            // A joiner read as the space consumes it: the fork is complete.
            let (mut spaced, mut to_step): (Vec<_>, Vec<_>) = if is_joiner(c) {
                (new, Vec::new())
            } else {
                (Vec::new(), new)
            };
            // The branch as written.
            if main_alive {
                if pending {
                    pending = false;
                    if !cur.as_mut().is_some_and(|k| step_break(k, key)) {
                        main_alive = false;
                    }
                }
                if main_alive {
                    for &b in one.iter() {
                        let ok = match cur.as_mut() {
                            Some(k) => k.step(b),
                            None => match Cursor::start(fst, &self.heads[0], b) {
                                Some(k) => {
                                    cur = Some(k);
                                    true
                                }
                                None => false,
                            },
                        };
                        if !ok {
                            main_alive = false;
                            break;
                        }
                        key.push(b);
                    }
                }
                if main_alive {
                    if let Some(v) = cur.as_ref().and_then(Cursor::value) {
                        self.hit(text, p, end, c, v, key, false, out);
                    }
                }
            }
            // The other branches, and the new ones that read `c`.
            to_step.append(&mut joined);
            for (mut k, mut kb, waiting) in to_step {
                // A second joiner after a joiner read as a break
                // (`liam__johnson`) is part of that break.
                if is_joiner(c) && !waiting && kb.last().is_some_and(|&b| b == b' ' || b == b'-') {
                    joined.push((k, kb, false));
                    continue;
                }
                if waiting && !step_break(&mut k, &mut kb) {
                    continue;
                }
                if one.iter().all(|&b| k.step(b)) {
                    kb.extend_from_slice(one);
                    if let Some(v) = k.value() {
                        self.hit(text, p, end, c, v, &kb, false, out);
                    }
                    joined.push((k, kb, false));
                }
            }
            joined.append(&mut spaced);
            // Two readings at one key are one (a hyphen read as itself and
            // as the value's hyphen).
            let mut i = 0;
            while i < joined.len() {
                let dup = (main_alive && joined[i].1 == *key)
                    || joined[..i].iter().any(|b| b.1 == joined[i].1);
                if dup {
                    joined.swap_remove(i);
                } else {
                    i += 1;
                }
            }
            if !main_alive && joined.is_empty() {
                return;
            }
        }
    }

    /// Follows the digit FST from `p` over the letters and digits of the
    /// text, across short runs of separators.
    fn walk_digits(
        &self,
        fst: &Fst<Vec<u8>>,
        text: &str,
        p: usize,
        at_word: bool,
        key: &mut Vec<u8>,
        out: &mut Vec<KnownHit>,
    ) {
        let Some(rest) = text.get(p..) else { return };
        let mut cur: Option<Cursor<'_>> = None;
        key.clear();
        for (i, c) in rest.char_indices() {
            let Some(b) = digit_byte(c) else {
                if dropped(c) {
                    continue;
                }
                // A group separator of thousands (`1'234'567`) too.
                if (digit_gap(c) || matches!(c, '\'' | '\u{2019}')) && !key.is_empty() {
                    continue;
                }
                return;
            };
            let ok = match cur.as_mut() {
                Some(k) => k.step(b),
                None => match Cursor::start(fst, &self.heads[1], b) {
                    Some(k) => {
                        cur = Some(k);
                        true
                    }
                    None => false,
                },
            };
            if !ok {
                return;
            }
            key.push(b);
            if let Some(v) = cur.as_ref().and_then(Cursor::value) {
                // A key with letters needs word boundaries; a number needs
                // only to start and end where the digits do.
                if v & LETTERS != 0 && !at_word {
                    continue;
                }
                let end = p + i + c.len_utf8();
                self.hit(text, p, end, c, v, key, v & LETTERS == 0, out);
            }
        }
    }

    /// Checks a whole-key match (end boundary, capitals for parts) and
    /// records it.
    #[allow(clippy::too_many_arguments)]
    fn hit(
        &self,
        text: &str,
        start: usize,
        end: usize,
        last: char,
        v: u64,
        key: &[u8],
        number: bool,
        out: &mut Vec<KnownHit>,
    ) {
        // Accents right after the hit belong to it.
        let mut end = end;
        let mut next = None;
        if let Some(after) = text.get(end..) {
            for c in after.chars() {
                if diacritic(c) {
                    end += c.len_utf8();
                } else {
                    next = Some(c);
                    break;
                }
            }
        }
        if number {
            if next.is_some_and(char::is_numeric) {
                return;
            }
        } else if is_word(Some(last)) && is_word(next) {
            return;
        }
        let Some(hit) = text.get(start..end) else {
            return;
        };
        if v & PART != 0
            && !self.parts_any_case
            && !hit
                .chars()
                .find(|c| !ignorable(*c))
                .is_some_and(char::is_uppercase)
        {
            return;
        }
        let column = column_of(v);
        let Some(col) = self.columns.get(column) else {
            return;
        };
        let value = match col.replace {
            Replace::Redact(_) => String::new(),
            _ => match stored(key, v, &self.templates, &self.spellings) {
                Some(s) => s,
                None => return,
            },
        };
        out.push(KnownHit {
            range: start..end,
            column,
            value,
            specificity: col.specificity,
        });
    }
}

/// Whether a (trimmed) value is worth finding.
fn identifying(v: &str, opts: &KnownValuesOptions) -> bool {
    let mut chars = 0;
    let mut digits = 0;
    let mut alnum = false;
    let mut numeric = true;
    for c in v.chars() {
        chars += 1;
        if c.is_ascii_digit() {
            digits += 1;
        } else if !matches!(c, ' ' | '.' | ',' | '-' | '/' | ':' | '+' | '(' | ')') {
            numeric = false;
        }
        alnum |= c.is_alphanumeric();
    }
    chars >= opts.min_chars && alnum && (!numeric || digits >= opts.min_digits)
}

/// Priority among entries for the same key: strictest action, then a
/// whole value over a part.
fn priority(action: &Action, part: bool) -> u64 {
    let a = match action {
        Action::Deny => 3,
        Action::Tokenize { .. } => 2,
        _ => 1,
    };
    a * 2 + u64::from(!part) - 2
}

/// A value's digit key, when it is mostly digits: its letters and digits
/// (lowercased), with a template that gives back its spelling, and the
/// national forms of an international phone number (`+1 512 555 0151` is
/// also `512 555 0151` and `0512 555 0151`) or of a number with a trunk
/// `0` (`020 7946 0958` is also `20 7946 0958`).
struct DigitForm {
    key: Vec<u8>,
    template: Vec<u8>,
    letters: bool,
    /// Other keys with their templates.
    alternates: Vec<(Vec<u8>, Vec<u8>)>,
}

fn digit_form(v: &str, opts: &KnownValuesOptions) -> Option<DigitForm> {
    let t = v.trim();
    let (mut digits, mut letters) = (0usize, 0usize);
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits += 1;
        } else if c.is_ascii_alphabetic() {
            letters += 1;
        } else if !(c.is_ascii() && digit_gap(c)) {
            return None;
        }
    }
    // Short codes (`A-1`) keep their spelling: as digit keys they would be
    // found in too many places.
    if digits == 0 || letters > digits || digits + letters < opts.min_digits {
        return None;
    }
    let lead = &v[..v.len() - v.trim_start().len()];
    let trail = &v[v.trim_end().len()..];
    let mut key = Vec::with_capacity(t.len());
    let mut template = Vec::with_capacity(v.len());
    template.extend_from_slice(lead.as_bytes());
    for b in t.bytes() {
        if b.is_ascii_alphanumeric() {
            key.push(b.to_ascii_lowercase());
            template.push(if b.is_ascii_uppercase() {
                T_UPPER
            } else {
                T_KEEP
            });
        } else {
            template.push(b);
        }
    }
    template.extend_from_slice(trail.as_bytes());
    let mut alternates = Vec::new();
    if letters == 0 {
        // `+CC rest` or `00CC rest`, the country code 1 to 3 digits followed
        // by a separator.
        let body = t
            .strip_prefix('+')
            .or_else(|| t.strip_prefix("00"))
            .map(str::trim_start);
        if let Some(body) = body {
            let cc = body.bytes().take_while(u8::is_ascii_digit).count();
            let rest_digits = digits
                .saturating_sub(cc)
                .saturating_sub(if t.starts_with("00") { 2 } else { 0 });
            if (1..=3).contains(&cc)
                && body.as_bytes().get(cc).is_some_and(|b| !b.is_ascii_digit())
                && rest_digits >= opts.min_digits
            {
                let skip = key.len() - rest_digits;
                let national: Vec<u8> = key[skip..].to_vec();
                // The template with the country code's digits written out.
                let mut tpl = Vec::with_capacity(template.len());
                let mut seen = 0;
                for (&tb, ob) in template.iter().zip(v.bytes()) {
                    if tb == T_KEEP && seen < skip {
                        tpl.push(ob);
                        seen += 1;
                    } else {
                        tpl.push(tb);
                    }
                }
                let mut trunk = vec![b'0'];
                trunk.extend_from_slice(&national);
                let mut trunk_tpl = vec![T_SKIP];
                trunk_tpl.extend_from_slice(&tpl);
                alternates.push((national, tpl));
                alternates.push((trunk, trunk_tpl));
            }
        } else if key.first() == Some(&b'0')
            && digits > opts.min_digits
            && key.get(1) != Some(&b'0')
        {
            // A trunk `0`: the number without it, the `0` written out.
            let national = key[1..].to_vec();
            let mut tpl = Vec::with_capacity(template.len());
            let mut done = false;
            for &tb in &template {
                if tb == T_KEEP && !done {
                    tpl.push(b'0');
                    done = true;
                } else {
                    tpl.push(tb);
                }
            }
            alternates.push((national, tpl));
        }
    }
    Some(DigitForm {
        key,
        template,
        letters: letters > 0,
        alternates,
    })
}

/// Keys waiting to be sorted into a run.
#[derive(Default)]
struct Buffer {
    bytes: Vec<u8>,
    /// (the key's first 8 bytes big-endian, offset, length, value): most
    /// comparisons of a sort end at the first number, in cache.
    items: Vec<(u64, usize, u32, u64)>,
}

impl Buffer {
    fn memory(&self) -> u64 {
        (self.bytes.capacity() + self.items.capacity() * 32) as u64
    }
}

/// A key's first 8 bytes as a number that sorts as the key does (keys hold
/// no zero byte: control characters are white space).
fn prefix8(key: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = key.len().min(8);
    b[..n].copy_from_slice(&key[..n]);
    u64::from_be_bytes(b)
}

/// One of the two FSTs being built: the current buffer, the run being
/// sorted on another thread, and finished runs.
#[derive(Default)]
struct Side {
    buffer: Buffer,
    sorting: Option<std::thread::JoinHandle<Result<Run, Error>>>,
    runs: Vec<Run>,
}

impl Side {
    /// Waits for the run being sorted, if any.
    fn join(&mut self) -> Result<(), Error> {
        if let Some(h) = self.sorting.take() {
            let run = h
                .join()
                .map_err(|_| Error::usage("a thread building the known-value index failed"))??;
            self.runs.push(run);
        }
        Ok(())
    }

    fn runs_bytes(&self) -> usize {
        self.runs.iter().map(|r| r.bytes.len()).sum()
    }
}

/// A sorted run of keys, one value per key, front-coded: each entry is the
/// length of the prefix it shares with the key before it, the length of the
/// rest and the rest (LEB128 numbers), then its value (8 bytes). Sorted
/// keys share long prefixes, so a run takes about the key bytes the keys
/// do not share; the runs are merged into the index's one FST at the end,
/// so every key is compiled into an FST once.
#[derive(Default)]
struct Run {
    bytes: Vec<u8>,
}

impl Run {
    fn push(&mut self, prev: &[u8], key: &[u8], value: u64) {
        let shared = prev.iter().zip(key).take_while(|(a, b)| a == b).count();
        let rest = key.get(shared..).unwrap_or_default();
        leb128(&mut self.bytes, shared as u64);
        leb128(&mut self.bytes, rest.len() as u64);
        self.bytes.extend_from_slice(rest);
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }
}

fn leb128(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Reads a run's entries in order.
struct RunReader<'r> {
    bytes: &'r [u8],
    at: usize,
    key: Vec<u8>,
    value: u64,
}

impl<'r> RunReader<'r> {
    fn new(run: &'r Run) -> RunReader<'r> {
        RunReader {
            bytes: &run.bytes,
            at: 0,
            key: Vec::with_capacity(64),
            value: 0,
        }
    }

    fn number(&mut self) -> Option<u64> {
        let mut v: u64 = 0;
        let mut shift = 0;
        loop {
            let b = *self.bytes.get(self.at)?;
            self.at += 1;
            v |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
            shift += 7;
        }
    }

    /// Moves to the next entry: false at the end. A run is written by this
    /// module; one that does not decode is an error, never a shorter index.
    fn next(&mut self) -> Result<bool, Error> {
        if self.at >= self.bytes.len() {
            return Ok(false);
        }
        let broken = || Error::usage("a sorted run of the known-value index does not decode");
        let shared = usize::try_from(self.number().ok_or_else(broken)?).map_err(|_| broken())?;
        let len = usize::try_from(self.number().ok_or_else(broken)?).map_err(|_| broken())?;
        let rest = self
            .bytes
            .get(self.at..self.at.saturating_add(len))
            .ok_or_else(broken)?;
        if shared > self.key.len() {
            return Err(broken());
        }
        self.key.truncate(shared);
        self.key.extend_from_slice(rest);
        self.at += len;
        let v = self
            .bytes
            .get(self.at..self.at + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .ok_or_else(broken)?;
        self.value = u64::from_le_bytes(v);
        self.at += 8;
        Ok(true)
    }
}

/// The stored spellings and digit templates, shared with the threads that
/// sort runs (which read them only to break a tie between two columns'
/// values of one key).
#[derive(Default)]
struct Store {
    templates: Templates,
    spellings: Vec<u8>,
}

fn poisoned() -> Error {
    Error::usage("a thread building the known-value index failed")
}

/// Of two values for one key: the higher priority, then the smaller stored
/// spelling, then the smaller value (so that neither the load order nor the
/// runs decide: one spelling stored twice is two values).
fn better(store: &RwLock<Store>, key: &[u8], a: u64, b: u64) -> Result<u64, Error> {
    Ok(match prio_of(a).cmp(&prio_of(b)) {
        std::cmp::Ordering::Greater => a,
        std::cmp::Ordering::Less => b,
        std::cmp::Ordering::Equal => {
            let st = store.read().map_err(|_| poisoned())?;
            let sa = stored(key, a, &st.templates, &st.spellings);
            let sb = stored(key, b, &st.templates, &st.spellings);
            match sb.cmp(&sa) {
                std::cmp::Ordering::Less => b,
                std::cmp::Ordering::Greater => a,
                std::cmp::Ordering::Equal => a.min(b),
            }
        }
    })
}

/// Sorts a buffer into a run, one value per key.
fn sort_run(mut buffer: Buffer, store: &RwLock<Store>) -> Result<Run, Error> {
    let bytes = &buffer.bytes;
    let key_of = |&(_, o, l, _): &(u64, usize, u32, u64)| -> &[u8] {
        bytes.get(o..o + l as usize).unwrap_or(&[])
    };
    buffer
        .items
        .sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| key_of(a).cmp(key_of(b))));
    let mut run = Run {
        bytes: Vec::with_capacity(bytes.len() + buffer.items.len() * 10),
    };
    let mut prev: &[u8] = &[];
    let mut i = 0;
    let items = &buffer.items;
    while let Some(first) = items.get(i) {
        let k = key_of(first);
        let mut best = first.3;
        let mut j = i + 1;
        while let Some(next) = items.get(j).filter(|n| key_of(n) == k) {
            best = better(store, k, best, next.3)?;
            j += 1;
        }
        run.push(prev, k, best);
        prev = k;
        i = j;
    }
    run.bytes.shrink_to_fit();
    Ok(run)
}

/// Merges sorted runs into one FST: the smallest key of all runs at each
/// step, one value per key (the better of the runs' values).
fn merge_runs(
    runs: Vec<Run>,
    store: &RwLock<Store>,
    limit: u64,
) -> Result<Option<Map<Vec<u8>>>, Error> {
    if runs.is_empty() {
        return Ok(None);
    }
    let mut readers: Vec<RunReader<'_>> = Vec::with_capacity(runs.len());
    for r in &runs {
        let mut rd = RunReader::new(r);
        if rd.next()? {
            readers.push(rd);
        }
    }
    let mut mb = MapBuilder::memory();
    let mut key: Vec<u8> = Vec::with_capacity(64);
    while !readers.is_empty() {
        // The runs are few (the values over the sort buffer): a scan for
        // the smallest key costs less than keeping a heap of them.
        let mut min = 0;
        for (i, r) in readers.iter().enumerate().skip(1) {
            if readers.get(min).is_some_and(|m| r.key < m.key) {
                min = i;
            }
        }
        key.clear();
        let Some(m) = readers.get(min) else { break };
        key.extend_from_slice(&m.key);
        let mut best: Option<u64> = None;
        let mut i = 0;
        while let Some(r) = readers.get_mut(i) {
            if r.key == key {
                best = Some(match best {
                    None => r.value,
                    Some(b) => better(store, &key, b, r.value)?,
                });
                if !r.next()? {
                    readers.swap_remove(i);
                    continue;
                }
            }
            i += 1;
        }
        if let Some(b) = best {
            mb.insert(&key, b).map_err(fst_error)?;
        }
        if mb.bytes_written() > limit {
            return Err(too_big(mb.bytes_written(), limit));
        }
    }
    drop(runs);
    Ok(Some(mb.into_map()))
}

/// Builds the index from values: each full sort buffer is sorted into a
/// run on another thread while the next one fills, and the runs of the two
/// FSTs are merged side by side at the end.
struct Builder<'o> {
    opts: &'o KnownValuesOptions,
    text: Side,
    digits: Side,
    store: Arc<RwLock<Store>>,
    columns: Vec<KnownColumn>,
    reports: Vec<KnownColumnReport>,
    /// Key bytes per column, for the memory estimate.
    key_bytes: Vec<u64>,
    /// The column being read, its action and whether parts are indexed.
    current: Option<(usize, Action, bool)>,
    scratch: Vec<u8>,
}

fn too_big(what: u64, limit: u64) -> Error {
    Error::usage(format!(
        "the known values need more than {} MiB ({} MiB so far), above the memory limit; raise KnownValuesOptions::max_memory or set detect_values = false on the largest columns",
        limit >> 20,
        what >> 20
    ))
}

impl<'o> Builder<'o> {
    fn new(opts: &'o KnownValuesOptions) -> Builder<'o> {
        Builder {
            opts,
            text: Side::default(),
            digits: Side::default(),
            store: Arc::new(RwLock::new(Store::default())),
            columns: Vec::new(),
            reports: Vec::new(),
            key_bytes: Vec::new(),
            current: None,
            scratch: Vec::new(),
        }
    }

    fn start_column(&mut self, spec: &ColumnSpec) -> Result<(), Error> {
        let col = self.columns.len();
        if col as u64 > COLUMN_MASK {
            return Err(Error::usage(
                "known-value detection takes at most 65,536 columns",
            ));
        }
        self.columns.push(KnownColumn::of(spec));
        self.key_bytes.push(0);
        self.reports.push(KnownColumnReport {
            table: spec.table.clone(),
            column: spec.column.clone(),
            action: spec.action.as_tag(),
            values: 0,
            skipped: 0,
            digit_values: 0,
            patterns: 0,
            memory_bytes: 0,
        });
        let parts = spec.match_parts && matches!(spec.action, Action::Tokenize { .. });
        self.current = Some((col, spec.action.clone(), parts));
        Ok(())
    }

    /// The memory held so far: runs, spellings, templates, buffers (the
    /// one being sorted counts as one buffer).
    fn memory(&self) -> Result<u64, Error> {
        let st = self.store.read().map_err(|_| poisoned())?;
        let sorting =
            u64::from(self.text.sorting.is_some()) + u64::from(self.digits.sorting.is_some());
        Ok((self.text.runs_bytes() + self.digits.runs_bytes()) as u64
            + (st.spellings.capacity() + st.templates.bytes()) as u64
            + self.text.buffer.memory()
            + self.digits.buffer.memory()
            + sorting * self.opts.build_buffer)
    }

    /// Adds one value of the current column.
    fn value(&mut self, v: &str) -> Result<(), Error> {
        let Some((col, action, parts)) = self.current.clone() else {
            return Err(Error::usage("a known value came before its column"));
        };
        let Some(report) = self.reports.get_mut(col) else {
            return Ok(());
        };
        report.values += 1;
        let t = v.trim();
        if !identifying(t, self.opts) {
            report.skipped += 1;
            return Ok(());
        }
        let deny = matches!(action, Action::Deny);
        let prio = priority(&action, false);
        let base = col as u64 | (prio << PRIO_SHIFT);
        if let Some(d) = digit_form(v, self.opts) {
            report.digit_values += 1;
            let letters = if d.letters { LETTERS } else { 0 };
            let mut keys = vec![(d.key, d.template)];
            keys.extend(d.alternates);
            for (key, template) in keys {
                let how = if deny {
                    KIND_NONE << KIND_SHIFT
                } else {
                    let interned = self
                        .store
                        .write()
                        .map_err(|_| poisoned())?
                        .templates
                        .intern(&template);
                    match interned {
                        Some(i) => (KIND_TEMPLATE << KIND_SHIFT) | (u64::from(i) << PAYLOAD_SHIFT),
                        None => self.spell(v)?,
                    }
                };
                self.push(true, col, &key, base | letters | how)?;
            }
            return Ok(());
        }
        let mut key = std::mem::take(&mut self.scratch);
        text_key(t, &mut key);
        if !key.is_empty() {
            let how = if deny {
                KIND_NONE << KIND_SHIFT
            } else {
                self.how(&key, v)?
            };
            self.push(false, col, &key, base | how)?;
        }
        if parts {
            let pprio = priority(&action, true);
            for p in t.split(|c: char| c.is_whitespace() || c == '-') {
                let p = p.trim_matches(|c: char| !c.is_alphanumeric());
                if p.len() == t.len()
                    || p.chars().count() < self.opts.min_part_chars
                    || !identifying(p, self.opts)
                {
                    continue;
                }
                text_key(p, &mut key);
                if key.is_empty() {
                    continue;
                }
                let how = self.how(&key, p)?;
                let value = col as u64 | (pprio << PRIO_SHIFT) | PART | how;
                self.push(false, col, &key, value)?;
            }
        }
        self.scratch = key;
        Ok(())
    }

    /// How a text key gives back its stored spelling `v`.
    fn how(&mut self, key: &[u8], v: &str) -> Result<u64, Error> {
        let vb = v.as_bytes();
        Ok(if vb == key {
            KIND_EXACT << KIND_SHIFT
        } else if key.is_ascii() && is_title(key, vb) {
            KIND_TITLE << KIND_SHIFT
        } else if key.is_ascii() && key.to_ascii_uppercase() == vb {
            KIND_UPPER << KIND_SHIFT
        } else {
            self.spell(v)?
        })
    }

    fn spell(&mut self, v: &str) -> Result<u64, Error> {
        let at = push_spelled(
            &mut self.store.write().map_err(|_| poisoned())?.spellings,
            v,
        );
        if at > MAX_PAYLOAD {
            return Err(too_big(at, self.opts.max_memory));
        }
        Ok((KIND_SPELLED << KIND_SHIFT) | (at << PAYLOAD_SHIFT))
    }

    fn push(&mut self, digits: bool, col: usize, key: &[u8], value: u64) -> Result<(), Error> {
        let Ok(len) = u32::try_from(key.len()) else {
            return Ok(());
        };
        if let Some(r) = self.reports.get_mut(col) {
            r.patterns += 1;
        }
        if let Some(k) = self.key_bytes.get_mut(col) {
            *k += key.len() as u64;
        }
        let side = if digits {
            &mut self.digits
        } else {
            &mut self.text
        };
        side.buffer
            .items
            .push((prefix8(key), side.buffer.bytes.len(), len, value));
        side.buffer.bytes.extend_from_slice(key);
        if side.buffer.memory() >= self.opts.build_buffer {
            self.flush(digits)?;
        }
        Ok(())
    }

    /// Hands the buffer to a thread that sorts it into a run, after the
    /// previous run of the same side is done.
    fn flush(&mut self, digits: bool) -> Result<(), Error> {
        let side = if digits {
            &mut self.digits
        } else {
            &mut self.text
        };
        side.join()?;
        let buffer = std::mem::take(&mut side.buffer);
        if buffer.items.is_empty() {
            return Ok(());
        }
        let store = Arc::clone(&self.store);
        side.sorting = Some(
            std::thread::Builder::new()
                .name("sqlveil-known-run".into())
                .spawn(move || sort_run(buffer, &store))
                .map_err(|e| {
                    Error::usage(format!(
                        "cannot start a thread to build the known-value index: {e}"
                    ))
                })?,
        );
        let used = self.memory()?;
        if used > self.opts.max_memory {
            return Err(too_big(used, self.opts.max_memory));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<KnownValues, Error> {
        self.flush(false)?;
        self.flush(true)?;
        self.text.join()?;
        self.digits.join()?;
        let limit = self.opts.max_memory;
        let (text_runs, digit_runs) = (
            std::mem::take(&mut self.text.runs),
            std::mem::take(&mut self.digits.runs),
        );
        let store = &self.store;
        let (text, digits) = std::thread::scope(|s| {
            let t = s.spawn(move || merge_runs(text_runs, store, limit));
            let d = merge_runs(digit_runs, store, limit);
            let t = t.join().map_err(|_| poisoned()).and_then(|r| r);
            (t, d)
        });
        let (text, digits) = (text?, digits?);
        let index_bytes = text.as_ref().map_or(0, |m| m.as_fst().as_bytes().len())
            + digits.as_ref().map_or(0, |m| m.as_fst().as_bytes().len());
        let Store {
            templates,
            mut spellings,
        } = std::mem::take(&mut *self.store.write().map_err(|_| poisoned())?);
        spellings.shrink_to_fit();
        let values_bytes = spellings.len() + templates.bytes();
        if (index_bytes + values_bytes) as u64 > self.opts.max_memory {
            return Err(too_big(
                (index_bytes + values_bytes) as u64,
                self.opts.max_memory,
            ));
        }
        let patterns = text.as_ref().map_or(0, Map::len) + digits.as_ref().map_or(0, Map::len);
        let total_keys: u64 = self.key_bytes.iter().sum::<u64>().max(1);
        for (r, k) in self.reports.iter_mut().zip(&self.key_bytes) {
            r.memory_bytes = ((index_bytes + values_bytes) as u128 * u128::from(*k)
                / u128::from(total_keys)) as usize;
        }
        Ok(KnownValues {
            heads: [Head::of(text.as_ref()), Head::of(digits.as_ref())],
            text,
            digits,
            templates: Templates::from_list(templates.list),
            spellings,
            columns: self.columns,
            parts_any_case: self.opts.parts_any_case,
            identity: None,
            report: KnownValuesReport {
                columns: self.reports,
                patterns,
                index_bytes,
                values_bytes,
                build_time: Duration::ZERO,
                loaded_from: None,
                saved_to: None,
                warnings: Vec::new(),
            },
        })
    }
}

fn fst_error(e: fst::Error) -> Error {
    Error::usage(format!("the known-value index cannot be built: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(action: Action, parts: bool) -> ColumnSpec {
        ColumnSpec {
            table: "people".into(),
            column: "name".into(),
            action,
            match_parts: parts,
            explicit: None,
        }
    }

    fn person() -> Action {
        Action::Tokenize {
            class: TokenClass::new("person").unwrap(),
        }
    }

    fn hits(kv: &KnownValues, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        kv.find(text, &mut out);
        out.iter()
            .map(|h| format!("{}={}", &text[h.range.clone()], h.value))
            .collect()
    }

    #[test]
    fn many_values_in_many_runs_are_each_found() {
        let values: Vec<String> = (0..5000)
            .map(|i| format!("Quorndale-{}", "x".repeat(i % 7) + &i.to_string()))
            .collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let mut o = KnownValuesOptions::new();
        o.build_buffer(4096);
        let kv = KnownValues::from_values(&[spec(person(), false)], &[&refs], &o).unwrap();
        for (i, v) in values.iter().enumerate() {
            let text = format!("then {v}, and quorndale-nothing");
            assert_eq!(hits(&kv, &text), [format!("{v}={v}")], "value {i}");
        }
        assert!(hits(&kv, &"Quorndal ".repeat(200)).is_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// However many runs the values are sorted into, the index is the
        /// same: every key, and for a key several values share (across
        /// columns, spellings and runs) the same winner.
        #[test]
        fn the_index_does_not_depend_on_the_runs(
            cols in proptest::collection::vec(
                proptest::collection::vec("[A-Ca-c]{1,3}( [a-cA-C]{2,4})?|\\+?[0-2]{6,9}|0[0-2 -]{6,9}", 0..120),
                1..4,
            ),
            buffer in 64u64..4096,
        ) {
            let specs: Vec<ColumnSpec> = cols
                .iter()
                .enumerate()
                .map(|(i, _)| {
                    let action = match i {
                        0 => person(),
                        1 => Action::Deny,
                        _ => Action::Mask(Mask::new(crate::rules::MaskKind::Email)),
                    };
                    spec(action, i == 0)
                })
                .collect();
            let refs: Vec<Vec<&str>> =
                cols.iter().map(|c| c.iter().map(String::as_str).collect()).collect();
            let lists: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
            let one = KnownValues::from_values(&specs, &lists, &KnownValuesOptions::new()).unwrap();
            let mut o = KnownValuesOptions::new();
            o.build_buffer(buffer);
            let many = KnownValues::from_values(&specs, &lists, &o).unwrap();
            let bytes = |m: &Option<Map<Vec<u8>>>| m.as_ref().map(|m| m.as_fst().as_bytes().to_vec());
            proptest::prop_assert_eq!(bytes(&one.text), bytes(&many.text));
            proptest::prop_assert_eq!(bytes(&one.digits), bytes(&many.digits));
            proptest::prop_assert_eq!(&one.spellings, &many.spellings);
        }
    }

    #[test]
    fn numbers_and_short_values_are_skipped() {
        let o = KnownValuesOptions::default();
        assert!(!identifying("12", &o));
        assert!(!identifying("2024", &o));
        assert!(!identifying("12,345", &o));
        assert!(!identifying("(512) 55", &o));
        assert!(identifying("123456", &o));
        assert!(identifying("(512) 555-0151", &o));
        assert!(identifying("Ann", &o));
        assert!(!identifying("Al", &o));
        assert!(!identifying("---", &o));
    }

    #[test]
    fn word_boundaries_case_and_overlaps() {
        let kv = KnownValues::from_values(
            &[spec(person(), false)],
            &[&["Ann", "Ann Lee", "Lee", "Zoë Hall", " Bob Stone "]],
            &KnownValuesOptions::default(),
        )
        .unwrap();
        assert_eq!(hits(&kv, "Annual report"), Vec::<String>::new());
        assert_eq!(hits(&kv, "ask ann."), ["ann=Ann"]);
        // A rejected long match does not hide the shorter valid one.
        assert_eq!(hits(&kv, "Ann Leeds"), ["Ann=Ann"]);
        assert_eq!(hits(&kv, "xAnn Lee"), ["Lee=Lee"]);
        assert_eq!(hits(&kv, "ZOË HALL"), ["ZOË HALL=Zoë Hall"]);
        assert_eq!(hits(&kv, "SéGOLÈNE zOË hall"), ["zOË hall=Zoë Hall"]);
        assert_eq!(hits(&kv, "bob stone!"), ["bob stone= Bob Stone "]);
        assert_eq!(hits(&kv, "bob\n   stone!"), ["bob\n   stone= Bob Stone "]);
    }

    #[test]
    fn joined_words_are_the_value() {
        let kv = KnownValues::from_values(
            &[spec(person(), true)],
            &[&["Liam Johnson", "Mary-Jane Smith", "Ann Lee"]],
            &KnownValuesOptions::default(),
        )
        .unwrap();
        for text in [
            "Liam_Johnson",
            "liam.johnson",
            "LiamJohnson",
            "liamjohnson",
            "LIAM-JOHNSON",
            "liam\u{2013}johnson",
            "liam_ johnson",
            "liam__johnson",
        ] {
            let h = hits(&kv, &format!("by {text} today"));
            assert!(
                h.iter().any(|h| h == &format!("{text}=Liam Johnson")),
                "{text}: {h:?}"
            );
        }
        // A dash of the value itself still reads as written, or as a space.
        assert_eq!(
            hits(&kv, "mary-jane smith"),
            ["mary-jane smith=Mary-Jane Smith"]
        );
        assert_eq!(
            hits(&kv, "MaryJaneSmith"),
            ["MaryJaneSmith=Mary-Jane Smith"]
        );
        // Inside a longer word, or glued to one, nothing.
        assert!(hits(&kv, "williamjohnsons").is_empty());
        assert!(hits(&kv, "xliamjohnson").is_empty());
        assert_eq!(hits(&kv, "annlee."), ["annlee=Ann Lee"]);
    }

    #[test]
    fn numbers_with_group_separators() {
        let acct = ColumnSpec {
            column: "account".into(),
            ..spec(Action::Deny, false)
        };
        let kv = KnownValues::from_values(&[acct], &[&["1234567"]], &KnownValuesOptions::default())
            .unwrap();
        for text in [
            "1234567",
            "1,234,567",
            "1 234 567",
            "1.234.567",
            "1'234'567",
            "1\u{2019}234\u{2019}567",
            "1\u{202F}234\u{202F}567",
            "1\u{00A0}234\u{00A0}567",
            "１,２３４,５６７",
        ] {
            assert_eq!(hits(&kv, &format!("account {text}.")).len(), 1, "{text}");
        }
        for text in ["1,234,5678", "11,234,567"] {
            assert!(hits(&kv, &format!("n {text}.")).is_empty(), "{text}");
        }
    }

    #[test]
    fn parts_need_a_capital_unless_told() {
        let s = [spec(person(), true)];
        let v: &[&[&str]] = &[&["Mark Young", "Wei Li"]];
        let kv = KnownValues::from_values(&s, v, &KnownValuesOptions::default()).unwrap();
        assert_eq!(hits(&kv, "mark young orders"), ["mark young=Mark Young"]);
        assert_eq!(hits(&kv, "young customers"), Vec::<String>::new());
        assert_eq!(hits(&kv, "Did Young order?"), ["Young=Young"]);
        // Wei and Li are shorter than the part minimum.
        assert_eq!(hits(&kv, "Wei ordered"), Vec::<String>::new());
        let mut o = KnownValuesOptions::default();
        o.parts_any_case(true);
        let kv = KnownValues::from_values(&s, v, &o).unwrap();
        assert_eq!(hits(&kv, "young customers"), ["young=Young"]);
    }

    #[test]
    fn strictest_column_wins_a_shared_text() {
        let specs = [
            spec(person(), false),
            ColumnSpec {
                column: "street".into(),
                ..spec(Action::Deny, false)
            },
        ];
        for buffer in [1, 1 << 20] {
            let mut o = KnownValuesOptions::default();
            o.build_buffer(buffer);
            let kv =
                KnownValues::from_values(&specs, &[&["Elm Court"], &["elm court"]], &o).unwrap();
            let mut out = Vec::new();
            kv.find("at Elm Court", &mut out);
            assert_eq!(out.len(), 1);
            assert_eq!(kv.column(out[0].column).unwrap().class, "redacted");
        }
    }

    #[test]
    fn digit_values_in_any_spelling() {
        let ssn = ColumnSpec {
            column: "ssn".into(),
            ..spec(person(), false)
        };
        let kv = KnownValues::from_values(
            &[ssn],
            &[&[
                "789-28-1752",
                "CUST-399807",
                "+1 (512) 555-0151",
                "020 7946 0958",
            ]],
            &KnownValuesOptions::default(),
        )
        .unwrap();
        for text in [
            "789-28-1752",
            "789 28 1752",
            "789.28.1752",
            "789281752",
            "７８９-２８-１７５２",
            "789\u{2013}28\u{2013}1752",
            "SSN789281752",
        ] {
            let h = hits(&kv, &format!("ssn {text} ok"));
            assert_eq!(h.len(), 1, "{text}: {h:?}");
            assert!(h[0].ends_with("=789-28-1752"), "{text}: {h:?}");
        }
        for text in ["7892817520", "1789281752", "789-28-17523", "78928175"] {
            assert!(hits(&kv, &format!("n {text} ok")).is_empty(), "{text}");
        }
        for text in ["cust 399807", "Cust399807", "CUST-399807"] {
            assert_eq!(
                hits(&kv, &format!("is {text}.")),
                [format!("{text}=CUST-399807")]
            );
        }
        assert!(hits(&kv, "xcust399807").is_empty());
        for text in [
            "512-555-0151",
            "(512) 555 0151",
            "+1 512 555 0151",
            "05125550151",
        ] {
            let h = hits(&kv, &format!("call {text} now"));
            assert!(
                h.iter().any(|h| h.ends_with("=+1 (512) 555-0151")),
                "{text}: {h:?}"
            );
        }
        for text in ["+44 20 7946 0958", "020-7946-0958", "2079460958"] {
            let h = hits(&kv, &format!("call {text} now"));
            assert!(
                h.iter().any(|h| h.ends_with("=020 7946 0958")),
                "{text}: {h:?}"
            );
        }
    }
}
