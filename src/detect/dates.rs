//! Known dates: the dates of protected date columns (a `generalize`d date
//! of birth, a `deny`ed date), found in a text however they are written,
//! and replaced by what the rules show of them (the year, the year and
//! month) or by `[redacted:<column>]`. The choices are documented on the
//! parent module.
//!
//! A date is a day, so the set of a column's dates is small whatever the
//! number of rows (at most one entry per day of the calendar): it is read
//! from the data at every refresh, not saved with the known-value index.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate};
use regex::Regex;

use super::normalize::digit_byte;
use super::source::ValueSource;
use crate::error::Error;
use crate::rules::{Action, Generalization, Policy};
use crate::schema::{Catalog, ColumnType};

/// What a found date becomes.
#[derive(Debug, Clone)]
enum Show {
    /// The year (`generalize` to `year`).
    Year,
    /// The year and month, `YYYY-MM` (`generalize` to `month`).
    Month,
    /// `[redacted:<column>]`.
    Redact(String),
}

/// A column whose dates are looked for.
#[derive(Debug)]
pub(crate) struct DateColumn {
    /// `known:<table>.<column>`.
    pub(crate) detector: String,
    /// `generalized` or `redacted`.
    pub(crate) class: &'static str,
    show: Show,
}

/// A policy column, for [`KnownDates::build`].
#[derive(Debug, Clone)]
pub(crate) struct DateSpec {
    table: String,
    column: String,
    action: Action,
}

/// A found date.
#[derive(Debug, Clone)]
pub(crate) struct DateHit<'d> {
    pub(crate) range: Range<usize>,
    /// The column (of the dates it was found with).
    pub(crate) column: &'d DateColumn,
    /// What the date is replaced by.
    pub(crate) replacement: String,
}

/// The protected dates of the data, by day.
#[derive(Debug, Default)]
pub(crate) struct KnownDates {
    columns: Vec<DateColumn>,
    /// Day (days since 1970-01-01) → column.
    days: HashMap<i32, usize>,
}

/// The day of a value as an engine gives it (`1993-06-24`,
/// `2023-11-02 22:18:09`, `2023-11-02T22:18:09Z`).
fn day_of(v: &str) -> Option<NaiveDate> {
    let v = v.trim();
    let d = v.get(..10)?;
    let rest = &v[10..];
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('T')) {
        return None;
    }
    NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()
}

fn epoch_day(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - 719_163
}

/// Whether the column holds dates the rules protect, and how its dates are
/// shown.
fn protected_dates(action: &Action, ty: &ColumnType, column: &str) -> Option<(Show, u8)> {
    let is_date = matches!(ty, ColumnType::Date | ColumnType::Datetime);
    match action {
        Action::Generalize(Generalization::Year) => Some((Show::Year, 1)),
        Action::Generalize(Generalization::Month) => Some((Show::Month, 1)),
        Action::Allow | Action::Scan => None,
        _ if !is_date => None,
        Action::Deny => Some((Show::Redact(format!("[redacted:{column}]")), 5)),
        Action::Tokenize { .. } => Some((Show::Redact(format!("[redacted:{column}]")), 4)),
        Action::Mask(_) => Some((Show::Redact(format!("[redacted:{column}]")), 3)),
        _ => Some((Show::Redact(format!("[redacted:{column}]")), 2)),
    }
}

impl KnownDates {
    /// The columns of a policy whose dates may be looked for, or shown as
    /// is (the type check comes with the engine's catalog).
    pub(crate) fn specs(policy: &Policy) -> Vec<DateSpec> {
        let mut out = Vec::new();
        for t in policy.tables() {
            for c in &t.columns {
                if !matches!(c.action, Action::Scan) {
                    out.push(DateSpec {
                        table: t.name.clone(),
                        column: c.name.clone(),
                        action: c.action.clone(),
                    });
                }
            }
        }
        out
    }

