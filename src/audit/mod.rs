//! The audit log: one hash-chained JSON Lines event per request, with no raw
//! personal data.
//!
//! An event says who asked (actor, role), a keyed digest of the question, the
//! SQL with every literal replaced by a token or a keyed digest, the decision
//! with its reason, how many values of each output column each action
//! transformed, detector hits, rows, model usage, duration and the rule
//! file's digest. Each line's hash covers every byte of the line, which
//! begins with the previous line's hash (HMAC-SHA256 under the [`AuditKey`],
//! or plain SHA-256 for a log written without a key), so [`verify_with`]
//! finds the first edited, removed, inserted or reordered line; the chain is
//! anchored at `seq` 0, so lines or files cut from its start show too.
//!
//! Many processes may append to one log: every append locks `FILE.lock` and
//! continues from the chain's real tail. A keyed line carries the key's
//! fingerprint; a writer refuses to continue a log keyed otherwise, and a
//! verifier without the key is told so rather than shown tampering.

mod chain;
mod key;
mod record;
mod verify;

use std::collections::HashSet;

use ring::hmac;
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

pub use self::chain::{AuditLog, AuditLogBuilder, AuditSink, Fsync};
pub use self::key::{AuditKey, AUDIT_KEY_ENV};
pub use self::record::{
    AuditEvent, Decision, ExampleUse, ModelUsage, Reasons, Redaction, Revealed, GENESIS,
};

/// A request id for a request that came without one: the time in
/// nanoseconds and the process id, in hex.
pub fn new_request_id() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{t:x}-{:x}", std::process::id())
}

impl From<&crate::protect::ColumnReport> for Redaction {
    fn from(c: &crate::protect::ColumnReport) -> Redaction {
        Redaction {
            column: c.column.clone(),
            action: c.action.to_string(),
            count: c.values as u64,
        }
    }
}

impl AuditEvent {
    /// Records a failed request: the decision (`refused` for a guard
    /// refusal, else `error`) and the reason's code, with the refused column
    /// and construct logged through the digester (policy names as they are,
    /// other names digested), or left out without one.
    pub fn set_failure(&mut self, e: &Error, digester: Option<&Digester>) {
        self.decision = Some(if e.refusal().is_some() {
            Decision::Refused
        } else {
            Decision::Error
        });
        let column = e.refusal().and_then(|r| r.column_name());
        let construct = e.refusal().and_then(|r| r.construct_name());
        self.reason = Some(Reasons {
            code: e.code().to_string(),
            // A `table.column` name is logged part by part.
            column: column.zip(digester).map(|(c, d)| {
                c.split('.')
                    .map(|p| d.name(p))
                    .collect::<Vec<_>>()
                    .join(".")
            }),
            construct: construct.zip(digester).map(|(c, d)| d.construct(c)),
        });
    }
}
pub use self::verify::{
    summarize, verify, verify_head, verify_with, Break, Summary, SummaryFilter, Verification,
    VerifyOptions,
};
use crate::error::Error;
use crate::rules::Policy;
use crate::tokens::MasterKey;
use crate::tokens::TokenResolver;

/// Keyed digests for the log: of questions, of SQL literals and of names
/// that are not the policy's.
pub struct Digester {
    key: hmac::Key,
    /// Policy table and column names, lowercased: kept in logged SQL.
    known: HashSet<String>,
}

impl std::fmt::Debug for Digester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Digester(..)")
    }
}

impl Digester {
    /// A digester keyed from the master key, which keeps the policy's table
    /// and column names readable.
    ///
    /// # Errors
    /// The key cannot be derived.
    pub fn new(key: &MasterKey, policy: &Policy) -> Result<Digester, Error> {
        let mut known = HashSet::new();
        for t in policy.tables() {
            known.insert(t.name.to_lowercase());
            for c in &t.columns {
                known.insert(c.name.to_lowercase());
            }
        }
        Ok(Digester {
            key: key.hmac_key("audit-digest", "")?,
            known,
        })
    }

