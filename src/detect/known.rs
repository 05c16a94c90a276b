//! Known-value detection: the distinct values of protected columns, in one
//! `aho-corasick` automaton. The choices are documented on the parent module.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use polars::prelude::DataType;

use super::is_word;
use crate::engine::{quote_ident, quote_table, ColumnType, Engine};
use crate::error::Error;
use crate::rules::{Action, Mask, Policy, TokenClass};

/// Options of known-value detection.
///
/// # Example
/// ```
/// use sqlveil::KnownValuesOptions;
/// let mut o = KnownValuesOptions::new();
/// o.max_values(50_000).min_chars(4);
/// assert_eq!(o.get_max_values(), 50_000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownValuesOptions {
    max_values: usize,
    min_chars: usize,
    min_digits: usize,
    min_part_chars: usize,
    parts_any_case: bool,
}

impl Default for KnownValuesOptions {
    fn default() -> Self {
        KnownValuesOptions {
            max_values: 1_000_000,
            min_chars: 3,
            min_digits: 6,
            min_part_chars: 4,
            parts_any_case: false,
        }
    }
}

impl KnownValuesOptions {
    /// The defaults: at most 1,000,000 values per column, values of at least
    /// 3 characters, numbers of at least 6 digits, parts of at least 4
    /// characters that start with a capital.
    pub fn new() -> KnownValuesOptions {
        KnownValuesOptions::default()
    }

    /// The most distinct values loaded per column (default 1,000,000). A
    /// column with more is reported as capped.
    pub fn max_values(&mut self, n: usize) -> &mut Self {
        self.max_values = n;
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

    /// The cap on distinct values per column.
    pub fn get_max_values(&self) -> usize {
        self.max_values
    }
}

/// What known-value detection loaded for one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownColumnReport {
    /// The table.
    pub table: String,
    /// The column.
    pub column: String,
    /// The column's action (`tokenize`, `mask` or `deny`).
    pub action: &'static str,
    /// Distinct non-null values read from the engine (at most the cap).
    pub values: usize,
    /// Values skipped as too short or as common numbers.
    pub skipped: usize,
    /// Search patterns the column added (values, their case forms and
    /// parts, after merging duplicates).
    pub patterns: usize,
    /// Whether the column has more distinct values than the cap.
    pub capped: bool,
    /// Memory held for the column: its stored values and entries, and its
    /// share of the automaton (by pattern bytes; an estimate).
    pub memory_bytes: usize,
}

/// What a build of the known values loaded, and what it costs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KnownValuesReport {
    /// Per column, in policy order.
    pub columns: Vec<KnownColumnReport>,
    /// Search patterns in the automaton.
    pub patterns: usize,
    /// Heap memory of the automaton.
    pub automaton_bytes: usize,
    /// Heap memory of the stored values and entries.
    pub values_bytes: usize,
    /// How long loading and building took.
    pub build_time: Duration,
    /// Warnings: capped columns, columns missing from the data. They name
    /// columns, never values.
    pub warnings: Vec<String>,
}

impl KnownValuesReport {
    /// All memory known-value detection holds, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.automaton_bytes + self.values_bytes
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

const PART: u8 = 1;

/// One search pattern: whose, and the value as stored in the data.
#[derive(Debug, Clone, Copy)]
struct Entry {
    column: u32,
    start: u32,
    len: u32,
    flags: u8,
}

/// The loaded values and their automaton.
pub(crate) struct KnownValues {
    /// Searches for the patterns' first bytes ([`PREFIX`]); a prefix hit is
    /// then checked against the whole patterns that start with it.
    automaton: Option<AhoCorasick>,
    /// The ASCII-lowercased patterns, end to end, and each one's span.
    patterns: String,
    pattern_spans: Vec<(u32, u32)>,
    /// The patterns of each prefix, in groups of one length: prefix `p`
    /// has `groups[offsets[p]..offsets[p + 1]]`, each group `(length,
    /// from, to)` a run `members[from..to]` sorted by bytes, so that a
    /// prefix hit costs one binary search per distinct length, however
    /// many values share the prefix.
    offsets: Vec<u32>,
    groups: Vec<(u32, u32, u32)>,
    members: Vec<u32>,
    entries: Vec<Entry>,
    /// The stored values, end to end.
    arena: String,
    pub(crate) columns: Vec<KnownColumn>,
    parts_any_case: bool,
    pub(crate) report: KnownValuesReport,
}

impl std::fmt::Debug for KnownValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnownValues")
            .field("patterns", &self.entries.len())
            .finish_non_exhaustive()
    }
}

