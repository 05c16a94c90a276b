//! The privacy check of a run: no protected value of the data in any
//! request a model received.
//!
//! The check is deliberately not the detectors' matcher: a check that reads
//! text as the detectors do proves nothing about what they miss. It is
//! cruder and more eager, and accepts reporting a value that is there by
//! chance:
//!
//! - **Texts and values are reduced alike** to *atoms*: runs of letters and
//!   runs of digits, after compatibility decomposition (fullwidth letters
//!   and digits, ligatures), with accents and invisible characters dropped,
//!   lowercase, a few Cyrillic and Greek look-alikes as Latin letters, any
//!   script's digits as ASCII digits. A run of letters is split where a
//!   lower-case letter meets a capital (`LiamJohnson`), letters and digits
//!   are separate atoms (`SSN213678559`). Atoms with at most 3 characters
//!   between them (no line break, tab or `|`) form one stretch, read as
//!   their concatenation, so `Liam_Johnson`, `liam.johnson`, `Liam - Johnson`
//!   and `liamjohnson` are all `liamjohnson`, and `68,794` and `68 794` are
//!   `68794`. A match must start and end on atom edges.
//! - **Names** (values of letters only) are also found in reverse word order
//!   (`Johnson, Liam`) and by each word of 4 letters or more, in any case
//!   (kind `part`), unless the word is a word of a public value (a city
//!   named like a first name).
//! - **Numbers** (values of digits and separators: ZIP codes, phones, card
//!   numbers, incomes) are their digits; a match may not continue a longer
//!   number (`1,234,567` does not hold `1234`; `86439.0` holds `86439`).
//!   Values with letters and at least 6 digits (`CUST-686571`) are also
//!   their digits alone.
//! - **Dates** (values `YYYY-MM-DD`, with a time or not) are found in every
//!   field order (year-month-day, month-day-year, day-month-year), with and
//!   without leading zeros, with a four- or two-digit year as three atoms,
//!   or as eight digits in one; English month names (`June`, `jun`) count
//!   as the month's number, and ordinal suffixes (`24th`), `of` and `the`
//!   are dropped.
//! - Values shorter than [`MIN_LEN`] characters (digits for numbers) are not
//!   searched, and a form that is also a form of a value of an `allow`
//!   column is not searched (a day that is an order date).
//!
//! Blind spots it still has: numbers and dates written in words (`June the
//! twenty-fourth`), month names other than English ones, partial dates
//! (`June 24` without a year, `June 1993`), a name's words more than 3
//! characters apart or split by a line break, initials (`L. Johnson`),
//! nicknames and misspellings, values shorter than 4 characters, and any
//! value spelled by a model a letter at a time.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::{Deserialize, Serialize};
use unicode_normalization::char::{decompose_compatible, is_combining_mark};

use crate::chat::Chat;
use crate::error::Error;
use crate::llm::ModelRequest;
use crate::rules::Action;

/// Values shorter than this (in characters; in digits for numbers) are not
/// searched: `1`, `TX` and the like are in any prompt.
pub(crate) const MIN_LEN: usize = 4;

/// What the privacy check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct PrivacyCheck {
    /// Model requests searched.
    pub requests: usize,
    /// Distinct protected values searched for.
    pub values: usize,
    /// Protected values not searched, being shorter than 4 characters.
    pub skipped_short: usize,
    /// Forms of protected values not searched, being also a form of a value
    /// of a column the rules show as is (a date that is a birth date and an
    /// order date).
    pub skipped_public: usize,
    /// Every protected value found, by request and column (never the value).
    pub leaks: Vec<PrivacyLeak>,
}

/// A protected value found in a model request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PrivacyLeak {
    /// The request's position among the run's requests (0-based).
    pub request: usize,
    /// The column whose value it is, `table.column`.
    pub column: String,
    /// `text` (a whole value with letters), `part` (one word of a name),
    /// `date` or `number`. A number or a date can equal a computed result
    /// by chance (an average that equals a ZIP code, a month's first day
    /// that is someone's signup date); every finding fails a run unless the
    /// question lists its column in `privacy_reviewed`.
    pub kind: String,
    /// The id of the question whose request it was.
    #[serde(default)]
    pub question: Option<String>,
    /// Whether the question set marks this column of this question as a
    /// reviewed chance match (`privacy_reviewed`).
    #[serde(default)]
    pub reviewed: bool,
}

