//! The privacy check of a run: no protected value of the data in any
//! request a model received.

use std::collections::{BTreeMap, BTreeSet};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::{Deserialize, Serialize};

use crate::chat::Chat;
use crate::error::Error;
use crate::llm::ModelRequest;
use crate::rules::Action;

/// Values shorter than this (in characters) are not searched: `1`, `TX`
/// and the like are in any prompt.
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
    /// Protected values not searched, being also the value of a column the
    /// rules show as is (a date that is a birth date and an order date).
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
    /// `text` (holds a letter), `date` (`YYYY-MM-DD…`) or `number`. A
    /// number or a date can equal a computed result by chance (an average
    /// that equals a ZIP code, a month's first day that is someone's signup
    /// date); text practically cannot.
    pub kind: String,
}

impl PrivacyCheck {
    /// Findings of text values: each one is a value that reached a model.
    pub fn text_leaks(&self) -> usize {
        self.leaks.iter().filter(|l| l.kind == "text").count()
    }
}

fn kind_of(v: &str) -> &'static str {
    let b = v.as_bytes();
    if b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && !v.chars().any(char::is_alphabetic)
    {
        "date"
    } else if v.chars().any(char::is_alphabetic) {
        "text"
    } else {
        "number"
    }
}

/// Reads every protected value of the data (columns whose action is not
/// `allow` or `scan`: `scan` text is shown with its hits replaced) and
/// searches every request's texts for each, ASCII case ignored, as a whole
/// run (not inside a longer word or number).
pub(crate) fn check(chat: &Chat, requests: &[ModelRequest]) -> Result<PrivacyCheck, Error> {
    let engine = chat.engine();
    let mut protected: BTreeMap<String, String> = BTreeMap::new();
    let mut public: BTreeSet<String> = BTreeSet::new();
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
                    public.insert(v.to_lowercase());
                } else if v.chars().count() < MIN_LEN {
                    out.skipped_short += 1;
                } else {
                    protected
                        .entry(v.to_lowercase())
                        .or_insert_with(|| label.clone());
                }
                Ok(())
            })?;
        }
    }
    let before = protected.len();
    protected.retain(|v, _| !public.contains(v));
    out.skipped_public = before - protected.len();
    out.values = protected.len();
    if protected.is_empty() {
        return Ok(out);
    }
    let (values, labels): (Vec<&String>, Vec<&String>) = protected.iter().unzip();
    let kinds: Vec<&'static str> = values.iter().map(|v| kind_of(v)).collect();
    let ac: AhoCorasick = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(&values)
        .map_err(|_| Error::usage("the protected values cannot be searched for"))?;
    for (n, r) in requests.iter().enumerate() {
        let mut found: BTreeSet<(String, &'static str)> = BTreeSet::new();
        for text in r.texts() {
            for m in ac.find_overlapping_iter(text) {
                let before = text.get(..m.start()).and_then(|t| t.chars().next_back());
                let after = text.get(m.end()..).and_then(|t| t.chars().next());
                if before.is_some_and(char::is_alphanumeric)
                    || after.is_some_and(char::is_alphanumeric)
                {
                    continue;
                }
                let i = m.pattern().as_usize();
                if let (Some(l), Some(k)) = (labels.get(i), kinds.get(i)) {
                    found.insert(((*l).clone(), k));
                }
            }
        }
        out.leaks
            .extend(found.into_iter().map(|(column, kind)| PrivacyLeak {
                request: n,
                column,
                kind: kind.to_string(),
            }));
    }
    Ok(out)
}
