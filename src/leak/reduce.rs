//! Texts and values reduced to atoms and stretches (see the module doc of
//! `leak`).

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

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
    // The characters that separate a date's fields in Chinese, Japanese and
    // Korean (`1993年6月24日`) are read as separators.
    if matches!(c, '年' | '月' | '日' | '년' | '월' | '일') {
        out.push(Unit::Other);
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
pub(crate) struct Stretch {
    /// The atoms as written (lowercase).
    pub(crate) plain: String,
    pub(crate) plain_edges: Vec<usize>,
    /// The atoms with month names as numbers, and ordinal suffixes, `of`
    /// and `the` dropped.
    pub(crate) dated: String,
    pub(crate) dated_edges: Vec<usize>,
    /// Per atom of `dated`: the atom of `plain` it is.
    pub(crate) dated_atoms: Vec<usize>,
    /// Per atom of `plain`: whether it is digits, and the gap before it.
    pub(crate) digits: Vec<bool>,
    pub(crate) gaps: Vec<String>,
}

/// Month names (English), as their number.
pub(crate) fn month(word: &str) -> Option<u32> {
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

/// A text's atoms: each with whether it is digits, and the gap before it.
fn atoms(text: &str) -> Vec<(String, bool, String)> {
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
    atoms
}

/// The stretches of a text.
pub(crate) fn reduce(text: &str) -> Vec<Stretch> {
    let atoms = atoms(text);
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
            s.dated_atoms.push(s.digits.len() - 1);
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
