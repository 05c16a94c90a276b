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
//! or a street has none. Known-value detection reads the distinct values of
//! the protected columns from the [`Engine`] (through
//! [`Engine::distinct_values`](crate::Engine::distinct_values); detection
//! names what it reads as a [`ValueSource`], and every engine is one) and
//! builds an index of them, so that a question naming a customer reaches
//! the model with the name replaced by the token the same value gets in a
//! result row.
//!
//! Choices, with their reasons:
//!
//! - **Which columns.** The columns a rule file names with action
//!   `tokenize`, `mask` or `deny` whose type in the data is text, unless the
//!   column says `detect_values = false`; and any such column of another type
//!   (an integer account number) that says `detect_values = true`. Columns
//!   the rule file does not name are not loaded: nothing says their values
//!   are personal.
//! - **Every value, no cap.** The index is two FSTs (the `fst` crate), one
//!   over the values' normalised text and one over the letters and digits
//!   of mostly-digit values. An FST shares prefixes and suffixes, so its
//!   memory grows with the compressed size of the values, not with their
//!   count times a pointer: ten million names, emails and phone numbers
//!   take a few hundred MB (see the README). Values are sorted in runs of
//!   [`KnownValuesOptions::build_buffer`] bytes and the runs merged, so a
//!   build holds one buffer and the compressed runs. The one limit is
//!   [`KnownValuesOptions::max_memory`]; a build above it is an error, never
//!   a partial index.
//! - **Replacement.** A `tokenize` value becomes the column's token of the
//!   value *as stored in the data* (so `harriet cromusshaw` in a question
//!   and `Harriet Cromusshaw` in a row give the same token); a `mask` value
//!   becomes the masked value; a `deny` value becomes `[redacted:<column>]`,
//!   which is not a token and cannot be revealed or used in SQL. The stored
//!   spelling is given back from the key (as is, in title or upper case, or
//!   poured into one of the few digit templates such as `ddd-dd-dddd`);
//!   the rare others are kept as written.
//! - **Overlaps.** The longest hit wins, as among pattern detectors. On an
//!   exact tie, a known `deny` or `tokenize` value beats a pattern detector,
//!   and a pattern detector beats a known `mask` value: the pattern's token
//!   can be revealed and used in an equality filter, a masked value cannot.
//!   Among known values of the same key, the strictest column wins
//!   (`deny` > `tokenize` > `mask`), then a whole value over a part, then
//!   the smaller stored spelling.
//! - **The value, not its spelling.** Text values and the text are compared
//!   after compatibility decomposition (NFKD: a composed and a decomposed
//!   `é`, ligatures and fullwidth letters are one), with combining marks
//!   dropped (`Zoe` finds `Zoë`), in full lowercase, with
//!   the Cyrillic and Greek letters that look like Latin ones mapped to
//!   them, typographic apostrophes as `'`, invisible characters (zero-width
//!   spaces, soft hyphens, direction marks) dropped and every run of white
//!   space as one space. A value that is mostly digits (no more letters
//!   than digits, only ASCII letters, digits and separators, such as an
//!   SSN, a phone, card or customer number) is compared by its letters and
//!   digits alone, so `789 28 1752`, `789.28.1752` and `789281752` are the
//!   stored `789-28-1752`; the text may separate them with any run of
//!   separators (white space, `-` and other dashes, `.`, `/`, `(`, `)`, `+`,
//!   `,`, `_`), and digits of other scripts count as their ASCII digit. An
//!   international phone number is also found in its national forms
//!   (`+1 512 555 0151` as `512-555-0151` and `0512 555 0151`), a number
//!   with a trunk `0` without it.
//! - **Word boundaries.** A hit may not start or end inside a word (`Ann`
//!   does not match in `Annual`): where the value begins (ends) with a letter,
//!   digit or `_`, the character before (after) the hit must not be one. An
//!   invisible character counts as a boundary, as it does for the reader. A
//!   number (a digit key without letters) needs only digit boundaries, so
//!   `SSN789281752` is found; `7892817520` is another number. Every start
//!   is followed to every key it reaches, so a rejected long match never
//!   hides a shorter valid one.
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
//! - **Saved next to the data.** With a [`KnownIndexStore`]
//!   ([`Detector::save_known_values`]), the index is saved in a file keyed
//!   by the columns and options, holding the data's identity
//!   ([`Engine::data_identity`](crate::Engine::data_identity): each file's
//!   size, times and inode) and authenticated with a key derived from the
//!   master key. A restart reads it instead of rebuilding; changed data
//!   makes it stale and it is rebuilt; a file that fails its check is
//!   rebuilt with a warning. It is never used unchecked, and a detector
//!   never runs with an empty index in its place.
//!
//! The index is built once, by [`Detector::with_known_values`] or
//! [`Detector::refresh`], never per request; a lookup follows the FSTs from
//! each word start of the text, a few hundred nanoseconds per word.
//!
//! [`Engine`]: crate::Engine

