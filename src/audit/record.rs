//! The audit log's wire format: one JSON object per line.
//!
//! ```json
//! {"seq":7,"prev":"…64 hex…","type":"request","data":{…},"hash":"…64 hex…"}
//! ```
//!
//! `hash` is SHA-256 (or HMAC-SHA256 under the audit key) of the exact bytes
//! of the line before `,"hash":`, which begin with the previous line's hash:
//! so editing, removing, inserting or reordering a line breaks the chain.

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
    /// Duration in milliseconds.
    pub duration_ms: f64,
}

/// A line as written, with its chain fields.
#[derive(Serialize)]
pub(crate) struct LineOut<'a> {
    pub(crate) seq: u64,
    pub(crate) prev: &'a str,
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) data: &'a AuditEvent,
}

/// A line as read back.
#[derive(Deserialize)]
pub(crate) struct LineIn {
    pub(crate) seq: u64,
    pub(crate) prev: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) data: AuditEvent,
    pub(crate) hash: String,
}

/// The `prev` of the very first line of a log.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
