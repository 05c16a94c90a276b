//! Free-text PII detection: built-in detectors with checksums where one
//! exists (Luhn for cards, mod-97 for IBANs, SSN area rules), custom regexes
//! and dictionaries from the rule file.
//!
//! Patterns are compiled once, when the [`Detector`] is built. A text is
//! first run through one `RegexSet`, which says which patterns occur at all;
//! only those are then searched for their positions. Dictionaries are one
//! `aho-corasick` automaton each (case-sensitive and case-insensitive).
//! Overlapping hits are resolved by keeping the longest, then the most
//! specific (a checksum-validated detector beats a shape-only one).
//!
//! A detector may also know the data's own protected values (names, customer
//! numbers, streets): see [`Detector::with_known_values`] and the
//! known-value section below.
//!
//! # Known values
//!
//! Pattern detectors find what has a shape (emails, cards); a person's name
//! or a street has none. Known-value detection loads the distinct values of
//! the protected columns from the [`Engine`] and builds one case-insensitive
//! `aho-corasick` automaton over them, so that a question naming a customer
//! reaches the model with the name replaced by the token the same value gets
//! in a result row.
//!
//! Choices, with their reasons:
//!
//! - **Which columns.** The columns a rule file names with action
//!   `tokenize`, `mask` or `deny` whose type in the data is text, unless the
//!   column says `detect_values = false`; and any such column of another type
//!   (an integer account number) that says `detect_values = true`. Columns
//!   the rule file does not name are not loaded: nothing says their values
//!   are personal.
//! - **Replacement.** A `tokenize` value becomes the column's token of the
//!   value *as stored in the data* (so `harriet cromusshaw` in a question
//!   and `Harriet Cromusshaw` in a row give the same token); a `mask` value
//!   becomes the masked value; a `deny` value becomes `[redacted:<column>]`,
//!   which is not a token and cannot be revealed or used in SQL.
//! - **Overlaps.** The longest hit wins, as among pattern detectors. On an
//!   exact tie, a known `deny` or `tokenize` value beats a pattern detector,
//!   and a pattern detector beats a known `mask` value: the pattern's token
//!   can be revealed and used in an equality filter, a masked value cannot.
//!   Among known values of the same text, the strictest column wins
//!   (`deny` > `tokenize` > `mask`), then a whole value over a part.
//! - **Word boundaries.** A hit may not start or end inside a word (`Ann`
//!   does not match in `Annual`): where the value begins (ends) with a letter,
//!   digit or `_`, the character before (after) the hit must not be one.
//!   Every match is considered (overlapping search), so a rejected long match
//!   never hides a shorter valid one.
//! - **Case.** Matching folds ASCII letters only (patterns and text are
//!   ASCII-lowercased, which keeps byte offsets). For a value with other
//!   letters, its full lowercase and uppercase forms are added too, so
//!   `Zoë Hall` is found as `zoë hall`, `ZOË HALL` or `zOË hall`; a value
//!   with two or more non-ASCII letters written in mixed case
//!   (`SéGOLÈNE`) is not.
//! - **What is skipped.** Values (after trimming white space) shorter than
//!   [`KnownValuesOptions::min_chars`] characters, values with no letter or
//!   digit, and *common numbers*: values made only of digits and the
//!   separators ` .,-/:+()` with fewer than [`KnownValuesOptions::min_digits`]
//!   digits (years, quantities, small ids and amounts are everywhere in
//!   ordinary text and say nothing about a person).
//! - **Parts.** With `match_parts = true` (tokenize columns), the words of a
//!   value (split at white space and `-`) of at least
//!   [`KnownValuesOptions::min_part_chars`] characters are found too, each
//!   replaced by the token of the word itself, so revealing it gives back
//!   the word the user wrote. A part is found only where it starts with a
//!   capital letter in the text (`Mark`, not `mark`), unless
//!   [`KnownValuesOptions::parts_any_case`] is set: surnames such as Young,
//!   King or Brown are also common words, and the capital keeps most
//!   ordinary questions intact (see the README for measured rates).
//! - **Limits.** At most [`KnownValuesOptions::max_values`] distinct values
//!   per column are loaded; a column with more is reported as capped, with a
//!   warning, and its other values are not found.
//!
//! The automaton is built once, by [`Detector::with_known_values`] or
//! [`Detector::refresh`], never per request.
//!
//! [`Engine`]: crate::Engine