/// A known-value hit: the range and the entry.
pub(crate) struct KnownHit {
    pub(crate) range: std::ops::Range<usize>,
    pub(crate) entry: u32,
    pub(crate) specificity: u8,
}

impl KnownValues {
    /// Loads the values of `specs` from the engine and builds the automaton.
    pub(crate) fn load(
        specs: &[ColumnSpec],
        engine: &dyn Engine,
        opts: &KnownValuesOptions,
    ) -> Result<KnownValues, Error> {
        let start = Instant::now();
        let mut b = Builder::new(opts);
        for spec in specs {
            let name = format!("{}.{}", spec.table, spec.column);
            let ty = engine
                .catalog()
                .table(&spec.table)
                .and_then(|t| t.columns.iter().find(|c| c.name == spec.column))
                .map(|c| c.ty.clone());
            let Some(ty) = ty else {
                b.warnings.push(format!(
                    "column `{name}` is not in the data; its values cannot be found in text"
                ));
                continue;
            };
            if !spec.explicit.unwrap_or(ty == ColumnType::Text) {
                continue;
            }
            // A LIMIT every SQL engine accepts (a signed 64-bit number).
            let cap = opts.max_values.min(i64::MAX as usize - 1);
            let limit = u64::try_from(cap).unwrap_or(u64::MAX - 1) + 1;
            let sql = format!(
                "SELECT DISTINCT {} FROM {} LIMIT {limit}",
                quote_ident(&spec.column),
                // `schema.table` is two names, as the guard writes it.
                quote_table(&spec.table)
            );
            let df = engine.execute(&sql, limit)?;
            let col = df
                .columns()
                .first()
                .ok_or_else(|| Error::engine("schema", format!("no column for {name}")))?;
            let text = col
                .cast(&DataType::String)
                .map_err(|e| Error::engine("compute", e.to_string()))?;
            let ca = text
                .as_materialized_series()
                .str()
                .map_err(|e| Error::engine("compute", e.to_string()))?
                .clone();
            let distinct = ca.len() - ca.null_count();
            let capped = distinct > cap;
            b.column(spec, ca.iter().flatten().take(cap), capped);
        }
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
            b.column(spec, vs.iter().copied(), false);
        }
        b.finish()
    }

    /// The value an entry stands for, as stored in the data.
    pub(crate) fn value(&self, entry: u32) -> &str {
        let Some(e) = self.entries.get(entry as usize) else {
            return "";
        };
        let s = e.start as usize;
        self.arena.get(s..s + e.len as usize).unwrap_or("")
    }

    /// The column of an entry.
    pub(crate) fn column_of(&self, entry: u32) -> Option<&KnownColumn> {
        let e = self.entries.get(entry as usize)?;
        self.columns.get(e.column as usize)
    }

    /// Every hit on word boundaries, overlapping ones included.
    pub(crate) fn find(&self, text: &str, out: &mut Vec<KnownHit>) {
        let Some(ac) = &self.automaton else {
            return;
        };
        // The patterns are ASCII-lowercased and so is the text: the same
        // byte offsets, and an automaton a third of the build time of one
        // with `ascii_case_insensitive`.
        let lower = text.to_ascii_lowercase();
        // The automaton is built with `MatchKind::Standard`, the one kind
        // that supports overlapping search, so this never panics.
        for m in ac.find_overlapping_iter(&lower) {
            let start = m.start();
            let p = m.pattern().as_usize();
            let (Some(&from), Some(&to)) = (self.offsets.get(p), self.offsets.get(p + 1)) else {
                continue;
            };
            let Some(groups) = self.groups.get(from as usize..to as usize) else {
                continue;
            };
            for &(len, gfrom, gto) in groups {
                let end = start + len as usize;
                let (Some(slice), Some(candidates)) = (
                    lower.as_bytes().get(start..end),
                    self.members.get(gfrom as usize..gto as usize),
                ) else {
                    continue;
                };
                let found = candidates.binary_search_by(|&idx| self.pattern(idx).cmp(slice));
                if let Ok(k) = found {
                    if let Some(&idx) = candidates.get(k) {
                        self.hit(text, start..end, idx, out);
                    }
                }
            }
        }
    }

    /// A pattern's bytes (ASCII-lowercased).
    fn pattern(&self, idx: u32) -> &[u8] {
        self.pattern_spans
            .get(idx as usize)
            .and_then(|&(ps, pl)| {
                self.patterns
                    .as_bytes()
                    .get(ps as usize..(ps + pl) as usize)
            })
            .unwrap_or(&[])
    }

    /// Checks a whole-pattern match (word boundaries, capitals for parts)
    /// and records it.
    fn hit(&self, text: &str, r: std::ops::Range<usize>, idx: u32, out: &mut Vec<KnownHit>) {
        let (Some(before), Some(hit), Some(after)) =
            (text.get(..r.start), text.get(r.clone()), text.get(r.end..))
        else {
            return;
        };
        let first = hit.chars().next();
        if is_word(first) && is_word(before.chars().next_back()) {
            return;
        }
        if is_word(hit.chars().next_back()) && is_word(after.chars().next()) {
            return;
        }
        let Some(e) = self.entries.get(idx as usize) else {
            return;
        };
        if e.flags & PART != 0 && !self.parts_any_case && !first.is_some_and(char::is_uppercase) {
            return;
        }
        let specificity = self
            .columns
            .get(e.column as usize)
            .map_or(0, |c| c.specificity);
        out.push(KnownHit {
            range: r,
            entry: idx,
            specificity,
        });
    }
}