impl PrivacyCheck {
    /// Findings of text values (whole values and name parts): each one is
    /// almost surely a value that reached a model.
    pub fn text_leaks(&self) -> usize {
        self.leaks
            .iter()
            .filter(|l| l.kind == "text" || l.kind == "part")
            .count()
    }

    /// Findings the question set does not mark as reviewed: any one of
    /// them fails a run.
    pub fn unreviewed(&self) -> usize {
        self.leaks.iter().filter(|l| !l.reviewed).count()
    }
}

/// The questions of a run, by request: the id and its reviewed columns.
pub(crate) struct Owner<'q> {
    pub(crate) requests: Range<usize>,
    pub(crate) id: &'q str,
    pub(crate) reviewed: &'q [String],
}

// ---------------------------------------------------------------------------
// Reduction.

/// One character as the check reads it.
enum Unit {
    Letter(char, bool),
    Digit(u8),
    Other,
    Dropped,
}

/// Look-alike letters of other scripts, as Latin ones (lowercase).
fn latin(c: char) -> char {
    match c {
        'а' | 'α' => 'a',
        'в' | 'β' => 'b',
        'с' | 'ϲ' => 'c',
        'е' | 'ё' | 'ε' => 'e',
        'н' | 'η' | 'һ' => 'h',
        'і' | 'ι' | 'ı' => 'i',
        'ј' => 'j',
        'к' | 'κ' => 'k',
        'м' | 'μ' => 'm',
        'ν' => 'n',
        'о' | 'ο' => 'o',
        'р' | 'ρ' => 'p',
        'ѕ' => 's',
        'т' | 'τ' => 't',
        'у' | 'υ' => 'y',
        'х' | 'χ' => 'x',
        other => other,
    }
}

/// The units a character stands for, after compatibility decomposition.
fn units(c: char, out: &mut Vec<Unit>) {
    out.clear();
    if c.is_ascii() {
        out.push(if c.is_ascii_alphabetic() {
            Unit::Letter(c.to_ascii_lowercase(), c.is_ascii_uppercase())
        } else if c.is_ascii_digit() {
            Unit::Digit(c as u8)
        } else {
            Unit::Other
        });
        return;
    }
    if matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
        || is_combining_mark(c)
    {
        out.push(Unit::Dropped);
        return;
    }
    if c.is_numeric() {
        if let Some(b) = crate::detect::digit_value(c) {
            out.push(Unit::Digit(b));
            return;
        }
    }
    decompose_compatible(c, |d| {
        if is_combining_mark(d) {
            return;
        }
        if d.is_alphabetic() {
            let upper = d.is_uppercase();
            for l in d.to_lowercase() {
                out.push(Unit::Letter(latin(l), upper));
            }
        } else if d.is_ascii_digit() {
            out.push(Unit::Digit(d as u8));
        } else {
            out.push(Unit::Other);
        }
    });
    if out.is_empty() {
        out.push(Unit::Dropped);
    }
}

/// A stretch of atoms: the concatenation, and where each atom starts (and
/// the end).
#[derive(Default)]
struct Stretch {
    /// The atoms as written (lowercase).
    plain: String,
    plain_edges: Vec<usize>,
    /// The atoms with month names as numbers, and ordinal suffixes, `of`
    /// and `the` dropped.
    dated: String,
    dated_edges: Vec<usize>,
    /// Per atom of `plain`: whether it is digits, and the gap before it.
    digits: Vec<bool>,
    gaps: Vec<String>,
}

/// Month names (English), as their number.
fn month(word: &str) -> Option<u32> {
    Some(match word {
        "january" | "jan" => 1,
        "february" | "feb" => 2,
        "march" | "mar" => 3,
        "april" | "apr" => 4,
        "may" => 5,
        "june" | "jun" => 6,
        "july" | "jul" => 7,
        "august" | "aug" => 8,
        "september" | "sept" | "sep" => 9,
        "october" | "oct" => 10,
        "november" | "nov" => 11,
        "december" | "dec" => 12,
        _ => return None,
    })
}