mod builtin;
mod known;
mod validate;

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use self::builtin::{Check, BUILTINS};
use self::known::{column_specs, ColumnSpec, KnownHit, KnownValues, Replace};
pub use self::known::{KnownColumnReport, KnownValuesOptions, KnownValuesReport};
use crate::engine::Engine;
use crate::error::Error;
use crate::rules::Policy;
use crate::tokens::Tokens;

const REGEX_SIZE_LIMIT: usize = 1 << 22;

/// A detector hit: where, which detector, which token class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Byte range in the text.
    pub range: Range<usize>,
    /// The detector's name (`email`, or a rule file detector's name).
    pub detector: String,
    /// The class of the token that replaces the hit.
    pub class: String,
}

struct Pattern {
    detector: String,
    class: String,
    regex: Regex,
    check: Option<Check>,
    specificity: u8,
}

struct Dictionary {
    automaton: AhoCorasick,
    /// Per automaton pattern: (detector, class).
    owners: Vec<(usize, usize)>,
}

/// The detectors of a policy, compiled.
///
/// # Example
/// ```
/// use sqlveil::{Detector, Policy};
/// let policy = Policy::from_toml_str(r#"
///     version = 1
///     [detectors]
///     builtin = ["email", "credit_card"]
/// "#)?;
/// let d = Detector::new(&policy)?;
/// let text = "Mail ada@example.com, card 4111 1111 1111 1111, not 4111 1111 1111 1112.";
/// let hits: Vec<String> = d.find(text).into_iter().map(|h| h.detector).collect();
/// assert_eq!(hits, ["email", "credit_card"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Detector {
    /// Built-in patterns, which never match across a line break: searched
    /// line by line, so that the set skips most lines of sparse text.
    line_set: RegexSet,
    line_patterns: Vec<Pattern>,
    /// Rule file patterns, searched over the whole text.
    set: RegexSet,
    patterns: Vec<Pattern>,
    dictionaries: Vec<Dictionary>,
    /// Detector and class names of the dictionaries.
    dict_names: Vec<(String, String)>,
    /// The policy's columns whose values may be found, and the options.
    known_specs: Vec<ColumnSpec>,
    known_options: KnownValuesOptions,
    /// The loaded values; swapped whole by [`Detector::refresh`].
    known: RwLock<Option<Arc<KnownValues>>>,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field(
                "patterns",
                &(self.line_patterns.len() + self.patterns.len()),
            )
            .field("dictionaries", &self.dict_names.len())
            .field(
                "known_values",
                &self.known_snapshot().map(|k| k.report.patterns),
            )
            .finish_non_exhaustive()
    }
}

/// Redacted text and what was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redacted {
    /// The text with every hit replaced by its token.
    pub text: String,
    /// Hits per detector name.
    pub counts: BTreeMap<String, usize>,
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// Where a candidate hit comes from.
#[derive(Clone, Copy)]
enum Source<'a> {
    /// A pattern or dictionary: detector and class names.
    Pattern(&'a str, &'a str),
    /// A known value: the entry.
    Known(u32),
}

/// A candidate hit: range, specificity, source.
type Cand<'a> = (Range<usize>, u8, Source<'a>);

