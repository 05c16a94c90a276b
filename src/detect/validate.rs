//! Checksums and structural rules that turn a pattern match into a hit.
//!
//! Each check gets the whole text and the match's byte range, so that it can
//! look at what stands around the match (a dotted quad that continues a
//! longer dotted run is a version, not an address), and answers with a
//! [`Verdict`]: not a hit, a hit (possibly over a narrower range), or a weak
//! hit that needs a context word.

use std::net::Ipv6Addr;
use std::ops::Range;

use super::builtin::Verdict;

/// The Luhn checksum of a run of ASCII digits.
fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut x = u32::from(d - b'0');
        if i % 2 == 1 {
            x *= 2;
            if x > 9 {
                x -= 9;
            }
        }
        sum += x;
    }
    sum.is_multiple_of(10)
}

/// The ASCII digits of a string, on the stack (the checks run once per
/// candidate, so they do not allocate): the first [`Digits::KEPT`] are
/// kept, all are counted. Every check rejects a count above 19 before it
/// reads the digits.
struct Digits {
    kept: [u8; Digits::KEPT],
    count: usize,
}

impl Digits {
    const KEPT: usize = 40;

    /// How many digits, all counted.
    fn len(&self) -> usize {
        self.count
    }
}

impl std::ops::Deref for Digits {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.kept[..self.count.min(Digits::KEPT)]
    }
}

fn digits_of(s: &str) -> Digits {
    let mut d = Digits {
        kept: [0; Digits::KEPT],
        count: 0,
    };
    for b in s.bytes().filter(u8::is_ascii_digit) {
        if let Some(slot) = d.kept.get_mut(d.count) {
            *slot = b;
        }
        d.count += 1;
    }
    d
}

fn digit_count(s: &str) -> usize {
    s.bytes().filter(u8::is_ascii_digit).count()
}

fn number(d: &[u8]) -> u32 {
    d.iter().fold(0, |n, b| n * 10 + u32::from(b - b'0'))
}

/// The character before byte `at`, and the one before it.
fn before2(text: &str, at: usize) -> (Option<char>, Option<char>) {
    let mut it = text[..at].chars().rev();
    (it.next(), it.next())
}

/// The character at byte `at`, and the one after it.
fn after2(text: &str, at: usize) -> (Option<char>, Option<char>) {
    let mut it = text[at..].chars();
    (it.next(), it.next())
}

fn is_digit(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_digit())
}

/// A dash as word processors write it: `-`, the Unicode dashes, minus.
fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')
}

/// A separator between digit groups: a space (also no-break), `.`, `/` or a
/// dash.
fn is_sep(c: char) -> bool {
    matches!(c, ' ' | '.' | '/' | '\u{a0}' | '\u{202f}') || is_dash(c)
}

/// Whether the match continues a longer run of digits: the digit before
/// (after) it is joined to it by `.`, `/`, a dash, or the separator the
/// match itself uses first (last). `12-789-28-1752` holds no SSN, and the
/// `234769 0441` in `3011 234769 0441` is no phone number.
fn in_longer_run(text: &str, r: &Range<usize>) -> bool {
    let s = &text[r.clone()];
    let joins = |c: char| c == '.' || c == '/' || is_dash(c);
    let starts = s.starts_with(|c: char| c.is_ascii_digit());
    let ends = s.ends_with(|c: char| c.is_ascii_digit());
    let first = s.chars().find(|c| !c.is_ascii_digit());
    let last = s.chars().rev().find(|c| !c.is_ascii_digit());
    let (b1, b2) = before2(text, r.start);
    let (a1, a2) = after2(text, r.end);
    let before = starts && is_digit(b2) && b1.is_some_and(|c| joins(c) || Some(c) == first);
    let after = ends && is_digit(a2) && a1.is_some_and(|c| joins(c) || Some(c) == last);
    before || after
}

/// Whether a digit and a separator stand right before the match.
fn after_a_number(text: &str, at: usize) -> bool {
    let (b1, b2) = before2(text, at);
    b1.is_some_and(is_sep) && is_digit(b2)
}

