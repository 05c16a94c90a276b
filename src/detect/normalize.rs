//! How a known value and a text are brought to one spelling before they are
//! compared (the choices are documented on the parent module).
//!
//! Everything here works one character at a time, so that the text can be
//! normalised while it is walked, with no copy of it and with each byte of
//! a key tied to the character it came from:
//!
//! - **Text keys**: compatibility decomposition (NFKD, so a composed and a
//!   decomposed `é`, a ligature `ﬁ` and its letters, a fullwidth `Ａ` and
//!   `A` are one), combining marks dropped, full lowercase,
//!   `ß` → `ss`, final `ς` → `σ`, the Cyrillic and Greek letters that look
//!   like Latin ones mapped to them, typographic apostrophes → `'`,
//!   invisible characters (zero-width spaces and joiners, soft hyphens,
//!   direction marks, variation selectors) dropped, and every run of white
//!   space one space.
//! - **Digit keys** (values that are mostly digits): the letters and digits
//!   only, lowercased, with the separators between them dropped; digits of
//!   other scripts (Arabic-Indic, Devanagari, fullwidth, mathematical) are
//!   their ASCII digit; any run of separators may stand between them.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Whether a character separates words like white space: Unicode white
/// space and control characters (a tab, a vertical tab, a unit separator).
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || c.is_control()
}

/// [`is_space`] for an ASCII byte.
pub(crate) fn is_ascii_space(b: u8) -> bool {
    b == b' ' || b.is_ascii_control()
}

/// Whether a character is dropped before comparing: invisible format
/// characters (the Unicode default-ignorable code points).
pub(crate) fn ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Combining marks (accents, and the vowel signs of other scripts),
/// dropped after decomposition: `Zoë` and `Zoe` are one name, and marks
/// stacked on letters (`H̸a̸r̸r̸i̸e̸t̸`) hide nothing. In scripts whose marks
/// are vowels this makes a few names share a key; each is still found.
pub(crate) fn diacritic(c: char) -> bool {
    !c.is_ascii() && is_combining_mark(c)
}

/// Whether a character stands for no byte of a key (invisible, or an accent
/// that decomposition separates).
pub(crate) fn dropped(c: char) -> bool {
    ignorable(c) || diacritic(c)
}

/// A lowercase letter that looks like a Latin one, as that letter.
fn confusable(c: char) -> char {
    match c {
        // Cyrillic.
        'а' => 'a',
        'в' => 'b',
        'е' | 'ё' | 'є' => 'e',
        'і' | 'ї' => 'i',
        'ј' => 'j',
        'к' => 'k',
        'м' => 'm',
        'н' => 'h',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'т' => 't',
        'у' => 'y',
        'х' => 'x',
        'ѕ' => 's',
        'ԁ' => 'd',
        'ԛ' => 'q',
        'ԝ' => 'w',
        'ӏ' => 'l',
        'һ' => 'h',
        // Greek.
        'α' => 'a',
        'β' => 'b',
        'ε' => 'e',
        'η' => 'h',
        'ι' => 'i',
        'κ' => 'k',
        'μ' => 'm',
        'ν' => 'n',
        'ο' => 'o',
        'ρ' => 'p',
        'τ' => 't',
        'υ' => 'y',
        'χ' => 'x',
        'ζ' => 'z',
        'ϲ' => 'c',
        'ς' => 's',
        'σ' => 's',
        // Latin look-alikes.
        'ı' => 'i',
        'ɑ' => 'a',
        'ɡ' => 'g',
        'ʟ' => 'l',
        other => other,
    }
}

/// Whether a character is an apostrophe, typographic or a prime (what
/// [`apostrophe`] reads as `'`).
pub(crate) fn is_apostrophe(c: char) -> bool {
    apostrophe(c) == '\''
}