/// How many leading bytes of each pattern the automaton holds (cut back to
/// a character boundary). A million names share far fewer 8-byte prefixes
/// than they have bytes: the automaton is built several times faster and
/// is smaller, and a prefix hit costs a byte comparison per candidate.
const PREFIX: usize = 8;

/// The first [`PREFIX`] bytes of a pattern, on a character boundary.
fn prefix(p: &str) -> &str {
    let mut end = p.len().min(PREFIX);
    while !p.is_char_boundary(end) {
        end -= 1;
    }
    &p[..end]
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

/// Priority among entries for the same text: strictest action, then a
/// whole value over a part.
fn priority(action: &Action, part: bool) -> u8 {
    let a = match action {
        Action::Deny => 3,
        Action::Tokenize { .. } => 2,
        _ => 1,
    };
    a * 2 + u8::from(!part)
}

/// The multiply-rotate hash of rustc (`FxHasher`): the index holds a
/// million short keys, for which SipHash's DoS resistance (the keys are the
/// data's own values, not an attacker's) is not worth its cost.
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0xf135_7aea_2e62_a9c5;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(26) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(26) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0.rotate_left(20)
    }
}

struct Builder<'o> {
    opts: &'o KnownValuesOptions,
    /// ASCII-lowercased pattern → entry index.
    index: HashMap<Box<str>, u32, BuildHasherDefault<FxHasher>>,
    patterns: String,
    pattern_spans: Vec<(u32, u32)>,
    entries: Vec<Entry>,
    prios: Vec<u8>,
    arena: String,
    columns: Vec<KnownColumn>,
    reports: Vec<KnownColumnReport>,
    /// Pattern bytes per column, for the memory estimate.
    pattern_bytes: Vec<usize>,
    warnings: Vec<String>,
}

fn offset(n: usize) -> Result<u32, Error> {
    u32::try_from(n).map_err(|_| {
        Error::usage("the known values exceed 4 GiB; lower the cap on values per column")
    })
}