/// Email: anything the pattern finds, except image names such as
/// `logo@2x.png`.
pub(crate) fn email(text: &str, r: Range<usize>) -> Verdict {
    let s = &text[r.clone()];
    let Some((_, domain)) = s.rsplit_once('@') else {
        return Verdict::Reject;
    };
    let (rest, tld) = domain.rsplit_once('.').unwrap_or(("", domain));
    const IMAGES: &[&str] = &[
        "png", "jpg", "jpeg", "gif", "webp", "svg", "ico", "bmp", "tif", "tiff", "heic", "avif",
    ];
    if IMAGES.iter().any(|e| tld.eq_ignore_ascii_case(e)) {
        return Verdict::Reject;
    }
    // `icon@2x.svg`, `hero@1.5x.webp`: a scale, not a domain.
    let scale = rest
        .strip_suffix(['x', 'X'])
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
    if scale {
        return Verdict::Reject;
    }
    Verdict::Strong(r)
}

/// US SSN: area not 000, 666 or 900–999, group not 00, serial not 0000.
/// `ddd-dd-dddd`, `ddd dd dddd`, `ddd.dd.dddd` and `ddd - dd - dddd` are
/// hits; nine digits in a row or as `ddd ddd ddd` are weak (order numbers
/// look the same); other groupings (a ZIP+4 `94107-1234` has nine digits
/// too) are not SSNs.
pub(crate) fn ssn(text: &str, r: Range<usize>) -> Verdict {
    let s = &text[r.clone()];
    let d = digits_of(s);
    if d.len() != 9 || !ssn_rules(&d) {
        return Verdict::Reject;
    }
    // The lengths of the digit groups; with a fourth group, no SSN.
    let mut lens = [0usize; 3];
    let mut n = 0;
    for len in s
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .filter(|n| *n > 0)
    {
        if let Some(slot) = lens.get_mut(n) {
            *slot = len;
            n += 1;
        } else {
            return Verdict::Reject;
        }
    }
    match &lens[..n] {
        [9] => Verdict::Weak(r),
        [3, 2, 4] if !in_longer_run(text, &r) => Verdict::Strong(r),
        [3, 3, 3] if !in_longer_run(text, &r) => Verdict::Weak(r),
        _ => Verdict::Reject,
    }
}

fn ssn_rules(d: &[u8]) -> bool {
    let area = number(&d[..3]);
    let group = number(&d[3..5]);
    let serial = number(&d[5..9]);
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// Splits an extension (`ext. 12`, `x12`) off a phone match: the number's
/// part and whether there was an extension.
fn without_extension(s: &str) -> &str {
    match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s[..i].trim_end(),
        None => s,
    }
}

/// North American numbers: ten digits, after `1`, `+1` or `001`. Written
/// with separators, parentheses or `+1`, a hit; ten or eleven digits in one
/// run are weak, and must follow the numbering plan (area code and exchange
/// start with 2–9).
pub(crate) fn phone_nanp(text: &str, r: Range<usize>) -> Verdict {
    let s = &text[r.clone()];
    let main = without_extension(s);
    let d = digits_of(main);
    let national = match d.len() {
        10 => &d[..],
        11 if d[0] == b'1' => &d[1..],
        13 if d.starts_with(b"001") => &d[3..],
        _ => return Verdict::Reject,
    };
    let main_end = r.start + main.len();
    if in_longer_run(text, &(r.start..main_end)) {
        return Verdict::Reject;
    }
    if main.chars().any(|c| !c.is_ascii_digit()) {
        return Verdict::Strong(r);
    }
    if national[0] < b'2' || national[3] < b'2' {
        return Verdict::Reject;
    }
    Verdict::Weak(r)
}

/// International numbers after `+` or `00`: 8 to 15 digits after the prefix
/// (E.164 allows 15), a `(0)` trunk not counted. With `+`, or with
/// separators, a hit; `00` and one run of digits is weak.
pub(crate) fn phone_intl(text: &str, r: Range<usize>) -> Verdict {
    let s = &text[r.clone()];
    let main = without_extension(s);
    let plus = main.starts_with('+');
    let body = if plus {
        &main[1..]
    } else {
        main.trim_start_matches('0').trim_start()
    };
    if !plus && main.len() - body.len() < 2 {
        return Verdict::Reject;
    }
    // Without the `(0)` trunks: each takes away one digit.
    let n = digit_count(body).saturating_sub(body.matches("(0)").count());
    if !(8..=15).contains(&n) {
        return Verdict::Reject;
    }
    let main_end = r.start + main.len();
    // `00` after a number is part of it (`9400 3842 0017 6845`).
    if in_longer_run(text, &(r.start..main_end)) || (!plus && after_a_number(text, r.start)) {
        return Verdict::Reject;
    }
    let separated = body.bytes().any(|b| !b.is_ascii_digit());
    if plus || separated {
        Verdict::Strong(r)
    } else {
        Verdict::Weak(r)
    }
}