    /// Reads the dates of the protected date columns of `specs`, and of the
    /// `allow` date columns (a day the rules show as is in some column is
    /// not looked for: a question about that day's orders is left alone).
    pub(crate) fn build<S: ValueSource + ?Sized>(
        specs: &[DateSpec],
        source: &S,
    ) -> Result<KnownDates, Error> {
        let catalog: &Catalog = source.catalog();
        let mut out = KnownDates::default();
        let mut public: HashSet<i32> = HashSet::new();
        let mut ranks: Vec<u8> = Vec::new();
        for spec in specs {
            let Some(ty) = catalog
                .table(&spec.table)
                .and_then(|t| t.columns.iter().find(|x| x.name == spec.column))
                .map(|x| &x.ty)
            else {
                continue;
            };
            let is_date = matches!(ty, ColumnType::Date | ColumnType::Datetime);
            if matches!(spec.action, Action::Allow) {
                if is_date {
                    source.distinct_values(&spec.table, &spec.column, None, &mut |v| {
                        if let Some(d) = day_of(v) {
                            public.insert(epoch_day(d));
                        }
                        Ok(())
                    })?;
                }
                continue;
            }
            let Some((show, rank)) = protected_dates(&spec.action, ty, &spec.column) else {
                continue;
            };
            let i = out.columns.len();
            out.columns.push(DateColumn {
                detector: format!("known:{}.{}", spec.table, spec.column),
                class: match show {
                    Show::Redact(_) => "redacted",
                    _ => "generalized",
                },
                show,
            });
            // How strict the column's action is (deny > tokenize > mask >
            // aggregate > generalize): a day of two columns is the
            // stricter's.
            ranks.push(rank);
            let days = &mut out.days;
            source.distinct_values(&spec.table, &spec.column, None, &mut |v| {
                if let Some(d) = day_of(v) {
                    let e = days.entry(epoch_day(d)).or_insert(i);
                    if ranks.get(*e).copied().unwrap_or(0) < rank {
                        *e = i;
                    }
                }
                Ok(())
            })?;
        }
        out.days.retain(|d, _| !public.contains(d));
        Ok(out)
    }

    /// Builds from days in memory (for tests).
    #[cfg(test)]
    fn from_days(days: &[&str], public: &[&str]) -> KnownDates {
        let mut out = KnownDates::default();
        out.columns.push(DateColumn {
            detector: "known:people.born".into(),
            class: "generalized",
            show: Show::Year,
        });
        for d in days {
            if let Some(d) = day_of(d) {
                out.days.insert(epoch_day(d), 0);
            }
        }
        for d in public {
            if let Some(d) = day_of(d) {
                out.days.remove(&epoch_day(d));
            }
        }
        out
    }

    /// Whether there is any date to look for.
    pub(crate) fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// The number of protected days.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.days.len()
    }

    /// Every date of `text` that is a protected day, in any of the forms
    /// [`candidates`] reads.
    pub(crate) fn find<'d>(&'d self, text: &str, out: &mut Vec<DateHit<'d>>) {
        if self.days.is_empty() {
            return;
        }
        candidates(text, &mut |range, readings| {
            for d in readings.iter().flatten() {
                let Some(&col) = self.days.get(&epoch_day(*d)) else {
                    continue;
                };
                let Some(c) = self.columns.get(col) else {
                    continue;
                };
                let replacement = match &c.show {
                    Show::Year => format!("{}", d.year()),
                    Show::Month => format!("{}-{:02}", d.year(), d.month()),
                    Show::Redact(r) => r.clone(),
                };
                out.push(DateHit {
                    range: range.clone(),
                    column: c,
                    replacement,
                });
                return;
            }
        });
    }
}

/// Month names (English, full and abbreviated), lowercase, by number.
const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("jan", 1),
    ("february", 2),
    ("feb", 2),
    ("march", 3),
    ("mar", 3),
    ("april", 4),
    ("apr", 4),
    ("may", 5),
    ("june", 6),
    ("jun", 6),
    ("july", 7),
    ("jul", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sept", 9),
    ("sep", 9),
    ("october", 10),
    ("oct", 10),
    ("november", 11),
    ("nov", 11),
    ("december", 12),
    ("dec", 12),
];

fn month_number(name: &str) -> Option<u32> {
    let n = name.trim_end_matches('.').to_lowercase();
    MONTHS.iter().find(|(m, _)| *m == n).map(|&(_, i)| i)
}

