//! A second matcher for protected values, independent of the detectors:
//! the evaluation's privacy check reads every model request with it, and
//! examples are checked with it when they load.
//!
//! It is deliberately not the detectors' matcher: a check that reads text as
//! the detectors do proves nothing about what they miss. It shares no code
//! with `detect/` (only the table of other scripts' digits). It is cruder
//! and more eager, and accepts reporting a value that is there by chance:
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
//!   (`Johnson, Liam`), as initial and surname when the surname has 6
//!   letters or more (`ljohnson`), and by each word of 4 letters or more, in any case
//!   (kind `part`), unless the word is a word of a public value (a city
//!   named like a first name). A word with an apostrophe or a hyphen is also
//!   found whole (`O'Brien` as `OBrien`, `Obrien`, `O Brien`). Umlauts and
//!   the Nordic letters are also read as their two-letter spellings
//!   (`Müller` as `Mueller`).
//! - **Numbers** (values of digits and separators: ZIP codes, phones, card
//!   numbers, incomes) are their digits; a match may not continue a longer
//!   number (`1,234,567` does not hold `1234`; `86439.0` holds `86439`).
//!   Values with letters and at least 6 digits (`CUST-686571`) are also
//!   their digits alone. A phone's last seven digits are a form of it
//!   (`555-0151` of `(512) 555-0151`; the detectors leave these, which at
//!   real sizes any `NNN-NNNN` is).
//! - **Dates** (values `YYYY-MM-DD`, with a time or not) are found in every
//!   field order (year-month-day, month-day-year, day-month-year), with and
//!   without leading zeros, with a four- or two-digit year as three atoms,
//!   or as eight or six digits in one (`19930624`, `240693`); English month
//!   names (`June`, `jun`) count as the month's number, and ordinal suffixes
//!   (`24th`), `of` and `the` are dropped; `年 月 日` and `년 월 일` are
//!   read as separators (`1993年6月24日`).
//! - Values shorter than [`MIN_LEN`] characters (digits for numbers) are not
//!   searched, and a form that is also a form of a value of an `allow`
//!   column is not searched (a day that is an order date).
//!
//! Blind spots it still has: numbers and dates written in words (`June the
//! twenty-fourth`), month names other than English ones, partial dates
//! (`June 24` without a year, `June 1993`), ISO week and ordinal dates, a
//! name's words more than 3 characters apart or split by a line break,
//! nicknames and misspellings, other scripts' spellings of a Latin name,
//! values shorter than 4 characters, and any value spelled by a model a
//! letter at a time.

mod forms;
mod reduce;
mod search;

pub(crate) use self::search::{Found, Texts, Values};

/// Values shorter than this (in characters; in digits for numbers) are not
/// searched: `1`, `TX` and the like are in any prompt.
pub(crate) const MIN_LEN: usize = 4;

/// What kind of form of a value was found.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash)]
pub(crate) enum Kind {
    /// A whole value with letters, in one of its spellings.
    Text,
    /// One word of a name.
    Part,
    /// A day.
    Date,
    /// The digits of a number.
    Number,
}

impl Kind {
    /// The kind's name in reports: `text`, `part`, `date` or `number`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Part => "part",
            Kind::Date => "date",
            Kind::Number => "number",
        }
    }
}