/// National numbers with the trunk `0` (`020 7946 0958`, `030/1234567`,
/// `01 42 68 53 00`): 10 or 11 digits, one kind of separator after the
/// area code. One run of digits is weak.
pub(crate) fn phone_trunk(text: &str, r: Range<usize>) -> Verdict {
    let s = &text[r.clone()];
    let n = digit_count(s);
    if !(10..=11).contains(&n) {
        return Verdict::Reject;
    }
    // The separators after the area code (a parenthesised area code may be
    // followed by a space).
    let rest = match s.strip_prefix('(') {
        Some(t) => match t.split_once(')') {
            Some((_, after)) => after.strip_prefix(' ').unwrap_or(after),
            None => return Verdict::Reject,
        },
        None => s,
    };
    let mut seps = rest.chars().filter(|c| !c.is_ascii_digit());
    let first = seps.next();
    if let Some(sep) = first {
        if seps.any(|c| c != sep) {
            return Verdict::Reject;
        }
    }
    if in_longer_run(text, &r) {
        return Verdict::Reject;
    }
    if first.is_none() && !s.starts_with('(') {
        Verdict::Weak(r)
    } else {
        Verdict::Strong(r)
    }
}

/// Whether a card network issues numbers with these leading digits and
/// this length (Visa, Mastercard with its 2-series, Amex, Discover, Diners,
/// JCB, UnionPay, Maestro, Mir, RuPay, Troy).
fn card_network(d: &[u8]) -> bool {
    let n = d.len();
    let p = |k: usize| number(&d[..k.min(n)]);
    let long = (16..=19).contains(&n);
    match d[0] {
        b'4' => matches!(n, 13 | 16 | 19),
        b'2' => {
            ((2221..=2720).contains(&p(4)) && n == 16) || ((2200..=2204).contains(&p(4)) && long)
        }
        b'5' => ((51..=55).contains(&p(2)) && n == 16) || (matches!(p(2), 50 | 56..=58) && n >= 13),
        b'3' => {
            (matches!(p(2), 34 | 37) && n == 15)
                || (((300..=305).contains(&p(3)) || p(4) == 3095 || matches!(p(2), 36 | 38 | 39))
                    && n >= 14)
                || ((3528..=3589).contains(&p(4)) && long)
        }
        b'6' => long || (matches!(p(4), 6304 | 6759 | 6761..=6763) && n >= 13),
        b'8' => matches!(p(2), 81 | 82) && long,
        b'9' => p(4) == 9792 && n == 16,
        _ => false,
    }
}

/// Card numbers: 13 to 19 digits in one run, or in groups of four (Amex and
/// Diners 4-6-5 and 4-6-4) with one kind of separator; Luhn; a network's
/// prefix and length. A trailing group that breaks these is dropped (`4111
/// 1111 1111 1111 2024` is a card and a year).
pub(crate) fn card(text: &str, r: Range<usize>) -> Verdict {
    let s = &text[r.clone()];
    let mut groups: Vec<Range<usize>> = Vec::new();
    let mut sep: Option<char> = None;
    let mut start = 0;
    let mut prev_digit = true;
    for (i, c) in s.char_indices() {
        if !c.is_ascii_digit() {
            if sep.is_some_and(|x| x != c) {
                return Verdict::Reject;
            }
            sep = Some(c);
            // A run of two separators (`4111  1111`) is one.
            if prev_digit {
                groups.push(start..i);
            }
            start = i + c.len_utf8();
        }
        prev_digit = c.is_ascii_digit();
    }
    groups.push(start..s.len());
    // Not the tail of a longer number grouped in fours (`9400 2854 9578
    // 2653 2444 79`).
    if let Some(sep) = sep {
        let mut b = text[..r.start].chars().rev();
        if b.next() == Some(sep) && b.take(4).filter(char::is_ascii_digit).count() == 4 {
            return Verdict::Reject;
        }
    }
    for k in (1..=groups.len()).rev() {
        let kept = &groups[..k];
        let Some(last) = kept.last() else {
            break;
        };
        let d = digits_of(&s[..last.end]);
        if d.len() < 13 {
            break;
        }
        let shape = k == 1
            || (kept[0].len() == 4
                && kept[1..k - 1].iter().all(|g| matches!(g.len(), 4 | 6))
                && (1..=6).contains(&last.len()));
        if d.len() <= 19 && shape && card_network(&d) && luhn(&d) {
            return Verdict::Strong(r.start..r.start + last.end);
        }
    }
    Verdict::Reject
}