/// Typographic apostrophes and primes, as `'`.
fn apostrophe(c: char) -> char {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{02BC}' | '\u{02B9}' | '\u{2032}' | '`'
        | '\u{00B4}' | '\u{FF07}' => '\'',
        other => other,
    }
}

/// Appends the bytes one character of a text value stands for. White space
/// is the caller's (runs become one space); this appends nothing for it.
pub(crate) fn push_text_char(c: char, out: &mut Vec<u8>) {
    if c.is_ascii() {
        if !is_ascii_space(c as u8) {
            out.push(c.to_ascii_lowercase() as u8);
        }
        return;
    }
    if dropped(c) || is_space(c) {
        return;
    }
    let c = apostrophe(c);
    if c == '\'' {
        out.push(b'\'');
        return;
    }
    decompose_compatible(c, |d| {
        if dropped(d) || is_space(d) {
            return;
        }
        for l in d.to_lowercase() {
            if l == 'ß' {
                out.extend_from_slice(b"ss");
                continue;
            }
            let l = confusable(l);
            let mut b = [0u8; 4];
            out.extend_from_slice(l.encode_utf8(&mut b).as_bytes());
        }
    });
}

/// The key of a text value: its characters normalised, white-space runs as
/// one space, none at either end.
pub(crate) fn text_key(v: &str, out: &mut Vec<u8>) {
    out.clear();
    let mut pending = false;
    if v.is_ascii() {
        for b in v.bytes() {
            if is_ascii_space(b) {
                pending = !out.is_empty();
                continue;
            }
            if pending {
                out.push(b' ');
                pending = false;
            }
            out.push(b.to_ascii_lowercase());
        }
        return;
    }
    let mut one = Vec::with_capacity(8);
    for c in v.chars() {
        if is_space(c) {
            pending = !out.is_empty();
            continue;
        }
        one.clear();
        push_text_char(c, &mut one);
        if one.is_empty() {
            continue;
        }
        if pending {
            out.push(b' ');
            pending = false;
        }
        out.extend_from_slice(&one);
    }
}

/// The zero of each script's decimal digits that compatibility
/// decomposition does not map to ASCII (Unicode's `Nd` ranges).
const DIGIT_ZEROS: &[u32] = &[
    0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6,
    0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50,
    0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0x104A0,
    0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0,
    0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50, 0x1E140,
    0x1E2F0, 0x1E950,
];

/// The byte a character stands for in a digit key: an ASCII letter
/// (lowercased) or digit, after decomposition and the look-alike map; a
/// digit of another script as its ASCII digit. `None` for anything else.
pub(crate) fn digit_byte(c: char) -> Option<u8> {
    if c.is_ascii() {
        return c
            .is_ascii_alphanumeric()
            .then(|| c.to_ascii_lowercase() as u8);
    }
    let cp = u32::from(c);
    if let Some(&z) = DIGIT_ZEROS.iter().find(|&&z| (z..z + 10).contains(&cp)) {
        return u8::try_from(cp - z).ok().map(|d| b'0' + d);
    }
    let mut found: Option<u8> = None;
    let mut extra = false;
    decompose_compatible(c, |d| {
        if dropped(d) {
            return;
        }
        let mut lower = d.to_lowercase();
        let l = lower.next().map(confusable);
        match (l, found) {
            (Some(l), None) if l.is_ascii_alphanumeric() && lower.next().is_none() => {
                found = Some(l as u8);
            }
            _ => extra = true,
        }
    });
    if extra {
        None
    } else {
        found
    }
}

/// Separators a digit key may be written with between its characters
/// (`789-28-1752`, `789 28 1752`, `789.28.1752`, `(512) 555-0151`,
/// `1,234,567`).
pub(crate) fn digit_gap(c: char) -> bool {
    is_space(c)
        || matches!(
            c,
            '-' | '.' | '/' | '\\' | '(' | ')' | '[' | ']' | '+' | ',' | '_' | '\u{2010}'
                ..='\u{2015}'
                    | '\u{2212}'
                    | '\u{00B7}'
                    | '\u{2024}'
                    | '\u{FE58}'
                    | '\u{FE63}'
                    | '\u{FF0D}'
                    | '\u{FF0E}'
                    | '\u{3000}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(v: &str) -> String {
        let mut out = Vec::new();
        text_key(v, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn one_spelling() {
        assert_eq!(key("  Zoë   Hall "), "zoe hall");
        assert_eq!(key("Zoe\u{0308}\u{00A0}Hall"), "zoe hall");
        assert_eq!(key("ZOË HALL"), "zoe hall");
        assert_eq!(key("Har\u{200B}riet"), "harriet");
        assert_eq!(key("Ｈａｒｒｉｅｔ"), "harriet");
        assert_eq!(key("Sofia"), key("So\u{FB01}a"));
        assert_eq!(key("O’Brien"), "o'brien");
        assert_eq!(key("Straße"), key("STRASSE"));
        // Cyrillic а and о for Latin a and o.
        assert_eq!(key("H\u{0430}rriet M\u{043E}rgan"), "harriet morgan");
        assert_eq!(key("ΟΔΥΣΣΕΥΣ"), key("Οδυσσεύς"));
    }

    #[test]
    fn digits() {
        let d: String = "７٨9𝟏"
            .chars()
            .filter_map(digit_byte)
            .map(char::from)
            .collect();
        assert_eq!(d, "7891");
        assert_eq!(digit_byte('Ａ'), Some(b'a'));
        assert_eq!(digit_byte('é'), Some(b'e'));
        assert_eq!(digit_byte('-'), None);
        assert_eq!(digit_byte('½'), None);
    }
}