impl Detector {
    /// Compiles the policy's detectors.
    ///
    /// # Errors
    /// A custom regex that does not compile within the size limit (the rule
    /// file's validation has already checked this), or a dictionary too large
    /// for the automaton.
    pub fn new(policy: &Policy) -> Result<Detector, Error> {
        let d = policy.detectors();
        let mut line_patterns = Vec::new();
        for b in BUILTINS {
            if d.builtin.iter().any(|n| n == b.name) {
                line_patterns.push(Pattern {
                    detector: b.name.to_string(),
                    class: b.name.to_string(),
                    regex: compile(b.regex)?,
                    check: b.check,
                    specificity: b.specificity,
                });
            }
        }
        let mut patterns = Vec::new();
        for p in &d.patterns {
            patterns.push(Pattern {
                detector: p.name.clone(),
                class: p.class.as_str().to_string(),
                regex: compile(&p.regex)?,
                check: None,
                specificity: 3,
            });
        }
        let set_of = |ps: &[Pattern]| {
            RegexSetBuilder::new(ps.iter().map(|p| p.regex.as_str()))
                .size_limit(REGEX_SIZE_LIMIT * 4)
                .build()
                .map_err(|e| {
                    Error::rules(None, format!("the detectors do not compile together: {e}"))
                })
        };
        let line_set = set_of(&line_patterns)?;
        let set = set_of(&patterns)?;
        let mut dict_names = Vec::new();
        let mut dictionaries = Vec::new();
        for ci in [false, true] {
            let mut terms = Vec::new();
            let mut owners = Vec::new();
            for dict in d.dictionaries.iter().filter(|x| x.case_insensitive == ci) {
                let idx = dict_names.len();
                dict_names.push((dict.name.clone(), dict.class.as_str().to_string()));
                for t in &dict.terms {
                    terms.push(t.clone());
                    owners.push((idx, idx));
                }
            }
            if terms.is_empty() {
                continue;
            }
            let automaton = AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .ascii_case_insensitive(ci)
                .build(&terms)
                .map_err(|e| Error::rules(None, format!("a dictionary cannot be built: {e}")))?;
            dictionaries.push(Dictionary { automaton, owners });
        }
        Ok(Detector {
            line_set,
            line_patterns,
            set,
            patterns,
            dictionaries,
            dict_names,
            known_specs: column_specs(policy),
            known_options: KnownValuesOptions::default(),
            known: RwLock::new(None),
        })
    }