mod builtin;
mod dates;
mod known;
mod normalize;
mod source;
mod validate;

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use self::builtin::Builtins;
use self::dates::{DateHit, DateSpec, KnownDates};
use self::known::{column_specs, included, ColumnSpec, KnownHit, KnownValues, Replace, SavedIndex};
pub use self::known::{
    KnownColumnReport, KnownIndexStore, KnownPhase, KnownProgress, KnownValuesOptions,
    KnownValuesReport,
};
pub use self::source::ValueSource;
use crate::error::Error;
use crate::rules::Policy;
use crate::tokens::{Issuer, Tokens};

const REGEX_SIZE_LIMIT: usize = 1 << 22;

/// A detector hit: where, which detector, which token class.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
/// use sqlveil::Policy;
/// use sqlveil::detect::Detector;
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
    /// The enabled built-in detectors: one multi-pattern regex with checks
    /// and context words.
    builtins: Option<Builtins>,
    /// Rule file patterns, searched over the whole text.
    set: RegexSet,
    patterns: Vec<Pattern>,
    dictionaries: Vec<Dictionary>,
    /// Detector and class names of the dictionaries.
    dict_names: Vec<(String, String)>,
    /// The policy's columns whose values may be found, and the options.
    known_specs: Vec<ColumnSpec>,
    known_options: KnownValuesOptions,
    /// Where the index is saved, if anywhere.
    known_store: Option<KnownIndexStore>,
    /// The loaded values; swapped whole by [`Detector::refresh`].
    known: RwLock<Option<Arc<KnownValues>>>,
    /// The policy's columns whose dates may be protected or public.
    date_specs: Vec<DateSpec>,
    /// The protected dates; swapped whole by [`Detector::refresh`].
    dates: RwLock<Option<Arc<KnownDates>>>,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("builtins", &self.builtins)
            .field("patterns", &self.patterns.len())
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
#[non_exhaustive]
pub struct Redacted {
    /// The text with every hit replaced by its token.
    pub text: String,
    /// Hits per detector name.
    pub counts: BTreeMap<String, usize>,
}

