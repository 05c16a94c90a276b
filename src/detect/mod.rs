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

mod builtin;
mod validate;

use std::collections::BTreeMap;
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use self::builtin::{Check, BUILTINS};
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
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field(
                "patterns",
                &(self.line_patterns.len() + self.patterns.len()),
            )
            .field("dictionaries", &self.dict_names.len())
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
        })
    }

    /// The hits in a text, in order, without overlaps.
    pub fn find(&self, text: &str) -> Vec<Hit> {
        // (range, specificity, detector, class)
        let mut cands: Vec<(Range<usize>, u8, String, String)> = Vec::new();
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
                let (name, class) = &self.dict_names[d.owners[m.pattern().as_usize()].0];
                cands.push((r, 3, name.clone(), class.clone()));
            }
        }
        resolve(cands)
    }

    /// Replaces every hit with a token of its class, and counts hits per
    /// detector.
    ///
    /// # Errors
    /// The token vault cannot be written.
    pub fn redact(&self, text: &str, tokens: &Tokens) -> Result<Redacted, Error> {
        let hits = self.find(text);
        let mut out = String::with_capacity(text.len());
        let mut counts = BTreeMap::new();
        let mut last = 0;
        for h in hits {
            out.push_str(&text[last..h.range.start]);
            out.push_str(&tokens.issue_str(&h.class, &text[h.range.clone()])?);
            last = h.range.end;
            *counts.entry(h.detector).or_insert(0) += 1;
        }
        out.push_str(&text[last..]);
        Ok(Redacted { text: out, counts })
    }
}

/// Runs the patterns that the set says occur in `text`, adding their checked
/// hits (shifted by `offset`).
fn search(
    set: &RegexSet,
    patterns: &[Pattern],
    text: &str,
    offset: usize,
    cands: &mut Vec<(Range<usize>, u8, String, String)>,
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
                    p.detector.clone(),
                    p.class.clone(),
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
fn resolve(mut cands: Vec<(Range<usize>, u8, String, String)>) -> Vec<Hit> {
    cands.sort_by(|a, b| (b.0.len(), b.1, a.0.start).cmp(&(a.0.len(), a.1, b.0.start)));
    // Kept hits are disjoint: a candidate overlaps one of them exactly when
    // it overlaps the kept hit with the greatest start before its end.
    let mut spans: BTreeMap<usize, usize> = BTreeMap::new();
    let mut kept: Vec<(Range<usize>, String, String)> = Vec::new();
    for (r, _, det, class) in cands {
        if r.is_empty()
            || spans
                .range(..r.end)
                .next_back()
                .is_some_and(|(_, &end)| end > r.start)
        {
            continue;
        }
        spans.insert(r.start, r.end);
        kept.push((r, det, class));
    }
    kept.sort_by_key(|k| k.0.start);
    kept.into_iter()
        .map(|(range, detector, class)| Hit {
            range,
            detector,
            class,
        })
        .collect()
}