/// IBAN lengths by country (the ISO 13616 registry).
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HN", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

/// The countries of [`IBAN_LENGTHS`], for a test.
#[cfg(test)]
pub(crate) fn iban_countries() -> Vec<String> {
    IBAN_LENGTHS
        .iter()
        .map(|(c, _)| String::from_utf8_lossy(&c[..]).into_owned())
        .collect()
}

/// The ISO 13616 mod-97 check of an IBAN's characters (upper case).
fn mod97(chars: &[u8]) -> bool {
    if chars.len() < 5 {
        return false;
    }
    let (head, tail) = chars.split_at(4);
    let mut rem: u32 = 0;
    for &b in tail.iter().chain(head) {
        rem = match b {
            b'0'..=b'9' => (rem * 10 + u32::from(b - b'0')) % 97,
            b'A'..=b'Z' => (rem * 100 + u32::from(b - b'A') + 10) % 97,
            _ => return false,
        };
    }
    rem == 1
}

/// IBANs in any case and spacing: the country's length (the match is cut
/// there and must end at a word's end), mod-97, and a BBAN of at least 25%
/// digits (so that words after a two-letter word and a number are not
/// read as one).
pub(crate) fn iban(text: &str, r: Range<usize>) -> Verdict {
    let s = &text[r.clone()];
    let mut chars: Vec<(u8, usize)> = Vec::with_capacity(34);
    for (i, b) in s.bytes().enumerate() {
        if b.is_ascii_alphanumeric() {
            chars.push((b.to_ascii_uppercase(), i + 1));
        }
    }
    if chars.len() < 5 {
        return Verdict::Reject;
    }
    let cc = [chars[0].0, chars[1].0];
    let Some(&(_, len)) = IBAN_LENGTHS.iter().find(|(c, _)| **c == cc) else {
        return Verdict::Reject;
    };
    let Some(&(_, end)) = chars.get(len - 1) else {
        return Verdict::Reject;
    };
    if text[r.start + end..]
        .chars()
        .next()
        .is_some_and(char::is_alphanumeric)
    {
        return Verdict::Reject;
    }
    let all: Vec<u8> = chars[..len].iter().map(|c| c.0).collect();
    let bban = &all[4..];
    let digits = bban.iter().filter(|b| b.is_ascii_digit()).count();
    if digits * 4 < bban.len() || !mod97(&all) {
        return Verdict::Reject;
    }
    Verdict::Strong(r.start..r.start + end)
}

/// Words after which a dotted quad is a version or a section number.
const VERSION_WORDS: &[&str] = &[
    "v",
    "ver",
    "version",
    "versions",
    "release",
    "rel",
    "build",
    "firmware",
    "fw",
    "rev",
    "revision",
    "patch",
    "update",
    "kb",
    "section",
    "sect",
    "sec",
    "chapter",
    "ch",
    "clause",
    "para",
    "paragraph",
    "art",
    "article",
    "step",
    "rule",
    "item",
    "§",
];

/// Abbreviations that may end with a dot before the number (`ver. 1.2.3.4`).
const VERSION_ABBREVIATIONS: &[&str] =
    &["v", "ver", "rel", "rev", "sec", "sect", "ch", "art", "para"];

/// The word before a number: skipping spaces, `:`, `=` and `#`, its last
/// 16 letters (or `§`), as written, and whether a dot ended it.
fn word_before(text: &str, at: usize) -> (&str, bool) {
    let t = text[..at].trim_end_matches([' ', '\t', ':', '=', '#']);
    let (t, dot) = match t.strip_suffix('.') {
        Some(x) => (x, true),
        None => (t, false),
    };
    let start = t
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphabetic() || *c == '§')
        .take(16)
        .last()
        .map_or(t.len(), |(i, _)| i);
    (&t[start..], dot)
}

/// Whether `word`, lowercased, is one of `words` (lowercase).
fn lowercase_in(word: &str, words: &[&str]) -> bool {
    if word.is_empty() {
        return words.contains(&"");
    }
    if word.is_ascii() {
        // ASCII letters lowercase to ASCII letters, one for one.
        return words.iter().any(|w| w.eq_ignore_ascii_case(word));
    }
    words
        .iter()
        .any(|w| word.chars().flat_map(char::to_lowercase).eq(w.chars()))
}