impl<'o> Builder<'o> {
    fn new(opts: &'o KnownValuesOptions) -> Builder<'o> {
        Builder {
            opts,
            index: HashMap::default(),
            patterns: String::new(),
            pattern_spans: Vec::new(),
            entries: Vec::new(),
            prios: Vec::new(),
            arena: String::new(),
            columns: Vec::new(),
            reports: Vec::new(),
            pattern_bytes: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn column<'v>(
        &mut self,
        spec: &ColumnSpec,
        values: impl Iterator<Item = &'v str>,
        capped: bool,
    ) {
        let name = format!("{}.{}", spec.table, spec.column);
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
        let col = self.columns.len();
        self.columns.push(KnownColumn {
            detector: format!("known:{name}"),
            class,
            replace,
            specificity,
        });
        self.pattern_bytes.push(0);
        let parts = spec.match_parts && matches!(spec.action, Action::Tokenize { .. });
        let mut report = KnownColumnReport {
            table: spec.table.clone(),
            column: spec.column.clone(),
            action: spec.action.as_tag(),
            values: 0,
            skipped: 0,
            patterns: 0,
            capped,
            memory_bytes: 0,
        };
        if capped {
            self.warnings.push(format!(
                "column `{name}` has more than {} distinct values; only {} of them are found in text",
                self.opts.max_values, self.opts.max_values
            ));
        }
        for v in values {
            report.values += 1;
            let t = v.trim();
            if !identifying(t, self.opts) {
                report.skipped += 1;
                continue;
            }
            let prio = priority(&spec.action, false);
            let mut canon = None;
            report.patterns += self.add(col, t, v, &mut canon, prio, 0);
            if !t.is_ascii() {
                let lower = t.to_lowercase();
                let upper = t.to_uppercase();
                report.patterns += self.add(col, &lower, v, &mut canon, prio, 0);
                report.patterns += self.add(col, &upper, v, &mut canon, prio, 0);
            }
            if parts {
                let pprio = priority(&spec.action, true);
                for p in t.split(|c: char| c.is_whitespace() || c == '-') {
                    let p = p.trim_matches(|c: char| !c.is_alphanumeric());
                    if p.len() == t.len()
                        || p.chars().count() < self.opts.min_part_chars
                        || !identifying(p, self.opts)
                    {
                        continue;
                    }
                    let mut pc = None;
                    report.patterns += self.add(col, p, p, &mut pc, pprio, PART);
                }
            }
        }
        self.reports.push(report);
    }

    /// Adds a pattern for `canonical` unless an entry of at least the same
    /// priority holds its text. Returns 1 when a pattern was added.
    fn add(
        &mut self,
        col: usize,
        pattern: &str,
        canonical: &str,
        canon: &mut Option<(u32, u32)>,
        prio: u8,
        flags: u8,
    ) -> usize {
        let key: Box<str> = pattern.to_ascii_lowercase().into_boxed_str();
        let existing = self.index.get(&key).copied();
        if let Some(i) = existing {
            let i = i as usize;
            let (Some(&old), Some(e)) = (self.prios.get(i), self.entries.get(i)) else {
                return 0;
            };
            let old_value = self
                .arena
                .get(e.start as usize..(e.start + e.len) as usize)
                .unwrap_or("");
            // Same priority: the smaller value, so that the load order does
            // not decide.
            if old > prio || (old == prio && old_value <= canonical) {
                return 0;
            }
        }
        let Ok(span) = self.canon(canonical, canon) else {
            return 0;
        };
        let (Ok(column), Ok(ps), Ok(pl)) = (
            offset(col),
            offset(self.patterns.len()),
            offset(pattern.len()),
        ) else {
            return 0;
        };
        let entry = Entry {
            column,
            start: span.0,
            len: span.1,
            flags,
        };
        if let Some(i) = existing {
            let i = i as usize;
            if let (Some(e), Some(p)) = (self.entries.get_mut(i), self.prios.get_mut(i)) {
                *e = entry;
                *p = prio;
            }
            return 0;
        }
        let Ok(idx) = offset(self.entries.len()) else {
            return 0;
        };
        self.patterns.push_str(&key);
        self.pattern_spans.push((ps, pl));
        self.entries.push(entry);
        self.prios.push(prio);
        self.index.insert(key, idx);
        if let Some(b) = self.pattern_bytes.get_mut(col) {
            *b += pattern.len();
        }
        1
    }

    /// The arena span of a canonical value, stored once per value.
    fn canon(&mut self, v: &str, canon: &mut Option<(u32, u32)>) -> Result<(u32, u32), Error> {
        if let Some(c) = canon {
            return Ok(*c);
        }
        let span = (offset(self.arena.len())?, offset(v.len())?);
        offset(self.arena.len() + v.len())?;
        self.arena.push_str(v);
        *canon = Some(span);
        Ok(span)
    }

    fn finish(self) -> Result<KnownValues, Error> {
        let Builder {
            opts,
            index,
            patterns,
            pattern_spans,
            entries,
            arena,
            columns,
            mut reports,
            pattern_bytes,
            warnings,
            ..
        } = self;
        drop(index);
        // Distinct prefixes, and the patterns of each (counting sort).
        let mut prefix_ids: HashMap<&str, u32, BuildHasherDefault<FxHasher>> = HashMap::default();
        let mut prefixes: Vec<&str> = Vec::new();
        let mut of_pattern: Vec<u32> = Vec::with_capacity(pattern_spans.len());
        for &(ps, pl) in &pattern_spans {
            let p = patterns
                .get(ps as usize..(ps + pl) as usize)
                .map(prefix)
                .unwrap_or("");
            let next = offset(prefixes.len())?;
            let id = *prefix_ids.entry(p).or_insert_with(|| {
                prefixes.push(p);
                next
            });
            of_pattern.push(id);
        }
        let mut offsets = vec![0u32; prefixes.len() + 1];
        for &id in &of_pattern {
            if let Some(o) = offsets.get_mut(id as usize + 1) {
                *o += 1;
            }
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        let mut fill = offsets.clone();
        let mut members = vec![0u32; of_pattern.len()];
        for (idx, &id) in of_pattern.iter().enumerate() {
            if let Some(f) = fill.get_mut(id as usize) {
                if let Some(m) = members.get_mut(*f as usize) {
                    *m = offset(idx)?;
                }
                *f += 1;
            }
        }
        // Within a prefix, by length then bytes; then the runs of one length.
        let pattern_of = |idx: u32| -> &[u8] {
            pattern_spans
                .get(idx as usize)
                .and_then(|&(ps, pl)| patterns.as_bytes().get(ps as usize..(ps + pl) as usize))
                .unwrap_or(&[])
        };
        let mut group_offsets = Vec::with_capacity(offsets.len());
        let mut groups: Vec<(u32, u32, u32)> = Vec::new();
        group_offsets.push(0u32);
        for w in offsets.windows(2) {
            let (a, b) = (w[0] as usize, w[1] as usize);
            if let Some(bucket) = members.get_mut(a..b) {
                bucket.sort_unstable_by(|&x, &y| {
                    let (px, py) = (pattern_of(x), pattern_of(y));
                    px.len().cmp(&py.len()).then_with(|| px.cmp(py))
                });
            }
            let mut i = a;
            while i < b {
                let len = members.get(i).map_or(0, |&m| pattern_of(m).len());
                let mut j = i;
                while j < b && members.get(j).map_or(0, |&m| pattern_of(m).len()) == len {
                    j += 1;
                }
                groups.push((offset(len)?, offset(i)?, offset(j)?));
                i = j;
            }
            group_offsets.push(offset(groups.len())?);
        }
        let offsets = group_offsets;
        let automaton = if prefixes.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .ascii_case_insensitive(false)
                    .build(&prefixes)
                    .map_err(|e| {
                        Error::usage(format!("the known values cannot be searched for: {e}"))
                    })?,
            )
        };
        drop(prefix_ids);
        drop(prefixes);
        let automaton_bytes = automaton.as_ref().map_or(0, AhoCorasick::memory_usage);
        let values_bytes = arena.capacity()
            + entries.capacity() * std::mem::size_of::<Entry>()
            + patterns.capacity()
            + pattern_spans.capacity() * 8
            + (offsets.capacity() + members.capacity()) * 4
            + groups.capacity() * 12;
        let total_pattern_bytes: usize = pattern_bytes.iter().sum::<usize>().max(1);
        let per_entry = std::mem::size_of::<Entry>();
        let mut own = vec![0usize; reports.len()];
        for e in &entries {
            if let Some(o) = own.get_mut(e.column as usize) {
                *o += per_entry + e.len as usize;
            }
        }
        for ((r, pb), o) in reports.iter_mut().zip(&pattern_bytes).zip(&own) {
            let share =
                (automaton_bytes as u128 * *pb as u128 / total_pattern_bytes as u128) as usize;
            r.memory_bytes = o + share;
        }
        Ok(KnownValues {
            automaton,
            report: KnownValuesReport {
                columns: reports,
                patterns: entries.len(),
                automaton_bytes,
                values_bytes,
                build_time: Duration::ZERO,
                warnings,
            },
            patterns,
            pattern_spans,
            offsets,
            groups,
            members,
            entries,
            arena,
            columns,
            parts_any_case: opts.parts_any_case,
        })
    }
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
            .map(|h| format!("{}={}", &text[h.range.clone()], kv.value(h.entry)))
            .collect()
    }

