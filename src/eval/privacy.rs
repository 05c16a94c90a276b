//! The privacy check of a run: no protected value of the data in any
//! request a model received.
//!
//! Every request's texts are searched with [`crate::leak`]'s matcher, which
//! shares nothing with the detectors and reads values in more forms than
//! they do (its module doc lists the forms and its blind spots). Each
//! finding names the column, the kind of form and a keyed fingerprint of
//! what was found; a question marks a finding as a reviewed chance match
//! by that fingerprint (`privacy_reviewed = ["table.column#fingerprint"]`),
//! so one mark never hides a second value of the same column.

use std::collections::BTreeSet;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::chat::Chat;
use crate::error::Error;
use crate::leak::{Found, Values};
use crate::llm::ModelRequest;
use crate::rules::Action;
use crate::tokens::MasterKey;

pub(crate) use crate::leak::MIN_LEN;

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
    /// Forms of protected values not searched, being also a form of a value
    /// of a column the rules show as is (a date that is a birth date and an
    /// order date).
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
    /// `text` (a whole value with letters), `part` (one word of a name),
    /// `date` or `number`. A number or a date can equal a computed result
    /// by chance (an average that equals a ZIP code, a month's first day
    /// that is someone's signup date); every finding fails a run unless the
    /// question lists its fingerprint in `privacy_reviewed`.
    pub kind: String,
    /// What was found, as `table.column#fingerprint`: a keyed digest of the
    /// column, the kind and the form found (never the value), the same for
    /// the same finding under the same key. `privacy_reviewed` names it.
    #[serde(default)]
    pub fingerprint: String,
    /// The id of the question whose request it was.
    #[serde(default)]
    pub question: Option<String>,
    /// Whether the question set marks this finding of this question as a
    /// reviewed chance match (`privacy_reviewed`).
    #[serde(default)]
    pub reviewed: bool,
}

impl PrivacyCheck {
    /// Findings of text values (whole values and name parts): each one is
    /// almost surely a value that reached a model.
    pub fn text_leaks(&self) -> usize {
        self.leaks
            .iter()
            .filter(|l| l.kind == "text" || l.kind == "part")
            .count()
    }

    /// Findings the question set does not mark as reviewed: any one of
    /// them fails a run.
    pub fn unreviewed(&self) -> usize {
        self.leaks.iter().filter(|l| !l.reviewed).count()
    }
}

/// The questions of a run, by request: the id and its reviewed findings.
pub(crate) struct Owner<'q> {
    pub(crate) requests: Range<usize>,
    pub(crate) id: &'q str,
    pub(crate) reviewed: &'q [String],
}

/// Reads every protected value of the data (columns whose action is not
/// `allow` or `scan`: `scan` text is shown with its hits replaced) and
/// searches every request's texts for each, in every form `leak` knows.
pub(crate) fn check(
    chat: &Chat,
    requests: &[ModelRequest],
    owners: &[Owner<'_>],
) -> Result<PrivacyCheck, Error> {
    let engine = chat.engine();
    let mut values = Values::new();
    for t in chat.policy().tables() {
        let Some(table) = engine.catalog().table(&t.name) else {
            continue;
        };
        for c in &t.columns {
            if !table.columns.iter().any(|x| x.name == c.name) || matches!(c.action, Action::Scan) {
                continue;
            }
            let is_public = matches!(c.action, Action::Allow);
            let label = format!("{}.{}", t.name, c.name);
            engine.distinct_values(&t.name, &c.name, None, &mut |v| {
                if is_public {
                    values.public(v);
                } else {
                    values.protected(&label, v);
                }
                Ok(())
            })?;
        }
    }
    let mut out = PrivacyCheck {
        requests: requests.len(),
        values: values.len(),
        skipped_short: values.skipped_short,
        ..PrivacyCheck::default()
    };
    let (matcher, exempted) = values.matcher()?;
    out.skipped_public = exempted;
    for (n, r) in requests.iter().enumerate() {
        let mut found: BTreeSet<Found> = BTreeSet::new();
        for text in r.texts() {
            matcher.find(text, &mut found);
        }
        let owner = owners.iter().find(|o| o.requests.contains(&n));
        for f in found {
            let fingerprint = fingerprint(chat.key(), &f)?;
            out.leaks.push(PrivacyLeak {
                request: n,
                reviewed: owner.is_some_and(|o| o.reviewed.contains(&fingerprint)),
                column: f.column,
                kind: f.kind.as_str().to_string(),
                fingerprint,
                question: owner.map(|o| o.id.to_string()),
            });
        }
    }
    Ok(out)
}

/// `table.column#` and 8 hex digits of a keyed digest of a finding.
fn fingerprint(key: &MasterKey, f: &Found) -> Result<String, Error> {
    let k = key.hmac_key("eval privacy fingerprint", "v1")?;
    let mut msg = Vec::new();
    for part in [f.column.as_str(), f.kind.as_str(), f.form.as_str()] {
        msg.extend_from_slice(part.as_bytes());
        msg.push(0);
    }
    let tag = ring::hmac::sign(&k, &msg);
    let hex: String = tag
        .as_ref()
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(format!("{}#{hex}", f.column))
}

/// Whether a `privacy_reviewed` entry has the shape of a fingerprint the
/// report prints (`table.column#` and 8 hex digits).
pub(crate) fn is_fingerprint(entry: &str) -> bool {
    entry.split_once('#').is_some_and(|(col, hex)| {
        col.contains('.') && hex.len() == 8 && hex.bytes().all(|b| b.is_ascii_hexdigit())
    })
}
