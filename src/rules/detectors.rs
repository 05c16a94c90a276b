//! A rule file's `[detectors]`: the built-in ones it enables, its patterns and dictionaries, the context words of weak spellings.

use super::action::TokenClass;
use std::collections::BTreeMap;

/// The built-in detectors a rule file may enable, which are also the token
/// classes of their hits.
pub const BUILTIN_DETECTORS: &[&str] = &[
    "email",
    "phone",
    "ssn",
    "credit_card",
    "iban",
    "ipv4",
    "ipv6",
];

/// A custom regex detector.
#[derive(Debug, Clone)]
pub struct PatternDetector {
    /// The detector's name.
    pub name: String,
    /// The regex, checked to compile within the size limit.
    pub regex: String,
    /// The class of its hits.
    pub class: TokenClass,
    /// A description, if any.
    pub description: Option<String>,
}

/// A custom dictionary detector.
#[derive(Debug, Clone)]
pub struct DictionaryDetector {
    /// The detector's name.
    pub name: String,
    /// The terms it finds.
    pub terms: Vec<String>,
    /// Whether matching ignores case.
    pub case_insensitive: bool,
    /// The class of its hits.
    pub class: TokenClass,
    /// A description, if any.
    pub description: Option<String>,
}

/// The `[detectors]` of a rule file.
#[derive(Debug, Clone, Default)]
pub struct Detectors {
    /// Enabled built-in detectors, by name (see [`BUILTIN_DETECTORS`]).
    pub builtin: Vec<String>,
    /// Custom regex detectors.
    pub patterns: Vec<PatternDetector>,
    /// Custom dictionary detectors.
    pub dictionaries: Vec<DictionaryDetector>,
    /// Context words per built-in detector (`ssn`, `phone`), from
    /// `[detectors.context]`: each list replaces the built-in one, which
    /// `rules/detectors.toml` shows. Context words let a weak spelling (nine
    /// digits in a row, a phone number without separators) count as a hit;
    /// they never reject a strong one. An empty list turns weak spellings
    /// off.
    pub context: BTreeMap<String, Vec<String>>,
}

/// The built-in context words per detector with weak spellings: words that,
/// near a weak spelling, say what it is. Matched without regard to ASCII
/// case, as whole words, within `CONTEXT_BEFORE` bytes before or
/// `CONTEXT_AFTER` bytes after it. `rules/detectors.toml` lists the same
/// words (a test keeps them equal); a rule file's `[detectors.context]`
/// replaces a list.
pub(crate) const CONTEXT: &[(&str, &[&str])] = &[
    (
        "ssn",
        &[
            "ssn",
            "ssns",
            "ssn#",
            "ss#",
            "ss #",
            "ss no",
            "ss num",
            "s.s.n",
            "social security",
            "social sec",
            "soc sec",
            "soc. sec",
            "tax id",
            "taxpayer id",
            "tin",
            "social",
        ],
    ),
    (
        "phone",
        &[
            "phone",
            "phones",
            "ph",
            "ph#",
            "tel",
            "tele",
            "telephone",
            "cell",
            "cellphone",
            "mobile",
            "mob",
            "fax",
            "call",
            "called",
            "calling",
            "callback",
            "call back",
            "cb",
            "caller",
            "text",
            "texted",
            "sms",
            "whatsapp",
            "signal",
            "dial",
            "reach",
            "contact",
            "landline",
            "voicemail",
            "vm",
            "pager",
            "msisdn",
            "home #",
            "work #",
            "\u{260e}",
            "\u{1f4de}",
            "\u{1f4f1}",
        ],
    ),
];

/// The longest context word a rule file may give, in bytes.
pub(crate) const CONTEXT_WORD_MAX: usize = 40;
