//! Finding the known values in a text: the walks through the two FSTs.

use fst::raw::{Fst, Output};
use fst::Map;

use super::build::INITIAL;
use super::spec::{KnownColumn, Replace};
use super::value::{column_of, stored, LETTERS, PART};
use super::KnownValues;
use crate::detect::is_word;
use crate::detect::normalize::{
    diacritic, digit_byte, digit_gap, dropped, ignorable, is_ascii_space, is_space, push_text_char,
};

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
fn forks<'f>(k: &Cursor<'f>, kb: &[u8], waiting: bool, out: &mut Vec<Branch<'f>>) {
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

/// A branch of a walk: its cursor, its key, and whether white space waits.
type Branch<'f> = (Cursor<'f>, Vec<u8>, bool);

/// After white space in the text: every branch whose key does not end in a
/// break waits for one.
fn space_waits(joined: &mut [Branch<'_>]) {
    for b in joined.iter_mut() {
        b.2 = b.1.last().is_some_and(|&b| b != b' ' && b != b'-');
    }
}

/// Steps the branches over the bytes `one` of the character `c` into
/// `joined`, calling `on_read` with each branch that read `c` (and so may
/// end a value there).
fn step_branches<'f>(
    branches: Vec<Branch<'f>>,
    c: char,
    one: &[u8],
    joined: &mut Vec<Branch<'f>>,
    mut on_read: impl FnMut(&Cursor<'f>, &[u8]),
) {
    for (mut k, mut kb, waiting) in branches {
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
            on_read(&k, &kb);
            joined.push((k, kb, false));
        }
    }
}

/// Two readings at one key are one (a hyphen read as itself and as the
/// value's hyphen); `main` is the key of the branch as written, if alive.
fn drop_duplicates(joined: &mut Vec<Branch<'_>>, main: Option<&[u8]>) {
    let mut i = 0;
    while i < joined.len() {
        let dup = main.is_some_and(|m| joined[i].1 == m)
            || joined[..i].iter().any(|b| b.1 == joined[i].1);
        if dup {
            joined.swap_remove(i);
        } else {
            i += 1;
        }
    }
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

/// Whether a hit of a name's initial and surname is written as one: a
/// break after the initial (`L. Johnson`, `l_johnson`) or a capital
/// initial and surname (`LJohnson`), not one word in one case (`ljohnson`,
/// `shopper`, `SHOPPER`).
fn written_as_initial(hit: &str) -> bool {
    let mut cs = hit.chars().filter(|c| !ignorable(*c));
    let (Some(a), Some(b), Some(c)) = (cs.next(), cs.next(), cs.next()) else {
        return false;
    };
    !b.is_alphanumeric() || (a.is_uppercase() && b.is_uppercase() && c.is_lowercase())
}

/// A known-value hit: the range, the column (of the index it was found
/// with) and the value as stored.
pub(crate) struct KnownHit<'k> {
    pub(crate) range: std::ops::Range<usize>,
    pub(crate) column: &'k KnownColumn,
    pub(crate) value: String,
    pub(crate) specificity: u8,
}