/// Date shapes, compiled once. `\d` is any script's decimal digit; the
/// separators are `-`, `/`, `.`, the Unicode dashes and the minus sign,
/// with white space around them, or white space alone.
static SHAPES: LazyLock<Option<Regex>> = LazyLock::new(|| {
    let sep = r"(?:\s*[-/.\x{2010}-\x{2015}\x{2212}\x{FF0D}\x{FF0F}\x{FF0E}]\s*|\s+)";
    let month = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?";
    let ord = r"(?:st|nd|rd|th)?";
    // Beside a month name: nothing, white space, a comma, or a separator
    // (`24-Jun-93`, `24/Jun/1993`, `Jun-24-1993`, `1993-Jun-24`).
    let msep = r"(?:\s*[-/.,\x{2010}-\x{2015}\x{2212}\x{FF0D}\x{FF0F}\x{FF0E}]\s*|\s*)";
    let re = format!(
        r"(?ix)
        (?P<n1>\d{{1,4}}){sep}(?P<n2>\d{{1,2}}){sep}(?P<n3>\d{{1,4}})
        | (?P<md_m>{month}){msep}(?P<md_d>\d{{1,2}}){ord}{msep}'?(?P<md_y>\d{{2,4}})
        | (?P<dm_d>\d{{1,2}}){ord}{msep}(?:of\s+)?(?P<dm_m>{month}){msep}'?(?P<dm_y>\d{{2,4}})
        | (?P<ym_y>\d{{4}}){msep}(?P<ym_m>{month}){msep}(?P<ym_d>\d{{1,2}}){ord}
        | (?P<compact>\d{{8}})
        | (?P<compact6>\d{{6}})
        | (?P<cjk>\d{{4}}\s*[年년]\s*\d{{1,2}}\s*[月월]\s*\d{{1,2}}\s*[日일]?)"
    );
    Regex::new(&re).ok()
});

/// Whether a character is a Chinese, Japanese or Korean letter (written
/// without spaces between words).
fn is_cjk(c: char) -> bool {
    matches!(
        c,
        '\u{3040}'..='\u{30FF}'
            | '\u{3400}'..='\u{4DBF}'
            | '\u{4E00}'..='\u{9FFF}'
            | '\u{AC00}'..='\u{D7AF}'
            | '\u{F900}'..='\u{FAFF}'
    )
}

/// The number a run of digits of any script stands for.
fn number(s: &str) -> Option<(u32, usize)> {
    let mut n: u32 = 0;
    let mut len = 0;
    for c in s.chars() {
        let b = digit_byte(c)?;
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
        len += 1;
    }
    Some((n, len))
}

/// The years a written year may be: a two-digit year in either century.
fn years(y: u32, digits: usize) -> [Option<i32>; 2] {
    let y = i32::try_from(y).ok();
    match (y, digits) {
        (Some(y), 4) => [Some(y), None],
        (Some(y), 2) => [Some(1900 + y), Some(2000 + y)],
        _ => [None, None],
    }
}

fn ymd(y: Option<i32>, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y?, m, d)
}

/// What [`candidates`] calls: a stretch of text and the days it may mean.
pub(crate) type Readings<'a> = dyn FnMut(&Range<usize>, &[Option<NaiveDate>]) + 'a;

/// Calls `each` with every date-like stretch of `text` (not inside a longer
/// word or number) and the days it may mean: `1993-06-24`, `1993/6/24`,
/// `06/24/1993` and `24/06/1993` (either order where both are valid),
/// `24.06.93` (a two-digit year in either century), `June 24, 1993`,
/// `24th of June 1993`, `1993 June 24`, `19930624` and the like, in any
/// case, with any script's digits.
///
/// Every date has a digit: the shapes are searched only in windows of
/// [`WINDOW`] bytes around runs of digits, so text without digits costs a
/// pass over its characters and no regex search.
pub(crate) fn candidates(text: &str, each: &mut Readings<'_>) {
    let Some(re) = SHAPES.as_ref() else {
        return;
    };
    let mut window: Option<Range<usize>> = None;
    for (i, c) in text.char_indices() {
        if !c.is_numeric() {
            continue;
        }
        let start = floor_boundary(text, i.saturating_sub(WINDOW));
        let end = ceil_boundary(text, i + c.len_utf8() + WINDOW);
        match window.as_mut() {
            Some(w) if start <= w.end => w.end = end,
            _ => {
                if let Some(w) = window.replace(start..end) {
                    candidates_in(re, text, w, each);
                }
            }
        }
    }
    if let Some(w) = window {
        candidates_in(re, text, w, each);
    }
}