    #[test]
    fn many_values_behind_one_prefix_are_each_found() {
        // 5,000 values share their first 8 bytes; lengths differ.
        let values: Vec<String> = (0..5000)
            .map(|i| format!("Quorndale-{}", "x".repeat(i % 7) + &i.to_string()))
            .collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let kv = KnownValues::from_values(
            &[spec(person(), false)],
            &[&refs],
            &KnownValuesOptions::new(),
        )
        .unwrap();
        let text = format!(
            "{}, then {} and quorndale-nothing",
            values[4321], values[17]
        );
        assert_eq!(
            hits(&kv, &text),
            [
                format!("{0}={0}", values[4321]),
                format!("{0}={0}", values[17])
            ]
        );
        // A text made of the shared prefix alone finds nothing, and each
        // prefix hit costs a binary search per length, not a pass over the
        // 5,000 values.
        assert!(hits(&kv, &"Quorndal ".repeat(2000)).is_empty());
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
        assert_eq!(hits(&kv, "bob stone!"), ["bob stone= Bob Stone "]);
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
        let kv = KnownValues::from_values(
            &specs,
            &[&["Elm Court"], &["elm court"]],
            &KnownValuesOptions::default(),
        )
        .unwrap();
        let mut out = Vec::new();
        kv.find("at Elm Court", &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(kv.column_of(out[0].entry).unwrap().class, "redacted");
    }
}
