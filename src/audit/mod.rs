//! The audit log: one hash-chained JSON Lines event per request, with no raw
//! personal data.
//!
//! An event says who asked (actor, role), a keyed digest of the question, the
//! SQL with every literal replaced by a token or a keyed digest, the decision
//! with its reason, how many values of each output column each action
//! transformed, detector hits, rows, model usage and duration. Each line's
//! hash covers the line and the previous line's hash (HMAC-SHA256 under a key
//! derived from the master key, or plain SHA-256 without one), so
//! [`verify`] finds the first edited, removed, inserted or reordered line.

mod chain;
mod record;
mod verify;

use ring::hmac;
use sqlparser::ast::{visit_expressions_mut, Expr, Value};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

pub use self::chain::{AuditLog, AuditLogBuilder, AuditSink, Fsync};
pub use self::record::{AuditEvent, Decision, ModelUsage, Reasons, Redaction, Revealed};
pub use self::verify::{
    summarize, verify, verify_head, Break, Summary, SummaryFilter, Verification,
};
use crate::error::Error;
use crate::tokens::MasterKey;

/// Keyed digests for the log: of questions and of SQL literals.
pub struct Digester {
    key: hmac::Key,
    token: regex::Regex,
}

impl std::fmt::Debug for Digester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Digester(..)")
    }
}

impl Digester {
    /// A digester keyed from the master key; `token_format` tells which
    /// literals are tokens (kept as they are).
    ///
    /// # Errors
    /// The key cannot be derived or the format is malformed.
    pub fn new(key: &MasterKey, token_format: &str) -> Result<Digester, Error> {
        Ok(Digester {
            key: key.hmac_key("audit-digest", "")?,
            token: crate::guard::token_regex(token_format)?,
        })
    }

    /// A keyed digest (32 hex digits) of a text.
    pub fn digest(&self, text: &str) -> String {
        let tag = hmac::sign(&self.key, text.as_bytes());
        data_encoding::HEXLOWER.encode(&tag.as_ref()[..16])
    }

    /// The SQL with every literal replaced: tokens stay, other strings and
    /// numbers become `'<lit_…>'` keyed digests. SQL that does not parse is
    /// logged as a digest of the whole text.
    pub fn sql(&self, sql: &str) -> String {
        // SQL the guard would not even walk (too long, operator chains that
        // build trees too deep to visit) is logged as a digest.
        let walkable = sql.len() <= 64 * 1024
            && sqlparser::tokenizer::Tokenizer::new(&GenericDialect {}, sql)
                .tokenize()
                .is_ok_and(|t| crate::guard::check_operator_runs(t.iter()).is_ok());
        if !walkable {
            return format!("<unparsed_{}>", &self.digest(sql)[..16]);
        }
        let Ok(mut stmts) = Parser::new(&GenericDialect {})
            .with_recursion_limit(64)
            .try_with_sql(sql)
            .and_then(|mut p| p.parse_statements())
        else {
            return format!("<unparsed_{}>", &self.digest(sql)[..16]);
        };
        let _ = visit_expressions_mut(&mut stmts, |e| {
            if let Expr::Value(v) = e {
                let text = match &v.value {
                    Value::SingleQuotedString(s)
                    | Value::DoubleQuotedString(s)
                    | Value::EscapedStringLiteral(s)
                    | Value::NationalStringLiteral(s) => Some(s.clone()),
                    Value::Number(n, _) => Some(n.to_string()),
                    Value::Null | Value::Boolean(_) => None,
                    other => Some(other.to_string()),
                };
                if let Some(t) = text {
                    if !self.token.is_match(&t) {
                        *e = Expr::Value(
                            Value::SingleQuotedString(format!("<lit_{}>", &self.digest(&t)[..16]))
                                .with_empty_span(),
                        );
                    }
                }
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
        stmts
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}
