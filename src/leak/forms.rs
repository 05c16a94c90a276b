//! The forms a value is searched in (see the module doc of `leak`).

use super::reduce::reduce;
use super::{Kind, MIN_LEN};

/// A form to search: its kind and, for dates, how many atoms it must span
/// (bit `n` set: `n` atoms).
pub(crate) struct Form {
    pub(crate) text: String,
    pub(crate) kind: Kind,
    pub(crate) atoms: u8,
}

/// The day of a value `YYYY-MM-DD`, alone or followed by a time.
fn day_of(v: &str) -> Option<(u32, u32, u32)> {
    let d = v.get(..10)?;
    let rest = v.get(10..)?;
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('T')) {
        return None;
    }
    let b = d.as_bytes();
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let y: u32 = d.get(..4)?.parse().ok()?;
    let m: u32 = d.get(5..7)?.parse().ok()?;
    let dd: u32 = d.get(8..10)?.parse().ok()?;
    ((1..=12).contains(&m) && (1..=31).contains(&dd)).then_some((y, m, dd))
}

/// Every form of a value.
pub(crate) fn forms(v: &str, out: &mut Vec<Form>) {
    out.clear();
    let v = v.trim();
    if let Some((y, m, d)) = day_of(v) {
        date_forms(y, m, d, out);
        return;
    }
    value_forms(v, out);
    let t = transliterated(v);
    if t != v {
        value_forms(&t, out);
    }
}

/// A day in every field order, as three atoms or one.
fn date_forms(y: u32, m: u32, d: u32, out: &mut Vec<Form>) {
    let years = [format!("{y:04}"), format!("{:02}", y % 100)];
    let months = [format!("{m:02}"), m.to_string()];
    let days = [format!("{d:02}"), d.to_string()];
    let mut push = |text: String, atoms: u8| {
        out.push(Form {
            text,
            kind: Kind::Date,
            atoms,
        })
    };
    for yy in &years {
        for mm in &months {
            for dd in &days {
                push(format!("{yy}{mm}{dd}"), 1 << 3);
                push(format!("{mm}{dd}{yy}"), 1 << 3);
                push(format!("{dd}{mm}{yy}"), 1 << 3);
            }
        }
        // One atom: `19930624`, `240693`.
        push(format!("{yy}{m:02}{d:02}"), 1 << 1);
        push(format!("{m:02}{d:02}{yy}"), 1 << 1);
        push(format!("{d:02}{m:02}{yy}"), 1 << 1);
    }
}

/// Umlauts and the Nordic letters as their two-letter spellings (`Müller`
/// → `Mueller`).
fn transliterated(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            'ä' | 'æ' => out.push_str("ae"),
            'ö' | 'ø' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'å' => out.push_str("aa"),
            'ß' => out.push_str("ss"),
            'Ä' | 'Æ' => out.push_str("Ae"),
            'Ö' | 'Ø' => out.push_str("Oe"),
            'Ü' => out.push_str("Ue"),
            'Å' => out.push_str("Aa"),
            _ => out.push(c),
        }
    }
    out
}

/// The forms of a value that is not a day.
fn value_forms(v: &str, out: &mut Vec<Form>) {
    let mut push = |text: String, kind: Kind| {
        out.push(Form {
            text,
            kind,
            atoms: 0,
        })
    };
    let reduced = reduce(v);
    let atoms: Vec<&str> = reduced
        .iter()
        .flat_map(|s| {
            s.plain_edges
                .windows(2)
                .filter_map(move |w| s.plain.get(w[0]..w[1]))
        })
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
        // A phone (10 to 13 digits written in groups) by its last seven.
        if (10..=13).contains(&digits.len()) && atoms.len() >= 2 {
            if let Some(local) = digits.get(digits.len() - 7..) {
                push(local.to_string(), Kind::Number);
            }
        }
        if digits.len() >= MIN_LEN {
            push(digits, Kind::Number);
        }
        return;
    }
    if all.chars().count() >= MIN_LEN {
        push(all.clone(), Kind::Text);
    }
    if digits.len() >= 6 {
        push(digits.clone(), Kind::Number);
    }
    // An email's local part (`liam.johnson`).
    if let Some((local, _)) = v.split_once('@') {
        let l: String = reduce(local).iter().map(|s| s.plain.as_str()).collect();
        if l.chars().count() >= MIN_LEN && l != all {
            push(l, Kind::Text);
        }
        return;
    }
    if digits.is_empty() {
        name_forms(v, &atoms, &all, out);
    }
}

/// The other forms of a value of letters only (a name): initial and
/// surname, reversed, each word, each word with an apostrophe whole.
fn name_forms(v: &str, atoms: &[&str], all: &str, out: &mut Vec<Form>) {
    let mut push = |text: String, kind: Kind| {
        out.push(Form {
            text,
            kind,
            atoms: 0,
        })
    };
    let words: Vec<String> = v
        .split_whitespace()
        .map(|w| reduce(w).iter().map(|s| s.plain.as_str()).collect())
        .filter(|w: &String| !w.is_empty())
        .collect();
    // Initial and surname (`ljohnson`), when the surname has at least 6
    // letters: shorter ones make common words (`across`, `along`).
    if let (Some(first), Some(last)) = (words.first(), words.last()) {
        if words.len() >= 2 && last.chars().count() >= 6 {
            if let Some(i) = first.chars().next() {
                push(format!("{i}{last}"), Kind::Text);
            }
        }
    }
    if atoms.len() >= 2 {
        let rev: String = atoms.iter().rev().copied().collect();
        if rev != all {
            push(rev, Kind::Text);
        }
        for a in atoms {
            if a.chars().count() >= MIN_LEN {
                push((*a).to_string(), Kind::Part);
            }
        }
        // A word of two atoms whole (`O'Brien` as `obrien`).
        for w in &words {
            if w.chars().count() >= MIN_LEN && !atoms.contains(&w.as_str()) && w != all {
                push(w.clone(), Kind::Text);
            }
        }
    }
}

/// Whether a value is a number with a fraction that is not zero.
pub(crate) fn fraction(v: &str) -> bool {
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
