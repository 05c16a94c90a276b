//! Searching texts for the forms of protected values: forward (every form
//! of every value in an automaton, run over texts: the evaluation's check)
//! and inverted (every stretch of a few texts in a map, each value's forms
//! looked up as the values stream past: examples at load, at any data size).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::forms::{forms, fraction, Form};
use super::reduce::{reduce, Stretch};
use super::{Kind, MIN_LEN};
use crate::error::Error;

/// One protected value found in a text: the column, the kind of form and
/// the form as searched (reduced; it holds the value, so it never leaves
/// the process but as a keyed fingerprint).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Found {
    pub(crate) column: String,
    pub(crate) kind: Kind,
    pub(crate) form: String,
}

impl std::fmt::Debug for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Found")
            .field("column", &self.column)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Whether a value is long enough to be searched.
fn searched(v: &str) -> bool {
    v.chars().filter(|c| c.is_alphanumeric()).count() >= MIN_LEN
}

/// The forms of public values (of `allow` columns), which exempt a
/// protected value's equal form, and their words, which exempt a name's
/// equal word.
#[derive(Default)]
struct Public {
    forms: HashSet<String>,
    words: HashSet<String>,
}

impl Public {
    fn add(&mut self, v: &str, fs: &mut Vec<Form>, keep: impl Fn(&str) -> bool) {
        // A number with a fraction (`864.39`) is another number than its
        // digits (`86439`): it exempts nothing.
        if fraction(v) {
            return;
        }
        forms(v, fs);
        self.forms
            .extend(fs.drain(..).map(|f| f.text).filter(|t| keep(t)));
        for s in reduce(v) {
            for w in s.plain_edges.windows(2) {
                if let Some(word) = s.plain.get(w[0]..w[1]) {
                    if keep(word) {
                        self.words.insert(word.to_string());
                    }
                }
            }
        }
    }

    fn exempts(&self, f: &Form) -> bool {
        self.forms.contains(&f.text) || (f.kind == Kind::Part && self.words.contains(&f.text))
    }
}

/// The data's values, gathered for the forward search.
#[derive(Default)]
pub(crate) struct Values {
    values: BTreeMap<String, String>,
    public: Vec<String>,
    /// Protected values not searched, being shorter than [`MIN_LEN`].
    pub(crate) skipped_short: usize,
}

impl Values {
    /// No values yet.
    pub(crate) fn new() -> Values {
        Values::default()
    }

    /// A value of a column the rules show as is.
    pub(crate) fn public(&mut self, v: &str) {
        self.public.push(v.trim().to_string());
    }

    /// A value of a protected column `table.column`.
    pub(crate) fn protected(&mut self, column: &str, v: &str) {
        let v = v.trim();
        if !searched(v) {
            self.skipped_short += 1;
        } else {
            self.values
                .entry(v.to_string())
                .or_insert_with(|| column.to_string());
        }
    }