/// The stretches of a text.
fn reduce(text: &str) -> Vec<Stretch> {
    // Atoms with the gap before each.
    let mut atoms: Vec<(String, bool, String)> = Vec::new();
    let mut cur = String::new();
    let mut cur_digit = false;
    let mut prev_lower = false;
    let mut gap = String::new();
    let mut us = Vec::new();
    for c in text.chars() {
        units(c, &mut us);
        for u in us.drain(..) {
            match u {
                Unit::Dropped => {}
                Unit::Other => {
                    if !cur.is_empty() {
                        atoms.push((
                            std::mem::take(&mut cur),
                            cur_digit,
                            std::mem::take(&mut gap),
                        ));
                    }
                    gap.push(c);
                    prev_lower = false;
                }
                Unit::Letter(l, upper) => {
                    let split = cur_digit || (upper && prev_lower);
                    if split && !cur.is_empty() {
                        atoms.push((
                            std::mem::take(&mut cur),
                            cur_digit,
                            std::mem::take(&mut gap),
                        ));
                    }
                    cur_digit = false;
                    cur.push(l);
                    prev_lower = !upper;
                }
                Unit::Digit(d) => {
                    if !cur_digit && !cur.is_empty() {
                        atoms.push((
                            std::mem::take(&mut cur),
                            cur_digit,
                            std::mem::take(&mut gap),
                        ));
                    }
                    cur_digit = true;
                    cur.push(char::from(d));
                    prev_lower = false;
                }
            }
        }
    }
    if !cur.is_empty() {
        atoms.push((cur, cur_digit, gap));
    }
    let mut out = Vec::new();
    let mut s = Stretch::default();
    let mut prev_digit = false;
    for (i, (a, digit, gap)) in atoms.into_iter().enumerate() {
        let joins = i > 0 && gap.chars().count() <= 3 && !gap.contains(['\n', '\r', '\t', '|']);
        if !joins && !s.plain.is_empty() {
            s.plain_edges.push(s.plain.len());
            s.dated_edges.push(s.dated.len());
            out.push(std::mem::take(&mut s));
        }
        s.plain_edges.push(s.plain.len());
        s.plain.push_str(&a);
        s.digits.push(digit);
        s.gaps.push(gap.clone());
        // The dated reading: `24th` is `24`, `June` is `6`.
        let ordinal = !digit
            && gap.is_empty()
            && prev_digit
            && matches!(a.as_str(), "st" | "nd" | "rd" | "th");
        // `24th of June`, `the 24th`.
        let filler = !digit && matches!(a.as_str(), "of" | "the");
        if !ordinal && !filler {
            s.dated_edges.push(s.dated.len());
            match month(&a).filter(|_| !digit) {
                Some(m) => s.dated.push_str(&m.to_string()),
                None => s.dated.push_str(&a),
            }
        }
        prev_digit = digit;
    }
    if !s.plain.is_empty() {
        s.plain_edges.push(s.plain.len());
        s.dated_edges.push(s.dated.len());
        out.push(s);
    }
    out
}

// ---------------------------------------------------------------------------
// Forms of a value.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Text,
    Part,
    Date,
    Number,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Part => "part",
            Kind::Date => "date",
            Kind::Number => "number",
        }
    }
}

/// A form to search: its kind and, for dates, how many atoms it must span
/// (bit `n` set: `n` atoms).
struct Form {
    text: String,
    kind: Kind,
    atoms: u8,
}

fn day_of(v: &str) -> Option<(u32, u32, u32)> {
    let d = v.get(..10)?;
    let rest = &v[10..];
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('T')) {
        return None;
    }
    let b = d.as_bytes();
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: u32 = d.get(..4)?.parse().ok()?;
    let m: u32 = d.get(5..7)?.parse().ok()?;
    let dd: u32 = d.get(8..10)?.parse().ok()?;
    ((1..=12).contains(&m) && (1..=31).contains(&dd)).then_some((y, m, dd))
}