    /// Compiles the policy's detectors and loads the data's own protected
    /// values from `engine` (known-value detection, see the
    /// [module docs](self#known-values)), so that [`find`](Self::find) and
    /// [`redact`](Self::redact) find them too.
    ///
    /// The values are loaded once, here; call [`refresh`](Self::refresh)
    /// after the data changes. [`known_values_report`](Self::known_values_report)
    /// tells what was loaded, what was capped and the memory it holds.
    ///
    /// # Errors
    /// As [`Detector::new`]; an engine failure while reading the values
    /// (an [`ErrorKind::Engine`](crate::ErrorKind::Engine) error, without
    /// data values).
    ///
    /// # Example
    /// ```
    /// use std::sync::Arc;
    /// use sqlveil::{Detector, KnownValuesOptions, MasterKey, MemoryVault, PolarsEngine, Policy, Tokens};
    ///
    /// let policy = Policy::from_path("rules/sample.toml")?;
    /// let engine = PolarsEngine::open("examples/data", &policy)?;
    /// let detector = Detector::with_known_values(&policy, &engine, &KnownValuesOptions::new())?;
    /// let key = MasterKey::from_bytes(&[7; 32]);
    /// let tokens = Tokens::new(&policy, key, Some(Arc::new(MemoryVault::new())))?;
    ///
    /// let r = detector.redact("What did harriet cromusshaw order last month?", &tokens)?;
    /// assert!(r.text.starts_with("What did <person_"));
    /// assert_eq!(r.counts["known:customers.full_name"], 1);
    /// // The same person in a result row gets the same token.
    /// let person = sqlveil::TokenClass::new("person")?;
    /// assert!(r.text.contains(&tokens.issue(&person, "Harriet Cromusshaw")?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_known_values(
        policy: &Policy,
        engine: &dyn Engine,
        options: &KnownValuesOptions,
    ) -> Result<Detector, Error> {
        let mut d = Detector::new(policy)?;
        d.known_options = options.clone();
        d.refresh(engine)?;
        Ok(d)
    }

    /// Reloads the known values from `engine` and swaps them in, for a
    /// detector shared between threads (`Arc<Detector>`): requests in
    /// flight finish with the old values, later ones see the new. A detector
    /// made by [`Detector::new`] starts finding known values (with the
    /// default options). When loading fails, the old values stay.
    ///
    /// # Errors
    /// An engine failure while reading the values.
    pub fn refresh(&self, engine: &dyn Engine) -> Result<KnownValuesReport, Error> {
        let kv = Arc::new(KnownValues::load(
            &self.known_specs,
            engine,
            &self.known_options,
        )?);
        let report = kv.report.clone();
        match self.known.write() {
            Ok(mut g) => *g = Some(kv),
            Err(poisoned) => *poisoned.into_inner() = Some(kv),
        }
        Ok(report)
    }

    /// What the last load of known values found, or `None` when the detector
    /// has none.
    pub fn known_values_report(&self) -> Option<KnownValuesReport> {
        self.known_snapshot().map(|k| k.report.clone())
    }

    fn known_snapshot(&self) -> Option<Arc<KnownValues>> {
        match self.known.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The hits in a text, in order, without overlaps.
    ///
    /// A known value's hit has the detector name `known:<table>.<column>`
    /// and, for `mask` and `deny` columns, the class `mask:<kind>` or
    /// `redacted` (they are replaced by a masked value or a redaction, not a
    /// token).
    pub fn find(&self, text: &str) -> Vec<Hit> {
        let known = self.known_snapshot();
        self.hits(text, known.as_deref())
            .into_iter()
            .map(|(range, src)| {
                let (detector, class) = match src {
                    Source::Pattern(d, c) => (d.to_string(), c.to_string()),
                    Source::Known(e) => match known.as_deref().and_then(|k| k.column_of(e)) {
                        Some(c) => (c.detector.clone(), c.class.clone()),
                        None => (String::new(), String::new()),
                    },
                };
                Hit {
                    range,
                    detector,
                    class,
                }
            })
            .collect()
    }

    fn hits<'a>(
        &'a self,
        text: &str,
        known: Option<&KnownValues>,
    ) -> Vec<(Range<usize>, Source<'a>)> {
        let mut cands: Vec<Cand<'a>> = Vec::new();
        if !self.line_patterns.is_empty() {
            let mut offset = 0;
            for line in text.split_inclusive('\n') {
                search(
                    &self.line_set,
                    &self.line_patterns,
                    line,
                    offset,
                    &mut cands,
                );
                offset += line.len();
            }
        }
        if !self.patterns.is_empty() {
            search(&self.set, &self.patterns, text, 0, &mut cands);
        }
        for d in &self.dictionaries {
            for m in d.automaton.find_iter(text) {
                let r = m.range();
                // Dictionary terms match whole words only.
                if is_word(text[..r.start].chars().next_back())
                    || is_word(text[r.end..].chars().next())
                {
                    continue;
                }
                let Some((name, class)) = d
                    .owners
                    .get(m.pattern().as_usize())
                    .and_then(|o| self.dict_names.get(o.0))
                else {
                    continue;
                };
                cands.push((r, 3, Source::Pattern(name, class)));
            }
        }
        if let Some(k) = known {
            let mut hits: Vec<KnownHit> = Vec::new();
            k.find(text, &mut hits);
            cands.extend(
                hits.into_iter()
                    .map(|h| (h.range, h.specificity, Source::Known(h.entry))),
            );
        }
        resolve(cands)
    }

    /// Replaces every hit with a token of its class, and counts hits per
    /// detector.
    ///
    /// # Errors
    /// The token vault cannot be written.
    ///
    /// A known value is replaced as its column's action says: the token of
    /// the value as stored in the data, its masked form, or
    /// `[redacted:<column>]`.
    pub fn redact(&self, text: &str, tokens: &Tokens) -> Result<Redacted, Error> {
        let known = self.known_snapshot();
        let hits = self.hits(text, known.as_deref());
        let mut out = String::with_capacity(text.len());
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut last = 0;
        for (range, src) in hits {
            let (Some(before), Some(hit)) = (text.get(last..range.start), text.get(range.clone()))
            else {
                return Err(Error::usage(
                    "a detector hit is not on character boundaries",
                ));
            };
            out.push_str(before);
            let detector = match src {
                Source::Pattern(detector, class) => {
                    out.push_str(&tokens.issue_str(class, hit)?);
                    detector
                }
                Source::Known(e) => {
                    let (Some(k), Some(col)) = (
                        known.as_deref(),
                        known.as_deref().and_then(|k| k.column_of(e)),
                    ) else {
                        return Err(Error::usage("a known-value hit has no column"));
                    };
                    let value = k.value(e);
                    match &col.replace {
                        Replace::Token(class) => out.push_str(&tokens.issue(class, value)?),
                        Replace::Mask(kind) => out.push_str(&crate::protect::mask_value(
                            kind,
                            value,
                            tokens.master_key(),
                        )?),
                        Replace::Redact(r) => out.push_str(r),
                    }
                    col.detector.as_str()
                }
            };
            last = range.end;
            match counts.get_mut(detector) {
                Some(n) => *n += 1,
                None => {
                    counts.insert(detector.to_string(), 1);
                }
            }
        }
        out.push_str(text.get(last..).unwrap_or(""));
        Ok(Redacted { text: out, counts })
    }
}