/// The value of a decimal digit of any script (`７`, `٨`), as an ASCII
/// digit.
pub(crate) fn digit_value(c: char) -> Option<u8> {
    normalize::digit_byte(c).filter(u8::is_ascii_digit)
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// Where a candidate hit comes from.
#[derive(Clone, Copy)]
enum Source<'a> {
    /// A pattern or dictionary: detector and class names.
    Pattern(&'a str, &'a str),
    /// A known value: its hit, which holds its column.
    Known(&'a KnownHit<'a>),
    /// A known date: its hit, which holds its column.
    Date(&'a DateHit<'a>),
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
        let builtins = Builtins::new(&d.builtin, &d.context)?;
        let mut patterns = Vec::new();
        for p in &d.patterns {
            patterns.push(Pattern {
                detector: p.name.clone(),
                class: p.class.as_str().to_string(),
                regex: compile(&p.regex)?,
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
            builtins,
            set,
            patterns,
            dictionaries,
            dict_names,
            known_specs: column_specs(policy),
            known_options: KnownValuesOptions::default(),
            known_store: None,
            known: RwLock::new(None),
            date_specs: KnownDates::specs(policy),
            dates: RwLock::new(None),
        })
    }

    /// Compiles the policy's detectors and loads the data's own protected
    /// values from `source`, an [`Engine`](crate::Engine) or another
    /// [`ValueSource`] (known-value detection, see the
    /// [module docs](self#known-values)), so that [`find`](Self::find) and
    /// [`redact`](Self::redact) find them too.
    ///
    /// The values are loaded once, here; call [`refresh`](Self::refresh)
    /// after the data changes. [`known_values_report`](Self::known_values_report)
    /// tells what was loaded, what was skipped and the memory it holds.
    ///
    /// # Errors
    /// As [`Detector::new`]; an engine failure while reading the values
    /// (an [`ErrorKind::Engine`](crate::ErrorKind::Engine) error, without
    /// data values).
    ///
    /// # Example
    /// ```
    /// use std::sync::Arc;
    /// use sqlveil::{MasterKey, PolarsEngine, Policy};
    /// use sqlveil::detect::{Detector, KnownValuesOptions};
    /// use sqlveil::tokens::{MemoryVault, Tokens};
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
    /// let person = sqlveil::rules::TokenClass::new("person")?;
    /// assert!(r.text.contains(&tokens.issue(&person, "Harriet Cromusshaw")?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_known_values(
        policy: &Policy,
        source: &(impl ValueSource + ?Sized),
        options: &KnownValuesOptions,
    ) -> Result<Detector, Error> {
        let mut d = Detector::new(policy)?;
        d.known_options = options.clone();
        d.refresh(source)?;
        Ok(d)
    }

    /// Sets the options of known-value detection used by the next
    /// [`refresh`](Self::refresh).
    pub fn known_values_options(&mut self, options: &KnownValuesOptions) -> &mut Self {
        self.known_options = options.clone();
        self
    }

    /// Saves the known-value index in `store` and reads it from there at the
    /// next [`refresh`](Self::refresh) (see the [module docs](self#known-values)):
    /// a restart over unchanged data reads the file instead of rebuilding,
    /// changed data rebuilds and rewrites it, and a file that fails its
    /// check is rebuilt with a warning in the report.
    pub fn save_known_values(&mut self, store: KnownIndexStore) -> &mut Self {
        self.known_store = Some(store);
        self
    }

    /// Reloads the known values from `source` (an [`Engine`](crate::Engine)
    /// or another [`ValueSource`]) and swaps them in, for a
    /// detector shared between threads (`Arc<Detector>`): requests in
    /// flight finish with the old values, later ones see the new. A detector
    /// made by [`Detector::new`] starts finding known values (with the
    /// default options). When loading fails, the old values stay.
    ///
    /// With a [`KnownIndexStore`], an index built for the same data is read
    /// from its file (or kept, when it is the one in memory) instead of
    /// rebuilt.
    ///
    /// # Errors
    /// An engine failure while reading the values; an index above
    /// [`KnownValuesOptions::max_memory`].
    pub fn refresh(
        &self,
        source: &(impl ValueSource + ?Sized),
    ) -> Result<KnownValuesReport, Error> {
        self.refresh_with_progress(source, &mut |_| {})
    }

    /// [`refresh`](Self::refresh), telling `progress` what it is doing (which
    /// column it reads, how many values so far), for a progress line.
    ///
    /// # Errors
    /// As [`refresh`](Self::refresh).
    pub fn refresh_with_progress(
        &self,
        source: &(impl ValueSource + ?Sized),
        progress: &mut dyn FnMut(&KnownProgress),
    ) -> Result<KnownValuesReport, Error> {
        let start = std::time::Instant::now();
        let opts = &self.known_options;
        let (specs, mut warnings) = included(&self.known_specs, source.catalog());
        let saved = self.saved_index(&specs, source, &mut warnings)?;
        if let (Some(saved), Some(current)) = (&saved, self.known_snapshot()) {
            if current.identity.as_ref() == Some(&saved.id) {
                return Ok(current.report.clone());
            }
        }
        let step = |phase: KnownPhase, columns_done: usize, values: u64| KnownProgress {
            phase,
            column: None,
            columns_done,
            columns: specs.len(),
            values,
            elapsed: start.elapsed(),
        };
        let mut loaded = None;
        if let Some(saved) = &saved {
            progress(&step(KnownPhase::Loading, 0, 0));
            loaded = saved.load(&specs, opts, &mut warnings);
        }
        let mut kv = match loaded {
            Some(mut kv) => {
                kv.parts_any_case = opts.get_parts_any_case();
                kv
            }
            None => {
                let mut kv = KnownValues::build(&specs, source, opts, progress)?;
                if let Some(saved) = &saved {
                    progress(&step(KnownPhase::Saving, specs.len(), 0));
                    saved.save(&mut kv, &mut warnings);
                }
                kv
            }
        };
        kv.report.build_time = start.elapsed();
        kv.report.warnings = warnings;
        let values = kv.report.columns.iter().map(|c| c.values as u64).sum();
        progress(&step(KnownPhase::Done, specs.len(), values));
        let dates = Arc::new(KnownDates::build(&self.date_specs, source)?);
        Ok(self.swap_in(kv, dates))
    }

    /// Where the index of `specs` is saved for the data as it is now: none
    /// without a store, or (with a warning) when the source cannot tell when
    /// its data changes.
    fn saved_index(
        &self,
        specs: &[ColumnSpec],
        source: &(impl ValueSource + ?Sized),
        warnings: &mut Vec<String>,
    ) -> Result<Option<SavedIndex<'_>>, Error> {
        let Some(store) = &self.known_store else {
            return Ok(None);
        };
        let mut tables: Vec<&str> = specs.iter().map(|s| s.table.as_str()).collect();
        tables.sort_unstable();
        tables.dedup();
        Ok(match source.data_identity(&tables)? {
            Some(data) => Some(store.saved_index(specs, &self.known_options, &data)),
            None => {
                warnings.push(
                    "the engine cannot tell when its data changes, so the known-value index is not saved and is rebuilt at every start".to_string(),
                );
                None
            }
        })
    }

    /// Swaps in new known values and dates (requests in flight keep the old
    /// ones) and gives the values' report.
    fn swap_in(&self, kv: KnownValues, dates: Arc<KnownDates>) -> KnownValuesReport {
        match self.dates.write() {
            Ok(mut g) => *g = Some(dates),
            Err(poisoned) => *poisoned.into_inner() = Some(dates),
        }
        let kv = Arc::new(kv);
        let report = kv.report.clone();
        match self.known.write() {
            Ok(mut g) => *g = Some(kv),
            Err(poisoned) => *poisoned.into_inner() = Some(kv),
        }
        report
    }

    /// What the last load of known values found, or `None` when the detector
    /// has none.
    pub fn known_values_report(&self) -> Option<KnownValuesReport> {
        self.known_snapshot().map(|k| k.report.clone())
    }

    fn dates_snapshot(&self) -> Option<Arc<KnownDates>> {
        match self.dates.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
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
        let dates = self.dates_snapshot();
        let (known_hits, date_hits) = Self::value_hits(text, known.as_deref(), dates.as_deref());
        self.hits(text, &known_hits, &date_hits)
            .into_iter()
            .map(|(range, src)| hit_of(range, src))
            .collect()
    }

    #[allow(clippy::type_complexity)]
    /// The known values' and known dates' hits in a text.
    fn value_hits<'k>(
        text: &str,
        known: Option<&'k KnownValues>,
        dates: Option<&'k KnownDates>,
    ) -> (Vec<KnownHit<'k>>, Vec<DateHit<'k>>) {
        let mut known_hits = Vec::new();
        if let Some(k) = known {
            k.find(text, &mut known_hits);
        }
        let mut date_hits = Vec::new();
        if let Some(d) = dates.filter(|d| !d.is_empty()) {
            d.find(text, &mut date_hits);
        }
        (known_hits, date_hits)
    }

    /// Every hit of the patterns, dictionaries and the given value hits,
    /// resolved where they overlap.
    fn hits<'a>(
        &'a self,
        text: &str,
        known_hits: &'a [KnownHit<'a>],
        date_hits: &'a [DateHit<'a>],
    ) -> Vec<(Range<usize>, Source<'a>)> {
        let mut cands: Vec<Cand<'a>> = Vec::new();
        if let Some(b) = &self.builtins {
            b.find(text, |r, specificity, name| {
                cands.push((r, specificity, Source::Pattern(name, name)));
            });
        }
        if !self.patterns.is_empty() {
            search(&self.set, &self.patterns, text, &mut cands);
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
        cands.extend(
            known_hits
                .iter()
                .map(|h| (h.range.clone(), h.specificity, Source::Known(h))),
        );
        cands.extend(
            date_hits
                .iter()
                .map(|h| (h.range.clone(), 6, Source::Date(h))),
        );
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
        self.redact_inner(text, tokens, None)
    }

    /// As [`redact`](Self::redact), and also the hits (as
    /// [`find`](Self::find) gives them, in `text`'s offsets), from one
    /// search.
    ///
    /// # Errors
    /// The token vault cannot be written.
    ///
    /// # Example
    /// ```
    /// use sqlveil::{MasterKey, Policy};
    /// use sqlveil::detect::Detector;
    /// use sqlveil::tokens::Tokens;
    /// let policy = Policy::from_toml_str(r#"
    ///     version = 1
    ///     [defaults]
    ///     tokens = "sealed"
    ///     [detectors]
    ///     builtin = ["ssn"]
    /// "#)?;
    /// let d = Detector::new(&policy)?;
    /// let tokens = Tokens::new(&policy, MasterKey::from_bytes(&[1; 32]), None)?;
    /// let (r, hits) = d.redact_with_hits("SSN 789 28 1752 verified", &tokens)?;
    /// assert!(r.text.starts_with("SSN <ssn_"));
    /// assert_eq!((hits[0].range.clone(), hits[0].detector.as_str()), (4..15, "ssn"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn redact_with_hits(
        &self,
        text: &str,
        tokens: &Tokens,
    ) -> Result<(Redacted, Vec<Hit>), Error> {
        let mut hits = Vec::new();
        let r = self.redact_inner(text, tokens, Some(&mut hits))?;
        Ok((r, hits))
    }

    fn redact_inner(
        &self,
        text: &str,
        tokens: &Tokens,
        mut found: Option<&mut Vec<Hit>>,
    ) -> Result<Redacted, Error> {
        let known = self.known_snapshot();
        let dates = self.dates_snapshot();
        let (known_hits, date_hits) = Self::value_hits(text, known.as_deref(), dates.as_deref());
        let hits = self.hits(text, &known_hits, &date_hits);
        // Tokens are longer than most values: room for a fifth more.
        let mut out = String::with_capacity(text.len() + text.len() / 5);
        // Hits per detector, in a short list while the text is read (a few
        // detectors, many hits).
        let mut tally: Vec<(&str, usize)> = Vec::new();
        let mut issuer = tokens.issuer();
        let mut last = 0;
        for (range, src) in hits {
            if let Some(f) = found.as_deref_mut() {
                f.push(hit_of(range.clone(), src));
            }
            let (Some(before), Some(hit)) = (text.get(last..range.start), text.get(range.clone()))
            else {
                return Err(Error::usage(
                    "a detector hit is not on character boundaries",
                ));
            };
            out.push_str(before);
            let detector = replace_hit(src, hit, &mut issuer, tokens, &mut out)?;
            last = range.end;
            match tally.iter_mut().find(|(d, _)| *d == detector) {
                Some((_, n)) => *n += 1,
                None => tally.push((detector, 1)),
            }
        }
        out.push_str(text.get(last..).unwrap_or(""));
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for (detector, n) in tally {
            *counts.entry(detector.to_string()).or_insert(0) += n;
        }
        Ok(Redacted { text: out, counts })
    }
}