    /// Distinct protected values searched for.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// The automata over every form of every value, and how many forms the
    /// public values exempted.
    pub(crate) fn matcher(self) -> Result<(Matcher, usize), Error> {
        let mut fs = Vec::new();
        let mut public = Public::default();
        for v in &self.public {
            public.add(v, &mut fs, |_| true);
        }
        let mut exempted = 0;
        // Form → entry; a form of two values keeps the first column's.
        let mut plain: HashMap<String, Entry> = HashMap::new();
        let mut dated: HashMap<String, Entry> = HashMap::new();
        for (v, column) in &self.values {
            forms(v, &mut fs);
            for f in fs.drain(..) {
                if public.exempts(&f) {
                    exempted += 1;
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
        Ok((
            Matcher {
                plain: Searcher::new(plain)?,
                dated: Searcher::new(dated)?,
            },
            exempted,
        ))
    }
}

/// One searched form: its column, kind and atom constraint.
struct Entry {
    column: String,
    kind: Kind,
    atoms: u8,
}

/// Whether a form found over atoms `a..b` of a stretch counts (atoms of
/// the dated reading for a date: it drops `of`, `the` and ordinals).
fn counts(kind: Kind, atoms: u8, s: &Stretch, a: usize, b: usize) -> bool {
    let spans = b - a;
    // The plain atoms a dated span covers, for the checks of a number.
    let (a, b) = if kind == Kind::Date {
        match (
            s.dated_atoms.get(a),
            b.checked_sub(1).and_then(|l| s.dated_atoms.get(l)),
        ) {
            (Some(&x), Some(&y)) => (x, y + 1),
            _ => return false,
        }
    } else {
        (a, b)
    };
    match kind {
        // A day in one atom (`19930624`, `240693`) is a number: not the
        // middle of a longer one (`110920.875`).
        Kind::Date => {
            spans < 8 && atoms & (1 << spans) != 0 && (spans > 1 || !continues_number(s, a, b))
        }
        Kind::Number => !continues_number(s, a, b),
        Kind::Part => spans == 1,
        Kind::Text => true,
    }
}

/// The forward search: every form in two automata (plain and dated
/// readings).
pub(crate) struct Matcher {
    plain: Searcher,
    dated: Searcher,
}

impl Matcher {
    /// Every protected value found in a text.
    pub(crate) fn find(&self, text: &str, found: &mut BTreeSet<Found>) {
        for s in reduce(text) {
            self.plain.search(&s, &s.plain, &s.plain_edges, found);
            self.dated.search(&s, &s.dated, &s.dated_edges, found);
        }
    }
}

/// An automaton over forms.
struct Searcher {
    ac: Option<AhoCorasick>,
    pats: Vec<String>,
    entries: Vec<Entry>,
}

impl Searcher {
    fn new(map: HashMap<String, Entry>) -> Result<Searcher, Error> {
        if map.is_empty() {
            return Ok(Searcher {
                ac: None,
                pats: Vec::new(),
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
            pats,
            entries,
        })
    }

    fn search(&self, s: &Stretch, hay: &str, edges: &[usize], found: &mut BTreeSet<Found>) {
        let Some(ac) = &self.ac else { return };
        for m in ac.find_overlapping_iter(hay) {
            let (Ok(a), Ok(b)) = (
                edges.binary_search(&m.start()),
                edges.binary_search(&m.end()),
            ) else {
                continue;
            };
            let i = m.pattern().as_usize();
            let (Some(e), Some(form)) = (self.entries.get(i), self.pats.get(i)) else {
                continue;
            };
            if counts(e.kind, e.atoms, s, a, b) {
                found.insert(Found {
                    column: e.column.clone(),
                    kind: e.kind,
                    form: form.clone(),
                });
            }
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

/// Whether a value may be a day (`YYYY-MM-DD…`): days are not filtered.
fn looks_like_day(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() >= 10 && b.get(4) == Some(&b'-') && b.get(7) == Some(&b'-')
}

/// The atoms of an ASCII text as `reduce` makes them: runs of letters
/// (lowercase; split where a capital follows a lower-case letter) and runs
/// of digits.
fn ascii_atoms(v: &str) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let (mut digit, mut prev_lower) = (false, false);
    for b in v.bytes() {
        let letter = b.is_ascii_alphabetic();
        if !letter && !b.is_ascii_digit() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        let split = !cur.is_empty()
            && (digit == letter || (letter && b.is_ascii_uppercase() && prev_lower));
        if split {
            out.push(std::mem::take(&mut cur));
        }
        digit = !letter;
        prev_lower = b.is_ascii_lowercase();
        cur.push(b.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Strings one of which every form of an ASCII value that the example
/// check counts holds: its longest atom (in the whole value and reversed),
/// its digits when it has 8 or more (a number), its local part's longest
/// atom (an email's), each word's longest atom (a word whole, and the
/// surname in an initial and surname).
fn anchors(v: &str) -> Vec<Vec<u8>> {
    let longest = |atoms: Vec<Vec<u8>>| atoms.into_iter().max_by_key(Vec::len);
    let mut out = Vec::new();
    let atoms = ascii_atoms(v);
    let digits: Vec<u8> = atoms
        .iter()
        .filter(|a| a.first().is_some_and(u8::is_ascii_digit))
        .flatten()
        .copied()
        .collect();
    if digits.len() >= 8 {
        out.push(digits);
    }
    out.extend(longest(atoms));
    if let Some((local, _)) = v.split_once('@') {
        out.extend(longest(ascii_atoms(local)));
    }
    for w in v.split_whitespace() {
        out.extend(longest(ascii_atoms(w)));
    }
    out
}

/// Where a stretch of a text was seen: the text, the stretch, its atoms
/// `a..b`, and whether in the dated reading.
#[derive(Clone, Copy)]
struct Loc {
    text: usize,
    stretch: usize,
    a: usize,
    b: usize,
}

/// The most atoms a form may span in the inverted search's map; longer
/// forms are looked for by a scan of the texts.
const MAX_SPAN: usize = 16;

/// The inverted search, for a few short texts against data of any size:
/// every run of up to [`MAX_SPAN`] atoms of each text, in a map; each value's
/// forms are looked up as the values stream past.
pub(crate) struct Texts {
    stretches: Vec<Vec<Stretch>>,
    plain: HashMap<String, Vec<Loc>>,
    dated: HashMap<String, Vec<Loc>>,
    public: Public,
    /// Which kinds count, and the fewest digits of a number that counts.
    parts: bool,
    min_number: usize,
    fs: Vec<Form>,
    /// Every 4 bytes in a row of the texts' stretches (both readings).
    grams: HashSet<[u8; 4]>,
}

impl Texts {
    /// The texts to search. `parts`: whether one word of a name counts;
    /// `min_number`: the fewest digits a number must have to count.
    pub(crate) fn new(texts: &[&str], parts: bool, min_number: usize) -> Texts {
        let mut plain: HashMap<String, Vec<Loc>> = HashMap::new();
        let mut dated: HashMap<String, Vec<Loc>> = HashMap::new();
        let mut stretches = Vec::new();
        for (t, text) in texts.iter().enumerate() {
            let ss = reduce(text);
            for (si, s) in ss.iter().enumerate() {
                for (map, hay, edges) in [
                    (&mut plain, &s.plain, &s.plain_edges),
                    (&mut dated, &s.dated, &s.dated_edges),
                ] {
                    for a in 0..edges.len() {
                        for b in a + 1..edges.len().min(a + MAX_SPAN + 1) {
                            if let Some(sub) = edges
                                .get(a)
                                .zip(edges.get(b))
                                .and_then(|(&x, &y)| hay.get(x..y))
                            {
                                map.entry(sub.to_string()).or_default().push(Loc {
                                    text: t,
                                    stretch: si,
                                    a,
                                    b,
                                });
                            }
                        }
                    }
                }
            }
            stretches.push(ss);
        }
        let mut grams = HashSet::new();
        for s in stretches.iter().flatten() {
            for hay in [&s.plain, &s.dated] {
                for w in hay.as_bytes().windows(4) {
                    if let Ok(g) = <[u8; 4]>::try_from(w) {
                        grams.insert(g);
                    }
                }
            }
        }
        Texts {
            stretches,
            plain,
            dated,
            public: Public::default(),
            parts,
            min_number,
            fs: Vec::new(),
            grams,
        }
    }

    /// A value of a column the rules show as is: its forms found in the
    /// texts are exempt. Give every public value before the first
    /// protected one.
    pub(crate) fn public(&mut self, v: &str) {
        let (plain, dated) = (&self.plain, &self.dated);
        self.public.add(v.trim(), &mut self.fs, |t| {
            plain.contains_key(t) || dated.contains_key(t)
        });
    }

    /// The first text that holds a form of a protected value of column
    /// `table.column`, and what was found.
    pub(crate) fn protected(&mut self, column: &str, v: &str) -> Option<(usize, Found)> {
        let v = v.trim();
        if !searched(v) || self.short_number(v) || self.surely_absent(v) {
            return None;
        }
        self.search_forms(column, v)
    }

    /// [`protected`](Self::protected) without the quick rejections.
    fn search_forms(&mut self, column: &str, v: &str) -> Option<(usize, Found)> {
        forms(v, &mut self.fs);
        let mut hit = None;
        for f in &self.fs {
            let wanted = match f.kind {
                Kind::Part => self.parts,
                Kind::Number => f.text.len() >= self.min_number,
                Kind::Text => true,
                Kind::Date => true,
            };
            if !wanted || self.public.exempts(f) {
                continue;
            }
            if let Some(t) = self.locate(f) {
                hit = Some((
                    t,
                    Found {
                        column: column.to_string(),
                        kind: f.kind,
                        form: f.text.clone(),
                    },
                ));
                break;
            }
        }
        hit
    }

    /// Whether no form of an ASCII value can be in the texts, from its
    /// anchors (see [`anchors`]): each form counted here holds one, and a
    /// found form's anchor has all its 4-byte windows among the texts'.
    /// Only where neither parts nor numbers under 8 digits count (the
    /// example check), which is what the anchors assume.
    fn surely_absent(&self, v: &str) -> bool {
        if self.parts || self.min_number < 8 || !v.is_ascii() || looks_like_day(v) {
            return false;
        }
        let present = |a: &[u8]| {
            a.len() < 4
                || a.windows(4)
                    .all(|w| <[u8; 4]>::try_from(w).is_ok_and(|g| self.grams.contains(&g)))
        };
        !anchors(v).iter().any(|a| present(a))
    }

    /// Whether a value is a number (no letters) with fewer digits than
    /// count: every form of it would be one (a day has 8 digits).
    fn short_number(&self, v: &str) -> bool {
        let mut digits = 0;
        for c in v.chars() {
            if c.is_alphabetic() {
                return false;
            }
            digits += usize::from(c.is_numeric());
        }
        digits < self.min_number
    }

    /// The first text where a form counts.
    fn locate(&self, f: &Form) -> Option<usize> {
        let dated = f.kind == Kind::Date;
        let map = if dated { &self.dated } else { &self.plain };
        let stretch = |l: &Loc| self.stretches.get(l.text)?.get(l.stretch);
        if let Some(locs) = map.get(&f.text) {
            return locs
                .iter()
                .find(|l| stretch(l).is_some_and(|s| counts(f.kind, f.atoms, s, l.a, l.b)))
                .map(|l| l.text);
        }
        if f.text.is_empty() || f.text.len() <= MAX_SPAN {
            return None;
        }
        // A form that may span more atoms than the map holds: a scan.
        for (t, ss) in self.stretches.iter().enumerate() {
            for s in ss {
                let (hay, edges) = if dated {
                    (&s.dated, &s.dated_edges)
                } else {
                    (&s.plain, &s.plain_edges)
                };
                for (start, _) in hay.match_indices(f.text.as_str()) {
                    let end = start + f.text.len();
                    if let (Ok(a), Ok(b)) = (edges.binary_search(&start), edges.binary_search(&end))
                    {
                        if b - a > MAX_SPAN && counts(f.kind, f.atoms, s, a, b) {
                            return Some(t);
                        }
                    }
                }
            }
        }
        None
    }
}
#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::{Texts, Values};

    /// Whether the forward search finds `value` in `text`; the inverted
    /// search must agree.
    fn hit(value: &str, text: &str) -> bool {
        let mut values = Values::new();
        values.protected("t.c", value);
        let (m, _) = values.matcher().unwrap();
        let mut found = BTreeSet::new();
        m.find(text, &mut found);
        let mut texts = Texts::new(&[text], true, 0);
        let inverted = texts.protected("t.c", value).is_some();
        assert_eq!(!found.is_empty(), inverted, "{value:?} in {text:?}");
        inverted
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

    #[test]
    fn more_forms_of_names_numbers_and_dates() {
        for (v, text) in [
            ("Liam Johnson", "ljohnson"),
            ("Liam Johnson", "LJohnson"),
            ("Liam Johnson", "l.johnson"),
            ("Priya M\u{00FC}ller", "Mueller"),
            ("Priya M\u{00FC}ller", "Muller"),
            ("Sarah O'Brien", "OBrien"),
            ("Sarah O'Brien", "Obrien"),
            ("Sarah O'Brien", "O Brien"),
            ("(512) 555-0151", "555-0151"),
            ("(512) 555-0151", "555 0151"),
            ("1993-06-24", "240693"),
            ("1993-06-24", "062493"),
            ("1993-06-24", "930624"),
            ("1993-06-24", "1993\u{5E74}6\u{6708}24\u{65E5}"),
            ("1993-06-24", "1993\u{B144} 6\u{C6D4} 24\u{C77C}"),
        ] {
            assert!(hit(v, &format!("by {text}.")), "{v} in {text}");
        }
        // A short surname makes no initial form (`along`); a card number has
        // no seven-digit form; six digits that continue a number are not a
        // date.
        assert!(!hit("Amy Long", "along"));
        assert!(!hit("4146005490029788", "0029788"));
        assert!(!hit("1993-06-24", "1,240,693"));
        assert!(!hit("2020-09-11", "an average of 110920.875"));
    }

    /// The example check's quick rejection never drops a value that a form
    /// of it would find: every value against every text, with and without.
    #[test]
    fn the_quick_rejection_drops_no_finding() {
        let values = [
            "Liam Johnson",
            "liam.johnson@hotmail.com",
            "s.muller9@hotmail.com",
            "Sarah O'Brien",
            "(512) 555-0151",
            "+44 20 7946 0958",
            "CUST-686571",
            "3253 Lake Way, Apt 27C",
            "4146005490029788",
            "4146-0054-9002-9788",
            "Ann Lee",
            "AB-12-34-56-78",
            "MaryJane Smith-Jones",
        ];
        let texts = [
            "what did liamjohnson order",
            "by johnson, liam",
            "mail liam . johnson @ hotmail . com",
            "ask s.muller9 or smuller9",
            "sarah obrien and OBrien",
            "call 512 555 0151 or 5125550151",
            "ring 02079460958",
            "customer cust 686571 and 686571",
            "3253 lake way apt 27c",
            "card 4146 0054 9002 9788",
            "ann lee and annlee",
            "code 12345678 ab",
            "smith jones and smithjones, maryjane",
            "nothing here at all",
        ];
        for t in texts {
            let mut with = Texts::new(&[t], false, 8);
            let mut without = Texts::new(&[t], false, 8);
            for v in values {
                let fast = with.protected("t.c", v).map(|(_, f)| f.form);
                let full = without.search_forms("t.c", v).map(|(_, f)| f.form);
                assert_eq!(fast, full, "{v:?} in {t:?}");
            }
        }
        // And it does reject: a name none of whose words is there.
        let texts = Texts::new(&["how many orders per city"], false, 8);
        assert!(texts.surely_absent("Liam Johnson"));
        assert!(!texts.surely_absent("Ann Lee"));
    }
}