/// Runs the patterns that the set says occur in `text`, adding their checked
/// hits (shifted by `offset`).
fn search<'a>(
    set: &RegexSet,
    patterns: &'a [Pattern],
    text: &str,
    offset: usize,
    cands: &mut Vec<Cand<'a>>,
) {
    for i in set.matches(text).iter() {
        let p = &patterns[i];
        // When a match fails its check, search again from the next
        // character, so that a failed long match cannot hide a valid one
        // that starts inside it.
        let mut at = 0;
        while let Some(m) = p.regex.find_at(text, at) {
            let r = m.range();
            if p.check.is_none_or(|c| c(text, &r)) {
                at = r.end.max(r.start + 1);
                cands.push((
                    r.start + offset..r.end + offset,
                    p.specificity,
                    Source::Pattern(&p.detector, &p.class),
                ));
            } else {
                at = r.start + text[r.start..].chars().next().map_or(1, char::len_utf8);
            }
            if at > text.len() {
                break;
            }
        }
    }
}

fn compile(re: &str) -> Result<Regex, Error> {
    RegexBuilder::new(re)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| Error::rules(None, format!("a detector's regex does not compile: {e}")))
}

/// Keeps the longest hit, then the most specific, among overlapping ones.
fn resolve(mut cands: Vec<Cand<'_>>) -> Vec<(Range<usize>, Source<'_>)> {
    // Where any candidate lies, merged: a kept hit grows to cover the parts
    // of candidates it beat that stick out of it ("Mary Ann" and "Ann
    // Smith" in "Mary Ann Smith" leave no "Mary" behind).
    let mut union: Vec<Range<usize>> = cands.iter().map(|c| c.0.clone()).collect();
    union.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::new();
    for r in union.into_iter().filter(|r| !r.is_empty()) {
        match merged.last_mut() {
            Some(m) if r.start < m.end => m.end = m.end.max(r.end),
            _ => merged.push(r),
        }
    }
    cands.sort_by(|a, b| (b.0.len(), b.1, a.0.start).cmp(&(a.0.len(), a.1, b.0.start)));
    // Kept hits are disjoint: a candidate overlaps one of them exactly when
    // it overlaps the kept hit with the greatest start before its end.
    let mut spans: BTreeMap<usize, usize> = BTreeMap::new();
    let mut kept: Vec<(Range<usize>, Source<'_>)> = Vec::new();
    for (r, _, src) in cands {
        if r.is_empty()
            || spans
                .range(..r.end)
                .next_back()
                .is_some_and(|(_, &end)| end > r.start)
        {
            continue;
        }
        spans.insert(r.start, r.end);
        kept.push((r, src));
    }
    kept.sort_by_key(|k| k.0.start);
    // Each merged stretch holds at least one kept hit: the first starts
    // where the stretch starts, each ends where the next begins, and the
    // last ends where the stretch ends.
    let mut m = merged.iter().peekable();
    for i in 0..kept.len() {
        while m.peek().is_some_and(|r| r.end <= kept[i].0.start) {
            m.next();
        }
        let Some(stretch) = m.peek() else { break };
        let first = i == 0 || kept[i - 1].0.end <= stretch.start;
        if first {
            kept[i].0.start = kept[i].0.start.min(stretch.start);
        }
        let next_start = kept.get(i + 1).map(|k| k.0.start);
        kept[i].0.end = match next_start {
            Some(n) if n < stretch.end => n,
            _ => kept[i].0.end.max(stretch.end),
        };
    }
    kept
}