/// Writes what one hit (`hit`, the text it covers) is replaced by to `out`,
/// and gives its detector's name.
fn replace_hit<'s>(
    src: Source<'s>,
    hit: &str,
    issuer: &mut Issuer<'_>,
    tokens: &Tokens,
    out: &mut String,
) -> Result<&'s str, Error> {
    Ok(match src {
        Source::Pattern(detector, class) => {
            issuer.issue_into(class, hit, out)?;
            detector
        }
        Source::Known(h) => {
            let value = h.value.as_str();
            match &h.column.replace {
                Replace::Token(class) => issuer.issue_into(class.as_str(), value, out)?,
                Replace::Mask(kind) => out.push_str(&crate::transform::mask_value(
                    kind,
                    value,
                    tokens.master_key(),
                )?),
                Replace::Redact(r) => out.push_str(r),
            }
            h.column.detector.as_str()
        }
        Source::Date(h) => {
            out.push_str(&h.replacement);
            h.column.detector.as_str()
        }
    })
}

/// The public form of a hit.
fn hit_of(range: Range<usize>, src: Source<'_>) -> Hit {
    let (detector, class) = match src {
        Source::Pattern(d, c) => (d.to_string(), c.to_string()),
        Source::Date(h) => (h.column.detector.clone(), h.column.class.to_string()),
        Source::Known(h) => (h.column.detector.clone(), h.column.class.clone()),
    };
    Hit {
        range,
        detector,
        class,
    }
}

/// Runs the rule file's patterns that the set says occur in `text`, adding
/// their hits.
fn search<'a>(set: &RegexSet, patterns: &'a [Pattern], text: &str, cands: &mut Vec<Cand<'a>>) {
    for i in set.matches(text).iter() {
        let Some(p) = patterns.get(i) else {
            continue;
        };
        for m in p.regex.find_iter(text) {
            cands.push((
                m.range(),
                p.specificity,
                Source::Pattern(&p.detector, &p.class),
            ));
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
    // The built-in detectors alone give ordered, disjoint hits: nothing to
    // resolve.
    if cands
        .windows(2)
        .all(|w| w[0].0.end <= w[1].0.start && !w[0].0.is_empty())
        && cands.last().is_none_or(|c| !c.0.is_empty())
    {
        return cands.into_iter().map(|(r, _, s)| (r, s)).collect();
    }
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