/// How far before and after a digit a date's other parts may be
/// (`September 24th, 1993`), in bytes.
const WINDOW: usize = 32;

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(text: &str, mut i: usize) -> usize {
    if i >= text.len() {
        return text.len();
    }
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// [`candidates`] within one window of `text` (offsets are `text`'s, and
/// the characters around a match are read from all of it).
fn candidates_in(re: &Regex, text: &str, window: Range<usize>, each: &mut Readings<'_>) {
    let Some(hay) = text.get(..window.end) else {
        return;
    };
    let mut at = window.start;
    while at < hay.len() {
        // The match alone (no capture groups: a regex with groups runs a
        // slower engine on every match); its parts are read below.
        let Some(m) = re.find_at(hay, at) else {
            break;
        };
        let r = m.range();
        let before = text.get(..r.start).and_then(|t| t.chars().next_back());
        let after = text.get(r.end..).and_then(|t| t.chars().next());
        // A date followed by `T` and a time (`1993-06-24T00:00`, ISO 8601)
        // is a date, not part of a word.
        let time_follows = matches!(after, Some('T' | 't'))
            && text
                .get(r.end..)
                .and_then(|t| t.chars().nth(1))
                .is_some_and(|c| c.is_ascii_digit());
        // Chinese, Japanese and Korean are written without spaces: a date
        // beside their letters is not inside a word.
        let word = |c: char| c.is_alphanumeric() && !is_cjk(c);
        // A decimal point or a group comma with a digit beyond it joins
        // the shape to a number (`0.240693`, `240693.50`).
        let digit = |c: Option<char>| c.is_some_and(|c| c.is_numeric());
        let number_before = matches!(before, Some('.' | ','))
            && digit(text.get(..r.start).and_then(|t| t.chars().rev().nth(1)));
        let number_after = matches!(after, Some('.' | ','))
            && digit(text.get(r.end..).and_then(|t| t.chars().nth(1)));
        let glued = before.is_some_and(word)
            || (after.is_some_and(word) && !time_follows)
            || number_before
            || number_after;
        if glued {
            // Try again one character later: the shape may start inside.
            at = r.start + text[r.start..].chars().next().map_or(1, char::len_utf8);
            continue;
        }
        let days = readings(m.as_str());
        if days.iter().any(Option::is_some) {
            each(&r, &days);
        }
        at = ceil_boundary(text, r.end.max(r.start + 1));
    }
}

/// A matched shape's runs of digits (each a number and its length) and
/// its month name (the month and how many numbers came before it).
#[allow(clippy::type_complexity)]
fn shape_parts(shape: &str) -> (Vec<(u32, usize)>, Option<(u32, usize)>) {
    let mut nums: Vec<(u32, usize)> = Vec::new();
    let mut month: Option<(u32, usize)> = None;
    let mut word = String::new();
    let mut digits = String::new();
    let flush = |word: &mut String,
                 digits: &mut String,
                 nums: &mut Vec<(u32, usize)>,
                 month: &mut Option<(u32, usize)>| {
        if !digits.is_empty() {
            if let Some(n) = number(digits) {
                nums.push(n);
            }
            digits.clear();
        }
        if !word.is_empty() {
            if let Some(m) = month_number(word) {
                *month = Some((m, nums.len()));
            }
            word.clear();
        }
    };
    for c in shape.chars() {
        if digit_byte(c).is_some_and(|b| b.is_ascii_digit()) && c.is_numeric() {
            if !word.is_empty() {
                flush(&mut word, &mut String::new(), &mut nums, &mut month);
            }
            digits.push(c);
        } else if c.is_alphabetic() {
            if !digits.is_empty() {
                flush(&mut String::new(), &mut digits, &mut nums, &mut month);
            }
            word.push(c);
        } else {
            flush(&mut word, &mut digits, &mut nums, &mut month);
        }
    }
    flush(&mut word, &mut digits, &mut nums, &mut month);
    (nums, month)
}

/// The days a matched shape may mean: its runs of digits and its month
/// name, in order.
fn readings(shape: &str) -> Vec<Option<NaiveDate>> {
    let (nums, month) = shape_parts(shape);
    let mut days: Vec<Option<NaiveDate>> = Vec::new();
    match (month, nums.as_slice()) {
        (None, &[(a, la), (b, _), (cc, lc)]) => {
            if la == 4 {
                days.push(ymd(i32::try_from(a).ok(), b, cc));
            } else if la <= 2 && (lc == 4 || lc == 2) {
                for y in years(cc, lc) {
                    days.push(ymd(y, a, b));
                    days.push(ymd(y, b, a));
                }
                // `93-06-24`: a two-digit year first.
                if la == 2 && lc == 2 {
                    for y in years(a, 2) {
                        days.push(ymd(y, b, cc));
                    }
                }
            }
        }
        (None, &[(n, 8)]) => {
            let (hi, lo) = (n / 10_000, n % 10_000);
            days.push(ymd(i32::try_from(hi).ok(), lo / 100, lo % 100));
            days.push(ymd(i32::try_from(lo).ok(), hi / 100, hi % 100));
            days.push(ymd(i32::try_from(lo).ok(), hi % 100, hi / 100));
        }
        (None, &[(n, 6)]) => {
            // `930624`, `062493`, `240693`: a two-digit year last or first.
            let (hi, mid, lo) = (n / 10_000, n / 100 % 100, n % 100);
            for y in years(lo, 2) {
                days.push(ymd(y, hi, mid));
                days.push(ymd(y, mid, hi));
            }
            for y in years(hi, 2) {
                days.push(ymd(y, mid, lo));
            }
        }
        (Some((mn, at)), &[(a, la), (b, lb)]) => {
            // `1993 June 24`: a four-digit year, then the month; else the
            // day comes first (`June 24, 1993`, `24 June 1993`).
            let (d, (y, ly)) = if at == 1 && la == 4 {
                (b, (a, la))
            } else {
                (a, (b, lb))
            };
            for y in years(y, ly) {
                days.push(ymd(y, mn, d));
            }
        }
        _ => {}
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(k: &KnownDates, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        k.find(text, &mut out);
        out.iter()
            .map(|h| format!("{}={}", &text[h.range.clone()], h.replacement))
            .collect()
    }

    #[test]
    fn a_day_in_any_common_form() {
        let k = KnownDates::from_days(&["1993-06-24", "1980-02-03"], &[]);
        for text in [
            "1993-06-24",
            "1993/06/24",
            "1993.6.24",
            "06/24/1993",
            "24/06/1993",
            "24.06.1993",
            "24-06-93",
            "6/24/93",
            "June 24, 1993",
            "june 24th 1993",
            "Jun. 24 1993",
            "24 June 1993",
            "24th of June, 1993",
            "1993 June 24",
            "19930624",
            "06241993",
            "1993 - 06 - 24",
            "１９９３-０６-２４",
            "1993\u{2013}06\u{2013}24",
            "24\u{00A0}June\u{00A0}1993",
            "93-06-24",
            "Jun 24 '93",
            // Found by the review of #16 (tests/review16.rs).
            "24-Jun-93",
            "24-JUN-1993",
            "1993-Jun-24",
            "24/Jun/1993",
            "Jun-24-1993",
            "24.Jun.1993",
            // Six digits, and Chinese, Japanese and Korean dates.
            "240693",
            "062493",
            "930624",
            "1993\u{5E74}6\u{6708}24\u{65E5}",
            "1993\u{5E74}06\u{6708}24",
            "1993\u{B144} 6\u{C6D4} 24\u{C77C}",
        ] {
            assert_eq!(
                found(&k, &format!("born on {text}, right?")),
                [format!("{text}=1993")],
                "{text}"
            );
        }
        // Both readings of a day and month that could swap.
        assert_eq!(found(&k, "on 02/03/1980"), ["02/03/1980=1980"]);
        assert_eq!(found(&k, "on 03/02/1980"), ["03/02/1980=1980"]);
        for text in [
            "1993-06-25",
            "1993-06-240",
            "x1993-06-24",
            "order 1993-06-24x",
            "June 25, 1993",
            "199306245",
            "1993",
            "June 1993",
            "2406930",
            "1240693",
            "id 240693x",
            "0.240693",
            "amount 240693.50",
            "1,240693",
        ] {
            assert!(found(&k, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn cjk_text_around_a_date() {
        let k = KnownDates::from_days(&["1993-06-24"], &[]);
        let text = "\u{4ED6}1993\u{5E74}6\u{6708}24\u{65E5}\u{51FA}\u{751F}";
        assert_eq!(found(&k, text).len(), 1, "{text}");
    }

    #[test]
    fn a_day_with_a_time_after_it() {
        let k = KnownDates::from_days(&["1993-06-24"], &[]);
        for text in [
            "1993-06-24T00:00",
            "1993-06-24T00:00:00Z",
            "1993-06-24t08:30",
        ] {
            assert_eq!(
                found(&k, &format!("born {text}?")),
                ["1993-06-24=1993"],
                "{text}"
            );
        }
        for text in ["1993-06-24Tx", "1993-06-24T", "1993-06-24TZ"] {
            assert!(found(&k, &format!("born {text}?")).is_empty(), "{text}");
        }
    }

    #[test]
    fn a_public_day_is_left_alone() {
        let k = KnownDates::from_days(&["2024-03-05", "1993-06-24"], &["2024-03-05"]);
        assert!(found(&k, "orders on 2024-03-05").is_empty());
        assert_eq!(found(&k, "born 1993-06-24"), ["1993-06-24=1993"]);
        assert_eq!(k.len(), 1);
    }
}