/// IPv4: four parts of at most 255 (`192.0.2.1`, also before `:8080`); not
/// a part of a longer dotted run (`10.0.19045.3803`, `1.3.6.1.4.1`), not
/// followed by a version suffix (`1.2.3.4-build`, `+meta`), not after a
/// version word (`v1.2.3.4`, `version 4.2.1.7`, `section 4.2.1.3`).
pub(crate) fn ipv4(text: &str, r: Range<usize>) -> Verdict {
    // A defanged address (`192.168.1[.]1`) is one too.
    let raw = &text[r.clone()];
    let s = if raw.contains(['[', '(']) {
        std::borrow::Cow::Owned(raw.replace("[.]", ".").replace("(.)", "."))
    } else {
        std::borrow::Cow::Borrowed(raw)
    };
    if !s
        .split('.')
        .all(|p| p.parse::<u16>().is_ok_and(|n| n <= 255))
    {
        return Verdict::Reject;
    }
    let (b1, b2) = before2(text, r.start);
    let (a1, a2) = after2(text, r.end);
    let dotted_on = a1 == Some('.') && is_digit(a2);
    let dotted_before = b1 == Some('.') && b2.is_some_and(char::is_alphanumeric);
    let suffix = a1.is_some_and(|c| matches!(c, '-' | '+' | '_' | '~'))
        && a2.is_some_and(|c| c.is_ascii_alphabetic());
    if dotted_on || dotted_before || suffix {
        return Verdict::Reject;
    }
    let (word, dot) = word_before(text, r.start);
    let versioned = if dot {
        lowercase_in(word, VERSION_ABBREVIATIONS)
    } else {
        lowercase_in(word, VERSION_WORDS)
    };
    if versioned {
        return Verdict::Reject;
    }
    Verdict::Strong(r)
}