    /// A keyed digest (32 hex digits) of a text.
    pub fn digest(&self, text: &str) -> String {
        let tag = hmac::sign(&self.key, text.as_bytes());
        data_encoding::HEXLOWER.encode(&tag.as_ref()[..16])
    }

    /// A name as logged: the policy's own names as they are, anything else
    /// (an alias or unknown name the model wrote, which could hold anything)
    /// as a keyed digest.
    pub fn name(&self, name: &str) -> String {
        let bare = name.trim_matches('"');
        if self.known.contains(&bare.to_lowercase()) {
            bare.to_string()
        } else {
            format!("<id_{}>", &self.digest(bare)[..16])
        }
    }

    /// A SQL construct as logged: kept when every word in it is a SQL
    /// keyword or a policy name (`ORDER BY`, `JOIN … USING`), else digested.
    pub fn construct(&self, c: &str) -> String {
        let plain = c
            .split(|ch: char| !ch.is_alphanumeric() && ch != '_')
            .filter(|w| !w.is_empty())
            .all(|w| {
                sqlparser::keywords::ALL_KEYWORDS.contains(&w.to_uppercase().as_str())
                    || self.known.contains(&w.to_lowercase())
            });
        if plain {
            c.to_string()
        } else {
            self.name(c)
        }
    }

    /// The SQL as logged, token by token: keywords and the policy's names
    /// stay; every other name becomes `<id_…>`; every string, typed string
    /// and number becomes `'<lit_…>'`, except tokens that `resolver` says
    /// sqlveil issued; comments are dropped. SQL that cannot be tokenized is
    /// logged as one digest.
    pub fn sql(&self, sql: &str, resolver: Option<&dyn TokenResolver>) -> String {
        let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
            return format!("<unparsed_{}>", &self.digest(sql)[..16]);
        };
        let lit = |s: &str| {
            let issued = resolver.is_some_and(|r| matches!(r.resolve(s), Ok(Some(_))));
            if issued {
                Token::SingleQuotedString(s.to_string())
            } else {
                Token::SingleQuotedString(format!("<lit_{}>", &self.digest(s)[..16]))
            }
        };
        let mut out = String::with_capacity(sql.len());
        for t in tokens {
            let t = match t {
                Token::Word(w) if w.quote_style.is_none() && w.keyword != Keyword::NoKeyword => {
                    Token::Word(w)
                }
                Token::Word(w) => Token::make_word(&self.name(&w.value), None),
                Token::Number(n, _) => lit(&n),
                Token::SingleQuotedString(s)
                | Token::DoubleQuotedString(s)
                | Token::NationalStringLiteral(s)
                | Token::EscapedStringLiteral(s)
                | Token::UnicodeStringLiteral(s)
                | Token::TripleSingleQuotedString(s)
                | Token::TripleDoubleQuotedString(s)
                | Token::SingleQuotedByteStringLiteral(s)
                | Token::DoubleQuotedByteStringLiteral(s)
                | Token::HexStringLiteral(s) => lit(&s),
                Token::DollarQuotedString(d) => lit(&d.value),
                Token::Whitespace(Whitespace::SingleLineComment { .. })
                | Token::Whitespace(Whitespace::MultiLineComment(_)) => {
                    Token::Whitespace(Whitespace::Space)
                }
                // Punctuation and operators carry no value.
                t @ (Token::Whitespace(_)
                | Token::Comma
                | Token::Period
                | Token::LParen
                | Token::RParen
                | Token::SemiColon
                | Token::Eq
                | Token::DoubleEq
                | Token::Neq
                | Token::Lt
                | Token::Gt
                | Token::LtEq
                | Token::GtEq
                | Token::Spaceship
                | Token::Plus
                | Token::Minus
                | Token::Mul
                | Token::Div
                | Token::Mod
                | Token::StringConcat
                | Token::DoubleColon
                | Token::Colon
                | Token::EOF) => t,
                // Anything else (a placeholder such as `$Name`, a character
                // the tokenizer could not class) can hold a value: digested.
                other => lit(&other.to_string()),
            };
            out.push_str(&t.to_string());
        }
        out
    }
}