/// Every form of a value.
fn forms(v: &str, out: &mut Vec<Form>) {
    out.clear();
    let v = v.trim();
    if let Some((y, m, d)) = day_of(v) {
        let years = [format!("{y:04}"), format!("{:02}", y % 100)];
        let months = [format!("{m:02}"), m.to_string()];
        let days = [format!("{d:02}"), d.to_string()];
        for (yi, yy) in years.iter().enumerate() {
            for mm in &months {
                for dd in &days {
                    for f in [
                        format!("{yy}{mm}{dd}"),
                        format!("{mm}{dd}{yy}"),
                        format!("{dd}{mm}{yy}"),
                    ] {
                        out.push(Form {
                            text: f,
                            kind: Kind::Date,
                            atoms: 1 << 3,
                        });
                    }
                }
            }
            if yi == 0 {
                for f in [
                    format!("{yy}{:02}{:02}", m, d),
                    format!("{:02}{:02}{yy}", m, d),
                    format!("{:02}{:02}{yy}", d, m),
                ] {
                    out.push(Form {
                        text: f,
                        kind: Kind::Date,
                        atoms: 1 << 1,
                    });
                }
            }
        }
        return;
    }
    let reduced = reduce(v);
    let atoms: Vec<&str> = reduced
        .iter()
        .flat_map(|s| s.plain_edges.windows(2).map(move |w| &s.plain[w[0]..w[1]]))
        .collect();
    if atoms.is_empty() {
        return;
    }
    let digits: String = atoms
        .iter()
        .filter(|a| a.bytes().all(|b| b.is_ascii_digit()))
        .copied()
        .collect();
    let all = atoms.concat();
    if digits.len() == all.len() {
        if digits.len() >= MIN_LEN {
            out.push(Form {
                text: digits,
                kind: Kind::Number,
                atoms: 0,
            });
        }
        return;
    }
    if all.chars().count() >= MIN_LEN {
        out.push(Form {
            text: all.clone(),
            kind: Kind::Text,
            atoms: 0,
        });
    }
    if digits.len() >= 6 {
        out.push(Form {
            text: digits.clone(),
            kind: Kind::Number,
            atoms: 0,
        });
    }
    // An email's local part (`liam.johnson`).
    if let Some((local, _)) = v.split_once('@') {
        let l: String = reduce(local).iter().map(|s| s.plain.as_str()).collect();
        if l.chars().count() >= MIN_LEN && l != all {
            out.push(Form {
                text: l,
                kind: Kind::Text,
                atoms: 0,
            });
        }
        return;
    }
    if digits.is_empty() && atoms.len() >= 2 {
        let rev: String = atoms.iter().rev().copied().collect();
        if rev != all {
            out.push(Form {
                text: rev,
                kind: Kind::Text,
                atoms: 0,
            });
        }
        for a in &atoms {
            if a.chars().count() >= MIN_LEN {
                out.push(Form {
                    text: (*a).to_string(),
                    kind: Kind::Part,
                    atoms: 0,
                });
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The check.

/// One searched form: its column, kind and atom constraint.
struct Entry {
    column: String,
    kind: Kind,
    atoms: u8,
}

/// Reads every protected value of the data (columns whose action is not
/// `allow` or `scan`: `scan` text is shown with its hits replaced) and
/// searches every request's texts for each, in every form above.
pub(crate) fn check(
    chat: &Chat,
    requests: &[ModelRequest],
    owners: &[Owner<'_>],
) -> Result<PrivacyCheck, Error> {
    let engine = chat.engine();
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    let mut public: Vec<String> = Vec::new();
    let mut out = PrivacyCheck {
        requests: requests.len(),
        ..PrivacyCheck::default()
    };
    for t in chat.policy().tables() {
        let Some(table) = engine.catalog().table(&t.name) else {
            continue;
        };
        for c in &t.columns {
            if !table.columns.iter().any(|x| x.name == c.name) {
                continue;
            }
            let is_public = matches!(c.action, Action::Allow);
            if matches!(c.action, Action::Scan) {
                continue;
            }
            let label = format!("{}.{}", t.name, c.name);
            engine.distinct_values(&t.name, &c.name, None, &mut |v| {
                let v = v.trim();
                if is_public {
                    public.push(v.to_string());
                } else if v.chars().filter(|c| c.is_alphanumeric()).count() < MIN_LEN {
                    out.skipped_short += 1;
                } else {
                    values.entry(v.to_string()).or_insert_with(|| label.clone());
                }
                Ok(())
            })?;
        }
    }
    out.values = values.len();
    // The public forms, and the words of public values.
    let mut fs = Vec::new();
    let mut public_forms: HashSet<String> = HashSet::new();
    let mut public_words: HashSet<String> = HashSet::new();
    for v in &public {
        // A number with a fraction (`864.39`) is another number than its
        // digits (`86439`): it exempts nothing.
        if fraction(v) {
            continue;
        }
        forms(v, &mut fs);
        public_forms.extend(fs.drain(..).map(|f| f.text));
        for s in reduce(v) {
            for w in s.plain_edges.windows(2) {
                public_words.insert(s.plain[w[0]..w[1]].to_string());
            }
        }
    }
    // Form → entry; a form of two values keeps the first column's.
    let mut plain: HashMap<String, Entry> = HashMap::new();
    let mut dated: HashMap<String, Entry> = HashMap::new();
    for (v, column) in &values {
        forms(v, &mut fs);
        for f in fs.drain(..) {
            if public_forms.contains(&f.text)
                || (f.kind == Kind::Part && public_words.contains(&f.text))
            {
                out.skipped_public += 1;
                continue;
            }
            let map = if f.kind == Kind::Date {
                &mut dated
            } else {
                &mut plain
            };
            map.entry(f.text)
                .and_modify(|e| e.atoms |= f.atoms)
                .or_insert(Entry {
                    column: column.clone(),
                    kind: f.kind,
                    atoms: f.atoms,
                });
        }
    }
    let plain = Searcher::new(plain)?;
    let dated = Searcher::new(dated)?;
    for (n, r) in requests.iter().enumerate() {
        let mut found: BTreeSet<(String, &'static str)> = BTreeSet::new();
        for text in r.texts() {
            for s in reduce(text) {
                plain.search(&s, &s.plain, &s.plain_edges, &mut found);
                dated.search(&s, &s.dated, &s.dated_edges, &mut found);
            }
        }
        let owner = owners.iter().find(|o| o.requests.contains(&n));
        out.leaks
            .extend(found.into_iter().map(|(column, kind)| PrivacyLeak {
                request: n,
                reviewed: owner.is_some_and(|o| o.reviewed.contains(&column)),
                column,
                kind: kind.to_string(),
                question: owner.map(|o| o.id.to_string()),
            }));
    }
    Ok(out)
}

/// Whether a value is a number with a fraction that is not zero.
fn fraction(v: &str) -> bool {
    let v = v.trim();
    let Some((int, frac)) = v.rsplit_once('.') else {
        return false;
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        && !frac.is_empty()
        && frac.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().any(|b| b != b'0')
}

/// An automaton over forms.
struct Searcher {
    ac: Option<AhoCorasick>,
    entries: Vec<Entry>,
}

impl Searcher {
    fn new(map: HashMap<String, Entry>) -> Result<Searcher, Error> {
        if map.is_empty() {
            return Ok(Searcher {
                ac: None,
                entries: Vec::new(),
            });
        }
        let (pats, entries): (Vec<String>, Vec<Entry>) = map.into_iter().unzip();
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&pats)
            .map_err(|_| Error::usage("the protected values cannot be searched for"))?;
        Ok(Searcher {
            ac: Some(ac),
            entries,
        })
    }

    fn search(
        &self,
        s: &Stretch,
        hay: &str,
        edges: &[usize],
        found: &mut BTreeSet<(String, &'static str)>,
    ) {
        let Some(ac) = &self.ac else { return };
        for m in ac.find_overlapping_iter(hay) {
            let (Ok(a), Ok(b)) = (
                edges.binary_search(&m.start()),
                edges.binary_search(&m.end()),
            ) else {
                continue;
            };
            let Some(e) = self.entries.get(m.pattern().as_usize()) else {
                continue;
            };
            let spans = b - a;
            match e.kind {
                Kind::Date => {
                    if spans >= 8 || e.atoms & (1 << spans) == 0 {
                        continue;
                    }
                }
                Kind::Number => {
                    if continues_number(s, a, b) {
                        continue;
                    }
                }
                Kind::Part => {
                    if spans != 1 {
                        continue;
                    }
                }
                Kind::Text => {}
            }
            found.insert((e.column.clone(), e.kind.as_str()));
        }
    }
}

/// Whether atoms `a..b` of a stretch are the middle of a longer number:
/// a digit atom right before them after one of `,.'_`, or one right after
/// them that is not one or two zeros (a fraction `.0` or `.00` is the same
/// number; `,000` is a group of thousands).
fn continues_number(s: &Stretch, a: usize, b: usize) -> bool {
    let glue = |g: &str| matches!(g, "," | "." | "'" | "_" | "\u{2019}");
    let before =
        a > 0 && s.digits.get(a - 1) == Some(&true) && s.gaps.get(a).is_some_and(|g| glue(g));
    let after = s.digits.get(b) == Some(&true)
        && s.gaps.get(b).is_some_and(|g| glue(g))
        && !(s.gaps.get(b).is_some_and(|g| g == "." || g == ",")
            && s.plain_edges
                .get(b)
                .zip(s.plain_edges.get(b + 1))
                .and_then(|(&x, &y)| s.plain.get(x..y))
                .is_some_and(|t| t.len() <= 2 && t.bytes().all(|c| c == b'0')));
    before || after
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(value: &str, text: &str) -> bool {
        let mut fs = Vec::new();
        forms(value, &mut fs);
        let mut plain = HashMap::new();
        let mut dated = HashMap::new();
        for f in fs {
            let map = if f.kind == Kind::Date {
                &mut dated
            } else {
                &mut plain
            };
            map.entry(f.text)
                .and_modify(|e: &mut Entry| e.atoms |= f.atoms)
                .or_insert(Entry {
                    column: "t.c".into(),
                    kind: f.kind,
                    atoms: f.atoms,
                });
        }
        let (p, d) = (Searcher::new(plain).unwrap(), Searcher::new(dated).unwrap());
        let mut found = BTreeSet::new();
        for s in reduce(text) {
            p.search(&s, &s.plain, &s.plain_edges, &mut found);
            d.search(&s, &s.dated, &s.dated_edges, &mut found);
        }
        !found.is_empty()
    }

    #[test]
    fn names_in_any_spelling() {
        for text in [
            "Liam Johnson",
            "Liam_Johnson",
            "liam.johnson",
            "LiamJohnson",
            "liamjohnson",
            "LIAM-JOHNSON",
            "Johnson, Liam",
            "johnson",
            "L\u{00ED}am J\u{00F6}hns\u{00F6}n",
            "Ｌｉａｍ Ｊｏｈｎｓｏｎ",
            "Li\u{200B}am Johns\u{043E}n",
            "liam - johnson",
        ] {
            assert!(hit("Liam Johnson", &format!("by {text}.")), "{text}");
        }
        for text in ["williamjohnsons", "Johnsonville", "Lia Johns"] {
            assert!(!hit("Liam Johnson", text), "{text}");
        }
    }

    #[test]
    fn numbers_and_dates_in_any_spelling() {
        for text in [
            "68794",
            "68,794",
            "68 794",
            "68.794",
            "68\u{00A0}794",
            "$68,794.00",
            "86439.0",
        ] {
            let v = if text == "86439.0" { "86439" } else { "68794" };
            assert!(hit(v, &format!("is {text} now")), "{text}");
        }
        for text in ["68794.5", "168794", "68,794,000", "1.68794"] {
            assert!(!hit("68794", text), "{text}");
        }
        assert!(!hit("1234", "1,234,567"));
        for text in [
            "1993-06-24",
            "06/24/1993",
            "1993/06/24",
            "24.06.1993",
            "6/24/93",
            "June 24, 1993",
            "24th June 1993",
            "jun 24th, 93",
            "19930624",
            "1993-06-24 10:00:00",
            "１９９３－０６－２４",
        ] {
            assert!(hit("1993-06-24", &format!("born {text}.")), "{text}");
        }
        for text in ["1993-06", "June 1993", "1993", "2024-09", "110920.875"] {
            assert!(!hit("1993-06-24", text), "{text}");
        }
        assert!(hit("(512) 555-0151", "call 512.555.0151"));
        assert!(hit("CUST-686571", "number 686571"));
        assert!(hit("CUST-686571", "cust686571"));
    }
}
