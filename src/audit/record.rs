//! The audit log's wire format: one JSON object per line.
//!
//! ```json
//! {"seq":7,"prev":"…64 hex…","type":"request","key":"…16 hex…","data":{…},"hash":"…64 hex…"}
//! ```
//!
//! `hash` is HMAC-SHA256 under the audit key (plain SHA-256 for a log written
//! without a key) of the exact bytes of the line before `,"hash":`, which
//! begin with the previous line's hash; nothing may follow the hash but `"}`,
//! so every byte of a line is covered, and editing, removing, inserting or
//! reordering a line breaks the chain. The first line of a log is `seq` 0
//! linked to [`GENESIS`]; the first line of a rotated file links to the last
//! line of the file before it. `key` is the audit key's fingerprint (absent
//! on an unkeyed log). `type` is `request` for an [`AuditEvent`]; other record
//! types may be added, each with its own `data`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a request ended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Decision {
    /// The request ran.
    Allowed,
    /// The policy refused it.
    Refused,
    /// It failed (engine, vault, input).
    Error,
}

/// A refusal or error, as logged: codes and names, never values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Reasons {
    /// The machine-readable code (`denied_column`, `engine`, …).
    pub code: String,
    /// The column at fault, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub column: Option<String>,
    /// The SQL construct at fault, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub construct: Option<String>,
}

/// How many values of an output column an action transformed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redaction {
    /// The output column.
    pub column: String,
    /// The action (`tokenize`, `mask`, …).
    pub action: String,
    /// How many values.
    pub count: u64,
}

/// Model calls and token usage of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ModelUsage {
    /// Calls to the model.
    pub calls: u32,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
}

/// What a `reveal` gave back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Revealed {
    /// The classes the role may reveal.
    pub classes: Vec<String>,
    /// How many tokens were turned back into values.
    pub tokens: u64,
}

/// One request, as the audit log keeps it. No field holds a raw value from
/// the data, the question or the SQL: the question is a keyed digest, and the
/// SQL has every literal replaced by a token or a keyed digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AuditEvent {
    /// RFC 3339 time, UTC (set by the log when empty).
    pub time: String,
    /// The request's id.
    pub request_id: String,
    /// `query`, `ask`, `scan`, `reveal` or `check`.
    pub kind: String,
    /// Who asked.
    pub actor: String,
    /// Their role.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub role: Option<String>,
    /// Keyed digest of the question (or the scanned text).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub question_digest: Option<String>,
    /// The SQL with literals replaced.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sql: Option<String>,
    /// What the request ended in.
    pub decision: Option<Decision>,
    /// Why, when refused or failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reason: Option<Reasons>,
    /// Values transformed per output column.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub redactions: Vec<Redaction>,
    /// Detector hits per detector.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub detector_hits: BTreeMap<String, u64>,
    /// Rows returned.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rows: Option<u64>,
    /// Model calls and token usage.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub model: Option<ModelUsage>,
    /// For `reveal`: what was revealed to the role.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub revealed: Option<Revealed>,
    /// SHA-256 of the rule file the request ran under
    /// ([`Policy::digest`](crate::Policy::digest)): a request run under a
    /// forged or changed policy shows.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rules_digest: Option<String>,
    /// For `ask`: the reviewed example that answered without a model call
    /// for SQL (a `direct` example), and its score.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub example: Option<ExampleUse>,
    /// Duration in milliseconds.
    pub duration_ms: f64,
}

/// Which reviewed example answered a question (see
/// [`ChatBuilder::examples`](crate::chat::ChatBuilder::examples)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ExampleUse {
    /// The example's name, as its file gives it.
    pub name: String,
    /// How closely the question matched it (0 to 1).
    pub score: f64,
}

/// A line as written, with its chain fields.
#[derive(Serialize)]
pub(crate) struct LineOut<'a, T: Serialize> {
    pub(crate) seq: u64,
    pub(crate) prev: &'a str,
    #[serde(rename = "type")]
    pub(crate) kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) key: Option<&'a str>,
    pub(crate) data: &'a T,
}

/// A line's chain fields as read back, whatever its record type.
#[derive(Deserialize)]
pub(crate) struct Envelope {
    pub(crate) seq: u64,
    pub(crate) prev: String,
    /// Covered by the hash; summaries read it through [`Typed`].
    #[serde(rename = "type")]
    #[allow(dead_code)]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) key: Option<String>,
    #[allow(dead_code)]
    pub(crate) data: serde::de::IgnoredAny,
    pub(crate) hash: String,
}

/// A line's type and data, for summaries.
#[derive(Deserialize)]
pub(crate) struct Typed {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) data: serde_json::Value,
}

/// The `prev` of the very first line of a log (`seq` 0).
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