/// IPv6 in every form the standard's text representation allows, with a
/// zone id: read by the standard library's parser; with `::` or eight
/// groups (so not a time such as `10:30:00` or a MAC address); with a
/// decimal digit (so not `dead::beef` in code); not eight groups of two hex
/// digits (an EUI-64); not continuing a longer run of words or colons.
pub(crate) fn ipv6(text: &str, r: Range<usize>) -> Verdict {
    let s = &text[r.clone()];
    let addr = s.split_once('%').map_or(s, |(a, _)| a);
    if !addr.bytes().any(|b| b.is_ascii_digit()) {
        return Verdict::Reject;
    }
    let groups = addr.split(':').count();
    let v4_tail = addr.contains('.');
    let full = groups == 8 || (v4_tail && groups == 7);
    if !(addr.contains("::") || full) {
        return Verdict::Reject;
    }
    if groups == 8 && addr.split(':').all(|g| g.len() == 2) {
        return Verdict::Reject;
    }
    if addr.parse::<Ipv6Addr>().is_err() {
        return Verdict::Reject;
    }
    let (b1, b2) = before2(text, r.start);
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    if word(b1) || (b1 == Some(':') && b2.is_some_and(|c| c.is_ascii_hexdigit())) {
        return Verdict::Reject;
    }
    let (a1, _) = after2(text, r.end);
    if word(a1) {
        return Verdict::Reject;
    }
    Verdict::Strong(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(f: fn(&str, Range<usize>) -> Verdict, s: &str) -> Verdict {
        f(s, 0..s.len())
    }

    /// The version-word comparison lowercases as `str::to_lowercase`
    /// does, ASCII or not (the Kelvin sign lowercases to `k`).
    #[test]
    fn version_words_compare_lowercased() {
        for w in [
            "",
            "v",
            "V",
            "Version",
            "VERSION",
            "ver",
            "Ver",
            "sect",
            "§",
            "\u{212a}B",
            "KB",
            "straße",
            "versión",
            "x",
            "Build",
            "builds",
        ] {
            for list in [VERSION_WORDS, VERSION_ABBREVIATIONS] {
                assert_eq!(
                    lowercase_in(w, list),
                    list.contains(&w.to_lowercase().as_str()),
                    "{w}"
                );
            }
        }
    }

    #[test]
    fn checksums() {
        assert!(luhn(b"4111111111111111"));
        assert!(!luhn(b"4111111111111112"));
        assert!(mod97(b"DE89370400440532013000"));
        assert!(mod97(b"GB82WEST12345698765432"));
        assert!(!mod97(b"DE88370400440532013000"));
        assert!(ssn_rules(b"123456789"));
        for bad in [
            "000123456",
            "666123456",
            "900123456",
            "123004567",
            "123450000",
        ] {
            assert!(!ssn_rules(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn ssn_spellings() {
        for s in ["789-28-1752", "789 28 1752", "789.28.1752"] {
            assert_eq!(whole(ssn, s), Verdict::Strong(0..11), "{s}");
        }
        assert_eq!(whole(ssn, "789281752"), Verdict::Weak(0..9));
        for s in ["78928-1752", "789-281752", "000-28-1752", "789-00-1752"] {
            assert_eq!(whole(ssn, s), Verdict::Reject, "{s}");
        }
        let t = "ref 12-789-28-1752";
        assert_eq!(ssn(t, 7..18), Verdict::Reject);
    }

    #[test]
    fn cards_by_network() {
        for s in [
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "4111.1111.1111.1111",
            "4111111111111111",
            "5555 5555 5555 4444",
            "2223 0031 2200 3222",
            "3782 822463 10005",
            "3056 930902 5904",
            "6011 1111 1111 1117",
            "3530 1113 3330 0000",
            "6200 0000 0000 0005",
        ] {
            assert!(matches!(whole(card, s), Verdict::Strong(_)), "{s}");
        }
        // A Luhn-valid IMEI is no card: 35 is JCB only at 16 to 19 digits.
        assert_eq!(whole(card, "354778270203188"), Verdict::Reject);
        assert_eq!(whole(card, "4111 1111-1111 1111"), Verdict::Reject);
        assert_eq!(whole(card, "4111 1111 1111 1112"), Verdict::Reject);
        let t = "4111 1111 1111 1111 2024";
        assert_eq!(card(t, 0..t.len()), Verdict::Strong(0..19));
    }

    #[test]
    fn ibans_in_any_case_and_spacing() {
        for s in [
            "DE89 3704 0044 0532 0130 00",
            "de89 3704 0044 0532 0130 00",
            "DE89370400440532013000",
            "DE 89 37040044 05320130 00",
            "GB82 WEST 1234 5698 7654 32",
        ] {
            assert!(matches!(whole(iban, s), Verdict::Strong(_)), "{s}");
        }
        let t = "DE89 3704 0044 0532 0130 00 is mine";
        assert_eq!(iban(t, 0..t.len()), Verdict::Strong(0..27));
        assert_eq!(whole(iban, "DE88 3704 0044 0532 0130 00"), Verdict::Reject);
        assert_eq!(
            whole(iban, "at 12 noon we went to the shop"),
            Verdict::Reject
        );
    }

    #[test]
    fn ipv4_is_not_a_version() {
        assert_eq!(ipv4("at 10.0.0.1", 3..11), Verdict::Strong(3..11));
        assert_eq!(ipv4("at 10.0.0.1:8080", 3..11), Verdict::Strong(3..11));
        assert_eq!(ipv4("1.2.3.4.5", 0..7), Verdict::Reject);
        assert_eq!(ipv4("1.2.3.4.5", 2..9), Verdict::Reject);
        assert_eq!(ipv4("1.2.3.4-build", 0..7), Verdict::Reject);
        assert_eq!(ipv4("version 1.2.3.4", 8..15), Verdict::Reject);
        assert_eq!(ipv4("ver. 1.2.3.4", 5..12), Verdict::Reject);
        assert_eq!(ipv4("the build. 10.0.0.1", 11..19), Verdict::Strong(11..19));
        assert_eq!(ipv4("10.0.0.256", 0..10), Verdict::Reject);
    }

    #[test]
    fn ipv6_forms() {
        for s in [
            "2001:db8::1",
            "::1",
            "2001:db8::",
            "::ffff:192.0.2.1",
            "fe80::1%eth0",
            "2001:DB8::8A2E:370:7334",
            "2001:0db8:0000:0000:0000:ff00:0042:8329",
        ] {
            assert!(matches!(whole(ipv6, s), Verdict::Strong(_)), "{s}");
        }
        for s in ["10:30:00", "dead::beef", "00:1A:2B:FF:FE:3C:4D:5E", "1:2:3"] {
            assert_eq!(whole(ipv6, s), Verdict::Reject, "{s}");
        }
    }
}