impl KnownValues {
    /// Every hit on word boundaries, overlapping ones included.
    pub(crate) fn find<'k>(&'k self, text: &str, out: &mut Vec<KnownHit<'k>>) {
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
    fn walk_text<'k>(
        &'k self,
        fst: &Fst<Vec<u8>>,
        text: &str,
        p: usize,
        key: &mut Vec<u8>,
        one: &mut Vec<u8>,
        out: &mut Vec<KnownHit<'k>>,
    ) {
        let Some(rest) = text.get(p..) else { return };
        // The first branch reads the text as written; `key` is its key.
        let mut cur: Option<Cursor<'_>> = None;
        key.clear();
        let mut pending = false;
        // Other branches: a cursor, its key, and whether white space waits.
        let mut joined: Vec<Branch<'_>> = Vec::new();
        let mut main_alive = true;
        for (i, c) in rest.char_indices() {
            one.clear();
            if c.is_ascii() {
                if is_ascii_space(c as u8) {
                    pending = !key.is_empty();
                    space_waits(&mut joined);
                    continue;
                }
                one.push(c.to_ascii_lowercase() as u8);
            } else {
                if is_space(c) {
                    pending = !key.is_empty();
                    space_waits(&mut joined);
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
            let mut new: Vec<Branch<'_>> = Vec::new();
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
                        self.text_hit(text, p..end, c, v, key, out);
                    }
                }
            }
            // The other branches, and the new ones that read `c`.
            to_step.append(&mut joined);
            step_branches(to_step, c, one, &mut joined, |k, kb| {
                if let Some(v) = k.value() {
                    self.text_hit(text, p..end, c, v, kb, out);
                }
            });
            joined.append(&mut spaced);
            drop_duplicates(&mut joined, main_alive.then_some(key.as_slice()));
            if !main_alive && joined.is_empty() {
                return;
            }
        }
    }

    /// Follows the digit FST from `p` over the letters and digits of the
    /// text, across short runs of separators.
    fn walk_digits<'k>(
        &'k self,
        fst: &Fst<Vec<u8>>,
        text: &str,
        p: usize,
        at_word: bool,
        key: &mut Vec<u8>,
        out: &mut Vec<KnownHit<'k>>,
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

    /// A match in the text FST: a name's initial and surname (`INITIAL`)
    /// counts only written as one (see [`written_as_initial`]).
    fn text_hit<'k>(
        &'k self,
        text: &str,
        at: std::ops::Range<usize>,
        last: char,
        v: u64,
        key: &[u8],
        out: &mut Vec<KnownHit<'k>>,
    ) {
        if v & INITIAL != 0 && !text.get(at.clone()).is_some_and(written_as_initial) {
            return;
        }
        self.hit(text, at.start, at.end, last, v & !INITIAL, key, false, out);
    }

    /// Checks a whole-key match (end boundary, capitals for parts) and
    /// records it.
    #[allow(clippy::too_many_arguments)]
    fn hit<'k>(
        &'k self,
        text: &str,
        start: usize,
        end: usize,
        last: char,
        v: u64,
        key: &[u8],
        number: bool,
        out: &mut Vec<KnownHit<'k>>,
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
            column: col,
            value,
            specificity: col.specificity,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{hits, person, spec};
    use super::super::{ColumnSpec, KnownValues, KnownValuesOptions};
    use crate::rules::Action;

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
        let o = KnownValuesOptions::default().parts_any_case(true);
        let kv = KnownValues::from_values(&s, v, &o).unwrap();
        assert_eq!(hits(&kv, "young customers"), ["young=Young"]);
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

    #[test]
    fn spellings_people_write_for_a_name() {
        let kv = KnownValues::from_values(
            &[spec(person(), true)],
            &[&[
                "Liam Johnson",
                "Sarah O'Brien",
                "Priya M\u{00FC}ller",
                "Amy Cross",
                "Kim O\u{FF07}Neill",
            ]],
            &KnownValuesOptions::default(),
        )
        .unwrap();
        for (text, value) in [
            ("LJohnson", "Liam Johnson"),
            ("L. Johnson", "Liam Johnson"),
            ("l_johnson", "Liam Johnson"),
            ("Sarah OBrien", "Sarah O'Brien"),
            ("Sarah O Brien", "Sarah O'Brien"),
            ("OBrien", "O'Brien"),
            ("Obrien", "O'Brien"),
            ("Priya Mueller", "Priya M\u{00FC}ller"),
            ("Mueller", "M\u{00FC}ller"),
            // Any apostrophe the text normaliser knows (a full-width one).
            ("Kim ONeill", "Kim O\u{FF07}Neill"),
        ] {
            let h = hits(&kv, &format!("what did {text} buy?"));
            assert!(
                h.iter().any(|h| h == &format!("{text}={value}")),
                "{text}: {h:?}"
            );
        }
        // A surname under 6 letters has no initial form: `across` is a word.
        assert!(hits(&kv, "sold across cities").is_empty());
        // Initial and surname run together in one case are a word as often
        // as a name (`shopper`, S. Hopper).
        for text in ["ljohnson", "Ljohnson", "LJOHNSON"] {
            assert!(hits(&kv, &format!("ask {text} now")).is_empty(), "{text}");
        }
        for text in ["P. Mueller", "pmueller", "S.OBrien"] {
            let h = hits(&kv, &format!("ask {text} now"));
            assert_eq!(h.is_empty(), text == "pmueller", "{text}: {h:?}");
        }
        // A part in lower case is still not a part (`obrien` is not found as
        // `O'Brien`; `mueller` likewise).
        assert!(hits(&kv, "ask obrien").is_empty());
    }

    #[test]
    fn a_phone_is_not_found_by_its_local_part() {
        let phone = ColumnSpec {
            column: "phone".into(),
            ..spec(person(), false)
        };
        let kv = KnownValues::from_values(
            &[phone],
            &[&["(512) 555-0151"]],
            &KnownValuesOptions::default(),
        )
        .unwrap();
        // `200-5000` is a range as often as a phone's last seven digits.
        assert!(hits(&kv, "call 555-0151 now").is_empty());
        assert_eq!(
            hits(&kv, "call 512-555-0151"),
            ["512-555-0151=(512) 555-0151"]
        );
    }
}
